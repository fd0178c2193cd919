/* util.h: L0 helpers shared by every module: cleanup attributes, fd and
 * file helpers, number/size/duration/signal parsing, monotonic time.
 * Every function returns >= 0 on success or -errno; outputs are written
 * only on success. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _cleanup_(f) __attribute__((cleanup(f)))

/* Largest file any reader slurps (cgroup, proc, ELF notes are far smaller;
 * mountinfo on a busy host is the biggest, a few hundred KiB). */
#define GR_READ_MAX ((size_t)4 << 20)

static inline void freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(freep)

/* Close an fd, keep errno, return -1 so "fd = safe_close(fd)" resets it. */
int safe_close(int fd);
static inline void closep(int *fd) { safe_close(*fd); }
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f) { int e = errno; fclose(*f); errno = e; }
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closedirp(DIR **d) {
        if (*d) { int e = errno; closedir(*d); errno = e; }
}
#define _cleanup_closedir_ _cleanup_(closedirp)

#define DEFINE_CLEANUP_FUNC(type, fn)                      \
        static inline void fn##p(type *p) {                \
                if (*p) fn(*p);                            \
        }

/* The capacity to grow an array to so that it holds need elements of
 * size bytes: doubling from 8, never above max elements. 0 when cap
 * already suffices, 1 with *ret_cap set, -ENOSPC past max, -ENOMEM when
 * the byte count would overflow. */
static inline int grow_capacity(size_t cap, size_t need, size_t size, size_t max, size_t *ret_cap) {
        size_t nc;

        if (need <= cap)
                return 0;
        if (need > max)
                return -ENOSPC;
        nc = cap ? cap * 2 : 8;
        if (nc < need)
                nc = need;
        if (nc > max)
                nc = max;
        if (nc > SIZE_MAX / size)
                return -ENOMEM;
        *ret_cap = nc;
        return 1;
}

/* Make room for need elements in the malloc'd array arr of capacity cap
 * (both lvalues, updated on success; unchanged on failure). 0 or -errno. */
#define GROW_ARRAY(arr, cap, need, max)                                              \
        ({                                                                           \
                size_t _nc = 0;                                                      \
                int _r = grow_capacity((cap), (need), sizeof *(arr), (max), &_nc);   \
                if (_r > 0) {                                                        \
                        __typeof__(arr) _n = realloc((arr), _nc * sizeof *(arr));     \
                        if (_n) {                                                    \
                                (arr) = _n;                                          \
                                (cap) = _nc;                                         \
                                _r = 0;                                              \
                        } else                                                       \
                                _r = -ENOMEM;                                        \
                }                                                                    \
                _r;                                                                  \
        })

static inline int negative_errno(void) { return errno > 0 ? -errno : -EIO; }

/* Read at most max bytes of a file (NUL-terminated; *ret_len excludes the
 * NUL). -EFBIG when the file is larger than max. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);
static inline int read_file(const char *path, size_t max, char **ret, size_t *ret_len) {
        return read_file_at(AT_FDCWD, path, max, ret, ret_len);
}

/* One read of a kept-open kernel file from offset 0 (procfs and cgroupfs
 * seq files regenerate their content on a read at 0), retrying on EINTR:
 * the bytes read, or -errno; -EFBIG when it filled size (the file may be
 * longer: the caller's buffer is too small for it). */
ssize_t pread_whole(int fd, char *buf, size_t size);

/* The next line of buf[0..n) from *pos, without its '\n' (a final line
 * without a newline counts; nothing after a final newline does): true
 * with the line in ret and ret_len, *pos moved past it; false at the end. */
bool buf_next_line(const char *buf, size_t n, size_t *pos, const char **ret, size_t *ret_len);

/* Write all of buf, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t n);

/* Strict decimal parsers: no sign, no leading/trailing space, no overflow. */
int parse_u64(const char *s, uint64_t *ret);
int parse_u64_n(const char *s, size_t n, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);     /* optional leading '-' */
int parse_u32(const char *s, uint32_t *ret);
/* The value of one hexadecimal digit (either case), or -1. */
int hex_digit(char c);
/* |v| in the largest binary unit (B, KiB, MiB, ... EiB) that keeps it at
 * 1 or more, for people: the scaled value, *ret_unit its unit (NULL for
 * under 1 KiB, which stays in bytes). */
double bytes_scaled(double v, const char **ret_unit);
/* '0' to '9' only, in any locale (isdigit() is locale-dependent and
 * undefined for negative chars). */
static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Decimal formatting without printf (the log formats a few numbers per
 * line, on paths such as the exit that tini's time is measured against):
 * the digits of v end just before end, unterminated; the first is returned. */
char *u64_digits(uint64_t v, char *end);
/* v into buf, NUL-terminated; returns buf. FMT_INT_MAX holds any of them. */
#define FMT_INT_MAX 24
char *fmt_u64(char buf[static FMT_INT_MAX], uint64_t v);
char *fmt_i64(char buf[static FMT_INT_MAX], int64_t v);
/* usec as milliseconds with three decimals, "%.3f" of usec / 1000 exactly. */
char *fmt_ms(char buf[static FMT_INT_MAX], int64_t usec);

/* "1.5s", "250ms", "10", "2m", "1h", "100us": to microseconds (bare number:
 * seconds). */
int parse_duration_usec(const char *s, uint64_t *ret);
/* Human bytes: "512", "512K", "256MiB", "1G" (K/M/G/T binary). */
int parse_size_bytes(const char *s, uint64_t *ret);
/* A finite decimal number: optional '-', digits with an optional fraction
 * and exponent ("0.8", "1e-3", "-2"); no spaces, no hex, no inf/nan.
 * 0, -EINVAL, -ERANGE. */
int parse_double(const char *s, double *ret);

/* "TERM", "SIGTERM", "15" -> 15. */
int parse_signal(const char *s, int *ret);
/* 15 -> "SIGTERM"; unknown -> "SIG<n>" in a static per-call buffer. */
const char *signal_to_name(int sig);

/* A UTC calendar time, without the C library's time-zone machinery. */
struct utc_time {
        int year;
        unsigned month, day, hour, minute, second; /* 1-12, 1-31, 0-23, 0-59, 0-59 */
};
void utc_from_epoch(int64_t secs, struct utc_time *ret);
/* realtime_usec (since the epoch) as RFC 3339 UTC with milliseconds,
 * "2026-12-01T22:38:27.553Z", NUL-terminated; buf holds UTC_MS_LEN. */
#define UTC_MS_LEN 32
void fmt_utc_ms(char buf[static UTC_MS_LEN], int64_t realtime_usec);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t now_usec(void);

/* Join two path pieces with exactly one '/' between them (malloc'd). */
char *path_join(const char *a, const char *b);

/* A NULL-terminated array of malloc'd strings (an environment, an argv):
 * free each string and the array; NULL-safe; returns NULL. */
char **strv_free(char **v);
/* A deep copy of a NULL-terminated vector into *ret (NULL for NULL). 0 or
 * -ENOMEM. */
int strv_copy(char *const *src, char ***ret);
/* A copy of a NULL-terminated vector in one allocation: the pointer array
 * and then the strings (NULL for NULL). One malloc and one free() however
 * many strings, where strv_copy() makes n + 1: a service's environment is
 * gorral's own plus a few, copied per service. Release it with free(),
 * never strv_free(). 0 or -ENOMEM. */
int strv_pack(char *const *src, char ***ret);
/* Both NULL, or the same strings in the same order. */
bool strv_eq(char *const *a, char *const *b);
/* The value of name[0..len) in a NULL-terminated "K=V" array (the first
 * match), or NULL. envp may be NULL. */
const char *env_lookup(char *const *envp, const char *name, size_t len);

/* Append a formatted, malloc'd string to the growable array *v of *n
 * strings (notes, messages). 0 or -ENOMEM (nothing changed). */
int strv_appendf(char ***v, size_t *n, const char *fmt, ...) _printf_(3, 4);
int strv_appendv(char ***v, size_t *n, const char *fmt, va_list ap) _printf_(3, 0);

/* Write s as a JSON string literal (quoted, escaped; NULL -> null). */
void json_fputs(FILE *f, const char *s);

/* Is s a prefix of path on a path-component boundary ("/a" of "/a/b", not
 * of "/ab"). "/" is a prefix of every absolute path. */
bool path_has_prefix(const char *path, const char *prefix);
