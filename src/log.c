/* log.c: structured lines on stderr, one write(2) each. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gorral/log.h"

static enum log_level log_level = LOG_LEVEL_INFO;
static enum log_format log_format = LOG_FORMAT_LOGFMT;

static const char *const level_names[] = {
        [LOG_LEVEL_DEBUG] = "debug", [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_WARN] = "warn",   [LOG_LEVEL_ERROR] = "error",
};

void log_set_level(enum log_level l) { log_level = l; }
void log_set_format(enum log_format f) { log_format = f; }
enum log_level log_get_level(void) { return log_level; }

int log_level_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcasecmp(s, level_names[i]) == 0)
                        return (int)i;
        if (strcasecmp(s, "warning") == 0)
                return LOG_LEVEL_WARN;
        return -EINVAL;
}

int log_format_from_string(const char *s) {
        if (strcmp(s, "logfmt") == 0)
                return LOG_FORMAT_LOGFMT;
        if (strcmp(s, "json") == 0)
                return LOG_FORMAT_JSON;
        return -EINVAL;
}

/* A line buffer that truncates instead of failing: a log line must never
 * cost an allocation or abort the supervisor. */
struct line {
        char buf[4096];
        size_t len;
};

static void put(struct line *l, const char *s, size_t n) {
        size_t room = sizeof(l->buf) - 2 - l->len; /* keep space for "\n" */

        if (n > room)
                n = room;
        memcpy(l->buf + l->len, s, n);
        l->len += n;
}

static void puts_(struct line *l, const char *s) { put(l, s, strlen(s)); }

static bool is_number(const char *s) {
        const char *p = s;

        if (*p == '-')
                p++;
        if (!(*p >= '0' && *p <= '9'))
                return false;
        if (*p == '0' && p[1] >= '0' && p[1] <= '9')
                return false;
        while (*p >= '0' && *p <= '9')
                p++;
        if (*p == '.') {
                p++;
                if (!(*p >= '0' && *p <= '9'))
                        return false;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        return *p == '\0';
}

static void put_escaped(struct line *l, const char *v) {
        for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
                char tmp[8];

                if (*p == '"' || *p == '\\') {
                        tmp[0] = '\\';
                        tmp[1] = (char)*p;
                        put(l, tmp, 2);
                } else if (*p == '\n') {
                        put(l, "\\n", 2);
                } else if (*p == '\t') {
                        put(l, "\\t", 2);
                } else if (*p < 0x20 || *p == 0x7f) {
                        snprintf(tmp, sizeof tmp, "\\u%04x", *p);
                        puts_(l, tmp);
                } else
                        put(l, (const char *)p, 1);
        }
}

static bool logfmt_needs_quote(const char *v) {
        if (!*v)
                return true;
        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
                if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f)
                        return true;
        return false;
}

static void put_field(struct line *l, bool first, const char *k, const char *v) {
        if (log_format == LOG_FORMAT_JSON) {
                puts_(l, first ? "{\"" : ",\"");
                put_escaped(l, k);
                puts_(l, "\":");
                if (is_number(v))
                        puts_(l, v);
                else {
                        puts_(l, "\"");
                        put_escaped(l, v);
                        puts_(l, "\"");
                }
                return;
        }
        if (!first)
                puts_(l, " ");
        puts_(l, k);
        puts_(l, "=");
        if (logfmt_needs_quote(v)) {
                puts_(l, "\"");
                put_escaped(l, v);
                puts_(l, "\"");
        } else
                puts_(l, v);
}

static void put_header(struct line *l, enum log_level level) {
        struct timespec ts;
        char t[UTC_MS_LEN];

        clock_gettime(CLOCK_REALTIME, &ts);
        fmt_utc_ms(t, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
        put_field(l, true, "ts", t);
        put_field(l, false, "level", level_names[level]);
}

static void finish(struct line *l) {
        int e = errno;

        if (log_format == LOG_FORMAT_JSON)
                puts_(l, "}");
        l->buf[l->len++] = '\n';
        /* Errors writing to stderr are deliberately ignored. */
        (void)!write(STDERR_FILENO, l->buf, l->len);
        errno = e;
}

void log_eventv(enum log_level level, const char *event, va_list ap) {
        struct line l = { .len = 0 };
        const char *k;

        if (level < log_level)
                return;
        put_header(&l, level);
        put_field(&l, false, "event", event);
        while ((k = va_arg(ap, const char *))) {
                const char *v = va_arg(ap, const char *);

                if (!*k)
                        continue;       /* an optional field left out (LOG_OPT) */
                put_field(&l, false, k, v ? v : "");
        }
        finish(&l);
}

void log_event(enum log_level level, const char *event, ...) {
        va_list ap;

        va_start(ap, event);
        log_eventv(level, event, ap);
        va_end(ap);
}

void log_msg(enum log_level level, int err, const char *fmt, ...) {
        struct line l = { .len = 0 };
        char msg[2048];
        va_list ap;
        int e = errno;

        if (level < log_level)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        put_header(&l, level);
        put_field(&l, false, "msg", msg);
        if (err)
                put_field(&l, false, "err", strerror(err < 0 ? -err : err));
        finish(&l);
        errno = e;
}
