/* Fuzz the replay parser: no crash, samples in strictly increasing time
 * and finite; an error names a line within the input, and the count of a
 * success equals the callbacks made. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "gorral/csvseries.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct st {
        size_t n;
        double prev;
};

static int check(void *ctx, double t, double v) {
        struct st *s = ctx;

        if (!isfinite(t) || !isfinite(v) || (s->n > 0 && t <= s->prev))
                abort();
        s->prev = t;
        s->n++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct csvseries_error e = { 0 };
        struct st s = { 0 };
        size_t lines = 1;
        int r;

        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        r = csvseries_parse((const char *)data, size, 1000, check, &s, &e);
        if (r >= 0) {
                if ((size_t)r != s.n)
                        abort();
        } else if (r == -EINVAL || r == -E2BIG) {
                if (e.line < 1 || e.line > lines || e.what[0] == 0)
                        abort();
        } else {
                abort();
        }
        return 0;
}
