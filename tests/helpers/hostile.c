/* hostile.c: an HTTP "server" that misbehaves on purpose, for the tests of
 * the client (tests/unit/test_http.c includes this file with
 * HOSTILE_NO_MAIN and runs hostile_serve() in a forked child) and for the
 * integration tests (as a program: hostile MODE [PORT], on 127.0.0.1, prints
 * "port=N" and serves until killed).
 *
 * Modes, each what a broken or malicious scrape target can do:
 *   silent       accept, read the request, never answer
 *   dribble      a valid response, one byte a second
 *   slowheaders  a status line, then one header line a second, forever
 *   garbage      bytes that are not HTTP, then close
 *   endless      a 200 claiming 100 MiB of body, and sending all of it
 *   endless-chunked  the same as chunks of 64 KiB
 *   reset        half a response, then an RST (SO_LINGER 0)
 *   stale        answers a connection's first request (keep-alive), then
 *                reads the second one and closes without a byte: a kept
 *                connection that died under the client
 *   ok           answers every request "hello" (Content-Length, keep-alive)
 *   blackhole    accepts any number of connections at once, never reads
 *                and never answers; a connection is closed only when its
 *                peer closes it (an upstream that hangs every client that
 *                has no timeout: the goroutine leak of test_detect.sh)
 * Connections are served one after another (one at a time is all the
 * tests need), except in blackhole mode (epoll over all of them);
 * blocking I/O is fine here: this is not gorral.
 *
 * hostile_record_serve() is a well-behaved receiver for the alert tests
 * (test_alert.c): it reads whole requests (a Content-Length body
 * included), copies each to a pipe for the test to inspect and answers a
 * given status, keep-alive; the first fail_first requests get 503. */
/* strcasestr; built alone by run_helpers.sh's build_helper (plain cc),
 * included by the unit tests after their own -D_GNU_SOURCE. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define HOSTILE_ENDLESS_BYTES ((size_t)100 << 20)

/* Read until the end of a request head ("\r\n\r\n"); -1 on EOF/error. */
static int hostile_read_request(int fd) {
        char buf[4096];
        size_t have = 0;

        for (;;) {
                ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);

                if (n <= 0)
                        return -1;
                have += (size_t)n;
                buf[have] = 0;
                if (strstr(buf, "\r\n\r\n"))
                        return 0;
                if (have >= sizeof buf - 1)
                        have = 0; /* a huge head: keep looking */
        }
}

static int hostile_write(int fd, const void *p, size_t n) {
        const char *c = p;

        while (n > 0) {
                ssize_t k = write(fd, c, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                c += k;
                n -= (size_t)k;
        }
        return 0;
}

static int hostile_puts(int fd, const char *s) { return hostile_write(fd, s, strlen(s)); }

static void hostile_conn(int fd, const char *mode) {
        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
        static char block[65536];

        if (strcmp(mode, "ok") == 0) {
                while (hostile_read_request(fd) == 0)
                        if (hostile_puts(fd, ok) < 0)
                                return;
                return;
        }
        if (strcmp(mode, "stale") == 0) {
                if (hostile_read_request(fd) < 0 || hostile_puts(fd, ok) < 0)
                        return;
                (void)hostile_read_request(fd);
                return;
        }
        if (hostile_read_request(fd) < 0)
                return;
        if (strcmp(mode, "silent") == 0) {
                char b[256];

                while (read(fd, b, sizeof b) > 0)
                        ;
        } else if (strcmp(mode, "dribble") == 0) {
                const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

                for (const char *p = resp; *p; p++) {
                        if (hostile_write(fd, p, 1) < 0)
                                return;
                        sleep(1);
                }
        } else if (strcmp(mode, "slowheaders") == 0) {
                if (hostile_puts(fd, "HTTP/1.1 200 OK\r\n") < 0)
                        return;
                for (;;) {
                        sleep(1);
                        if (hostile_puts(fd, "X-Slow: still here\r\n") < 0)
                                return;
                }
        } else if (strcmp(mode, "garbage") == 0) {
                (void)hostile_puts(fd, "SSH-2.0-OpenSSH_9.2\r\n\x01\x02\xff\xfe garbage garbage\r\n\r\n");
        } else if (strcmp(mode, "endless") == 0) {
                size_t sent = 0;

                memset(block, 'x', sizeof block);
                if (hostile_puts(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 104857600\r\n\r\n") < 0)
                        return;
                while (sent < HOSTILE_ENDLESS_BYTES && hostile_write(fd, block, sizeof block) == 0)
                        sent += sizeof block;
        } else if (strcmp(mode, "endless-chunked") == 0) {
                memset(block, 'x', sizeof block);
                if (hostile_puts(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") < 0)
                        return;
                for (size_t sent = 0; sent < HOSTILE_ENDLESS_BYTES; sent += sizeof block)
                        if (hostile_puts(fd, "10000\r\n") < 0 || hostile_write(fd, block, sizeof block) < 0 ||
                            hostile_puts(fd, "\r\n") < 0)
                                return;
        } else if (strcmp(mode, "reset") == 0) {
                struct linger lg = { .l_onoff = 1, .l_linger = 0 };

                (void)hostile_puts(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nhalf of it");
                usleep(100 * 1000);
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
}

/* blackhole: hold every connection, unread, until its peer goes. Each
 * connection is watched for EPOLLRDHUP only (no EPOLLIN: the request it
 * sent stays unread in the socket buffer without waking us); the kernel
 * always reports EPOLLHUP and EPOLLERR too. The soft RLIMIT_NOFILE is
 * raised to the hard one, so thousands of connections fit; past that,
 * accept fails with EMFILE and new clients wait in the backlog, which
 * hangs them just as well. */
static void hostile_blackhole(int lfd) {
        struct rlimit rl;
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
        int ep = epoll_create1(EPOLL_CLOEXEC);

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
                _exit(1);
        for (;;) {
                struct epoll_event evs[64];
                int n = epoll_wait(ep, evs, 64, -1);

                for (int i = 0; i < n; i++) {
                        int fd = evs[i].data.fd;

                        if (fd != lfd) {
                                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                                close(fd);
                                continue;
                        }
                        fd = accept(lfd, NULL, NULL); /* (never execs: no CLOEXEC needed) */
                        if (fd < 0) {
                                if (errno == EMFILE || errno == ENFILE)
                                        usleep(100 * 1000); /* full: leave them in the backlog */
                                continue;
                        }
                        ev = (struct epoll_event){ .events = EPOLLRDHUP, .data.fd = fd };
                        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
                                close(fd);
                }
        }
}

/* One whole request (head and Content-Length body) into buf (at most
 * max bytes): its length, or -1 on EOF, an error or an oversized one. */
__attribute__((unused)) static ssize_t hostile_read_whole(int fd, char *buf, size_t max) {
        size_t have = 0, need = 0;

        for (;;) {
                ssize_t n;

                if (need == 0) {
                        char *end;

                        buf[have] = 0;
                        end = strstr(buf, "\r\n\r\n");
                        if (end) {
                                const char *cl = strcasestr(buf, "\r\nContent-Length:");

                                need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
                                if (need >= max)
                                        return -1;
                        }
                }
                if (need > 0 && have >= need)
                        return (ssize_t)need;
                if (have >= max - 1)
                        return -1;
                n = read(fd, buf + have, max - 1 - have);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                have += (size_t)n;
        }
}

__attribute__((unused)) static void hostile_record_serve(int lfd, int recfd, int status, int fail_first) {
        static char buf[(size_t)2 << 20];
        char resp[128];

        signal(SIGPIPE, SIG_IGN);
        for (;;) {
                int fd = accept(lfd, NULL, NULL);
                ssize_t n;

                if (fd < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(1);
                }
                /* A pipelined second request would be lost: the client
                 * sends one at a time. */
                while ((n = hostile_read_whole(fd, buf, sizeof buf)) > 0) {
                        uint32_t len = (uint32_t)n;
                        int st = fail_first > 0 ? 503 : status;

                        if (fail_first > 0)
                                fail_first--;
                        if (hostile_write(recfd, &len, sizeof len) < 0 || hostile_write(recfd, buf, len) < 0)
                                _exit(1);
                        snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok", st);
                        if (hostile_puts(fd, resp) < 0)
                                break;
                }
                close(fd);
        }
}

/* Serve lfd (listening) in mode until killed. */
__attribute__((unused)) static void hostile_serve(int lfd, const char *mode) {
        signal(SIGPIPE, SIG_IGN);
        if (strcmp(mode, "blackhole") == 0)
                hostile_blackhole(lfd);
        for (;;) {
                int fd = accept(lfd, NULL, NULL);

                if (fd < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(1);
                }
                hostile_conn(fd, mode);
                close(fd);
        }
}

#ifndef HOSTILE_NO_MAIN
int main(int argc, char **argv) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof sa;
        int one = 1, lfd;

        if (argc < 2) {
                fprintf(stderr, "usage: hostile MODE [PORT]\n");
                return 2;
        }
        if (argc > 2)
                sa.sin_port = htons((uint16_t)atoi(argv[2]));
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 128) < 0 ||
            getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
                perror("hostile: listen");
                return 1;
        }
        printf("port=%u\n", ntohs(sa.sin_port));
        fflush(stdout);
        hostile_serve(lfd, argv[1]);
        return 0;
}
#endif
