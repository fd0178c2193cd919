/* Fuzz proc_parse_stat and proc_parse_status: every input is fed to both;
 * each returns 0 or -EBADMSG, and an error names a position inside the
 * buffer (1-based line and column) and a reason. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const char *buf, size_t n, const struct proc_parse_error *e) {
        unsigned lines = 1;

        for (size_t i = 0; i < n; i++)
                lines += buf[i] == '\n';
        if (!e->reason || e->line < 1 || e->line > lines || e->column < 1 || e->column > n + 1)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* An exact-size copy: ASan sees any read past size. */
        char *buf = malloc(size ? size : 1);
        struct proc_parse_error e = { 0 };
        struct proc_stat st;
        struct proc_status ps;
        int r;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        r = proc_parse_stat(buf, size, &st, &e);
        if (r == -EBADMSG)
                check_error(buf, size, &e);
        else if (r != 0 || st.pid <= 0)
                abort();
        r = proc_parse_status(buf, size, &ps, &e);
        if (r == -EBADMSG)
                check_error(buf, size, &e);
        else if (r != 0 || (ps.present & ~0xfu))
                abort();
        free(buf);
        return 0;
}
