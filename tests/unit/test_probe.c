/* Unit tests for src/probe.c: the HOST:PORT parser, tcp probes against
 * real sockets on loopback (a listener that appears late, one that never
 * does, one that accepts and resets, a connect that hangs on a full
 * accept queue, IPv6 and both loopbacks of localhost), and exec probes
 * whose processes spawn_process() starts and a SIGCHLD + waitpid reaper
 * collects, as the supervisor's do. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gorral/loop.h"
#include "gorral/probe.h"
#include "gorral/spawn.h"
#include "gorral/util.h"

#define MS 1000ULL

Test(probe_target, valid) {
        struct probe_tcp_target t;
        const struct sockaddr_in *a;
        const struct sockaddr_in6 *a6;

        cr_assert_eq(probe_parse_tcp_target("127.0.0.1:8080", &t), 0);
        cr_assert_eq(t.n_addrs, 1);
        a = (const struct sockaddr_in *)&t.addr[0];
        cr_assert_eq(a->sin_family, AF_INET);
        cr_assert_eq(ntohs(a->sin_port), 8080);
        cr_assert_eq(ntohl(a->sin_addr.s_addr), INADDR_LOOPBACK);
        cr_assert_eq(t.addr_len[0], sizeof(struct sockaddr_in));

        cr_assert_eq(probe_parse_tcp_target("[::1]:9", &t), 0);
        cr_assert_eq(t.n_addrs, 1);
        a6 = (const struct sockaddr_in6 *)&t.addr[0];
        cr_assert_eq(a6->sin6_family, AF_INET6);
        cr_assert_eq(ntohs(a6->sin6_port), 9);
        cr_assert(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));

        cr_assert_eq(probe_parse_tcp_target("localhost:65535", &t), 0);
        cr_assert_eq(t.n_addrs, 2, "127.0.0.1 and ::1");
        cr_assert_eq(t.addr[0].ss_family, AF_INET);
        cr_assert_eq(t.addr[1].ss_family, AF_INET6);
        cr_assert_eq(t.port, 65535);
        cr_assert_eq(probe_parse_tcp_target(":8080", &t), 0);
        cr_assert_eq(t.n_addrs, 2, "an empty host is localhost");
        cr_assert_eq(probe_parse_tcp_target("10.1.2.3:1", &t), 0);
        cr_assert_eq(probe_parse_tcp_target("[::ffff:10.0.0.1]:443", &t), 0);
}

Test(probe_target, invalid) {
        static const char *const bad[] = {
                "", "8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:08080",
                "127.0.0.1:+80", "127.0.0.1:80x", "127.0.0.1: 80", "::1:8080", "[::1]8080", "[::1]:",
                "[::1", "[fe80::1%eth0]:80", "[127.0.0.1]:80", "256.0.0.1:80", "1.2.3:80", "1.2.3.4.5:80",
                " 127.0.0.1:80", "127.0.0.1:80:80",
                "[0000:0000:0000:0000:0000:0000:0000:0001]:65535xxxxxxxxxxxxxxxxxxxxxxxxxxx",
        };
        struct probe_tcp_target t;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_eq(probe_parse_tcp_target(bad[i], &t), -EINVAL, "'%s'", bad[i]);
        cr_assert_eq(probe_parse_tcp_target("example.com:80", &t), -EADDRNOTAVAIL, "names are not resolved");
        cr_assert_eq(probe_parse_tcp_target("db:5432", &t), -EADDRNOTAVAIL);
        cr_assert_eq(probe_parse_tcp_target("LOCALHOST:80", &t), -EADDRNOTAVAIL);
        cr_assert_eq(probe_parse_tcp_target(NULL, &t), -EINVAL);
}

/* ---- tcp probes on loopback ---- */

struct verdict {
        int calls;
        bool ok;
        char why[400];
        uint64_t at_usec;
        struct probe **free_me;
};

static void on_done(void *userdata, bool ok, const char *why) {
        struct verdict *v = userdata;

        v->calls++;
        v->ok = ok;
        v->at_usec = now_usec();
        snprintf(v->why, sizeof v->why, "%s", why);
        if (v->free_me)
                *v->free_me = probe_free(*v->free_me);
}

static const struct probe_ops tcp_ops = { .done = on_done };

static void run_until_done(struct loop *l, struct verdict *v, int max_ms) {
        uint64_t end = now_usec() + (uint64_t)max_ms * MS;

        while (v->calls == 0 && now_usec() < end)
                cr_assert_geq(loop_run_once(l, 50), 0);
}

/* A free loopback port: bind port 0, read it back, close. */
static uint16_t free_port(int family) {
        struct sockaddr_storage ss = { 0 };
        socklen_t len = sizeof ss;
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

        cr_assert_geq(fd, 0);
        if (family == AF_INET) {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                a->sin_family = AF_INET;
                a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                len = sizeof *a;
        } else {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                a->sin6_family = AF_INET6;
                a->sin6_addr = in6addr_loopback;
                len = sizeof *a;
        }
        cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
        len = sizeof ss;
        cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
        close(fd);
        return ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Listen on loopback port; -errno when it cannot (no IPv6 here). */
static int listen_on(int family, uint16_t port, int backlog) {
        struct sockaddr_storage ss = { 0 };
        socklen_t len;
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

        cr_assert_geq(fd, 0);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (family == AF_INET) {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                a->sin_family = AF_INET;
                a->sin_port = htons(port);
                a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                len = sizeof *a;
        } else {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons(port);
                a->sin6_addr = in6addr_loopback;
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
                len = sizeof *a;
        }
        if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static bool have_ipv6_loopback(void) {
        int fd = listen_on(AF_INET6, 0, 1);

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

struct late_listener {
        uint16_t port;
        int fd;
};

static void open_listener(struct loop *l, void *userdata) {
        struct late_listener *ll = userdata;

        (void)l;
        ll->fd = listen_on(AF_INET, ll->port, 16);
        cr_assert_geq(ll->fd, 0);
}

Test(probe_tcp, listener_that_appears_late) {
        struct loop *l;
        struct probe *p;
        struct verdict v = { 0 };
        struct late_listener ll = { .port = free_port(AF_INET), .fd = -1 };
        struct loop_timer t;
        struct probe_timing tm = { .interval_usec = 50 * MS, .timeout_usec = 3000 * MS };
        char target[32];
        uint64_t t0 = now_usec();

        cr_assert_eq(loop_new(&l), 0);
        snprintf(target, sizeof target, "127.0.0.1:%u", ll.port);
        loop_timer_init(&t, open_listener, &ll);
        cr_assert_eq(loop_timer_arm_in(l, &t, 200 * MS), 0);
        cr_assert_eq(probe_tcp_start(l, target, &tm, &tcp_ops, &v, &p), 0);
        cr_assert_eq(v.calls, 0, "never from within start");
        run_until_done(l, &v, 4000);
        cr_assert_eq(v.calls, 1);
        cr_assert(v.ok, "%s", v.why);
        cr_assert_geq(v.at_usec - t0, 200 * MS, "not before the listener existed");
        cr_assert_lt(v.at_usec - t0, 1000 * MS, "within a few intervals of it: %llu ms",
                     (unsigned long long)((v.at_usec - t0) / MS));
        cr_assert_geq(probe_attempts(p), 2, "refused attempts every 50 ms first: %u", probe_attempts(p));
        cr_assert(strstr(v.why, "connected"), "%s", v.why);
        probe_free(p);
        cr_assert_eq(loop_n_watches(l), 0, "no socket left on the loop");
        cr_assert_eq(loop_run_once(l, 150), 0, "nothing more happens after the verdict");
        close(ll.fd);
        loop_free(l);
}

Test(probe_tcp, listener_that_never_appears) {
        struct loop *l;
        struct probe *p;
        struct verdict v = { 0 };
        struct probe_timing tm = { .interval_usec = 50 * MS, .timeout_usec = 300 * MS };
        char target[32];
        uint64_t t0 = now_usec(), el;

        cr_assert_eq(loop_new(&l), 0);
        snprintf(target, sizeof target, "127.0.0.1:%u", free_port(AF_INET));
        cr_assert_eq(probe_tcp_start(l, target, &tm, &tcp_ops, &v, &p), 0);
        run_until_done(l, &v, 3000);
        el = v.at_usec - t0;
        cr_assert_eq(v.calls, 1);
        cr_assert(!v.ok);
        cr_assert_geq(el, 300 * MS, "not before the timeout");
        cr_assert_lt(el, 1000 * MS, "soon after it: %llu ms", (unsigned long long)(el / MS));
        cr_assert_geq(probe_attempts(p), 3, "%u", probe_attempts(p));
        cr_assert_leq(probe_attempts(p), 7, "%u", probe_attempts(p));
        cr_assert(strstr(v.why, "not ready within 0.3s"), "%s", v.why);
        cr_assert(strstr(v.why, "Connection refused"), "%s", v.why);
        probe_free(p);
        loop_free(l);
}

/* Accepts, then closes with SO_LINGER 0: the client sees a reset. */
static void accept_and_reset(struct loop *l, int fd, uint32_t events, void *userdata) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };

        (void)l;
        (void)events;
        if (c >= 0) {
                setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                close(c);
                (*(int *)userdata)++;
        }
}

Test(probe_tcp, accepts_then_resets_still_passes) {
        struct loop *l;
        struct probe *p;
        struct verdict v = { 0 };
        struct probe_timing tm = { .interval_usec = 50 * MS, .timeout_usec = 1000 * MS };
        uint16_t port = free_port(AF_INET);
        int lfd = listen_on(AF_INET, port, 16), accepted = 0;
        char target[32];

        cr_assert_geq(lfd, 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(loop_add_fd(l, lfd, EPOLLIN, accept_and_reset, &accepted), 0);
        snprintf(target, sizeof target, "127.0.0.1:%u", port);
        cr_assert_eq(probe_tcp_start(l, target, &tm, &tcp_ops, &v, &p), 0);
        run_until_done(l, &v, 2000);
        /* A tcp probe is "the handshake completed": what the service does
         * next (here a reset) is an http or exec probe's business. */
        cr_assert(v.ok, "%s", v.why);
        cr_log_info("reset case: %s", v.why);
        cr_assert_eq(probe_attempts(p), 1);
        for (int i = 0; i < 10 && accepted == 0; i++)
                loop_run_once(l, 20);
        cr_assert_eq(accepted, 1, "the service did see one connection");
        probe_free(p);
        loop_del_fd(l, lfd);
        close(lfd);
        loop_free(l);
}

Test(probe_tcp, a_connect_that_hangs_times_out_per_attempt) {
        struct loop *l;
        struct probe *p;
        struct verdict v = { 0 };
        struct probe_timing tm = { .interval_usec = 100 * MS, .timeout_usec = 450 * MS,
                                   .attempt_timeout_usec = 60 * MS };
        uint16_t port = free_port(AF_INET);
        int lfd = listen_on(AF_INET, port, 0), fill[4], n_fill = 0;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        char target[32];
        uint64_t t0;

        cr_assert_geq(lfd, 0);
        /* Nobody accepts: once the accept queue is full the kernel drops
         * new SYNs, so a connect stays in SYN_SENT (no refusal, no reply). */
        for (int i = 0; i < 4; i++) {
                fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                (void)connect(fill[i], (struct sockaddr *)&sa, sizeof sa);
                n_fill++;
        }
        usleep(50000);
        cr_assert_eq(loop_new(&l), 0);
        snprintf(target, sizeof target, "127.0.0.1:%u", port);
        t0 = now_usec();
        cr_assert_eq(probe_tcp_start(l, target, &tm, &tcp_ops, &v, &p), 0);
        run_until_done(l, &v, 3000);
        cr_assert(!v.ok, "%s", v.why);
        if (!strstr(v.why, "timed out after"))
                cr_skip_test("the kernel answered instead of dropping the SYN: %s", v.why);
        cr_assert_geq(v.at_usec - t0, 450 * MS);
        cr_assert_geq(probe_attempts(p), 3, "one per interval, each cut at 60 ms: %u", probe_attempts(p));
        probe_free(p);
        cr_assert_eq(loop_n_watches(l), 0);
        for (int i = 0; i < n_fill; i++)
                close(fill[i]);
        close(lfd);
        loop_free(l);
}

Test(probe_tcp, ipv6_and_localhost_on_either_loopback) {
        struct loop *l;
        struct probe *p;
        struct probe_timing tm = { .interval_usec = 50 * MS, .timeout_usec = 1000 * MS };
        uint16_t port;
        int lfd;
        char target[48];

        if (!have_ipv6_loopback())
                cr_skip_test("no IPv6 loopback here");
        cr_assert_eq(loop_new(&l), 0);
        port = free_port(AF_INET6);
        lfd = listen_on(AF_INET6, port, 16);
        cr_assert_geq(lfd, 0);
        {
                struct verdict v = { 0 };

                snprintf(target, sizeof target, "[::1]:%u", port);
                cr_assert_eq(probe_tcp_start(l, target, &tm, &tcp_ops, &v, &p), 0);
                run_until_done(l, &v, 2000);
                cr_assert(v.ok, "%s", v.why);
                p = probe_free(p);
        }
        {
                /* Only ::1 listens (V6ONLY): localhost finds it after
                 * 127.0.0.1 refuses, in the same attempt. */
                struct verdict v = { 0 };

                snprintf(target, sizeof target, "localhost:%u", port);
                cr_assert_eq(probe_tcp_start(l, target, &tm, &tcp_ops, &v, &p), 0);
                run_until_done(l, &v, 2000);
                cr_assert(v.ok, "%s", v.why);
                cr_assert_eq(probe_attempts(p), 1);
                p = probe_free(p);
        }
        close(lfd);
        {
                struct verdict v = { 0 };
                struct probe_timing quick = { .interval_usec = 50 * MS, .timeout_usec = 120 * MS };

                cr_assert_eq(probe_tcp_start(l, target, &quick, &tcp_ops, &v, &p), 0);
                run_until_done(l, &v, 2000);
                cr_assert(!v.ok);
                cr_assert(strstr(v.why, "127.0.0.1") && strstr(v.why, "[::1]"), "both loopbacks named: %s", v.why);
                p = probe_free(p);
        }
        loop_free(l);
}

Test(probe_tcp, freed_from_its_own_verdict_and_bad_arguments) {
        struct loop *l;
        struct probe *p;
        struct verdict v = { .free_me = &p };
        struct probe_timing tm = { .interval_usec = 20 * MS, .timeout_usec = 60 * MS };
        struct probe_timing zero = { 0 };
        char target[32];

        cr_assert_eq(loop_new(&l), 0);
        snprintf(target, sizeof target, "127.0.0.1:%u", free_port(AF_INET));
        cr_assert_eq(probe_tcp_start(l, target, &zero, &tcp_ops, &v, &p), -EINVAL);
        cr_assert_eq(probe_tcp_start(l, "db:5432", &tm, &tcp_ops, &v, &p), -EADDRNOTAVAIL);
        cr_assert_eq(probe_tcp_start(l, target, &tm, &(struct probe_ops){ 0 }, &v, &p), -EINVAL);
        cr_assert_eq(probe_tcp_start(l, target, &tm, &tcp_ops, &v, &p), 0);
        run_until_done(l, &v, 2000);
        cr_assert_eq(v.calls, 1);
        cr_assert_null(p);
        cr_assert_eq(loop_next_deadline(l), UINT64_MAX, "no timer left armed");
        cr_assert_eq(loop_n_watches(l), 0);
        loop_free(l);
}

/* ---- exec probes, with a reaper like the supervisor's ---- */

struct exec_ctx {
        struct loop *loop;
        struct probe *probe;
        struct verdict v;
        int spawned, forgotten;
        pid_t last_pid;
        int last_status;
        sigset_t orig;
};

static int fake_spawn(void *userdata, char *const *argv, char *const *envp, pid_t *ret_pid) {
        struct exec_ctx *c = userdata;
        struct spawn_params sp = { .argv = argv, .envp = envp, .sigmask = &c->orig };
        struct spawn_result res;
        int r = spawn_process(&sp, &res);

        if (r < 0)
                return r;
        c->spawned++;
        c->last_pid = res.pid;
        *ret_pid = res.pid;
        return 0;
}

static void fake_forget(void *userdata, pid_t pid) {
        struct exec_ctx *c = userdata;

        (void)pid;
        c->forgotten++;
}

static void exec_done(void *userdata, bool ok, const char *why) {
        on_done(&((struct exec_ctx *)userdata)->v, ok, why);
}

static const struct probe_ops exec_ops = { .done = exec_done, .spawn = fake_spawn, .forget = fake_forget };

static void on_sigchld(struct loop *l, const struct signalfd_siginfo *si, void *userdata) {
        struct exec_ctx *c = userdata;
        pid_t pid;
        int st;

        (void)l;
        (void)si;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
                c->last_status = st;
                if (c->probe)
                        cr_assert_eq(probe_exec_exited(c->probe, pid, st), 0, "pid %d is the probe's", (int)pid);
        }
}

static void exec_setup(struct exec_ctx *c) {
        sigset_t mask;

        memset(c, 0, sizeof *c);
        cr_assert_eq(loop_new(&c->loop), 0);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        cr_assert_eq(loop_set_signals(c->loop, &mask, on_sigchld, c, &c->orig), 0);
}

/* Processes of group pgid that are not zombies, from /proc/PID/stat. */
static int live_members(pid_t pgid) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        int n = 0;

        cr_assert_not_null(d);
        while ((e = readdir(d))) {
                char path[300], buf[512], state;
                const char *rp;
                int pg = 0, ppid;
                FILE *f;

                if (e->d_name[0] < '1' || e->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                if (fgets(buf, sizeof buf, f) && (rp = strrchr(buf, ')')) &&
                    sscanf(rp + 1, " %c %d %d", &state, &ppid, &pg) == 3 && pg == pgid && state != 'Z')
                        n++;
                fclose(f);
        }
        closedir(d);
        return n;
}

static char *const env[] = { (char *)"PATH=/usr/bin:/bin", NULL };

Test(probe_exec, passes_at_once) {
        struct exec_ctx c;
        char *const argv[] = { (char *)"true", NULL };
        struct probe_timing tm = { .interval_usec = 100 * MS, .timeout_usec = 2000 * MS };

        exec_setup(&c);
        cr_assert_eq(probe_exec_start(c.loop, argv, env, &tm, &exec_ops, &c, &c.probe), 0);
        run_until_done(c.loop, &c.v, 3000);
        cr_assert(c.v.ok, "%s", c.v.why);
        cr_assert_eq(c.spawned, 1);
        cr_assert(strstr(c.v.why, "true exited 0"), "%s", c.v.why);
        cr_assert_eq(probe_exec_exited(c.probe, 12345, 0), -ESRCH, "not its pid");
        c.probe = probe_free(c.probe);
        cr_assert_eq(c.forgotten, 0, "nothing in flight");
        loop_free(c.loop);
}

struct file_later {
        char path[64];
};

static void create_file(struct loop *l, void *userdata) {
        struct file_later *f = userdata;
        int fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

        (void)l;
        cr_assert_geq(fd, 0);
        close(fd);
}

Test(probe_exec, passes_when_the_condition_appears) {
        struct exec_ctx c;
        struct file_later f;
        struct loop_timer t;
        struct probe_timing tm = { .interval_usec = 50 * MS, .timeout_usec = 3000 * MS };
        uint64_t t0 = now_usec();

        snprintf(f.path, sizeof f.path, "/tmp/gorral-probe-%d", (int)getpid());
        unlink(f.path);
        char *const argv[] = { (char *)"test", (char *)"-e", f.path, NULL };
        exec_setup(&c);
        loop_timer_init(&t, create_file, &f);
        cr_assert_eq(loop_timer_arm_in(c.loop, &t, 250 * MS), 0);
        cr_assert_eq(probe_exec_start(c.loop, argv, env, &tm, &exec_ops, &c, &c.probe), 0);
        run_until_done(c.loop, &c.v, 4000);
        cr_assert(c.v.ok, "%s", c.v.why);
        cr_assert_geq(c.v.at_usec - t0, 250 * MS);
        cr_assert_geq(c.spawned, 2, "failed attempts first: %d", c.spawned);
        cr_assert_eq((unsigned)c.spawned, probe_attempts(c.probe));
        c.probe = probe_free(c.probe);
        unlink(f.path);
        loop_free(c.loop);
}

Test(probe_exec, never_passes) {
        struct exec_ctx c;
        char *const argv[] = { (char *)"sh", (char *)"-c", (char *)"exit 3", NULL };
        struct probe_timing tm = { .interval_usec = 50 * MS, .timeout_usec = 300 * MS };
        uint64_t t0 = now_usec();

        exec_setup(&c);
        cr_assert_eq(probe_exec_start(c.loop, argv, env, &tm, &exec_ops, &c, &c.probe), 0);
        run_until_done(c.loop, &c.v, 3000);
        cr_assert(!c.v.ok);
        cr_assert_geq(c.v.at_usec - t0, 300 * MS);
        cr_assert(strstr(c.v.why, "sh: exited 3"), "%s", c.v.why);
        cr_assert_geq(c.spawned, 3, "%d", c.spawned);
        c.probe = probe_free(c.probe);
        loop_free(c.loop);
}

Test(probe_exec, a_hung_attempt_is_killed_at_its_timeout) {
        struct exec_ctx c;
        /* The shell's child holds the group too: the kill takes both. */
        char *const argv[] = { (char *)"sh", (char *)"-c", (char *)"sleep 30; :", NULL };
        struct probe_timing tm = { .interval_usec = 100 * MS, .timeout_usec = 450 * MS,
                                   .attempt_timeout_usec = 80 * MS };

        exec_setup(&c);
        cr_assert_eq(probe_exec_start(c.loop, argv, env, &tm, &exec_ops, &c, &c.probe), 0);
        run_until_done(c.loop, &c.v, 3000);
        cr_assert(!c.v.ok);
        cr_assert(strstr(c.v.why, "timed out after") && strstr(c.v.why, "s, killed"), "%s", c.v.why);
        cr_assert_geq(c.spawned, 2, "the next attempt follows each kill: %d", c.spawned);
        /* Reap whatever is still in flight, then: no process of any
         * attempt's group is left. */
        for (int i = 0; i < 50 && probe_exec_pid(c.probe) != 0; i++)
                loop_run_once(c.loop, 20);
        cr_assert_eq(probe_exec_pid(c.probe), 0);
        cr_assert(WIFSIGNALED(c.last_status) && WTERMSIG(c.last_status) == SIGKILL);
        usleep(50000);
        /* The shell's sleep was re-parented (to PID 1 here, which may
         * leave it a zombie): what counts is that nothing runs. */
        cr_assert_eq(live_members(c.last_pid), 0, "no live process in the group of the last attempt");
        c.probe = probe_free(c.probe);
        loop_free(c.loop);
}

Test(probe_exec, freed_while_an_attempt_runs) {
        struct exec_ctx c;
        char *const argv[] = { (char *)"sleep", (char *)"30", NULL };
        struct probe_timing tm = { .interval_usec = 1000 * MS, .timeout_usec = 5000 * MS };
        pid_t pid;
        int st;

        exec_setup(&c);
        cr_assert_eq(probe_exec_start(c.loop, argv, env, &tm, &exec_ops, &c, &c.probe), 0);
        for (int i = 0; i < 50 && c.spawned == 0; i++)
                loop_run_once(c.loop, 10);
        cr_assert_eq(c.spawned, 1);
        pid = probe_exec_pid(c.probe);
        cr_assert_gt(pid, 0);
        c.probe = probe_free(c.probe);
        cr_assert_eq(c.forgotten, 1, "the pid is handed back to the caller");
        cr_assert_eq(c.v.calls, 0, "no verdict for a cancelled probe");
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        loop_free(c.loop);
}

static int failing_spawn(void *userdata, char *const *argv, char *const *envp, pid_t *ret_pid) {
        (void)userdata;
        (void)argv;
        (void)envp;
        (void)ret_pid;
        return -EAGAIN;
}

Test(probe_exec, a_spawn_failure_is_a_failed_attempt) {
        struct exec_ctx c;
        char *const argv[] = { (char *)"true", NULL };
        struct probe_timing tm = { .interval_usec = 30 * MS, .timeout_usec = 150 * MS };
        struct probe_ops ops = { .done = exec_done, .spawn = failing_spawn };

        exec_setup(&c);
        cr_assert_eq(probe_exec_start(c.loop, argv, env, &tm, &(struct probe_ops){ .done = exec_done }, &c, &c.probe),
                     -EINVAL, "spawn is required");
        cr_assert_eq(probe_exec_start(c.loop, argv, env, &tm, &ops, &c, &c.probe), 0);
        run_until_done(c.loop, &c.v, 2000);
        cr_assert(!c.v.ok);
        cr_assert(strstr(c.v.why, "cannot start true"), "%s", c.v.why);
        cr_assert_geq(probe_attempts(c.probe), 3);
        c.probe = probe_free(c.probe);
        loop_free(c.loop);
}
