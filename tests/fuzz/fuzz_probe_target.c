/* Fuzz probe_parse_tcp_target: whatever it accepts has a port in 1-65535
 * and one address (two for localhost), and the address written back as
 * HOST:PORT parses to the same socket address. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct probe_tcp_target t, t2;
        char s[PROBE_TCP_TARGET_MAX + 2], host[INET6_ADDRSTRLEN], back[PROBE_TCP_TARGET_MAX * 2];

        if (size > PROBE_TCP_TARGET_MAX + 1)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (probe_parse_tcp_target(s, &t) < 0)
                return 0;
        if (t.port == 0 || t.n_addrs < 1 || t.n_addrs > PROBE_TCP_ADDRS_MAX)
                abort();
        if (t.n_addrs == 2 && (t.addr[0].ss_family != AF_INET || t.addr[1].ss_family != AF_INET6))
                abort();
        if (t.addr[0].ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)&t.addr[0];

                if (ntohs(a->sin_port) != t.port || t.addr_len[0] != sizeof *a)
                        abort();
                inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
                snprintf(back, sizeof back, "%s:%u", host, t.port);
        } else if (t.addr[0].ss_family == AF_INET6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&t.addr[0];

                if (ntohs(a->sin6_port) != t.port || t.addr_len[0] != sizeof *a)
                        abort();
                inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
                snprintf(back, sizeof back, "[%s]:%u", host, t.port);
        } else
                abort();
        if (probe_parse_tcp_target(back, &t2) < 0 || t2.n_addrs != 1 || t2.port != t.port ||
            memcmp(&t2.addr[0], &t.addr[0], t.addr_len[0]) != 0)
                abort();
        return 0;
}
