/* json.c: the strict reader and the bounded writer. See json.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/json.h"
#include "gorral/util.h"

/* Longest number text handed to strtod(); a longer one is refused rather
 * than copied to the heap (no protocol value needs 256 digits). */
#define JSON_NUMBER_MAX 256

size_t utf8_sequence_len(const unsigned char *s, size_t n) {
        unsigned char c = s[0];
        unsigned char lo = 0x80, hi = 0xbf;
        size_t k;

        if (n == 0)
                return 0;
        if (c < 0x80)
                return 1;
        /* The table of RFC 3629 section 4: the second byte's range is what
         * rules out overlong forms (E0, F0), surrogates (ED) and code
         * points past U+10FFFF (F4). */
        if (c >= 0xc2 && c <= 0xdf)
                k = 2;
        else if (c >= 0xe0 && c <= 0xef) {
                k = 3;
                if (c == 0xe0)
                        lo = 0xa0;
                else if (c == 0xed)
                        hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                k = 4;
                if (c == 0xf0)
                        lo = 0x90;
                else if (c == 0xf4)
                        hi = 0x8f;
        } else
                return 0;
        if (n < k || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < k; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return k;
}

static size_t utf8_encode(uint32_t cp, char *out) {
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xe0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* The reader. Pass 1 (build false) validates and counts nodes; pass 2
 * fills an array of exactly that many, so pointers into it never move.
 * Pass 2 can fail only on a duplicate member name (checked there, where
 * the names are decoded). */
struct parser {
        const unsigned char *s;
        size_t len, pos;
        size_t max_depth, max_nodes;
        bool build;
        struct json_value *nodes;
        size_t n_nodes;
        char *strings;
        size_t n_strings;
        struct json_error err;
};

static int fail(struct parser *p, int r, const char *what) {
        p->err.offset = p->pos;
        p->err.what = what;
        return r;
}

static void skip_ws(struct parser *p) {
        while (p->pos < p->len &&
               (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
                p->pos++;
}

static int hex4(struct parser *p, uint32_t *ret) {
        uint32_t v = 0;

        for (int i = 0; i < 4; i++, p->pos++) {
                unsigned char c;

                if (p->pos >= p->len)
                        return fail(p, -EINVAL, "unterminated \\u escape");
                c = p->s[p->pos];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (uint32_t)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (uint32_t)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (uint32_t)(c - 'A' + 10);
                else
                        return fail(p, -EINVAL, "expected a hex digit");
        }
        *ret = v;
        return 0;
}

/* At the opening quote. In pass 2 the decoded text goes to the arena:
 * never longer than its source, so the arena (input length + 1) holds
 * every string of the document with its NUL. */
static int parse_string(struct parser *p, const char **ret, size_t *ret_len) {
        char *out = p->build ? p->strings + p->n_strings : NULL;
        size_t n = 0;
        int r;

        p->pos++;
        for (;;) {
                unsigned char c;

                if (p->pos >= p->len)
                        return fail(p, -EINVAL, "unterminated string");
                c = p->s[p->pos];
                if (c == '"') {
                        p->pos++;
                        break;
                }
                if (c < 0x20)
                        return fail(p, -EINVAL, "control character in a string");
                if (c == '\\') {
                        char e;
                        uint32_t cp;
                        size_t at = p->pos;

                        p->pos++;
                        if (p->pos >= p->len)
                                return fail(p, -EINVAL, "unterminated string");
                        e = (char)p->s[p->pos];
                        switch (e) {
                        case '"': case '\\': case '/': break;
                        case 'b': e = '\b'; break;
                        case 'f': e = '\f'; break;
                        case 'n': e = '\n'; break;
                        case 'r': e = '\r'; break;
                        case 't': e = '\t'; break;
                        case 'u':
                                p->pos++;
                                r = hex4(p, &cp);
                                if (r < 0)
                                        return r;
                                if (cp >= 0xdc00 && cp <= 0xdfff) {
                                        p->pos = at;
                                        return fail(p, -EINVAL, "lone low surrogate");
                                }
                                if (cp >= 0xd800 && cp <= 0xdbff) {
                                        uint32_t lo;

                                        if (p->pos + 1 >= p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                                                p->pos = at;
                                                return fail(p, -EINVAL, "lone high surrogate");
                                        }
                                        p->pos += 2;
                                        r = hex4(p, &lo);
                                        if (r < 0)
                                                return r;
                                        if (lo < 0xdc00 || lo > 0xdfff) {
                                                p->pos = at;
                                                return fail(p, -EINVAL, "lone high surrogate");
                                        }
                                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                }
                                if (cp == 0) {
                                        p->pos = at;
                                        return fail(p, -EINVAL, "\\u0000 is not allowed");
                                }
                                if (out)
                                        n += utf8_encode(cp, out + n);
                                continue;
                        default:
                                return fail(p, -EINVAL, "invalid escape");
                        }
                        if (out)
                                out[n] = e;
                        n++;
                        p->pos++;
                        continue;
                }
                if (c >= 0x80) {
                        size_t k = utf8_sequence_len(p->s + p->pos, p->len - p->pos);

                        if (k == 0)
                                return fail(p, -EINVAL, "invalid UTF-8");
                        if (out)
                                memcpy(out + n, p->s + p->pos, k);
                        n += k;
                        p->pos += k;
                        continue;
                }
                if (out)
                        out[n] = (char)c;
                n++;
                p->pos++;
        }
        if (out) {
                out[n] = 0;
                p->n_strings += n + 1;
                *ret = out;
                *ret_len = n;
        }
        return 0;
}

static int parse_number(struct parser *p, struct json_value *v) {
        size_t start = p->pos;
        bool neg = false, real = false;
        uint64_t acc = 0;
        bool overflow = false;

        if (p->s[p->pos] == '-') {
                neg = true;
                p->pos++;
        }
        if (p->pos >= p->len || !is_digit(p->s[p->pos]))
                return fail(p, -EINVAL, "expected a digit");
        if (p->s[p->pos] == '0') {
                p->pos++;
                if (p->pos < p->len && is_digit(p->s[p->pos]))
                        return fail(p, -EINVAL, "leading zero");
        } else
                while (p->pos < p->len && is_digit(p->s[p->pos])) {
                        unsigned d = p->s[p->pos] - '0';

                        if (acc > (UINT64_MAX - d) / 10)
                                overflow = true;
                        else
                                acc = acc * 10 + d;
                        p->pos++;
                }
        if (p->pos < p->len && p->s[p->pos] == '.') {
                real = true;
                p->pos++;
                if (p->pos >= p->len || !is_digit(p->s[p->pos]))
                        return fail(p, -EINVAL, "expected a digit after '.'");
                while (p->pos < p->len && is_digit(p->s[p->pos]))
                        p->pos++;
        }
        if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
                real = true;
                p->pos++;
                if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
                        p->pos++;
                if (p->pos >= p->len || !is_digit(p->s[p->pos]))
                        return fail(p, -EINVAL, "expected a digit in the exponent");
                while (p->pos < p->len && is_digit(p->s[p->pos]))
                        p->pos++;
        }
        if (real) {
                char buf[JSON_NUMBER_MAX + 1];
                size_t n = p->pos - start;
                double d;

                if (n > JSON_NUMBER_MAX) {
                        p->pos = start;
                        return fail(p, -E2BIG, "number too long");
                }
                memcpy(buf, p->s + start, n);
                buf[n] = 0;
                /* The grammar was checked above; strtod() only converts.
                 * gorral never calls setlocale(): '.' is the radix. */
                d = strtod(buf, NULL);
                if (isinf(d)) {
                        p->pos = start;
                        return fail(p, -ERANGE, "number out of range");
                }
                if (v) {
                        v->type = JSON_REAL;
                        v->real = d;
                }
                return 0;
        }
        if (overflow || (neg ? acc > (uint64_t)INT64_MAX + 1 : acc > (uint64_t)INT64_MAX)) {
                p->pos = start;
                return fail(p, -ERANGE, "integer out of range");
        }
        if (v) {
                v->type = JSON_INT;
                v->integer = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
        }
        return 0;
}

static int parse_literal(struct parser *p, const char *word) {
        size_t n = strlen(word);

        if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
                return fail(p, -EINVAL, "invalid literal");
        p->pos += n;
        return 0;
}

static int parse_value(struct parser *p, size_t depth, const char *key, struct json_value **ret);

static int parse_container(struct parser *p, size_t depth, struct json_value *v, bool object) {
        struct json_value *last = NULL;
        size_t n = 0;
        char close = object ? '}' : ']';
        int r;

        if (depth + 1 > p->max_depth)
                return fail(p, -E2BIG, "nested too deep");
        p->pos++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == close) {
                p->pos++;
                return 0;
        }
        for (;;) {
                const char *key = NULL;
                struct json_value *c = NULL;

                skip_ws(p);
                if (object) {
                        size_t key_at = p->pos, key_len;

                        if (p->pos >= p->len || p->s[p->pos] != '"')
                                return fail(p, -EINVAL, "expected a member name");
                        if (n >= JSON_MAX_MEMBERS)
                                return fail(p, -E2BIG, "too many members");
                        r = parse_string(p, &key, &key_len);
                        if (r < 0)
                                return r;
                        if (v)
                                for (struct json_value *m = v->child; m; m = m->next)
                                        if (strcmp(m->key, key) == 0) {
                                                p->pos = key_at;
                                                return fail(p, -EINVAL, "duplicate member name");
                                        }
                        skip_ws(p);
                        if (p->pos >= p->len || p->s[p->pos] != ':')
                                return fail(p, -EINVAL, "expected ':'");
                        p->pos++;
                }
                r = parse_value(p, depth + 1, key, &c);
                if (r < 0)
                        return r;
                if (v) {
                        if (last)
                                last->next = c;
                        else
                                v->child = c;
                        last = c;
                }
                n++;
                skip_ws(p);
                if (p->pos >= p->len)
                        return fail(p, -EINVAL, object ? "expected ',' or '}'" : "expected ',' or ']'");
                if (p->s[p->pos] == ',') {
                        p->pos++;
                        continue;
                }
                if (p->s[p->pos] == close) {
                        p->pos++;
                        break;
                }
                return fail(p, -EINVAL, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        if (v)
                v->n_children = n;
        return 0;
}

static int parse_value(struct parser *p, size_t depth, const char *key, struct json_value **ret) {
        struct json_value *v = NULL;
        unsigned char c;
        int r;

        skip_ws(p);
        if (p->pos >= p->len)
                return fail(p, -EINVAL, "expected a value");
        if (p->n_nodes >= p->max_nodes)
                return fail(p, -E2BIG, "too many values");
        if (p->build) {
                v = &p->nodes[p->n_nodes];
                *v = (struct json_value){ .key = key };
        }
        p->n_nodes++;
        c = p->s[p->pos];
        switch (c) {
        case '{':
        case '[':
                if (v)
                        v->type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
                r = parse_container(p, depth, v, c == '{');
                break;
        case '"': {
                const char *s = NULL;
                size_t n = 0;

                r = parse_string(p, &s, &n);
                if (v) {
                        v->type = JSON_STRING;
                        v->str = s;
                        v->len = n;
                }
                break;
        }
        case 't':
        case 'f':
                r = parse_literal(p, c == 't' ? "true" : "false");
                if (v) {
                        v->type = JSON_BOOL;
                        v->boolean = c == 't';
                }
                break;
        case 'n':
                r = parse_literal(p, "null");
                if (v)
                        v->type = JSON_NULL;
                break;
        default:
                if (c == '-' || is_digit(c))
                        r = parse_number(p, v);
                else
                        r = fail(p, -EINVAL, "expected a value");
        }
        if (r >= 0)
                *ret = v;
        return r;
}

static int parse_pass(struct parser *p) {
        struct json_value *root = NULL;
        int r;

        p->pos = 0;
        p->n_nodes = 0;
        p->n_strings = 0;
        r = parse_value(p, 0, NULL, &root);
        if (r < 0)
                return r;
        skip_ws(p);
        if (p->pos != p->len)
                return fail(p, -EINVAL, "trailing characters after the value");
        return 0;
}

int json_parse(const char *buf, size_t len, const struct json_limits *lim, struct json_doc **ret,
               struct json_error *reterr) {
        struct parser p = {
                .s = (const unsigned char *)buf,
                .len = len,
                .max_depth = lim ? lim->max_depth : JSON_DEFAULT_DEPTH,
                .max_nodes = lim ? lim->max_nodes : JSON_DEFAULT_NODES,
        };
        struct json_doc *d;
        size_t n;
        int r;

        if (p.max_depth > JSON_MAX_DEPTH_CAP)
                p.max_depth = JSON_MAX_DEPTH_CAP;
        r = parse_pass(&p);
        if (r < 0)
                goto fail;
        n = p.n_nodes;
        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->nodes = calloc(n, sizeof *d->nodes);
        d->strings = malloc(len + 1);
        if (!d->nodes || !d->strings) {
                json_doc_free(d);
                return -ENOMEM;
        }
        p.build = true;
        p.nodes = d->nodes;
        p.strings = d->strings;
        r = parse_pass(&p);
        if (r < 0) {
                json_doc_free(d);
                goto fail;
        }
        d->root = d->nodes;
        d->n_nodes = n;
        *ret = d;
        return 0;
fail:
        if (reterr)
                *reterr = p.err;
        return r;
}

struct json_doc *json_doc_free(struct json_doc *d) {
        if (!d)
                return NULL;
        free(d->nodes);
        free(d->strings);
        free(d);
        return NULL;
}

const struct json_value *json_get(const struct json_value *v, const char *key) {
        if (!v || v->type != JSON_OBJECT)
                return NULL;
        for (const struct json_value *m = v->child; m; m = m->next)
                if (strcmp(m->key, key) == 0)
                        return m;
        return NULL;
}

const char *json_get_string(const struct json_value *v, const char *key) {
        const struct json_value *m = json_get(v, key);

        return m && m->type == JSON_STRING ? m->str : NULL;
}

const char *json_type_to_string(enum json_type t) {
        static const char *const names[] = {
                [JSON_NULL] = "null", [JSON_BOOL] = "boolean", [JSON_INT] = "integer", [JSON_REAL] = "number",
                [JSON_STRING] = "string", [JSON_ARRAY] = "array", [JSON_OBJECT] = "object",
        };

        return t >= 0 && (size_t)t < ELEMENTSOF(names) ? names[t] : "invalid";
}

/* The writer. */
void json_writer_init(struct json_writer *w, size_t max) {
        *w = (struct json_writer){ .max = max };
}

void json_writer_done(struct json_writer *w) {
        free(w->buf);
        *w = (struct json_writer){ .max = w->max };
}

void json_writer_reset(struct json_writer *w) {
        w->len = 0;
        if (w->buf)
                w->buf[0] = 0;
        w->error = 0;
        w->depth = 0;
        w->has_items = 0;
        w->is_object = 0;
        w->after_key = false;
}

int json_writer_steal(struct json_writer *w, char **ret, size_t *ret_len) {
        char *b;

        if (w->error)
                return w->error;
        b = w->buf ? w->buf : strdup("");
        if (!b)
                return -ENOMEM;
        *ret = b;
        *ret_len = w->len;
        w->buf = NULL;
        w->cap = 0;
        json_writer_reset(w);
        return 0;
}

static void set_error(struct json_writer *w, int r) {
        if (!w->error)
                w->error = r;
}

static void put(struct json_writer *w, const char *s, size_t n) {
        if (w->error)
                return;
        if (n > w->max - w->len) {
                set_error(w, -ENOBUFS);
                return;
        }
        if (w->len + n + 1 > w->cap) {
                size_t nc = w->cap ? w->cap : 256;
                char *b;

                while (nc < w->len + n + 1)
                        nc = nc > SIZE_MAX / 2 ? SIZE_MAX : nc * 2;
                if (nc > w->max + 1)
                        nc = w->max + 1;
                b = realloc(w->buf, nc);
                if (!b) {
                        set_error(w, -ENOMEM);
                        return;
                }
                w->buf = b;
                w->cap = nc;
        }
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = 0;
}

static void putc1(struct json_writer *w, char c) { put(w, &c, 1); }

static bool in_object(const struct json_writer *w) {
        return w->depth > 0 && (w->is_object >> w->depth & 1);
}

/* Before a value: the comma, and the check that an object member has its
 * name. false when nothing may be written. */
static bool before_value(struct json_writer *w) {
        if (w->error)
                return false;
        if (w->after_key) {
                w->after_key = false;
                return true;
        }
        if (in_object(w)) {
                set_error(w, -EINVAL);
                return false;
        }
        if (w->depth > 0) {
                if (w->has_items >> w->depth & 1)
                        putc1(w, ',');
                w->has_items |= UINT64_C(1) << w->depth;
        }
        return !w->error;
}

static void begin(struct json_writer *w, bool object) {
        if (!before_value(w))
                return;
        if (w->depth >= JSON_WRITER_MAX_DEPTH) {
                set_error(w, -E2BIG);
                return;
        }
        w->depth++;
        w->has_items &= ~(UINT64_C(1) << w->depth);
        if (object)
                w->is_object |= UINT64_C(1) << w->depth;
        else
                w->is_object &= ~(UINT64_C(1) << w->depth);
        putc1(w, object ? '{' : '[');
}

static void end(struct json_writer *w, bool object) {
        if (w->error)
                return;
        if (w->depth == 0 || in_object(w) != object || w->after_key) {
                set_error(w, -EINVAL);
                return;
        }
        w->depth--;
        putc1(w, object ? '}' : ']');
}

void json_begin_object(struct json_writer *w) { begin(w, true); }
void json_end_object(struct json_writer *w) { end(w, true); }
void json_begin_array(struct json_writer *w) { begin(w, false); }
void json_end_array(struct json_writer *w) { end(w, false); }

static void put_escaped(struct json_writer *w, const char *s, size_t n) {
        const unsigned char *u = (const unsigned char *)s;
        size_t run = 0; /* start of the bytes not yet written */

        putc1(w, '"');
        for (size_t i = 0; i < n && !w->error;) {
                unsigned char c = u[i];
                char esc[8];
                const char *rep = NULL;
                size_t rep_len = 0, k = 1;

                if (c >= 0x80) {
                        k = utf8_sequence_len(u + i, n - i);
                        if (k == 0) {
                                rep = "\xef\xbf\xbd"; /* U+FFFD for each byte that starts no valid sequence */
                                rep_len = 3;
                                k = 1;
                        }
                } else if (c == '"' || c == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char)c;
                        rep = esc;
                        rep_len = 2;
                } else if (c < 0x20 || c == 0x7f) {
                        const char *short_esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" :
                                                c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;

                        if (short_esc) {
                                rep = short_esc;
                                rep_len = 2;
                        } else {
                                snprintf(esc, sizeof esc, "\\u%04x", c);
                                rep = esc;
                                rep_len = 6;
                        }
                }
                if (rep) {
                        put(w, s + run, i - run);
                        put(w, rep, rep_len);
                        run = i + k;
                }
                i += k;
        }
        put(w, s + run, n - run);
        putc1(w, '"');
}

void json_key(struct json_writer *w, const char *key) {
        if (w->error)
                return;
        if (!in_object(w) || w->after_key || !key) {
                set_error(w, -EINVAL);
                return;
        }
        if (w->has_items >> w->depth & 1)
                putc1(w, ',');
        w->has_items |= UINT64_C(1) << w->depth;
        put_escaped(w, key, strlen(key));
        putc1(w, ':');
        w->after_key = true;
}

void json_string_n(struct json_writer *w, const char *s, size_t n) {
        if (before_value(w))
                put_escaped(w, s, n);
}

void json_string(struct json_writer *w, const char *s) {
        if (!s)
                json_null(w);
        else
                json_string_n(w, s, strlen(s));
}

void json_int(struct json_writer *w, int64_t v) {
        char b[24];
        int k = snprintf(b, sizeof b, "%" PRId64, v);

        if (before_value(w))
                put(w, b, (size_t)k);
}

void json_uint(struct json_writer *w, uint64_t v) {
        char b[24];
        int k = snprintf(b, sizeof b, "%" PRIu64, v);

        if (before_value(w))
                put(w, b, (size_t)k);
}

void json_real(struct json_writer *w, double v) {
        char b[40];
        int k;

        if (!isfinite(v)) {
                json_null(w);
                return;
        }
        /* 17 significant digits read back to the same double; a ".0" keeps
         * an integral value a JSON_REAL for the reader. */
        k = snprintf(b, sizeof b, "%.17g", v);
        if (!strpbrk(b, ".eE"))
                k += snprintf(b + k, sizeof b - (size_t)k, ".0");
        if (before_value(w))
                put(w, b, (size_t)k);
}

void json_bool(struct json_writer *w, bool v) {
        if (before_value(w))
                put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json_writer *w) {
        if (before_value(w))
                put(w, "null", 4);
}

void json_raw(struct json_writer *w, const char *s, size_t n) {
        if (before_value(w))
                put(w, s, n);
}

void json_value(struct json_writer *w, const struct json_value *v) {
        switch (v->type) {
        case JSON_NULL: json_null(w); break;
        case JSON_BOOL: json_bool(w, v->boolean); break;
        case JSON_INT: json_int(w, v->integer); break;
        case JSON_REAL: json_real(w, v->real); break;
        case JSON_STRING: json_string_n(w, v->str, v->len); break;
        case JSON_ARRAY:
        case JSON_OBJECT:
                begin(w, v->type == JSON_OBJECT);
                for (const struct json_value *c = v->child; c && !w->error; c = c->next) {
                        if (v->type == JSON_OBJECT)
                                json_key(w, c->key);
                        json_value(w, c);
                }
                end(w, v->type == JSON_OBJECT);
                break;
        default:
                set_error(w, -EINVAL);
        }
}
