/* promtext.c: Prometheus text 0.0.4 and OpenMetrics 1.0 bodies as a
 * stream of samples, and the Go runtime metrics gorral reads from them.
 * See promtext.h for what each format accepts. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gorral/promtext.h"
#include "gorral/util.h"

/* Longest number token handed to strtod(): the fast path below takes
 * every value Go's clients write; a longer one (a 300-digit decimal is
 * valid Go) is refused rather than copied to the heap. */
#define NUMBER_MAX 255u

enum {
        C_BLANK = 1 << 0,       /* space, tab: separators in text */
        C_METRIC_START = 1 << 1,
        C_METRIC = 1 << 2,
        C_LABEL_START = 1 << 3,
        C_LABEL = 1 << 4,
        C_DIGIT = 1 << 5,
};

static const uint8_t cls[256] = {
        [' '] = C_BLANK,
        ['\t'] = C_BLANK,
        [':'] = C_METRIC_START | C_METRIC,
        ['_'] = C_METRIC_START | C_METRIC | C_LABEL_START | C_LABEL,
        ['a' ... 'z'] = C_METRIC_START | C_METRIC | C_LABEL_START | C_LABEL,
        ['A' ... 'Z'] = C_METRIC_START | C_METRIC | C_LABEL_START | C_LABEL,
        ['0' ... '9'] = C_METRIC | C_LABEL | C_DIGIT,
};

static inline bool is(char c, unsigned what) {
        return cls[(unsigned char)c] & what;
}

struct parser {
        const char *end;
        bool om;
        struct promtext_error *err;
        unsigned line;
        const char *ls;                 /* start of the current line */

        /* Text: every family by name, as expfmt keys them (see struct
         * family). OpenMetrics: the current family only, below. */
        struct family *ft;
        size_t ft_cap, ft_n;
        uint32_t seed;
        /* The last name resolved and its family: a family's HELP, TYPE and
         * samples come in a run (labels vary, the name repeats), and a
         * name's family never changes once resolved. Reset when the table
         * moves. */
        const char *memo_name;
        size_t memo_len;
        struct family *memo;

        /* OpenMetrics's current family: the last metadata line's name, or
         * the last sample's own name when it matched no declared family. */
        const char *fam;
        size_t fam_len;
        enum promtext_type fam_type;
        bool fam_help, fam_typed, fam_unit, fam_samples;

        struct promtext_label labels[PROMTEXT_LABELS_MAX];
        size_t n_labels;
        char *scratch;                  /* PROMTEXT_LINE_MAX bytes, on the first escape */
        size_t scratch_used;
};

static int fail(struct parser *p, const char *at, const char *fmt, ...) _printf_(3, 4);
static int fail(struct parser *p, const char *at, const char *fmt, ...) {
        unsigned col = 1;
        va_list ap;

        if (!p->err)
                return -EBADMSG;
        for (const char *c = p->ls; c < at; c++)
                if (((unsigned char)*c & 0xc0) != 0x80)
                        col++;
        p->err->line = p->line;
        p->err->column = col;
        va_start(ap, fmt);
        vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* A token for an error message: at most 32 bytes of it. */
#define TOK(s, n) (int)((n) > 32 ? 32 : (n)), (s)

static const char *skip_blanks(const char *q, const char *e) {
        while (q < e && is(*q, C_BLANK))
                q++;
        return q;
}

static const char *scan_metric_name(const char *q, const char *e) {
        if (q >= e || !is(*q, C_METRIC_START))
                return q;
        for (q++; q < e && is(*q, C_METRIC); q++)
                ;
        return q;
}

static bool ieq(const char *s, size_t n, const char *lit) {
        size_t l = strlen(lit);

        return n == l && strncasecmp(s, lit, l) == 0;
}

static bool eq(const char *s, size_t n, const char *lit, size_t l) {
        return n == l && memcmp(s, lit, l) == 0;
}
#define EQ(s, n, lit) eq(s, n, lit, sizeof(lit) - 1)

/* The length of the valid UTF-8 sequence at s[0..n), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included, as
 * Go's utf8.ValidString rejects them). */
static size_t utf8_len(const unsigned char *s, size_t n) {
        unsigned char c = s[0];
        size_t len;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                len = 4, cp = c & 0x07;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0;
        return len;
}

/* ---- numbers ---------------------------------------------------------- */

static const double pow10_exact[] = {
        1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* A number as expfmt reads one: strconv.ParseFloat(s, 64) refusing any
 * 'p', 'P' or '_', which leaves no hexadecimal form (Go wants a 'p'
 * exponent for those) and so exactly the OpenMetrics number: decimal with
 * optional sign, fraction and exponent, or Inf/Infinity with optional
 * sign, or NaN (both in any case). 0, or -EINVAL for a malformed number,
 * -ERANGE for one past the largest double. */
static int parse_number(const char *s, size_t n, double *ret) {
        uint64_t mant = 0;
        int digits = 0, e10 = 0, exp = 0;
        bool neg = false, any = false, slow = false, exp_neg = false;
        size_t i = 0;
        char tmp[NUMBER_MAX + 1];
        char *endp;
        double v;

        if (n == 0)
                return -EINVAL;
        if (s[0] == '+' || s[0] == '-') {
                neg = s[0] == '-';
                i++;
        }
        if (ieq(s + i, n - i, "inf") || ieq(s + i, n - i, "infinity")) {
                *ret = neg ? -INFINITY : INFINITY;
                return 0;
        }
        if (i == 0 && ieq(s, n, "nan")) {
                *ret = NAN;
                return 0;
        }
        for (; i < n && is(s[i], C_DIGIT); i++) {
                any = true;
                if (digits < 19) {
                        mant = mant * 10 + (uint64_t)(s[i] - '0');
                        if (mant)
                                digits++;
                } else {
                        slow = true;
                }
        }
        if (i < n && s[i] == '.') {
                for (i++; i < n && is(s[i], C_DIGIT); i++) {
                        any = true;
                        if (digits < 19) {
                                mant = mant * 10 + (uint64_t)(s[i] - '0');
                                if (mant)
                                        digits++;
                                e10--;
                        } else if (s[i] != '0')
                                slow = true;
                }
        }
        if (!any)
                return -EINVAL;
        if (i < n && (s[i] | 0x20) == 'e') {
                bool ed = false;

                i++;
                if (i < n && (s[i] == '+' || s[i] == '-')) {
                        exp_neg = s[i] == '-';
                        i++;
                }
                for (; i < n && is(s[i], C_DIGIT); i++) {
                        ed = true;
                        if (exp < 100000)
                                exp = exp * 10 + (s[i] - '0');
                }
                if (!ed)
                        return -EINVAL;
                e10 += exp_neg ? -exp : exp;
        }
        if (i != n)
                return -EINVAL;
        if (mant == 0 && !slow) {
                *ret = neg ? -0.0 : 0.0;
                return 0;
        }
        if (!slow && mant <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
                /* Both operands exact: one IEEE operation rounds correctly. */
                v = e10 >= 0 ? (double)mant * pow10_exact[e10] : (double)mant / pow10_exact[-e10];
                *ret = neg ? -v : v;
                return 0;
        }
        if (n > NUMBER_MAX)
                return -EINVAL;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        /* The syntax is checked above; strtod (C locale: gorral never
         * calls setlocale) only converts. Underflow is 0, as in Go. */
        v = strtod(tmp, &endp);
        if (endp != tmp + n)
                return -EINVAL;
        if (isinf(v))
                return -ERANGE;
        *ret = v;
        return 0;
}

/* strconv.ParseInt(s, 10, 64). */
static int parse_int64(const char *s, size_t n, int64_t *ret) {
        uint64_t v = 0, lim;
        bool neg = false;
        size_t i = 0;

        if (n > 0 && (s[0] == '+' || s[0] == '-')) {
                neg = s[0] == '-';
                i++;
        }
        if (i == n)
                return -EINVAL;
        lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (; i < n; i++) {
                unsigned d;

                if (!is(s[i], C_DIGIT))
                        return -EINVAL;
                d = (unsigned)(s[i] - '0');
                if (v > (lim - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = neg ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
}

/* ---- metadata ---------------------------------------------------------- */

static const char *const type_names[_PROMTEXT_TYPE_MAX] = {
        [PROMTEXT_TYPE_NONE] = "none",
        [PROMTEXT_TYPE_COUNTER] = "counter",
        [PROMTEXT_TYPE_GAUGE] = "gauge",
        [PROMTEXT_TYPE_HISTOGRAM] = "histogram",
        [PROMTEXT_TYPE_SUMMARY] = "summary",
        [PROMTEXT_TYPE_UNTYPED] = "untyped",
        [PROMTEXT_TYPE_INFO] = "info",
        [PROMTEXT_TYPE_STATESET] = "stateset",
        [PROMTEXT_TYPE_GAUGEHISTOGRAM] = "gaugehistogram",
        [PROMTEXT_TYPE_UNKNOWN] = "unknown",
};

const char *promtext_type_to_string(enum promtext_type t) {
        if (t < 0 || t >= _PROMTEXT_TYPE_MAX)
                return NULL;
        return type_names[t];
}

/* Text: the four of 0.0.4 and untyped, in any case (expfmt upper-cases
 * before its look-up). OpenMetrics: its eight, lowercase. */
static enum promtext_type type_from_string(const char *s, size_t n, bool om) {
        if (!om) {
                for (enum promtext_type t = PROMTEXT_TYPE_COUNTER; t <= PROMTEXT_TYPE_UNTYPED; t++)
                        if (ieq(s, n, type_names[t]))
                                return t;
                return _PROMTEXT_TYPE_INVALID;
        }
        for (enum promtext_type t = PROMTEXT_TYPE_COUNTER; t < _PROMTEXT_TYPE_MAX; t++)
                if (t != PROMTEXT_TYPE_UNTYPED && eq(s, n, type_names[t], strlen(type_names[t])))
                        return t;
        return _PROMTEXT_TYPE_INVALID;
}

enum meta { META_HELP, META_TYPE, META_UNIT };
static const char *const meta_names[] = { "HELP", "TYPE", "UNIT" };

/* A text family, as expfmt's TextParser keeps one per name: created by
 * the first HELP, TYPE or sample line that names it. */
struct family {
        const char *name; /* into the body */
        size_t len;
        enum promtext_type type;
        bool help;        /* a HELP line was read */
        bool typed;       /* a TYPE line declared it */
        bool has_type;    /* typed, or untyped by a sample (expfmt's Type != nil) */
};

/* FNV-1a, seeded per parse (the address of the parser's stack frame,
 * which ASLR moves) so that a body cannot be built to collide: the
 * scraped service is not trusted to keep the loop's time. */
static size_t name_hash(const struct parser *p, const char *s, size_t n) {
        uint32_t h = 2166136261u ^ p->seed;

        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char)s[i]) * 16777619u;
        /* The table indexes by the low bits: fold the high ones in. */
        h ^= h >> 16;
        h *= 0x85ebca6bu;
        h ^= h >> 13;
        return h;
}

static struct family *ft_find(const struct parser *p, const char *name, size_t len) {
        if (!p->ft)
                return NULL;
        for (size_t i = name_hash(p, name, len) & (p->ft_cap - 1);; i = (i + 1) & (p->ft_cap - 1)) {
                struct family *f = &p->ft[i];

                if (!f->name)
                        return NULL;
                if (eq(f->name, f->len, name, len))
                        return f;
        }
}

/* Open addressing, at most half full; the families are at most the lines
 * of a body the caller has bounded. */
static int ft_add(struct parser *p, const char *name, size_t len, struct family **ret) {
        struct family *f;
        size_t i;

        if (p->ft_n >= PROMTEXT_FAMILIES_MAX)
                return fail(p, name, "more than %u metric families", PROMTEXT_FAMILIES_MAX);
        if ((p->ft_n + 1) * 2 > p->ft_cap) {
                size_t nc = p->ft_cap ? p->ft_cap * 2 : 128;
                struct family *old = p->ft, *v = calloc(nc, sizeof *v);

                if (!v)
                        return -ENOMEM;
                p->ft = v;
                for (size_t k = 0; k < p->ft_cap; k++)
                        if (old[k].name) {
                                size_t j = name_hash(p, old[k].name, old[k].len) & (nc - 1);

                                while (v[j].name)
                                        j = (j + 1) & (nc - 1);
                                v[j] = old[k];
                        }
                p->ft_cap = nc;
                p->memo = NULL;
                free(old);
        }
        i = name_hash(p, name, len) & (p->ft_cap - 1);
        while (p->ft[i].name)
                i = (i + 1) & (p->ft_cap - 1);
        f = &p->ft[i];
        *f = (struct family){ .name = name, .len = len };
        p->ft_n++;
        *ret = f;
        return 0;
}

static bool strip_suffix(const char *name, size_t len, const char *suf, size_t *ret_len) {
        size_t l = strlen(suf);

        if (len <= l || memcmp(name + len - l, suf, l) != 0)
                return false;
        *ret_len = len - l;
        return true;
}

/* expfmt's setOrCreateCurrentMF: the family of that name; else the summary
 * that x_sum/x_count, or the histogram that x_bucket/x_sum/x_count belongs
 * to; else a new family. Metadata lines resolve the same way (so, as in
 * expfmt, "# HELP x_sum" after "# TYPE x summary" is x's HELP). */
static int text_family(struct parser *p, const char *name, size_t len, struct family **ret) {
        struct family *f = ft_find(p, name, len);
        size_t l;

        if (f) {
                *ret = f;
                return 0;
        }
        if (strip_suffix(name, len, "_sum", &l) || strip_suffix(name, len, "_count", &l)) {
                f = ft_find(p, name, l);
                if (f && f->type == PROMTEXT_TYPE_SUMMARY) {
                        *ret = f;
                        return 0;
                }
        }
        if (strip_suffix(name, len, "_bucket", &l) || strip_suffix(name, len, "_sum", &l) ||
            strip_suffix(name, len, "_count", &l)) {
                f = ft_find(p, name, l);
                if (f && f->type == PROMTEXT_TYPE_HISTOGRAM) {
                        *ret = f;
                        return 0;
                }
        }
        return ft_add(p, name, len, ret);
}

/* text_family() through the memo of the last name resolved. */
static int text_family_memo(struct parser *p, const char *name, size_t len, struct family **ret) {
        int r;

        if (!p->memo || !eq(name, len, p->memo_name, p->memo_len)) {
                r = text_family(p, name, len, &p->memo);
                if (r < 0) {
                        p->memo = NULL;
                        return r;
                }
                p->memo_name = name;
                p->memo_len = len;
        }
        *ret = p->memo;
        return 0;
}

/* An OpenMetrics HELP, TYPE or UNIT line for name[0..len): the current
 * family's, or a new one. */
static int metadata(struct parser *p, enum meta kind, const char *name, size_t len) {
        bool same = p->fam && eq(name, len, p->fam, p->fam_len);
        bool *seen = kind == META_HELP ? &p->fam_help : kind == META_TYPE ? &p->fam_typed : &p->fam_unit;

        if (same && !p->fam_samples) {
                if (*seen)
                        return fail(p, name, "second %s line for %.*s", meta_names[kind], TOK(name, len));
        } else {
                /* After the family's samples: a new family of the same
                 * name (see promtext.h for the one client_golang writes). */
                p->fam = name;
                p->fam_len = len;
                p->fam_type = PROMTEXT_TYPE_NONE;
                p->fam_help = p->fam_typed = p->fam_unit = p->fam_samples = false;
        }
        *seen = true;
        return 0;
}

/* HELP text: the escapes \\ and \n (and \" in OpenMetrics), UTF-8 in
 * OpenMetrics (text 0.0.4 is bytes here as in expfmt). */
static int help_text(struct parser *p, const char *q, const char *e) {
        /* Half of a Go body is HELP text: in text only escapes matter. */
        if (!p->om)
                for (;;) {
                        q = memchr(q, '\\', (size_t)(e - q));
                        if (!q)
                                return 0;
                        if (q + 1 >= e || !(q[1] == '\\' || q[1] == 'n'))
                                return fail(p, q, "invalid escape sequence in HELP text");
                        q += 2;
                }
        while (q < e) {
                if (*q == '\\') {
                        if (q + 1 >= e || !(q[1] == '\\' || q[1] == 'n' || (p->om && q[1] == '"')))
                                return fail(p, q, "invalid escape sequence in HELP text");
                        q += 2;
                } else if (p->om && (unsigned char)*q >= 0x80) {
                        size_t l = utf8_len((const unsigned char *)q, (size_t)(e - q));

                        if (!l)
                                return fail(p, q, "invalid UTF-8 in HELP text");
                        q += l;
                } else
                        q++;
        }
        return 0;
}

/* After '#' in text: HELP/TYPE lines; anything else is a comment. */
static int text_comment(struct parser *p, const char *q, const char *e) {
        struct family *f;
        const char *kw, *name, *ne;
        enum meta kind;
        enum promtext_type t;
        int r;

        q = skip_blanks(q, e);
        kw = q;
        while (q < e && !is(*q, C_BLANK))
                q++;
        if (q == e)
                return 0;
        if (EQ(kw, (size_t)(q - kw), "HELP"))
                kind = META_HELP;
        else if (EQ(kw, (size_t)(q - kw), "TYPE"))
                kind = META_TYPE;
        else
                return 0;
        name = skip_blanks(q, e);
        ne = scan_metric_name(name, e);
        if (ne == e)
                return 0; /* "# HELP" or "# TYPE x" alone: a comment, as in expfmt */
        if (!is(*ne, C_BLANK))
                return fail(p, ne, "invalid metric name in %s line", meta_names[kind]);
        q = skip_blanks(ne, e);
        if (q == e)
                return 0;
        r = text_family_memo(p, name, (size_t)(ne - name), &f);
        if (r < 0)
                return r;
        if (kind == META_HELP) {
                if (f->help)
                        return fail(p, name, "second HELP line for %.*s", TOK(f->name, f->len));
                f->help = true;
                return help_text(p, q, e);
        }
        if (f->has_type)
                return fail(p, name, f->typed ? "second TYPE line for %.*s" : "TYPE line for %.*s after its samples",
                            TOK(f->name, f->len));
        /* expfmt takes the rest of the line as the type, blanks and all. */
        t = type_from_string(q, (size_t)(e - q), false);
        if (t < 0)
                return fail(p, q, "unknown metric type \"%.*s\"", TOK(q, (size_t)(e - q)));
        f->type = t;
        f->typed = f->has_type = true;
        return 0;
}

/* An OpenMetrics '#' line: HELP, TYPE, UNIT or EOF. 1 for EOF. */
static int om_comment(struct parser *p, const char *s, const char *e) {
        const char *kw = s + 2, *q, *name, *ne;
        enum meta kind;
        enum promtext_type t;
        int r;

        if (e - s < 2 || s[1] != ' ')
                return fail(p, s, "expected \"# \" (HELP, TYPE, UNIT or EOF)");
        if (EQ(kw, (size_t)(e - kw), "EOF"))
                return 1;
        for (q = kw; q < e && *q != ' '; q++)
                ;
        if (EQ(kw, (size_t)(q - kw), "HELP"))
                kind = META_HELP;
        else if (EQ(kw, (size_t)(q - kw), "TYPE"))
                kind = META_TYPE;
        else if (EQ(kw, (size_t)(q - kw), "UNIT"))
                kind = META_UNIT;
        else
                return fail(p, kw, "unknown comment \"%.*s\": OpenMetrics has only HELP, TYPE, UNIT and EOF",
                            TOK(kw, (size_t)(q - kw)));
        if (q == e)
                return fail(p, q, "expected a metric name after %s", meta_names[kind]);
        name = q + 1;
        ne = scan_metric_name(name, e);
        if (ne == name || (ne < e && *ne != ' '))
                return fail(p, ne, "invalid metric name in %s line", meta_names[kind]);
        r = metadata(p, kind, name, (size_t)(ne - name));
        if (r < 0)
                return r;
        q = ne < e ? ne + 1 : e;
        switch (kind) {
        case META_HELP:
                return help_text(p, q, e);
        case META_TYPE:
                t = type_from_string(q, (size_t)(e - q), true);
                if (t < 0)
                        return fail(p, q, "unknown metric type \"%.*s\"", TOK(q, (size_t)(e - q)));
                p->fam_type = t;
                return 0;
        case META_UNIT:
                for (; q < e; q++)
                        if (!is(*q, C_METRIC))
                                return fail(p, q, "invalid character in UNIT");
                return 0;
        }
        return 0;
}

/* ---- samples ----------------------------------------------------------- */

/* Does the OpenMetrics sample name[0..n) belong to the current family? */
static bool in_family(const struct parser *p, const char *name, size_t n) {
        const char *suf;
        size_t sl;

        if (!p->fam || n < p->fam_len || memcmp(name, p->fam, p->fam_len) != 0)
                return false;
        if (n == p->fam_len)
                return true;
        if (!p->fam_typed)
                return false;
        suf = name + p->fam_len;
        sl = n - p->fam_len;
        switch (p->fam_type) {
        case PROMTEXT_TYPE_COUNTER:
                return EQ(suf, sl, "_total") || EQ(suf, sl, "_created");
        case PROMTEXT_TYPE_HISTOGRAM:
                if (EQ(suf, sl, "_bucket"))
                        return true;
                __attribute__((fallthrough));
        case PROMTEXT_TYPE_SUMMARY:
                return EQ(suf, sl, "_sum") || EQ(suf, sl, "_count") || EQ(suf, sl, "_created");
        case PROMTEXT_TYPE_GAUGEHISTOGRAM:
                return EQ(suf, sl, "_bucket") || EQ(suf, sl, "_gsum") || EQ(suf, sl, "_gcount");
        case PROMTEXT_TYPE_INFO:
                return EQ(suf, sl, "_info");
        default:
                return false;
        }
}

static int label_value(struct parser *p, const char **qp, const char *e, bool store, const char **ret_v,
                       size_t *ret_len) {
        const char *q = *qp, *vs = q, *open = q - 1;
        bool esc = false;
        char *out = NULL;

        for (;; q++) {
                if (q >= e)
                        return fail(p, open, "label value has no closing quote%s", p->om ? "" : " (a raw newline?)");
                if (*q == '"')
                        break;
                if (*q == '\\') {
                        if (q + 1 >= e || !(q[1] == '\\' || q[1] == '"' || q[1] == 'n'))
                                return fail(p, q, "invalid escape sequence in label value");
                        esc = true;
                        q++;
                } else if ((unsigned char)*q >= 0x80) {
                        size_t l = utf8_len((const unsigned char *)q, (size_t)(e - q));

                        if (!l)
                                return fail(p, q, "invalid UTF-8 in label value");
                        q += l - 1;
                }
        }
        *qp = q + 1;
        if (!esc || !store) {
                *ret_v = vs;
                *ret_len = (size_t)(q - vs);
                return 0;
        }
        if (!p->scratch) {
                p->scratch = malloc(PROMTEXT_LINE_MAX);
                if (!p->scratch)
                        return -ENOMEM;
        }
        /* The unescaped values of one line never outgrow the line. */
        out = p->scratch + p->scratch_used;
        *ret_v = out;
        for (const char *c = vs; c < q; c++) {
                if (*c == '\\') {
                        c++;
                        *out++ = *c == 'n' ? '\n' : *c;
                } else
                        *out++ = *c;
        }
        *ret_len = (size_t)(out - *ret_v);
        p->scratch_used += *ret_len;
        return 0;
}

/* A label set from '{' at *qp to past its '}'. With store, into p->labels
 * (checked for duplicates); without (exemplars), checked only. */
static int label_set(struct parser *p, const char **qp, const char *e, bool store) {
        const char *q = *qp + 1;
        bool comma = false;
        int r;

        for (;;) {
                const char *ln, *le, *v = NULL;
                size_t vl = 0;

                if (!p->om)
                        q = skip_blanks(q, e);
                if (q < e && *q == '}') {
                        if (comma && p->om)
                                return fail(p, q, "trailing comma in label set");
                        q++;
                        break;
                }
                if (q >= e)
                        return fail(p, q, "unexpected end of line in label set");
                ln = q;
                if (!is(*q, C_LABEL_START))
                        return fail(p, q, "invalid label name");
                for (q++; q < e && is(*q, C_LABEL); q++)
                        ;
                le = q;
                if (EQ(ln, (size_t)(le - ln), "__name__"))
                        return fail(p, ln, "label name __name__ is reserved");
                if (!p->om)
                        q = skip_blanks(q, e);
                if (q >= e || *q != '=')
                        return fail(p, q, "expected '=' after label name");
                q++;
                if (!p->om)
                        q = skip_blanks(q, e);
                if (q >= e || *q != '"')
                        return fail(p, q, "expected '\"' at start of label value");
                q++;
                r = label_value(p, &q, e, store, &v, &vl);
                if (r < 0)
                        return r;
                if (store) {
                        for (size_t i = 0; i < p->n_labels; i++)
                                if (eq(p->labels[i].name, p->labels[i].name_len, ln, (size_t)(le - ln)))
                                        return fail(p, ln, "duplicate label name \"%.*s\"", TOK(ln, (size_t)(le - ln)));
                        if (p->n_labels >= PROMTEXT_LABELS_MAX)
                                return fail(p, ln, "more than %u labels", PROMTEXT_LABELS_MAX);
                        p->labels[p->n_labels++] = (struct promtext_label){
                                .name = ln, .name_len = (size_t)(le - ln), .value = v, .value_len = vl,
                        };
                }
                if (!p->om)
                        q = skip_blanks(q, e);
                if (q < e && *q == ',') {
                        q++;
                        comma = true;
                        continue;
                }
                if (q < e && *q == '}') {
                        q++;
                        break;
                }
                return fail(p, q, "expected ',' or '}' after label value");
        }
        *qp = q;
        return 0;
}

static const char *token_end(const struct parser *p, const char *q, const char *e) {
        if (p->om) {
                const char *sp = memchr(q, ' ', (size_t)(e - q));

                return sp ? sp : e;
        }
        while (q < e && !is(*q, C_BLANK))
                q++;
        return q;
}

/* OpenMetrics exemplar from the '#' after " ": "# {labels} value [ts]". */
static int exemplar(struct parser *p, const char *q, const char *e) {
        const char *v, *ve;
        double d;
        int r;

        if (e - q < 3 || q[1] != ' ' || q[2] != '{')
                return fail(p, q, "expected \"# {\" to start an exemplar");
        q += 2;
        r = label_set(p, &q, e, false);
        if (r < 0)
                return r;
        if (q >= e || *q != ' ')
                return fail(p, q, "expected ' ' and a value after the exemplar's labels");
        v = q + 1;
        ve = token_end(p, v, e);
        if (parse_number(v, (size_t)(ve - v), &d) < 0)
                return fail(p, v, "expected a number as exemplar value, got \"%.*s\"", TOK(v, (size_t)(ve - v)));
        if (ve == e)
                return 0;
        v = ve + 1;
        ve = token_end(p, v, e);
        if (parse_number(v, (size_t)(ve - v), &d) < 0 || !isfinite(d))
                return fail(p, v, "expected a number as exemplar timestamp, got \"%.*s\"", TOK(v, (size_t)(ve - v)));
        if (ve != e)
                return fail(p, ve, "unexpected text after the exemplar");
        return 0;
}

static int sample(struct parser *p, const char *q, const char *e, promtext_sample_cb cb, void *userdata) {
        struct promtext_sample s = { .line = p->line };
        const char *name = q, *v, *ve;
        int r;

        q = scan_metric_name(q, e);
        if (q == name)
                return fail(p, q, "invalid metric name");
        s.name = name;
        s.name_len = (size_t)(q - name);
        p->n_labels = 0;
        p->scratch_used = 0;
        if (!p->om)
                q = skip_blanks(q, e);
        if (q < e && *q == '{') {
                r = label_set(p, &q, e, true);
                if (r < 0)
                        return r;
                if (!p->om)
                        q = skip_blanks(q, e);
        }
        if (p->om) {
                if (q >= e || *q != ' ')
                        return fail(p, q, q < e ? "expected ' ' after the metric name or labels"
                                              : "expected a value after the metric name");
                q++;
        }
        v = q;
        ve = token_end(p, v, e);
        r = parse_number(v, (size_t)(ve - v), &s.value);
        if (r < 0)
                return fail(p, v, "%s value, got \"%.*s\"", r == -ERANGE ? "out of range" : "expected a number as",
                            TOK(v, (size_t)(ve - v)));
        q = ve;
        if (q < e) {
                if (p->om)
                        q++;
                else
                        q = skip_blanks(q, e);
                if (!(p->om && q < e && *q == '#')) {
                        const char *t = q;

                        q = token_end(p, t, e);
                        if (p->om) {
                                double ts;

                                /* Within int64 ms; rounded by hand: the
                                 * Makefile links no libm. */
                                if (parse_number(t, (size_t)(q - t), &ts) < 0 || !isfinite(ts) ||
                                    ts >= 9.2e15 || ts <= -9.2e15)
                                        return fail(p, t, "expected seconds as timestamp, got \"%.*s\"",
                                                    TOK(t, (size_t)(q - t)));
                                s.timestamp_ms = (int64_t)(ts >= 0 ? ts * 1000.0 + 0.5 : ts * 1000.0 - 0.5);
                        } else if (parse_int64(t, (size_t)(q - t), &s.timestamp_ms) < 0)
                                return fail(p, t, "expected integer (milliseconds) as timestamp, got \"%.*s\"",
                                            TOK(t, (size_t)(q - t)));
                        s.has_timestamp = true;
                        if (q < e) {
                                if (!p->om || q + 1 >= e || q[1] != '#')
                                        return fail(p, q, "unexpected text after the timestamp");
                                q++;
                        }
                }
                if (q < e) {
                        r = exemplar(p, q, e);
                        if (r < 0)
                                return r;
                }
        }

        if (!p->om) {
                struct family *f;

                r = text_family_memo(p, s.name, s.name_len, &f);
                if (r < 0)
                        return r;
                f->has_type = true;
                s.family = f->name;
                s.family_len = f->len;
                s.type = f->typed ? f->type : PROMTEXT_TYPE_NONE;
        } else if (in_family(p, s.name, s.name_len)) {
                s.family = p->fam;
                s.family_len = p->fam_len;
                s.type = p->fam_typed ? p->fam_type : PROMTEXT_TYPE_NONE;
        } else {
                /* An undeclared family: its own, so that a metadata line
                 * for it after its samples starts a new one. */
                p->fam = s.family = s.name;
                p->fam_len = s.family_len = s.name_len;
                p->fam_type = s.type = PROMTEXT_TYPE_NONE;
                p->fam_help = p->fam_typed = p->fam_unit = false;
        }
        p->fam_samples = true;
        for (size_t i = 0; i < p->n_labels; i++) {
                const struct promtext_label *l = &p->labels[i];
                bool q_label = s.type == PROMTEXT_TYPE_SUMMARY && EQ(l->name, l->name_len, "quantile");
                bool le_label = (s.type == PROMTEXT_TYPE_HISTOGRAM || s.type == PROMTEXT_TYPE_GAUGEHISTOGRAM) &&
                                EQ(l->name, l->name_len, "le");
                double d;

                if ((q_label || le_label) && parse_number(l->value, l->value_len, &d) < 0)
                        return fail(p, l->name, "expected a number as '%s' label value", q_label ? "quantile" : "le");
        }
        s.labels = p->labels;
        s.n_labels = p->n_labels;
        return cb(&s, userdata);
}

/* ---- the body ---------------------------------------------------------- */

enum promtext_format promtext_format_from_content_type(const char *ct) {
        static const char om[] = "application/openmetrics-text";

        if (!ct)
                return PROMTEXT_TEXT;
        while (*ct == ' ' || *ct == '\t')
                ct++;
        if (strncasecmp(ct, om, sizeof om - 1) != 0)
                return PROMTEXT_TEXT;
        ct += sizeof om - 1;
        return *ct == '\0' || *ct == ';' || *ct == ' ' || *ct == '\t' ? PROMTEXT_OPENMETRICS : PROMTEXT_TEXT;
}

int promtext_parse(const char *buf, size_t n, enum promtext_format fmt, promtext_sample_cb cb, void *userdata,
                   struct promtext_error *reterr) {
        struct parser p = { .end = buf + n, .om = fmt == PROMTEXT_OPENMETRICS, .err = reterr };
        const char *s = buf;
        bool eof = false;
        int r = 0;

        if (fmt != PROMTEXT_TEXT && fmt != PROMTEXT_OPENMETRICS)
                return -EINVAL;
        p.seed = (uint32_t)((uintptr_t)&p >> 4);
        if (!buf && n > 0)
                return -EINVAL;
        while (s < p.end) {
                const char *nl = memchr(s, '\n', (size_t)(p.end - s));
                const char *e = nl ? nl : p.end, *z;

                p.line++;
                p.ls = s;
                if ((size_t)(e - s) > PROMTEXT_LINE_MAX) {
                        r = fail(&p, s + PROMTEXT_LINE_MAX, "line longer than %zu bytes", PROMTEXT_LINE_MAX);
                        break;
                }
                z = memchr(s, '\0', (size_t)(e - s));
                if (z) {
                        r = fail(&p, z, "NUL byte");
                        break;
                }
                if (eof) {
                        r = fail(&p, s, "text after # EOF");
                        break;
                }
                if (p.om) {
                        if (s == e)
                                r = fail(&p, s, "blank line (not allowed in OpenMetrics)");
                        else if (*s == '#') {
                                r = om_comment(&p, s, e);
                                if (r == 1) {
                                        eof = true;
                                        r = 0;
                                }
                        } else if (!nl)
                                r = fail(&p, e, "unexpected end of input (no newline, no # EOF)");
                        else
                                r = sample(&p, s, e, cb, userdata);
                } else {
                        const char *q;

                        /* CRLF: the CR goes with the line end (see promtext.h). */
                        if (e > s && e[-1] == '\r')
                                e--;
                        q = skip_blanks(s, e);
                        if (q == e)
                                r = 0;
                        else if (!nl)
                                r = fail(&p, e, "unexpected end of input (no newline at the end)");
                        else if (*q == '#')
                                r = text_comment(&p, q + 1, e);
                        else
                                r = sample(&p, q, e, cb, userdata);
                }
                if (r != 0)
                        break;
                s = nl ? nl + 1 : p.end;
        }
        if (r == 0 && p.om && !eof) {
                /* Point after the last line: the "# EOF" should be there. */
                if (n > 0 && buf[n - 1] == '\n')
                        p.line++;
                p.ls = p.end;
                if (n == 0)
                        p.line = 1;
                r = fail(&p, p.end, "missing # EOF at the end");
        }
        free(p.scratch);
        free(p.ft);
        return r;
}

/* ---- the Go runtime's metrics ------------------------------------------ */

static const struct go_metric_def {
        const char *name;
        size_t len;
        enum go_metric key;
} go_metric_table[] = {
#define M(n, k) { n, sizeof(n) - 1, k }
        M("go_goroutines", GO_METRIC_GOROUTINES),
        M("go_threads", GO_METRIC_THREADS),
        M("go_memstats_heap_inuse_bytes", GO_METRIC_HEAP_INUSE_BYTES),
        M("go_memstats_next_gc_bytes", GO_METRIC_NEXT_GC_BYTES),
        M("go_memstats_heap_alloc_bytes", GO_METRIC_HEAP_ALLOC_BYTES),
        M("go_memstats_sys_bytes", GO_METRIC_SYS_BYTES),
        M("go_gc_duration_seconds_sum", GO_METRIC_GC_DURATION_SUM),
        M("go_gc_duration_seconds_count", GO_METRIC_GC_DURATION_COUNT),
        M("process_resident_memory_bytes", GO_METRIC_RESIDENT_BYTES),
        M("process_cpu_seconds_total", GO_METRIC_CPU_SECONDS),
        M("go_sched_gomaxprocs_threads", GO_METRIC_GOMAXPROCS),
        M("go_gc_gomemlimit_bytes", GO_METRIC_GOMEMLIMIT_BYTES),
        M("go_gc_gogc_percent", GO_METRIC_GOGC_PERCENT),
        M("go_sched_goroutines_running_goroutines", GO_METRIC_GOROUTINES_RUNNING),
        M("go_sched_goroutines_runnable_goroutines", GO_METRIC_GOROUTINES_RUNNABLE),
        M("go_sched_goroutines_waiting_goroutines", GO_METRIC_GOROUTINES_WAITING),
        M("go_sched_goroutines_not_in_go_goroutines", GO_METRIC_GOROUTINES_NOT_IN_GO),
        M("go_sched_goroutines_created_goroutines_total", GO_METRIC_GOROUTINES_CREATED),
        M("go_sched_threads_total_threads", GO_METRIC_THREADS_TOTAL),
#undef M
};

_Static_assert(ELEMENTSOF(go_metric_table) == _GO_METRIC_MAX, "every go_metric has a name");
_Static_assert(_GO_METRIC_MAX < 63, "presence bits fit beside GO_METRICS_HAS_VERSION");

const char *go_metric_name(enum go_metric k) {
        for (size_t i = 0; i < ELEMENTSOF(go_metric_table); i++)
                if (go_metric_table[i].key == k)
                        return go_metric_table[i].name;
        return NULL;
}

static int go_extract_cb(const struct promtext_sample *s, void *userdata) {
        struct go_metrics *m = userdata;

        /* Every name of interest starts with "go_" or "process_". */
        if (s->name_len < 7 || (s->name[0] != 'g' && s->name[0] != 'p'))
                return 0;
        if (EQ(s->name, s->name_len, "go_info")) {
                if (m->present & GO_METRICS_HAS_VERSION)
                        return 0;
                for (size_t i = 0; i < s->n_labels; i++) {
                        const struct promtext_label *l = &s->labels[i];

                        if (EQ(l->name, l->name_len, "version") && l->value_len < GO_VERSION_MAX) {
                                memcpy(m->go_version, l->value, l->value_len);
                                m->go_version[l->value_len] = '\0';
                                m->present |= GO_METRICS_HAS_VERSION;
                        }
                }
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(go_metric_table); i++) {
                const struct go_metric_def *d = &go_metric_table[i];

                if (eq(s->name, s->name_len, d->name, d->len)) {
                        if (!go_metrics_has(m, d->key) && !isnan(s->value)) {
                                m->value[d->key] = s->value;
                                m->present |= (uint64_t)1 << d->key;
                        }
                        break;
                }
        }
        return 0;
}

int promtext_go_extract(const char *buf, size_t n, enum promtext_format fmt, struct go_metrics *ret,
                        struct promtext_error *reterr) {
        struct go_metrics m = { 0 };
        int r;

        r = promtext_parse(buf, n, fmt, go_extract_cb, &m, reterr);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}
