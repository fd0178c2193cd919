/* webhook.c: a webhook receiver for the integration tests (gorral's
 * webhook and Alertmanager sinks, Alertmanager's own notifications).
 *
 *   webhook FILE [STATUS] [PORT]
 *
 * listens on 127.0.0.1:PORT (default: any free port), prints "port=N" and
 * serves until killed. Every request's body is appended to FILE as one
 * line (newlines in it become spaces: JSON stays JSON, one document a
 * line for jq), and its request line and headers to FILE.head, followed
 * by an empty line. Each request is answered STATUS (default 200) with an
 * empty body, so STATUS 500 makes a receiver that is up but failing.
 *
 * Bodies come with Content-Length or chunked; anything else is read as no
 * body. Each connection is served by a child of its own (clients keep idle
 * connections open, and one must not hold up the next); each line is one
 * write() to an O_APPEND file, so lines never interleave. Bounded: a head
 * of 16 KiB and a body of 1 MiB at most, beyond that the connection is
 * dropped. Blocking I/O is fine here: this is not gorral. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX (16 << 10)
#define BODY_MAX (1 << 20)

static char buf[HEAD_MAX + BODY_MAX + 64];
static size_t have, used; /* buf[used..have) is read and not consumed */

/* Make at least n bytes available from buf + used; -1 on EOF/error/too big. */
static int need(int fd, size_t n) {
        if (used > 0 && have - used < n) {
                memmove(buf, buf + used, have - used);
                have -= used;
                used = 0;
        }
        while (have - used < n) {
                ssize_t k;

                if (used + n > sizeof buf)
                        return -1;
                k = read(fd, buf + have, sizeof buf - have);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                have += (size_t)k;
        }
        return 0;
}

/* Read a line ending in \n from the connection; returns its length
 * (without \r\n) and points *line at it, or -1. */
static ssize_t getline_conn(int fd, char **line) {
        for (size_t scan = 0;;) {
                char *nl = memchr(buf + used + scan, '\n', have - used - scan);

                if (nl) {
                        size_t len = (size_t)(nl - (buf + used));

                        *line = buf + used;
                        used += len + 1;
                        if (len > 0 && (*line)[len - 1] == '\r')
                                len--;
                        return (ssize_t)len;
                }
                scan = have - used;
                if (scan >= HEAD_MAX || need(fd, scan + 1) < 0)
                        return -1;
        }
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

/* One request: head, body; appends both, answers. 0: keep going, -1: close. */
static int serve_one(int fd, int out, int headout, int status) {
        static char head[HEAD_MAX + 2], body[BODY_MAX + 2];
        size_t hlen = 0, blen = 0;
        long clen = -1;
        int chunked = 0, close_after = 0;
        char *line, resp[128];
        ssize_t n;

        for (int first = 1;; first = 0) {
                n = getline_conn(fd, &line);
                if (n < 0)
                        return -1;
                if (n == 0) {
                        if (first)
                                continue; /* a stray CRLF between requests */
                        break;
                }
                if (hlen + (size_t)n + 1 > HEAD_MAX)
                        return -1;
                memcpy(head + hlen, line, (size_t)n);
                head[hlen + (size_t)n] = '\n';
                if (strncasecmp(line, "content-length:", 15) == 0)
                        clen = strtol(line + 15, NULL, 10);
                else if (strncasecmp(line, "transfer-encoding:", 18) == 0 && memmem(line, (size_t)n, "chunked", 7))
                        chunked = 1;
                else if (strncasecmp(line, "connection:", 11) == 0 && memmem(line, (size_t)n, "close", 5))
                        close_after = 1;
                hlen += (size_t)n + 1;
        }
        if (chunked) {
                for (;;) {
                        long sz;

                        if (getline_conn(fd, &line) < 0)
                                return -1;
                        sz = strtol(line, NULL, 16);
                        if (sz < 0 || blen + (size_t)sz > BODY_MAX)
                                return -1;
                        if (sz == 0) {
                                while ((n = getline_conn(fd, &line)) > 0)
                                        ; /* trailers */
                                if (n < 0)
                                        return -1;
                                break;
                        }
                        if (need(fd, (size_t)sz + 2) < 0)
                                return -1;
                        memcpy(body + blen, buf + used, (size_t)sz);
                        blen += (size_t)sz;
                        used += (size_t)sz + 2;
                }
        } else if (clen > 0) {
                if (clen > BODY_MAX || need(fd, (size_t)clen) < 0)
                        return -1;
                memcpy(body, buf + used, (size_t)clen);
                blen = (size_t)clen;
                used += blen;
        }
        for (size_t i = 0; i < blen; i++)
                if (body[i] == '\n' || body[i] == '\r')
                        body[i] = ' ';
        body[blen++] = '\n';
        head[hlen++] = '\n';
        if (write_all(headout, head, hlen) < 0 || write_all(out, body, blen) < 0)
                return -1;
        snprintf(resp, sizeof resp, "HTTP/1.1 %d Whatever\r\nContent-Length: 0\r\n%s\r\n", status,
                 close_after ? "Connection: close\r\n" : "");
        if (write_all(fd, resp, strlen(resp)) < 0 || close_after)
                return -1;
        return 0;
}

int main(int argc, char **argv) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof sa;
        int one = 1, lfd, out, headout, status = 200;
        char headpath[4096];

        if (argc < 2 || argc > 4) {
                fprintf(stderr, "usage: webhook FILE [STATUS] [PORT]\n");
                return 2;
        }
        if (argc > 2)
                status = atoi(argv[2]);
        if (argc > 3)
                sa.sin_port = htons((uint16_t)atoi(argv[3]));
        snprintf(headpath, sizeof headpath, "%s.head", argv[1]);
        out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        headout = open(headpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (out < 0 || headout < 0 || lfd < 0) {
                perror("webhook");
                return 1;
        }
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 64) < 0 ||
            getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
                perror("webhook: listen");
                return 1;
        }
        signal(SIGPIPE, SIG_IGN);
        signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
        printf("port=%u\n", ntohs(sa.sin_port));
        fflush(stdout);
        for (;;) {
                int fd = accept(lfd, NULL, NULL);

                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        usleep(100 * 1000);
                        continue;
                }
                if (fork() == 0) {
                        /* Killing the receiver ends its connections too. */
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                        close(lfd);
                        while (serve_one(fd, out, headout, status) == 0)
                                ;
                        _exit(0);
                }
                close(fd);
        }
}
