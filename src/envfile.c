/* envfile.c: env_file KEY=VALUE files and ${VAR} interpolation (pure). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/envfile.h"
#include "gorral/util.h"

/* A growable byte buffer for building values. */
struct sbuf {
        char *p;
        size_t n, cap;
};

static int sbuf_add(struct sbuf *b, const char *s, size_t n) {
        if (n > SIZE_MAX - b->n - 1)
                return -ENOMEM;
        if (b->n + n + 1 > b->cap) {
                size_t nc = b->cap ? b->cap : 32;
                char *np;

                while (nc < b->n + n + 1)
                        nc *= 2;
                np = realloc(b->p, nc);
                if (!np)
                        return -ENOMEM;
                b->p = np;
                b->cap = nc;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = '\0';
        return 0;
}

static int sbuf_addc(struct sbuf *b, char c) {
        return sbuf_add(b, &c, 1);
}

/* Characters (not bytes) in s[0..n): UTF-8 continuation bytes do not
 * count, as libyaml counts its marks. */
static unsigned char_count(const char *s, size_t n) {
        unsigned c = 0;

        for (size_t i = 0; i < n; i++)
                if (((unsigned char)s[i] & 0xc0) != 0x80)
                        c++;
        return c;
}

bool env_name_valid(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';

                if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
                        return false;
        }
        return true;
}

static int fail(struct envfile_error *e, unsigned line, const char *linestart, const char *at, const char *fmt, ...)
        _printf_(5, 6);
static int fail(struct envfile_error *e, unsigned line, const char *linestart, const char *at, const char *fmt, ...) {
        va_list ap;

        e->line = line;
        e->column = char_count(linestart, (size_t)(at - linestart)) + 1;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static bool blank(char c) {
        return c == ' ' || c == '\t';
}

/* One value, from v to end (the line without its newline), into b. */
static int parse_value(const char *ls, const char *v, const char *end, unsigned line, struct sbuf *b,
                       struct envfile_error *e) {
        const char *p;
        char q;
        int r;

        while (v < end && blank(*v))
                v++;
        if (v == end || (*v != '"' && *v != '\'')) {
                while (end > v && blank(end[-1]))
                        end--;
                return sbuf_add(b, v, (size_t)(end - v));
        }
        q = *v;
        for (p = v + 1; p < end && *p != q; p++) {
                if (q == '"' && *p == '\\') {
                        if (p + 1 >= end)
                                break;
                        p++;
                        switch (*p) {
                        case '"': case '\\': case '$': r = sbuf_addc(b, *p); break;
                        case 'n': r = sbuf_addc(b, '\n'); break;
                        case 't': r = sbuf_addc(b, '\t'); break;
                        default:
                                return fail(e, line, ls, p - 1, "unknown escape \\%c in a double-quoted value "
                                            "(expected \\\" \\\\ \\n \\t or \\$)", *p);
                        }
                } else
                        r = sbuf_addc(b, *p);
                if (r < 0)
                        return r;
        }
        if (p >= end)
                return fail(e, line, ls, v, "unterminated %s quote (a value ends at the end of its line)",
                            q == '"' ? "double" : "single");
        for (p++; p < end && blank(*p); p++)
                ;
        if (p < end && *p != '#')
                return fail(e, line, ls, p, "unexpected text after the closing quote");
        /* An empty quoted value still needs a buffer. */
        return b->p ? 0 : sbuf_add(b, "", 0);
}

int envfile_parse(const char *buf, size_t n, char ***ret_vars, size_t *ret_n, struct envfile_error *reterr) {
        char **vars = NULL;
        size_t nv = 0, cap = 0;
        unsigned line = 0;
        const char *p = buf, *bend = buf + n;
        int r = 0;

        while (p < bend) {
                const char *eol = memchr(p, '\n', (size_t)(bend - p));
                const char *ls = p, *le = eol ? eol : bend, *k, *ke;
                struct sbuf b = { 0 };
                size_t ll;

                line++;
                p = eol ? eol + 1 : bend;
                if (le > ls && le[-1] == '\r')
                        le--;
                ll = (size_t)(le - ls);
                if (ll > n)
                        break; /* cannot happen; tells the compiler so */
                if (memchr(ls, '\0', ll)) {
                        r = fail(reterr, line, ls, ls, "NUL byte in line");
                        goto out;
                }
                for (k = ls; k < le && blank(*k); k++)
                        ;
                if (k == le || *k == '#')
                        continue;
                for (ke = k; ke < le && *ke != '='; ke++)
                        ;
                if (ke == le) {
                        r = fail(reterr, line, ls, k, "expected KEY=VALUE");
                        goto out;
                }
                if (!env_name_valid(k, (size_t)(ke - k))) {
                        r = fail(reterr, line, ls, k, "invalid variable name \"%.*s\" (expected letters, digits "
                                 "and _, not starting with a digit)", (int)((ke - k) > 64 ? 64 : (ke - k)), k);
                        goto out;
                }
                if (nv >= ENVFILE_MAX_VARS) {
                        fail(reterr, line, ls, k, "more than %u variables", ENVFILE_MAX_VARS);
                        r = -E2BIG;
                        goto out;
                }
                r = sbuf_add(&b, k, (size_t)(ke - k) + 1);
                if (r >= 0)
                        r = parse_value(ls, ke + 1, le, line, &b, reterr);
                if (r >= 0)
                        r = GROW_ARRAY(vars, cap, nv + 2, (size_t)ENVFILE_MAX_VARS + 1);
                if (r < 0) {
                        free(b.p);
                        goto out;
                }
                vars[nv++] = b.p;
                vars[nv] = NULL;
        }
        if (!vars) {
                vars = calloc(1, sizeof *vars);
                if (!vars)
                        return -ENOMEM;
        }
        *ret_vars = vars;
        if (ret_n)
                *ret_n = nv;
        return 0;
out:
        if (vars)
                vars[nv] = NULL;
        strv_free(vars);
        return r;
}

int env_interpolate(const char *s, size_t n, char *const *envp, char **ret, size_t *reterr_offset, char *errbuf,
                    size_t errlen) {
        struct sbuf b = { 0 };
        size_t i = 0;
        int r = 0;

        while (i < n) {
                const char *name, *close, *val, *def = NULL;
                size_t nl, dl = 0;
                bool colon = false;

                if (s[i] != '$' || i + 1 >= n || (s[i + 1] != '$' && s[i + 1] != '{')) {
                        r = sbuf_addc(&b, s[i++]);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                if (s[i + 1] == '$') {
                        r = sbuf_addc(&b, '$');
                        if (r < 0)
                                goto fail;
                        i += 2;
                        continue;
                }
                name = s + i + 2;
                close = memchr(name, '}', n - i - 2);
                if (!close) {
                        snprintf(errbuf, errlen, "unterminated ${ (expected ${NAME} or ${NAME:-default}; "
                                 "$$ is a literal $)");
                        goto einval;
                }
                for (nl = 0; name + nl < close && name[nl] != ':' && name[nl] != '-'; nl++)
                        ;
                if (name + nl < close) {
                        colon = name[nl] == ':';
                        if (colon && (name + nl + 1 >= close || name[nl + 1] != '-')) {
                                snprintf(errbuf, errlen, "invalid ${%.*s} (expected ${NAME} or "
                                         "${NAME:-default})", (int)((close - name) > 64 ? 64 : (close - name)), name);
                                goto einval;
                        }
                        def = name + nl + 1 + colon;
                        dl = (size_t)(close - def);
                }
                if (!env_name_valid(name, nl)) {
                        snprintf(errbuf, errlen, "invalid variable name in ${%.*s} (expected letters, digits "
                                 "and _)", (int)((close - name) > 64 ? 64 : (close - name)), name);
                        goto einval;
                }
                val = env_lookup(envp, name, nl);
                if (def && (!val || (colon && !*val))) {
                        r = sbuf_add(&b, def, dl);
                } else if (!val) {
                        snprintf(errbuf, errlen, "variable ${%.*s} is not set (set it, or give a default: "
                                 "${%.*s:-default})", (int)(nl > 64 ? 64 : nl), name, (int)(nl > 64 ? 64 : nl), name);
                        goto einval;
                } else
                        r = sbuf_add(&b, val, strlen(val));
                if (r < 0)
                        goto fail;
                i = (size_t)(close - s) + 1;
        }
        if (!b.p && (r = sbuf_add(&b, "", 0)) < 0)
                goto fail;
        *ret = b.p;
        return 0;
einval:
        *reterr_offset = i;
        r = -EINVAL;
fail:
        free(b.p);
        return r;
}
