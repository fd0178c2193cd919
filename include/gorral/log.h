/* log.h: the one logger. Every line goes to stderr in one write(2), as
 * logfmt (default) or JSON, never to stdout (that belongs to the child).
 * Library code (parsers, readers) does not log: it returns -errno and the
 * orchestrating caller logs once. */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "gorral/util.h"

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR, _LOG_LEVEL_INVALID = -EINVAL };
enum log_format { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON, _LOG_FORMAT_INVALID = -EINVAL };

void log_set_level(enum log_level l);
void log_set_format(enum log_format f);
enum log_level log_get_level(void);
int log_level_from_string(const char *s);  /* enum value or -EINVAL */
int log_format_from_string(const char *s);

/* A structured event: key/value string pairs, NULL-terminated.
 *   log_event(LOG_LEVEL_INFO, "spawn", "service", name, "pid", LF_INT(pid), NULL);
 * Values that look like numbers are written as JSON numbers. */
void log_event(enum log_level level, const char *event, ...) __attribute__((sentinel));
/* An optional field: LOG_OPT(cond, "key"), value: the pair is left out
 * when cond is false (an empty key is skipped; NULL ends the list). */
#define LOG_OPT(cond, key) ((cond) ? (key) : "")
void log_eventv(enum log_level level, const char *event, va_list ap);

/* A free-text message; err (a -errno or errno, 0 for none) adds err="...". */
void log_msg(enum log_level level, int err, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
/* Log and evaluate to -|r|, for "return log_error_errno(r, ...)". */
#define log_error_errno(r, ...) ({ int _r = (r); log_msg(LOG_LEVEL_ERROR, _r, __VA_ARGS__); _r < 0 ? _r : -_r; })
#define log_warn_errno(r, ...) ({ int _r = (r); log_msg(LOG_LEVEL_WARN, _r, __VA_ARGS__); _r < 0 ? _r : -_r; })

/* Format a number into a buffer on the caller's stack, for log_event(). */
#define LF_INT(v) fmt_i64(__builtin_alloca(FMT_INT_MAX), (int64_t)(v))
#define LF_U64(v) fmt_u64(__builtin_alloca(FMT_INT_MAX), (uint64_t)(v))
#define LF_MS(usec) fmt_ms(__builtin_alloca(FMT_INT_MAX), (int64_t)(usec))
