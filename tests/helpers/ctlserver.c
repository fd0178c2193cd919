/* ctlserver: the real control server (src/control.c) on a real loop with
 * fake services, for the client tests of tests/integration/test_control.sh.
 *   ctlserver SOCKET LOG
 * Prints "ready" once listening. Each command it receives is appended to
 * LOG as "cmd name arg". A 20 ms ticker measures how late the loop runs
 * its timers; on SIGTERM it writes "max_late_us=N" to LOG and exits 0.
 * Built by the test with src/control.c json.c loop.c log.c util.c. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

#include "gorral/control.h"
#include "gorral/json.h"
#include "gorral/loop.h"
#include "gorral/util.h"

#define TICK_USEC 20000

static FILE *log_f;
static struct loop_timer tick;
static uint64_t due, max_late;

static void service(struct json_writer *w, const char *name, const char *state, int64_t pid) {
        json_begin_object(w);
        json_member_string(w, "name", name);
        json_member_string(w, "state", state);
        if (pid > 0)
                json_member_int(w, "pid", pid);
        else
                json_member_null(w, "pid");
        json_member_int(w, "restarts", pid > 0 ? 1 : 4);
        if (pid > 0)
                json_member_int(w, "last_exit", 2);
        else
                json_member_null(w, "last_exit");
        json_member_int(w, "uptime_seconds", pid > 0 ? 3723 : 0);
        /* One in a cgroup of gorral's, one in a transient scope (its
         * cgroup is null: the table shows the scope). */
        json_member_string(w, "cgroup_mode", pid > 0 ? "own" : "scope");
        json_member_string(w, "cgroup", pid > 0 ? "/gorral/api" : NULL);
        json_member_string(w, "scope", pid > 0 ? NULL : "gorral-db-7.scope");
        json_member_int(w, "gomaxprocs", 2);
        if (pid > 0)
                json_member_int(w, "gomemlimit", 536870912);
        else
                json_member_null(w, "gomemlimit");
        if (pid > 0) {
                /* A watched service's latest sample (reals, as gorral writes them). */
                json_key(w, "sample");
                json_begin_object(w);
                json_key(w, "threads");
                json_real(w, 14);
                json_key(w, "goroutines");
                json_real(w, 1056);
                json_key(w, "rss_bytes");
                json_real(w, 18272256);
                json_key(w, "cpu_throttled_periods");
                json_real(w, 37);
                json_end_object(w);
                /* Its active findings (gorral's findings array). */
                json_key(w, "findings");
                json_begin_array(w);
                json_begin_object(w);
                json_member_string(w, "detector", "leak");
                json_member_string(w, "metric", "goroutines");
                json_end_object(w);
                json_begin_object(w);
                json_member_string(w, "detector", "throttling");
                json_member_string(w, "metric", "cpu_throttled_periods");
                json_end_object(w);
                json_end_array(w);
        }
        json_end_object(w);
}

static int fake_status(void *ud, const char *name, struct json_writer *w) {
        (void)ud;
        if (name && strcmp(name, "api") != 0 && strcmp(name, "db\x1b[2J") != 0)
                return -ENOENT;
        json_begin_array(w);
        if (!name || strcmp(name, "api") == 0)
                service(w, "api", "running", 4242);
        if (!name || strcmp(name, "db\x1b[2J") == 0)
                service(w, "db\x1b[2J", "backoff", 0);
        json_end_array(w);
        return 0;
}

static int fake_command(void *ud, const char *cmd, const char *name, const char *arg, char *err, size_t err_size) {
        (void)ud;
        fprintf(log_f, "%s %s %s\n", cmd, name ? name : "-", arg ? arg : "-");
        fflush(log_f);
        if (name && strcmp(name, "api") != 0) {
                snprintf(err, err_size, "no service '%s'", name);
                return -ENOENT;
        }
        return 0;
}

static void on_tick(struct loop *l, void *ud) {
        uint64_t now = now_usec();

        (void)ud;
        if (now - due > max_late)
                max_late = now - due;
        due = now + TICK_USEC;
        loop_timer_arm(l, &tick, due);
}

static void on_signal(struct loop *l, const struct signalfd_siginfo *si, void *ud) {
        (void)si;
        (void)ud;
        loop_quit(l, 0);
}

int main(int argc, char **argv) {
        static const struct control_ops ops = { fake_status, fake_command };
        struct loop *l;
        struct control *c;
        sigset_t m;
        int r;

        if (argc != 3 || !(log_f = fopen(argv[2], "ae")))
                return 2;
        if (loop_new(&l) < 0)
                return 1;
        sigemptyset(&m);
        sigaddset(&m, SIGTERM);
        sigaddset(&m, SIGINT);
        signal(SIGPIPE, SIG_IGN);
        if (loop_set_signals(l, &m, on_signal, NULL, NULL) < 0)
                return 1;
        r = control_new(l, argv[1], &ops, NULL, NULL, &c);
        if (r < 0) {
                fprintf(stderr, "ctlserver: %s\n", strerror(-r));
                return 1;
        }
        loop_timer_init(&tick, on_tick, NULL);
        due = now_usec() + TICK_USEC;
        loop_timer_arm(l, &tick, due);
        printf("ready\n");
        fflush(stdout);
        r = loop_run(l);
        fprintf(log_f, "max_late_us=%llu\n", (unsigned long long)max_late);
        control_free(c);
        loop_free(l);
        return r;
}
