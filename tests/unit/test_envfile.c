/* Unit tests for src/envfile.c: the env_file format and ${VAR}
 * interpolation. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/envfile.h"

static char **parse_ok(const char *s, size_t *n) {
        struct envfile_error e = { 0 };
        char **v = NULL;
        int r = envfile_parse(s, strlen(s), &v, n, &e);

        cr_assert_eq(r, 0, "r=%d at %u:%u: %s", r, e.line, e.column, e.message);
        return v;
}

static void parse_bad(const char *s, unsigned line, unsigned col, const char *msg) {
        struct envfile_error e = { 0 };
        char **v = NULL;
        int r = envfile_parse(s, strlen(s), &v, NULL, &e);

        cr_assert_eq(r, -EINVAL, "'%s': r=%d", s, r);
        cr_assert_null(v);
        cr_assert_eq(e.line, line, "'%s': line %u want %u", s, e.line, line);
        cr_assert_eq(e.column, col, "'%s': column %u want %u", s, e.column, col);
        cr_assert(strstr(e.message, msg), "'%s': message '%s' lacks '%s'", s, e.message, msg);
}

Test(envfile, format) {
        size_t n;
        char **v = parse_ok("# comment\n\n  A=1\n   # indented comment\nA=2", &n);

        /* Both kept in file order: the caller keeps the last. */
        cr_assert_eq(n, 2);
        cr_assert_str_eq(v[0], "A=1");
        cr_assert_str_eq(v[1], "A=2");
        cr_assert_null(v[2]);
        strv_free(v);
        parse_bad("B =x\n", 1, 1, "invalid variable name");
        v = parse_ok("B=  spaced value  \nC=\"q \\\"x\\\" \\n\\t\\\\ \\$HOME\"  # c\n"
                     "D='$HOME ${X} \\n'\nE=\nF=a=b#not-a-comment\r\nG=\"\"\n", &n);
        cr_assert_eq(n, 6);
        cr_assert_str_eq(v[0], "B=spaced value");
        cr_assert_str_eq(v[1], "C=q \"x\" \n\t\\ $HOME");
        cr_assert_str_eq(v[2], "D=$HOME ${X} \\n");
        cr_assert_str_eq(v[3], "E=");
        cr_assert_str_eq(v[4], "F=a=b#not-a-comment");
        cr_assert_str_eq(v[5], "G=");
        strv_free(v);
        v = parse_ok("", &n);
        cr_assert_eq(n, 0);
        cr_assert_null(v[0]);
        strv_free(v);
}

Test(envfile, errors) {
        parse_bad("A=1\nNOEQUALS\n", 2, 1, "expected KEY=VALUE");
        parse_bad("A=1\n  1X=2\n", 2, 3, "invalid variable name");
        parse_bad("A=\"open\n", 1, 3, "unterminated double quote");
        parse_bad("A='open\n", 1, 3, "unterminated single quote");
        parse_bad("A=\"x\" y\n", 1, 7, "unexpected text after the closing quote");
        parse_bad("A=\"\\q\"\n", 1, 4, "unknown escape");
        parse_bad("éé=1\n", 1, 1, "invalid variable name");
        parse_bad("X=\"éé\" y\n", 1, 8, "unexpected text");
        {
                static const char nul[] = "A=1\nB=x\0y\n";
                struct envfile_error e;
                char **v = NULL;

                cr_assert_eq(envfile_parse(nul, sizeof nul - 1, &v, NULL, &e), -EINVAL);
                cr_assert_eq(e.line, 2);
        }
}

Test(envfile, bounded) {
        size_t cap = (ENVFILE_MAX_VARS + 2) * 8, o = 0;
        char *buf = malloc(cap);
        struct envfile_error e;
        char **v = NULL;

        for (unsigned i = 0; i <= ENVFILE_MAX_VARS; i++)
                o += (size_t)snprintf(buf + o, cap - o, "V%u=\n", i);
        cr_assert_eq(envfile_parse(buf, o, &v, NULL, &e), -E2BIG);
        cr_assert_eq(e.line, ENVFILE_MAX_VARS + 1);
        free(buf);
}

static char *env[] = { "PORT=8080", "EMPTY=", "A_B=ab", NULL };

static void interp(const char *s, const char *want) {
        char *out = NULL, err[256];
        size_t off;
        int r = env_interpolate(s, strlen(s), env, &out, &off, err, sizeof err);

        cr_assert_eq(r, 0, "'%s': %s", s, err);
        cr_assert_str_eq(out, want, "'%s' -> '%s' want '%s'", s, out, want);
        free(out);
}

static void interp_bad(const char *s, size_t want_off, const char *msg) {
        char *out = NULL, err[256];
        size_t off = 999;
        int r = env_interpolate(s, strlen(s), env, &out, &off, err, sizeof err);

        cr_assert_eq(r, -EINVAL, "'%s'", s);
        cr_assert_null(out);
        cr_assert_eq(off, want_off, "'%s': offset %zu", s, off);
        cr_assert(strstr(err, msg), "'%s': '%s' lacks '%s'", s, err, msg);
}

Test(envfile, interpolation) {
        interp("", "");
        interp("plain", "plain");
        interp("${PORT}", "8080");
        interp(":${PORT}/x", ":8080/x");
        interp("${A_B}${PORT}", "ab8080");
        interp("$$", "$");
        interp("$${PORT}", "${PORT}");
        interp("a$b $ $", "a$b $ $");
        interp("${NOPE:-dflt}", "dflt");
        interp("${EMPTY:-dflt}", "dflt");
        interp("${EMPTY-dflt}", "");
        interp("${NOPE-dflt}", "dflt");
        interp("${NOPE:-}", "");
        interp("${PORT:-9}", "8080");
        interp("${NOPE:-a b:c}", "a b:c");
        interp_bad("x ${NOPE}", 2, "variable ${NOPE} is not set");
        interp_bad("${PORT", 0, "unterminated ${");
        interp_bad("${}", 0, "invalid variable name");
        interp_bad("${1X}", 0, "invalid variable name");
        interp_bad("${A:x}", 0, "invalid ${A:x}");
        interp_bad("${A B}", 0, "invalid variable name");
}

Test(envfile, names_and_lookup) {
        cr_assert(env_name_valid("A", 1));
        cr_assert(env_name_valid("_a9", 3));
        cr_assert(!env_name_valid("9a", 2));
        cr_assert(!env_name_valid("", 0));
        cr_assert(!env_name_valid("A-B", 3));
        cr_assert_str_eq(env_lookup(env, "PORT", 4), "8080");
        cr_assert_null(env_lookup(env, "POR", 3));
        cr_assert_null(env_lookup(NULL, "PORT", 4));
}
