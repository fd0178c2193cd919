/* probe.c: tcp and exec readiness probes on the loop. See probe.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "gorral/loop.h"
#include "gorral/probe.h"
#include "gorral/spawn.h"
#include "gorral/util.h"

enum probe_kind { PROBE_TCP, PROBE_EXEC };

struct probe {
        struct loop *loop;
        enum probe_kind kind;
        const struct probe_ops *ops;
        void *userdata;
        struct probe_timing timing;
        uint64_t started_usec, deadline_usec, attempt_started_usec;
        unsigned attempts;
        bool finished;
        /* Per attempt: its timeout while one is in flight, the start of the
         * next one between attempts. */
        struct loop_timer attempt_timer;
        struct loop_timer deadline_timer;
        char last_failure[160];

        /* tcp */
        struct probe_tcp_target target;
        char target_text[PROBE_TCP_TARGET_MAX + 1];
        unsigned addr_index;
        int fd;

        /* exec */
        char *const *argv;
        char *const *envp;
        pid_t pid;
        bool killed;            /* the attempt in flight got SIGKILL */
};

/* ---- the target parser ---- */

static void set_v4(struct probe_tcp_target *t, const struct in_addr *a, uint16_t port) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&t->addr[t->n_addrs];

        memset(sin, 0, sizeof t->addr[0]);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        sin->sin_addr = *a;
        t->addr_len[t->n_addrs++] = sizeof *sin;
}

static void set_v6(struct probe_tcp_target *t, const struct in6_addr *a, uint16_t port) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addr[t->n_addrs];

        memset(sin6, 0, sizeof t->addr[0]);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        sin6->sin6_addr = *a;
        t->addr_len[t->n_addrs++] = sizeof *sin6;
}

int probe_parse_tcp_target(const char *s, struct probe_tcp_target *ret) {
        struct probe_tcp_target t = { 0 };
        char host[PROBE_TCP_TARGET_MAX + 1];
        const char *colon, *port_s;
        size_t n, hn;
        uint32_t port;
        struct in_addr a4;
        struct in6_addr a6;

        if (!s || !ret)
                return -EINVAL;
        n = strlen(s);
        if (n == 0 || n > PROBE_TCP_TARGET_MAX)
                return -EINVAL;
        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (!close || close[1] != ':')
                        return -EINVAL;
                hn = (size_t)(close - s - 1);
                memcpy(host, s + 1, hn);
                host[hn] = '\0';
                port_s = close + 2;
                /* A zone id ("fe80::1%eth0") needs if_nametoindex(): a
                 * link-local readiness target makes no sense anyway. */
                if (inet_pton(AF_INET6, host, &a6) != 1)
                        return -EINVAL;
        } else {
                colon = strrchr(s, ':');
                if (!colon)
                        return -EINVAL;
                hn = (size_t)(colon - s);
                memcpy(host, s, hn);
                host[hn] = '\0';
                if (memchr(host, ':', hn))
                        return -EINVAL; /* IPv6 needs brackets: "[::1]:80" */
                port_s = colon + 1;
        }
        if (port_s[0] == '0' || parse_u32(port_s, &port) < 0 || port == 0 || port > 65535)
                return -EINVAL;
        t.port = (uint16_t)port;
        if (s[0] == '[')
                set_v6(&t, &a6, t.port);
        else if (hn == 0 || strcmp(host, "localhost") == 0) {
                /* Both loopbacks: Go's net.Listen("tcp", "localhost:N")
                 * binds the first address the resolver gives, which may be
                 * either one. */
                a4.s_addr = htonl(INADDR_LOOPBACK);
                set_v4(&t, &a4, t.port);
                set_v6(&t, &in6addr_loopback, t.port);
        } else if (inet_pton(AF_INET, host, &a4) == 1)
                set_v4(&t, &a4, t.port);
        else {
                /* A host name (letters, digits, '-', '.', at least one
                 * letter) is refused for what it is; anything else, a bad
                 * dotted quad included, is malformed. */
                bool letter = false;

                for (size_t i = 0; i < hn; i++) {
                        char c = host[i];

                        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
                                letter = true;
                        else if (!((c >= '0' && c <= '9') || c == '.' || c == '-'))
                                return -EINVAL;
                }
                return letter ? -EADDRNOTAVAIL : -EINVAL;
        }
        *ret = t;
        return 0;
}

/* ---- the scheduler ---- */

static void format_secs(char *buf, size_t n, uint64_t usec) {
        snprintf(buf, n, "%.1fs", (double)usec / 1e6);
}

static void begin_attempt(struct loop *l, void *userdata);
static void attempt_timed_out(struct loop *l, void *userdata);

static void close_connect(struct probe *p) {
        if (p->fd < 0)
                return;
        (void)loop_del_fd(p->loop, p->fd);
        p->fd = safe_close(p->fd);
}

static void kill_attempt(struct probe *p) {
        if (p->pid > 0 && !p->killed) {
                /* The group: a shell's children die with it. The pid is
                 * still ours (alive or a zombie nobody reaped yet), so is
                 * its group id. */
                (void)spawn_kill(-p->pid, SIGKILL);
                p->killed = true;
        }
}

/* The verdict: stop everything, then call done() as the very last thing. */
static void finish(struct probe *p, bool ok, const char *why) {
        p->finished = true;
        loop_timer_disarm(p->loop, &p->attempt_timer);
        loop_timer_disarm(p->loop, &p->deadline_timer);
        close_connect(p);
        kill_attempt(p);
        p->ops->done(p->userdata, ok, why);
}

static void passed(struct probe *p, const char *what) {
        char why[256], el[32];

        format_secs(el, sizeof el, now_usec() - p->started_usec);
        snprintf(why, sizeof why, "%s (attempt %u after %s)", what, p->attempts, el);
        finish(p, true, why);
}

/* Point the one attempt timer at deadline with cb (its meaning depends on
 * the phase: an attempt's timeout, or the start of the next one). */
static int arm_attempt_timer(struct probe *p, loop_timer_cb cb, uint64_t deadline) {
        loop_timer_disarm(p->loop, &p->attempt_timer);
        p->attempt_timer.cb = cb;
        return loop_timer_arm(p->loop, &p->attempt_timer, deadline);
}

static void note_failure(struct probe *p, const char *fmt, ...) _printf_(2, 3);
static void note_failure(struct probe *p, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(p->last_failure, sizeof p->last_failure, fmt, ap);
        va_end(ap);
}

/* The attempt failed (p->last_failure says why): schedule the next one,
 * interval after this one started (at once when that has passed). */
static void attempt_failed(struct probe *p) {
        uint64_t next = p->attempt_started_usec + p->timing.interval_usec;

        loop_timer_disarm(p->loop, &p->attempt_timer);
        if (next >= p->deadline_usec)
                return; /* no room for another attempt: the deadline timer ends it */
        if (arm_attempt_timer(p, begin_attempt, next) < 0)
                finish(p, false, "cannot arm a timer");
}

static void on_deadline(struct loop *l, void *userdata) {
        struct probe *p = userdata;
        char why[320], el[32];

        (void)l;
        format_secs(el, sizeof el, p->timing.timeout_usec);
        snprintf(why, sizeof why, "not ready within %s (%u attempt%s); last: %s", el, p->attempts,
                 p->attempts == 1 ? "" : "s", p->last_failure[0] ? p->last_failure : "still running");
        finish(p, false, why);
}

static void tcp_next_address(struct probe *p);

static void tcp_failed(struct probe *p, int err) {
        char addr[INET6_ADDRSTRLEN + 8] = "?";
        const struct sockaddr_storage *ss = &p->target.addr[p->addr_index];
        size_t k = 0;

        close_connect(p);
        if (ss->ss_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, addr, sizeof addr);
        else {
                addr[0] = '[';
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, addr + 1, sizeof addr - 2);
                strcat(addr, "]");
        }
        if (p->addr_index == 0)
                p->last_failure[0] = '\0';
        else {
                /* localhost: say what both loopbacks answered. */
                k = strlen(p->last_failure);
                snprintf(p->last_failure + k, sizeof p->last_failure - k, "; ");
                k = strlen(p->last_failure);
        }
        snprintf(p->last_failure + k, sizeof p->last_failure - k, "connect %s:%u: %s", addr, p->target.port,
                 strerror(err));
        if (++p->addr_index < p->target.n_addrs) {
                tcp_next_address(p);
                return;
        }
        attempt_failed(p);
}

static void on_connect(struct loop *l, int fd, uint32_t events, void *userdata) {
        struct probe *p = userdata;
        int err = 0;
        socklen_t len = sizeof err;

        (void)l;
        (void)events;
        /* EPOLLOUT on success, EPOLLERR|EPOLLHUP on failure: SO_ERROR
         * tells which either way. */
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        if (err == ECONNRESET || err == EPIPE) {
                /* Only an established connection can be reset (a refused
                 * SYN gives ECONNREFUSED): the handshake completed and
                 * the service (or a proxy in front of it) hung up before
                 * we looked. That is a pass, whichever came first. */
                close_connect(p);
                passed(p, "connected (then reset by the peer)");
                return;
        }
        if (err != 0) {
                tcp_failed(p, err);
                return;
        }
        close_connect(p);
        passed(p, "connected");
}

static void tcp_next_address(struct probe *p) {
        const struct sockaddr_storage *ss = &p->target.addr[p->addr_index];
        int r;

        p->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->fd < 0) {
                tcp_failed(p, errno);
                return;
        }
        if (connect(p->fd, (const struct sockaddr *)ss, p->target.addr_len[p->addr_index]) == 0) {
                close_connect(p);
                passed(p, "connected");
                return;
        }
        if (errno != EINPROGRESS) {
                /* ECONNREFUSED often comes at once on loopback. */
                tcp_failed(p, errno);
                return;
        }
        r = loop_add_fd(p->loop, p->fd, EPOLLOUT, on_connect, p);
        if (r < 0)
                tcp_failed(p, -r);
}

static void exec_begin(struct probe *p) {
        pid_t pid = 0;
        int r = p->ops->spawn(p->userdata, p->argv, p->envp, &pid);

        if (r < 0 || pid <= 0) {
                note_failure(p, "cannot start %s: %s", p->argv[0], strerror(r < 0 ? -r : EINVAL));
                attempt_failed(p);
                return;
        }
        p->pid = pid;
        p->killed = false;
}

static void begin_attempt(struct loop *l, void *userdata) {
        struct probe *p = userdata;
        uint64_t now = now_usec(), until;

        (void)l;
        p->attempts++;
        p->attempt_started_usec = now;
        until = now + p->timing.attempt_timeout_usec;
        if (until > p->deadline_usec)
                until = p->deadline_usec;
        /* Armed before the attempt starts: an attempt that ends at once
         * disarms it (or re-arms it for the next attempt). */
        if (arm_attempt_timer(p, attempt_timed_out, until) < 0) {
                finish(p, false, "cannot arm a timer");
                return;
        }
        if (p->kind == PROBE_TCP) {
                p->addr_index = 0;
                tcp_next_address(p);
        } else
                exec_begin(p);
}

static void attempt_timed_out(struct loop *l, void *userdata) {
        struct probe *p = userdata;
        char el[32];

        (void)l;
        format_secs(el, sizeof el, now_usec() - p->attempt_started_usec);
        if (p->kind == PROBE_TCP) {
                /* No SYN-ACK (a full accept queue, a filtered port): give up
                 * on this attempt, every address of it. */
                close_connect(p);
                note_failure(p, "connect %s: timed out after %s", p->target_text, el);
                attempt_failed(p);
        } else {
                /* The next attempt waits for this one's exit. */
                kill_attempt(p);
                note_failure(p, "%s: timed out after %s, killed", p->argv[0], el);
        }
}

int probe_exec_exited(struct probe *p, pid_t pid, int status) {
        char el[32];

        if (!p || pid <= 0 || pid != p->pid)
                return -ESRCH;
        p->pid = 0;
        if (p->finished)
                return 0;
        if (p->killed) {
                /* last_failure already says it timed out. */
                attempt_failed(p);
                return 0;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                char what[128];

                snprintf(what, sizeof what, "%s exited 0", p->argv[0]);
                passed(p, what);
                return 0;
        }
        format_secs(el, sizeof el, now_usec() - p->attempt_started_usec);
        if (WIFSIGNALED(status))
                note_failure(p, "%s: killed by %s after %s", p->argv[0], signal_to_name(WTERMSIG(status)), el);
        else
                note_failure(p, "%s: exited %d after %s", p->argv[0], WEXITSTATUS(status), el);
        attempt_failed(p);
        return 0;
}

static int probe_new(struct loop *l, enum probe_kind kind, const struct probe_timing *t,
                     const struct probe_ops *ops, void *userdata, struct probe **ret) {
        struct probe *p;
        uint64_t now;
        int r;

        if (!l || !t || !ops || !ops->done || !ret || t->interval_usec == 0 || t->timeout_usec == 0)
                return -EINVAL;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->loop = l;
        p->kind = kind;
        p->ops = ops;
        p->userdata = userdata;
        p->timing = *t;
        if (p->timing.attempt_timeout_usec == 0)
                p->timing.attempt_timeout_usec = t->interval_usec;
        p->fd = -1;
        now = now_usec();
        p->started_usec = now;
        p->deadline_usec = t->timeout_usec > UINT64_MAX - 1 - now ? UINT64_MAX - 1 : now + t->timeout_usec;
        loop_timer_init(&p->deadline_timer, on_deadline, p);
        loop_timer_init(&p->attempt_timer, begin_attempt, p);
        /* The first attempt from the loop, not from here: done() must
         * never run before the caller holds the probe. */
        r = loop_timer_arm(l, &p->deadline_timer, p->deadline_usec);
        if (r >= 0)
                r = loop_timer_arm(l, &p->attempt_timer, now);
        if (r < 0) {
                probe_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

int probe_tcp_start(struct loop *l, const char *target, const struct probe_timing *t,
                    const struct probe_ops *ops, void *userdata, struct probe **ret) {
        struct probe_tcp_target tt;
        int r = probe_parse_tcp_target(target, &tt);

        if (r < 0)
                return r;
        r = probe_new(l, PROBE_TCP, t, ops, userdata, ret);
        if (r < 0)
                return r;
        (*ret)->target = tt;
        memcpy((*ret)->target_text, target, strlen(target) + 1);
        return 0;
}

int probe_exec_start(struct loop *l, char *const *argv, char *const *envp, const struct probe_timing *t,
                     const struct probe_ops *ops, void *userdata, struct probe **ret) {
        int r;

        if (!argv || !argv[0] || !ops || !ops->spawn)
                return -EINVAL;
        r = probe_new(l, PROBE_EXEC, t, ops, userdata, ret);
        if (r < 0)
                return r;
        (*ret)->argv = argv;
        (*ret)->envp = envp;
        return 0;
}

struct probe *probe_free(struct probe *p) {
        if (!p)
                return NULL;
        loop_timer_disarm(p->loop, &p->attempt_timer);
        loop_timer_disarm(p->loop, &p->deadline_timer);
        close_connect(p);
        if (p->pid > 0) {
                kill_attempt(p);
                if (p->ops->forget)
                        p->ops->forget(p->userdata, p->pid);
        }
        free(p);
        return NULL;
}

unsigned probe_attempts(const struct probe *p) { return p->attempts; }
pid_t probe_exec_pid(const struct probe *p) { return p->pid; }
