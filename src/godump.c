/* godump.c: goroutine dumps and count profiles, grouped by stack. The map
 * is in godump.h; the shapes below are the ones runtime/traceback.go
 * (goroutineheader, traceback2, printcreatedby) and runtime/pprof
 * (printCountProfile) print. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/godump.h"
#include "gorral/json.h"
#include "gorral/util.h"

#define REASON_MAX 512          /* bytes of the panic/fatal error line kept */
#define TABLE_SIZE 8192         /* hash slots: a power of two, twice GODUMP_MAX_GROUPS */

/* A frame of the goroutine being read: spans of the input, not copies. */
struct span_frame {
        const char *func, *file;
        size_t func_len, file_len;
        uint32_t line;
};

enum want {
        WANT_NOTHING,
        WANT_FRAME_FILE,        /* a function line was read: its "\tFILE:LINE" comes next */
        WANT_CREATOR_FILE,
};

/* The goroutine (or count profile record) being read. */
struct pending {
        bool active;
        uint64_t count;         /* 1 per traceback block, COUNT for a record */
        uint64_t id;
        bool has_id;
        const char *state;
        size_t state_len;
        uint64_t wait_minutes;
        bool locked;
        const char *labels;     /* raw text inside the braces, as printed */
        size_t labels_len;
        bool has_labels;
        struct span_frame frames[GODUMP_MAX_FRAMES];
        size_t n_frames;
        bool elided, unavailable;
        struct span_frame creator;
        bool has_creator;
        enum want want;
};

enum mode {
        MODE_TOP,               /* between goroutines: signal, registers, panic lines */
        MODE_GOROUTINE,
        MODE_SYSTEM_STACK,      /* "runtime stack:" frames, not a goroutine's */
        MODE_RECORD,            /* a count profile record */
};

struct parser {
        struct godump *d;
        size_t cap_groups;
        char **labels_raw;      /* per group: its members' raw labels text while they agree */
        uint32_t *table;        /* group index + 1; 0 empty */
        struct pending g;
        enum mode mode;
        uint64_t blocks;        /* goroutine headers seen */
        uint64_t records;       /* count profile records seen */

        /* One dump, one form: the first goroutine header or count
         * profile line decides, and lines of the other form are then
         * unknown lines (a record's goroutines have no state, so mixing
         * them into a traceback's groups would make a count of states
         * that is not the group's). */
        int form;               /* 0 undecided, else GODUMP_<FORMAT> + 1 */
        int error;              /* first -ENOMEM */
};

static bool has_prefix_n(const char *s, size_t n, const char *p) {
        size_t l = strlen(p);

        return n >= l && memcmp(s, p, l) == 0;
}

static bool is_hex(char c) { return hex_digit(c) >= 0; }

/* Decimal digits at s[0..n) from *i, no overflow: true with *ret. */
static bool take_u64(const char *s, size_t n, size_t *i, uint64_t *ret) {
        uint64_t v = 0;
        size_t j = *i;

        if (j >= n || !is_digit(s[j]))
                return false;
        for (; j < n && is_digit(s[j]); j++) {
                if (v > (UINT64_MAX - (uint64_t)(s[j] - '0')) / 10)
                        return false;
                v = v * 10 + (uint64_t)(s[j] - '0');
        }
        *i = j;
        *ret = v;
        return true;
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* FNV-1a, with a separator so ("ab","c") and ("a","bc") differ. */
static uint64_t hash_bytes(uint64_t h, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char)s[i];
                h *= 0x100000001b3ULL;
        }
        h ^= 0xff;
        return h * 0x100000001b3ULL;
}

static uint64_t hash_frame(uint64_t h, const struct span_frame *f) {
        h = hash_bytes(h, f->func, f->func_len);
        h = hash_bytes(h, f->file ? f->file : "", f->file_len);
        return hash_bytes(h, (const char *)&f->line, sizeof f->line);
}

static bool frame_equal(const struct godump_frame *a, const struct span_frame *b) {
        size_t al = a->func ? strlen(a->func) : 0, fl = a->file ? strlen(a->file) : 0;

        if (!a->func != !b->func || al != b->func_len || (al && memcmp(a->func, b->func, al) != 0))
                return false;
        if (!a->file != !b->file || fl != b->file_len || (fl && memcmp(a->file, b->file, fl) != 0))
                return false;
        return a->line == b->line;
}

static int frame_copy(struct godump_frame *dst, const struct span_frame *src) {
        dst->func = strndup(src->func ? src->func : "", src->func_len);
        dst->file = src->file ? strndup(src->file, src->file_len) : NULL;
        dst->line = src->line;
        if (!dst->func || (src->file && !dst->file))
                return -ENOMEM;
        return 0;
}

static void group_done(struct godump_group *g) {
        for (size_t i = 0; i < g->n_frames; i++) {
                free(g->frames[i].func);
                free(g->frames[i].file);
        }
        free(g->frames);
        for (size_t i = 0; i < g->n_states; i++)
                free(g->states[i].name);
        free(g->states);
        for (size_t i = 0; i < g->n_labels; i++) {
                free(g->labels[i].key);
                free(g->labels[i].value);
        }
        free(g->labels);
        free(g->creator.func);
        free(g->creator.file);
}

struct godump *godump_free(struct godump *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_groups; i++)
                group_done(&d->groups[i]);
        free(d->groups);
        free(d->profile);
        free(d->reason);
        free(d);
        return NULL;
}

/* Append the UTF-8 form of code point c to out (room checked by caller). */
static size_t put_utf8(char *out, uint32_t c) {
        if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                c = 0xfffd;
        if (c < 0x80) {
                out[0] = (char)c;
                return 1;
        }
        if (c < 0x800) {
                out[0] = (char)(0xc0 | (c >> 6));
                out[1] = (char)(0x80 | (c & 0x3f));
                return 2;
        }
        if (c < 0x10000) {
                out[0] = (char)(0xe0 | (c >> 12));
                out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
                out[2] = (char)(0x80 | (c & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | (c >> 18));
        out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[3] = (char)(0x80 | (c & 0x3f));
        return 4;
}

/* A Go-quoted string at s[*i] ('"' there): runtime.printquoted's escapes
 * (\n \r \t \\ \" \xHH \uHHHH \UHHHHHHHH) and strconv.Quote's (\a \b \f
 * \v, octal). A NUL decoded from the input becomes U+FFFD: the results
 * are C strings. Returns 0 with *ret malloc'd, -EBADMSG when unterminated. */
static int take_quoted(const char *s, size_t n, size_t *i, char **ret) {
        size_t j = *i + 1, o = 0;
        _cleanup_free_ char *out = NULL;

        if (*i >= n || s[*i] != '"')
                return -EBADMSG;
        /* At most 3 bytes out per byte in: an escape decodes to no more
         * than it takes (\xHH: 1 of 4, \uHHHH: 3 of 6, \UHHHHHHHH: 4 of
         * 10), but a raw NUL or a \0 becomes U+FFFD (3 of 1, 3 of 2). */
        {
                size_t e = j;

                while (e < n && s[e] != '"')
                        e += s[e] == '\\' ? 2 : 1;
                if (e >= n)
                        return -EBADMSG;
                out = malloc((e - j) * 3 + 4);
                if (!out)
                        return -ENOMEM;
                n = e + 1;      /* nothing past the closing quote is read */
        }
        while (j < n && s[j] != '"') {
                char c = s[j++];
                unsigned digits = 0;
                uint32_t v = 0;

                if (c != '\\') {
                        if (c == '\0')
                                o += put_utf8(out + o, 0xfffd);
                        else
                                out[o++] = c;
                        continue;
                }
                if (j >= n)
                        return -EBADMSG;
                c = s[j++];
                switch (c) {
                case 'n': out[o++] = '\n'; continue;
                case 'r': out[o++] = '\r'; continue;
                case 't': out[o++] = '\t'; continue;
                case 'a': out[o++] = '\a'; continue;
                case 'b': out[o++] = '\b'; continue;
                case 'f': out[o++] = '\f'; continue;
                case 'v': out[o++] = '\v'; continue;
                case 'x': digits = 2; break;
                case 'u': digits = 4; break;
                case 'U': digits = 8; break;
                default:
                        if (c >= '0' && c <= '7') {
                                v = (uint32_t)(c - '0');
                                for (unsigned k = 0; k < 2 && j < n && s[j] >= '0' && s[j] <= '7'; k++)
                                        v = v * 8 + (uint32_t)(s[j++] - '0');
                                out[o++] = v ? (char)v : '?';
                                continue;
                        }
                        out[o++] = c == '\0' ? '?' : c;   /* \\ \" and anything unknown: the char */
                        continue;
                }
                for (unsigned k = 0; k < digits; k++, j++) {
                        int h = j < n ? hex_digit(s[j]) : -1;

                        if (h < 0)
                                return -EBADMSG;
                        v = v * 16 + (uint32_t)h;
                }
                if (digits == 2)
                        out[o++] = v ? (char)v : '?';   /* a byte, as Go's \x is */
                else
                        o += put_utf8(out + o, v ? v : 0xfffd);
        }
        if (j >= n)
                return -EBADMSG;
        out[o] = '\0';
        *i = j + 1;
        *ret = realloc(out, o + 1) ?: out;
        out = NULL;
        return 0;
}

/* Go 1.27's traceback prints a key or value bare when it holds only these
 * (runtime.tracebackStringNeedsQuoting), quoted otherwise. */
static bool bare_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == '/' || c == '_';
}

/* A quoted string, or (Go 1.27's traceback) a bare one of bare_char()s. */
static int take_label_string(const char *s, size_t n, size_t *i, char **ret) {
        size_t j = *i;

        if (j < n && s[j] == '"')
                return take_quoted(s, n, i, ret);
        while (j < n && bare_char(s[j]))
                j++;
        if (j == *i)
                return -EBADMSG;
        *ret = strndup(s + *i, j - *i);
        if (!*ret)
                return -ENOMEM;
        *i = j;
        return 0;
}

/* Labels text (between the braces): "k": "v", "k2": "v2" (traceback up to
 * Go 1.26), k: v, k2: "v 2" (Go 1.27's traceback: quoted only where
 * needed) or "k":"v", "k2":"v2" (count profile). Decoded into the group;
 * on a malformed text the group simply has no labels. */
static int labels_decode(const char *s, size_t n, struct godump_label **ret, size_t *ret_n) {
        struct godump_label *l = NULL;
        size_t nl = 0, cap = 0, i = 0;
        int r = 0;

        while (i < n) {
                char *k = NULL, *v = NULL;

                while (i < n && (s[i] == ' ' || s[i] == ','))
                        i++;
                if (i >= n)
                        break;
                r = take_label_string(s, n, &i, &k);
                if (r < 0)
                        goto fail;
                while (i < n && s[i] == ' ')
                        i++;
                if (i >= n || s[i] != ':') {
                        free(k);
                        r = -EBADMSG;
                        goto fail;
                }
                i++;
                while (i < n && s[i] == ' ')
                        i++;
                r = take_label_string(s, n, &i, &v);
                if (r < 0) {
                        free(k);
                        goto fail;
                }
                r = GROW_ARRAY(l, cap, nl + 1, GODUMP_MAX_LABELS);
                if (r < 0) {
                        free(k);
                        free(v);
                        if (r == -ENOSPC) {     /* keep the first GODUMP_MAX_LABELS */
                                r = 0;
                                break;
                        }
                        goto fail;
                }
                l[nl].key = k;
                l[nl++].value = v;
        }
        *ret = l;
        *ret_n = nl;
        return 0;
fail:
        for (size_t j = 0; j < nl; j++) {
                free(l[j].key);
                free(l[j].value);
        }
        free(l);
        return r;
}

static void state_add(struct godump_group *g, const char *s, size_t n, uint64_t count) {
        for (size_t i = 0; i < g->n_states; i++)
                if (strlen(g->states[i].name) == n && memcmp(g->states[i].name, s, n) == 0) {
                        g->states[i].count = sat_add(g->states[i].count, count);
                        return;
                }
        if (g->n_states < GODUMP_MAX_STATES) {
                char *name = strndup(s, n);
                struct godump_state *ns;

                if (name) {
                        ns = realloc(g->states, (g->n_states + 1) * sizeof *ns);
                        if (ns) {
                                g->states = ns;
                                ns[g->n_states].name = name;
                                ns[g->n_states++].count = count;
                                return;
                        }
                        free(name);
                }
        }
        g->states_other = sat_add(g->states_other, count);
}

static uint64_t pending_hash(const struct pending *p) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < p->n_frames; i++)
                h = hash_frame(h, &p->frames[i]);
        h = hash_bytes(h, "|", 1);
        if (p->has_creator)
                h = hash_frame(h, &p->creator);
        return h;
}

static bool group_matches(const struct godump_group *g, const struct pending *p, uint64_t h) {
        if (g->hash != h || g->n_frames != p->n_frames || !g->creator.func != !p->has_creator)
                return false;
        for (size_t i = 0; i < p->n_frames; i++)
                if (!frame_equal(&g->frames[i], &p->frames[i]))
                        return false;
        return !p->has_creator || frame_equal(&g->creator, &p->creator);
}

/* A new group for p at index d->n_groups; -ENOMEM leaves no group. */
static int group_new(struct parser *ps, const struct pending *p, uint64_t h) {
        struct godump *d = ps->d;
        struct godump_group *g;
        int r;

        r = GROW_ARRAY(d->groups, ps->cap_groups, d->n_groups + 1, GODUMP_MAX_GROUPS);
        if (r < 0)
                return r;
        if (ps->cap_groups > 0) {
                char **nl = realloc(ps->labels_raw, ps->cap_groups * sizeof *nl);

                if (!nl)
                        return -ENOMEM;
                ps->labels_raw = nl;
        }
        g = &d->groups[d->n_groups];
        *g = (struct godump_group){ .hash = h };
        ps->labels_raw[d->n_groups] = NULL;
        if (p->n_frames > 0) {
                g->frames = calloc(p->n_frames, sizeof *g->frames);
                if (!g->frames)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < p->n_frames; i++) {
                r = frame_copy(&g->frames[i], &p->frames[i]);
                g->n_frames = i + 1;
                if (r < 0)
                        goto fail;
        }
        if (p->has_creator) {
                r = frame_copy(&g->creator, &p->creator);
                if (r < 0)
                        goto fail;
        }
        if (p->has_labels) {
                ps->labels_raw[d->n_groups] = strndup(p->labels, p->labels_len);
                if (!ps->labels_raw[d->n_groups]) {
                        r = -ENOMEM;
                        goto fail;
                }
                r = labels_decode(p->labels, p->labels_len, &g->labels, &g->n_labels);
                if (r == -ENOMEM)
                        goto fail;
        }
        d->n_groups++;
        return 0;
fail:
        free(ps->labels_raw[d->n_groups]);
        ps->labels_raw[d->n_groups] = NULL;
        group_done(g);
        return r;
}

/* The pending goroutine or record joins its group. */
static void pending_finish(struct parser *ps) {
        struct pending *p = &ps->g;
        struct godump *d = ps->d;
        struct godump_group *g = NULL;
        uint64_t h;
        size_t slot;

        if (!p->active)
                return;
        p->active = false;
        d->goroutines = sat_add(d->goroutines, p->count);
        h = pending_hash(p);
        for (slot = h & (TABLE_SIZE - 1); ps->table[slot]; slot = (slot + 1) & (TABLE_SIZE - 1))
                if (group_matches(&d->groups[ps->table[slot] - 1], p, h)) {
                        g = &d->groups[ps->table[slot] - 1];
                        break;
                }
        if (!g) {
                int r = d->n_groups < GODUMP_MAX_GROUPS ? group_new(ps, p, h) : -ENOSPC;

                if (r < 0) {
                        if (r == -ENOMEM && !ps->error)
                                ps->error = r;
                        d->other_goroutines = sat_add(d->other_goroutines, p->count);
                        return;
                }
                ps->table[slot] = (uint32_t)d->n_groups;
                g = &d->groups[d->n_groups - 1];
        } else if (!g->labels_mixed) {
                char *raw = ps->labels_raw[g - d->groups];
                bool same = p->has_labels ? raw && strlen(raw) == p->labels_len &&
                                                    memcmp(raw, p->labels, p->labels_len) == 0
                                          : !raw;

                if (!same) {
                        g->labels_mixed = true;
                        for (size_t i = 0; i < g->n_labels; i++) {
                                free(g->labels[i].key);
                                free(g->labels[i].value);
                        }
                        free(g->labels);
                        g->labels = NULL;
                        g->n_labels = 0;
                }
        }
        g->count = sat_add(g->count, p->count);
        if (p->state)
                state_add(g, p->state, p->state_len, p->count);
        if (p->wait_minutes > g->max_wait_minutes)
                g->max_wait_minutes = p->wait_minutes;
        if (p->locked)
                g->n_locked = sat_add(g->n_locked, p->count);
        g->elided |= p->elided;
        g->stack_unavailable |= p->unavailable;
        if (p->has_id && g->n_ids < GODUMP_EXAMPLE_IDS)
                g->ids[g->n_ids++] = p->id;
}

static void pending_start(struct parser *ps, uint64_t count) {
        ps->g = (struct pending){ .active = true, .count = count };
}

/* "FILE:LINE[ +0xOFF][ fp=.. sp=.. pc=..]" after the tab: the line number
 * follows the last colon (Windows paths have a drive colon). */
static void parse_file_line(const char *s, size_t n, struct span_frame *f) {
        size_t end = n, colon;
        const char *p;

        for (size_t i = 0; i + 1 < n; i++)
                if (s[i] == ' ' && (s[i + 1] == '+' || has_prefix_n(s + i + 1, n - i - 1, "fp=") ||
                                    has_prefix_n(s + i + 1, n - i - 1, "pc="))) {
                        end = i;
                        break;
                }
        while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t'))
                end--;
        p = memrchr(s, ':', end);
        f->file = s;
        f->file_len = end;
        f->line = 0;
        if (p) {
                size_t i = (size_t)(p - s) + 1;
                uint64_t v;

                colon = (size_t)(p - s);
                if (take_u64(s, end, &i, &v) && i == end && v <= UINT32_MAX) {
                        f->file_len = colon;
                        f->line = (uint32_t)v;
                }
        }
}

/* "func(args)" -> "func": the parenthesis that balances the final ')'. */
static bool parse_func_line(const char *s, size_t n, struct span_frame *f) {
        size_t depth = 0, i;

        if (n < 3 || s[n - 1] != ')')
                return false;
        for (i = n; i > 0; i--) {
                if (s[i - 1] == ')')
                        depth++;
                else if (s[i - 1] == '(' && --depth == 0)
                        break;
        }
        if (i <= 1)
                return false;
        for (size_t j = 0; j < i - 1; j++)
                if (s[j] == ' ' || s[j] == '\t')
                        return false;
        *f = (struct span_frame){ .func = s, .func_len = i - 1 };
        return true;
}

/* "goroutine ID[ gp=0x.. m=N mp=0x..| m=nil] [STATE(, ...)*( labels:{...})?]:"
 * up to Go 1.26, and "... [STATE(, ...)*]( {k: v, ...})?:" from Go 1.27. */
static bool parse_header(struct parser *ps, const char *s, size_t n) {
        struct pending *p = &ps->g;
        size_t i = strlen("goroutine "), open, close;
        uint64_t id;
        const char *lab;

        if (!has_prefix_n(s, n, "goroutine ") || !take_u64(s, n, &i, &id))
                return false;
        if (n < 2 || s[n - 1] != ':' || (s[n - 2] != ']' && s[n - 2] != '}'))
                return false;
        /* The state opens at the first " [" after the id: gp=/m=/mp= hold
         * no brackets, and labels come after it. */
        {
                const char *b = memmem(s + i, n - i, " [", 2);

                if (!b)
                        return false;
                open = (size_t)(b - s) + 2;
        }
        for (size_t j = i; j + 2 < open; j++)
                if (s[j] == '[' || s[j] == ']')
                        return false;
        if (s[n - 2] == ']') {
                close = n - 2;
                lab = NULL;
        } else {
                /* Go 1.27: the labels follow the state. No wait reason
                 * holds a ']', so the first one closes the state; the
                 * labels (which may quote any text) run from its " {" to
                 * the final '}'. */
                const char *b = memchr(s + open, ']', n - open);

                if (!b || (size_t)(b - s) + 3 > n - 2 || b[1] != ' ' || b[2] != '{')
                        return false;
                close = (size_t)(b - s);
                lab = b + 3;
        }
        pending_start(ps, 1);
        p->id = id;
        p->has_id = true;
        if (lab) {
                p->labels = lab;
                p->labels_len = (size_t)(s + n - 2 - lab);
                p->has_labels = true;
        } else {
                /* Labels last: printquoted escapes '"' and '\\', so the
                 * first " labels:{" is theirs (no wait reason holds one)
                 * and the text before the final '}' is the list. */
                lab = memmem(s + open, close - open, " labels:{", 9);
                if (!lab && close - open >= 8 && memcmp(s + open, "labels:{", 8) == 0)
                        lab = s + open - 1;
                if (lab && close > 0 && s[close - 1] == '}') {
                        p->labels = lab + 9;
                        p->labels_len = (size_t)(s + close - 1 - p->labels);
                        p->has_labels = true;
                        close = (size_t)(lab - s);
                }
        }
        /* "STATE[ (scan)][, N minutes][, locked to thread][, synctest bubble N]" */
        for (size_t a = open, part = 0; a <= close; part++) {
                const char *c = memmem(s + a, close - a, ", ", 2);
                size_t e = c ? (size_t)(c - s) : close;

                if (part == 0) {
                        size_t se = e;

                        /* The scan bit is the GC's moment, not the goroutine's state. */
                        if (se - a >= 7 && memcmp(s + se - 7, " (scan)", 7) == 0)
                                se -= 7;
                        p->state = s + a;
                        p->state_len = se - a;
                } else {
                        size_t k = a;
                        uint64_t m;

                        if (take_u64(s, e, &k, &m) && has_prefix_n(s + k, e - k, " minutes"))
                                p->wait_minutes = m;
                        else if (e - a == 16 && memcmp(s + a, "locked to thread", 16) == 0)
                                p->locked = true;
                }
                if (!c)
                        break;
                a = e + 2;
        }
        if (p->state_len == 0)
                p->state = NULL;
        return true;
}

/* "COUNT @ 0xPC 0xPC...", COUNT >= 1 */
static bool parse_record_head(const char *s, size_t n, uint64_t *ret) {
        size_t i = 0;
        uint64_t c;

        /* runtime/pprof never prints an empty record: 0 is no count. */
        if (!take_u64(s, n, &i, &c) || c == 0 || !has_prefix_n(s + i, n - i, " @"))
                return false;
        for (i += 2; i < n;) {
                if (s[i] != ' ' || !has_prefix_n(s + i + 1, n - i - 1, "0x"))
                        return false;
                i += 3;
                if (i >= n || !is_hex(s[i]))
                        return false;
                while (i < n && is_hex(s[i]))
                        i++;
        }
        *ret = c;
        return true;
}

/* "#\t0xPC\tFUNC+0xOFF\tFILE:LINE", columns padded with more tabs. */
static bool parse_record_frame(const char *s, size_t n, struct span_frame *f) {
        size_t i = 1, a;

        while (i < n && (s[i] == '\t' || s[i] == ' '))
                i++;
        if (!has_prefix_n(s + i, n - i, "0x"))
                return false;
        while (i < n && s[i] != '\t' && s[i] != ' ')
                i++;
        while (i < n && (s[i] == '\t' || s[i] == ' '))
                i++;
        a = i;
        while (i < n && s[i] != '\t' && s[i] != ' ')
                i++;
        if (i == a)
                return false;
        {
                const char *plus = memrchr(s + a, '+', i - a);

                *f = (struct span_frame){ .func = s + a, .func_len = plus ? (size_t)(plus - s) - a : i - a };
        }
        while (i < n && (s[i] == '\t' || s[i] == ' '))
                i++;
        if (i < n) {
                struct span_frame ff;

                parse_file_line(s + i, n - i, &ff);
                f->file = ff.file;
                f->file_len = ff.file_len;
                f->line = ff.line;
        }
        return true;
}

/* "rax    0x0", "rflags 0x246", "r10    0xffffffff": a register dump line. */
static bool is_register_line(const char *s, size_t n) {
        size_t i = 0;

        while (i < n && i < 8 && ((s[i] >= 'a' && s[i] <= 'z') || is_digit(s[i])))
                i++;
        if (i == 0 || i >= n || s[i] != ' ')
                return false;
        while (i < n && s[i] == ' ')
                i++;
        if (!has_prefix_n(s + i, n - i, "0x") || i + 2 >= n)
                return false;
        for (i += 2; i < n; i++)
                if (!is_hex(s[i]))
                        return false;
        return true;
}

/* "NAME profile: total N" */
static bool parse_profile_header(struct parser *ps, const char *s, size_t n) {
        const char *p = memmem(s, n, " profile: total ", 16);
        size_t i;
        uint64_t t;

        if (!p || p == s)
                return false;
        for (const char *c = s; c < p; c++)
                if (!((*c >= 'a' && *c <= 'z') || is_digit(*c) || *c == '_'))
                        return false;
        i = (size_t)(p - s) + 16;
        if (!take_u64(s, n, &i, &t) || i != n)
                return false;
        if (!ps->d->profile) {
                ps->d->profile = strndup(s, (size_t)(p - s));
                if (!ps->d->profile)
                        ps->error = -ENOMEM;
                ps->d->profile_total = t;
        }
        return true;
}

/* The first "panic: ", "fatal error: " or "SIG...: " line; with append,
 * a line that continues it ("\tpanic: " of a re-panic, "[signal ...]")
 * joins it after "; ", all within REASON_MAX bytes. */
static void set_reason(struct parser *ps, const char *s, size_t n, bool append) {
        struct godump *d = ps->d;
        size_t old = d->reason ? strlen(d->reason) : 0, add;
        char *nr;

        if (append != !!d->reason)
                return;
        while (append && n > 0 && (*s == '\t' || *s == ' ')) {
                s++;
                n--;
        }
        add = append ? 2 + n : n;
        if (old + add > REASON_MAX)
                add = REASON_MAX > old ? REASON_MAX - old : 0;
        if (add == 0)
                return;
        nr = realloc(d->reason, old + add + 1);
        if (!nr) {
                ps->error = -ENOMEM;
                return;
        }
        if (append)
                memcpy(nr + old, "; ", add < 2 ? add : 2);
        if (add > (append ? 2 : 0))
                memcpy(nr + old + (append ? 2 : 0), s, add - (append ? 2 : 0));
        nr[old + add] = '\0';
        for (char *c = nr + old; *c; c++)
                if ((unsigned char)*c < ' ')
                        *c = ' ';
        d->reason = nr;
}

/* A line outside any goroutine: true when it is one the runtime prints. */
static bool parse_top_line(struct parser *ps, const char *s, size_t n) {
        uint64_t c;

        if (has_prefix_n(s, n, "panic: ") || has_prefix_n(s, n, "fatal error: ") ||
            has_prefix_n(s, n, "SIGQUIT: ") || (has_prefix_n(s, n, "SIG") && memmem(s, n, ": ", 2))) {
                set_reason(ps, s, n, false);
                return true;
        }
        if (has_prefix_n(s, n, "\tpanic: ") || has_prefix_n(s, n, "[signal ")) {
                set_reason(ps, s, n, true);
                return true;
        }
        if (has_prefix_n(s, n, "PC=0x") || has_prefix_n(s, n, "signal ") || has_prefix_n(s, n, "-----") || has_prefix_n(s, n, "runtime: ") ||
            has_prefix_n(s, n, "exit status ") || has_prefix_n(s, n, "fatal: ") || is_register_line(s, n))
                return true;
        if (n == 14 && memcmp(s, "runtime stack:", 14) == 0) {
                ps->mode = MODE_SYSTEM_STACK;
                return true;
        }
        if (ps->form == GODUMP_TRACEBACK + 1)
                return false;
        if (parse_profile_header(ps, s, n)) {
                ps->form = GODUMP_COUNT_PROFILE + 1;
                return true;
        }
        if (parse_record_head(s, n, &c)) {
                ps->form = GODUMP_COUNT_PROFILE + 1;
                pending_start(ps, c);
                ps->records++;
                ps->mode = MODE_RECORD;
                return true;
        }
        return false;
}

static bool parse_goroutine_line(struct parser *ps, const char *s, size_t n) {
        struct pending *p = &ps->g;
        struct span_frame f;

        if (s[0] == '\t') {
                enum want w = p->want;

                p->want = WANT_NOTHING;
                if (w == WANT_FRAME_FILE && p->n_frames > 0) {
                        parse_file_line(s + 1, n - 1, &p->frames[p->n_frames - 1]);
                        return true;
                }
                if (w == WANT_CREATOR_FILE) {
                        struct span_frame ff;

                        parse_file_line(s + 1, n - 1, &ff);
                        p->creator.file = ff.file;
                        p->creator.file_len = ff.file_len;
                        p->creator.line = ff.line;
                        return true;
                }
                if (w == WANT_FRAME_FILE)       /* a frame past GODUMP_MAX_FRAMES */
                        return true;
                if (has_prefix_n(s, n, "\tgoroutine running on other thread")) {
                        p->unavailable = true;
                        return true;
                }
                return false;
        }
        p->want = WANT_NOTHING;
        /* "...additional frames elided..." (Go < 1.21: the stack's
         * innermost 100 frames were shown) or "...N frames elided..."
         * (1.21+: the innermost and outermost 50, the middle cut). */
        if (has_prefix_n(s, n, "...") && n >= 14 && memcmp(s + n - 10, " elided...", 10) == 0) {
                p->elided = true;
                return true;
        }
        if (has_prefix_n(s, n, "created by ")) {
                const char *fn = s + 11, *in;
                size_t fl = n - 11;

                in = memmem(fn, fl, " in goroutine ", 14);
                if (in)
                        fl = (size_t)(in - fn);
                if (fl == 0)
                        return false;
                p->creator = (struct span_frame){ .func = fn, .func_len = fl };
                p->has_creator = true;
                p->want = WANT_CREATOR_FILE;
                return true;
        }
        if (!parse_func_line(s, n, &f))
                return false;
        if (p->n_frames < GODUMP_MAX_FRAMES) {
                p->frames[p->n_frames++] = f;
                p->want = WANT_FRAME_FILE;
        } else {
                p->elided = true;
                p->want = WANT_FRAME_FILE;      /* swallow its file line */
        }
        return true;
}

static bool parse_record_line(struct parser *ps, const char *s, size_t n) {
        struct pending *p = &ps->g;
        struct span_frame f;

        if (has_prefix_n(s, n, "# labels: {") && s[n - 1] == '}') {
                p->labels = s + 11;
                p->labels_len = n - 12;
                p->has_labels = true;
                return true;
        }
        if (s[0] != '#' || !parse_record_frame(s, n, &f))
                return false;
        if (p->n_frames < GODUMP_MAX_FRAMES)
                p->frames[p->n_frames++] = f;
        else
                p->elided = true;
        return true;
}

/* One line, without its end. false when it was not understood. */
static bool parse_line(struct parser *ps, const char *s, size_t n) {
        if (n == 0) {
                if (ps->mode == MODE_GOROUTINE || ps->mode == MODE_RECORD)
                        pending_finish(ps);
                ps->mode = MODE_TOP;
                return true;
        }
        if (has_prefix_n(s, n, "goroutine ") && n > 10 && is_digit(s[10]) && ps->form != GODUMP_COUNT_PROFILE + 1) {
                pending_finish(ps);
                if (!parse_header(ps, s, n)) {
                        ps->mode = MODE_TOP;
                        return false;
                }
                ps->form = GODUMP_TRACEBACK + 1;
                ps->blocks++;
                ps->mode = MODE_GOROUTINE;
                return true;
        }
        switch (ps->mode) {
        case MODE_GOROUTINE:
                if (parse_goroutine_line(ps, s, n))
                        return true;
                /* GOTRACEBACK=crash prints each M's registers right after
                 * its g0's frames, with no blank line between. */
                if (s[0] != '\t' && (is_register_line(s, n) || has_prefix_n(s, n, "-----"))) {
                        pending_finish(ps);
                        ps->mode = MODE_TOP;
                        return parse_top_line(ps, s, n);
                }
                return false;
        case MODE_RECORD:
                if (parse_record_line(ps, s, n))
                        return true;
                /* A record head right after a record (no blank line). */
                pending_finish(ps);
                ps->mode = MODE_TOP;
                return parse_top_line(ps, s, n);
        case MODE_SYSTEM_STACK:
                return true;
        case MODE_TOP:
        default:
                return parse_top_line(ps, s, n);
        }
}

static bool func_is_std(const char *f);

/* The name a group sorts by among equals: its culprit, else its top
 * function, so that the user's code comes before runtime.gopark. */
static const char *group_sort_name(const struct godump_group *g) {
        const struct godump_frame *c = godump_group_culprit(g);

        if (c)
                return c->func;
        return g->n_frames > 0 ? g->frames[0].func : g->creator.func ? g->creator.func : "";
}

static int group_compare(const void *a, const void *b) {
        const struct godump_group *x = a, *y = b;
        bool cx = godump_group_culprit(x), cy = godump_group_culprit(y);
        int r;

        if (x->count != y->count)
                return x->count > y->count ? -1 : 1;
        if (x->max_wait_minutes != y->max_wait_minutes)
                return x->max_wait_minutes > y->max_wait_minutes ? -1 : 1;
        if (cx != cy)
                return cx ? -1 : 1;
        r = strcmp(group_sort_name(x), group_sort_name(y));
        if (r != 0)
                return r;
        /* A total order, so the output does not depend on qsort. */
        if (x->hash != y->hash)
                return x->hash < y->hash ? -1 : 1;
        return 0;
}

static int state_compare(const void *a, const void *b) {
        const struct godump_state *x = a, *y = b;

        if (x->count != y->count)
                return x->count > y->count ? -1 : 1;
        return strcmp(x->name, y->name);
}

int godump_parse(const char *buf, size_t n, struct godump **ret) {
        _cleanup_free_ uint32_t *table = NULL;
        struct godump *d;
        struct parser ps = {};
        size_t pos = 0;
        bool ended_in_newline;
        enum mode last_mode = MODE_TOP;
        int r = 0;

        if (!buf && n > 0)
                return -EINVAL;
        ended_in_newline = n > 0 && buf[n - 1] == '\n';
        if (n > GODUMP_MAX_INPUT)
                return -EFBIG;
        table = calloc(TABLE_SIZE, sizeof *table);
        d = calloc(1, sizeof *d);
        if (!table || !d) {
                free(d);
                return -ENOMEM;
        }
        ps.d = d;
        ps.table = table;
        while (pos < n && !ps.error) {
                const char *nl = memchr(buf + pos, '\n', n - pos);
                size_t len = nl ? (size_t)(nl - (buf + pos)) : n - pos;
                const char *s = buf + pos;

                pos += len + (nl ? 1 : 0);
                if (len > 0 && s[len - 1] == '\r')
                        len--;
                d->lines++;
                if (len > GODUMP_MAX_LINE) {
                        d->lines_skipped++;
                        continue;
                }
                /* The bound counts traceback blocks and count profile
                 * records alike: it bounds the work, whatever the counts say. */
                if (ps.blocks + ps.records >= GODUMP_MAX_GOROUTINES &&
                    ((len > 10 && has_prefix_n(s, len, "goroutine ") && is_digit(s[10])) ||
                     (len > 0 && is_digit(s[0]) && parse_record_head(s, len, &(uint64_t){ 0 })))) {
                        d->capped = true;
                        break;
                }
                if (!parse_line(&ps, s, len))
                        d->lines_skipped++;
        }
        last_mode = ps.mode;
        /* Cut inside a goroutine: its last line may be partial, a frame
         * may miss its file line, a header may have no frames. */
        if (!d->capped && ps.g.active &&
            (!ended_in_newline || ps.g.want != WANT_NOTHING ||
             (last_mode == MODE_GOROUTINE && ps.g.n_frames == 0 && !ps.g.unavailable && !ps.g.has_creator)))
                d->truncated = true;
        pending_finish(&ps);
        if (ps.error) {
                r = ps.error;
                goto fail;
        }
        if (ps.blocks == 0 && ps.records == 0) {
                r = -EBADMSG;
                goto fail;
        }
        d->format = ps.form == GODUMP_COUNT_PROFILE + 1 ? GODUMP_COUNT_PROFILE : GODUMP_TRACEBACK;
        if (d->format == GODUMP_COUNT_PROFILE && d->profile && d->goroutines < d->profile_total && !d->capped)
                d->truncated = true;
        for (size_t i = 0; i < d->n_groups; i++) {
                struct godump_group *g = &d->groups[i];

                if (g->n_states > 1)
                        qsort(g->states, g->n_states, sizeof *g->states, state_compare);
                free(ps.labels_raw[i]);
        }
        free(ps.labels_raw);
        if (d->n_groups > 1)
                qsort(d->groups, d->n_groups, sizeof *d->groups, group_compare);
        *ret = d;
        return 0;
fail:
        for (size_t i = 0; i < d->n_groups; i++)
                free(ps.labels_raw[i]);
        free(ps.labels_raw);
        godump_free(d);
        return r;
}

/* Go's standard library by first path element (go list std, 1.19..1.27),
 * plus the compiler's own symbol prefixes. */
static const char *const std_roots[] = {
        "archive", "arena", "bufio", "builtin", "bytes", "cmp", "compress", "container", "context",
        "crypto", "database", "debug", "embed", "encoding", "errors", "expvar", "flag", "fmt", "go",
        "hash", "html", "image", "index", "internal", "io", "iter", "log", "maps", "math", "mime",
        "net", "os", "path", "plugin", "reflect", "regexp", "runtime", "slices", "sort", "strconv",
        "strings", "structs", "sync", "syscall", "testing", "text", "time", "unicode", "unique",
        "unsafe", "vendor", "weak",
};

static bool func_is_std(const char *f) {
        size_t n = strcspn(f, "["), slash = 0, dot, root;

        if (strncmp(f, "type:", 5) == 0 || strncmp(f, "go:", 3) == 0 || strncmp(f, "type..", 6) == 0)
                return true;
        for (size_t i = 0; i < n; i++)
                if (f[i] == '/')
                        slash = i + 1;
        dot = slash + strcspn(f + slash, ".");
        if (dot >= strlen(f))
                return true;    /* no package: "panic", a builtin */
        root = strcspn(f, "/");
        if (root > dot)
                root = dot;
        for (size_t i = 0; i < ELEMENTSOF(std_roots); i++)
                if (strlen(std_roots[i]) == root && strncmp(f, std_roots[i], root) == 0)
                        return true;
        return false;
}

const struct godump_frame *godump_group_culprit(const struct godump_group *g) {
        if (!g)
                return NULL;
        for (size_t i = 0; i < g->n_frames; i++)
                if (g->frames[i].func && !func_is_std(g->frames[i].func))
                        return &g->frames[i];
        if (g->creator.func && !func_is_std(g->creator.func))
                return &g->creator;
        return NULL;
}

size_t godump_group_header(const struct godump_group *g, char *buf, size_t size) {
        char wait[48] = "";
        int k;

        if (size > 0)
                buf[0] = '\0';
        if (g->n_states == 0 && g->max_wait_minutes == 0 && g->n_locked == 0)
                return 0;
        if (g->max_wait_minutes > 0)
                snprintf(wait, sizeof wait, ", %llu minutes", (unsigned long long)g->max_wait_minutes);
        k = snprintf(buf, size, "[%s%s%s]", g->n_states > 0 ? g->states[0].name : "?", wait,
                     g->n_locked > 0 ? ", locked to thread" : "");
        return k < 0 ? 0 : (size_t)k;
}

/* Text from the dump, with control bytes as '?': a hostile dump must not
 * drive the terminal of whoever reads the summary. */
static void fputs_safe(const char *s, FILE *f) {
        for (; s && *s; s++)
                fputc((unsigned char)*s < ' ' || *s == 0x7f ? '?' : *s, f);
}

static void fprint_frame(FILE *f, const char *prefix, const struct godump_frame *fr) {
        fputs(prefix, f);
        fputs_safe(fr->func, f);
        if (fr->file) {
                fputs(" (", f);
                fputs_safe(fr->file, f);
                if (fr->line)
                        fprintf(f, ":%u", fr->line);
                fputc(')', f);
        }
        fputc('\n', f);
}

int godump_write_text(const struct godump *d, unsigned max_groups, unsigned max_frames, char **ret,
                      size_t *ret_len) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f;
        size_t shown = d->n_groups;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        if (max_groups > 0 && shown > max_groups)
                shown = max_groups;
        fprintf(f, "%llu goroutine%s in %zu group%s (%s%s%s; %llu lines, %llu skipped)",
                (unsigned long long)d->goroutines, d->goroutines == 1 ? "" : "s", d->n_groups,
                d->n_groups == 1 ? "" : "s", d->profile ? d->profile : "", d->profile ? " " : "",
                d->format == GODUMP_COUNT_PROFILE ? "count profile" : "traceback",
                (unsigned long long)d->lines, (unsigned long long)d->lines_skipped);
        if (d->format == GODUMP_COUNT_PROFILE && d->profile)
                fprintf(f, ", total %llu", (unsigned long long)d->profile_total);
        if (d->truncated)
                fputs(", truncated", f);
        if (d->capped)
                fprintf(f, ", capped at %u goroutines", GODUMP_MAX_GOROUTINES);
        if (d->other_goroutines)
                fprintf(f, ", %llu in groups past the first %u", (unsigned long long)d->other_goroutines,
                        GODUMP_MAX_GROUPS);
        fputc('\n', f);
        if (d->reason) {
                fputs("reason: ", f);
                fputs_safe(d->reason, f);
                fputc('\n', f);
        }
        for (size_t i = 0; i < shown; i++) {
                const struct godump_group *g = &d->groups[i];
                const struct godump_frame *c = godump_group_culprit(g);
                char hdr[256];
                size_t nf = g->n_frames;

                godump_group_header(g, hdr, sizeof hdr);
                fprintf(f, "\n%llu goroutine%s%s", (unsigned long long)g->count, g->count == 1 ? "" : "s",
                        hdr[0] ? " " : "");
                fputs_safe(hdr, f);
                if (c) {
                        fputs(" in ", f);
                        fputs_safe(c->func, f);
                }
                fputc('\n', f);
                if (g->n_states > 1 || g->states_other) {
                        fputs("  states:", f);
                        for (size_t s = 0; s < g->n_states; s++) {
                                fputs(s ? ", " : " ", f);
                                fputs_safe(g->states[s].name, f);
                                fprintf(f, " x%llu", (unsigned long long)g->states[s].count);
                        }
                        if (g->states_other)
                                fprintf(f, ", other x%llu", (unsigned long long)g->states_other);
                        fputc('\n', f);
                }
                if (g->labels_mixed)
                        fputs("  labels: mixed\n", f);
                else if (g->n_labels > 0) {
                        fputs("  labels:", f);
                        for (size_t l = 0; l < g->n_labels; l++) {
                                fputs(l ? ", " : " ", f);
                                fputs_safe(g->labels[l].key, f);
                                fputc('=', f);
                                fputs_safe(g->labels[l].value, f);
                        }
                        fputc('\n', f);
                }
                if (max_frames > 0 && nf > max_frames)
                        nf = max_frames;
                for (size_t k = 0; k < nf; k++)
                        fprint_frame(f, "    ", &g->frames[k]);
                if (nf < g->n_frames)
                        fprintf(f, "    ... %zu more frame%s\n", g->n_frames - nf, g->n_frames - nf == 1 ? "" : "s");
                if (g->elided)
                        fputs("    ...additional frames elided...\n", f);
                if (g->stack_unavailable)
                        fputs("    (running on another thread: stack unavailable)\n", f);
                if (g->creator.func)
                        fprint_frame(f, "    created by ", &g->creator);
                if (g->n_ids > 0) {
                        fputs("  goroutines:", f);
                        for (size_t k = 0; k < g->n_ids; k++)
                                fprintf(f, " %llu", (unsigned long long)g->ids[k]);
                        if (g->count > g->n_ids)
                                fputs(" ...", f);
                        fputc('\n', f);
                }
        }
        if (shown < d->n_groups)
                fprintf(f, "\n... %zu more group%s\n", d->n_groups - shown, d->n_groups - shown == 1 ? "" : "s");
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

static void json_frame(struct json_writer *w, const struct godump_frame *fr) {
        json_begin_object(w);
        json_member_string(w, "func", fr->func);
        json_member_string(w, "file", fr->file);
        json_member_uint(w, "line", fr->line);
        json_end_object(w);
}

void godump_write_json(struct json_writer *w, const struct godump *d, unsigned max_groups) {
        size_t shown = d->n_groups;

        if (max_groups > 0 && shown > max_groups)
                shown = max_groups;
        json_begin_object(w);
        json_member_string(w, "format", godump_format_to_string(d->format));
        json_member_string(w, "profile", d->profile);
        if (d->profile)
                json_member_uint(w, "profile_total", d->profile_total);
        else
                json_member_null(w, "profile_total");
        json_member_uint(w, "goroutines", d->goroutines);
        json_member_uint(w, "groups_total", d->n_groups);
        json_member_uint(w, "other_goroutines", d->other_goroutines);
        json_member_uint(w, "lines", d->lines);
        json_member_uint(w, "lines_skipped", d->lines_skipped);
        json_member_bool(w, "truncated", d->truncated);
        json_member_bool(w, "capped", d->capped);
        json_member_string(w, "reason", d->reason);
        json_key(w, "groups");
        json_begin_array(w);
        for (size_t i = 0; i < shown; i++) {
                const struct godump_group *g = &d->groups[i];
                const struct godump_frame *c = godump_group_culprit(g);
                char hdr[256];

                godump_group_header(g, hdr, sizeof hdr);
                json_begin_object(w);
                json_member_uint(w, "count", g->count);
                json_member_string(w, "header", hdr);
                json_key(w, "states");
                json_begin_array(w);
                for (size_t s = 0; s < g->n_states; s++) {
                        json_begin_object(w);
                        json_member_string(w, "state", g->states[s].name);
                        json_member_uint(w, "count", g->states[s].count);
                        json_end_object(w);
                }
                json_end_array(w);
                json_member_uint(w, "states_other", g->states_other);
                json_member_uint(w, "max_wait_minutes", g->max_wait_minutes);
                json_member_uint(w, "locked_to_thread", g->n_locked);
                json_member_string(w, "culprit", c ? c->func : NULL);
                json_key(w, "frames");
                json_begin_array(w);
                for (size_t k = 0; k < g->n_frames; k++)
                        json_frame(w, &g->frames[k]);
                json_end_array(w);
                json_member_bool(w, "frames_elided", g->elided);
                json_member_bool(w, "stack_unavailable", g->stack_unavailable);
                json_key(w, "creator");
                if (g->creator.func)
                        json_frame(w, &g->creator);
                else
                        json_null(w);
                json_key(w, "goroutine_ids");
                json_begin_array(w);
                for (size_t k = 0; k < g->n_ids; k++)
                        json_uint(w, g->ids[k]);
                json_end_array(w);
                json_key(w, "labels");
                if (g->n_labels > 0) {
                        json_begin_object(w);
                        /* Keys are unique in a Go label set; a hostile dump
                         * may repeat one: the first wins, as in Go. */
                        for (size_t l = 0; l < g->n_labels; l++) {
                                bool dup = false;

                                for (size_t m = 0; m < l && !dup; m++)
                                        dup = strcmp(g->labels[m].key, g->labels[l].key) == 0;
                                if (!dup)
                                        json_member_string(w, g->labels[l].key, g->labels[l].value);
                        }
                        json_end_object(w);
                } else
                        json_null(w);
                json_member_bool(w, "labels_mixed", g->labels_mixed);
                json_end_object(w);
        }
        json_end_array(w);
        json_end_object(w);
}
