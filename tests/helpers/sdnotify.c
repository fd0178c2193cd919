/* sdnotify [options] LINE...: send one sd_notify datagram (the LINEs
 * joined by '\n') to $NOTIFY_SOCKET, the way sd_notify(3) does: "@name"
 * is the abstract namespace, "/path" a socket file. Test helper for the
 * readiness integration tests; standalone (cc -O2 sdnotify.c).
 *   --creds        attach SCM_CREDENTIALS explicitly (sd_pid_notify style;
 *                  the kernel attaches them anyway when the receiver has
 *                  SO_PASSCRED)
 *   --fd           pass an fd along (SCM_RIGHTS): a pipe's write end; exit
 *                  0 only when the receiver closed it (read end sees EOF)
 *   --barrier      then do what sd_notify_barrier(3) does: send BARRIER=1
 *                  with a pipe's write end and wait (5 s) for its close
 *   --pad N        append STATUS= padding so the datagram is N bytes
 *   --repeat N     send the datagram N times
 *   --sleep MS     sleep before sending (a service that becomes ready late)
 *   --then-sleep MS  sleep after sending (stay alive: a main pid, not a
 *                  short-lived helper)
 * Exit: 0 sent, 1 a send or the wait failed, 2 usage, 3 NOTIFY_SOCKET unset
 * or malformed, 4 the barrier or fd was not released in time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int addr_from_env(struct sockaddr_un *sa, socklen_t *len) {
        const char *e = getenv("NOTIFY_SOCKET");
        size_t n;

        if (!e || (e[0] != '@' && e[0] != '/'))
                return -1;
        n = strlen(e);
        if (n < 2 || n >= sizeof sa->sun_path)
                return -1;
        memset(sa, 0, sizeof *sa);
        sa->sun_family = AF_UNIX;
        memcpy(sa->sun_path, e, n);
        if (e[0] == '@') {
                /* Abstract: a leading NUL, and the length (not a NUL) ends it. */
                sa->sun_path[0] = '\0';
                *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
        } else
                *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
        return 0;
}

static int send_dgram(int fd, const struct sockaddr_un *sa, socklen_t sl, const char *buf, size_t n, bool creds,
                      int pass_fd) {
        union {
                struct cmsghdr align;
                char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = { .iov_base = (void *)buf, .iov_len = n };
        struct msghdr mh = { .msg_name = (void *)sa, .msg_namelen = sl, .msg_iov = &iov, .msg_iovlen = 1 };
        size_t clen = 0;

        memset(&control, 0, sizeof control);
        mh.msg_control = &control;
        mh.msg_controllen = sizeof control.b;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        if (creds) {
                struct ucred uc = { .pid = getpid(), .uid = getuid(), .gid = getgid() };

                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_CREDENTIALS;
                c->cmsg_len = CMSG_LEN(sizeof uc);
                memcpy(CMSG_DATA(c), &uc, sizeof uc);
                clen += CMSG_SPACE(sizeof uc);
                c = CMSG_NXTHDR(&mh, c);
        }
        if (pass_fd >= 0) {
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &pass_fd, sizeof pass_fd);
                clen += CMSG_SPACE(sizeof(int));
        }
        mh.msg_controllen = clen;
        if (clen == 0)
                mh.msg_control = NULL;
        for (;;) {
                if (sendmsg(fd, &mh, MSG_NOSIGNAL) >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

/* Wait for EOF on the read end: every copy of the write end is closed. */
static int wait_closed(int rfd, int timeout_ms) {
        struct pollfd p = { .fd = rfd, .events = POLLIN };
        int r = poll(&p, 1, timeout_ms);
        char c;

        if (r <= 0)
                return -1;
        return read(rfd, &c, 1) == 0 ? 0 : -1;
}

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int main(int argc, char **argv) {
        struct sockaddr_un sa;
        socklen_t sl;
        bool creds = false, pass = false, barrier = false;
        long pad = 0, repeat = 1, pre_ms = 0, post_ms = 0;
        char *buf;
        size_t n = 0, cap = 65536;
        int fd, i, rc = 0;

        for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                const char *o = argv[i];

                if (strcmp(o, "--") == 0) {
                        i++;
                        break;
                } else if (strcmp(o, "--creds") == 0)
                        creds = true;
                else if (strcmp(o, "--fd") == 0)
                        pass = true;
                else if (strcmp(o, "--barrier") == 0)
                        barrier = true;
                else if (i + 1 < argc && strcmp(o, "--pad") == 0)
                        pad = atol(argv[++i]);
                else if (i + 1 < argc && strcmp(o, "--repeat") == 0)
                        repeat = atol(argv[++i]);
                else if (i + 1 < argc && strcmp(o, "--sleep") == 0)
                        pre_ms = atol(argv[++i]);
                else if (i + 1 < argc && strcmp(o, "--then-sleep") == 0)
                        post_ms = atol(argv[++i]);
                else {
                        fprintf(stderr, "sdnotify: unknown option %s\n", o);
                        return 2;
                }
        }
        if (i >= argc && pad == 0 && !barrier) {
                fprintf(stderr, "usage: sdnotify [--creds] [--fd] [--barrier] [--pad N] [--repeat N] "
                                "[--sleep MS] [--then-sleep MS] LINE...\n");
                return 2;
        }
        if (addr_from_env(&sa, &sl) < 0) {
                fprintf(stderr, "sdnotify: NOTIFY_SOCKET unset or not '@name' or '/path'\n");
                return 3;
        }
        if (pad > 0 && (size_t)pad > cap)
                cap = (size_t)pad + 16;
        buf = malloc(cap);
        if (!buf)
                return 1;
        for (; i < argc; i++) {
                size_t l = strlen(argv[i]);

                if (n + l + 2 > cap) {
                        fprintf(stderr, "sdnotify: message too long\n");
                        return 2;
                }
                if (n)
                        buf[n++] = '\n';
                memcpy(buf + n, argv[i], l);
                n += l;
        }
        if (pad > 0 && (size_t)pad > n) {
                if (n)
                        buf[n++] = '\n';
                if ((size_t)pad > n + 7) {
                        memcpy(buf + n, "STATUS=", 7);
                        n += 7;
                }
                while (n < (size_t)pad)
                        buf[n++] = 'x';
        }
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return 1;
        if (pre_ms > 0)
                sleep_ms(pre_ms);
        for (long k = 0; k < repeat && n > 0; k++) {
                int p[2] = { -1, -1 };

                if (pass && pipe2(p, O_CLOEXEC) < 0)
                        return 1;
                if (send_dgram(fd, &sa, sl, buf, n, creds, p[1]) < 0) {
                        perror("sdnotify: sendmsg");
                        return 1;
                }
                if (pass) {
                        close(p[1]);
                        if (wait_closed(p[0], 5000) < 0) {
                                fprintf(stderr, "sdnotify: the passed fd was not closed\n");
                                rc = 4;
                        }
                        close(p[0]);
                }
        }
        if (barrier) {
                int p[2];

                if (pipe2(p, O_CLOEXEC) < 0)
                        return 1;
                if (send_dgram(fd, &sa, sl, "BARRIER=1", 9, creds, p[1]) < 0) {
                        perror("sdnotify: sendmsg");
                        return 1;
                }
                close(p[1]);
                if (wait_closed(p[0], 5000) < 0) {
                        fprintf(stderr, "sdnotify: barrier not released\n");
                        rc = 4;
                }
                close(p[0]);
        }
        close(fd);
        if (post_ms > 0)
                sleep_ms(post_ms);
        free(buf);
        return rc;
}
