/* config.c: the YAML configuration file (the only includer of yaml.h).
 *
 * Three stages:
 *   1. libyaml events -> a node tree (struct ynode, arena-allocated).
 *      Aliases share the anchored node (no copy); "<<" merge keys are
 *      resolved when their mapping ends. Every node carries its expanded
 *      weight (nodes, aliases counted each time) and height, so a
 *      billion-laughs file is refused long before the walk.
 *   2. The schema walk: each service mapping (and defaults) is sorted
 *      into one record per field (node, key path, key position); the
 *      service's record overlays the defaults' record, so "a service's own
 *      key wins" needs no merging of parsed values.
 *   3. Values are parsed from the records, then the cross checks
 *      (depends_on, users, env files, host capacity).
 * Diagnostics are collected, deduplicated (a bad value in defaults is
 * reported once, not once per service) and bounded. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "gorral/alert.h"
#include "gorral/config.h"
#include "gorral/envfile.h"
#include "gorral/http.h"
#include "gorral/limits.h"
#include "gorral/log.h"
#include "gorral/service.h"
#include "gorral/signals.h"
#include "gorral/users.h"
#include "gorral/util.h"

#define MAX_PROCS 65536u                      /* as limits.c's bound on --min-procs */
#define MIN_MEMORY ((uint64_t)1 << 20)
#define MAX_MEMORY ((uint64_t)1 << 50)         /* 1 PiB: anything above is a typo */
#define MAX_WINDOW_USEC (24ULL * 3600 * 1000000) /* as gorral run's --restart-window */
#define CPU_PERIOD_US 100000u
#define MAX_CPUS 1024u
#define PATH_LEN 192

/* snprintf whose truncation is intended (key paths and messages are
 * bounded on purpose); vsnprintf keeps -Wformat-truncation quiet. */
static int bsnprintf(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static int bsnprintf(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        return r < 0 ? 0 : (size_t)r >= size ? (int)(size ? size - 1 : 0) : r;
}

/* Paths such as "services.api.env[2]" are built for every key of every
 * service (an error names them), so without printf: "a.b", "a[i]" and
 * plain copies into buf, truncated as bsnprintf would. */
static size_t bcat(char *buf, size_t size, size_t o, const char *s, size_t n) {
        if (o + 1 >= size)
                return o;
        if (n > size - 1 - o)
                n = size - 1 - o;
        memcpy(buf + o, s, n);
        buf[o + n] = 0;
        return o + n;
}

/* The length copied. */
static size_t path_copy(char *buf, size_t size, const char *s) {
        if (size)
                buf[0] = 0;
        return bcat(buf, size, 0, s, strlen(s));
}

static void path_index(char *buf, size_t size, const char *base, size_t i) {
        char d[FMT_INT_MAX], *p;

        d[sizeof d - 1] = ']';
        p = u64_digits(i, d + sizeof d - 1);
        *--p = '[';
        (void)bcat(buf, size, path_copy(buf, size, base), p, (size_t)(d + sizeof d - p));
}

/* ---- diagnostics ---- */

static int diag_addv(struct config_diags *d, const char *file, unsigned line, unsigned col, bool warning,
                     const char *fmt, va_list ap) {
        char msg[1024];
        struct config_diag *nv;

        vsnprintf(msg, sizeof msg, fmt, ap);
        for (size_t i = 0; i < d->n; i++)
                if (d->v[i].line == line && d->v[i].column == col && d->v[i].warning == warning &&
                    strcmp(d->v[i].message, msg) == 0 && strcmp(d->v[i].file, file) == 0)
                        return 0;
        if (d->n > CONFIG_MAX_DIAGS)
                return 0;
        nv = realloc(d->v, (d->n + 1) * sizeof *nv);
        if (!nv)
                return -ENOMEM;
        d->v = nv;
        if (d->n == CONFIG_MAX_DIAGS) {
                /* The last slot says that more were dropped. */
                line = col = 0;
                warning = false;
                bsnprintf(msg, sizeof msg, "too many errors (more than %u), stopping here", CONFIG_MAX_DIAGS);
        }
        nv[d->n].file = strdup(file);
        nv[d->n].message = strdup(msg);
        if (!nv[d->n].file || !nv[d->n].message) {
                free(nv[d->n].file);
                free(nv[d->n].message);
                return -ENOMEM;
        }
        nv[d->n].line = line;
        nv[d->n].column = col;
        nv[d->n].warning = warning;
        d->n++;
        if (!warning)
                d->n_errors++;
        return 0;
}

static int diag_add(struct config_diags *d, const char *file, unsigned line, unsigned col, const char *fmt, ...)
        _printf_(5, 6);
static int diag_add(struct config_diags *d, const char *file, unsigned line, unsigned col, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = diag_addv(d, file, line, col, false, fmt, ap);
        va_end(ap);
        return r;
}

void config_diags_done(struct config_diags *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].file);
                free(d->v[i].message);
        }
        free(d->v);
        *d = (struct config_diags){ 0 };
}

void config_diags_print(FILE *f, const struct config_diags *d) {
        for (size_t i = 0; i < d->n; i++)
                fprintf(f, "%s:%u:%u: %s%s\n", d->v[i].file, d->v[i].line, d->v[i].column,
                        d->v[i].warning ? "warning: " : "", d->v[i].message);
}

/* ---- the node tree ---- */

enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
        struct ynode *next_alloc;     /* the arena: every node, freed at the end */
        enum ytype type;
        unsigned line, col;           /* 1-based start */
        bool plain;                   /* a plain (unquoted) scalar */
        char *s;                      /* scalar bytes (may hold a NUL: see len) */
        size_t len;
        struct ynode **kids;          /* seq: items; map: key, value, key, value... */
        size_t n, cap;                /* kids */
        size_t n_explicit;            /* map: kids written in the map itself; the rest came from "<<" */
        uint64_t weight;              /* expanded node count */
        unsigned height;
        char *anchor;                 /* a collection's, until it ends */
};

struct anchor {
        struct anchor *next;
        char *name;
        struct ynode *node;
};

#define ANCHOR_BUCKETS 1024u

struct efcache {
        char *path;
        char **vars;                  /* NULL when err */
        int err;
        struct envfile_error e;
};

struct parser {
        const char *file;
        char *dir;                    /* of the config file, for relative env_file paths */
        const struct config_context *ctx;
        struct config_diags *diags;
        int oom;                      /* -ENOMEM seen */
        struct ynode *arena;
        uint64_t merge_copies;
        size_t n_attached;            /* nodes and aliases attached so far */
        struct anchor *anchors[ANCHOR_BUCKETS];
        /* ROOT/etc/passwd and ROOT/etc/group, read on first need. */
        bool db_loaded;
        char *passwd, *group;
        struct users_db db;
        struct efcache *ef;
        size_t n_ef, cap_ef;
        /* alerts:, read before the services so that their actions can
         * name the sinks. */
        const struct config_sink *sinks;
        size_t n_sinks;
        /* gorral's environment has no key twice: -1 not known yet. Every
         * service inherits it (the default), so its entries go in without
         * the duplicate scan, which was a fifth of a 200-service load. */
        int environ_unique;
};

static void perr(struct parser *p, unsigned line, unsigned col, const char *fmt, ...) _printf_(4, 5);
static void perr(struct parser *p, unsigned line, unsigned col, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (diag_addv(p->diags, p->file, line, col, false, fmt, ap) < 0)
                p->oom = -ENOMEM;
        va_end(ap);
}

static void pwarn(struct parser *p, unsigned line, unsigned col, const char *fmt, ...) _printf_(4, 5);
static void pwarn(struct parser *p, unsigned line, unsigned col, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (diag_addv(p->diags, p->file, line, col, true, fmt, ap) < 0)
                p->oom = -ENOMEM;
        va_end(ap);
}

static void pfile_err(struct parser *p, const char *file, unsigned line, unsigned col, const char *fmt, ...)
        _printf_(5, 6);
static void pfile_err(struct parser *p, const char *file, unsigned line, unsigned col, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (diag_addv(p->diags, file, line, col, false, fmt, ap) < 0)
                p->oom = -ENOMEM;
        va_end(ap);
}

static struct ynode *node_new(struct parser *p, enum ytype t, const yaml_mark_t *m) {
        struct ynode *n = calloc(1, sizeof *n);

        if (!n) {
                p->oom = -ENOMEM;
                return NULL;
        }
        n->type = t;
        n->line = (unsigned)m->line + 1;
        n->col = (unsigned)m->column + 1;
        n->weight = 1;
        n->height = 1;
        n->next_alloc = p->arena;
        p->arena = n;
        return n;
}

static void arena_free(struct parser *p) {
        while (p->arena) {
                struct ynode *n = p->arena;

                p->arena = n->next_alloc;
                free(n->s);
                free(n->kids);
                free(n->anchor);
                free(n);
        }
        for (size_t i = 0; i < ANCHOR_BUCKETS; i++)
                while (p->anchors[i]) {
                        struct anchor *a = p->anchors[i];

                        p->anchors[i] = a->next;
                        free(a->name);
                        free(a);
                }
}

static unsigned anchor_hash(const char *s) {
        uint32_t h = 2166136261u;

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 16777619u;
        return h % ANCHOR_BUCKETS;
}

static struct ynode *anchor_find(struct parser *p, const char *name) {
        for (struct anchor *a = p->anchors[anchor_hash(name)]; a; a = a->next)
                if (strcmp(a->name, name) == 0)
                        return a->node;
        return NULL;
}

/* YAML lets an anchor be redefined: later aliases see the newest. */
static int anchor_set(struct parser *p, const char *name, struct ynode *node) {
        unsigned h = anchor_hash(name);
        struct anchor *a;

        for (a = p->anchors[h]; a; a = a->next)
                if (strcmp(a->name, name) == 0) {
                        a->node = node;
                        return 0;
                }
        a = calloc(1, sizeof *a);
        if (!a || !(a->name = strdup(name))) {
                free(a);
                return p->oom = -ENOMEM;
        }
        a->node = node;
        a->next = p->anchors[h];
        p->anchors[h] = a;
        return 0;
}

static int node_append(struct parser *p, struct ynode *parent, struct ynode *kid) {
        if (GROW_ARRAY(parent->kids, parent->cap, parent->n + 1, (size_t)CONFIG_MAX_NODES * 2) < 0)
                return p->oom = -ENOMEM;
        parent->kids[parent->n++] = kid;
        return 0;
}

static int key_cmp(const struct ynode *a, const struct ynode *b) {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->s, b->s, n);

        if (c)
                return c;
        return a->len < b->len ? -1 : a->len > b->len;
}

struct keyref {
        const struct ynode *key;
        size_t idx;                   /* pair index */
};

static int keyref_cmp(const void *x, const void *y) {
        const struct keyref *a = x, *b = y;
        int c = key_cmp(a->key, b->key);

        if (c)
                return c;
        return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool is_merge_key(const struct ynode *k) {
        return k->type == Y_SCALAR && k->plain && k->len == 2 && memcmp(k->s, "<<", 2) == 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A mapping ended: drop its "<<" pairs and append the pairs they bring
 * that the mapping does not set itself (the first source wins). Returns
 * 0, or -EINVAL after reporting. */
static int map_resolve_merges(struct parser *p, struct ynode *m) {
        struct ynode **src = NULL, **cand = NULL;
        struct keyref *ex = NULL, *cr = NULL;
        size_t n_src = 0, cap_src = 0, n_cand = 0, w = 0, n_keep = 0;
        int r = 0;

        for (size_t i = 0; i + 1 < m->n; i += 2) {
                struct ynode *k = m->kids[i], *v = m->kids[i + 1];

                if (!is_merge_key(k))
                        continue;
                if (v->type == Y_MAP) {
                        if (GROW_ARRAY(src, cap_src, n_src + 1, (size_t)CONFIG_MAX_NODES) < 0)
                                goto oom;
                        src[n_src++] = v;
                } else if (v->type == Y_SEQ) {
                        for (size_t j = 0; j < v->n; j++) {
                                if (v->kids[j]->type != Y_MAP) {
                                        perr(p, v->kids[j]->line, v->kids[j]->col,
                                             "merge key <<: expected a mapping or a list of mappings");
                                        r = -EINVAL;
                                        goto out;
                                }
                                if (GROW_ARRAY(src, cap_src, n_src + 1, (size_t)CONFIG_MAX_NODES) < 0)
                                        goto oom;
                                src[n_src++] = v->kids[j];
                        }
                } else {
                        perr(p, v->line, v->col, "merge key <<: expected a mapping or a list of mappings");
                        r = -EINVAL;
                        goto out;
                }
        }
        if (n_src == 0)
                return 0;

        /* Keep the explicit pairs (without "<<"), in order. */
        for (size_t i = 0; i + 1 < m->n; i += 2)
                if (!is_merge_key(m->kids[i])) {
                        m->kids[w++] = m->kids[i];
                        m->kids[w++] = m->kids[i + 1];
                }
        m->n = w;
        n_keep = w / 2;
        for (size_t s = 0; s < n_src; s++)
                n_cand += src[s]->n / 2;
        p->merge_copies += n_cand;
        if (p->merge_copies > CONFIG_MAX_NODES) {
                perr(p, m->line, m->col, "merge keys expand to more than %u entries: refusing", CONFIG_MAX_NODES);
                r = -EINVAL;
                goto out;
        }
        ex = malloc((n_keep + 1) * sizeof *ex);
        cr = malloc((n_cand + 1) * sizeof *cr);
        cand = malloc((n_cand + 1) * 2 * sizeof *cand);
        if (!ex || !cr || !cand)
                goto oom;
        for (size_t i = 0; i < n_keep; i++)
                ex[i] = (struct keyref){ m->kids[2 * i], i };
        qsort(ex, n_keep, sizeof *ex, keyref_cmp);
        n_cand = 0;
        for (size_t s = 0; s < n_src; s++)
                for (size_t i = 0; i + 1 < src[s]->n; i += 2) {
                        cand[2 * n_cand] = src[s]->kids[i];
                        cand[2 * n_cand + 1] = src[s]->kids[i + 1];
                        cr[n_cand] = (struct keyref){ src[s]->kids[i], n_cand };
                        n_cand++;
                }
        /* First occurrence of each key among the sources... */
        qsort(cr, n_cand, sizeof *cr, keyref_cmp);
        {
                bool *take = calloc(n_cand + 1, sizeof *take);

                if (!take)
                        goto oom;
                for (size_t i = 0; i < n_cand; i++) {
                        struct keyref probe = { cr[i].key, 0 };
                        bool first = i == 0 || key_cmp(cr[i - 1].key, cr[i].key) != 0;
                        size_t lo = 0, hi = n_keep;

                        if (!first)
                                continue;
                        /* ...that the mapping does not set itself. */
                        while (lo < hi) {
                                size_t mid = (lo + hi) / 2;

                                if (key_cmp(ex[mid].key, probe.key) < 0)
                                        lo = mid + 1;
                                else
                                        hi = mid;
                        }
                        if (lo < n_keep && key_cmp(ex[lo].key, probe.key) == 0)
                                continue;
                        take[cr[i].idx] = true;
                }
                for (size_t i = 0; i < n_cand; i++)
                        if (take[i] && (node_append(p, m, cand[2 * i]) < 0 || node_append(p, m, cand[2 * i + 1]) < 0)) {
                                free(take);
                                goto oom;
                        }
                free(take);
        }
        m->n_explicit = n_keep * 2;
        goto out;
oom:
        r = p->oom = -ENOMEM;
out:
        free(src);
        free(cand);
        free(ex);
        free(cr);
        return r;
}

/* A collection ended: its weight and height. */
static int node_finish(struct parser *p, struct ynode *n, unsigned depth) {
        uint64_t w = 1;
        unsigned h = 0;

        if (n->type == Y_MAP) {
                n->n_explicit = n->n;
                if (map_resolve_merges(p, n) < 0)
                        return -EINVAL;
        }
        for (size_t i = 0; i < n->n; i++) {
                w = sat_add(w, n->kids[i]->weight);
                if (n->kids[i]->height > h)
                        h = n->kids[i]->height;
        }
        n->weight = w;
        n->height = h + 1;
        if (w > CONFIG_MAX_NODES) {
                perr(p, n->line, n->col, "the document expands to more than %u nodes (aliases included): refusing",
                     CONFIG_MAX_NODES);
                return -EINVAL;
        }
        if (depth + n->height > CONFIG_MAX_DEPTH + 1) {
                perr(p, n->line, n->col, "nesting deeper than %u levels (aliases included)", CONFIG_MAX_DEPTH);
                return -EINVAL;
        }
        return 0;
}

/* Line and column (1-based, characters) of a byte offset: libyaml's
 * reader errors carry only the offset. */
static void offset_to_mark(const char *buf, size_t n, size_t off, unsigned *ret_line, unsigned *ret_col) {
        unsigned line = 1, col = 1;

        for (size_t i = 0; i < off && i < n; i++) {
                unsigned char c = (unsigned char)buf[i];

                if (c == '\n') {
                        line++;
                        col = 1;
                } else if ((c & 0xc0) != 0x80)
                        col++;
        }
        *ret_line = line;
        *ret_col = col;
}

static void report_yaml_error(struct parser *p, const yaml_parser_t *y, const char *buf, size_t n) {
        unsigned line, col;

        switch (y->error) {
        case YAML_MEMORY_ERROR:
                p->oom = -ENOMEM;
                return;
        case YAML_READER_ERROR:
                offset_to_mark(buf, n, y->problem_offset, &line, &col);
                if (y->problem_value != -1)
                        perr(p, line, col, "invalid input: %s (byte 0x%02x at offset %zu; the file must be UTF-8)",
                             y->problem ? y->problem : "reader error", (unsigned)y->problem_value & 0xff,
                             y->problem_offset);
                else
                        perr(p, line, col, "invalid input: %s (offset %zu; the file must be UTF-8)",
                             y->problem ? y->problem : "reader error", y->problem_offset);
                return;
        default:
                line = (unsigned)y->problem_mark.line + 1;
                col = (unsigned)y->problem_mark.column + 1;
                if (y->context)
                        perr(p, line, col, "YAML syntax error: %s (%s at %u:%u)", y->problem ? y->problem : "?",
                             y->context, (unsigned)y->context_mark.line + 1, (unsigned)y->context_mark.column + 1);
                else
                        perr(p, line, col, "YAML syntax error: %s", y->problem ? y->problem : "?");
        }
}

DEFINE_CLEANUP_FUNC(yaml_parser_t *, yaml_parser_delete)

/* Stage 1: events to a tree. 0 with *ret_root (NULL for an empty
 * stream), or -EINVAL after reporting, or -ENOMEM. */
static int build_tree(struct parser *p, const char *buf, size_t len, struct ynode **ret_root) {
        yaml_parser_t y;
        _cleanup_(yaml_parser_deletep) yaml_parser_t *yp = NULL;
        struct ynode *stack[CONFIG_MAX_DEPTH + 1], *root = NULL;
        unsigned depth = 0, docs = 0;
        int r = 0;
        bool done = false;

        if (!yaml_parser_initialize(&y))
                return -ENOMEM;
        yp = &y;
        yaml_parser_set_input_string(&y, (const unsigned char *)buf, len);
        /* Force UTF-8: a UTF-16 BOM is then an error, not a silent
         * re-encoding whose columns we could not map back. */
        yaml_parser_set_encoding(&y, YAML_UTF8_ENCODING);

        while (!done) {
                yaml_event_t ev;
                struct ynode *n = NULL;
                const char *anchor = NULL;

                if (!yaml_parser_parse(&y, &ev)) {
                        report_yaml_error(p, &y, buf, len);
                        return p->oom ? p->oom : -EINVAL;
                }
                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;
                case YAML_DOCUMENT_START_EVENT:
                        if (++docs > 1) {
                                perr(p, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1,
                                     "a second YAML document (---) in the file: one configuration per file");
                                r = -EINVAL;
                        }
                        break;
                case YAML_ALIAS_EVENT:
                        n = anchor_find(p, (const char *)ev.data.alias.anchor);
                        if (!n) {
                                perr(p, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1,
                                     "unknown alias *%s (an anchor &%s must come first, and outside itself)",
                                     (const char *)ev.data.alias.anchor, (const char *)ev.data.alias.anchor);
                                r = -EINVAL;
                        } else if (depth + n->height > CONFIG_MAX_DEPTH + 1) {
                                perr(p, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1,
                                     "nesting deeper than %u levels (aliases included)", CONFIG_MAX_DEPTH);
                                r = -EINVAL;
                        }
                        break;
                case YAML_SCALAR_EVENT:
                        n = node_new(p, Y_SCALAR, &ev.start_mark);
                        if (!n)
                                break;
                        n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                        n->len = ev.data.scalar.length;
                        n->s = malloc(n->len + 1);
                        if (!n->s) {
                                p->oom = -ENOMEM;
                                break;
                        }
                        memcpy(n->s, ev.data.scalar.value, n->len);
                        n->s[n->len] = '\0';
                        anchor = (const char *)ev.data.scalar.anchor;
                        break;
                case YAML_SEQUENCE_START_EVENT:
                case YAML_MAPPING_START_EVENT:
                        if (depth >= CONFIG_MAX_DEPTH) {
                                perr(p, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1,
                                     "nesting deeper than %u levels", CONFIG_MAX_DEPTH);
                                r = -EINVAL;
                                break;
                        }
                        n = node_new(p, ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP, &ev.start_mark);
                        anchor = (const char *)(ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                                                     : ev.data.mapping_start.anchor);
                        if (n && anchor && !(n->anchor = strdup(anchor)))
                                p->oom = -ENOMEM;
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT: {
                        struct ynode *c = stack[--depth];

                        if (node_finish(p, c, depth) < 0)
                                r = -EINVAL;
                        else if (c->anchor)
                                anchor_set(p, c->anchor, c);
                        break;
                }
                default:
                        break;
                }

                /* Every attached node or alias adds at least one to the
                 * expanded total: refuse early, before a flat list of a
                 * million scalars is in memory. */
                if (n && r == 0 && ++p->n_attached > CONFIG_MAX_NODES) {
                        perr(p, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1,
                             "the document expands to more than %u nodes (aliases included): refusing",
                             CONFIG_MAX_NODES);
                        r = -EINVAL;
                }
                if (n && r == 0 && !p->oom) {
                        /* Attach to the parent (a mapping's keys must be
                         * scalars: gorral has no use for complex keys). */
                        if (depth > 0) {
                                struct ynode *par = stack[depth - 1];

                                if (par->type == Y_MAP && par->n % 2 == 0 && n->type != Y_SCALAR) {
                                        perr(p, n->line, n->col, "a mapping key must be a string, not a %s",
                                             n->type == Y_MAP ? "mapping" : "list");
                                        r = -EINVAL;
                                } else
                                        node_append(p, par, n);
                        } else
                                root = n;
                        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
                                stack[depth++] = n;
                                /* Registered at the end, so an alias
                                 * never points into an unfinished node. */
                                anchor = NULL;
                        }
                        if (anchor)
                                anchor_set(p, anchor, n);
                }
                yaml_event_delete(&ev);
                if (r < 0 || p->oom)
                        return p->oom ? p->oom : r;
        }
        *ret_root = root;
        return 0;
}

/* ---- values ---- */

/* A value for a message: quoted, escaped, shortened. */
static const char *qv(const struct ynode *n, char *buf, size_t size) {
        size_t o = 0;

        if (n->type != Y_SCALAR) {
                bsnprintf(buf, size, "%s", n->type == Y_MAP ? "a mapping" : "a list");
                return buf;
        }
        buf[o++] = '"';
        for (size_t i = 0; i < n->len && o + 8 < size; i++) {
                unsigned char c = (unsigned char)n->s[i];

                if (i >= 60) {
                        o += (size_t)bsnprintf(buf + o, size - o, "...");
                        break;
                }
                if (c == '"' || c == '\\')
                        o += (size_t)bsnprintf(buf + o, size - o, "\\%c", c);
                else if (c < 0x20 || c == 0x7f)
                        o += (size_t)bsnprintf(buf + o, size - o, "\\x%02x", c);
                else
                        buf[o++] = (char)c;
        }
        buf[o++] = '"';
        buf[o] = '\0';
        return buf;
}

static bool is_null(const struct ynode *n) {
        return n->type == Y_SCALAR && n->plain &&
               (n->len == 0 || !strcmp(n->s, "~") || !strcmp(n->s, "null") || !strcmp(n->s, "Null") ||
                !strcmp(n->s, "NULL"));
}

static const char *type_name(const struct ynode *n) {
        if (n->type == Y_MAP)
                return "a mapping";
        if (n->type == Y_SEQ)
                return "a list";
        return is_null(n) ? "nothing" : "a string";
}

/* Damerau-Levenshtein (optimal string alignment) distance, bounded. */
static unsigned edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        unsigned d[3][65];

        if (la > 64 || lb > 64)
                return 99;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = (unsigned)j;
        for (size_t i = 1; i <= la; i++) {
                unsigned *cur = d[i % 3], *prev = d[(i - 1) % 3], *pp = d[(i + 1) % 3];

                cur[0] = (unsigned)i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned cost = a[i - 1] != b[j - 1];
                        unsigned v = prev[j] + 1;

                        if (cur[j - 1] + 1 < v)
                                v = cur[j - 1] + 1;
                        if (prev[j - 1] + cost < v)
                                v = prev[j - 1] + cost;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                                v = pp[j - 2] + 1;
                        cur[j] = v;
                }
        }
        return d[la % 3][lb];
}

/* The nearest of names to s, when near enough to be a typo. */
static const char *suggest(const char *s, const char *const *names, size_t n) {
        const char *best = NULL;
        unsigned bd = 99, limit = strlen(s) <= 4 ? 1 : 2;

        for (size_t i = 0; i < n; i++) {
                unsigned dd = edit_distance(s, names[i]);

                if (dd < bd) {
                        bd = dd;
                        best = names[i];
                }
        }
        if (bd <= limit)
                return best;
        /* "warning" for "warn", "info" for "information". */
        for (size_t i = 0; i < n; i++) {
                size_t a = strlen(s), b = strlen(names[i]);

                if (a >= 3 && b >= 3 && strncmp(s, names[i], a < b ? a : b) == 0)
                        return names[i];
        }
        return NULL;
}

/* " (did you mean "x"?)" or "". */
static const char *hint(char *buf, size_t size, const char *s, const char *const *names, size_t n) {
        const char *g = suggest(s, names, n);

        if (!g)
                return "";
        bsnprintf(buf, size, " (did you mean \"%s\"?)", g);
        return buf;
}

struct walk {
        struct parser *p;
        char path[PATH_LEN];
};

/* A scalar as a string, with ${VAR} interpolated. NULL after reporting
 * (or on ENOMEM). */
static char *str_value(struct parser *p, const char *path, const struct ynode *n, const char *expected) {
        char err[256], *out = NULL;
        size_t off = 0;
        int r;

        /* Only an empty plain scalar is "nothing" here: where a string is
         * expected, ~ and null are the strings they look like. */
        if (n->type != Y_SCALAR || (n->plain && n->len == 0)) {
                perr(p, n->line, n->col, "%s: expected %s, got %s", path, expected, type_name(n));
                return NULL;
        }
        if (strlen(n->s) != n->len) {
                perr(p, n->line, n->col, "%s: the value holds a NUL character", path);
                return NULL;
        }
        r = env_interpolate(n->s, n->len, p->ctx->environ, &out, &off, err, sizeof err);
        if (r == -ENOMEM) {
                p->oom = r;
                return NULL;
        }
        if (r < 0) {
                perr(p, n->line, n->col, "%s: %s", path, err);
                return NULL;
        }
        return out;
}

/* An interpolated scalar compared against a set of words. Returns the
 * index, or -1 after reporting "expected ...". */
static int enum_value(struct parser *p, const char *path, const struct ynode *n, const char *const *words,
                      size_t nw, const char *what) {
        _cleanup_free_ char *v = str_value(p, path, n, what);
        char b[128], h[96];

        if (!v)
                return -1;
        for (size_t i = 0; i < nw; i++)
                if (strcmp(v, words[i]) == 0)
                        return (int)i;
        perr(p, n->line, n->col, "%s: invalid value %s (expected %s)%s", path, qv(n, b, sizeof b), what,
             hint(h, sizeof h, v, words, nw));
        return -1;
}

static int bool_value(struct parser *p, const char *path, const struct ynode *n, bool *ret) {
        static const char *const t[] = { "true", "yes", "on" }, *const f[] = { "false", "no", "off" };
        _cleanup_free_ char *v = str_value(p, path, n, "true or false");
        char b[128];

        if (!v)
                return -1;
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                if (strcasecmp(v, t[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(v, f[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        perr(p, n->line, n->col, "%s: invalid boolean %s (expected true or false)", path, qv(n, b, sizeof b));
        return -1;
}

static int duration_value(struct parser *p, const char *path, const struct ynode *n, uint64_t min_usec,
                          uint64_t max_usec, const char *max_text, uint64_t *ret) {
        _cleanup_free_ char *v = str_value(p, path, n, "a duration (e.g. 10s, 1m30s)");
        char b[128];
        uint64_t u;
        int r;

        if (!v)
                return -1;
        r = parse_duration_usec(v, &u);
        if (r == -EINVAL || (r == 0 && v[0] == '0' && v[1] == '\0' && min_usec > 0)) {
                if (r == 0) {
                        perr(p, n->line, n->col, "%s: must be more than 0", path);
                        return -1;
                }
                perr(p, n->line, n->col, "%s: invalid duration %s (expected e.g. 10s, 1m30s, 250ms)", path,
                     qv(n, b, sizeof b));
                return -1;
        }
        if (r < 0 || u > max_usec) {
                perr(p, n->line, n->col, "%s: duration %s is too long (at most %s)", path, qv(n, b, sizeof b),
                     max_text);
                return -1;
        }
        if (u < min_usec) {
                if (min_usec <= 1)
                        perr(p, n->line, n->col, "%s: duration %s must be more than 0", path, qv(n, b, sizeof b));
                else
                        perr(p, n->line, n->col, "%s: duration %s is too short (at least %llu%s)", path,
                             qv(n, b, sizeof b),
                             (unsigned long long)(min_usec % 1000 ? min_usec : min_usec % 1000000 ? min_usec / 1000
                                                                                                : min_usec / 1000000),
                             min_usec % 1000 ? "us" : min_usec % 1000000 ? "ms" : "s");
                return -1;
        }
        *ret = u;
        return 0;
}

static int uint_value(struct parser *p, const char *path, const struct ynode *n, uint64_t min, uint64_t max,
                      uint64_t *ret) {
        _cleanup_free_ char *v = str_value(p, path, n, "a whole number");
        char b[128];
        uint64_t u;
        int r;

        if (!v)
                return -1;
        r = parse_u64(v, &u);
        if (r == -EINVAL) {
                perr(p, n->line, n->col, "%s: invalid number %s (expected a whole number from %llu to %llu)", path,
                     qv(n, b, sizeof b), (unsigned long long)min, (unsigned long long)max);
                return -1;
        }
        if (r < 0 || u < min || u > max) {
                perr(p, n->line, n->col, "%s: %s is out of range (expected %llu to %llu)", path, qv(n, b, sizeof b),
                     (unsigned long long)min, (unsigned long long)max);
                return -1;
        }
        *ret = u;
        return 0;
}

static int size_value(struct parser *p, const char *path, const struct ynode *n, uint64_t min, uint64_t *ret) {
        _cleanup_free_ char *v = str_value(p, path, n, "a size (e.g. 256MiB)");
        char b[128];
        uint64_t u;
        int r;

        if (!v)
                return -1;
        r = parse_size_bytes(v, &u);
        if (r == -EINVAL) {
                perr(p, n->line, n->col, "%s: invalid size %s (expected bytes or a size with K, M, G, T or KiB, "
                     "MiB, GiB, TiB, e.g. 256MiB)", path, qv(n, b, sizeof b));
                return -1;
        }
        if (r < 0 || u > MAX_MEMORY) {
                perr(p, n->line, n->col, "%s: size %s is absurdly large (at most 1024TiB)", path, qv(n, b, sizeof b));
                return -1;
        }
        if (u < min) {
                perr(p, n->line, n->col, "%s: size %s is below the minimum of 1MiB (a bare number is bytes)", path,
                     qv(n, b, sizeof b));
                return -1;
        }
        *ret = u;
        return 0;
}

static int signal_value(struct parser *p, const char *path, const struct ynode *n, int *ret) {
        _cleanup_free_ char *v = str_value(p, path, n, "a signal (e.g. SIGTERM)");
        char b[128];
        int sig;

        if (!v)
                return -1;
        if (parse_signal(v, &sig) < 0) {
                perr(p, n->line, n->col, "%s: unknown signal %s (expected a name like SIGTERM, TERM, or a number)",
                     path, qv(n, b, sizeof b));
                return -1;
        }
        *ret = sig;
        return 0;
}

/* A list of strings (argv): NULL-terminated, malloc'd. */
static char **argv_value(struct parser *p, const char *path, const struct ynode *n) {
        char **v;
        char ip[PATH_LEN + 16];
        bool bad = false;

        if (n->type != Y_SEQ) {
                if (n->type == Y_SCALAR && !is_null(n))
                        perr(p, n->line, n->col, "%s: expected a list (argv), e.g. [/app/api, --port, \"8080\"]: a "
                             "string is not split and no shell is implied", path);
                else
                        perr(p, n->line, n->col, "%s: expected a list (argv), got %s", path, type_name(n));
                return NULL;
        }
        if (n->n == 0) {
                perr(p, n->line, n->col, "%s: empty command (expected at least the program)", path);
                return NULL;
        }
        if (n->n > CONFIG_MAX_ARGS) {
                perr(p, n->line, n->col, "%s: more than %u arguments", path, CONFIG_MAX_ARGS);
                return NULL;
        }
        v = calloc(n->n + 1, sizeof *v);
        if (!v) {
                p->oom = -ENOMEM;
                return NULL;
        }
        for (size_t i = 0; i < n->n; i++) {
                path_index(ip, sizeof ip, path, i);
                v[i] = str_value(p, ip, n->kids[i], "a string");
                if (!v[i]) {
                        bad = true;
                        v[i] = strdup("");
                        if (!v[i]) {
                                p->oom = -ENOMEM;
                                break;
                        }
                } else if (i == 0 && !v[i][0]) {
                        perr(p, n->kids[i]->line, n->kids[i]->col, "%s: the program name is empty", ip);
                        bad = true;
                }
        }
        if (bad || p->oom)
                return strv_free(v);
        return v;
}

/* ---- the schema: fields of a service ---- */

enum field {
        F_COMMAND, F_ENV, F_ENV_FILE, F_ENV_INHERIT, F_WORKING_DIR, F_USER, F_GROUP, F_UMASK,
        F_RESTART, F_BACKOFF_INITIAL, F_BACKOFF_MAX, F_JITTER, F_BUDGET, F_WINDOW, F_START_GRACE,
        F_STOP_SIGNAL, F_STOP_TIMEOUT, F_SIGNAL_GROUP, F_SETSID, F_PDEATHSIG, F_CRITICAL,
        F_CPU, F_MEMORY, F_GOMAXPROCS, F_GOMEMLIMIT, F_ROUNDING, F_MIN_PROCS, F_MEM_RATIO,
        F_READY, F_DEPS, F_CPUS, F_STRICT,
        F_WATCH, F_SAMPLE_INTERVAL, F_METRICS_URL, F_PPROF_URL, F_SOCKET, F_SCHEDTRACE, F_GCTRACE,
        F_PASSTHROUGH, F_DETECT, F_DUMP, F_ON_LIMIT_CHANGE, F_WATCHDOG, F_ON_WATCHDOG,
        _F_MAX,
        /* Groups: a key whose value is a mapping of fields. */
        G_BACKOFF, G_BUDGET, G_RESOURCES, G_GO, G_NO_LIMITS, G_GODEBUG,
};

struct key {
        const char *name;
        int field;
        bool negated;                 /* gorral run's --no-gomaxprocs style: a boolean, true = off */
};

static const struct key service_keys[] = {
        { "command", F_COMMAND, false },         { "env", F_ENV, false },
        { "env_file", F_ENV_FILE, false },       { "env_inherit", F_ENV_INHERIT, false },
        { "working_dir", F_WORKING_DIR, false }, { "user", F_USER, false },
        { "group", F_GROUP, false },             { "umask", F_UMASK, false },
        { "restart", F_RESTART, false },         { "backoff", G_BACKOFF, false },
        { "backoff_initial", F_BACKOFF_INITIAL, false }, { "backoff_max", F_BACKOFF_MAX, false },
        { "backoff_jitter", F_JITTER, false },   { "restart_budget", G_BUDGET, false },
        { "restart_window", F_WINDOW, false },   { "start_grace", F_START_GRACE, false },
        { "stop_signal", F_STOP_SIGNAL, false }, { "stop_timeout", F_STOP_TIMEOUT, false },
        { "signal_group", F_SIGNAL_GROUP, false }, { "setsid", F_SETSID, false },
        { "pdeathsig", F_PDEATHSIG, false },     { "critical", F_CRITICAL, false },
        { "resources", G_RESOURCES, false },     { "go", G_GO, false },
        { "rounding", F_ROUNDING, false },       { "min_procs", F_MIN_PROCS, false },
        { "mem_ratio", F_MEM_RATIO, false },     { "ready", F_READY, false },
        { "depends_on", F_DEPS, false },         { "cpus", F_CPUS, false },
        { "strict", F_STRICT, false },
        { "watch", F_WATCH, false },             { "sample_interval", F_SAMPLE_INTERVAL, false },
        { "metrics_url", F_METRICS_URL, false }, { "pprof_url", F_PPROF_URL, false },
        { "socket", F_SOCKET, false },           { "godebug", G_GODEBUG, false },
        { "detect", F_DETECT, false },           { "dump", F_DUMP, false },
        { "on_limit_change", F_ON_LIMIT_CHANGE, false },
        { "watchdog", F_WATCHDOG, false },       { "on_watchdog", F_ON_WATCHDOG, false },
        /* gorral run's flags, for those who think in them: */
        { "no_gomaxprocs", F_GOMAXPROCS, true }, { "no_gomemlimit", F_GOMEMLIMIT, true },
        { "no_limits", G_NO_LIMITS, true },
};
static const struct key backoff_keys[] = {
        { "initial", F_BACKOFF_INITIAL, false }, { "max", F_BACKOFF_MAX, false }, { "jitter", F_JITTER, false },
};
static const struct key budget_keys[] = { { "restarts", F_BUDGET, false }, { "window", F_WINDOW, false } };
static const struct key resources_keys[] = { { "cpu", F_CPU, false }, { "memory", F_MEMORY, false } };
static const struct key godebug_keys[] = {
        { "schedtrace", F_SCHEDTRACE, false }, { "gctrace", F_GCTRACE, false },
        { "passthrough", F_PASSTHROUGH, false },
};
static const struct key go_keys[] = {
        { "gomaxprocs", F_GOMAXPROCS, false }, { "gomemlimit", F_GOMEMLIMIT, false }, { "rounding", F_ROUNDING, false },
        { "min_procs", F_MIN_PROCS, false },   { "mem_ratio", F_MEM_RATIO, false },
};

/* Where a field's value was written. */
struct rec {
        const struct ynode *node;     /* NULL: not given */
        bool negated;                 /* given as no_gomaxprocs / no_gomemlimit / no_limits */
        unsigned key_line, key_col;
        char path[PATH_LEN];
};

struct recs {
        struct rec f[_F_MAX];
};


static size_t key_names(const struct key *keys, size_t n, const char **out) {
        for (size_t i = 0; i < n; i++)
                out[i] = keys[i].name;
        return n;
}

static void path_join_key(char *dst, const char *base, const char *key) {
        size_t o = path_copy(dst, PATH_LEN, base);

        if (o)
                o = bcat(dst, PATH_LEN, o, ".", 1);
        (void)bcat(dst, PATH_LEN, o, key, strlen(key));
}

/* Check a mapping's keys: scalars, no duplicates among the keys written
 * in it (merged keys never collide: "<<" drops the ones it overrides).
 * Reports each duplicate at its second occurrence. */
static int find_duplicates(struct parser *p, const char *path, const struct ynode *m, const char *what, bool *later);

static int check_duplicates(struct parser *p, const char *path, const struct ynode *m, const char *what) {
        return find_duplicates(p, path, m, what, NULL);
}

/* The same, and later[i] = true for each explicit pair i that repeats an
 * earlier key (later: n_explicit / 2 entries, zeroed by the caller). */
static int find_duplicates(struct parser *p, const char *path, const struct ynode *m, const char *what, bool *later) {
        size_t n = m->n_explicit / 2;
        struct keyref *kr;
        int bad = 0;

        if (n < 2)
                return 0;
        kr = malloc(n * sizeof *kr);
        if (!kr)
                return p->oom = -ENOMEM;
        for (size_t i = 0; i < n; i++)
                kr[i] = (struct keyref){ m->kids[2 * i], i };
        qsort(kr, n, sizeof *kr, keyref_cmp);
        for (size_t i = 1; i < n; i++) {
                /* Each later copy against the first of its run. */
                size_t first = i;
                char b[128];

                while (first > 0 && key_cmp(kr[first - 1].key, kr[i].key) == 0)
                        first--;
                if (first == i)
                        continue;
                if (later)
                        later[kr[i].idx] = true;
                perr(p, kr[i].key->line, kr[i].key->col, "%s%s%s %s (first at %u:%u)", path, *path ? ": " : "",
                     what, qv(kr[i].key, b, sizeof b), kr[first].key->line, kr[first].key->col);
                bad = -EINVAL;
        }
        free(kr);
        return bad;
}

static bool is_extension_key(const struct ynode *k) {
        return k->len >= 2 && k->s[0] == 'x' && k->s[1] == '-';
}

static int sort_into(struct parser *p, const char *path, const struct ynode *m, const struct key *keys,
                     size_t n_keys, struct recs *rs, bool *seen, bool in_defaults);

static int record(struct parser *p, const char *path, const struct ynode *k, const struct ynode *v, int field,
                  bool negated, struct recs *rs, bool *seen, bool in_defaults) {
        struct rec *r;

        if (field > _F_MAX) {
                const struct key *keys;
                size_t n;

                if (field == G_BUDGET && v->type == Y_SCALAR)
                        return record(p, path, k, v, F_BUDGET, false, rs, seen, in_defaults);
                if ((field == G_GO && v->type == Y_SCALAR) || field == G_NO_LIMITS) {
                        /* go: auto | off, and no_limits: true, set both. */
                        record(p, path, k, v, F_GOMAXPROCS, negated, rs, seen, in_defaults);
                        return record(p, path, k, v, F_GOMEMLIMIT, negated, rs, seen, in_defaults);
                }
                if (v->type != Y_MAP) {
                        perr(p, v->line, v->col, "%s: expected a mapping, got %s%s", path, type_name(v),
                             field == G_BUDGET ? " (expected a number or {restarts: N, window: 1m})"
                             : field == G_GO ? " (expected auto, off or {gomaxprocs: ..., gomemlimit: ...})" : "");
                        return -EINVAL;
                }
                switch (field) {
                case G_BACKOFF: keys = backoff_keys; n = ELEMENTSOF(backoff_keys); break;
                case G_BUDGET: keys = budget_keys; n = ELEMENTSOF(budget_keys); break;
                case G_RESOURCES: keys = resources_keys; n = ELEMENTSOF(resources_keys); break;
                case G_GODEBUG: keys = godebug_keys; n = ELEMENTSOF(godebug_keys); break;
                default: keys = go_keys; n = ELEMENTSOF(go_keys); break;
                }
                return sort_into(p, path, v, keys, n, rs, seen, in_defaults);
        }
        if (in_defaults && (field == F_COMMAND || field == F_DEPS)) {
                perr(p, k->line, k->col, "%s: not allowed in defaults (each service has its own)", path);
                return -EINVAL;
        }
        r = &rs->f[field];
        if (seen[field] && strcmp(r->path, path) == 0)
                return -EINVAL; /* the same key twice: reported as a duplicate */
        if (seen[field]) {
                perr(p, k->line, k->col, "%s: given twice (also as %s at %u:%u)", path, r->path, r->key_line,
                     r->key_col);
                return -EINVAL;
        }
        seen[field] = true;
        r->node = v;
        r->negated = negated;
        r->key_line = k->line;
        r->key_col = k->col;
        path_copy(r->path, sizeof r->path, path);
        return 0;
}

/* Sort a service mapping's (or a group's) keys into records. */
static int sort_into(struct parser *p, const char *path, const struct ynode *m, const struct key *keys,
                     size_t n_keys, struct recs *rs, bool *seen, bool in_defaults) {
        int bad = check_duplicates(p, path, m, "duplicate key");

        for (size_t i = 0; i + 1 < m->n; i += 2) {
                const struct ynode *k = m->kids[i], *v = m->kids[i + 1];
                char kp[PATH_LEN], b[128], h[96];
                const char *names[64];
                bool found = false;

                if (keys == service_keys && is_extension_key(k))
                        continue;
                path_join_key(kp, path, k->s);
                for (size_t j = 0; j < n_keys; j++)
                        if (keys[j].name[0] == k->s[0] && strcmp(k->s, keys[j].name) == 0 && strlen(k->s) == k->len) {
                                if (record(p, kp, k, v, keys[j].field, keys[j].negated, rs, seen, in_defaults) < 0)
                                        bad = -EINVAL;
                                found = true;
                                break;
                        }
                if (!found) {
                        perr(p, k->line, k->col, "%s: unknown key %s%s", path, qv(k, b, sizeof b),
                             hint(h, sizeof h, k->s, names, key_names(keys, n_keys, names)));
                        bad = -EINVAL;
                }
        }
        return bad;
}

/* ---- files the configuration names ---- */

static int default_read(void *userdata _unused_, const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        /* O_NONBLOCK: opening a FIFO must not hang the loop; only regular
         * files are read. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t)st.st_size > max)
                return -EFBIG;
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + len, max + 1 - len);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                len += (size_t)k;
                if (len > max)
                        return -EFBIG;
        }
        buf[len] = '\0';
        *ret = buf;
        buf = NULL;
        if (ret_len)
                *ret_len = len;
        return 0;
}

static int read_conf_file(struct parser *p, const char *path, char **ret, size_t *ret_len) {
        if (p->ctx->read_file)
                return p->ctx->read_file(p->ctx->read_userdata, path, CONFIG_MAX_FILE_BYTES, ret, ret_len);
        return default_read(NULL, path, CONFIG_MAX_FILE_BYTES, ret, ret_len);
}

static const char *err_text(int r) {
        if (r == -EBADFD)
                return "not a regular file";
        if (r == -EFBIG)
                return "larger than 1 MiB";
        return strerror(-r);
}

static void users_db_load(struct parser *p) {
        const char *root = p->ctx->root && strcmp(p->ctx->root, "/") != 0 ? p->ctx->root : "";
        char path[PATH_MAX];
        int r;

        if (p->db_loaded)
                return;
        p->db_loaded = true;
        bsnprintf(path, sizeof path, "%s/etc/passwd", root);
        r = read_conf_file(p, path, &p->passwd, &p->db.passwd_len);
        if (r == -ENOMEM)
                p->oom = r;
        p->db.passwd = r < 0 ? NULL : p->passwd;
        p->db.passwd_err = r < 0 ? r : 0;
        bsnprintf(path, sizeof path, "%s/etc/group", root);
        r = read_conf_file(p, path, &p->group, &p->db.group_len);
        if (r == -ENOMEM)
                p->oom = r;
        p->db.group = r < 0 ? NULL : p->group;
        p->db.group_err = r < 0 ? r : 0;
}

/* An env_file, read and parsed once however many services name it. */
static struct efcache *env_file_get(struct parser *p, const char *path) {
        struct efcache *e;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        for (size_t i = 0; i < p->n_ef; i++)
                if (strcmp(p->ef[i].path, path) == 0)
                        return &p->ef[i];
        if (GROW_ARRAY(p->ef, p->cap_ef, p->n_ef + 1, (size_t)4096) < 0) {
                p->oom = -ENOMEM;
                return NULL;
        }
        e = &p->ef[p->n_ef];
        *e = (struct efcache){ .path = strdup(path) };
        if (!e->path) {
                p->oom = -ENOMEM;
                return NULL;
        }
        p->n_ef++;
        r = read_conf_file(p, path, &buf, &len);
        if (r == 0) {
                r = envfile_parse(buf, len, &e->vars, NULL, &e->e);
                if (r < 0 && r != -ENOMEM)
                        r = -EINVAL;
        }
        if (r == -ENOMEM)
                p->oom = r;
        e->err = r;
        return e;
}

/* ---- the environment of a service ---- */

/* Built from pieces, then packed into one block (strv_pack). Inherited
 * entries are borrowed from gorral's environment, which outlives the load,
 * and copied only by the pack: a service inheriting 35 variables costs one
 * malloc, not 36. */
struct envb {
        char **v;
        bool *own;                    /* v[i] is malloc'd (else borrowed) */
        size_t n, cap, cap_own;
};

static void envb_done(struct envb *b) {
        for (size_t i = 0; i < b->n; i++)
                if (b->own[i])
                        free(b->v[i]);
        free(b->v);
        free(b->own);
        *b = (struct envb){ 0 };
}

static int envb_append(struct envb *b, char *kv, bool own);

/* Add "K=V" (kv malloc'd, taken), replacing an earlier K. */
static int envb_put(struct envb *b, char *kv) {
        size_t kl = strcspn(kv, "=");

        for (size_t i = 0; i < b->n; i++)
                if (strncmp(b->v[i], kv, kl) == 0 && b->v[i][kl] == '=') {
                        if (b->own[i])
                                free(b->v[i]);
                        b->v[i] = kv;
                        b->own[i] = true;
                        return 0;
                }
        return envb_append(b, kv, true);
}

/* Add "K=V" where K is known not to be there yet: taken when own, else
 * borrowed. */
static int envb_append(struct envb *b, char *kv, bool own) {
        int r = 0;

        if (b->n >= CONFIG_MAX_ENV)
                r = -E2BIG;
        else if (GROW_ARRAY(b->v, b->cap, b->n + 2, (size_t)CONFIG_MAX_ENV + 1) < 0 ||
                 GROW_ARRAY(b->own, b->cap_own, b->n + 1, (size_t)CONFIG_MAX_ENV) < 0)
                r = -ENOMEM;
        if (r < 0) {
                if (own)
                        free(kv);
                return r;
        }
        b->own[b->n] = own;
        b->v[b->n++] = kv;
        b->v[b->n] = NULL;
        return 0;
}

static int envb_put_kv(struct envb *b, const char *k, size_t kl, const char *v) {
        char *kv;

        if (asprintf(&kv, "%.*s=%s", (int)kl, k, v) < 0)
                return -ENOMEM;
        return envb_put(b, kv);
}

static bool env_key_ok(const char *k, size_t len) {
        return len > 0 && strlen(k) == len && !strchr(k, '=');
}

static int env_put_checked(struct parser *p, const struct rec *r, const struct ynode *at, int rr) {
        if (rr == -ENOMEM)
                p->oom = rr;
        else if (rr == -E2BIG) {
                perr(p, at ? at->line : 0, at ? at->col : 0, "%s: more than %u environment variables",
                     r->node ? r->path : "env_inherit", CONFIG_MAX_ENV);
                return -1;
        }
        return rr < 0 ? -1 : 0;
}

/* 1 when no key of env (entries without '=' are skipped by the caller)
 * appears twice, else 0. Once per load: quadratic in gorral's own
 * environment, which the kernel bounds (ARG_MAX). */
static int environ_keys_unique(char *const *env) {
        for (char *const *a = env; *a; a++) {
                size_t kl = strcspn(*a, "=");

                if (!(*a)[kl])
                        continue;
                for (char *const *c = a + 1; *c; c++)
                        if (strncmp(*c, *a, kl + 1) == 0)
                                return 0;
        }
        return 1;
}

static int build_env(struct parser *p, const struct recs *rs, char ***ret) {
        struct envb b = { 0 };
        char *const *environ_ = p->ctx->environ;
        const struct rec *ri = &rs->f[F_ENV_INHERIT], *rf = &rs->f[F_ENV_FILE], *re = &rs->f[F_ENV];
        int bad = 0, rr;
        char b128[128];

        /* 1. Inherited: all (default), none, or a list of names. */
        {
                bool all = true;
                const struct ynode *list = NULL;

                if (ri->node) {
                        if (ri->node->type == Y_SEQ) {
                                all = false;
                                list = ri->node;
                        } else {
                                static const char *const w[] = { "all", "none" };
                                int i = enum_value(p, ri->path, ri->node, w, 2, "all, none or a list of names");

                                if (i < 0)
                                        bad = -1;
                                all = i == 0;
                        }
                }
                if (all && environ_) {
                        if (p->environ_unique < 0)
                                p->environ_unique = environ_keys_unique(environ_);
                        for (char *const *e = environ_; *e && !bad; e++) {
                                char *kv;

                                if (!strchr(*e, '='))
                                        continue;
                                if (p->environ_unique)
                                        rr = envb_append(&b, *e, false);
                                else
                                        rr = (kv = strdup(*e)) ? envb_put(&b, kv) : -ENOMEM;
                                if (env_put_checked(p, ri, ri->node, rr) < 0)
                                        bad = -1;
                        }
                } else if (list) {
                        for (size_t i = 0; i < list->n; i++) {
                                const struct ynode *it = list->kids[i];
                                char ip[PATH_LEN + 16];
                                _cleanup_free_ char *name = NULL;
                                const char *val;

                                path_index(ip, sizeof ip, ri->path, i);
                                name = str_value(p, ip, it, "a variable name");
                                if (!name) {
                                        bad = -1;
                                        continue;
                                }
                                if (!env_name_valid(name, strlen(name))) {
                                        perr(p, it->line, it->col, "%s: invalid variable name %s", ip,
                                             qv(it, b128, sizeof b128));
                                        bad = -1;
                                        continue;
                                }
                                val = env_lookup(environ_, name, strlen(name));
                                if (val && env_put_checked(p, ri, it, envb_put_kv(&b, name, strlen(name), val)) < 0)
                                        bad = -1;
                        }
                }
        }

        /* 2. env_file: a path or a list of paths, relative to the config
         * file's directory; each must exist. */
        if (rf->node) {
                const struct ynode *one[1] = { rf->node }, *const *items = one;
                size_t n = 1;

                if (rf->node->type == Y_SEQ) {
                        items = (const struct ynode *const *)rf->node->kids;
                        n = rf->node->n;
                }
                for (size_t i = 0; i < n; i++) {
                        const struct ynode *it = items[i];
                        char ip[PATH_LEN + 16];
                        _cleanup_free_ char *path = NULL, *full = NULL;
                        struct efcache *e;

                        bsnprintf(ip, sizeof ip, rf->node->type == Y_SEQ ? "%s[%zu]" : "%s", rf->path, i);
                        path = str_value(p, ip, it, "a path or a list of paths");
                        if (!path) {
                                bad = -1;
                                continue;
                        }
                        if (!*path) {
                                perr(p, it->line, it->col, "%s: empty path", ip);
                                bad = -1;
                                continue;
                        }
                        /* Relative to the config file's directory. */
                        full = path[0] == '/' || !p->dir ? strdup(path) : path_join(p->dir, path);
                        if (!full) {
                                p->oom = -ENOMEM;
                                break;
                        }
                        e = env_file_get(p, full);
                        if (!e)
                                break;
                        if (e->err == -EINVAL) {
                                pfile_err(p, full, e->e.line, e->e.column, "%s", e->e.message);
                                bad = -1;
                        } else if (e->err < 0) {
                                perr(p, it->line, it->col, "%s: cannot read env file \"%s\": %s", ip, full,
                                     err_text(e->err));
                                bad = -1;
                        } else
                                for (char **v = e->vars; *v && !bad; v++) {
                                        char *kv = strdup(*v);

                                        if (env_put_checked(p, rf, it, kv ? envb_put(&b, kv) : -ENOMEM) < 0)
                                                bad = -1;
                                }
                }
        }

        /* 3. env: {K: V} or [K=V, K]. A null value (K: or a bare K in the
         * list) takes K from gorral's environment, when it is set. */
        if (re->node) {
                const struct ynode *n = re->node;

                if (n->type == Y_MAP) {
                        if (check_duplicates(p, re->path, n, "duplicate variable") < 0)
                                bad = -1;
                        for (size_t i = 0; i + 1 < n->n; i += 2) {
                                const struct ynode *k = n->kids[i], *v = n->kids[i + 1];
                                char kp[PATH_LEN];
                                _cleanup_free_ char *val = NULL;
                                const char *from;

                                path_join_key(kp, re->path, k->s);
                                if (!env_key_ok(k->s, k->len)) {
                                        perr(p, k->line, k->col, "%s: invalid variable name %s (no '=', not empty)",
                                             re->path, qv(k, b128, sizeof b128));
                                        bad = -1;
                                        continue;
                                }
                                if (is_null(v)) {
                                        from = env_lookup(environ_, k->s, k->len);
                                        if (from && env_put_checked(p, re, k, envb_put_kv(&b, k->s, k->len, from)) < 0)
                                                bad = -1;
                                        continue;
                                }
                                val = str_value(p, kp, v, "a string (quote numbers and booleans if you like)");
                                if (!val)
                                        bad = -1;
                                else if (env_put_checked(p, re, k, envb_put_kv(&b, k->s, k->len, val)) < 0)
                                        bad = -1;
                        }
                } else if (n->type == Y_SEQ) {
                        for (size_t i = 0; i < n->n; i++) {
                                const struct ynode *it = n->kids[i];
                                char ip[PATH_LEN + 16];
                                _cleanup_free_ char *kv = NULL;
                                char *eq;

                                path_index(ip, sizeof ip, re->path, i);
                                kv = str_value(p, ip, it, "KEY=VALUE");
                                if (!kv) {
                                        bad = -1;
                                        continue;
                                }
                                eq = strchr(kv, '=');
                                if (eq == kv || !*kv) {
                                        perr(p, it->line, it->col, "%s: expected KEY=VALUE, got %s", ip,
                                             qv(it, b128, sizeof b128));
                                        bad = -1;
                                } else if (!eq) {
                                        const char *from = env_lookup(environ_, kv, strlen(kv));

                                        if (from && env_put_checked(p, re, it, envb_put_kv(&b, kv, strlen(kv), from)) < 0)
                                                bad = -1;
                                } else {
                                        char *t = kv;

                                        kv = NULL;
                                        if (env_put_checked(p, re, it, envb_put(&b, t)) < 0)
                                                bad = -1;
                                }
                        }
                } else {
                        perr(p, n->line, n->col, "%s: expected a mapping of variables (or a list of KEY=VALUE), "
                             "got %s", re->path, type_name(n));
                        bad = -1;
                }
        }
        if (!bad && !p->oom) {
                char *const none[] = { NULL };

                if (strv_pack(b.v ? b.v : none, ret) < 0)
                        p->oom = -ENOMEM;
        }
        envb_done(&b);
        return bad || p->oom ? -1 : 0;
}

/* ---- one service from its records ---- */

/* "0.5", "2", "1.25", or millicores "500m" -> quota per 100 ms period.
 * 0 or -EINVAL / -ERANGE. */
static int parse_cpu(const char *s, uint64_t *ret_quota_us) {
        uint64_t ip = 0, frac = 0, scale = CPU_PERIOD_US / 10;
        const char *p = s;
        bool digits = false;

        if (!*s)
                return -EINVAL;
        if (s[strlen(s) - 1] == 'm') {
                uint64_t milli;
                size_t n = strlen(s) - 1;

                if (parse_u64_n(s, n, &milli) < 0)
                        return -EINVAL;
                if (milli > (uint64_t)MAX_CPUS * 1000)
                        return -ERANGE;
                *ret_quota_us = milli * (CPU_PERIOD_US / 1000);
                return 0;
        }
        for (; *p >= '0' && *p <= '9'; p++) {
                if (ip > MAX_CPUS)
                        return -ERANGE;
                ip = ip * 10 + (uint64_t)(*p - '0');
                digits = true;
        }
        if (*p == '.') {
                for (p++; *p >= '0' && *p <= '9'; p++) {
                        frac += (uint64_t)(*p - '0') * scale;
                        scale /= 10;
                        digits = true;
                }
        }
        if (!digits || *p)
                return -EINVAL;
        if (ip > MAX_CPUS || (ip == MAX_CPUS && frac))
                return -ERANGE;
        *ret_quota_us = ip * CPU_PERIOD_US + frac;
        return 0;
}

/* "HOST:PORT", "[v6]:PORT". */
static bool tcp_target_ok(const char *s) {
        const char *colon, *host = s;
        size_t hl;
        uint64_t port;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                char v6[64];
                struct in6_addr a;

                if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof v6)
                        return false;
                memcpy(v6, s + 1, (size_t)(close - s - 1));
                v6[close - s - 1] = '\0';
                if (inet_pton(AF_INET6, v6, &a) != 1)
                        return false;
                colon = close + 1;
        } else {
                colon = strrchr(s, ':');
                if (!colon || colon == s)
                        return false;
                hl = (size_t)(colon - host);
                if (hl > 253)
                        return false;
                for (size_t i = 0; i < hl; i++)
                        if (!isalnum((unsigned char)host[i]) && host[i] != '.' && host[i] != '-' && host[i] != '_')
                                return false;
        }
        return parse_u64(colon + 1, &port) == 0 && port >= 1 && port <= 65535;
}

static char *path_value(struct parser *p, const char *path, const struct ynode *n, size_t max);

/* An http:// URL for a scrape (http_url_parse() is the judge). */
static char *url_value(struct parser *p, const struct rec *r) {
        char *v = str_value(p, r->path, r->node, "an http:// URL");
        const char *why = NULL;
        char b[128];

        if (v && strlen(v) > CONFIG_MAX_URL)
                why = "too long";
        else if (v) {
                struct http_url u = { 0 };
                int e = http_url_parse(v, &u, &why);

                http_url_done(&u);
                if (e == -ENOMEM)
                        p->oom = e;
                if (e == 0)
                        return v;
        }
        if (v)
                perr(p, r->node->line, r->node->col, "%s: invalid URL %s: %s (expected e.g. "
                     "http://127.0.0.1:8080/metrics)", r->path, qv(r->node, b, sizeof b), why ? why : "malformed");
        free(v);
        return NULL;
}

static void parse_watch(struct parser *p, const struct recs *rs, struct config_service *s) {
        const struct rec *r;

        if ((r = &rs->f[F_WATCH])->node)
                bool_value(p, r->path, r->node, &s->watch);
        if ((r = &rs->f[F_SAMPLE_INTERVAL])->node)
                duration_value(p, r->path, r->node, CONFIG_MIN_SAMPLE_USEC, CONFIG_MAX_SAMPLE_USEC, "1h",
                               &s->sample_interval_usec);
        if ((r = &rs->f[F_METRICS_URL])->node)
                s->metrics_url = url_value(p, r);
        if ((r = &rs->f[F_PPROF_URL])->node)
                s->pprof_url = url_value(p, r);
        if ((r = &rs->f[F_SOCKET])->node) {
                /* sun_path holds 108 bytes with the NUL. */
                s->scrape_socket = path_value(p, r->path, r->node, 107);
                if (s->scrape_socket && !rs->f[F_METRICS_URL].node && !rs->f[F_PPROF_URL].node)
                        pwarn(p, r->node->line, r->node->col, "%s: no metrics_url or pprof_url to fetch over it",
                              r->path);
        }
        if ((r = &rs->f[F_SCHEDTRACE])->node) {
                bool on;

                /* schedtrace: 1s, or false/off to say it is off. */
                if (r->node->type == Y_SCALAR && r->node->plain &&
                    (!strcasecmp(r->node->s, "false") || !strcasecmp(r->node->s, "off")))
                        s->schedtrace_usec = 0;
                else if (r->node->type == Y_SCALAR && r->node->plain && !strcasecmp(r->node->s, "true")) {
                        (void)bool_value(p, r->path, r->node, &on);
                        s->schedtrace_usec = 1000000ULL;
                } else
                        duration_value(p, r->path, r->node, 1000, CONFIG_MAX_SAMPLE_USEC, "1h", &s->schedtrace_usec);
                if (s->schedtrace_usec % 1000) {
                        pwarn(p, r->node->line, r->node->col, "%s: Go counts schedtrace in milliseconds: rounded "
                              "down to %llums", r->path, (unsigned long long)(s->schedtrace_usec / 1000));
                        s->schedtrace_usec -= s->schedtrace_usec % 1000;
                }
        }
        if ((r = &rs->f[F_GCTRACE])->node)
                bool_value(p, r->path, r->node, &s->gctrace);
        if ((r = &rs->f[F_PASSTHROUGH])->node)
                bool_value(p, r->path, r->node, &s->trace_passthrough);
}


/* ---- detection: detect, dump, on_limit_change, alerts ---- */

static bool sink_name_ok(const char *s, size_t len) {
        if (len == 0 || len > CONFIG_SINK_NAME || strlen(s) != len)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

/* actions: [log, restart, SINK...] */
static void parse_actions(struct parser *p, const char *path, const struct ynode *n, struct config_actions *ret) {
        struct config_actions a = { .given = true };
        const struct ynode *one = n;
        size_t count = 1;

        if (n->type == Y_SEQ)
                count = n->n;
        else if (n->type != Y_SCALAR) {
                perr(p, n->line, n->col, "%s: expected a list of actions (log, restart, or names under alerts:), "
                     "got %s", path, type_name(n));
                return;
        }
        for (size_t i = 0; i < count; i++) {
                char b[128], h[96];
                const char *names[CONFIG_MAX_SINKS + 2];
                size_t nn = 0;
                bool found = false;

                if (n->type == Y_SEQ)
                        one = n->kids[i];
                if (one->type != Y_SCALAR || !one->len) {
                        perr(p, one->line, one->col, "%s: expected an action name, got %s", path, type_name(one));
                        continue;
                }
                if (!strcmp(one->s, "log"))
                        continue;         /* every finding is logged */
                if (!strcmp(one->s, "restart")) {
                        a.restart = true;
                        continue;
                }
                for (size_t j = 0; j < p->n_sinks; j++)
                        if (!strcmp(p->sinks[j].name, one->s))
                                found = true;
                if (!found) {
                        names[nn++] = "log";
                        names[nn++] = "restart";
                        for (size_t j = 0; j < p->n_sinks && nn < ELEMENTSOF(names); j++)
                                names[nn++] = p->sinks[j].name;
                        perr(p, one->line, one->col, "%s: unknown action %s (expected log, restart or a name "
                             "under alerts:)%s", path, qv(one, b, sizeof b), hint(h, sizeof h, one->s, names, nn));
                        continue;
                }
                if (a.n_sinks >= CONFIG_ACTION_SINKS) {
                        perr(p, one->line, one->col, "%s: more than %u alert destinations", path, CONFIG_ACTION_SINKS);
                        break;
                }
                bool dup = false;
                for (unsigned j = 0; j < a.n_sinks; j++)
                        dup |= !strcmp(a.sink[j], one->s);
                if (!dup)
                        snprintf(a.sink[a.n_sinks++], sizeof a.sink[0], "%s", one->s);
        }
        *ret = a;
}

/* One option's value as detect_config_set() takes it: a scalar, or a
 * list of scalars joined with ','. NULL after reporting. */
static char *option_text(struct parser *p, const char *path, const struct ynode *v) {
        char *out;
        size_t len = 0;

        if (v->type == Y_SCALAR)
                return str_value(p, path, v, "a value");
        if (v->type != Y_SEQ || v->n == 0) {
                perr(p, v->line, v->col, "%s: expected a value or a list of values, got %s", path, type_name(v));
                return NULL;
        }
        for (size_t i = 0; i < v->n; i++) {
                if (v->kids[i]->type != Y_SCALAR || memchr(v->kids[i]->s, ',', v->kids[i]->len)) {
                        perr(p, v->kids[i]->line, v->kids[i]->col, "%s: expected a name", path);
                        return NULL;
                }
                len += v->kids[i]->len + 1;
        }
        out = malloc(len);
        if (!out) {
                p->oom = -ENOMEM;
                return NULL;
        }
        len = 0;
        for (size_t i = 0; i < v->n; i++) {
                memcpy(out + len, v->kids[i]->s, v->kids[i]->len);
                len += v->kids[i]->len;
                out[len++] = i + 1 < v->n ? ',' : '\0';
        }
        return out;
}

/* The options of one detector: a mapping of option keys (and actions),
 * or false/off to turn it off, or true/on. */
static void parse_detector(struct parser *p, const char *path, enum detector d, const struct ynode *m,
                           struct config_service *s) {
        if (m->type == Y_SCALAR) {
                bool on;

                if (bool_value(p, path, m, &on) == 0)
                        s->detect.enabled[d] = on;
                return;
        }
        if (m->type != Y_MAP) {
                perr(p, m->line, m->col, "%s: expected a mapping of options, or false, got %s", path, type_name(m));
                return;
        }
        check_duplicates(p, path, m, "duplicate key");
        s->detect.enabled[d] = true;
        for (size_t i = 0; i + 1 < m->n; i += 2) {
                const struct ynode *k = m->kids[i], *v = m->kids[i + 1];
                char kp[PATH_LEN], err[192];
                _cleanup_free_ char *text = NULL;
                int r;

                path_join_key(kp, path, k->s);
                if (!strcmp(k->s, "actions")) {
                        parse_actions(p, kp, v, &s->actions[d]);
                        continue;
                }
                if (!detect_option_known(d, k->s)) {
                        const char *const *keys = detect_option_keys(d);
                        const char *names[24];
                        char b[128], h[96];
                        size_t nn = 0;

                        for (; keys[nn] && nn + 1 < ELEMENTSOF(names); nn++)
                                names[nn] = keys[nn];
                        names[nn++] = "actions";
                        perr(p, k->line, k->col, "%s: unknown key %s%s", path, qv(k, b, sizeof b),
                             hint(h, sizeof h, k->s, names, nn));
                        continue;
                }
                text = option_text(p, kp, v);
                if (!text)
                        continue;
                r = detect_config_set(&s->detect, d, k->s, text, err, sizeof err);
                if (r < 0)
                        perr(p, v->line, v->col, "%s.%s", path, err);
        }
}

/* detect: {actions: [...], leak: {...}, threshold: {...} or [{...}], ...}
 * or detect: false (no detector at all). */
static void parse_detect(struct parser *p, const struct rec *r, struct config_service *s) {
        const struct ynode *m = r->node;
        struct config_actions dflt = { 0 };
        char err[192];

        if (m->type == Y_SCALAR) {
                bool on;

                if (bool_value(p, r->path, m, &on) == 0 && !on)
                        for (int d = 0; d < DETECTOR__COUNT; d++)
                                s->detect.enabled[d] = false;
                return;
        }
        if (m->type != Y_MAP) {
                perr(p, m->line, m->col, "%s: expected a mapping of detectors (leak, threads, throttling, memory, gc, "
                     "oom, pressure, limit_change, threshold), got %s", r->path, type_name(m));
                return;
        }
        check_duplicates(p, r->path, m, "duplicate key");
        for (size_t i = 0; i + 1 < m->n; i += 2) {
                const struct ynode *k = m->kids[i], *v = m->kids[i + 1];
                char kp[PATH_LEN], b[128], h[96];
                const char *names[DETECTOR__COUNT + 1];
                int d;

                path_join_key(kp, r->path, k->s);
                if (!strcmp(k->s, "actions")) {
                        parse_actions(p, kp, v, &dflt);
                        continue;
                }
                d = detector_from_name(k->s);
                if (d < 0) {
                        for (int j = 0; j < DETECTOR__COUNT; j++)
                                names[j] = detector_name((enum detector)j);
                        names[DETECTOR__COUNT] = "actions";
                        perr(p, k->line, k->col, "%s: unknown detector %s%s", r->path, qv(k, b, sizeof b),
                             hint(h, sizeof h, k->s, names, DETECTOR__COUNT + 1));
                        continue;
                }
                if (d == DETECTOR_THRESHOLD && (v->type == Y_MAP || v->type == Y_SEQ)) {
                        size_t n = v->type == Y_SEQ ? v->n : 1;

                        for (size_t j = 0; j < n; j++) {
                                const struct ynode *e = v->type == Y_SEQ ? v->kids[j] : v;
                                char ep[PATH_LEN];

                                if (v->type == Y_SEQ)
                                        path_index(ep, sizeof ep, kp, j);
                                else
                                        path_copy(ep, sizeof ep, kp);
                                if (detect_config_add_threshold(&s->detect) < 0) {
                                        perr(p, e->line, e->col, "%s: more than %u thresholds", kp,
                                             DETECT_THRESHOLDS_MAX);
                                        break;
                                }
                                parse_detector(p, ep, DETECTOR_THRESHOLD, e, s);
                                if (s->detect.threshold[s->detect.n_threshold - 1].metric < 0 ||
                                    (!s->detect.threshold[s->detect.n_threshold - 1].has_above &&
                                     !s->detect.threshold[s->detect.n_threshold - 1].has_below))
                                        perr(p, e->line, e->col, "%s: a threshold needs a metric and above or below "
                                             "(e.g. {metric: goroutines, above: 5000, for: 10})", ep);
                        }
                        continue;
                }
                parse_detector(p, kp, (enum detector)d, v, s);
        }
        if (dflt.given)
                for (int d = 0; d < DETECTOR__COUNT; d++)
                        if (!s->actions[d].given)
                                s->actions[d] = dflt;
        if (detect_config_check(&s->detect, err, sizeof err) < 0)
                perr(p, m->line, m->col, "%s: %s", r->path, err);
}

static void parse_dump(struct parser *p, const struct rec *r, struct config_service *s) {
        const struct ynode *m = r->node;

        if (m->type != Y_MAP) {
                perr(p, m->line, m->col, "%s: expected {sigquit: false, keep: 5}, got %s", r->path, type_name(m));
                return;
        }
        check_duplicates(p, r->path, m, "duplicate key");
        for (size_t i = 0; i + 1 < m->n; i += 2) {
                const struct ynode *k = m->kids[i], *v = m->kids[i + 1];
                static const char *const names[] = { "sigquit", "keep" };
                char kp[PATH_LEN], b[128], h[96];
                uint64_t u;

                path_join_key(kp, r->path, k->s);
                if (!strcmp(k->s, "sigquit"))
                        bool_value(p, kp, v, &s->dump_sigquit);
                else if (!strcmp(k->s, "keep")) {
                        if (uint_value(p, kp, v, 1, CONFIG_DUMP_KEEP_MAX, &u) == 0)
                                s->dump_keep = (unsigned)u;
                } else
                        perr(p, k->line, k->col, "%s: unknown key %s%s", r->path, qv(k, b, sizeof b),
                             hint(h, sizeof h, k->s, names, ELEMENTSOF(names)));
        }
}

/* on_limit_change, on_watchdog: log | restart, for detector d. */
static void parse_on(struct parser *p, const struct rec *r, struct config_service *s, enum detector d) {
        static const char *const words[] = { "log", "restart" };
        int i = enum_value(p, r->path, r->node, words, 2, "log or restart");

        if (i >= 0) {
                s->actions[d].given = true;
                s->actions[d].restart = i == 1;
        }
}

static void parse_detection(struct parser *p, const struct recs *rs, struct config_service *s) {
        const struct rec *r;

        if ((r = &rs->f[F_DETECT])->node)
                parse_detect(p, r, s);
        if ((r = &rs->f[F_DUMP])->node)
                parse_dump(p, r, s);
        if ((r = &rs->f[F_ON_LIMIT_CHANGE])->node)
                parse_on(p, r, s, DETECTOR_LIMIT_CHANGE);
        /* watchdog: DURATION, systemd's WatchdogSec= for one service: it
         * gets NOTIFY_SOCKET and WATCHDOG_USEC and must ping WATCHDOG=1;
         * a missed ping is a finding and, unless on_watchdog: log, a
         * restart by SIGABRT (as systemd does: Go prints its stacks). */
        if ((r = &rs->f[F_WATCHDOG])->node)
                duration_value(p, r->path, r->node, 10000, 3600000000ULL, "1h", &s->watchdog_usec);
        s->actions[DETECTOR_WATCHDOG].restart = true;
        if ((r = &rs->f[F_ON_WATCHDOG])->node)
                parse_on(p, r, s, DETECTOR_WATCHDOG);
}

static void sink_done(struct config_sink *k) {
        free(k->name);
        free(k->url);
        strv_free(k->argv);
}

/* alerts: {NAME: {alertmanager: URL | webhook: URL | exec: [argv], timeout:, resend_interval:}} */
static void parse_alerts(struct parser *p, const struct ynode *m, struct config *c) {
        if (m->type != Y_MAP) {
                perr(p, m->line, m->col, "alerts: expected a mapping of names to {alertmanager: URL}, {webhook: URL} "
                     "or {exec: [argv]}, got %s", type_name(m));
                return;
        }
        check_duplicates(p, "alerts", m, "duplicate alert destination");
        c->sinks = calloc(m->n / 2 + 1, sizeof *c->sinks);
        if (!c->sinks) {
                p->oom = -ENOMEM;
                return;
        }
        for (size_t i = 0; i + 1 < m->n && !p->oom; i += 2) {
                const struct ynode *k = m->kids[i], *v = m->kids[i + 1];
                struct config_sink z = { .timeout_usec = 0, .resend_usec = 60 * 1000000ULL };
                char sp[PATH_LEN], b[128];
                int kinds = 0;
                bool dup = false;

                if (!sink_name_ok(k->s, k->len) || !strcmp(k->s, "log") || !strcmp(k->s, "restart")) {
                        perr(p, k->line, k->col, "alerts: invalid name %s (expected 1 to %u of A-Z a-z 0-9 _ . -, "
                             "not log or restart)", qv(k, b, sizeof b), CONFIG_SINK_NAME);
                        continue;
                }
                for (size_t j = 0; j < c->n_sinks; j++)
                        dup |= !strcmp(c->sinks[j].name, k->s);
                if (dup)
                        continue;
                if (c->n_sinks >= CONFIG_MAX_SINKS) {
                        perr(p, k->line, k->col, "alerts: more than %u destinations", CONFIG_MAX_SINKS);
                        break;
                }
                bsnprintf(sp, sizeof sp, "alerts.%s", k->s);
                if (v->type != Y_MAP) {
                        perr(p, v->line, v->col, "%s: expected a mapping ({alertmanager: URL}, {webhook: URL} or "
                             "{exec: [argv]}), got %s", sp, type_name(v));
                        continue;
                }
                check_duplicates(p, sp, v, "duplicate key");
                for (size_t j = 0; j + 1 < v->n; j += 2) {
                        static const char *const names[] = { "alertmanager", "webhook", "exec", "timeout",
                                                              "resend_interval" };
                        const struct ynode *kk = v->kids[j], *vv = v->kids[j + 1];
                        char kp[PATH_LEN], h[96];

                        path_join_key(kp, sp, kk->s);
                        if (!strcmp(kk->s, "alertmanager") || !strcmp(kk->s, "webhook")) {
                                char *u;
                                const char *why = NULL;

                                kinds++;
                                z.kind = kk->s[0] == 'a' ? CONFIG_SINK_ALERTMANAGER : CONFIG_SINK_WEBHOOK;
                                u = str_value(p, kp, vv, "an http:// URL");
                                if (u && alert_url_check(z.kind == CONFIG_SINK_ALERTMANAGER ? ALERT_ALERTMANAGER
                                                                                            : ALERT_WEBHOOK,
                                                         u, &why) < 0) {
                                        perr(p, vv->line, vv->col, "%s: invalid URL %s: %s", kp, qv(vv, b, sizeof b),
                                             why ? why : "malformed");
                                        free(u);
                                        u = NULL;
                                }
                                free(z.url);
                                z.url = u;
                        } else if (!strcmp(kk->s, "exec")) {
                                kinds++;
                                z.kind = CONFIG_SINK_EXEC;
                                strv_free(z.argv);
                                z.argv = argv_value(p, kp, vv);
                        } else if (!strcmp(kk->s, "timeout"))
                                duration_value(p, kp, vv, 1000, 3600 * 1000000ULL, "1h", &z.timeout_usec);
                        else if (!strcmp(kk->s, "resend_interval"))
                                duration_value(p, kp, vv, 30 * 1000000ULL, 180 * 1000000ULL, "3m", &z.resend_usec);
                        else
                                perr(p, kk->line, kk->col, "%s: unknown key %s%s", sp, qv(kk, b, sizeof b),
                                     hint(h, sizeof h, kk->s, names, ELEMENTSOF(names)));
                }
                if (kinds != 1) {
                        perr(p, v->line, v->col, "%s: give exactly one of alertmanager: URL, webhook: URL or "
                             "exec: [argv]", sp);
                        sink_done(&z);
                        continue;
                }
                if (!z.timeout_usec)
                        z.timeout_usec = (z.kind == CONFIG_SINK_EXEC ? 10 : 5) * 1000000ULL;
                z.name = strdup(k->s);
                if (!z.name) {
                        p->oom = -ENOMEM;
                        sink_done(&z);
                        break;
                }
                z.line = k->line;
                z.column = k->col;
                c->sinks[c->n_sinks++] = z;
        }
        p->sinks = c->sinks;
        p->n_sinks = c->n_sinks;
}

static void parse_ready(struct parser *p, const struct rec *r, struct config_service *s) {
        static const char *const names[] = { "tcp", "exec", "notify", "interval", "timeout" };
        const struct ynode *m = r->node;
        unsigned probes = 0, unknown = 0;

        s->ready = CONFIG_PROBE_NONE;
        if (m->type == Y_SCALAR) {
                static const char *const w[] = { "none" };

                if (!is_null(m))
                        enum_value(p, r->path, m, w, 1, "none or a mapping {tcp: HOST:PORT | exec: [...] | notify: true}");
                else
                        perr(p, m->line, m->col, "%s: expected a mapping {tcp: HOST:PORT | exec: [...] | notify: "
                             "true} or none", r->path);
                return;
        }
        if (m->type != Y_MAP) {
                perr(p, m->line, m->col, "%s: expected a mapping {tcp: HOST:PORT | exec: [...] | notify: true}, got "
                     "a list", r->path);
                return;
        }
        check_duplicates(p, r->path, m, "duplicate key");
        for (size_t i = 0; i + 1 < m->n; i += 2) {
                const struct ynode *k = m->kids[i], *v = m->kids[i + 1];
                char kp[PATH_LEN], b[128], h[96];
                int which = -1;

                for (size_t j = 0; j < ELEMENTSOF(names); j++)
                        if (strcmp(k->s, names[j]) == 0)
                                which = (int)j;
                path_join_key(kp, r->path, k->s);
                switch (which) {
                case 0: {
                        char *t;

                        probes++;
                        if (is_null(v) || (v->type == Y_SCALAR && v->len == 0)) {
                                perr(p, v->line, v->col, "%s: the tcp probe has no target (expected HOST:PORT, e.g. "
                                     "127.0.0.1:8080 or [::1]:8080)", kp);
                                break;
                        }
                        t = str_value(p, kp, v, "HOST:PORT");
                        if (!t)
                                break;
                        if (!tcp_target_ok(t)) {
                                perr(p, v->line, v->col, "%s: invalid address %s (expected HOST:PORT, e.g. "
                                     "127.0.0.1:8080 or [::1]:8080)", kp, qv(v, b, sizeof b));
                                free(t);
                                break;
                        }
                        free(s->ready_tcp);
                        s->ready_tcp = t;
                        s->ready = CONFIG_PROBE_TCP;
                        break;
                }
                case 1:
                        probes++;
                        if (is_null(v)) {
                                perr(p, v->line, v->col, "%s: the exec probe has no command (expected a list, e.g. "
                                     "[/app/healthcheck])", kp);
                                break;
                        }
                        strv_free(s->ready_exec);
                        s->ready_exec = argv_value(p, kp, v);
                        if (s->ready_exec)
                                s->ready = CONFIG_PROBE_EXEC;
                        break;
                case 2: {
                        bool on = false;

                        if (bool_value(p, kp, v, &on) == 0 && on) {
                                probes++;
                                s->ready = CONFIG_PROBE_NOTIFY;
                        }
                        break;
                }
                case 3:
                        duration_value(p, kp, v, 1, SERVICE_BACKOFF_MAX_USEC, "1h", &s->ready_interval_usec);
                        break;
                case 4:
                        duration_value(p, kp, v, 1, MAX_WINDOW_USEC, "24h", &s->ready_timeout_usec);
                        break;
                default:
                        perr(p, k->line, k->col, "%s: unknown key %s%s", r->path, qv(k, b, sizeof b),
                             hint(h, sizeof h, k->s, names, ELEMENTSOF(names)));
                        unknown++;
                }
        }
        if (probes == 0 && !unknown)
                perr(p, m->line, m->col, "%s: no probe (expected one of tcp: HOST:PORT, exec: [...] or notify: true)",
                     r->path);
        else if (probes > 1)
                perr(p, m->line, m->col, "%s: more than one probe (expected exactly one of tcp, exec, notify)",
                     r->path);
        if (s->ready_interval_usec > s->ready_timeout_usec)
                pwarn(p, m->line, m->col, "%s: interval is longer than timeout: one probe at most", r->path);
}

static void parse_deps(struct parser *p, const struct rec *r, struct config_service *s) {
        static const char *const conds[] = { "started", "ready", "completed" };
        const struct ynode *m = r->node;
        size_t n;

        if (m->type == Y_SCALAR) {
                perr(p, m->line, m->col, "%s: expected a list of services or a mapping {service: started | ready | "
                     "completed}, got %s", r->path, type_name(m));
                return;
        }
        if (m->type == Y_MAP)
                check_duplicates(p, r->path, m, "duplicate dependency");
        n = m->type == Y_MAP ? m->n / 2 : m->n;
        if (n > CONFIG_MAX_SERVICES) {
                perr(p, m->line, m->col, "%s: more than %u dependencies", r->path, CONFIG_MAX_SERVICES);
                return;
        }
        s->deps = calloc(n + 1, sizeof *s->deps);
        if (!s->deps) {
                p->oom = -ENOMEM;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const struct ynode *k = m->type == Y_MAP ? m->kids[2 * i] : m->kids[i];
                const struct ynode *v = m->type == Y_MAP ? m->kids[2 * i + 1] : NULL;
                char kp[PATH_LEN + 16];
                int c = CONFIG_DEP_STARTED;
                char *name;

                if (m->type == Y_MAP)
                        path_join_key(kp, r->path, k->s);
                else
                        path_index(kp, sizeof kp, r->path, i);
                name = str_value(p, kp, k, "a service name");
                if (!name)
                        continue;
                if (v && v->type == Y_MAP) {
                        /* Compose's long form: {condition: ready}. */
                        const struct ynode *cv = NULL;

                        for (size_t j = 0; j + 1 < v->n; j += 2) {
                                char b[128];

                                if (strcmp(v->kids[j]->s, "condition") == 0)
                                        cv = v->kids[j + 1];
                                else
                                        perr(p, v->kids[j]->line, v->kids[j]->col, "%s: unknown key %s (expected "
                                             "condition)", kp, qv(v->kids[j], b, sizeof b));
                        }
                        if (cv) {
                                char cp[PATH_LEN + 16];

                                bsnprintf(cp, sizeof cp, "%.150s.condition", kp);
                                c = enum_value(p, cp, cv, conds, 3, "started, ready or completed");
                        }
                } else if (v && !is_null(v))
                        c = enum_value(p, kp, v, conds, 3, "started, ready or completed");
                if (c < 0) {
                        free(name);
                        continue;
                }
                s->deps[s->n_deps++] = (struct config_dep){ name, (enum config_condition)c, k->line, k->col };
        }
}

/* Apply the records (defaults overlaid by the service's own) to s.
 * is_service: false for the defaults' own check (no command needed, no env built). */
static void apply_records(struct parser *p, const struct recs *rs, struct config_service *s, bool is_service,
                          const char *svc_path) {
        const struct rec *r;
        uint64_t u;
        int i;

        /* gorral run's defaults (its position kept); a file's services
         * are watched unless they say otherwise. */
        {
                char *name = s->name;
                unsigned line = s->line, column = s->column;

                config_service_defaults(s);
                s->name = name;
                s->line = line;
                s->column = column;
                s->watch = true;
        }

        if ((r = &rs->f[F_COMMAND])->node)
                s->argv = argv_value(p, r->path, r->node);
        else if (is_service)
                perr(p, s->line, s->column, "%s: no command (expected command: [PROGRAM, ARGS...])", svc_path);
        if ((r = &rs->f[F_WORKING_DIR])->node) {
                char *v = str_value(p, r->path, r->node, "an absolute path");

                if (v && v[0] != '/') {
                        char b[128];

                        perr(p, r->node->line, r->node->col, "%s: %s is not an absolute path", r->path,
                             qv(r->node, b, sizeof b));
                        free(v);
                } else
                        s->working_dir = v;
        }
        if ((r = &rs->f[F_UMASK])->node) {
                _cleanup_free_ char *v = str_value(p, r->path, r->node, "an octal mode (e.g. \"0027\")");
                size_t n = v ? strlen(v) : 0;
                unsigned m = 0;
                bool ok = v && n >= 1 && n <= 4;

                for (size_t k = 0; ok && k < n; k++) {
                        if (v[k] < '0' || v[k] > '7')
                                ok = false;
                        else
                                m = m * 8 + (unsigned)(v[k] - '0');
                }
                if (v && (!ok || m > 0777)) {
                        char b[128];

                        perr(p, r->node->line, r->node->col, "%s: invalid umask %s (expected octal 000 to 0777, e.g. "
                             "\"0027\")", r->path, qv(r->node, b, sizeof b));
                } else if (v) {
                        s->has_umask = true;
                        s->umask = (mode_t)m;
                }
        }
        if ((r = &rs->f[F_RESTART])->node) {
                static const char *const w[] = { "no", "on-failure", "always" };

                i = enum_value(p, r->path, r->node, w, 3, "no, on-failure or always");
                if (i >= 0)
                        s->restart = service_restart_from_string(w[i]);
        }
        if ((r = &rs->f[F_BACKOFF_INITIAL])->node)
                duration_value(p, r->path, r->node, 0, SERVICE_BACKOFF_MAX_USEC, "1h", &s->backoff_initial_usec);
        if ((r = &rs->f[F_BACKOFF_MAX])->node)
                duration_value(p, r->path, r->node, 0, SERVICE_BACKOFF_MAX_USEC, "1h", &s->backoff_max_usec);
        if (s->backoff_max_usec < s->backoff_initial_usec) {
                r = rs->f[F_BACKOFF_MAX].node ? &rs->f[F_BACKOFF_MAX] : &rs->f[F_BACKOFF_INITIAL];
                if (r->node)
                        pwarn(p, r->node->line, r->node->col, "%s: backoff max is below backoff initial: "
                              "raised to initial (%llums)", r->path,
                              (unsigned long long)(s->backoff_initial_usec / 1000));
                s->backoff_max_usec = s->backoff_initial_usec;
        }
        if ((r = &rs->f[F_JITTER])->node) {
                _cleanup_free_ char *v = str_value(p, r->path, r->node, "a percentage (e.g. 20%)");
                size_t n = v ? strlen(v) : 0;

                if (v) {
                        if (n > 0 && v[n - 1] == '%')
                                v[--n] = '\0';
                        if (parse_u64(v, &u) < 0 || u > 100) {
                                char b[128];

                                perr(p, r->node->line, r->node->col, "%s: invalid jitter %s (expected a percentage "
                                     "from 0%% to 100%%, e.g. 20%%)", r->path, qv(r->node, b, sizeof b));
                        } else
                                s->jitter_pct = (unsigned)u;
                }
        }
        if ((r = &rs->f[F_BUDGET])->node && uint_value(p, r->path, r->node, 0, SERVICE_BUDGET_MAX, &u) == 0)
                s->restart_budget = (unsigned)u;
        if ((r = &rs->f[F_WINDOW])->node)
                duration_value(p, r->path, r->node, 1, MAX_WINDOW_USEC, "24h", &s->restart_window_usec);
        if ((r = &rs->f[F_START_GRACE])->node)
                duration_value(p, r->path, r->node, 0, SERVICE_BACKOFF_MAX_USEC, "1h", &s->start_grace_usec);
        if ((r = &rs->f[F_STOP_SIGNAL])->node && signal_value(p, r->path, r->node, &i) == 0) {
                if (i == SIGCHLD)
                        perr(p, r->node->line, r->node->col, "%s: SIGCHLD cannot stop a service", r->path);
                else
                        s->stop_signal = i;
        }
        if ((r = &rs->f[F_STOP_TIMEOUT])->node)
                duration_value(p, r->path, r->node, 0, SERVICE_BACKOFF_MAX_USEC, "1h", &s->stop_timeout_usec);
        if ((r = &rs->f[F_SIGNAL_GROUP])->node)
                bool_value(p, r->path, r->node, &s->group);
        if ((r = &rs->f[F_SETSID])->node)
                bool_value(p, r->path, r->node, &s->setsid);
        if ((r = &rs->f[F_PDEATHSIG])->node && signal_value(p, r->path, r->node, &i) == 0)
                s->pdeathsig = i;
        if ((r = &rs->f[F_CRITICAL])->node)
                bool_value(p, r->path, r->node, &s->critical);
        if ((r = &rs->f[F_CPU])->node) {
                _cleanup_free_ char *v = str_value(p, r->path, r->node, "a CPU count (e.g. 0.5)");
                char b[128];
                int rr;

                if (v) {
                        rr = parse_cpu(v, &u);
                        if (rr < 0 || u < 1000)
                                perr(p, r->node->line, r->node->col, "%s: invalid CPU count %s (expected more than "
                                     "0 (at least 0.01) and at most %u, e.g. 0.5, 2 or 500m)", r->path,
                                     qv(r->node, b, sizeof b), MAX_CPUS);
                        else {
                                s->has_cpu = true;
                                s->cpu_quota_us = u;
                                s->cpu_period_us = CPU_PERIOD_US;
                                if (p->ctx->host_cpus && u > (uint64_t)p->ctx->host_cpus * CPU_PERIOD_US)
                                        pwarn(p, r->node->line, r->node->col, "%s: %s CPUs is more than this host has "
                                              "(%u)", r->path, v, p->ctx->host_cpus);
                        }
                }
        }
        if ((r = &rs->f[F_MEMORY])->node && size_value(p, r->path, r->node, MIN_MEMORY, &u) == 0) {
                s->has_memory = true;
                s->memory_bytes = u;
                if (p->ctx->host_memory_bytes && u > p->ctx->host_memory_bytes)
                        pwarn(p, r->node->line, r->node->col, "%s: %llu bytes is more than this host has (%llu)",
                              r->path, (unsigned long long)u, (unsigned long long)p->ctx->host_memory_bytes);
        }
        for (int f = F_GOMAXPROCS; f <= F_GOMEMLIMIT; f++) {
                bool off;

                r = &rs->f[f];
                if (!r->node || !r->negated)
                        continue;
                if (f == F_GOMEMLIMIT && r->node == rs->f[F_GOMAXPROCS].node)
                        break; /* no_limits: one value, checked once */
                if (bool_value(p, r->path, r->node, &off) == 0) {
                        enum config_go_mode m = off ? CONFIG_GO_OFF : CONFIG_GO_AUTO;

                        if (f == F_GOMAXPROCS || r->node == rs->f[F_GOMAXPROCS].node)
                                s->gomaxprocs_mode = m;
                        if (f == F_GOMEMLIMIT || r->node == rs->f[F_GOMEMLIMIT].node)
                                s->gomemlimit_mode = m;
                }
        }
        if (!rs->f[F_GOMAXPROCS].negated && rs->f[F_GOMAXPROCS].node &&
            rs->f[F_GOMAXPROCS].node == rs->f[F_GOMEMLIMIT].node) {
                /* go: auto | off, for both. */
                static const char *const w[] = { "auto", "off" };

                r = &rs->f[F_GOMAXPROCS];
                i = enum_value(p, r->path, r->node, w, 2, "auto, off or a mapping {gomaxprocs: ..., gomemlimit: ...}");
                if (i >= 0)
                        s->gomaxprocs_mode = s->gomemlimit_mode = i == 0 ? CONFIG_GO_AUTO : CONFIG_GO_OFF;
        } else if ((r = &rs->f[F_GOMAXPROCS])->node && !r->negated) {
                _cleanup_free_ char *v = str_value(p, r->path, r->node, "auto, off or a number");

                if (v && !strcmp(v, "auto"))
                        s->gomaxprocs_mode = CONFIG_GO_AUTO;
                else if (v && !strcmp(v, "off"))
                        s->gomaxprocs_mode = CONFIG_GO_OFF;
                else if (v && parse_u64(v, &u) == 0 && u >= 1 && u <= MAX_PROCS) {
                        s->gomaxprocs_mode = CONFIG_GO_FIXED;
                        s->gomaxprocs = (unsigned)u;
                } else if (v) {
                        char b[128];

                        perr(p, r->node->line, r->node->col, "%s: invalid value %s (expected auto, off or a number "
                             "from 1 to %u)", r->path, qv(r->node, b, sizeof b), MAX_PROCS);
                }
        }
        if ((r = &rs->f[F_GOMEMLIMIT])->node && r->node != rs->f[F_GOMAXPROCS].node && !r->negated) {
                _cleanup_free_ char *v = str_value(p, r->path, r->node, "auto, off or a size");

                if (v && !strcmp(v, "auto"))
                        s->gomemlimit_mode = CONFIG_GO_AUTO;
                else if (v && !strcmp(v, "off"))
                        s->gomemlimit_mode = CONFIG_GO_OFF;
                else if (v && parse_size_bytes(v, &u) == 0 && u >= MIN_MEMORY && u <= MAX_MEMORY) {
                        s->gomemlimit_mode = CONFIG_GO_FIXED;
                        s->gomemlimit = u;
                } else if (v) {
                        char b[128];

                        perr(p, r->node->line, r->node->col, "%s: invalid value %s (expected auto, off or a size "
                             "of at least 1MiB, e.g. 200MiB)", r->path, qv(r->node, b, sizeof b));
                }
        }
        if ((r = &rs->f[F_ROUNDING])->node) {
                static const char *const w[] = { "ceil", "floor" };

                i = enum_value(p, r->path, r->node, w, 2, "ceil or floor");
                if (i >= 0)
                        s->rounding = i == 0 ? LIMITS_ROUND_CEIL : LIMITS_ROUND_FLOOR;
        }
        if ((r = &rs->f[F_MIN_PROCS])->node && uint_value(p, r->path, r->node, 1, MAX_PROCS, &u) == 0) {
                s->min_procs = (unsigned)u;
                s->min_procs_set = true;
        }
        if (!s->min_procs_set)
                s->min_procs = s->rounding == LIMITS_ROUND_FLOOR ? 1 : 2;
        if ((r = &rs->f[F_MEM_RATIO])->node) {
                _cleanup_free_ char *v = str_value(p, r->path, r->node, "a ratio (e.g. 0.9)");

                if (v && limits_parse_ratio(v, &u) < 0) {
                        char b[128];

                        perr(p, r->node->line, r->node->col, "%s: invalid ratio %s (expected more than 0 and at most "
                             "1, e.g. 0.9)", r->path, qv(r->node, b, sizeof b));
                } else if (v)
                        s->mem_ratio_ppm = u;
        }
        if ((r = &rs->f[F_CPUS])->node && uint_value(p, r->path, r->node, 1, MAX_PROCS, &u) == 0)
                s->cpus_override = (unsigned)u;
        if ((r = &rs->f[F_STRICT])->node)
                bool_value(p, r->path, r->node, &s->strict);
        if ((r = &rs->f[F_READY])->node)
                parse_ready(p, r, s);
        parse_watch(p, rs, s);
        parse_detection(p, rs, s);
        if ((r = &rs->f[F_DEPS])->node)
                parse_deps(p, r, s);

        /* Users and groups. */
        if (rs->f[F_USER].node || rs->f[F_GROUP].node) {
                const struct rec *ru = &rs->f[F_USER], *rg = &rs->f[F_GROUP];
                _cleanup_free_ char *user = NULL, *group = NULL;
                struct users_creds c;
                char err[512];
                bool ok = true;

                if (ru->node && !(user = str_value(p, ru->path, ru->node, "a user name or uid")))
                        ok = false;
                if (rg->node && !(group = str_value(p, rg->path, rg->node, "a group name or gid")))
                        ok = false;
                if (ok) {
                        users_db_load(p);
                        i = users_resolve(&p->db, p->ctx->root, user, group, &c, err, sizeof err);
                        if (i == -ENOMEM)
                                p->oom = i;
                        else if (i < 0) {
                                /* The message starts with what failed:
                                 * "user"/"uid" or "group"/"gid". */
                                const struct rec *at = err[0] == 'g' && rg->node ? rg : ru->node ? ru : rg;

                                perr(p, at->node->line, at->node->col, "%s: %s", at->path, err);
                        } else {
                                s->has_uid = c.has_uid;
                                s->uid = c.uid;
                                s->has_gid = c.has_gid;
                                s->gid = c.gid;
                                s->groups = c.groups;
                                s->n_groups = c.n_groups;
                                if (c.user_unknown_gid)
                                        pwarn(p, ru->node->line, ru->node->col, "%s: uid %s has no entry in "
                                              "/etc/passwd: it runs with gid 0 and no supplementary groups (set "
                                              "group: to choose)", ru->path, user);
                        }
                }
        }
        /* The environment is built per service only: the defaults' env
         * pieces are checked there (and reported once, deduplicated). */
        if (is_service && !p->oom)
                build_env(p, rs, &s->env);
}

/* ---- dependencies ---- */

static int svc_ptr_cmp(const void *x, const void *y) {
        return strcmp((*(const struct config_service *const *)x)->name, (*(const struct config_service *const *)y)->name);
}

/* A dependency's target by name, over the services sorted once (a scan of
 * every service for every edge, twice, was quadratic at 200 services). */
static const struct config_service *find_sorted(const struct config_service *const *by_name, size_t n,
                                                const char *name) {
        struct config_service key = { .name = (char *)name };
        const struct config_service *kp = &key, *const *hit;

        hit = bsearch(&kp, by_name, n, sizeof *by_name, svc_ptr_cmp);
        return hit ? *hit : NULL;
}

static void check_deps(struct parser *p, struct config *c) {
        size_t n = c->n_services;
        unsigned char *color = NULL;
        size_t *stack = NULL, *edge = NULL;
        const struct config_service **by_name = calloc(n + 1, sizeof *by_name);

        if (!by_name) {
                p->oom = -ENOMEM;
                return;
        }
        for (size_t i = 0; i < n; i++)
                by_name[i] = &c->services[i];
        qsort(by_name, n, sizeof *by_name, svc_ptr_cmp);
        for (size_t i = 0; i < n; i++) {
                struct config_service *s = &c->services[i];

                for (size_t j = 0; j < s->n_deps; j++) {
                        struct config_dep *d = &s->deps[j];
                        const struct config_service *t = find_sorted(by_name, n, d->name);

                        if (strcmp(d->name, s->name) == 0)
                                perr(p, d->line, d->column, "services.%s.depends_on: a service cannot depend on "
                                     "itself", s->name);
                        else if (!t)
                                perr(p, d->line, d->column, "services.%s.depends_on: unknown service \"%s\"", s->name,
                                     d->name);
                        /* ready without a probe is "alive past its start
                         * grace" (the issue's rule): not an error. */
                        else if (d->condition == CONFIG_DEP_COMPLETED && t->restart == SERVICE_RESTART_ALWAYS)
                                pwarn(p, d->line, d->column, "services.%s.depends_on.%s: condition completed, but "
                                      "\"%s\" has restart: always and never completes", s->name, d->name, d->name);
                }
        }

        /* Cycles: an iterative DFS in file order; a back edge to a node on
         * the stack names the cycle from that node. */
        color = calloc(n + 1, 1);
        stack = calloc(n + 1, sizeof *stack);
        edge = calloc(n + 1, sizeof *edge);
        if (!color || !stack || !edge) {
                p->oom = -ENOMEM;
                goto out;
        }
        for (size_t root = 0; root < n; root++) {
                size_t sp = 0;

                if (color[root])
                        continue;
                stack[sp] = root;
                edge[sp] = 0;
                color[root] = 1;
                sp = 1;
                while (sp > 0) {
                        size_t u = stack[sp - 1];
                        struct config_service *s = &c->services[u];
                        const struct config_service *t;
                        size_t v;

                        if (edge[sp - 1] >= s->n_deps) {
                                color[u] = 2;
                                sp--;
                                continue;
                        }
                        t = find_sorted(by_name, n, s->deps[edge[sp - 1]].name);
                        edge[sp - 1]++;
                        if (!t || t == s)
                                continue;
                        v = (size_t)(t - c->services);
                        if (color[v] == 1) {
                                char cyc[1024];
                                size_t o = 0, from = sp;
                                const struct config_dep *d = &s->deps[edge[sp - 1] - 1];

                                while (from > 0 && stack[from - 1] != v)
                                        from--;
                                for (size_t k = from - 1; k < sp && o < sizeof cyc - 80; k++)
                                        o += (size_t)bsnprintf(cyc + o, sizeof cyc - o, "%s -> ",
                                                              c->services[stack[k]].name);
                                bsnprintf(cyc + o, sizeof cyc - o, "%s", t->name);
                                perr(p, d->line, d->column, "services.%s.depends_on: dependency cycle %s", s->name, cyc);
                        } else if (color[v] == 0) {
                                color[v] = 1;
                                stack[sp] = v;
                                edge[sp] = 0;
                                sp++;
                        }
                }
        }
out:
        free(color);
        free(stack);
        free(edge);
        free(by_name);
}

/* ---- the top level ---- */

static bool service_name_ok(const struct ynode *k) {
        if (k->len < 1 || k->len > CONFIG_MAX_NAME)
                return false;
        for (size_t i = 0; i < k->len; i++) {
                char ch = k->s[i];

                if (!isalnum((unsigned char)ch) && ch != '_' && ch != '.' && ch != '-')
                        return false;
        }
        return true;
}

static char *path_value(struct parser *p, const char *path, const struct ynode *n, size_t max) {
        char *v = str_value(p, path, n, "a path");

        if (v && (!*v || strlen(v) > max)) {
                char b[128];

                perr(p, n->line, n->col, "%s: %s %s (expected a path of 1 to %zu bytes)", path,
                     *v ? "too long:" : "empty path", qv(n, b, sizeof b), max);
                free(v);
                return NULL;
        }
        return v;
}

/* A small mapping of scalar keys: calls fn for each known key. */
static void walk_small_map(struct parser *p, const char *path, const struct ynode *m, const char *const *names,
                           size_t nn, void (*fn)(struct parser *, struct config *, int, const char *,
                                                 const struct ynode *), struct config *c) {
        if (m->type != Y_MAP) {
                perr(p, m->line, m->col, "%s: expected a mapping, got %s", path, type_name(m));
                return;
        }
        check_duplicates(p, path, m, "duplicate key");
        for (size_t i = 0; i + 1 < m->n; i += 2) {
                const struct ynode *k = m->kids[i];
                char kp[PATH_LEN], b[128], h[96];
                size_t j;

                for (j = 0; j < nn; j++)
                        if (strcmp(k->s, names[j]) == 0)
                                break;
                if (j == nn) {
                        perr(p, k->line, k->col, "%s: unknown key %s%s", path, qv(k, b, sizeof b),
                             hint(h, sizeof h, k->s, names, nn));
                        continue;
                }
                path_join_key(kp, path, k->s);
                fn(p, c, (int)j, kp, m->kids[i + 1]);
        }
}

static void log_key(struct parser *p, struct config *c, int which, const char *path, const struct ynode *v) {
        static const char *const formats[] = { "logfmt", "json" };
        static const char *const levels[] = { "debug", "info", "warn", "error" };
        int i;

        if (which == 0) {
                i = enum_value(p, path, v, formats, 2, "logfmt or json");
                if (i >= 0)
                        c->log_format = log_format_from_string(formats[i]);
        } else {
                i = enum_value(p, path, v, levels, 4, "debug, info, warn or error");
                if (i >= 0)
                        c->log_level = log_level_from_string(levels[i]);
        }
}

static void control_key(struct parser *p, struct config *c, int which _unused_, const char *path,
                        const struct ynode *v) {
        /* sun_path holds 108 bytes with the NUL. */
        free(c->control_socket);
        c->control_socket = path_value(p, path, v, 107);
}

/* What http_server_new() takes (HOST:PORT, [V6]:PORT, :PORT, port 0 for
 * any free one), and here a unix socket's path must be absolute: a
 * relative one would depend on gorral's working directory. */
static int listen_check(const char *v, const char **reterr) {
        if (!strncmp(v, "unix:", 5) && v[5] != '/') {
                *reterr = "unix: needs an absolute path of at most 107 bytes";
                return -EINVAL;
        }
        return http_listen_check(v, reterr);
}

static void metrics_key(struct parser *p, struct config *c, int which _unused_, const char *path,
                        const struct ynode *v) {
        const char *why = NULL;
        char b[128];

        free(c->metrics_listen);
        c->metrics_listen = str_value(p, path, v, "an address (e.g. 127.0.0.1:9321, [::1]:9321, :9321)");
        if (c->metrics_listen && listen_check(c->metrics_listen, &why) < 0) {
                perr(p, v->line, v->col, "%s: invalid address %s: %s (expected HOST:PORT, e.g. 127.0.0.1:9321, "
                     "[::1]:9321 or :9321 for every address)", path, qv(v, b, sizeof b), why ? why : "malformed");
                free(c->metrics_listen);
                c->metrics_listen = NULL;
        }
}

static void output_key(struct parser *p, struct config *c, int which _unused_, const char *path,
                       const struct ynode *v) {
        bool b;

        if (bool_value(p, path, v, &b) == 0)
                c->output_prefix = b;
}

/* remap_exit: {143: 0} (exit codes) or rewrite: {TERM: QUIT} (signals). */
static void pairs_value(struct parser *p, const char *path, const struct ynode *m, bool signals,
                        struct config_pair **ret, size_t *ret_n) {
        struct config_pair *v;

        if (m->type != Y_MAP) {
                perr(p, m->line, m->col, "%s: expected a mapping {%s}, got %s", path, signals ? "FROM: TO signals, "
                     "e.g. TERM: QUIT" : "FROM: TO exit codes, e.g. 143: 0", type_name(m));
                return;
        }
        check_duplicates(p, path, m, "duplicate key");
        if (m->n / 2 > CONFIG_MAX_MAPPINGS) {
                perr(p, m->line, m->col, "%s: more than %u entries", path, CONFIG_MAX_MAPPINGS);
                return;
        }
        v = calloc(m->n / 2 + 1, sizeof *v);
        if (!v) {
                p->oom = -ENOMEM;
                return;
        }
        free(*ret); /* a duplicate key: reported, the last one kept */
        *ret = v;
        *ret_n = 0;
        for (size_t i = 0; i + 1 < m->n; i += 2) {
                const struct ynode *k = m->kids[i], *val = m->kids[i + 1], *at;
                const char *why;
                char kp[PATH_LEN];
                uint64_t a, b;
                int sa, sb;

                path_join_key(kp, path, k->s);
                if (signals) {
                        if (signal_value(p, kp, k, &sa) < 0)
                                continue;
                        if (val->type == Y_SCALAR && val->plain && !strcmp(val->s, "0"))
                                sb = 0; /* drop */
                        else if (signal_value(p, kp, val, &sb) < 0)
                                continue;
                        /* The command line's --rewrite rule, reported at
                         * the side at fault (TO 0 is always fine). */
                        why = signals_rewrite_refusal(sa, 0);
                        at = why ? k : val;
                        if (why || (why = signals_rewrite_refusal(sa, sb))) {
                                perr(p, at->line, at->col, "%s: %s", kp, why);
                                continue;
                        }
                        v[(*ret_n)++] = (struct config_pair){ sa, sb };
                } else {
                        if (uint_value(p, kp, k, 0, 255, &a) < 0 || uint_value(p, kp, val, 0, 255, &b) < 0)
                                continue;
                        v[(*ret_n)++] = (struct config_pair){ (int)a, (int)b };
                }
        }
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->control_socket);
        free(c->metrics_listen);
        free(c->state_dir);
        free(c->remap_exit);
        free(c->rewrite);
        for (size_t i = 0; i < c->n_sinks; i++)
                sink_done(&c->sinks[i]);
        free(c->sinks);
        for (size_t i = 0; i < c->n_services; i++)
                config_service_done(&c->services[i]);
        free(c->services);
        free(c);
        return NULL;
}

const struct config_service *config_find_service(const struct config *c, const char *name) {
        for (size_t i = 0; i < c->n_services; i++)
                if (strcmp(c->services[i].name, name) == 0)
                        return &c->services[i];
        return NULL;
}

static void walk_top(struct parser *p, const struct ynode *root, struct config *c) {
        static const char *const top[] = { "log", "control", "state_dir", "output", "defaults", "services",
                                           "drain_delay", "remap_exit", "rewrite", "log_format", "log_level",
                                           "metrics", "alerts" };
        static const char *const metrics_names[] = { "listen" };
        static const char *const log_names[] = { "format", "level" };
        static const char *const control_names[] = { "socket" };
        static const char *const output_names[] = { "prefix" };
        const struct ynode *defaults = NULL, *services = NULL, *services_key = NULL;
        _cleanup_free_ bool *later = NULL; /* services: pairs that repeat a name */
        struct recs drec;
        bool seen[_F_MAX], seen_format = false, seen_level = false;

        if (root->type != Y_MAP) {
                perr(p, root->line, root->col, "expected a mapping at the top level (log, services, ...), got %s",
                     type_name(root));
                return;
        }
        check_duplicates(p, "", root, "duplicate key");
        /* alerts: first, wherever it is written: the services' actions
         * name its destinations. */
        for (size_t i = 0; i + 1 < root->n; i += 2)
                if (!strcmp(root->kids[i]->s, "alerts") && !c->sinks)
                        parse_alerts(p, root->kids[i + 1], c);
        for (size_t i = 0; i + 1 < root->n; i += 2) {
                const struct ynode *k = root->kids[i], *v = root->kids[i + 1];
                char b[128], h[96];
                size_t j;

                if (is_extension_key(k))
                        continue;
                for (j = 0; j < ELEMENTSOF(top); j++)
                        if (strcmp(k->s, top[j]) == 0)
                                break;
                switch (j) {
                case 0:
                        walk_small_map(p, "log", v, log_names, 2, log_key, c);
                        if (v->type == Y_MAP)
                                for (size_t q = 0; q + 1 < v->n; q += 2) {
                                        seen_format |= !strcmp(v->kids[q]->s, "format");
                                        seen_level |= !strcmp(v->kids[q]->s, "level");
                                }
                        break;
                case 1: walk_small_map(p, "control", v, control_names, 1, control_key, c); break;
                case 2: free(c->state_dir); c->state_dir = path_value(p, "state_dir", v, PATH_MAX - 1); break;
                case 3: walk_small_map(p, "output", v, output_names, 1, output_key, c); break;
                case 4: defaults = v; break;
                case 5: services = v; services_key = k; break;
                case 6:
                        duration_value(p, "drain_delay", v, 0, SERVICE_BACKOFF_MAX_USEC, "1h", &c->drain_delay_usec);
                        break;
                case 7: pairs_value(p, "remap_exit", v, false, &c->remap_exit, &c->n_remap_exit); break;
                case 8: pairs_value(p, "rewrite", v, true, &c->rewrite, &c->n_rewrite); break;
                case 11: walk_small_map(p, "metrics", v, metrics_names, 1, metrics_key, c); break;
                case 12: break; /* alerts: read above */
                case 9:
                case 10:
                        /* gorral run's --log-format/--log-level spelling. */
                        if ((j == 9 ? c->log_format : c->log_level) >= 0 || (j == 9 ? seen_format : seen_level))
                                perr(p, k->line, k->col, "%s: given twice (also as log.%s)", top[j],
                                     j == 9 ? "format" : "level");
                        else
                                log_key(p, c, (int)j - 9, top[j], v);
                        break;
                default:
                        perr(p, k->line, k->col, "unknown top-level key %s%s (keys starting with x- are ignored)",
                             qv(k, b, sizeof b), hint(h, sizeof h, k->s, top, ELEMENTSOF(top)));
                }
        }

        memset(&drec, 0, sizeof drec);
        if (defaults) {
                struct config_service ds = { .name = NULL, .line = defaults->line, .column = defaults->col };

                memset(seen, 0, sizeof seen);
                if (defaults->type != Y_MAP)
                        perr(p, defaults->line, defaults->col, "defaults: expected a mapping, got %s",
                             type_name(defaults));
                else {
                        sort_into(p, "defaults", defaults, service_keys, ELEMENTSOF(service_keys), &drec, seen, true);
                        /* Check the defaults once on their own, so their
                         * errors come first and once. */
                        apply_records(p, &drec, &ds, false, "defaults");
                }
                config_service_done(&ds);
        }

        if (!services || is_null(services)) {
                /* At the key when it is there and empty, else where the
                 * top-level mapping starts. */
                perr(p, services_key ? services_key->line : root->line, services_key ? services_key->col : root->col,
                     "services: no services defined (expected services: {NAME: {command: [...]}})");
                return;
        }
        if (services->type != Y_MAP) {
                perr(p, services->line, services->col, "services: expected a mapping of service names, got %s",
                     type_name(services));
                return;
        }
        later = calloc(services->n_explicit / 2 + 1, sizeof *later);
        if (!later) {
                p->oom = -ENOMEM;
                return;
        }
        find_duplicates(p, "services", services, "duplicate service name", later);
        c->services = calloc(services->n / 2 < CONFIG_MAX_SERVICES ? services->n / 2 + 1 : CONFIG_MAX_SERVICES + 1,
                             sizeof *c->services);
        if (!c->services) {
                p->oom = -ENOMEM;
                return;
        }
        for (size_t i = 0; i + 1 < services->n && !p->oom; i += 2) {
                const struct ynode *k = services->kids[i], *v = services->kids[i + 1];
                char sp[PATH_LEN], b[128];
                struct recs rs = drec;
                struct config_service *s;

                if (is_extension_key(k))
                        continue;
                if (!service_name_ok(k)) {
                        perr(p, k->line, k->col, "services: invalid service name %s (expected 1 to %u of "
                             "A-Z a-z 0-9 _ . -)", qv(k, b, sizeof b), CONFIG_MAX_NAME);
                        continue;
                }
                if (i / 2 < services->n_explicit / 2 && later[i / 2])
                        continue; /* reported by find_duplicates */
                if (c->n_services >= CONFIG_MAX_SERVICES) {
                        perr(p, k->line, k->col, "services: more than %u services", CONFIG_MAX_SERVICES);
                        break;
                }
                bsnprintf(sp, sizeof sp, "services.%s", k->s);
                if (v->type != Y_MAP) {
                        perr(p, v->line, v->col, "%s: expected a mapping (command: [...], ...), got %s", sp,
                             type_name(v));
                        continue;
                }
                s = &c->services[c->n_services++];
                s->name = strdup(k->s);
                if (!s->name) {
                        p->oom = -ENOMEM;
                        break;
                }
                s->line = k->line;
                s->column = k->col;
                memset(seen, 0, sizeof seen);
                sort_into(p, sp, v, service_keys, ELEMENTSOF(service_keys), &rs, seen, false);
                apply_records(p, &rs, s, true, sp);
        }
        if (!p->oom)
                check_deps(p, c);
}

/* Diagnostics in reading order: by file (in order of first appearance),
 * then line and column; the order found breaks ties. */
struct diag_order {
        struct config_diag d;
        size_t file_rank, idx;
};

static int diag_order_cmp(const void *x, const void *y) {
        const struct diag_order *a = x, *b = y;

        if (a->file_rank != b->file_rank)
                return a->file_rank < b->file_rank ? -1 : 1;
        if (a->d.line != b->d.line)
                return a->d.line < b->d.line ? -1 : 1;
        if (a->d.column != b->d.column)
                return a->d.column < b->d.column ? -1 : 1;
        return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static void diags_sort(struct config_diags *d, size_t from) {
        size_t n = d->n - from;
        struct diag_order *o;

        if (n < 2 || !(o = malloc(n * sizeof *o)))
                return;
        for (size_t i = 0; i < n; i++) {
                size_t rank = i;

                for (size_t j = 0; j < i; j++)
                        if (strcmp(d->v[from + j].file, d->v[from + i].file) == 0) {
                                rank = o[j].file_rank;
                                break;
                        }
                o[i] = (struct diag_order){ d->v[from + i], rank, i };
                /* "too many errors" stays last. */
                if (d->v[from + i].line == 0 && i == n - 1 && d->n > CONFIG_MAX_DIAGS)
                        o[i].file_rank = SIZE_MAX;
        }
        qsort(o, n, sizeof *o, diag_order_cmp);
        for (size_t i = 0; i < n; i++)
                d->v[from + i] = o[i].d;
        free(o);
}

int config_parse(const char *buf, size_t n, const char *filename, const struct config_context *ctx,
                 struct config **ret, struct config_diags *diags) {
        static const struct config_context empty_ctx = { 0 };
        struct parser p = { .file = filename ? filename : "<config>", .ctx = ctx ? ctx : &empty_ctx, .diags = diags,
                             .environ_unique = -1 };
        struct ynode *root = NULL;
        struct config *c = NULL;
        size_t errors_before = diags->n_errors, diags_before = diags->n;
        const char *slash;
        int r;

        slash = strrchr(p.file, '/');
        if (slash && !(p.dir = strndup(p.file, slash == p.file ? 1 : (size_t)(slash - p.file))))
                return -ENOMEM;
        if (n > CONFIG_MAX_FILE_BYTES) {
                perr(&p, 0, 0, "the file is larger than 1 MiB");
                r = -EINVAL;
                goto out;
        }
        r = build_tree(&p, buf, n, &root);
        if (r < 0)
                goto out;
        if (!root || is_null(root)) {
                perr(&p, 1, 1, "empty configuration (expected a mapping with services:)");
                r = -EINVAL;
                goto out;
        }
        c = calloc(1, sizeof *c);
        if (!c || !(c->path = strdup(p.file))) {
                r = -ENOMEM;
                goto out;
        }
        c->log_format = c->log_level = -1;
        c->output_prefix = false; /* output passes through untouched unless asked */
        walk_top(&p, root, c);
        r = p.oom ? p.oom : diags->n_errors > errors_before ? -EINVAL : 0;
out:
        if (r == 0) {
                *ret = c;
                c = NULL;
        }
        if (p.oom)
                r = -ENOMEM;
        diags_sort(diags, diags_before);
        config_free(c);
        arena_free(&p);
        free(p.passwd);
        free(p.group);
        for (size_t i = 0; i < p.n_ef; i++) {
                free(p.ef[i].path);
                strv_free(p.ef[i].vars);
        }
        free(p.ef);
        free(p.dir);
        return r;
}

int config_load(const char *path, const struct config_context *ctx, struct config **ret,
                struct config_diags *diags) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        if (ctx && ctx->read_file)
                r = ctx->read_file(ctx->read_userdata, path, CONFIG_MAX_FILE_BYTES, &buf, &len);
        else
                r = default_read(NULL, path, CONFIG_MAX_FILE_BYTES, &buf, &len);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                int k = diag_add(diags, path, 0, 0, "cannot read the configuration: %s", err_text(r));

                return k < 0 ? k : -EINVAL;
        }
        return config_parse(buf, len, path, ctx, ret, diags);
}

/* ---- reload ---- */

static bool str_eq(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int config_service_equal(const struct config_service *a, const struct config_service *b,
                         bool *ret_only_restart_policy) {
        bool policy = a->restart != b->restart || a->backoff_initial_usec != b->backoff_initial_usec ||
                      a->backoff_max_usec != b->backoff_max_usec || a->jitter_pct != b->jitter_pct ||
                      a->restart_budget != b->restart_budget || a->restart_window_usec != b->restart_window_usec ||
                      a->start_grace_usec != b->start_grace_usec;
        bool other = !str_eq(a->name, b->name) || !strv_eq(a->argv, b->argv) || !strv_eq(a->env, b->env) ||
                     !str_eq(a->working_dir, b->working_dir) || a->has_uid != b->has_uid ||
                     (a->has_uid && a->uid != b->uid) || a->has_gid != b->has_gid || (a->has_gid && a->gid != b->gid) ||
                     a->n_groups != b->n_groups ||
                     (a->n_groups && memcmp(a->groups, b->groups, a->n_groups * sizeof *a->groups) != 0) ||
                     a->has_umask != b->has_umask || (a->has_umask && a->umask != b->umask) ||
                     a->stop_signal != b->stop_signal || a->stop_timeout_usec != b->stop_timeout_usec ||
                     a->group != b->group || a->setsid != b->setsid || a->pdeathsig != b->pdeathsig ||
                     a->watchdog_usec != b->watchdog_usec ||
                     a->critical != b->critical || a->has_cpu != b->has_cpu ||
                     (a->has_cpu && (a->cpu_quota_us != b->cpu_quota_us || a->cpu_period_us != b->cpu_period_us)) ||
                     a->has_memory != b->has_memory || (a->has_memory && a->memory_bytes != b->memory_bytes) ||
                     a->gomaxprocs_mode != b->gomaxprocs_mode || a->gomaxprocs != b->gomaxprocs ||
                     a->gomemlimit_mode != b->gomemlimit_mode || a->gomemlimit != b->gomemlimit ||
                     a->rounding != b->rounding || a->min_procs != b->min_procs ||
                     a->min_procs_set != b->min_procs_set || a->mem_ratio_ppm != b->mem_ratio_ppm ||
                     a->cpus_override != b->cpus_override || a->strict != b->strict ||
                     a->ready != b->ready || !str_eq(a->ready_tcp, b->ready_tcp) ||
                     !strv_eq(a->ready_exec, b->ready_exec) || a->ready_interval_usec != b->ready_interval_usec ||
                     a->ready_timeout_usec != b->ready_timeout_usec || a->n_deps != b->n_deps ||
                     /* Watching: the trace settings are in the child's
                      * GODEBUG, so any change restarts (simple, and said
                      * in config/gorral.yaml). */
                     a->watch != b->watch || a->sample_interval_usec != b->sample_interval_usec ||
                     !str_eq(a->metrics_url, b->metrics_url) || !str_eq(a->pprof_url, b->pprof_url) ||
                     !str_eq(a->scrape_socket, b->scrape_socket) || a->schedtrace_usec != b->schedtrace_usec ||
                     a->gctrace != b->gctrace || a->trace_passthrough != b->trace_passthrough;
        /* Detection applies in place (the detectors start over). */
        policy = policy || memcmp(&a->detect, &b->detect, sizeof a->detect) != 0 ||
                 memcmp(a->actions, b->actions, sizeof a->actions) != 0 || a->dump_sigquit != b->dump_sigquit ||
                 a->dump_keep != b->dump_keep;

        for (size_t i = 0; !other && i < a->n_deps; i++)
                if (!str_eq(a->deps[i].name, b->deps[i].name) || a->deps[i].condition != b->deps[i].condition)
                        other = true;
        if (ret_only_restart_policy)
                *ret_only_restart_policy = policy && !other;
        return !policy && !other;
}
