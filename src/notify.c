/* notify.c: the sd_notify protocol, parser and socket. See notify.h. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gorral/cgroup.h"
#include "gorral/loop.h"
#include "gorral/notify.h"
#include "gorral/util.h"

/* ---- the parser ---- */

/* Strict UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF. Returns the offset of the first bad byte, or n. */
static size_t utf8_bad_offset(const unsigned char *s, size_t n) {
        size_t i = 0;

        while (i < n) {
                unsigned c = s[i], need;
                uint32_t cp, min;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf) {
                        need = 1;
                        cp = c & 0x1f;
                        min = 0x80;
                } else if (c >= 0xe0 && c <= 0xef) {
                        need = 2;
                        cp = c & 0x0f;
                        min = 0x800;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        need = 3;
                        cp = c & 0x07;
                        min = 0x10000;
                } else
                        return i;
                if (n - i <= need)
                        return i;
                for (unsigned k = 1; k <= need; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return i;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return i;
                i += need + 1;
        }
        return n;
}

static bool key_is(const char *k, size_t kn, const char *lit) {
        return strlen(lit) == kn && memcmp(k, lit, kn) == 0;
}

static bool value_is(const char *v, size_t vn, const char *lit) {
        return key_is(v, vn, lit);
}

static void malformed(struct notify_message *m, unsigned line, size_t col0, const char *reason) {
        if (m->n_malformed++ == 0)
                m->first_error = (struct notify_error){ .line = line, .column = (unsigned)col0 + 1, .reason = reason };
}

/* Flags whose only valid value is "1". */
static const struct {
        const char *key;
        unsigned bit;
} one_flags[] = {
        { "READY", NOTIFY_READY },
        { "RELOADING", NOTIFY_RELOADING },
        { "STOPPING", NOTIFY_STOPPING },
        { "BARRIER", NOTIFY_BARRIER },
};

/* Numeric fields: where the value goes and its largest valid value. */
enum num_kind { NUM_U64, NUM_PID, NUM_ERRNO };
static const struct {
        const char *key;
        unsigned bit;
        enum num_kind kind;
        size_t off;
} num_fields[] = {
        { "WATCHDOG_USEC", NOTIFY_WATCHDOG_USEC, NUM_U64, offsetof(struct notify_message, watchdog_usec) },
        { "EXTEND_TIMEOUT_USEC", NOTIFY_EXTEND_TIMEOUT, NUM_U64, offsetof(struct notify_message, extend_timeout_usec) },
        { "MONOTONIC_USEC", NOTIFY_MONOTONIC_USEC, NUM_U64, offsetof(struct notify_message, monotonic_usec) },
        { "MAINPID", NOTIFY_MAINPID, NUM_PID, offsetof(struct notify_message, main_pid) },
        { "ERRNO", NOTIFY_ERRNO, NUM_ERRNO, offsetof(struct notify_message, errno_value) },
};

static void parse_line(struct notify_message *m, unsigned line, const char *s, size_t n) {
        const char *eq, *nul, *k, *v;
        size_t kn, vn;

        nul = memchr(s, '\0', n);
        if (nul) {
                /* systemd refuses these too: a C sender cannot have meant it. */
                malformed(m, line, (size_t)(nul - s), "NUL byte");
                return;
        }
        eq = memchr(s, '=', n);
        if (!eq) {
                malformed(m, line, 0, "no '='");
                return;
        }
        k = s;
        kn = (size_t)(eq - s);
        v = eq + 1;
        vn = n - kn - 1;
        if (kn == 0) {
                malformed(m, line, 0, "empty key");
                return;
        }
        for (size_t i = 0; i < kn; i++) {
                char c = k[i];

                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
                        malformed(m, line, i, "bad character in key");
                        return;
                }
        }

        for (size_t i = 0; i < ELEMENTSOF(one_flags); i++) {
                if (!key_is(k, kn, one_flags[i].key))
                        continue;
                if (!value_is(v, vn, "1"))
                        malformed(m, line, kn + 1, "bad value (want 1)");
                else
                        m->fields |= one_flags[i].bit;
                return;
        }

        if (key_is(k, kn, "STATUS")) {
                size_t bad = utf8_bad_offset((const unsigned char *)v, vn);

                if (bad != vn)
                        malformed(m, line, kn + 1 + bad, "invalid UTF-8");
                else if (!(m->fields & NOTIFY_STATUS)) {
                        m->fields |= NOTIFY_STATUS;
                        m->status = v;
                        m->status_len = vn;
                }
                return;
        }

        if (key_is(k, kn, "WATCHDOG")) {
                if (value_is(v, vn, "1"))
                        m->fields |= NOTIFY_WATCHDOG;
                else if (value_is(v, vn, "trigger"))
                        m->fields |= NOTIFY_WATCHDOG_TRIGGER;
                else
                        malformed(m, line, kn + 1, "bad value (want 1 or trigger)");
                return;
        }

        for (size_t i = 0; i < ELEMENTSOF(num_fields); i++) {
                uint64_t u;
                int r;

                if (!key_is(k, kn, num_fields[i].key))
                        continue;
                r = parse_u64_n(v, vn, &u);
                if (r < 0) {
                        malformed(m, line, kn + 1, r == -ERANGE ? "number out of range" : "not a number");
                        return;
                }
                if (m->fields & num_fields[i].bit)
                        return; /* first wins */
                switch (num_fields[i].kind) {
                case NUM_U64:
                        *(uint64_t *)((char *)m + num_fields[i].off) = u;
                        break;
                case NUM_PID:
                        if (u == 0 || u > INT_MAX) {
                                malformed(m, line, kn + 1, "pid out of range");
                                return;
                        }
                        *(pid_t *)((char *)m + num_fields[i].off) = (pid_t)u;
                        break;
                case NUM_ERRNO:
                        if (u > INT_MAX) {
                                malformed(m, line, kn + 1, "number out of range");
                                return;
                        }
                        *(int *)((char *)m + num_fields[i].off) = (int)u;
                        break;
                }
                m->fields |= num_fields[i].bit;
                return;
        }

        /* FDSTORE=, FDNAME=, BUSERROR=, EXIT_STATUS=, NOTIFYACCESS=, a
         * newer systemd's keys, or the application's own: ignored. */
        if (m->n_unknown++ == 0) {
                m->first_unknown = k;
                m->first_unknown_len = kn;
        }
}

int notify_parse(const char *buf, size_t n, struct notify_message *ret) {
        struct notify_message m = { 0 };
        unsigned line = 0;
        size_t i = 0;

        if (!ret || (!buf && n > 0))
                return -EINVAL;
        if (n > NOTIFY_DATAGRAM_MAX)
                return -EMSGSIZE;
        while (i < n) {
                const char *s = buf + i, *nl = memchr(s, '\n', n - i);
                size_t len = nl ? (size_t)(nl - s) : n - i;

                line++;
                if (len > 0) {
                        m.n_lines++;
                        parse_line(&m, line, s, len);
                }
                i += len + (nl ? 1 : 0);
        }
        *ret = m;
        return 0;
}

/* ---- the socket ---- */

struct notify_socket {
        struct loop *loop;
        int fd;
        notify_cb cb;
        void *userdata;
        char address[NOTIFY_ADDRESS_MAX + 2];
        bool is_path;
        /* Set while callbacks run, so a callback that frees the socket
         * stops the read loop that called it. */
        bool *freed;
        struct notify_stats stats;
        char buf[NOTIFY_DATAGRAM_MAX];
};

int notify_socket_address(char *buf, size_t n, pid_t gorral_pid, const char *name) {
        int k;

        if (!name || !name[0] || strchr(name, '/'))
                return -EINVAL;
        k = snprintf(buf, n, "@gorral/%d/%s", (int)gorral_pid, name);
        if (k < 0 || (size_t)k >= n || k > NOTIFY_ADDRESS_MAX)
                return -ENAMETOOLONG;
        return 0;
}

bool notify_address_valid(const char *address) {
        size_t n = address ? strlen(address) : 0;

        return n >= 2 && n <= NOTIFY_ADDRESS_MAX && (address[0] == '@' || address[0] == '/');
}

/* NOTIFY_SOCKET syntax to a sockaddr. An abstract name is length-
 * delimited (no trailing NUL is part of it): the sender must pass the
 * same length, which sd_notify(3) and go-systemd do. */
static int make_sockaddr(const char *address, struct sockaddr_un *sa, socklen_t *ret_len) {
        size_t n = strlen(address);

        *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
        if (!notify_address_valid(address))
                return n > NOTIFY_ADDRESS_MAX ? -ENAMETOOLONG : -EINVAL;
        if (address[0] == '@') {
                memcpy(sa->sun_path + 1, address + 1, n - 1);
                *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
        } else {
                memcpy(sa->sun_path, address, n + 1);
                *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
        }
        return 0;
}

/* A socket file left by a gorral that died: nobody holds it, so a connect
 * is refused. Remove only that; a live socket is "in use". */
static int remove_stale_socket(const char *path) {
        struct stat st;
        struct sockaddr_un sa;
        socklen_t len;
        _cleanup_close_ int fd = -1;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISSOCK(st.st_mode))
                return -EADDRINUSE;
        if (make_sockaddr(path, &sa, &len) < 0)
                return -EINVAL;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *)&sa, len) == 0)
                return -EADDRINUSE;
        if (errno != ECONNREFUSED)
                return negative_errno();
        return unlink(path) < 0 && errno != ENOENT ? negative_errno() : 0;
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *userdata);

int notify_socket_new(struct loop *l, const char *address, notify_cb cb, void *userdata,
                      struct notify_socket **ret) {
        struct notify_socket *s;
        struct sockaddr_un sa;
        socklen_t len;
        int r, one = 1;

        if (!l || !address || !cb || !ret)
                return -EINVAL;
        r = make_sockaddr(address, &sa, &len);
        if (r < 0)
                return r;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->loop = l;
        s->cb = cb;
        s->userdata = userdata;
        s->is_path = address[0] == '/';
        memcpy(s->address, address, strlen(address) + 1);
        s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->fd < 0)
                goto fail_errno;
        /* Before bind: the kernel attaches credentials only to datagrams
         * queued while SO_PASSCRED is on. */
        if (setsockopt(s->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
                goto fail_errno;
        if (s->is_path) {
                r = remove_stale_socket(address);
                if (r < 0)
                        goto fail;
        }
        if (bind(s->fd, (struct sockaddr *)&sa, len) < 0)
                goto fail_errno;
        if (s->is_path && chmod(address, 0666) < 0) {
                r = negative_errno();
                (void)unlink(address);
                goto fail;
        }
        r = loop_add_fd(l, s->fd, EPOLLIN, on_readable, s);
        if (r < 0) {
                if (s->is_path)
                        (void)unlink(address);
                goto fail;
        }
        *ret = s;
        return 0;
fail_errno:
        r = negative_errno();
fail:
        s->is_path = false; /* nothing of ours to unlink */
        s->loop = NULL;
        notify_socket_free(s);
        return r;
}

struct notify_socket *notify_socket_free(struct notify_socket *s) {
        if (!s)
                return NULL;
        if (s->freed)
                *s->freed = true;
        if (s->loop && s->fd >= 0)
                (void)loop_del_fd(s->loop, s->fd);
        safe_close(s->fd);
        if (s->is_path)
                (void)unlink(s->address);
        free(s);
        return NULL;
}

int notify_socket_env(const struct notify_socket *s, char *buf, size_t n) {
        int k = snprintf(buf, n, "NOTIFY_SOCKET=%s", s->address);

        return k < 0 || (size_t)k >= n ? -ENOBUFS : 0;
}

const char *notify_socket_get_address(const struct notify_socket *s) { return s->address; }
int notify_socket_fd(const struct notify_socket *s) { return s->fd; }
const struct notify_stats *notify_socket_stats(const struct notify_socket *s) { return &s->stats; }

/* SCM_MAX_FD in the kernel: the most fds one message can carry. A smaller
 * control buffer would be safe too (the kernel closes what does not fit
 * and sets MSG_CTRUNC), but then the count would be wrong. */
#define NOTIFY_MAX_FDS 253

/* Read one datagram. 1 read (handed on or dropped), 0 nothing pending,
 * -errno. The callback may free s: the caller checks its freed flag. */
static int receive_one(struct notify_socket *s) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * NOTIFY_MAX_FDS)];
        } control;
        struct iovec iov = { .iov_base = s->buf, .iov_len = sizeof s->buf };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        struct notify_peer peer = { 0 };
        struct notify_message msg;
        bool have_creds = false;
        ssize_t n;

        for (;;) {
                /* MSG_CMSG_CLOEXEC: passed fds are close-on-exec from the
                 * moment they exist, so none can leak into a child. */
                n = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n >= 0)
                        break;
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                        return 0;
                s->stats.errors++;
                return negative_errno();
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET)
                        continue;
                if (c->cmsg_type == SCM_RIGHTS) {
                        size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int *fds = (int *)(void *)CMSG_DATA(c);

                        /* Nobody here keeps fds (no fd store). Closing is
                         * also the answer to BARRIER=1: the sender waits
                         * for its pipe's write end to close. */
                        for (size_t i = 0; i < nfd; i++) {
                                int fd;

                                memcpy(&fd, fds + i, sizeof fd);
                                safe_close(fd);
                                s->stats.fds_closed++;
                        }
                } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
                        struct ucred uc;

                        memcpy(&uc, CMSG_DATA(c), sizeof uc);
                        peer = (struct notify_peer){ .pid = uc.pid, .uid = uc.uid, .gid = uc.gid };
                        have_creds = true;
                }
        }
        if (mh.msg_flags & MSG_TRUNC) {
                /* A cut datagram may end in half a line ("READY=1" of
                 * "READY=10"...): drop it rather than guess. */
                s->stats.truncated++;
                return 1;
        }
        if (!have_creds) {
                /* SO_PASSCRED makes the kernel attach them to every
                 * datagram; without them the sender cannot be checked. */
                s->stats.no_credentials++;
                return 1;
        }
        (void)notify_parse(s->buf, (size_t)n, &msg);
        s->stats.received++;
        s->stats.malformed_lines += msg.n_malformed;
        s->cb(s, &peer, &msg, s->userdata);
        return 1;
}

int notify_socket_process(struct notify_socket *s, unsigned max) {
        bool freed = false, *outer = s->freed;
        int count = 0;

        s->freed = &freed;
        while ((unsigned)count < max) {
                int r = receive_one(s);

                if (freed) {
                        /* Propagate to a read loop further up the stack. */
                        if (outer)
                                *outer = true;
                        return count + 1;
                }
                if (r <= 0)
                        break;
                count++;
        }
        s->freed = outer;
        return count;
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *userdata) {
        (void)l;
        (void)fd;
        (void)events;
        /* Level-triggered: whatever is left past the budget wakes the
         * loop again after the other ready fds and due timers ran. */
        (void)notify_socket_process(userdata, NOTIFY_READS_PER_WAKEUP);
}

int notify_target_open(const char *address, struct notify_target *ret) {
        int r;

        if (!address || !ret)
                return -EINVAL;
        ret->fd = -1;
        r = make_sockaddr(address, &ret->sa, &ret->len);
        if (r < 0)
                return r;
        ret->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        return ret->fd < 0 ? negative_errno() : 0;
}

int notify_target_send(const struct notify_target *t, const char *text, size_t n) {
        if (!t || t->fd < 0 || (!text && n > 0))
                return -EINVAL;
        if (n > NOTIFY_DATAGRAM_MAX)
                return -EMSGSIZE;
        for (;;) {
                if (sendto(t->fd, text, n, MSG_NOSIGNAL | MSG_DONTWAIT, (const struct sockaddr *)&t->sa, t->len) >= 0)
                        return 0;
                if (errno != EINTR)
                        return negative_errno();
        }
}

void notify_target_close(struct notify_target *t) {
        if (t && t->fd >= 0) {
                close(t->fd);
                t->fd = -1;
        }
}

int notify_send(const char *address, const char *text, size_t n) {
        struct notify_target t;
        int r;

        if (!address || (!text && n > 0))
                return -EINVAL;
        if (n > NOTIFY_DATAGRAM_MAX)
                return -EMSGSIZE;
        r = notify_target_open(address, &t);
        if (r >= 0)
                r = notify_target_send(&t, text, n);
        notify_target_close(&t);
        return r;
}

/* ---- who may speak for a service ---- */

int notify_pid_in_pgid(pid_t pid, pid_t pgid) {
        pid_t g;

        if (pid <= 0 || pgid <= 0)
                return -EINVAL;
        g = getpgid(pid);
        if (g < 0)
                return negative_errno();
        return g == pgid;
}

static bool controller_listed(const char *list, const char *controller) {
        size_t n = strlen(controller);

        for (const char *p = list;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);

                if (len == n && memcmp(p, controller, n) == 0)
                        return true;
                if (!comma)
                        return false;
                p = comma + 1;
        }
}

int notify_pid_in_cgroup(const char *sysroot, pid_t pid, const char *controller, const char *cgroup_path) {
        char rel[64];
        _cleanup_free_ char *path = NULL, *buf = NULL;
        struct cg_member *mem = NULL;
        size_t len, nmem = 0;
        unsigned line;
        int r, found = 0;

        if (pid <= 0 || !controller || !cgroup_path || cgroup_path[0] != '/')
                return -EINVAL;
        snprintf(rel, sizeof rel, "proc/%d/cgroup", (int)pid);
        path = path_join(sysroot && sysroot[0] ? sysroot : "/", rel);
        if (!path)
                return -ENOMEM;
        r = read_file(path, GR_READ_MAX, &buf, &len);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        r = cg_parse_proc_cgroup(buf, len, &mem, &nmem, &line);
        if (r < 0)
                return r;
        for (size_t i = 0; i < nmem; i++) {
                bool match = controller[0] ? controller_listed(mem[i].controllers, controller)
                                           : mem[i].id == 0 && mem[i].controllers[0] == '\0';

                if (match) {
                        found = path_has_prefix(mem[i].path, cgroup_path);
                        break;
                }
        }
        cg_members_free(mem, nmem);
        return found;
}
