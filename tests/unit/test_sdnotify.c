/* sdnotify: the environment systemd gives gorral, and the summary line.
 * The datagrams themselves are asserted against a real socket in
 * tests/integration/test_sdnotify.sh. */
#include <criterion/criterion.h>
#include <string.h>

#include "gorral/sdnotify.h"

static struct sdnotify_env env(const char *sock, const char *usec, const char *pid) {
        struct sdnotify_env e;

        cr_assert_eq(sdnotify_parse_env(sock, usec, pid, 4242, &e), 0);
        return e;
}

Test(sdnotify, nothing_set) {
        struct sdnotify_env e = env(NULL, NULL, NULL);

        cr_expect_null(e.socket);
        cr_expect_eq(e.watchdog_usec, 0);
        cr_expect_null(e.ignored);
}

Test(sdnotify, socket_forms) {
        cr_expect_str_eq(env("/run/systemd/notify", NULL, NULL).socket, "/run/systemd/notify");
        cr_expect_str_eq(env("@abstract", NULL, NULL).socket, "@abstract");
        cr_expect_null(env("relative/path", NULL, NULL).socket);
        cr_expect_not_null(env("relative/path", NULL, NULL).ignored);
        cr_expect_null(env("@", NULL, NULL).socket);
        cr_expect_null(env("", NULL, NULL).socket);
        cr_expect_null(env("", NULL, NULL).ignored, "an empty NOTIFY_SOCKET is unset, silently");
        char longp[200];
        memset(longp, 'a', sizeof longp - 1);
        longp[0] = '/';
        longp[sizeof longp - 1] = '\0';
        cr_expect_null(env(longp, NULL, NULL).socket, "longer than sun_path");
}

Test(sdnotify, watchdog) {
        struct sdnotify_env e = env("/n", "30000000", NULL);

        cr_expect_eq(e.watchdog_usec, 30000000);
        cr_expect_null(e.ignored);
        e = env("/n", "30000000", "4242");
        cr_expect_eq(e.watchdog_usec, 30000000, "WATCHDOG_PID is us");
        e = env("/n", "30000000", "1");
        cr_expect_eq(e.watchdog_usec, 0, "WATCHDOG_PID is another process");
        cr_expect_str_eq(e.ignored, "WATCHDOG_PID names another process");
        e = env("/n", "0", NULL);
        cr_expect_eq(e.watchdog_usec, 0);
        cr_expect_not_null(e.ignored);
        e = env("/n", "12abc", NULL);
        cr_expect_eq(e.watchdog_usec, 0);
        cr_expect_not_null(e.ignored);
        e = env("/n", "-5", NULL);
        cr_expect_eq(e.watchdog_usec, 0);
        e = env("/n", "1000", "x");
        cr_expect_eq(e.watchdog_usec, 0);
        cr_expect_str_eq(e.ignored, "WATCHDOG_PID is not a pid");
        e = env(NULL, "1000", NULL);
        cr_expect_eq(e.watchdog_usec, 0, "nowhere to ping");
        cr_expect_not_null(e.ignored);
}

static const char *line(struct sdnotify_summary s) {
        static char buf[128];

        sdnotify_status_text(buf, sizeof buf, &s);
        return buf;
}

Test(sdnotify, status_text) {
        cr_expect_str_eq(line((struct sdnotify_summary){ .services = 3, .running = 3, .up = true }),
                         "3/3 running, 0 findings");
        cr_expect_str_eq(line((struct sdnotify_summary){ .services = 3, .running = 1 }),
                         "starting: 1/3 running, 0 findings");
        cr_expect_str_eq(line((struct sdnotify_summary){ .services = 3, .running = 2, .failed = 1, .findings = 1,
                                                         .up = true }),
                         "2/3 running, 1 failed, 1 finding");
        cr_expect_str_eq(line((struct sdnotify_summary){ .services = 2, .running = 2, .stopping = true, .up = true }),
                         "stopping: 2/2 running, 0 findings");
        char small[8];
        int n = sdnotify_status_text(small, sizeof small, &(struct sdnotify_summary){ .services = 3, .running = 3 });
        cr_expect_gt(n, 7, "snprintf's contract: the length wanted");
        cr_expect_eq(strlen(small), 7);
}

Test(sdnotify, null_safe) {
        sdnotify_update(NULL, &(struct sdnotify_summary){ 0 });
        sdnotify_reloading(NULL);
        sdnotify_reload_failed(NULL, "x");
        sdnotify_stopping(NULL);
        cr_expect_null(sdnotify_stats(NULL));
        cr_expect_null(sdnotify_free(NULL));
        struct sdnotify *n = (struct sdnotify *)1;
        struct sdnotify_env e = { 0 };
        cr_expect_eq(sdnotify_new(NULL, &e, NULL, NULL, &n), 0);
        cr_expect_null(n, "no NOTIFY_SOCKET: no object");
}
