/* Unit tests for src/notify.c: the sd_notify parser on valid and invalid
 * datagrams, and the socket on a real loop: kernel credentials of a
 * forked sender (and of another uid), SCM_RIGHTS fds closed, oversized
 * datagrams counted, a flood that does not starve a timer, the abstract
 * and path forms, and the "may this pid speak" helpers. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gorral/loop.h"
#include "gorral/notify.h"
#include "gorral/util.h"

#define PARSE(lit, m) cr_assert_eq(notify_parse(lit, sizeof(lit) - 1, (m)), 0)

static bool field_eq(const char *p, size_t n, const char *lit) {
        return p && strlen(lit) == n && memcmp(p, lit, n) == 0;
}

Test(notify_parse, typical_service_messages) {
        struct notify_message m;

        PARSE("READY=1\nSTATUS=Listening on :8080\nMAINPID=4242\n", &m);
        cr_assert_eq(m.fields, NOTIFY_READY | NOTIFY_STATUS | NOTIFY_MAINPID);
        cr_assert(field_eq(m.status, m.status_len, "Listening on :8080"));
        cr_assert_eq(m.main_pid, 4242);
        cr_assert_eq(m.n_lines, 3);
        cr_assert_eq(m.n_malformed, 0);
        cr_assert_eq(m.n_unknown, 0);

        PARSE("WATCHDOG=1", &m);
        cr_assert_eq(m.fields, NOTIFY_WATCHDOG);
        PARSE("WATCHDOG=trigger\nWATCHDOG_USEC=30000000\nEXTEND_TIMEOUT_USEC=5000000\nERRNO=2", &m);
        cr_assert_eq(m.fields, NOTIFY_WATCHDOG_TRIGGER | NOTIFY_WATCHDOG_USEC | NOTIFY_EXTEND_TIMEOUT | NOTIFY_ERRNO);
        cr_assert_eq(m.watchdog_usec, 30000000);
        cr_assert_eq(m.extend_timeout_usec, 5000000);
        cr_assert_eq(m.errno_value, 2);
        PARSE("RELOADING=1\nMONOTONIC_USEC=123456789\n", &m);
        cr_assert_eq(m.fields, NOTIFY_RELOADING | NOTIFY_MONOTONIC_USEC);
        cr_assert_eq(m.monotonic_usec, 123456789);
        PARSE("STOPPING=1\nBARRIER=1", &m);
        cr_assert_eq(m.fields, NOTIFY_STOPPING | NOTIFY_BARRIER);
        PARSE("WATCHDOG_USEC=0", &m);
        cr_assert_eq(m.fields, NOTIFY_WATCHDOG_USEC, "0 is valid: the watchdog is off");
        cr_assert_eq(m.watchdog_usec, 0);
}

Test(notify_parse, status_text) {
        struct notify_message m;

        PARSE("STATUS=", &m);
        cr_assert_eq(m.fields, NOTIFY_STATUS, "an empty STATUS= clears the text");
        cr_assert_eq(m.status_len, 0);
        PARSE("STATUS=a=b=c", &m);
        cr_assert(field_eq(m.status, m.status_len, "a=b=c"), "only the first '=' splits");
        PARSE("STATUS=d\xc3\xa9j\xc3\xa0 \xe2\x9c\x93 \xf0\x9f\x9a\x80", &m);
        cr_assert_eq(m.fields, NOTIFY_STATUS, "UTF-8 text is fine");
        PARSE("STATUS=first\nSTATUS=second", &m);
        cr_assert(field_eq(m.status, m.status_len, "first"), "the first wins, as in systemd");
        PARSE("MAINPID=10\nMAINPID=20", &m);
        cr_assert_eq(m.main_pid, 10);
}

Test(notify_parse, empty_and_blank) {
        struct notify_message m;

        cr_assert_eq(notify_parse(NULL, 0, &m), 0);
        cr_assert_eq(m.fields, 0);
        cr_assert_eq(m.n_lines, 0);
        PARSE("\n\n\n", &m);
        cr_assert_eq(m.n_lines, 0);
        cr_assert_eq(m.n_malformed, 0);
        PARSE("\nREADY=1\n\n", &m);
        cr_assert_eq(m.fields, NOTIFY_READY);
        cr_assert_eq(m.n_lines, 1);
}

Test(notify_parse, unknown_keys_are_counted_and_ignored) {
        struct notify_message m;

        PARSE("FDSTORE=1\nREADY=1\nFDNAME=sock\nX_MY_APP=7", &m);
        cr_assert_eq(m.fields, NOTIFY_READY);
        cr_assert_eq(m.n_unknown, 3);
        cr_assert(field_eq(m.first_unknown, m.first_unknown_len, "FDSTORE"));
        cr_assert_eq(m.n_malformed, 0);
        PARSE("ready=1", &m);
        cr_assert_eq(m.fields, 0, "keys are case-sensitive");
        cr_assert_eq(m.n_unknown, 1);
}

struct bad_case {
        const char *buf;
        size_t len;
        unsigned line, column;
        const char *reason;
};

Test(notify_parse, malformed_lines_are_reported_never_fatal) {
        static const struct bad_case cases[] = {
                { "READY=0", 7, 1, 7, "bad value (want 1)" },
                { "READY=1 ", 8, 1, 7, "bad value (want 1)" },
                { "READY=1\r", 8, 1, 7, "bad value (want 1)" },
                { "READY", 5, 1, 1, "no '='" },
                { "=1", 2, 1, 1, "empty key" },
                { "BAD-KEY=1", 9, 1, 4, "bad character in key" },
                { " READY=1", 8, 1, 1, "bad character in key" },
                { "STATUS=ok\nWATCHDOG=2", 20, 2, 10, "bad value (want 1 or trigger)" },
                { "MAINPID=0", 9, 1, 9, "pid out of range" },
                { "MAINPID=-5", 10, 1, 9, "not a number" },
                { "MAINPID=2147483648", 18, 1, 9, "pid out of range" },
                { "MAINPID=", 8, 1, 9, "not a number" },
                { "WATCHDOG_USEC=99999999999999999999", 34, 1, 15, "number out of range" },
                { "WATCHDOG_USEC=1s", 16, 1, 15, "not a number" },
                { "ERRNO=2147483648", 16, 1, 7, "number out of range" },
                { "STATUS=ab\xff", 10, 1, 10, "invalid UTF-8" },
                { "STATUS=\xc0\xaf", 9, 1, 8, "invalid UTF-8" },          /* overlong '/' */
                { "STATUS=\xed\xa0\x80", 10, 1, 8, "invalid UTF-8" },     /* a surrogate */
                { "STATUS=\xf4\x90\x80\x80", 11, 1, 8, "invalid UTF-8" }, /* > U+10FFFF */
                { "STATUS=\xe2\x9c", 9, 1, 8, "invalid UTF-8" },          /* cut short */
                { "\n\nREADY=1\0x", 11, 3, 8, "NUL byte" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct notify_message m;

                cr_assert_eq(notify_parse(cases[i].buf, cases[i].len, &m), 0, "case %zu", i);
                cr_assert_eq(m.n_malformed, 1, "case %zu", i);
                cr_assert_eq(m.first_error.line, cases[i].line, "case %zu: line %u", i, m.first_error.line);
                cr_assert_eq(m.first_error.column, cases[i].column, "case %zu: column %u", i, m.first_error.column);
                cr_assert_str_eq(m.first_error.reason, cases[i].reason, "case %zu", i);
                cr_assert_eq(m.fields & ~NOTIFY_STATUS, 0, "case %zu: nothing of the bad line is taken", i);
        }
}

Test(notify_parse, good_lines_survive_bad_ones) {
        struct notify_message m;

        PARSE("garbage\nREADY=1\nMAINPID=x\nSTATUS=up\n=\n", &m);
        cr_assert_eq(m.fields, NOTIFY_READY | NOTIFY_STATUS);
        cr_assert_eq(m.n_malformed, 3);
        cr_assert_eq(m.first_error.line, 1);
        cr_assert_eq(m.n_lines, 5);
        /* A bad first STATUS= does not block a good second one. */
        PARSE("STATUS=\xff\nSTATUS=ok", &m);
        cr_assert(field_eq(m.status, m.status_len, "ok"));
}

Test(notify_parse, bounds_and_arguments) {
        static char big[NOTIFY_DATAGRAM_MAX + 1];
        struct notify_message m;

        memset(big, 'x', sizeof big);
        memcpy(big, "STATUS=", 7);
        cr_assert_eq(notify_parse(big, sizeof big, &m), -EMSGSIZE);
        cr_assert_eq(notify_parse(big, NOTIFY_DATAGRAM_MAX, &m), 0);
        cr_assert_eq(m.status_len, NOTIFY_DATAGRAM_MAX - 7);
        cr_assert_eq(notify_parse(NULL, 3, &m), -EINVAL);
        cr_assert_eq(notify_parse("READY=1", 7, NULL), -EINVAL);
}

Test(notify_socket, address_for_a_service) {
        char buf[NOTIFY_ADDRESS_MAX + 1], name[200];

        cr_assert_eq(notify_socket_address(buf, sizeof buf, 812, "api"), 0);
        cr_assert_str_eq(buf, "@gorral/812/api");
        cr_assert_eq(notify_socket_address(buf, sizeof buf, 812, "a/b"), -EINVAL);
        cr_assert_eq(notify_socket_address(buf, sizeof buf, 812, ""), -EINVAL);
        memset(name, 'n', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        cr_assert_eq(notify_socket_address(buf, sizeof buf, 812, name), -ENAMETOOLONG);
        cr_assert_eq(notify_socket_address(buf, 8, 812, "api"), -ENAMETOOLONG);
}

/* ---- on a real loop ---- */

struct got {
        int calls;
        struct notify_peer peer;
        unsigned fields;
        char status[64];
        int max_per_iter, this_iter;
        bool free_in_cb;
        struct notify_socket **sp;
};

static void on_msg(struct notify_socket *s, const struct notify_peer *peer, const struct notify_message *msg,
                   void *userdata) {
        struct got *g = userdata;
        size_t n = msg->status_len < sizeof g->status - 1 ? msg->status_len : sizeof g->status - 1;

        g->calls++;
        g->this_iter++;
        g->peer = *peer;
        g->fields = msg->fields;
        memcpy(g->status, msg->status ? msg->status : "", msg->status ? n : 0);
        g->status[msg->status ? n : 0] = '\0';
        if (g->free_in_cb) {
                cr_assert_eq(*g->sp, s);
                *g->sp = notify_socket_free(s);
        }
}

/* Send buf to a NOTIFY_SOCKET-style address, optionally with one fd. */
static int send_to(const char *address, const void *buf, size_t n, int pass_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t al = strlen(address);
        socklen_t sl;
        union {
                struct cmsghdr align;
                char b[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = { .iov_base = (void *)buf, .iov_len = n };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        int fd, r;

        memcpy(sa.sun_path, address, al);
        if (address[0] == '@') {
                sa.sun_path[0] = '\0';
                sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + al);
        } else
                sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + al + 1);
        mh.msg_name = &sa;
        mh.msg_namelen = sl;
        if (pass_fd >= 0) {
                struct cmsghdr *c;

                memset(&control, 0, sizeof control);
                mh.msg_control = &control;
                mh.msg_controllen = sizeof control.b;
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &pass_fd, sizeof pass_fd);
        }
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        r = sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
        close(fd);
        return r;
}

static void run_until(struct loop *l, const int *calls, int want) {
        for (int i = 0; i < 200 && *calls < want; i++)
                cr_assert_geq(loop_run_once(l, 10), 0);
}

static char test_address[NOTIFY_ADDRESS_MAX + 1];
static const char *unique_address(const char *tag) {
        snprintf(test_address, sizeof test_address, "@gorral-test/%d/%s", (int)getpid(), tag);
        return test_address;
}

Test(notify_socket, credentials_of_a_forked_sender) {
        struct loop *l;
        struct notify_socket *s;
        struct got g = { 0 };
        char env[160], want[160];
        const char *addr = unique_address("creds");
        pid_t pid;
        int st;

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(notify_socket_new(l, addr, on_msg, &g, &s), 0);
        cr_assert_str_eq(notify_socket_get_address(s), addr);
        snprintf(want, sizeof want, "NOTIFY_SOCKET=%s", addr);
        cr_assert_eq(notify_socket_env(s, env, sizeof env), 0);
        cr_assert_str_eq(env, want);
        cr_assert_eq(notify_socket_env(s, env, 10), -ENOBUFS);
        cr_assert_eq(notify_socket_new(l, addr, on_msg, &g, &(struct notify_socket *){ NULL }), -EADDRINUSE);

        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0)
                _exit(send_to(addr, "READY=1\nSTATUS=up", 17, -1) < 0);
        run_until(l, &g.calls, 1);
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        cr_assert_eq(g.calls, 1);
        cr_assert_eq(g.peer.pid, pid, "the kernel's pid of the sender: %d, want %d", (int)g.peer.pid, (int)pid);
        cr_assert_eq(g.peer.uid, getuid());
        cr_assert_eq(g.fields, NOTIFY_READY | NOTIFY_STATUS);
        cr_assert_str_eq(g.status, "up");
        cr_assert_eq(notify_socket_stats(s)->received, 1);
        notify_socket_free(s);
        cr_assert_eq(loop_n_watches(l), 0);
        loop_free(l);
}

Test(notify_socket, credentials_of_another_uid) {
        struct loop *l;
        struct notify_socket *s;
        struct got g = { 0 };
        const char *addr = unique_address("uid");
        pid_t pid;
        int st;

        if (geteuid() != 0)
                cr_skip_test("needs root to change uid");
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(notify_socket_new(l, addr, on_msg, &g, &s), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                /* An abstract socket has no file mode: any uid reaches it. */
                if (setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(3);
                _exit(send_to(addr, "WATCHDOG=1", 10, -1) < 0);
        }
        run_until(l, &g.calls, 1);
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
        cr_assert_eq(g.peer.pid, pid);
        cr_assert_eq(g.peer.uid, 65534);
        cr_assert_eq(g.peer.gid, 65534);
        cr_assert_eq(g.fields, NOTIFY_WATCHDOG);
        notify_socket_free(s);
        loop_free(l);
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        cr_assert(d);
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n - 1; /* the directory's own fd */
}

Test(notify_socket, passed_fds_are_closed_not_leaked) {
        struct loop *l;
        struct notify_socket *s;
        struct got g = { 0 };
        const char *addr = unique_address("fds");
        int p[2], before;
        char c;

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(notify_socket_new(l, addr, on_msg, &g, &s), 0);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        before = count_fds();
        /* What sd_notify_barrier(3) does: pass a pipe's write end, close
         * ours, wait for EOF on the read end. */
        cr_assert_eq(send_to(addr, "BARRIER=1", 9, p[1]), 0);
        close(p[1]);
        run_until(l, &g.calls, 1);
        cr_assert_eq(g.fields, NOTIFY_BARRIER);
        cr_assert_eq(notify_socket_stats(s)->fds_closed, 1);
        cr_assert_eq(read(p[0], &c, 1), 0, "EOF: the received copy of the write end was closed");
        cr_assert_eq(count_fds(), before - 1, "only our own write end is gone");
        close(p[0]);
        notify_socket_free(s);
        loop_free(l);
}

Test(notify_socket, oversized_datagrams_are_counted_and_dropped) {
        static char big[NOTIFY_DATAGRAM_MAX + 100];
        struct loop *l;
        struct notify_socket *s;
        struct got g = { 0 };
        const char *addr = unique_address("big");

        memset(big, 'x', sizeof big);
        memcpy(big, "STATUS=", 7);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(notify_socket_new(l, addr, on_msg, &g, &s), 0);
        cr_assert_eq(send_to(addr, big, sizeof big, -1), 0);
        cr_assert_eq(send_to(addr, big, NOTIFY_DATAGRAM_MAX, -1), 0);
        cr_assert_eq(send_to(addr, "READY=1", 7, -1), 0);
        cr_assert_eq(notify_socket_process(s, 10), 3);
        cr_assert_eq(notify_socket_stats(s)->truncated, 1);
        cr_assert_eq(notify_socket_stats(s)->received, 2, "exactly the cap still fits");
        cr_assert_eq(g.calls, 2);
        cr_assert_eq(g.fields, NOTIFY_READY);
        cr_assert_eq(notify_socket_process(s, 10), 0, "nothing left");
        notify_socket_free(s);
        loop_free(l);
}

Test(notify_socket, malformed_lines_are_counted) {
        struct loop *l;
        struct notify_socket *s;
        struct got g = { 0 };
        const char *addr = unique_address("bad");

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(notify_socket_new(l, addr, on_msg, &g, &s), 0);
        cr_assert_eq(send_to(addr, "junk\nREADY=2\nSTATUS=still here", 30, -1), 0);
        cr_assert_eq(notify_socket_process(s, 10), 1);
        cr_assert_eq(g.calls, 1, "a datagram with bad lines is still delivered");
        cr_assert_eq(g.fields, NOTIFY_STATUS);
        cr_assert_eq(notify_socket_stats(s)->malformed_lines, 2);
        notify_socket_free(s);
        loop_free(l);
}

Test(notify_socket, a_callback_may_free_the_socket) {
        struct loop *l;
        struct notify_socket *s;
        struct got g = { .free_in_cb = true, .sp = &s };
        const char *addr = unique_address("free");

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(notify_socket_new(l, addr, on_msg, &g, &s), 0);
        cr_assert_eq(send_to(addr, "READY=1", 7, -1), 0);
        cr_assert_eq(send_to(addr, "READY=1", 7, -1), 0);
        cr_assert_gt(loop_run_once(l, 100), 0);
        cr_assert_eq(g.calls, 1, "no read after the free");
        cr_assert_null(s);
        cr_assert_eq(loop_n_watches(l), 0);
        cr_assert_eq(loop_run_once(l, 20), 0);
        loop_free(l);
}

static void on_tick(struct loop *l, void *userdata) {
        (void)l;
        *(bool *)userdata = true;
}

Test(notify_socket, a_live_flood_does_not_starve_a_timer) {
        struct loop *l;
        struct notify_socket *s;
        struct loop_timer t;
        struct got g = { 0 };
        bool fired = false;
        const char *addr = unique_address("flood");
        pid_t pid;
        int iters = 0;

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(notify_socket_new(l, addr, on_msg, &g, &s), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                /* Blocking sends: as fast as the receiver drains. */
                for (;;)
                        if (send_to(addr, "WATCHDOG=1", 10, -1) < 0)
                                _exit(1);
        }
        /* Let the queue fill before the timer is armed. */
        usleep(50000);
        loop_timer_init(&t, on_tick, &fired);
        cr_assert_eq(loop_timer_arm_in(l, &t, 20000), 0);
        while (!fired && iters < 100000) {
                g.this_iter = 0;
                cr_assert_geq(loop_run_once(l, 1000), 0);
                if (g.this_iter > g.max_per_iter)
                        g.max_per_iter = g.this_iter;
                iters++;
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cr_assert(fired, "the timer fired while datagrams kept coming");
        cr_assert_gt(g.calls, NOTIFY_READS_PER_WAKEUP, "a real flood: %d datagrams", g.calls);
        cr_log_info("flood: %d datagrams in %d iterations, at most %d per wakeup", g.calls, iters, g.max_per_iter);
        cr_assert_leq(g.max_per_iter, NOTIFY_READS_PER_WAKEUP, "at most %d per wakeup, saw %d",
                      NOTIFY_READS_PER_WAKEUP, g.max_per_iter);
        notify_socket_free(s);
        loop_free(l);
}

/* The kernel queues at most net.unix.max_dgram_qlen datagrams (10 by
 * default) per receiving socket, so a real sender refills it about as
 * fast as it is read. To see the per-wakeup bound itself, raise the limit
 * in a network namespace of our own (the host's setting is untouched),
 * queue far more than one wakeup reads, and have a timer already due. */
Test(notify_socket, a_full_queue_yields_to_a_due_timer) {
        struct loop *l;
        struct notify_socket *s;
        struct loop_timer t;
        struct got g = { 0 };
        bool fired = false;
        const char *addr = unique_address("queue");
        int fd, queued = 0, iters = 0;
        FILE *f;

        if (unshare(CLONE_NEWNET) < 0)
                cr_skip_test("cannot unshare a network namespace (%s): the bound is not observable", strerror(errno));
        f = fopen("/proc/sys/net/unix/max_dgram_qlen", "we");
        cr_assert_not_null(f);
        fprintf(f, "1000\n");
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(notify_socket_new(l, addr, on_msg, &g, &s), 0);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        cr_assert_geq(fd, 0);
        {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(addr));

                memcpy(sa.sun_path + 1, addr + 1, strlen(addr) - 1);
                while (queued < 500 && sendto(fd, "WATCHDOG=1", 10, MSG_DONTWAIT, (struct sockaddr *)&sa, sl) == 10)
                        queued++;
        }
        close(fd);
        cr_assert_gt(queued, 4 * NOTIFY_READS_PER_WAKEUP, "queued only %d", queued);
        loop_timer_init(&t, on_tick, &fired);
        cr_assert_eq(loop_timer_arm(l, &t, 0), 0);
        while (!fired && iters < 3) {
                cr_assert_geq(loop_run_once(l, 1000), 0);
                iters++;
        }
        cr_assert(fired, "the due timer ran within %d wakeups", iters);
        cr_assert_leq(g.calls, iters * NOTIFY_READS_PER_WAKEUP, "%d datagrams read in %d wakeups", g.calls, iters);
        cr_assert_lt(g.calls, queued, "datagrams were still pending when the timer ran");
        {
                int before = g.calls, rest = notify_socket_process(s, 100000);

                cr_assert_eq(rest, queued - before, "the rest are still there: %d, want %d - %d", rest, queued, before);
        }
        notify_socket_free(s);
        loop_free(l);
}

Test(notify_socket, path_socket) {
        struct loop *l;
        struct notify_socket *s, *s2;
        struct got g = { 0 };
        char dir[] = "/tmp/gorral-notify-XXXXXX", path[128], env[160];
        struct stat st;
        int fd;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/svc.notify", dir);
        cr_assert_eq(loop_new(&l), 0);

        /* A stale socket file (its owner died) is replaced. */
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, path);
        cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        close(fd);
        cr_assert_eq(notify_socket_new(l, path, on_msg, &g, &s), 0);
        cr_assert_eq(stat(path, &st), 0);
        cr_assert(S_ISSOCK(st.st_mode));
        cr_assert_eq(st.st_mode & 0777, 0666);
        cr_assert_eq(notify_socket_env(s, env, sizeof env), 0);
        cr_assert_eq(strncmp(env, "NOTIFY_SOCKET=/", 15), 0);
        /* A live one is not. */
        cr_assert_eq(notify_socket_new(l, path, on_msg, &g, &s2), -EADDRINUSE);
        cr_assert_eq(send_to(path, "READY=1", 7, -1), 0);
        run_until(l, &g.calls, 1);
        cr_assert_eq(g.peer.pid, getpid());
        notify_socket_free(s);
        cr_assert_eq(stat(path, &st), -1, "unlinked on free");

        /* Never another kind of file. */
        fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        close(fd);
        cr_assert_eq(notify_socket_new(l, path, on_msg, &g, &s), -EADDRINUSE);
        cr_assert_eq(stat(path, &st), 0, "the regular file is left alone");
        unlink(path);
        rmdir(dir);
        loop_free(l);
}

Test(notify_socket, bad_addresses) {
        struct loop *l;
        struct notify_socket *s;
        struct got g = { 0 };
        char longname[200];

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(notify_socket_new(l, "relative/path", on_msg, &g, &s), -EINVAL);
        cr_assert_eq(notify_socket_new(l, "@", on_msg, &g, &s), -EINVAL);
        cr_assert_eq(notify_socket_new(l, "", on_msg, &g, &s), -EINVAL);
        memset(longname, 'a', sizeof longname - 1);
        longname[0] = '@';
        longname[sizeof longname - 1] = '\0';
        cr_assert_eq(notify_socket_new(l, longname, on_msg, &g, &s), -ENAMETOOLONG);
        cr_assert_eq(loop_n_watches(l), 0);
        loop_free(l);
}

/* systemd's own client (libsystemd's sd_notify inside systemd-notify):
 * it sends READY=1 and STATUS= with its parent's pid in the credentials
 * (root may claim another pid), then waits on a barrier, which only our
 * closing of the fd it passed releases. */
Test(notify_socket, systemd_notify_as_a_real_client) {
        struct loop *l;
        struct notify_socket *s;
        struct got g = { 0 };
        const char *addr = unique_address("systemd-notify");
        char env[160];
        pid_t pid;
        int st = 0, done = 0;

        if (access("/usr/bin/systemd-notify", X_OK) < 0)
                cr_skip_test("no /usr/bin/systemd-notify");
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(notify_socket_new(l, addr, on_msg, &g, &s), 0);
        cr_assert_eq(notify_socket_env(s, env, sizeof env), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                char *const argv[] = { (char *)"systemd-notify", (char *)"--ready", (char *)"--status=warm", NULL };
                char *const envp[] = { env, NULL };

                execve("/usr/bin/systemd-notify", argv, envp);
                _exit(127);
        }
        for (int i = 0; i < 500 && !done; i++) {
                cr_assert_geq(loop_run_once(l, 10), 0);
                if (g.calls == 1) {
                        cr_assert_eq(g.fields, NOTIFY_READY | NOTIFY_STATUS);
                        cr_assert_str_eq(g.status, "warm");
                        cr_assert(g.peer.pid == getpid() || g.peer.pid == pid, "pid %d", (int)g.peer.pid);
                }
                done = waitpid(pid, &st, WNOHANG) == pid;
        }
        cr_assert(done, "systemd-notify returned (its barrier was released)");
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
        cr_assert_geq(g.calls, 1);
        cr_log_info("systemd-notify: %d datagrams, %llu fds closed, last from pid %d (we are %d, it was %d)",
                    g.calls, (unsigned long long)notify_socket_stats(s)->fds_closed, (int)g.peer.pid,
                    (int)getpid(), (int)pid);
        notify_socket_free(s);
        loop_free(l);
}

Test(notify_send, to_our_own_socket) {
        struct loop *l;
        struct notify_socket *s;
        struct got g = { 0 };
        const char *addr = unique_address("send");
        char dir[] = "/tmp/gorral-send-XXXXXX", path[128];

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(notify_socket_new(l, addr, on_msg, &g, &s), 0);
        cr_assert_eq(notify_send(addr, "READY=1\nSTATUS=all 3 services ready", 35), 0);
        run_until(l, &g.calls, 1);
        cr_assert_eq(g.fields, NOTIFY_READY | NOTIFY_STATUS);
        cr_assert_str_eq(g.status, "all 3 services ready");
        cr_assert_eq(g.peer.pid, getpid());
        notify_socket_free(s);
        cr_assert_eq(notify_send(addr, "WATCHDOG=1", 10), -ECONNREFUSED, "nobody listens any more");

        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/n.sock", dir);
        cr_assert_eq(notify_socket_new(l, path, on_msg, &g, &s), 0);
        cr_assert_eq(notify_send(path, "WATCHDOG=1", 10), 0);
        run_until(l, &g.calls, 2);
        cr_assert_eq(g.fields, NOTIFY_WATCHDOG);
        notify_socket_free(s);
        cr_assert_eq(notify_send(path, "WATCHDOG=1", 10), -ENOENT);
        rmdir(dir);
        cr_assert_eq(notify_send("relative", "x", 1), -EINVAL);
        cr_assert_eq(notify_send(addr, "x", NOTIFY_DATAGRAM_MAX + 1), -EMSGSIZE);
        loop_free(l);
}

/* ---- who may speak ---- */

Test(notify_peer, pid_in_pgid) {
        pid_t pid;
        int p[2];
        char c;

        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                setpgid(0, 0);
                close(p[1]);
                (void)!read(p[0], &c, 1);
                _exit(0);
        }
        setpgid(pid, pid); /* both sides: no race on who runs first */
        cr_assert_eq(notify_pid_in_pgid(pid, pid), 1);
        cr_assert_eq(notify_pid_in_pgid(pid, getpgrp()), 0);
        cr_assert_eq(notify_pid_in_pgid(getpid(), getpgrp()), 1);
        close(p[1]);
        waitpid(pid, NULL, 0);
        cr_assert_eq(notify_pid_in_pgid(pid, pid), -ESRCH);
        cr_assert_eq(notify_pid_in_pgid(0, pid), -EINVAL);
        close(p[0]);
}

Test(notify_peer, pid_in_cgroup_fixture) {
        const char *root = FIXTURES "/notify/sysroot";

        /* v2 line */
        cr_assert_eq(notify_pid_in_cgroup(root, 4242, "", "/gorral.slice/api"), 1);
        cr_assert_eq(notify_pid_in_cgroup(root, 4242, "", "/gorral.slice"), 1, "below counts");
        cr_assert_eq(notify_pid_in_cgroup(root, 4242, "", "/gorral.slice/ap"), 0, "component boundary");
        cr_assert_eq(notify_pid_in_cgroup(root, 4242, "", "/gorral.slice/api/worker"), 0);
        /* v1 lines */
        cr_assert_eq(notify_pid_in_cgroup(root, 4242, "memory", "/gorral/api"), 1);
        cr_assert_eq(notify_pid_in_cgroup(root, 4242, "cpuacct", "/gorral/api"), 1, "a joint mount");
        cr_assert_eq(notify_pid_in_cgroup(root, 4242, "pids", "/gorral/api"), 0);
        cr_assert_eq(notify_pid_in_cgroup(root, 4242, "name=systemd", "/system.slice/gorral.service"), 1);
        cr_assert_eq(notify_pid_in_cgroup(root, 4242, "freezer", "/"), 0, "no such hierarchy line");
        cr_assert_eq(notify_pid_in_cgroup(root, 999999, "", "/"), -ESRCH);
        cr_assert_eq(notify_pid_in_cgroup(root, 4242, "", "relative"), -EINVAL);
}

Test(notify_peer, pid_in_cgroup_live) {
        char *buf = NULL;
        size_t n;
        char path[64];

        /* Our own membership, read the same way, must match itself. */
        snprintf(path, sizeof path, "/proc/%d/cgroup", (int)getpid());
        cr_assert_eq(read_file(path, 65536, &buf, &n), 0);
        if (!strstr(buf, "\n0::") && strncmp(buf, "0::", 3) != 0) {
                free(buf);
                cr_skip_test("no cgroup2 line in /proc/self/cgroup");
        }
        free(buf);
        cr_assert_eq(notify_pid_in_cgroup(NULL, getpid(), "", "/"), 1);
}
