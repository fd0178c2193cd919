/* Unit tests for src/control.c: the server on a real loop with fake ops.
 * Requests and answers, the socket file (0600, stale, live, not a
 * socket), another uid refused, and the bounds: an idle client, a 10 MiB
 * request, 9 clients, a client that never reads, the per-wakeup budget.
 * "Does not delay" is measured with a timer armed by the test and with a
 * signal sent by another process: both must be handled on time while the
 * bad client is being dealt with. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gorral/control.h"
#include "gorral/json.h"
#include "gorral/loop.h"
#include "gorral/util.h"

/* Generous: 2 shared cores run many builds at once. A stalled loop
 * (a blocking read, a 10 MiB copy loop) would be far past it. */
#define ON_TIME_USEC (150 * UINT64_C(1000))

static char dir[64], sock_path[96];
static char last_cmd[32], last_name[300], last_arg[32];
static int n_commands;
static size_t big_services; /* status writes this many extra services */

static int fake_status(void *ud, const char *name, struct json_writer *w) {
        (void)ud;
        if (name && strcmp(name, "api") != 0 && strcmp(name, "db") != 0)
                return -ENOENT;
        json_begin_array(w);
        if (!name || strcmp(name, "api") == 0) {
                json_begin_object(w);
                json_member_string(w, "name", "api");
                json_member_string(w, "state", "running");
                json_member_int(w, "pid", 42);
                json_member_int(w, "restarts", 1);
                json_member_int(w, "last_exit", 2);
                json_member_int(w, "uptime_seconds", 3723);
                json_member_string(w, "cgroup", "/gorral/api");
                json_member_int(w, "gomaxprocs", 2);
                json_member_int(w, "gomemlimit", 536870912);
                json_end_object(w);
        }
        if (!name || strcmp(name, "db") == 0) {
                json_begin_object(w);
                json_member_string(w, "name", "db");
                json_member_string(w, "state", "backoff");
                json_member_null(w, "pid");
                json_end_object(w);
        }
        for (size_t i = 0; !name && i < big_services; i++) {
                json_begin_object(w);
                json_member_string(w, "name", "padding-padding-padding-padding-padding-padding-padding-padding");
                json_member_int(w, "i", (int64_t)i);
                json_end_object(w);
        }
        json_end_array(w);
        return 0;
}

static int fake_command(void *ud, const char *cmd, const char *name, const char *arg, char *err, size_t err_size) {
        (void)ud;
        n_commands++;
        snprintf(last_cmd, sizeof last_cmd, "%s", cmd);
        snprintf(last_name, sizeof last_name, "%s", name ? name : "(null)");
        snprintf(last_arg, sizeof last_arg, "%s", arg ? arg : "(null)");
        if (name && strcmp(name, "nope") == 0) {
                snprintf(err, err_size, "no service '%s'", name);
                return -ENOENT;
        }
        if (name && strcmp(name, "quiet") == 0)
                return -EBUSY; /* no message: strerror */
        return 0;
}

static const struct control_ops ops = { fake_status, fake_command };

static void make_dir(void) {
        snprintf(dir, sizeof dir, "/tmp/gorral-ctl-XXXXXX");
        cr_assert_not_null(mkdtemp(dir));
        snprintf(sock_path, sizeof sock_path, "%s/ctl.sock", dir);
}

static void remove_dir(void) {
        unlink(sock_path);
        rmdir(dir);
}

static struct control *start(struct loop **l, const struct control_options *o) {
        struct control *c = NULL;

        make_dir();
        cr_assert_eq(loop_new(l), 0);
        cr_assert_eq(control_new(*l, sock_path, &ops, NULL, o, &c), 0);
        return c;
}

static void stop(struct loop *l, struct control *c) {
        control_free(c);
        cr_assert_eq(loop_n_watches(l), 0, "every client and the socket unwatched");
        loop_free(l);
        remove_dir();
}

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        cr_assert_geq(fd, 0);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %m");
        return fd;
}

static void send_str(int fd, const char *s) {
        cr_assert_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Run the loop until fd has n complete lines (or EOF, or 3 s); returns
 * the bytes read into buf, NUL-terminated. */
static size_t pump_lines(struct loop *l, int fd, int n, char *buf, size_t size, bool *ret_eof) {
        uint64_t deadline = now_usec() + 3000000;
        size_t len = 0;
        bool eof = false;

        for (;;) {
                int lines = 0;

                for (size_t i = 0; i < len; i++)
                        lines += buf[i] == '\n';
                if (lines >= n || eof || now_usec() > deadline)
                        break;
                loop_run_once(l, 10);
                for (;;) {
                        ssize_t k = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT);

                        if (k > 0)
                                len += (size_t)k;
                        else {
                                if (k == 0 || (errno != EAGAIN && errno != EINTR))
                                        eof = true;
                                break;
                        }
                }
        }
        buf[len] = 0;
        if (ret_eof)
                *ret_eof = eof;
        return len;
}

static void ask(struct loop *l, int fd, const char *req, const char *want) {
        char buf[8192];

        send_str(fd, req);
        pump_lines(l, fd, 1, buf, sizeof buf, NULL);
        cr_assert_str_eq(buf, want, "request %s", req);
}

#define V "\"gorral\":\"" GORRAL_VERSION "\""

Test(control, status_and_commands) {
        struct loop *l;
        struct control *c = start(&l, NULL);
        int fd = connect_to(sock_path);
        struct stat st;

        cr_assert_eq(stat(sock_path, &st), 0);
        cr_assert(S_ISSOCK(st.st_mode));
        cr_assert_eq(st.st_mode & 0777, 0600);
        cr_assert_str_eq(control_path(c), sock_path);

        ask(l, fd, "{\"cmd\":\"status\"}\n",
            "{\"ok\":true," V ",\"services\":[{\"name\":\"api\",\"state\":\"running\",\"pid\":42,\"restarts\":1,"
            "\"last_exit\":2,\"uptime_seconds\":3723,\"cgroup\":\"/gorral/api\",\"gomaxprocs\":2,"
            "\"gomemlimit\":536870912},{\"name\":\"db\",\"state\":\"backoff\",\"pid\":null}]}\n");
        cr_assert_eq(control_n_clients(c), 1);
        ask(l, fd, "{\"cmd\":\"status\",\"name\":\"db\"}\n",
            "{\"ok\":true," V ",\"services\":[{\"name\":\"db\",\"state\":\"backoff\",\"pid\":null}]}\n");
        ask(l, fd, "{\"cmd\":\"status\",\"name\":\"x\\\"y\"}\n",
            "{\"ok\":false," V ",\"error\":\"no service 'x\\\"y'\",\"code\":\"not_found\"}\n");
        ask(l, fd, "{\"cmd\":\"stop\",\"name\":\"api\"}\n", "{\"ok\":true," V "}\n");
        cr_assert_str_eq(last_cmd, "stop");
        cr_assert_str_eq(last_name, "api");
        cr_assert_str_eq(last_arg, "(null)");
        ask(l, fd, "{\"name\":\"api\",\"cmd\":\"start\",\"future\":[1,{\"x\":null}]}\n", "{\"ok\":true," V "}\n");
        cr_assert_str_eq(last_cmd, "start");
        ask(l, fd, "{\"cmd\":\"restart\",\"name\":\"nope\"}\n",
            "{\"ok\":false," V ",\"error\":\"no service 'nope'\",\"code\":\"not_found\"}\n");
        ask(l, fd, "{\"cmd\":\"restart\",\"name\":\"quiet\"}\n",
            "{\"ok\":false," V ",\"error\":\"Device or resource busy\",\"code\":\"busy\"}\n");
        ask(l, fd, "{\"cmd\":\"signal\",\"name\":\"api\",\"signal\":\"HUP\"}\n", "{\"ok\":true," V "}\n");
        cr_assert_str_eq(last_cmd, "signal");
        cr_assert_str_eq(last_arg, "SIGHUP");
        ask(l, fd, "{\"cmd\":\"signal\",\"name\":\"api\",\"signal\":15}\n", "{\"ok\":true," V "}\n");
        cr_assert_str_eq(last_arg, "SIGTERM");
        ask(l, fd, "{\"cmd\":\"reload\"}\n", "{\"ok\":true," V "}\n");
        cr_assert_str_eq(last_cmd, "reload");
        cr_assert_str_eq(last_name, "(null)");

        n_commands = 0;
        ask(l, fd, "{\"cmd\":\"signal\",\"name\":\"api\",\"signal\":\"BOGUS\"}\n",
            "{\"ok\":false," V ",\"error\":\"bad request: \\\"signal\\\" must be a signal name or number\","
            "\"code\":\"invalid\"}\n");
        ask(l, fd, "{\"cmd\":\"signal\",\"name\":\"api\",\"signal\":0}\n",
            "{\"ok\":false," V ",\"error\":\"bad request: \\\"signal\\\" must be a signal name or number\","
            "\"code\":\"invalid\"}\n");
        ask(l, fd, "{\"cmd\":\"signal\",\"name\":\"api\"}\n",
            "{\"ok\":false," V ",\"error\":\"bad request: \\\"signal\\\" must be a signal name or number\","
            "\"code\":\"invalid\"}\n");
        ask(l, fd, "{\"cmd\":\"stop\"}\n",
            "{\"ok\":false," V ",\"error\":\"bad request: stop needs a \\\"name\\\"\",\"code\":\"invalid\"}\n");
        ask(l, fd, "{\"cmd\":\"stop\",\"name\":\"\"}\n",
            "{\"ok\":false," V ",\"error\":\"bad request: \\\"name\\\" must be a string of 1 to 255 bytes\","
            "\"code\":\"invalid\"}\n");
        ask(l, fd, "{\"cmd\":\"stop\",\"name\":7}\n",
            "{\"ok\":false," V ",\"error\":\"bad request: \\\"name\\\" must be a string of 1 to 255 bytes\","
            "\"code\":\"invalid\"}\n");
        ask(l, fd, "{\"cmd\":\"reload\",\"name\":\"api\"}\n",
            "{\"ok\":false," V ",\"error\":\"bad request: reload takes no \\\"name\\\"\",\"code\":\"invalid\"}\n");
        ask(l, fd, "{\"cmd\":\"launch\"}\n",
            "{\"ok\":false," V ",\"error\":\"unknown command 'launch'\",\"code\":\"invalid\"}\n");
        ask(l, fd, "{\"cmd\":1}\n",
            "{\"ok\":false," V ",\"error\":\"bad request: no \\\"cmd\\\" string\",\"code\":\"invalid\"}\n");
        ask(l, fd, "[\"status\"]\n",
            "{\"ok\":false," V ",\"error\":\"bad request: not a JSON object\",\"code\":\"invalid\"}\n");
        ask(l, fd, "{\"cmd\" \"status\"}\n",
            "{\"ok\":false," V ",\"error\":\"bad request: expected ':' at byte 7\",\"code\":\"invalid\"}\n");
        ask(l, fd, "{\"cmd\":\"stop\",\"cmd\":\"start\",\"name\":\"api\"}\n",
            "{\"ok\":false," V ",\"error\":\"bad request: duplicate member name at byte 14\",\"code\":\"invalid\"}\n");
        cr_assert_eq(n_commands, 0, "no bad request reached the ops");

        /* Pipelined, CRLF, blank lines: answered in order, one line each. */
        {
                char buf[4096];

                send_str(fd, "\n  \r\n{\"cmd\":\"stop\",\"name\":\"a\"}\r\n{\"cmd\":\"start\",\"name\":\"nope\"}\n"
                             "{\"cmd\":\"status\",\"name\":\"db\"}\n");
                pump_lines(l, fd, 3, buf, sizeof buf, NULL);
                cr_assert_str_eq(buf, "{\"ok\":true," V "}\n"
                                      "{\"ok\":false," V ",\"error\":\"no service 'nope'\",\"code\":\"not_found\"}\n"
                                      "{\"ok\":true," V ",\"services\":[{\"name\":\"db\",\"state\":\"backoff\","
                                      "\"pid\":null}]}\n");
        }
        cr_assert_eq(control_get_stats(c)->requests, 25);
        cr_assert_eq(control_get_stats(c)->accepted, 1);
        close(fd);
        for (int i = 0; i < 10 && control_n_clients(c); i++)
                loop_run_once(l, 10);
        cr_assert_eq(control_n_clients(c), 0, "a client that hung up is dropped");
        stop(l, c);
        cr_assert_neq(access(sock_path, F_OK), 0, "control_free unlinks its socket");
}

Test(control, half_close_still_answered) {
        struct loop *l;
        struct control *c = start(&l, NULL);
        int fd = connect_to(sock_path);
        char buf[1024];
        bool eof;

        send_str(fd, "{\"cmd\":\"reload\"}\n");
        shutdown(fd, SHUT_WR);
        pump_lines(l, fd, 2, buf, sizeof buf, &eof);
        cr_assert_str_eq(buf, "{\"ok\":true," V "}\n");
        cr_assert(eof);
        close(fd);
        stop(l, c);
}

Test(control, socket_file) {
        struct loop *l;
        struct control *c = NULL, *c2 = NULL;
        int fd;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char longp[200];

        make_dir();
        cr_assert_eq(loop_new(&l), 0);
        /* A stale socket (bound, never listened: connect is refused). */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
        cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        close(fd);
        cr_assert_eq(control_new(l, sock_path, &ops, NULL, NULL, &c), 0, "a stale socket is replaced");
        /* A live one is not. */
        cr_assert_eq(control_new(l, sock_path, &ops, NULL, NULL, &c2), -EADDRINUSE);
        cr_assert_eq(access(sock_path, F_OK), 0, "the live socket is still there");
        /* The first still answers (the probe connection did no harm). */
        fd = connect_to(sock_path);
        ask(l, fd, "{\"cmd\":\"reload\"}\n", "{\"ok\":true," V "}\n");
        close(fd);
        /* Another gorral took the name: do not unlink it on free. */
        cr_assert_eq(unlink(sock_path), 0);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        control_free(c);
        cr_assert_eq(access(sock_path, F_OK), 0, "someone else's socket stays");
        close(fd);
        unlink(sock_path);

        /* Not a socket: left alone. */
        fd = open(sock_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        close(fd);
        cr_assert_eq(control_new(l, sock_path, &ops, NULL, NULL, &c2), -EEXIST);
        cr_assert_eq(access(sock_path, F_OK), 0);
        unlink(sock_path);

        memset(longp, 'a', sizeof longp - 1);
        longp[0] = '/';
        longp[sizeof longp - 1] = 0;
        cr_assert_eq(control_new(l, longp, &ops, NULL, NULL, &c2), -ENAMETOOLONG);
        cr_assert_eq(control_new(l, "", &ops, NULL, NULL, &c2), -EINVAL);
        cr_assert_eq(control_new(l, "/nonexistent-dir/x.sock", &ops, NULL, NULL, &c2), -ENOENT);
        cr_assert_eq(loop_n_watches(l), 0);
        loop_free(l);
        remove_dir();
}

Test(control, default_path) {
        char *p = NULL;

        setenv("GORRAL_SOCKET", "/tmp/x.sock", 1);
        cr_assert_eq(control_default_path(&p), 0);
        cr_assert_str_eq(p, "/tmp/x.sock");
        free(p);
        setenv("GORRAL_SOCKET", "", 1);
        setenv("XDG_RUNTIME_DIR", "/run/user/65534", 1);
        if (geteuid() == 0) {
                cr_assert_eq(control_default_path(&p), 0);
                cr_assert_str_eq(p, "/run/gorral.sock");
                free(p);
                cr_assert_eq(seteuid(65534), 0);
        }
        cr_assert_eq(control_default_path(&p), 0);
        cr_assert_str_eq(p, "/run/user/65534/gorral.sock");
        free(p);
        setenv("XDG_RUNTIME_DIR", "relative", 1);
        cr_assert_eq(control_default_path(&p), -ENOENT);
        unsetenv("XDG_RUNTIME_DIR");
        cr_assert_eq(control_default_path(&p), -ENOENT);
        /* Back to root: LeakSanitizer reads /proc/self at exit. */
        if (getuid() == 0)
                cr_assert_eq(seteuid(0), 0);
}

/* In a child of uid 65534: connect and read one line. Exit 10 when the
 * connect itself fails with EACCES, 20 when the server sent the refusal
 * and closed, 1 otherwise. */
static int other_uid_client(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[512];
        size_t len = 0;
        int fd;

        if (setgid(65534) < 0 || setuid(65534) < 0)
                return 1;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
                return errno == EACCES ? 10 : 1;
        /* The refusal may come (and the server close) before this is sent:
         * EPIPE then, and the line is still there to read. */
        (void)!send(fd, "{\"cmd\":\"reload\"}\n", 17, MSG_NOSIGNAL);
        for (;;) {
                ssize_t k = read(fd, buf + len, sizeof buf - 1 - len);

                if (k <= 0)
                        break;
                len += (size_t)k;
        }
        buf[len] = 0;
        return strstr(buf, "\"ok\":false") && strstr(buf, "permission denied") && strstr(buf, "\"code\":\"denied\"") ? 20 : 1;
}

static int run_child_against(struct loop *l, int (*fn)(void)) {
        pid_t pid = fork();
        int status;
        uint64_t deadline = now_usec() + 5000000;

        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(fn());
        while (waitpid(pid, &status, WNOHANG) == 0) {
                cr_assert_lt(now_usec(), deadline, "the child did not finish");
                loop_run_once(l, 10);
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(control, other_uid_refused) {
        struct loop *l;
        struct control *c;

        if (geteuid() != 0)
                cr_skip_test("needs root to run a client of another uid");
        c = start(&l, NULL);
        n_commands = 0;
        /* The file mode stops it first... */
        cr_assert_eq(run_child_against(l, other_uid_client), 10, "connect refused by the 0600 mode");
        /* ...and SO_PEERCRED when the mode does not (a socket handed over,
         * a changed mode). */
        cr_assert_eq(chmod(dir, 0755), 0);
        cr_assert_eq(chmod(sock_path, 0666), 0);
        cr_assert_eq(run_child_against(l, other_uid_client), 20, "refused by the credential check");
        cr_assert_eq(control_get_stats(c)->refused, 1);
        cr_assert_eq(control_get_stats(c)->accepted, 0);
        cr_assert_eq(n_commands, 0, "the request never reached the ops");
        cr_assert_eq(control_n_clients(c), 0);
        stop(l, c);
}

/* A timer armed by the test, and a signal from another process, handled
 * on time while a bad client is being dealt with. */
struct punctual {
        struct loop_timer t;
        uint64_t due, fired;
        uint64_t signal_sent, signal_got;
        int pipe_fd;
        pid_t child;
};

static void punctual_fired(struct loop *l, void *ud) {
        struct punctual *p = ud;

        (void)l;
        p->fired = now_usec();
}

static void punctual_signal(struct loop *l, const struct signalfd_siginfo *si, void *ud) {
        struct punctual *p = ud;

        (void)l;
        if (si->ssi_signo == SIGUSR1 && !p->signal_got) {
                p->signal_got = now_usec();
                cr_assert_eq(read(p->pipe_fd, &p->signal_sent, sizeof p->signal_sent), (ssize_t)sizeof p->signal_sent);
        }
}

/* Arm the timer for delay, and fork a process that sends SIGUSR1 after
 * delay (writing the monotonic time it sent it: CLOCK_MONOTONIC is one
 * clock for the whole system). */
static void punctual_arm(struct loop *l, struct punctual *p, uint64_t delay) {
        sigset_t m;
        int fds[2];
        pid_t parent = getpid();

        *p = (struct punctual){ 0 };
        loop_timer_init(&p->t, punctual_fired, p);
        p->due = now_usec() + delay;
        cr_assert_eq(loop_timer_arm(l, &p->t, p->due), 0);
        sigemptyset(&m);
        sigaddset(&m, SIGUSR1);
        cr_assert_eq(loop_set_signals(l, &m, punctual_signal, p, NULL), 0);
        cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
        p->child = fork();
        cr_assert_geq(p->child, 0);
        if (p->child == 0) {
                uint64_t t;

                usleep((useconds_t)delay);
                t = now_usec();
                (void)!write(fds[1], &t, sizeof t);
                kill(parent, SIGUSR1);
                _exit(0);
        }
        close(fds[1]);
        p->pipe_fd = fds[0];
}

static void punctual_check(struct loop *l, struct punctual *p) {
        uint64_t deadline = now_usec() + 3000000;

        while ((!p->fired || !p->signal_got) && now_usec() < deadline)
                loop_run_once(l, 50);
        waitpid(p->child, NULL, 0);
        close(p->pipe_fd);
        cr_assert(p->fired, "the timer fired");
        cr_log_info("timer late by %llu us, signal handled %llu us after it was sent",
                    (unsigned long long)(p->fired - p->due), (unsigned long long)(p->signal_got - p->signal_sent));
        cr_assert(p->signal_got, "the signal arrived");
        cr_assert_lt(p->fired - p->due, ON_TIME_USEC, "timer late by %llu us", (unsigned long long)(p->fired - p->due));
        cr_assert_lt(p->signal_got - p->signal_sent, ON_TIME_USEC, "signal late by %llu us",
                     (unsigned long long)(p->signal_got - p->signal_sent));
}

Test(control, silent_client_closed_at_idle_timeout) {
        struct control_options o;
        struct loop *l;
        struct control *c;
        struct punctual p;
        int fd, quiet;
        char buf[512];
        bool eof;
        uint64_t t0;

        control_options_init(&o);
        o.idle_usec = 400000;
        c = start(&l, &o);
        t0 = now_usec();
        fd = connect_to(sock_path);
        quiet = connect_to(sock_path);
        punctual_arm(l, &p, 150000);
        punctual_check(l, &p);
        cr_assert_eq(control_n_clients(c), 2, "not closed before its time");
        /* One request resets the timer: quiet gets its full idle time again. */
        ask(l, quiet, "{\"cmd\":\"reload\"}\n", "{\"ok\":true," V "}\n");
        pump_lines(l, fd, 2, buf, sizeof buf, &eof);
        cr_assert(eof);
        cr_assert_str_eq(buf, "{\"ok\":false," V ",\"error\":\"idle timeout\",\"code\":\"failed\"}\n");
        cr_assert_geq(now_usec() - t0, 400000, "not before the timeout");
        cr_assert_lt(now_usec() - t0, 400000 + ON_TIME_USEC, "at the timeout");
        cr_assert_eq(control_n_clients(c), 1, "the one that asked is still there");
        pump_lines(l, quiet, 2, buf, sizeof buf, &eof);
        cr_assert(eof);
        cr_assert_eq(control_get_stats(c)->closed_idle, 2);
        close(fd);
        close(quiet);
        stop(l, c);
}

/* A child writes 10 MiB without a newline; reports how much went out. */
static int flood_client(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        static char chunk[1 << 16];
        size_t sent = 0;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
                return 1;
        memset(chunk, 'x', sizeof chunk);
        chunk[0] = '{';
        while (sent < (10u << 20)) {
                ssize_t k = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);

                if (k <= 0)
                        break;
                sent += (size_t)k;
        }
        /* Refused long before the end; the kernel buffers hold the rest. */
        return sent >= (10u << 20) ? 1 : sent < (2u << 20) ? 0 : 2;
}

Test(control, ten_mib_request_costs_one_buffer) {
        struct loop *l;
        struct control *c = start(&l, NULL);
        struct punctual p;
        pid_t pid;
        int status;

        punctual_arm(l, &p, 100000);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(flood_client());
        punctual_check(l, &p);
        while (waitpid(pid, &status, WNOHANG) == 0)
                loop_run_once(l, 10);
        cr_assert(WIFEXITED(status));
        cr_assert_eq(WEXITSTATUS(status), 0, "the flood was cut off early (child status %d)", WEXITSTATUS(status));
        cr_assert_eq(control_get_stats(c)->closed_too_long, 1);
        cr_assert_leq(control_get_stats(c)->bytes_read, CONTROL_MAX_REQUEST, "read %llu bytes",
                      (unsigned long long)control_get_stats(c)->bytes_read);
        cr_assert_eq(control_get_stats(c)->requests, 0);
        cr_assert_eq(control_n_clients(c), 0);
        stop(l, c);
}

Test(control, too_long_request_answered_then_closed) {
        struct control_options o;
        struct loop *l;
        struct control *c;
        char big[2048], buf[512];
        bool eof;
        int fd;

        control_options_init(&o);
        o.max_request_bytes = 1024;
        c = start(&l, &o);
        fd = connect_to(sock_path);
        /* 1024 bytes with the '\n' fit exactly. */
        memset(big, ' ', sizeof big);
        memcpy(big, "{\"cmd\":\"reload\"}", 16);
        big[1023] = '\n';
        big[1024] = 0;
        ask(l, fd, big, "{\"ok\":true," V "}\n");
        big[1023] = ' ';
        big[1025] = '\n';
        big[1026] = 0;
        send_str(fd, big);
        pump_lines(l, fd, 2, buf, sizeof buf, &eof);
        cr_assert_str_eq(buf, "{\"ok\":false," V ",\"error\":\"request too long (over 1024 bytes)\",\"code\":\"too_large\"}\n");
        cr_assert(eof);
        close(fd);
        stop(l, c);
}

Test(control, nine_clients) {
        struct loop *l;
        struct control *c = start(&l, NULL);
        int fd[CONTROL_MAX_CLIENTS + 1];
        char buf[512];
        bool eof;

        for (size_t i = 0; i < ELEMENTSOF(fd); i++) {
                fd[i] = connect_to(sock_path);
                /* One at a time, so the order of accept is known. */
                for (int k = 0; k < 5; k++)
                        loop_run_once(l, 5);
        }
        cr_assert_eq(control_n_clients(c), CONTROL_MAX_CLIENTS);
        pump_lines(l, fd[CONTROL_MAX_CLIENTS], 2, buf, sizeof buf, &eof);
        cr_assert_str_eq(buf, "{\"ok\":false," V ",\"error\":\"busy: too many control clients at once, try again\","
                              "\"code\":\"busy\"}\n");
        cr_assert(eof);
        cr_assert_eq(control_get_stats(c)->busy, 1);
        for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
                ask(l, fd[i], "{\"cmd\":\"reload\"}\n", "{\"ok\":true," V "}\n");
        /* One leaves: a new one is taken. */
        close(fd[0]);
        close(fd[CONTROL_MAX_CLIENTS]);
        for (int k = 0; k < 5; k++)
                loop_run_once(l, 5);
        fd[0] = connect_to(sock_path);
        ask(l, fd[0], "{\"cmd\":\"reload\"}\n", "{\"ok\":true," V "}\n");
        cr_assert_eq(control_n_clients(c), CONTROL_MAX_CLIENTS);
        for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
                close(fd[i]);
        stop(l, c);
}

Test(control, client_that_never_reads) {
        struct control_options o;
        struct loop *l;
        struct control *c;
        struct punctual p;
        char req[20 * 20];
        int fd, other;

        control_options_init(&o);
        o.idle_usec = 500000;
        big_services = 11000; /* about 950 KB: more than the socket buffers take */
        c = start(&l, &o);
        fd = connect_to(sock_path);
        req[0] = 0;
        for (int i = 0; i < 20; i++)
                strcat(req, "{\"cmd\":\"status\"}\n");
        send_str(fd, req);
        punctual_arm(l, &p, 150000);
        punctual_check(l, &p);
        cr_assert_eq(control_get_stats(c)->requests, 1, "one response at a time: the next waits for the reader");
        /* Others are served meanwhile. */
        other = connect_to(sock_path);
        ask(l, other, "{\"cmd\":\"reload\"}\n", "{\"ok\":true," V "}\n");
        close(other);
        for (uint64_t end = now_usec() + 1000000; control_n_clients(c) > 0 && now_usec() < end;)
                loop_run_once(l, 20);
        cr_assert_eq(control_n_clients(c), 0, "closed at the idle timeout");
        cr_assert_eq(control_get_stats(c)->closed_idle, 1);
        cr_assert_eq(control_get_stats(c)->requests, 2);
        close(fd);
        stop(l, c);
}

Test(control, response_too_large) {
        struct control_options o;
        struct loop *l;
        struct control *c;
        int fd;

        control_options_init(&o);
        o.max_response_bytes = 4096;
        big_services = 1000;
        c = start(&l, &o);
        fd = connect_to(sock_path);
        ask(l, fd, "{\"cmd\":\"status\"}\n",
            "{\"ok\":false," V ",\"error\":\"response too large (over 4096 bytes)\",\"code\":\"too_large\"}\n");
        ask(l, fd, "{\"cmd\":\"status\",\"name\":\"db\"}\n",
            "{\"ok\":true," V ",\"services\":[{\"name\":\"db\",\"state\":\"backoff\",\"pid\":null}]}\n");
        close(fd);
        stop(l, c);
}

Test(control, budget_per_wakeup) {
        struct loop *l;
        struct control *c = start(&l, NULL);
        static char req[100 * 20 + 1], buf[100 * 64];
        int fd = connect_to(sock_path);
        size_t n;
        int lines = 0;

        for (int i = 0; i < 100; i++)
                strcat(req, "{\"cmd\":\"reload\"}\n");
        send_str(fd, req);
        n_commands = 0;
        /* The accept, then one read: at most CONTROL_BUDGET handled. */
        for (int k = 0; k < 3 && n_commands == 0; k++)
                loop_run_once(l, 50);
        cr_assert_eq(n_commands, CONTROL_BUDGET);
        n = pump_lines(l, fd, 100, buf, sizeof buf, NULL);
        for (size_t i = 0; i < n; i++)
                lines += buf[i] == '\n';
        cr_assert_eq(lines, 100);
        cr_assert_eq(n_commands, 100);
        close(fd);
        stop(l, c);
}
