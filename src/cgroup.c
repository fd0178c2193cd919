/* cgroup.c: cgroup discovery and limit reading (see cgroup.h).
 *
 * The parsers take (buf, n) with no NUL terminator and reject embedded
 * NUL bytes: the kernel never writes them, and a C string built from such
 * a field would silently lose its tail. They are strict about the
 * kernel's own output format (no leading blanks, no CR) because a file
 * that does not look like the kernel wrote it is reported, not guessed
 * at; only the final newline is optional. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gorral/cgroup.h"
#include "gorral/mountdesc.h"
#include "gorral/util.h"

/* Limit files are a few KiB at most (memory.stat); /proc files can be
 * large on busy hosts and use GR_READ_MAX. */
#define CG_FILE_MAX ((size_t)64 << 10)
/* How much of a bad file an error message quotes. */
#define CG_QUOTE_MAX 120

const char *cg_layout_to_string(enum cg_layout l) {
        switch (l) {
        case CG_LAYOUT_NONE: return "none";
        case CG_LAYOUT_V1: return "v1";
        case CG_LAYOUT_V2: return "v2";
        case CG_LAYOUT_HYBRID: return "hybrid";
        }
        return "invalid";
}

/* A single-value file: the content without its one optional trailing
 * newline; false when it holds another newline or a NUL. */
static bool single_value(const char *buf, size_t n, size_t *ret_len) {
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        if (n == 0 || memchr(buf, '\n', n) || memchr(buf, '\0', n))
                return false;
        *ret_len = n;
        return true;
}

static int parse_i64_n(const char *s, size_t n, int64_t *ret) {
        bool neg = n > 0 && s[0] == '-';
        uint64_t u;

        if (parse_u64_n(s + neg, n - neg, &u) < 0)
                return -EBADMSG;
        if (neg ? u > (uint64_t)INT64_MAX + 1 : u > (uint64_t)INT64_MAX)
                return -EBADMSG;
        *ret = !neg ? (int64_t)u : u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
        return 0;
}

/* Does the comma-separated list contain item exactly? */
static bool list_has(const char *list, const char *item) {
        size_t k = strlen(item);

        for (const char *p = list;;) {
                const char *c = strchr(p, ',');
                size_t len = c ? (size_t)(c - p) : strlen(p);

                if (len == k && memcmp(p, item, k) == 0)
                        return true;
                if (!c)
                        return false;
                p = c + 1;
        }
}

/* Next space-separated field of a mountinfo line; empty fields (two
 * spaces) come back with length 0 and are rejected by the caller. */
static bool next_field(const char *line, size_t len, size_t *pos, const char **ret, size_t *ret_len) {
        const char *sp;

        if (*pos > len)
                return false;
        *ret = line + *pos;
        sp = memchr(*ret, ' ', len - *pos);
        *ret_len = sp ? (size_t)(sp - *ret) : len - *pos;
        *pos = sp ? (size_t)(sp - line) + 1 : len + 1;
        return true;
}

static bool is_octal(char c) {
        return c >= '0' && c <= '7';
}

/* Undo the kernel's mangling of mountinfo paths (space, tab, newline and
 * backslash become \ooo). A lone backslash is kept as is. */
static int unescape_field(const char *s, size_t n, char **ret) {
        char *out = malloc(n + 1), *o = out;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\' && i + 3 < n && is_octal(s[i + 1]) && is_octal(s[i + 2]) &&
                    is_octal(s[i + 3])) {
                        unsigned v = (unsigned)(s[i + 1] - '0') * 64 + (unsigned)(s[i + 2] - '0') * 8 +
                                     (unsigned)(s[i + 3] - '0');
                        if (v == 0 || v > 0xff) {
                                free(out);
                                return -EBADMSG;
                        }
                        *o++ = (char)v;
                        i += 3;
                } else
                        *o++ = s[i];
        }
        *o = '\0';
        *ret = out;
        return 0;
}

static bool digits(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

static void mount_done(struct cg_mount *m) {
        free(m->mount_point);
        free(m->root);
        free(m->super_options);
}

void cg_mounts_free(struct cg_mount *m, size_t n) {
        for (size_t i = 0; m && i < n; i++)
                mount_done(&m[i]);
        free(m);
}

/* One mountinfo line: "id parent maj:min root mountpoint opts [optional...]
 * - fstype source superopts". 1: a cgroup mount stored in *ret, 0: a valid
 * line of another type, -EBADMSG, -ENOMEM. */
static int parse_mount_line(const char *line, size_t len, struct cg_mount *ret) {
        const char *f[6], *fs = NULL, *so = NULL, *x;
        size_t fl[6], fsl = 0, sol = 0, xl, pos = 0;
        unsigned i, after = 0;
        bool sep = false;
        struct cg_mount m = {};
        int r;

        if (memchr(line, '\0', len))
                return -EBADMSG;
        for (i = 0; i < 6; i++)
                if (!next_field(line, len, &pos, &f[i], &fl[i]) || fl[i] == 0)
                        return -EBADMSG;
        while (next_field(line, len, &pos, &x, &xl)) {
                if (xl == 0)
                        return -EBADMSG;
                if (!sep) {
                        sep = xl == 1 && x[0] == '-';
                        continue;
                }
                after++;
                if (after == 1) {
                        fs = x;
                        fsl = xl;
                } else if (after == 3) {
                        so = x;
                        sol = xl;
                }
        }
        if (!sep || after < 3)
                return -EBADMSG;
        x = memchr(f[2], ':', fl[2]);
        if (!digits(f[0], fl[0]) || !digits(f[1], fl[1]) || !x || !digits(f[2], (size_t)(x - f[2])) ||
            !digits(x + 1, fl[2] - (size_t)(x - f[2]) - 1) || f[4][0] != '/')
                return -EBADMSG;

        if (fsl == 7 && memcmp(fs, "cgroup2", 7) == 0)
                m.v2 = true;
        else if (!(fsl == 6 && memcmp(fs, "cgroup", 6) == 0))
                return 0;
        r = unescape_field(f[3], fl[3], &m.root);
        if (r >= 0)
                r = unescape_field(f[4], fl[4], &m.mount_point);
        if (r >= 0)
                r = unescape_field(so, sol, &m.super_options);
        if (r < 0) {
                mount_done(&m);
                return r;
        }
        *ret = m;
        return 1;
}

int cg_parse_mountinfo(const char *buf, size_t n, struct cg_mount **ret, size_t *ret_n, unsigned *reterr_line) {
        struct cg_mount *v = NULL;
        size_t nv = 0, cap = 0, pos = 0, len;
        const char *line;
        unsigned lineno = 0;

        while (buf_next_line(buf, n, &pos, &line, &len)) {
                struct cg_mount m;
                int r;

                lineno++;
                r = parse_mount_line(line, len, &m);
                if (r < 0) {
                        cg_mounts_free(v, nv);
                        if (r == -EBADMSG && reterr_line)
                                *reterr_line = lineno;
                        return r;
                }
                if (r == 0)
                        continue;
                r = GROW_ARRAY(v, cap, nv + 1, SIZE_MAX);
                if (r < 0) {
                        mount_done(&m);
                        cg_mounts_free(v, nv);
                        return r;
                }
                v[nv++] = m;
        }
        *ret = v;
        *ret_n = nv;
        return 0;
}

void cg_members_free(struct cg_member *m, _unused_ size_t n) {
        free(m); /* one block: cg_parse_proc_cgroup */
}

/* The members and their strings in one allocation: the array, then each
 * line's controllers and path, NUL-terminated (they take no more room
 * than the line, whose two ':' become the NULs). A start parses this file
 * every time, and musl's allocator made 18 small allocations of it cost
 * about 10 us. */
int cg_parse_proc_cgroup(const char *buf, size_t n, struct cg_member **ret, size_t *ret_n, unsigned *reterr_line) {
        struct cg_member *v;
        size_t nl = 0, pos = 0, len, k = 0;
        const char *line;
        char *o;

        while (buf_next_line(buf, n, &pos, &line, &len))
                nl++;
        v = malloc(nl * sizeof *v + n + 1);
        if (!v)
                return -ENOMEM;
        o = (char *)(v + nl);
        for (pos = 0; buf_next_line(buf, n, &pos, &line, &len); k++) {
                const char *c1, *c2;
                size_t cl, pl;
                uint64_t id;

                /* The path may itself contain ':', so split on the first two. */
                c1 = memchr(line, ':', len);
                c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
                if (!c2 || memchr(line, '\0', len) || parse_u64_n(line, (size_t)(c1 - line), &id) < 0 ||
                    id > UINT_MAX || c2 + 1 == line + len || c2[1] != '/') {
                        free(v);
                        if (reterr_line)
                                *reterr_line = (unsigned)k + 1;
                        return -EBADMSG;
                }
                cl = (size_t)(c2 - c1 - 1);
                pl = (size_t)(line + len - c2 - 1);
                v[k] = (struct cg_member){ .id = (unsigned)id, .controllers = o, .path = o + cl + 1 };
                memcpy(o, c1 + 1, cl);
                o[cl] = '\0';
                memcpy(o + cl + 1, c2 + 1, pl);
                o[cl + 1 + pl] = '\0';
                o += cl + pl + 2;
        }
        *ret = v;
        *ret_n = nl;
        return 0;
}

void cg_dir_done(struct cg_dir *d) {
        if (!d)
                return;
        free(d->dir);
        free(d->top);
        free(d->cgroup_path);
        *d = (struct cg_dir){};
}

/* A v1 line naming the controller wins over the v2 "0::" line. */
static const struct cg_member *select_member(const struct cg_member *mem, size_t nmem, const char *controller,
                                             bool *ret_v2) {
        for (size_t i = 0; controller && i < nmem; i++)
                if (mem[i].id != 0 && list_has(mem[i].controllers, controller)) {
                        *ret_v2 = false;
                        return &mem[i];
                }
        for (size_t i = 0; i < nmem; i++)
                if (mem[i].id == 0 && mem[i].controllers[0] == '\0') {
                        *ret_v2 = true;
                        return &mem[i];
                }
        return NULL;
}

/* Does a path contain a ".." component? Only a leading one is what the
 * kernel writes for a cgroup outside the namespace, but one anywhere
 * would lead the reader out of the cgroupfs, so both count. */
static bool has_dotdot(const char *p) {
        for (const char *s = p; (s = strstr(s, "..")); s += 2)
                if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
                        return true;
        return false;
}

static size_t strip_slashes(const char *s, size_t n) {
        while (n > 1 && s[n - 1] == '/')
                n--;
        return n;
}

/* Place a cgroup path on one mount: 0 with *ret filled; -ENOENT when the
 * mount's root is not a path-boundary prefix of the path (or is no path:
 * nsfs-style roots such as "net:[4026532518]"); -EXDEV when the remainder
 * climbs out of the mount ("/.."); -ENOMEM. */
static int place_on_mount(const char *root, const char *mount_point, bool v2, const char *path,
                          struct cg_dir *ret) {
        const char *rem;
        size_t rl, ml, reml;
        struct cg_dir d = {};

        if (root[0] != '/' || mount_point[0] != '/')
                return -ENOENT;
        rl = strip_slashes(root, strlen(root));
        if (rl == 1)
                rl = 0; /* "/" is a prefix of every path */
        if (strncmp(path, root, rl) != 0 || (path[rl] != '\0' && path[rl] != '/'))
                return -ENOENT;
        rem = path + rl;
        if (has_dotdot(rem))
                return -EXDEV;
        reml = strlen(rem);
        while (reml > 0 && rem[reml - 1] == '/')
                reml--;
        ml = strip_slashes(mount_point, strlen(mount_point));
        if (ml == 1)
                ml = 0;
        d.v2 = v2;
        d.top = ml ? strndup(mount_point, ml) : strdup("/");
        d.cgroup_path = strdup(path);
        d.dir = malloc(ml + reml + 2);
        if (!d.top || !d.cgroup_path || !d.dir) {
                cg_dir_done(&d);
                return -ENOMEM;
        }
        memcpy(d.dir, mount_point, ml);
        memcpy(d.dir + ml, rem, reml);
        d.dir[ml + reml] = '\0';
        if (ml + reml == 0)
                strcpy(d.dir, "/");
        *ret = d;
        return 0;
}

int cg_resolve(const struct cg_mount *m, size_t nm, const struct cg_member *mem, size_t nmem,
               const char *controller, struct cg_dir *ret) {
        const struct cg_member *who;
        bool v2 = false, outside = false;

        who = select_member(mem, nmem, controller, &v2);
        if (!who)
                return -ENOENT;
        for (size_t i = 0; i < nm; i++) {
                int r;

                if (m[i].v2 != v2 || (!v2 && !list_has(m[i].super_options, controller)))
                        continue;
                r = place_on_mount(m[i].root, m[i].mount_point, v2, who->path, ret);
                if (r == -EXDEV)
                        outside = true;
                if (r == -ENOENT || r == -EXDEV)
                        continue;
                return r;
        }
        return outside ? -EXDEV : -ENOENT;
}

/* Where systemd, Docker, runc and Kubernetes mount the hierarchies: a v1
 * one at /sys/fs/cgroup/ plus its controller list as /proc/PID/cgroup
 * names it ("cpu,cpuacct"), the v2 one at /sys/fs/cgroup (pure v2) or
 * /sys/fs/cgroup/unified (hybrid). Only a guess of where to ask: what is
 * mounted there decides. */
#define CG_CONVENTIONAL "/sys/fs/cgroup"

/* Is the mount d the hierarchy the member's line names? */
static bool mount_is_hierarchy(const struct mountdesc *d, bool v2, const char *controller) {
        if (v2)
                return strcmp(d->fs_type, "cgroup2") == 0;
        return strcmp(d->fs_type, "cgroup") == 0 && controller && list_has(d->options, controller);
}

int cg_resolve_kernel(const struct cg_member *mem, size_t nmem, const char *controller, struct cg_dir *ret) {
        char cand[2][sizeof CG_CONVENTIONAL + 256];
        const struct cg_member *who;
        bool v2 = false;
        unsigned nc = 0;

        who = select_member(mem, nmem, controller, &v2);
        if (!who)
                return -ENOENT; /* whatever is mounted: no line, no cgroup */
        if (v2) {
                snprintf(cand[nc++], sizeof cand[0], "%s", CG_CONVENTIONAL);
                snprintf(cand[nc++], sizeof cand[0], "%s/unified", CG_CONVENTIONAL);
        } else if (strlen(who->controllers) < 256 && !strchr(who->controllers, '/'))
                snprintf(cand[nc++], sizeof cand[0], "%s/%s", CG_CONVENTIONAL, who->controllers);
        for (unsigned i = 0; i < nc; i++) {
                /* On the stack: musl would map and unmap a heap block. */
                union {
                        char b[MOUNTDESC_BUF_MAX];
                        uint64_t align;
                } buf;
                struct mountdesc d;
                int r;

                if (mountdesc_of_path(cand[i], buf.b, sizeof buf.b, &d) < 0 || !mount_is_hierarchy(&d, v2, controller))
                        continue;
                r = place_on_mount(d.root, d.mount_point, v2, who->path, ret);
                if (r == -ENOMEM)
                        return r;
                /* Elsewhere on the hierarchy, or outside it: another mount
                 * of mountinfo may hold the path, or say why none does. */
                return r == 0 ? 0 : -EAGAIN;
        }
        return -EAGAIN;
}

int cg_parse_cpu_max(const char *buf, size_t n, struct cg_quota *ret) {
        const char *sp;
        size_t len;
        int64_t q, p;

        if (!single_value(buf, n, &len))
                return -EBADMSG;
        sp = memchr(buf, ' ', len);
        if (!sp)
                return -EBADMSG;
        if ((size_t)(sp - buf) == 3 && memcmp(buf, "max", 3) == 0)
                q = -1;
        else if (parse_i64_n(buf, (size_t)(sp - buf), &q) < 0 || q <= 0)
                return -EBADMSG; /* the kernel refuses a quota of 0 or below */
        /* A third field or a second space fails here. */
        if (parse_i64_n(sp + 1, len - (size_t)(sp + 1 - buf), &p) < 0 || p <= 0)
                return -EBADMSG;
        *ret = (struct cg_quota){ .quota_us = q, .period_us = (uint64_t)p };
        return 0;
}

int cg_parse_v1_int(const char *buf, size_t n, int64_t *ret) {
        size_t len;

        if (!single_value(buf, n, &len))
                return -EBADMSG;
        return parse_i64_n(buf, len, ret);
}

int cg_parse_memory_max(const char *buf, size_t n, uint64_t *ret) {
        size_t len;
        uint64_t v;

        if (!single_value(buf, n, &len))
                return -EBADMSG;
        if (len == 3 && memcmp(buf, "max", 3) == 0)
                v = UINT64_MAX;
        else if (parse_u64_n(buf, len, &v) < 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int cg_parse_kv_keys(const char *buf, size_t n, const char *const *keys, size_t n_keys, uint64_t *vals,
                     uint64_t *ret_found, struct cg_parse_error *reterr) {
        uint64_t tmp[64], found = 0;
        size_t pos = 0;
        unsigned lineno = 0;

        if (n_keys > ELEMENTSOF(tmp))
                return -EINVAL;
        /* Every line is checked, not just the wanted ones: a file with
         * broken lines elsewhere is not one the kernel wrote. One pass per
         * line (the monitor reads several of these files per sample): the
         * key up to its space, then the digits up to the line's end. */
        while (pos < n) {
                const char *line = buf + pos, *reason = NULL;
                size_t k = 0, col = 0, rest = n - pos, d;
                uint64_t v = 0;

                lineno++;
                while (k < rest && line[k] != ' ' && line[k] != '\n' && line[k] != '\0')
                        k++;
                if (k < rest && line[k] == '\0')
                        reason = "NUL byte in the key", col = k;
                else if (k == rest || line[k] == '\n')
                        reason = "no space between key and value", col = k;
                else if (k == 0)
                        reason = "empty key", col = 0;
                else {
                        for (d = k + 1; d < rest && line[d] != '\n'; d++)
                                ;
                        if (parse_u64_n(line + k + 1, d - k - 1, &v) < 0)
                                reason = "value is not an unsigned decimal number", col = k + 1;
                        pos += d < rest ? d + 1 : rest;
                }
                if (reason) {
                        if (reterr)
                                *reterr = (struct cg_parse_error){ .line = lineno, .column = (unsigned)col + 1,
                                                                   .reason = reason };
                        return -EBADMSG;
                }
                for (size_t i = 0; i < n_keys; i++)
                        /* The key holds no NUL (checked above), so strncmp
                         * stops inside both strings. */
                        if (keys[i][0] == line[0] && !(found & (UINT64_C(1) << i)) &&
                            strncmp(keys[i], line, k) == 0 && keys[i][k] == '\0') {
                                found |= UINT64_C(1) << i;
                                tmp[i] = v;
                                break;
                        }
        }
        for (size_t i = 0; i < n_keys; i++)
                if (found & (UINT64_C(1) << i))
                        vals[i] = tmp[i];
        *ret_found = found;
        return 0;
}

int cg_parse_kv(const char *buf, size_t n, const char *key, uint64_t *ret) {
        uint64_t found;
        int r = cg_parse_kv_keys(buf, n, &key, 1, ret, &found, NULL);

        if (r < 0)
                return r;
        return found ? 0 : -ENOENT;
}

int cg_parse_cpuset(const char *buf, size_t n, unsigned *ret_count) {
        uint64_t count = 0, prev_end = 0;
        bool first = true;
        size_t len;
        const char *p, *end;

        if (n == 0 || (n == 1 && buf[0] == '\n')) {
                *ret_count = 0;
                return 0;
        }
        if (!single_value(buf, n, &len))
                return -EBADMSG;
        end = buf + len;
        /* The kernel prints sorted, disjoint, merged ranges; anything else
         * (overlap, reversed ranges) did not come from it. */
        for (p = buf; p <= end;) {
                const char *c = memchr(p, ',', (size_t)(end - p)), *e = c ? c : end, *dash;
                uint64_t a, b;

                dash = memchr(p, '-', (size_t)(e - p));
                if (parse_u64_n(p, (size_t)((dash ? dash : e) - p), &a) < 0)
                        return -EBADMSG;
                b = a;
                if (dash && parse_u64_n(dash + 1, (size_t)(e - dash - 1), &b) < 0)
                        return -EBADMSG;
                if (b < a || (!first && a <= prev_end) || b >= UINT_MAX)
                        return -EBADMSG;
                count += b - a + 1;
                if (count > UINT_MAX)
                        return -EBADMSG;
                prev_end = b;
                first = false;
                if (!c)
                        break;
                p = c + 1;
        }
        *ret_count = (unsigned)count;
        return 0;
}

/* ---- the reader ---- */

void cg_limits_done(struct cg_limits *l) {
        if (!l)
                return;
        free(l->cpu_cgroup);
        free(l->memory_cgroup);
        free(l->cpu_file);
        free(l->cpuset_file);
        free(l->mem_file);
        free(l->high_file);
        for (size_t i = 0; i < l->n_errors; i++) {
                free(l->errors[i].file);
                free(l->errors[i].message);
        }
        free(l->errors);
        for (size_t i = 0; i < l->n_notes; i++)
                free(l->notes[i]);
        free(l->notes);
        *l = (struct cg_limits){};
}

/* Quote at most CG_QUOTE_MAX bytes of content, C-escaped, into out. */
static void quote(const char *s, size_t n, char *out, size_t outsz) {
        size_t o = 0, lim = n > CG_QUOTE_MAX ? CG_QUOTE_MAX : n;

        /* Worst case per byte is 4 chars ("\xff"), plus quotes and "...". */
        _Static_assert(CG_QUOTE_MAX * 4 + 8 <= 512, "quote buffer");
        if (outsz < CG_QUOTE_MAX * 4 + 8)
                return;
        out[o++] = '"';
        for (size_t i = 0; i < lim; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '\n')
                        o += (size_t)sprintf(out + o, "\\n");
                else if (c == '"' || c == '\\')
                        o += (size_t)sprintf(out + o, "\\%c", c);
                else if (c < 0x20 || c >= 0x7f)
                        o += (size_t)sprintf(out + o, "\\x%02x", c);
                else
                        out[o++] = (char)c;
        }
        out[o++] = '"';
        if (lim < n)
                o += (size_t)sprintf(out + o, "...");
        out[o] = '\0';
}

static int add_error(struct cg_limits *l, const char *file, const char *fmt, ...) _printf_(3, 4);
static int add_error(struct cg_limits *l, const char *file, const char *fmt, ...) {
        struct cg_error *e;
        char *msg;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        e = realloc(l->errors, (l->n_errors + 1) * sizeof *e);
        if (!e) {
                free(msg);
                return -ENOMEM;
        }
        l->errors = e;
        e[l->n_errors].message = msg;
        e[l->n_errors].file = strdup(file);
        if (!e[l->n_errors].file) {
                free(msg);
                return -ENOMEM;
        }
        l->n_errors++;
        return 0;
}

/* "<what> (expected <format>): <quoted content>" */
static int add_bad_content(struct cg_limits *l, const char *file, const char *expected, const char *buf, size_t n) {
        char q[512];

        quote(buf, n, q, sizeof q);
        return add_error(l, file, "malformed content (expected %s): %s", expected, q);
}

static int add_note(struct cg_limits *l, const char *fmt, ...) _printf_(2, 3);
static int add_note(struct cg_limits *l, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_appendv(&l->notes, &l->n_notes, fmt, ap);
        va_end(ap);
        return r;
}

/* sysroot + dir [+ "/" + name]; dir is absolute. */
static char *root_path(const char *sysroot, const char *dir, const char *name) {
        size_t sl = sysroot ? strlen(sysroot) : 0;
        char *p;

        while (sl > 0 && sysroot[sl - 1] == '/')
                sl--;
        if (asprintf(&p, "%.*s%s%s%s", (int)sl, sl ? sysroot : "", strcmp(dir, "/") == 0 && name ? "" : dir,
                     name ? "/" : "", name ? name : "") < 0)
                return NULL;
        return p;
}

/* Read one file. 1: read (*ret_buf, *ret_n); 0: no value (missing, which
 * is "no limit known", or unreadable/empty, which is recorded as an error
 * and sets *err); -ENOMEM. */
static int read_one(struct cg_limits *l, const char *path, size_t max, bool *err, char **ret_buf, size_t *ret_n) {
        char *buf;
        size_t n;
        int r;

        r = read_file(path, max, &buf, &n);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r < 0) {
                *err = true;
                if (r == -EFBIG)
                        return add_error(l, path, "file larger than %zu bytes", max);
                return add_error(l, path, "cannot read: %s", strerror(-r));
        }
        if (n == 0) {
                free(buf);
                *err = true;
                return add_error(l, path, "empty file");
        }
        *ret_buf = buf;
        *ret_n = n;
        return 1;
}

/* Levels from the leaf up to and including the mount point: calls
 * visit(level) for each; stops at the first negative return. */
static int walk_levels(const struct cg_dir *d, int (*visit)(const char *level, bool leaf, void *ud), void *ud) {
        size_t toplen = strlen(d->top), len = strlen(d->dir);
        _cleanup_free_ char *cur = strdup(d->dir);
        bool leaf = true;

        if (!cur)
                return -ENOMEM;
        for (;;) {
                int r;

                cur[len] = '\0';
                r = visit(cur, leaf, ud);
                if (r < 0)
                        return r;
                leaf = false;
                if (len <= toplen)
                        return 0;
                while (len > toplen && cur[len - 1] != '/')
                        len--;
                while (len > toplen && len > 1 && cur[len - 1] == '/')
                        len--;
        }
}

struct walk {
        struct cg_limits *l;
        const char *sysroot;
        bool v2;
        uint64_t nolimit_v1; /* page-rounded LONG_MAX */
};

/* Is q1/p1 < q2/p2? Exact: cross-multiplied in 128 bits. */
static bool ratio_less(uint64_t q1, uint64_t p1, uint64_t q2, uint64_t p2) {
        return (unsigned __int128)q1 * p2 < (unsigned __int128)q2 * p1;
}

static int set_str(char **dst, char *src) {
        if (!src)
                return -ENOMEM;
        free(*dst);
        *dst = src;
        return 0;
}

static int cpu_take(struct cg_limits *l, bool leaf, uint64_t q, uint64_t p, const char *path) {
        if (leaf) {
                l->cpu_leaf_limited = true;
                l->cpu_leaf_quota_us = q;
                l->cpu_leaf_period_us = p;
        }
        /* Strictly less: on a tie the level nearer the leaf names the file. */
        if (!l->cpu_limited || ratio_less(q, p, l->cpu_quota_us, l->cpu_period_us)) {
                l->cpu_limited = true;
                l->cpu_quota_us = q;
                l->cpu_period_us = p;
                return set_str(&l->cpu_file, strdup(path));
        }
        return 0;
}

static int visit_cpu(const char *level, bool leaf, void *ud) {
        struct walk *w = ud;
        struct cg_limits *l = w->l;
        _cleanup_free_ char *qpath = NULL, *ppath = NULL, *qbuf = NULL, *pbuf = NULL;
        size_t qn, pn;
        int64_t q, p;
        int r;

        if (w->v2) {
                struct cg_quota cq;

                qpath = root_path(w->sysroot, level, "cpu.max");
                if (!qpath)
                        return -ENOMEM;
                r = read_one(l, qpath, CG_FILE_MAX, &l->cpu_error, &qbuf, &qn);
                if (r <= 0)
                        return r;
                if (cg_parse_cpu_max(qbuf, qn, &cq) < 0) {
                        l->cpu_error = true;
                        return add_bad_content(l, qpath, "\"<quota|max> <period>\" with quota and period > 0",
                                               qbuf, qn);
                }
                if (cq.quota_us < 0)
                        return 0;
                return cpu_take(w->l, leaf, (uint64_t)cq.quota_us, cq.period_us, qpath);
        }

        qpath = root_path(w->sysroot, level, "cpu.cfs_quota_us");
        if (!qpath)
                return -ENOMEM;
        r = read_one(l, qpath, CG_FILE_MAX, &l->cpu_error, &qbuf, &qn);
        if (r <= 0)
                return r;
        /* -1 is v1's "no limit"; the kernel accepts no other value <= 0. */
        if (cg_parse_v1_int(qbuf, qn, &q) < 0 || (q <= 0 && q != -1)) {
                l->cpu_error = true;
                return add_bad_content(l, qpath, "an integer > 0 or -1", qbuf, qn);
        }
        if (q == -1)
                return 0;
        ppath = root_path(w->sysroot, level, "cpu.cfs_period_us");
        if (!ppath)
                return -ENOMEM;
        r = read_file(ppath, CG_FILE_MAX, &pbuf, &pn);
        if (r == -ENOENT || r == -ENOTDIR) {
                l->cpu_error = true;
                return add_error(l, ppath, "missing, but %s sets a quota", qpath);
        }
        r = r < 0 ? read_one(l, ppath, CG_FILE_MAX, &l->cpu_error, &pbuf, &pn) : 1;
        if (r <= 0)
                return r;
        if (cg_parse_v1_int(pbuf, pn, &p) < 0 || p <= 0) {
                l->cpu_error = true;
                return add_bad_content(l, ppath, "an integer > 0", pbuf, pn);
        }
        return cpu_take(w->l, leaf, (uint64_t)q, (uint64_t)p, qpath);
}

static int mem_take(struct cg_limits *l, bool high, uint64_t v, const char *path) {
        bool *lim = high ? &l->high_limited : &l->mem_limited;
        uint64_t *val = high ? &l->high_bytes : &l->mem_bytes;

        if (*lim && v >= *val)
                return 0;
        *lim = true;
        *val = v;
        return set_str(high ? &l->high_file : &l->mem_file, strdup(path));
}

int cg_limits_add_leaf(struct cg_limits *l, uint64_t quota_us, uint64_t period_us, uint64_t memory_bytes,
                       const char *source) {
        int r = 0;

        if (quota_us && period_us && !l->cpu_skipped)
                r = cpu_take(l, true, quota_us, period_us, source);
        if (r >= 0 && memory_bytes && !l->mem_skipped)
                r = mem_take(l, false, memory_bytes, source);
        return r;
}

static int visit_mem(const char *level, _unused_ bool leaf, void *ud) {
        struct walk *w = ud;
        struct cg_limits *l = w->l;
        int r;

        if (w->v2) {
                static const char *const names[] = { "memory.max", "memory.high" };

                for (unsigned i = 0; i < ELEMENTSOF(names); i++) {
                        _cleanup_free_ char *path = root_path(w->sysroot, level, names[i]), *buf = NULL;
                        size_t n;
                        uint64_t v;

                        if (!path)
                                return -ENOMEM;
                        r = read_one(l, path, CG_FILE_MAX, &l->mem_error, &buf, &n);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                continue;
                        if (cg_parse_memory_max(buf, n, &v) < 0) {
                                l->mem_error = true;
                                r = add_bad_content(l, path, "a byte count or \"max\"", buf, n);
                        } else
                                r = v == UINT64_MAX ? 0 : mem_take(l, i == 1, v, path);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        _cleanup_free_ char *path = root_path(w->sysroot, level, "memory.limit_in_bytes"), *buf = NULL;
        size_t n;
        int64_t v;

        if (!path)
                return -ENOMEM;
        r = read_one(l, path, CG_FILE_MAX, &l->mem_error, &buf, &n);
        if (r <= 0)
                return r;
        if (cg_parse_v1_int(buf, n, &v) < 0 || v < 0) {
                l->mem_error = true;
                return add_bad_content(l, path, "a byte count", buf, n);
        }
        return (uint64_t)v >= w->nolimit_v1 ? 0 : mem_take(l, false, (uint64_t)v, path);
}

/* v1: the leaf's hierarchical_memory_limit covers the ancestors this
 * namespace cannot see (Docker mounts only its own subtree). Read after
 * the walk so that, on a tie, the level's own limit file is named. */
static int read_v1_stat(struct walk *w, const char *leaf) {
        struct cg_limits *l = w->l;
        _cleanup_free_ char *path = root_path(w->sysroot, leaf, "memory.stat"), *buf = NULL;
        size_t n;
        uint64_t h;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_one(l, path, CG_FILE_MAX, &l->mem_error, &buf, &n);
        if (r <= 0)
                return r;
        r = cg_parse_kv(buf, n, "hierarchical_memory_limit", &h);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                l->mem_error = true;
                return add_bad_content(l, path, "\"<key> <value>\" lines", buf, n);
        }
        return h < w->nolimit_v1 ? mem_take(l, false, h, path) : 0;
}

static int read_cpuset(struct cg_limits *l, const char *sysroot, const struct cg_dir *d) {
        /* v1 cpuset.cpus is what was asked for; effective_cpus is what the
         * parent allows, so prefer it when the kernel has it. */
        static const char *const v1[] = { "cpuset.effective_cpus", "cpuset.cpus" };
        static const char *const v2[] = { "cpuset.cpus.effective" };
        const char *const *names = d->v2 ? v2 : v1;
        size_t nn = d->v2 ? ELEMENTSOF(v2) : ELEMENTSOF(v1);

        for (size_t i = 0; i < nn; i++) {
                _cleanup_free_ char *path = root_path(sysroot, d->dir, names[i]), *buf = NULL;
                size_t n;
                unsigned c;
                int r;

                if (!path)
                        return -ENOMEM;
                r = read_one(l, path, CG_FILE_MAX, &l->cpu_error, &buf, &n);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (cg_parse_cpuset(buf, n, &c) < 0) {
                        l->cpu_error = true;
                        return add_bad_content(l, path, "a CPU list like \"0-3,8\"", buf, n);
                }
                l->cpuset_cpus = c;
                return set_str(&l->cpuset_file, strdup(path));
        }
        return 0;
}

/* Does sysroot + dir exist (as anything)? */
static bool level_exists(const char *sysroot, const char *dir) {
        _cleanup_free_ char *p = root_path(sysroot, dir, NULL);
        struct stat st;

        return p && stat(p, &st) == 0;
}

/* Drop the last component of a path ("/a/b" -> "/a", "/a" -> "/"). */
static void pop_component(char *p, size_t min_len) {
        size_t len = strlen(p);

        while (len > min_len && p[len - 1] != '/')
                len--;
        while (len > min_len && len > 1 && p[len - 1] == '/')
                len--;
        p[len] = '\0';
}

static int push_component(char **p, const char *c, size_t n) {
        char *np;

        if (asprintf(&np, "%s%s%.*s", *p, strcmp(*p, "/") == 0 ? "" : "/", (int)n, c) < 0)
                return -ENOMEM;
        free(*p);
        *p = np;
        return 0;
}

/* Descend from the resolved cgroup into subpath (see cg_read_limits_sub):
 * leading ".." components climb, never above the mount point; then the
 * levels that do not exist are dropped, since a process of that service
 * runs in the nearest existing ancestor (it has no cgroup of its own in a
 * hierarchy gorral created nothing in). 0; -EXDEV when subpath climbs out
 * of the mount; -EINVAL for an absolute subpath or a ".." after a name;
 * -ENOMEM. */
static int apply_subpath(struct cg_limits *l, const char *sysroot, const char *controller, const char *sub,
                         struct cg_dir *d) {
        size_t toplen = strlen(d->top);
        bool named = false, trimmed = false;
        int r;

        if (sub[0] == '/')
                return -EINVAL;
        for (const char *p = sub; *p;) {
                const char *e = strchrnul(p, '/');
                size_t n = (size_t)(e - p);

                if (n == 2 && memcmp(p, "..", 2) == 0) {
                        if (named)
                                return -EINVAL;
                        if (strlen(d->dir) <= toplen || strcmp(d->cgroup_path, "/") == 0)
                                return -EXDEV;
                        pop_component(d->dir, toplen);
                        pop_component(d->cgroup_path, 1);
                } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                        named = true;
                        r = push_component(&d->dir, p, n);
                        if (r >= 0)
                                r = push_component(&d->cgroup_path, p, n);
                        if (r < 0)
                                return r;
                }
                p = *e ? e + 1 : e;
        }
        while (strlen(d->dir) > toplen && !level_exists(sysroot, d->dir)) {
                pop_component(d->dir, toplen);
                pop_component(d->cgroup_path, 1);
                trimmed = true;
        }
        if (trimmed)
                return add_note(l, "%s: %s has no cgroup of its own there; it runs in %s", controller, sub,
                                d->cgroup_path);
        return 0;
}

/* mountinfo, read when a controller first needs it (see read_limits). */
struct mounts {
        const char *sysroot, *path;
        bool kernel_first; /* ask the kernel about the conventional mount first */
        bool read;         /* path was read (it gave m, or a note or error) */
        struct cg_mount *m;
        size_t nm;         /* 0 once read: nothing can be placed, a note or error says why */
};

/* Was mountinfo read and found no cgroup mount to place anything on? */
static bool mounts_none(const struct mounts *mt) {
        return mt->read && mt->nm == 0;
}

static int add_bad_line(struct cg_limits *l, const char *path, const char *buf, size_t n, unsigned line);

/* Read and parse mountinfo once. 1: mt->m is there; 0: no limit can be
 * known (a note or an error says why: mounts_none()); -ENOMEM. */
static int load_mounts(struct cg_limits *l, struct mounts *mt) {
        _cleanup_free_ char *mi = NULL;
        size_t mi_n;
        bool any_v1 = false, any_v2 = false, err = false;
        unsigned line = 0;
        int r;

        if (mt->read)
                return mounts_none(mt) ? 0 : 1;
        mt->read = true;
        /* No mountinfo: no cgroupfs, no limit known. */
        r = read_one(l, mt->path, GR_READ_MAX, &err, &mi, &mi_n);
        if (r == 0 && !err)
                r = add_note(l, "%s does not exist (no /proc?): no cgroup can be found, no limit known", mt->path);
        if (err)
                /* An unreadable or empty /proc file spoils both, like a bad line. */
                l->cpu_error = l->mem_error = true;
        if (r <= 0)
                return r < 0 ? r : 0;
        r = cg_parse_mountinfo(mi, mi_n, &mt->m, &mt->nm, &line);
        if (r == -EBADMSG)
                return add_bad_line(l, mt->path, mi, mi_n, line);
        if (r < 0)
                return r;
        for (size_t i = 0; i < mt->nm; i++) {
                any_v1 |= !mt->m[i].v2;
                any_v2 |= mt->m[i].v2;
        }
        l->layout = any_v1 && any_v2 ? CG_LAYOUT_HYBRID : any_v1 ? CG_LAYOUT_V1 : any_v2 ? CG_LAYOUT_V2 : CG_LAYOUT_NONE;
        if (l->layout == CG_LAYOUT_NONE)
                return add_note(l, "no cgroup or cgroup2 mount in %s: no limit known", mt->path);
        return 1;
}

/* Resolve one controller; 1 with *ret filled, 0 when no limit is known
 * (with a note that says why), -ENOMEM. */
static int resolve(struct cg_limits *l, struct mounts *mt, const char *cg_file, const struct cg_member *mem,
                   size_t nmem, const char *controller, const char *subpath, struct cg_dir *ret) {
        const struct cg_member *who;
        bool v2;
        int r = -EAGAIN;

        if (mt->kernel_first && !mt->read)
                r = cg_resolve_kernel(mem, nmem, controller, ret);
        if (r == -EAGAIN) {
                r = load_mounts(l, mt);
                if (r <= 0)
                        return r;
                r = cg_resolve(mt->m, mt->nm, mem, nmem, controller, ret);
        }
        who = select_member(mem, nmem, controller, &v2);
        if (r == -EXDEV)
                return add_note(l, "%s cgroup %s is outside this cgroup namespace's view; no %s limit known",
                                controller, who ? who->path : "?", controller);
        if (r == -ENOENT) {
                if (!who)
                        return add_note(l, "no %s controller in %s (not mounted, or no v2 line); no %s limit known",
                                        controller, cg_file, controller);
                return add_note(l, "%s cgroup %s is outside every cgroup mount of %s; no %s limit known",
                                controller, who->path, mt->path, controller);
        }
        if (r < 0)
                return r;
        if (subpath) {
                r = apply_subpath(l, mt->sysroot, controller, subpath, ret);
                if (r == -EXDEV || r == -EINVAL) {
                        cg_dir_done(ret);
                        return add_note(l, "%s: sub-cgroup \"%s\" of %s %s; no %s limit known", controller,
                                        subpath, who ? who->path : "?",
                                        r == -EXDEV ? "climbs above the cgroup mount" : "is not a relative path",
                                        controller);
                }
                if (r < 0) {
                        cg_dir_done(ret);
                        return r;
                }
        }
        return 1;
}

/* A malformed /proc line: quote that line, not the whole file. It spoils
 * both CPU and memory, since neither can be placed without it. */
static int add_bad_line(struct cg_limits *l, const char *path, const char *buf, size_t n, unsigned line) {
        size_t pos = 0, len = 0;
        const char *s = buf;
        char q[512];

        for (unsigned i = 0; i < line && buf_next_line(buf, n, &pos, &s, &len); i++)
                ;
        quote(s, len, q, sizeof q);
        l->cpu_error = l->mem_error = true;
        return add_error(l, path, "malformed line %u: %s", line, q);
}

static int read_limits(struct cg_limits *l, const char *sysroot, pid_t pid, const char *subpath, unsigned what) {
        _cleanup_free_ char *mi_path = NULL, *cg_path = NULL, *cg = NULL;
        struct cg_member *mem = NULL;
        size_t nmem = 0, cg_n;
        struct cg_dir d = {};
        struct walk w = { .l = l, .sysroot = sysroot };
        struct mounts mt = { .sysroot = sysroot };
        char proc[32];
        bool err = false;
        unsigned line = 0;
        long ps;
        int r;

        l->cpu_skipped = !(what & CG_READ_CPU);
        l->mem_skipped = !(what & (CG_READ_MEMORY | CG_READ_MEMORY_FAST));
        if (!(what & (CG_READ_ALL | CG_READ_MEMORY_FAST)))
                return 0;
        if (pid == 0)
                snprintf(proc, sizeof proc, "/proc/self");
        else
                snprintf(proc, sizeof proc, "/proc/%ld", (long)pid);
        mi_path = root_path(sysroot, proc, "mountinfo");
        cg_path = root_path(sysroot, proc, "cgroup");
        if (!mi_path || !cg_path)
                return -ENOMEM;
        mt.path = mi_path;
        /* The launch path asks the kernel about the one mount it needs
         * (cg_resolve_kernel) and reads mountinfo only when that cannot
         * decide: mountinfo was the largest cost of a start (60-150 us of
         * kernel time here, for every mount of the namespace). The full
         * reads (`gorral limits`, --strict) report the layout, so they
         * read it first, as does a sysroot (the kernel cannot describe a
         * fixture tree) or another process (its mounts may not be ours). */
        mt.kernel_first = (what & CG_READ_ALL) != CG_READ_ALL && !sysroot && pid == 0;
        if (!mt.kernel_first) {
                r = load_mounts(l, &mt);
                if (r <= 0)
                        goto out;
        }

        r = read_one(l, cg_path, GR_READ_MAX, &err, &cg, &cg_n);
        if (r == 0 && !err)
                r = add_note(l, "%s does not exist: the process's cgroups are unknown, no limit known", cg_path);
        if (r <= 0)
                goto out;
        r = cg_parse_proc_cgroup(cg, cg_n, &mem, &nmem, &line);
        if (r == -EBADMSG) {
                r = add_bad_line(l, cg_path, cg, cg_n, line);
                goto out;
        }
        if (r < 0)
                goto out;

        ps = sysconf(_SC_PAGESIZE);
        if (ps <= 0)
                ps = 4096;
        w.nolimit_v1 = (uint64_t)(LONG_MAX / ps * ps);

        r = !(what & CG_READ_CPU) ? 0 : resolve(l, &mt, cg_path, mem, nmem, "cpu", subpath, &d);
        if (r > 0) {
                w.v2 = d.v2;
                r = set_str(&l->cpu_cgroup, strdup(d.cgroup_path));
                if (r >= 0)
                        r = walk_levels(&d, visit_cpu, &w);
                cg_dir_done(&d);
        }
        if (r < 0 || mounts_none(&mt))
                goto out;

        r = !(what & CG_READ_CPUSET) ? 0 : resolve(l, &mt, cg_path, mem, nmem, "cpuset", subpath, &d);
        if (r > 0) {
                r = read_cpuset(l, sysroot, &d);
                cg_dir_done(&d);
        }
        if (r < 0 || mounts_none(&mt))
                goto out;

        r = l->mem_skipped ? 0 : resolve(l, &mt, cg_path, mem, nmem, "memory", subpath, &d);
        if (r > 0) {
                w.v2 = d.v2;
                r = set_str(&l->memory_cgroup, strdup(d.cgroup_path));
                /* v1 fast: hierarchical_memory_limit alone says it all. */
                if (r >= 0 && !(d.v2 == false && !(what & CG_READ_MEMORY)))
                        r = walk_levels(&d, visit_mem, &w);
                if (r >= 0 && !d.v2)
                        r = read_v1_stat(&w, d.dir);
                cg_dir_done(&d);
        }
out:
        /* An unreadable or empty /proc file spoils both, like a bad line. */
        if (err)
                l->cpu_error = l->mem_error = true;
        cg_mounts_free(mt.m, mt.nm);
        cg_members_free(mem, nmem);
        return r < 0 ? r : 0;
}

int cg_read_limits_opt(const char *sysroot, pid_t pid, const char *subpath, unsigned what, struct cg_limits *ret) {
        struct cg_limits l = {};
        int r;

        if (sysroot && sysroot[0] == '\0')
                sysroot = NULL;
        r = read_limits(&l, sysroot, pid, subpath, what);
        if (r < 0) {
                cg_limits_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

int cg_read_limits_sub(const char *sysroot, pid_t pid, const char *subpath, struct cg_limits *ret) {
        return cg_read_limits_opt(sysroot, pid, subpath, CG_READ_ALL, ret);
}

int cg_read_limits(const char *sysroot, pid_t pid, struct cg_limits *ret) {
        return cg_read_limits_sub(sysroot, pid, NULL, ret);
}
