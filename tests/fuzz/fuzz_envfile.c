/* Fuzz the env_file parser and ${VAR} interpolation over the same bytes:
 * no crash or leak; on success every entry is NAME=VALUE with a valid
 * name; on failure nothing is returned and the position is inside the
 * input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/envfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char *env[] = { "PORT=8080", "EMPTY=", NULL };
        struct envfile_error e = { 0 };
        char **v = (char **)1, *out = NULL, err[256];
        size_t n = 0, off = 0, lines = 1;
        int r;

        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        r = envfile_parse((const char *)data, size, &v, &n, &e);
        if (r == 0) {
                for (size_t i = 0; i < n; i++) {
                        const char *eq = strchr(v[i], '=');

                        if (!eq || !env_name_valid(v[i], (size_t)(eq - v[i])))
                                abort();
                }
                if (v[n])
                        abort();
                strv_free(v);
        } else {
                if (v != (char **)1)
                        abort();
                if ((r == -EINVAL || r == -E2BIG) && (e.line < 1 || e.line > lines || e.column < 1))
                        abort();
        }

        r = env_interpolate((const char *)data, size, env, &out, &off, err, sizeof err);
        if (r == 0)
                free(out);
        else if (r == -EINVAL && (off >= size || out))
                abort();
        return 0;
}
