/* pprof.c: the totals of Go's pprof text profiles (see pprof.h). */
#include <errno.h>
#include <string.h>

#include "gorral/pprof.h"
#include "gorral/util.h"

/* "goroutine " then a digit: the first line of a debug=2 dump. */
static bool is_goroutine_header(const char *s, size_t n) {
        static const char g[] = "goroutine ";

        return n > sizeof g - 1 && memcmp(s, g, sizeof g - 1) == 0 && is_digit(s[sizeof g - 1]);
}

int pprof_parse_profile_total(const char *buf, size_t n, const char *name, uint64_t *ret_total) {
        static const char mid[] = " profile: total ";
        size_t nl = strlen(name), len;
        const char *eol;
        uint64_t v;
        int r;

        if (!buf && n > 0)
                return -EINVAL;
        if (n == 0)
                return -EBADMSG;
        eol = memchr(buf, '\n', n);
        len = eol ? (size_t)(eol - buf) : n;
        if (memchr(buf, '\0', len))
                return -EBADMSG;
        if (strcmp(name, "goroutine") == 0 && is_goroutine_header(buf, len))
                return -ENOMSG;
        if (!eol || len < nl + sizeof mid - 1 + 1 || memcmp(buf, name, nl) != 0 ||
            memcmp(buf + nl, mid, sizeof mid - 1) != 0)
                return -EBADMSG;
        /* parse_u64_n: digits only, no sign, no blanks, no overflow. */
        r = parse_u64_n(buf + nl + sizeof mid - 1, len - nl - (sizeof mid - 1), &v);
        if (r < 0)
                return -EBADMSG;
        *ret_total = v;
        return 0;
}

int pprof_count_goroutines(const char *buf, size_t n, uint64_t *ret_count) {
        const char *s = buf, *end = buf + n;
        uint64_t c = 0;

        if (!buf && n > 0)
                return -EINVAL;
        while (s < end) {
                const char *eol = memchr(s, '\n', (size_t)(end - s));
                const char *e = eol ? eol : end;
                size_t len = (size_t)(e - s);

                if (is_goroutine_header(s, len)) {
                        const char *q = s + sizeof "goroutine " - 1;

                        while (q < e && is_digit(*q))
                                q++;
                        if (e - q >= 2 && q[0] == ' ' && q[1] == '[')
                                c++;
                }
                s = eol ? eol + 1 : end;
        }
        *ret_count = c;
        return 0;
}
