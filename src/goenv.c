/* goenv.c: Go's own readers of GOMAXPROCS and GOMEMLIMIT, re-derived
 * from the Go 1.19 runtime (the strictest of the supported releases). See
 * goenv.h. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "gorral/goenv.h"

/* Go 1.19's runtime.atoi64 (runtime/string.go), re-derived: an optional
 * '-', then decimal digits only; "" fails; a lone "-" yields 0 (a quirk
 * we keep, since the runtime has it); overflow of int64 fails. */
static bool go119_atoi64(const char *s, size_t n, int64_t *ret) {
        bool neg = false;
        uint64_t un = 0;

        if (n == 0)
                return false;
        if (s[0] == '-') {
                neg = true;
                s++;
                n--;
        }
        for (size_t i = 0; i < n; i++) {
                unsigned c = (unsigned char)s[i];

                if (c < '0' || c > '9')
                        return false;
                if (un > UINT64_MAX / 10)
                        return false;
                un *= 10;
                if (un + (c - '0') < un)
                        return false;
                un += c - '0';
        }
        if (!neg && un > (uint64_t)INT64_MAX)
                return false;
        if (neg && un > (uint64_t)INT64_MAX + 1)
                return false;
        *ret = neg ? (un == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)un) : (int64_t)un;
        return true;
}

/* Go 1.19 schedinit: atoi32(GOMAXPROCS) and n > 0, else silently NumCPU.
 * So "+3" is ignored by Go 1.19 (samples/env-probe.txt), while Go 1.26
 * reads it with strconv.ParseInt(s, 10, 32) and accepts "+3" (limits-spec
 * G9). We follow 1.19, the strictest reader: a value valid here is valid
 * for every Go >= 1.19. */
int go_gomaxprocs_valid(const char *s, unsigned *ret) {
        int64_t n;

        if (!s || !go119_atoi64(s, strlen(s), &n))
                return 0;
        if (n <= 0 || n > INT32_MAX)
                return 0;
        if (ret)
                *ret = (unsigned)n;
        return 1;
}

/* Go 1.19 readGOMEMLIMIT + parseByteCount, re-derived: "" and "off" mean
 * no limit; otherwise digits (via atoi64, so a leading '-' parses but a
 * negative result fails), optionally followed by B, KiB, MiB, GiB or TiB;
 * the result must fit int64. Anything else makes the runtime throw at
 * start (exit 2). ret: the byte count, INT64_MAX for "" and "off". */
int go_gomemlimit_valid(const char *s, uint64_t *ret) {
        size_t n;
        uint64_t mult = 1;
        int64_t v;

        if (!s)
                return 0;
        n = strlen(s);
        if (n == 0 || strcmp(s, "off") == 0) {
                if (ret)
                        *ret = (uint64_t)INT64_MAX;
                return 1;
        }
        if (s[n - 1] >= '0' && s[n - 1] <= '9') {
                /* plain byte count */
        } else if (s[n - 1] != 'B' || n < 2) {
                return 0;
        } else if (s[n - 2] >= '0' && s[n - 2] <= '9') {
                n -= 1;
        } else if (s[n - 2] != 'i' || n < 4) {
                return 0;
        } else {
                switch (s[n - 3]) {
                case 'K': mult = 1ULL << 10; break;
                case 'M': mult = 1ULL << 20; break;
                case 'G': mult = 1ULL << 30; break;
                case 'T': mult = 1ULL << 40; break;
                default: return 0;
                }
                n -= 3;
        }
        if (!go119_atoi64(s, n, &v) || v < 0)
                return 0;
        if ((uint64_t)v > UINT64_MAX / mult || (uint64_t)v * mult > (uint64_t)INT64_MAX)
                return 0;
        if (ret)
                *ret = (uint64_t)v * mult;
        return 1;
}
