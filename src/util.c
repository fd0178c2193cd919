/* util.c: L0 helpers (fd, file, number, duration, signal parsing, time). */
#include <ctype.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "gorral/util.h"

int safe_close(int fd) {
        if (fd >= 0) {
                int e = errno;
                close(fd);
                errno = e;
        }
        return -1;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *heap = NULL;
        /* Most files read here are a few hundred bytes: read them on the
         * stack and allocate what they hold, not a 4 KiB buffer (musl maps
         * and unmaps a fresh group for each of those: 10-20 us). */
        char small[4096 + 1], *buf = small;
        size_t len = 0, cap = max < 4096 ? max : 4096;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        /* procfs and cgroupfs report st_size 0: read until EOF. */
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        char *nb;

                        if (cap >= max) {
                                char c;
                                ssize_t k;

                                /* Full at the limit: one more byte tells
                                 * "exactly max" from "too big". */
                                do
                                        k = read(fd, &c, 1);
                                while (k < 0 && errno == EINTR);
                                if (k < 0)
                                        return negative_errno();
                                if (k > 0)
                                        return -EFBIG;
                                break;
                        }
                        cap = cap * 2 > max ? max : cap * 2;
                        nb = realloc(heap, cap + 1);
                        if (!nb)
                                return -ENOMEM;
                        if (!heap)
                                memcpy(nb, small, len);
                        buf = heap = nb;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (!heap) {
                heap = malloc(len + 1);
                if (!heap)
                        return -ENOMEM;
                memcpy(heap, small, len);
        }
        heap[len] = '\0';
        *ret = heap;
        heap = NULL;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int write_all(int fd, const void *buf, size_t n) {
        const char *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

char *u64_digits(uint64_t v, char *end) {
        do
                *--end = (char)('0' + v % 10);
        while ((v /= 10));
        return end;
}

char *fmt_u64(char buf[static FMT_INT_MAX], uint64_t v) {
        char *end = buf + FMT_INT_MAX - 1, *p;

        *end = 0;
        p = u64_digits(v, end);
        return memmove(buf, p, (size_t)(end + 1 - p));
}

/* The magnitude of v without overflow for INT64_MIN. */
static uint64_t magnitude(int64_t v) { return v < 0 ? -(uint64_t)v : (uint64_t)v; }

char *fmt_i64(char buf[static FMT_INT_MAX], int64_t v) {
        char *end = buf + FMT_INT_MAX - 1, *p;

        *end = 0;
        p = u64_digits(magnitude(v), end);
        if (v < 0)
                *--p = '-';
        return memmove(buf, p, (size_t)(end + 1 - p));
}

char *fmt_ms(char buf[static FMT_INT_MAX], int64_t usec) {
        uint64_t m = magnitude(usec);
        char *end = buf + FMT_INT_MAX - 1, *p;

        *end = 0;
        p = u64_digits(1000 + m % 1000, end); /* "1ddd": the 1 becomes the point */
        *p = '.';
        p = u64_digits(m / 1000, p);
        if (usec < 0)
                *--p = '-';
        return memmove(buf, p, (size_t)(end + 1 - p));
}

int parse_u64_n(const char *s, size_t n, uint64_t *ret) {
        uint64_t v = 0;
        size_t i = 0;

        if (n == 0)
                return -EINVAL;
        /* Any 19 digits fit in 64 bits: only from the 20th on can one
         * overflow (the monitor parses a few dozen numbers per sample). */
        for (; i < n && i < 19; i++) {
                unsigned d = (unsigned)(unsigned char)s[i] - '0';

                if (d > 9)
                        return -EINVAL;
                v = v * 10 + d;
        }
        for (; i < n; i++) {
                unsigned d = (unsigned)(unsigned char)s[i] - '0';

                if (d > 9)
                        return -EINVAL;
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

int parse_u64(const char *s, uint64_t *ret) {
        return parse_u64_n(s, strlen(s), ret);
}

int parse_i64(const char *s, int64_t *ret) {
        bool neg = s[0] == '-';
        uint64_t u;
        int r = parse_u64(s + neg, &u);

        if (r < 0)
                return r;
        if (neg) {
                if (u > (uint64_t)INT64_MAX + 1)
                        return -ERANGE;
                *ret = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
        } else {
                if (u > INT64_MAX)
                        return -ERANGE;
                *ret = (int64_t)u;
        }
        return 0;
}

double bytes_scaled(double v, const char **ret_unit) {
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        int u = -1;

        while (u + 1 < (int)ELEMENTSOF(units) && (v >= 1024 || v <= -1024)) {
                v /= 1024;
                u++;
        }
        *ret_unit = u < 0 ? NULL : units[u];
        return v;
}

int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int parse_u32(const char *s, uint32_t *ret) {
        uint64_t u;
        int r = parse_u64(s, &u);

        if (r < 0)
                return r;
        if (u > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t)u;
        return 0;
}

/* Split "<digits>[.<digits>]<suffix>" into an integer part, a fraction
 * scaled to 1e6 and the suffix. */
static int parse_decimal(const char *s, uint64_t *ret_int, uint64_t *ret_frac_e6, const char **ret_suffix) {
        const char *p = s;
        uint64_t frac = 0, scale = 100000;
        uint64_t ip;
        int r;

        while (*p >= '0' && *p <= '9')
                p++;
        r = parse_u64_n(s, (size_t)(p - s), &ip);
        if (r < 0)
                return r;
        if (*p == '.') {
                p++;
                if (!(*p >= '0' && *p <= '9'))
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++) {
                        frac += (uint64_t)(*p - '0') * scale;
                        scale /= 10;
                }
        }
        *ret_int = ip;
        *ret_frac_e6 = frac;
        *ret_suffix = p;
        return 0;
}

static int scale_checked(uint64_t ip, uint64_t frac_e6, uint64_t mult, uint64_t *ret) {
        if (mult && ip > UINT64_MAX / mult)
                return -ERANGE;
        uint64_t v = ip * mult;
        uint64_t f = (uint64_t)((unsigned __int128)frac_e6 * mult / 1000000u);
        if (v > UINT64_MAX - f)
                return -ERANGE;
        *ret = v + f;
        return 0;
}

/* Go's time.ParseDuration without the sign: one or more <decimal><unit>
 * pieces ("1h2m", "1m30s", "1.5s"), units ns us ms s m h (and "min"),
 * summed; ns are truncated to whole microseconds at the end. A bare
 * number alone is seconds, as it always was here. */
int parse_duration_usec(const char *s, uint64_t *ret) {
        static const struct { const char *suffix; uint64_t nsec; } units[] = {
                { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000ULL },
                { "m", 60000000000ULL }, { "min", 60000000000ULL }, { "h", 3600000000000ULL },
        };
        unsigned __int128 total_ns = 0;
        const char *p = s;
        unsigned pieces = 0;

        if (!*s)
                return -EINVAL;
        while (*p) {
                uint64_t ip, frac, v;
                const char *suffix, *end;
                size_t n;
                bool found = false;
                int r = parse_decimal(p, &ip, &frac, &suffix);

                if (r < 0)
                        return r;
                for (end = suffix; (*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z'); end++)
                        ;
                n = (size_t)(end - suffix);
                if (n == 0) {
                        /* A bare number: only alone, and then seconds. */
                        if (pieces > 0 || *end)
                                return -EINVAL;
                        r = scale_checked(ip, frac, 1000000, &v);
                        if (r < 0)
                                return r;
                        *ret = v;
                        return 0;
                }
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (strlen(units[i].suffix) == n && strncmp(suffix, units[i].suffix, n) == 0) {
                                r = scale_checked(ip, frac, units[i].nsec, &v);
                                if (r < 0)
                                        return r;
                                total_ns += v;
                                found = true;
                                break;
                        }
                if (!found)
                        return -EINVAL;
                /* Each piece is < 2^64 ns, so the 128-bit sum cannot wrap
                 * before this check. */
                if (total_ns / 1000 > UINT64_MAX)
                        return -ERANGE;
                pieces++;
                p = end;
        }
        *ret = (uint64_t)(total_ns / 1000);
        return 0;
}

int parse_size_bytes(const char *s, uint64_t *ret) {
        static const struct { const char *suffix; uint64_t mult; } units[] = {
                { "", 1 }, { "B", 1 },
                { "K", 1ULL << 10 }, { "KiB", 1ULL << 10 },
                { "M", 1ULL << 20 }, { "MiB", 1ULL << 20 },
                { "G", 1ULL << 30 }, { "GiB", 1ULL << 30 },
                { "T", 1ULL << 40 }, { "TiB", 1ULL << 40 },
        };
        uint64_t ip, frac;
        const char *suffix;
        int r = parse_decimal(s, &ip, &frac, &suffix);

        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcmp(suffix, units[i].suffix) == 0) {
                        if (units[i].mult == 1 && frac)
                                return -EINVAL;
                        return scale_checked(ip, frac, units[i].mult, ret);
                }
        return -EINVAL;
}

static const struct { int sig; const char *name; } signal_names[] = {
        { SIGHUP, "HUP" },   { SIGINT, "INT" },     { SIGQUIT, "QUIT" }, { SIGILL, "ILL" },
        { SIGTRAP, "TRAP" }, { SIGABRT, "ABRT" },   { SIGBUS, "BUS" },   { SIGFPE, "FPE" },
        { SIGKILL, "KILL" }, { SIGUSR1, "USR1" },   { SIGSEGV, "SEGV" }, { SIGUSR2, "USR2" },
        { SIGPIPE, "PIPE" }, { SIGALRM, "ALRM" },   { SIGTERM, "TERM" }, { SIGSTKFLT, "STKFLT" },
        { SIGCHLD, "CHLD" }, { SIGCONT, "CONT" },   { SIGSTOP, "STOP" }, { SIGTSTP, "TSTP" },
        { SIGTTIN, "TTIN" }, { SIGTTOU, "TTOU" },   { SIGURG, "URG" },   { SIGXCPU, "XCPU" },
        { SIGXFSZ, "XFSZ" }, { SIGVTALRM, "VTALRM" }, { SIGPROF, "PROF" }, { SIGWINCH, "WINCH" },
        { SIGIO, "IO" },     { SIGPWR, "PWR" },     { SIGSYS, "SYS" },
};

int parse_double(const char *s, double *ret) {
        const char *p = s;
        char *end;
        double v;

        /* The grammar first: strtod() alone would take " 1", "0x10",
         * "inf" and "nan". gorral never calls setlocale(): '.' is the
         * decimal point. */
        if (*p == '-')
                p++;
        if (!(*p >= '0' && *p <= '9') && !(*p == '.' && p[1] >= '0' && p[1] <= '9'))
                return -EINVAL;
        while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
               ((*p == '-' || *p == '+') && (p[-1] == 'e' || p[-1] == 'E')))
                p++;
        if (*p)
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (*end)
                return -EINVAL;
        if (errno == ERANGE || !isfinite(v))
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_signal(const char *s, int *ret) {
        uint32_t n;

        if (parse_u32(s, &n) >= 0) {
                if (n < 1 || n >= (uint32_t)NSIG)
                        return -ERANGE;
                *ret = (int)n;
                return 0;
        }
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < ELEMENTSOF(signal_names); i++)
                if (strcasecmp(s, signal_names[i].name) == 0) {
                        *ret = signal_names[i].sig;
                        return 0;
                }
        return -EINVAL;
}

const char *signal_to_name(int sig) {
        static const char *const full[] = {
                [SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
                [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE",
                [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
                [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM", [SIGSTKFLT] = "SIGSTKFLT",
                [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT", [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",
                [SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU", [SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU",
                [SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH",
                [SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR", [SIGSYS] = "SIGSYS",
        };
        static char buf[16];

        if (sig > 0 && (size_t)sig < ELEMENTSOF(full) && full[sig])
                return full[sig];
        snprintf(buf, sizeof buf, "SIG%d", sig);
        return buf;
}

/* Seconds since the epoch to a UTC calendar date (the proleptic
 * Gregorian "civil from days" algorithm). By hand because glibc's
 * gmtime_r() and strftime() run tzset(), which opens /etc/localtime on the
 * first log line: seven system calls on every start, for a UTC stamp. */
void utc_from_epoch(int64_t secs, struct utc_time *ret) {
        int64_t days = secs / 86400, rem = secs % 86400;

        if (rem < 0) {
                rem += 86400;
                days--;
        }
        ret->hour = (unsigned)(rem / 3600);
        ret->minute = (unsigned)(rem % 3600 / 60);
        ret->second = (unsigned)(rem % 60);
        days += 719468;
        int64_t era = (days >= 0 ? days : days - 146096) / 146097;
        unsigned doe = (unsigned)(days - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        ret->day = doy - (153 * mp + 2) / 5 + 1;
        ret->month = mp < 10 ? mp + 3 : mp - 9;
        ret->year = (int)(yoe + era * 400 + (ret->month <= 2));
}

/* v in exactly width digits at p (the lowest ones when it has more). */
static char *fixed_digits(char *p, uint64_t v, int width) {
        for (int i = width - 1; i >= 0; i--, v /= 10)
                p[i] = (char)('0' + v % 10);
        return p + width;
}

void fmt_utc_ms(char buf[static UTC_MS_LEN], int64_t realtime_usec) {
        int64_t secs = realtime_usec / 1000000, rem = realtime_usec % 1000000;
        struct utc_time t;
        char *p = buf;

        if (rem < 0) {
                rem += 1000000;
                secs--;
        }
        utc_from_epoch(secs, &t);
        /* Four digits, as RFC 3339 has them: a clock outside years 0 to
         * 9999 is clamped. */
        p = fixed_digits(p, (uint64_t)(t.year < 0 ? 0 : t.year > 9999 ? 9999 : t.year), 4);
        *p++ = '-';
        p = fixed_digits(p, t.month, 2);
        *p++ = '-';
        p = fixed_digits(p, t.day, 2);
        *p++ = 'T';
        p = fixed_digits(p, t.hour, 2);
        *p++ = ':';
        p = fixed_digits(p, t.minute, 2);
        *p++ = ':';
        p = fixed_digits(p, t.second, 2);
        *p++ = '.';
        p = fixed_digits(p, (uint64_t)rem / 1000, 3);
        *p++ = 'Z';
        *p = 0;
}

uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

char *path_join(const char *a, const char *b) {
        size_t la = strlen(a);
        char *p;

        while (la > 0 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        p = malloc(la + 1 + strlen(b) + 1);
        if (!p)
                return NULL;
        memcpy(p, a, la);
        p[la] = '/';
        strcpy(p + la + 1, b);
        return p;
}

char **strv_free(char **v) {
        if (v)
                for (char **p = v; *p; p++)
                        free(*p);
        free(v);
        return NULL;
}

int strv_copy(char *const *src, char ***ret) {
        size_t n = 0;
        char **v;

        *ret = NULL;
        if (!src)
                return 0;
        while (src[n])
                n++;
        v = calloc(n + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(v[i] = strdup(src[i]))) {
                        strv_free(v);
                        return -ENOMEM;
                }
        *ret = v;
        return 0;
}

int strv_pack(char *const *src, char ***ret) {
        size_t n = 0, bytes = 0;
        char **v, *o;

        *ret = NULL;
        if (!src)
                return 0;
        for (; src[n]; n++)
                bytes += strlen(src[n]) + 1;
        v = malloc((n + 1) * sizeof *v + bytes);
        if (!v)
                return -ENOMEM;
        o = (char *)(v + n + 1);
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(src[i]) + 1;

                v[i] = memcpy(o, src[i], l);
                o += l;
        }
        v[n] = NULL;
        *ret = v;
        return 0;
}

bool strv_eq(char *const *a, char *const *b) {
        if (!a || !b)
                return a == b;
        for (; *a && *b; a++, b++)
                if (strcmp(*a, *b) != 0)
                        return false;
        return !*a && !*b;
}

const char *env_lookup(char *const *envp, const char *name, size_t len) {
        for (; envp && *envp; envp++)
                if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
                        return *envp + len + 1;
        return NULL;
}

int strv_appendf(char ***v, size_t *n, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_appendv(v, n, fmt, ap);
        va_end(ap);
        return r;
}

int strv_appendv(char ***v, size_t *n, const char *fmt, va_list ap) {
        char *msg, **nv;

        if (vasprintf(&msg, fmt, ap) < 0)
                return -ENOMEM;
        nv = realloc(*v, (*n + 1) * sizeof *nv);
        if (!nv) {
                free(msg);
                return -ENOMEM;
        }
        nv[(*n)++] = msg;
        *v = nv;
        return 0;
}

void json_fputs(FILE *f, const char *s) {
        if (!s) {
                fputs("null", f);
                return;
        }
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                switch (*p) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case '\t': fputs("\\t", f); break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
}

bool path_has_prefix(const char *path, const char *prefix) {
        size_t n = strlen(prefix);

        while (n > 1 && prefix[n - 1] == '/')
                n--;
        if (n == 1 && prefix[0] == '/')
                return path[0] == '/';
        if (strncmp(path, prefix, n) != 0)
                return false;
        return path[n] == '\0' || path[n] == '/';
}

ssize_t pread_whole(int fd, char *buf, size_t size) {
        ssize_t n;

        do
                n = pread(fd, buf, size, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        if ((size_t)n == size)
                return -EFBIG;
        return n;
}

bool buf_next_line(const char *buf, size_t n, size_t *pos, const char **ret, size_t *ret_len) {
        const char *nl;

        if (*pos >= n)
                return false;
        *ret = buf + *pos;
        nl = memchr(*ret, '\n', n - *pos);
        *ret_len = nl ? (size_t)(nl - *ret) : n - *pos;
        *pos = nl ? (size_t)(nl - buf) + 1 : n;
        return true;
}
