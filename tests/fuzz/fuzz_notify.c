/* Fuzz notify_parse: it never fails on content, every pointer it returns
 * lies inside the input, counts add up, and what it accepted parses the
 * same way again when written back as canonical lines. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *p, size_t n, const uint8_t *data, size_t size) {
        if (n == 0)
                return;
        if (!p || (const uint8_t *)p < data || (const uint8_t *)p + n > data + size)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char out[NOTIFY_DATAGRAM_MAX * 2];
        struct notify_message m, m2;
        size_t k = 0;
        int r = notify_parse((const char *)data, size, &m);

        if (size > NOTIFY_DATAGRAM_MAX) {
                if (r != -EMSGSIZE)
                        abort();
                return 0;
        }
        if (r != 0)
                abort();
        inside(m.status, m.status_len, data, size);
        inside(m.first_unknown, m.first_unknown_len, data, size);
        if (m.n_unknown + m.n_malformed > m.n_lines || m.n_lines > size)
                abort();
        if ((m.n_malformed > 0) != (m.first_error.reason != NULL))
                abort();
        if (m.n_malformed && (m.first_error.line == 0 || m.first_error.column == 0 ||
                              m.first_error.column > size + 1))
                abort();
        if ((m.n_unknown > 0) != (m.first_unknown_len > 0))
                abort();
        if (!(m.fields & NOTIFY_STATUS) && m.status)
                abort();
        if ((m.fields & NOTIFY_MAINPID) && m.main_pid <= 0)
                abort();
        if ((m.fields & NOTIFY_ERRNO) && m.errno_value < 0)
                abort();
        if (m.status && memchr(m.status, '\n', m.status_len))
                abort();

        /* Round trip: the accepted fields, written canonically. */
#define PUT(...) k += (size_t)snprintf(out + k, sizeof out - k, __VA_ARGS__)
        if (m.fields & NOTIFY_READY) PUT("READY=1\n");
        if (m.fields & NOTIFY_RELOADING) PUT("RELOADING=1\n");
        if (m.fields & NOTIFY_STOPPING) PUT("STOPPING=1\n");
        if (m.fields & NOTIFY_BARRIER) PUT("BARRIER=1\n");
        if (m.fields & NOTIFY_WATCHDOG) PUT("WATCHDOG=1\n");
        if (m.fields & NOTIFY_WATCHDOG_TRIGGER) PUT("WATCHDOG=trigger\n");
        if (m.fields & NOTIFY_WATCHDOG_USEC) PUT("WATCHDOG_USEC=%" PRIu64 "\n", m.watchdog_usec);
        if (m.fields & NOTIFY_EXTEND_TIMEOUT) PUT("EXTEND_TIMEOUT_USEC=%" PRIu64 "\n", m.extend_timeout_usec);
        if (m.fields & NOTIFY_MONOTONIC_USEC) PUT("MONOTONIC_USEC=%" PRIu64 "\n", m.monotonic_usec);
        if (m.fields & NOTIFY_MAINPID) PUT("MAINPID=%d\n", (int)m.main_pid);
        if (m.fields & NOTIFY_ERRNO) PUT("ERRNO=%d\n", m.errno_value);
        if (m.fields & NOTIFY_STATUS) {
                PUT("STATUS=");
                memcpy(out + k, m.status, m.status_len);
                k += m.status_len;
        }
        if (k > NOTIFY_DATAGRAM_MAX)
                return 0; /* a long STATUS plus the flags: past the cap */
        if (notify_parse(out, k, &m2) != 0 || m2.fields != m.fields || m2.n_malformed || m2.n_unknown ||
            m2.status_len != m.status_len || (m.status_len && memcmp(m2.status, m.status, m.status_len)) ||
            m2.watchdog_usec != m.watchdog_usec || m2.extend_timeout_usec != m.extend_timeout_usec ||
            m2.monotonic_usec != m.monotonic_usec || m2.main_pid != m.main_pid || m2.errno_value != m.errno_value)
                abort();
        return 0;
}
