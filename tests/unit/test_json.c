/* Unit tests for src/json.c: the reader on valid documents and on every
 * kind of error (code and byte offset), its limits, and the writer:
 * escaping, U+FFFD for invalid UTF-8, the cap, misuse, round trips. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/json.h"
#include "gorral/util.h"

static struct json_doc *parse_ok(const char *s) {
        struct json_doc *d = NULL;
        struct json_error e = { 0 };
        int r = json_parse(s, strlen(s), NULL, &d, &e);

        cr_assert_eq(r, 0, "parse of <%s>: %d (%s at %zu)", s, r, e.what, e.offset);
        return d;
}

/* Compact re-encoding of a document. */
static char *encode(const struct json_value *v) {
        struct json_writer w;
        char *b;
        size_t n;

        json_writer_init(&w, 1 << 20);
        json_value(&w, v);
        cr_assert_eq(json_writer_steal(&w, &b, &n), 0);
        json_writer_done(&w);
        cr_assert_eq(strlen(b), n);
        return b;
}

Test(json, request_object) {
        struct json_doc *d = parse_ok(" {\"cmd\":\"signal\", \"name\" : \"api\",\n\"signal\":\"HUP\",\"n\":-12,"
                                      "\"t\":true,\"f\":false,\"z\":null,\"r\":1.5e3,\"a\":[1,[2,{}],[]],\"o\":{\"k\":\"v\"}}\r\n");
        const struct json_value *v;
        char *enc;

        cr_assert_eq(d->root->type, JSON_OBJECT);
        cr_assert_eq(d->root->n_children, 10);
        cr_assert_str_eq(json_get_string(d->root, "cmd"), "signal");
        cr_assert_str_eq(json_get_string(d->root, "name"), "api");
        cr_assert_eq(json_get(d->root, "n")->type, JSON_INT);
        cr_assert_eq(json_get(d->root, "n")->integer, -12);
        cr_assert(json_get(d->root, "t")->boolean);
        cr_assert_eq(json_get(d->root, "f")->type, JSON_BOOL);
        cr_assert(!json_get(d->root, "f")->boolean);
        cr_assert_eq(json_get(d->root, "z")->type, JSON_NULL);
        cr_assert_eq(json_get(d->root, "r")->type, JSON_REAL);
        cr_assert_eq(json_get(d->root, "r")->real, 1500.0);
        v = json_get(d->root, "a");
        cr_assert_eq(v->type, JSON_ARRAY);
        cr_assert_eq(v->n_children, 3);
        cr_assert_eq(v->child->integer, 1);
        cr_assert_eq(v->child->key, NULL);
        cr_assert_eq(v->child->next->n_children, 2);
        cr_assert_eq(v->child->next->child->next->type, JSON_OBJECT);
        cr_assert_eq(v->child->next->child->next->child, NULL);
        cr_assert_eq(v->child->next->next->n_children, 0);
        cr_assert_eq(v->child->next->next->next, NULL);
        cr_assert_str_eq(json_get_string(json_get(d->root, "o"), "k"), "v");
        cr_assert_null(json_get(d->root, "missing"));
        cr_assert_null(json_get_string(d->root, "n"), "an integer is not a string");
        cr_assert_null(json_get(json_get(d->root, "a"), "cmd"), "an array has no members");
        enc = encode(d->root);
        cr_assert_str_eq(enc,
                         "{\"cmd\":\"signal\",\"name\":\"api\",\"signal\":\"HUP\",\"n\":-12,\"t\":true,\"f\":false,"
                         "\"z\":null,\"r\":1500.0,\"a\":[1,[2,{}],[]],\"o\":{\"k\":\"v\"}}");
        free(enc);
        json_doc_free(d);
}

Test(json, scalars_and_numbers) {
        static const struct { const char *s; enum json_type t; int64_t i; double d; } cases[] = {
                { "0", JSON_INT, 0, 0 },
                { "-0", JSON_INT, 0, 0 },
                { "9223372036854775807", JSON_INT, INT64_MAX, 0 },
                { "-9223372036854775808", JSON_INT, INT64_MIN, 0 },
                { "0.5", JSON_REAL, 0, 0.5 },
                { "-1E-2", JSON_REAL, 0, -0.01 },
                { "1e+2", JSON_REAL, 0, 100 },
                { "10000000000000000000000.0", JSON_REAL, 0, 1e22 },
                { "  null ", JSON_NULL, 0, 0 },
                { "true", JSON_BOOL, 1, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct json_doc *d = parse_ok(cases[i].s);

                cr_assert_eq(d->root->type, cases[i].t, "%s", cases[i].s);
                if (cases[i].t == JSON_INT)
                        cr_assert_eq(d->root->integer, cases[i].i, "%s", cases[i].s);
                if (cases[i].t == JSON_REAL)
                        cr_assert_float_eq(d->root->real, cases[i].d, 1e-12, "%s", cases[i].s);
                if (cases[i].t == JSON_BOOL)
                        cr_assert(d->root->boolean);
                json_doc_free(d);
        }
}

Test(json, string_escapes_decode) {
        struct json_doc *d = parse_ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\xc3\xa9\xf0\x9f\x98\x80\"");

        cr_assert_eq(d->root->type, JSON_STRING);
        cr_assert_str_eq(d->root->str, "a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9\xf0\x9f\x98\x80");
        cr_assert_eq(d->root->len, strlen(d->root->str));
        json_doc_free(d);
}

/* Every error: its code, the byte it points at and (part of) its text. */
Test(json, errors_and_offsets) {
        static const struct { const char *s; size_t len; int r; size_t off; const char *what; } cases[] = {
                { "", 0, -EINVAL, 0, "expected a value" },
                { "   ", 3, -EINVAL, 3, "expected a value" },
                { "{", 1, -EINVAL, 1, "expected a member name" },
                { "{\"a\"", 4, -EINVAL, 4, "expected ':'" },
                { "{\"a\" 1}", 7, -EINVAL, 5, "expected ':'" },
                { "{\"a\":}", 6, -EINVAL, 5, "expected a value" },
                { "{\"a\":1,}", 8, -EINVAL, 7, "expected a member name" },
                { "{\"a\":1 \"b\":2}", 13, -EINVAL, 7, "expected ',' or '}'" },
                { "{1:2}", 5, -EINVAL, 1, "expected a member name" },
                { "[1,]", 4, -EINVAL, 3, "expected a value" },
                { "[1 2]", 5, -EINVAL, 3, "expected ',' or ']'" },
                { "[1", 2, -EINVAL, 2, "expected ',' or ']'" },
                { "{\"a\":1}x", 8, -EINVAL, 7, "trailing characters" },
                { "{} {}", 5, -EINVAL, 3, "trailing characters" },
                { "tru", 3, -EINVAL, 0, "invalid literal" },
                { "nul", 3, -EINVAL, 0, "invalid literal" },
                { "True", 4, -EINVAL, 0, "expected a value" },
                { "'a'", 3, -EINVAL, 0, "expected a value" },
                { "01", 2, -EINVAL, 1, "leading zero" },
                { "-", 1, -EINVAL, 1, "expected a digit" },
                { "-a", 2, -EINVAL, 1, "expected a digit" },
                { "+1", 2, -EINVAL, 0, "expected a value" },
                { "1.", 2, -EINVAL, 2, "expected a digit after '.'" },
                { ".5", 2, -EINVAL, 0, "expected a value" },
                { "1e", 2, -EINVAL, 2, "exponent" },
                { "1e+", 3, -EINVAL, 3, "exponent" },
                { "NaN", 3, -EINVAL, 0, "expected a value" },
                { "9223372036854775808", 19, -ERANGE, 0, "integer out of range" },
                { "-9223372036854775809", 20, -ERANGE, 0, "integer out of range" },
                { "[99999999999999999999999]", 25, -ERANGE, 1, "integer out of range" },
                { "1e999", 5, -ERANGE, 0, "number out of range" },
                { "\"abc", 4, -EINVAL, 4, "unterminated string" },
                { "\"a\\", 3, -EINVAL, 3, "unterminated string" },
                { "\"a\nb\"", 5, -EINVAL, 2, "control character" },
                { "\"\\x\"", 4, -EINVAL, 2, "invalid escape" },
                { "\"\\u12\"", 6, -EINVAL, 5, "hex digit" },
                { "\"\\u12", 5, -EINVAL, 5, "unterminated \\u" },
                { "\"\\u0000\"", 8, -EINVAL, 1, "\\u0000" },
                { "\"x\\udc00\"", 9, -EINVAL, 2, "lone low surrogate" },
                { "\"x\\ud800\"", 9, -EINVAL, 2, "lone high surrogate" },
                { "\"x\\ud800\\u0041\"", 15, -EINVAL, 2, "lone high surrogate" },
                { "\"\xff\"", 3, -EINVAL, 1, "invalid UTF-8" },
                { "\"a\xc0\xaf\"", 5, -EINVAL, 2, "invalid UTF-8" },            /* overlong '/' */
                { "\"\xe0\x80\xaf\"", 5, -EINVAL, 1, "invalid UTF-8" },         /* overlong */
                { "\"\xed\xa0\x80\"", 5, -EINVAL, 1, "invalid UTF-8" },         /* a surrogate */
                { "\"\xf4\x90\x80\x80\"", 6, -EINVAL, 1, "invalid UTF-8" },     /* past U+10FFFF */
                { "\"\xe2\x82\"", 4, -EINVAL, 1, "invalid UTF-8" },             /* truncated */
                { "\"a\0b\"", 5, -EINVAL, 2, "control character" },
                { "{\"a\":1,\"b\":2,\"a\":3}", 19, -EINVAL, 13, "duplicate member name" },
                { "{\"a\":{\"x\":1,\"x\":2}}", 19, -EINVAL, 12, "duplicate member name" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct json_doc *d = NULL;
                struct json_error e = { 0 };
                int r = json_parse(cases[i].s, cases[i].len, NULL, &d, &e);

                cr_expect_eq(r, cases[i].r, "case %zu <%s>: r=%d", i, cases[i].s, r);
                cr_expect_eq(e.offset, cases[i].off, "case %zu <%s>: offset %zu, want %zu (%s)", i, cases[i].s,
                             e.offset, cases[i].off, e.what);
                cr_expect(e.what && strstr(e.what, cases[i].what), "case %zu <%s>: '%s', want '%s'", i, cases[i].s,
                          e.what, cases[i].what);
                cr_expect_null(d);
        }
}

Test(json, limits) {
        struct json_limits lim = { .max_depth = 3, .max_nodes = 5 };
        struct json_doc *d = NULL;
        struct json_error e = { 0 };
        char *big;
        size_t n;

        cr_assert_eq(json_parse("[[[1]]]", 7, &lim, &d, &e), 0);
        json_doc_free(d);
        d = NULL;
        cr_assert_eq(json_parse("[[[[1]]]]", 9, &lim, &d, &e), -E2BIG);
        cr_assert_eq(e.offset, 3);
        cr_assert_str_eq(e.what, "nested too deep");
        cr_assert_eq(json_parse("[1,2,3,4]", 9, &lim, &d, &e), 0, "5 values");
        json_doc_free(d);
        d = NULL;
        cr_assert_eq(json_parse("[1,2,3,4,5]", 11, &lim, &d, &e), -E2BIG);
        cr_assert_eq(e.offset, 9);
        cr_assert_str_eq(e.what, "too many values");

        /* The default depth, 32, and the members cap. */
        big = malloc(100000);
        memset(big, '[', 33);
        memset(big + 33, ']', 33);
        cr_assert_eq(json_parse(big, 66, NULL, &d, &e), -E2BIG);
        cr_assert_eq(json_parse(big + 1, 64, NULL, &d, &e), 0);
        json_doc_free(d);
        d = NULL;
        n = 0;
        big[n++] = '{';
        for (int i = 0; i <= JSON_MAX_MEMBERS; i++)
                n += (size_t)sprintf(big + n, "%s\"k%d\":%d", i ? "," : "", i, i);
        big[n++] = '}';
        lim = (struct json_limits){ .max_depth = 2, .max_nodes = 100000 };
        cr_assert_eq(json_parse(big, n, &lim, &d, &e), -E2BIG);
        cr_assert_str_eq(e.what, "too many members");
        free(big);
}

Test(json, writer_escaping) {
        struct json_writer w;
        struct json_doc *d;

        json_writer_init(&w, 4096);
        json_begin_object(&w);
        json_member_string(&w, "s", "q\"b\\n\nr\rt\tb\bf\f\x01\x1f\x7f/\xc3\xa9");
        json_member_string(&w, "bad", "a\xff" "b\xc3" "c\xed\xa0\x80");
        json_member_null(&w, "z");
        json_member_string(&w, "nul", NULL);
        json_member_int(&w, "min", INT64_MIN);
        json_member_uint(&w, "max", UINT64_MAX);
        json_member_bool(&w, "t", true);
        json_key(&w, "r");
        json_real(&w, 2.0);
        json_key(&w, "inf");
        json_real(&w, 1.0 / 0.0);
        json_key(&w, "e");
        json_begin_array(&w);
        json_end_array(&w);
        json_key(&w, "a");
        json_begin_array(&w);
        json_int(&w, 1);
        json_begin_object(&w);
        json_end_object(&w);
        json_string_n(&w, "x\0y", 3);
        json_end_array(&w);
        json_end_object(&w);
        cr_assert_eq(json_writer_error(&w), 0);
        cr_assert_str_eq(w.buf, "{\"s\":\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f\\u007f/\xc3\xa9\","
                                "\"bad\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\","
                                "\"z\":null,\"nul\":null,\"min\":-9223372036854775808,\"max\":18446744073709551615,"
                                "\"t\":true,\"r\":2.0,\"inf\":null,\"e\":[],\"a\":[1,{},\"x\\u0000y\"]}");
        /* The reader takes int64 only: a uint64 past INT64_MAX is refused
         * where it starts (and \u0000 would be refused after it). */
        {
                struct json_error e = { 0 };

                cr_assert_eq(json_parse(w.buf, w.len, NULL, &d, &e), -ERANGE);
                cr_assert_eq(e.offset, (size_t)(strstr(w.buf, "18446744073709551615") - w.buf));
        }
        /* The bad UTF-8 came out as valid JSON. */
        {
                char *bad = strstr(w.buf, "\"bad\"");
                size_t n = (size_t)(strstr(bad, ",\"z\"") - bad);
                char doc[256];

                snprintf(doc, sizeof doc, "{%.*s}", (int)n, bad);
                d = parse_ok(doc);
                cr_assert_str_eq(json_get_string(d->root, "bad"),
                                 "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
                json_doc_free(d);
        }
        json_writer_done(&w);
}

Test(json, writer_cap_and_misuse) {
        struct json_writer w;
        char *b;
        size_t n;

        json_writer_init(&w, 10);
        json_begin_array(&w);
        json_string(&w, "12345678");
        cr_assert_eq(json_writer_error(&w), -ENOBUFS);
        json_end_array(&w);
        cr_assert_eq(json_writer_error(&w), -ENOBUFS, "sticky");
        cr_assert_eq(json_writer_steal(&w, &b, &n), -ENOBUFS);
        json_writer_reset(&w);
        json_begin_array(&w);
        json_string(&w, "123456");
        json_end_array(&w);
        cr_assert_eq(json_writer_error(&w), 0, "exactly 10 bytes fit");
        cr_assert_str_eq(w.buf, "[\"123456\"]");
        json_writer_done(&w);

        json_writer_init(&w, 100);
        json_key(&w, "k");
        cr_assert_eq(json_writer_error(&w), -EINVAL, "a key outside an object");
        json_writer_reset(&w);
        json_begin_object(&w);
        json_int(&w, 1);
        cr_assert_eq(json_writer_error(&w), -EINVAL, "a member without a name");
        json_writer_reset(&w);
        json_begin_object(&w);
        json_end_array(&w);
        cr_assert_eq(json_writer_error(&w), -EINVAL, "mismatched end");
        json_writer_reset(&w);
        json_begin_object(&w);
        json_key(&w, "k");
        json_end_object(&w);
        cr_assert_eq(json_writer_error(&w), -EINVAL, "a name without a value");
        json_writer_reset(&w);
        json_end_array(&w);
        cr_assert_eq(json_writer_error(&w), -EINVAL, "end at depth 0");
        json_writer_reset(&w);
        for (int i = 0; i < JSON_WRITER_MAX_DEPTH; i++)
                json_begin_array(&w);
        cr_assert_eq(json_writer_error(&w), 0);
        json_begin_array(&w);
        cr_assert_eq(json_writer_error(&w), -E2BIG);
        json_writer_done(&w);

        json_writer_init(&w, 100);
        cr_assert_eq(json_writer_steal(&w, &b, &n), 0);
        cr_assert_str_eq(b, "");
        cr_assert_eq(n, 0);
        free(b);
        json_writer_done(&w);
}

/* Random strings of valid UTF-8 (every byte class, escapes included)
 * survive write then read unchanged; random documents re-encode to a
 * fixed point. */
Test(json, round_trip) {
        static const char *const pieces[] = {
                "a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\f", "\x01", "\x1f", "\x7f",
                "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
                "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xe2\x80\xa8",
        };
        unsigned seed = 12345;

        for (int round = 0; round < 2000; round++) {
                char s[512];
                size_t n = 0;
                int k = rand_r(&seed) % 40;
                struct json_writer w;
                struct json_doc *d = NULL;
                char *again;

                for (int i = 0; i < k; i++) {
                        const char *p = pieces[(size_t)rand_r(&seed) % ELEMENTSOF(pieces)];

                        memcpy(s + n, p, strlen(p));
                        n += strlen(p);
                }
                s[n] = 0;
                json_writer_init(&w, 4096);
                json_begin_object(&w);
                json_member_string(&w, s, s);
                json_key(&w, "n");
                json_begin_array(&w);
                json_int(&w, (int64_t)rand_r(&seed) - RAND_MAX / 2);
                json_real(&w, (double)rand_r(&seed) / 7.0);
                json_end_array(&w);
                json_end_object(&w);
                cr_assert_eq(json_writer_error(&w), 0);
                cr_assert_eq(json_parse(w.buf, w.len, NULL, &d, NULL), 0, "round %d: %s", round, w.buf);
                cr_assert_str_eq(d->root->child->key, s);
                cr_assert_str_eq(d->root->child->str, s);
                cr_assert_eq(d->root->child->len, n);
                again = encode(d->root);
                cr_assert_str_eq(again, w.buf, "fixed point");
                free(again);
                json_doc_free(d);
                json_writer_done(&w);
        }
}

Test(json, utf8_sequence_len) {
        cr_assert_eq(utf8_sequence_len((const unsigned char *)"a", 1), 1);
        cr_assert_eq(utf8_sequence_len((const unsigned char *)"\xc3\xa9", 2), 2);
        cr_assert_eq(utf8_sequence_len((const unsigned char *)"\xc3\xa9", 1), 0);
        cr_assert_eq(utf8_sequence_len((const unsigned char *)"\xc1\xbf", 2), 0);
        cr_assert_eq(utf8_sequence_len((const unsigned char *)"\xe0\x9f\xbf", 3), 0);
        cr_assert_eq(utf8_sequence_len((const unsigned char *)"\xf0\x8f\xbf\xbf", 4), 0);
        cr_assert_eq(utf8_sequence_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 4);
        cr_assert_eq(utf8_sequence_len((const unsigned char *)"\xf5\x80\x80\x80", 4), 0);
        cr_assert_eq(utf8_sequence_len((const unsigned char *)"\x80", 1), 0);
}
