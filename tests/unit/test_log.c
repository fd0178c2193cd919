/* Unit tests for src/log.c: logfmt quoting, JSON escaping, numbers,
 * levels. Output goes to stderr, captured through a temporary file. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>

#include "gorral/log.h"

static char *capture(void (*fn)(void)) {
        char tmpl[] = "/tmp/gorral-log-XXXXXX";
        int fd = mkstemp(tmpl), saved = dup(STDERR_FILENO);
        char *buf;
        size_t len;

        cr_assert_geq(fd, 0);
        dup2(fd, STDERR_FILENO);
        fn();
        dup2(saved, STDERR_FILENO);
        close(saved);
        close(fd);
        cr_assert_eq(read_file(tmpl, 1 << 20, &buf, &len), 0);
        unlink(tmpl);
        return buf;
}

static void emit_spawn(void) {
        log_event(LOG_LEVEL_INFO, "spawn", "service", "my svc", "pid", LF_INT(42), "cmd", "a\"b\\c\nd", NULL);
}

Test(log, logfmt) {
        log_set_format(LOG_FORMAT_LOGFMT);
        log_set_level(LOG_LEVEL_INFO);
        char *out = capture(emit_spawn);

        cr_assert(strncmp(out, "ts=", 3) == 0, "%s", out);
        cr_assert(strstr(out, " level=info event=spawn service=\"my svc\" pid=42 cmd=\"a\\\"b\\\\c\\nd\"\n"), "%s", out);
        cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line");
        free(out);
}

Test(log, json) {
        log_set_format(LOG_FORMAT_JSON);
        log_set_level(LOG_LEVEL_INFO);
        char *out = capture(emit_spawn);

        cr_assert(strncmp(out, "{\"ts\":\"", 7) == 0, "%s", out);
        cr_assert(strstr(out, ",\"level\":\"info\",\"event\":\"spawn\",\"service\":\"my svc\",\"pid\":42,"
                              "\"cmd\":\"a\\\"b\\\\c\\nd\"}\n"), "%s", out);
        free(out);
}

static void emit_debug_and_error(void) {
        log_debug("hidden %d", 1);
        errno = 0;
        log_msg(LOG_LEVEL_ERROR, -ENOENT, "Failed to read '%s'", "/x");
}

Test(log, level_filter_and_errno) {
        log_set_format(LOG_FORMAT_LOGFMT);
        log_set_level(LOG_LEVEL_INFO);
        char *out = capture(emit_debug_and_error);

        cr_assert_null(strstr(out, "hidden"), "%s", out);
        cr_assert(strstr(out, "level=error msg=\"Failed to read '/x'\" err=\"No such file or directory\"\n"), "%s", out);
        free(out);
}

static void emit_control(void) {
        log_event(LOG_LEVEL_WARN, "x", "v", "\x01", "n", "007", "f", "1.5", NULL);
}

Test(log, json_numbers_and_control_chars) {
        log_set_format(LOG_FORMAT_JSON);
        char *out = capture(emit_control);

        cr_assert(strstr(out, "\"v\":\"\\u0001\",\"n\":\"007\",\"f\":1.5}"), "%s", out);
        free(out);
}

Test(log, parse_names) {
        cr_assert_eq(log_level_from_string("debug"), LOG_LEVEL_DEBUG);
        cr_assert_eq(log_level_from_string("WARNING"), LOG_LEVEL_WARN);
        cr_assert_eq(log_level_from_string("loud"), -EINVAL);
        cr_assert_eq(log_format_from_string("json"), LOG_FORMAT_JSON);
        cr_assert_eq(log_format_from_string("xml"), -EINVAL);
}

Test(log, error_errno_macro) {
        log_set_level(LOG_LEVEL_ERROR + 1);
        cr_assert_eq(log_error_errno(-EIO, "x"), -EIO);
        cr_assert_eq(log_error_errno(EIO, "x"), -EIO);
}
