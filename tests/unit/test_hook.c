/* Unit tests for src/hook.c: real hooks started by spawn_process() (with
 * the stdin_fd it gained for them) and collected by the one reaper on a
 * SIGCHLD signalfd, as the supervisor will: the JSON on stdin and the
 * environment (a hook that writes both to files), a stdin larger than
 * the pipe with a slow reader, the timeout killing the whole process
 * group, output logged line by line (stderr captured into a file) and
 * its bound, the event queue bound, a program that does not exist, and
 * freeing from the exit callback. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gorral/hook.h"
#include "gorral/log.h"
#include "gorral/loop.h"
#include "gorral/reaper.h"
#include "gorral/spawn.h"
#include "gorral/util.h"

#define MS UINT64_C(1000)
#define SEC UINT64_C(1000000)

struct ctx {
        struct loop *loop;
        struct reaper reaper;
        struct hook *hook;
        sigset_t orig;
        int spawned, exited, forgotten;
        struct hook_result last;
        bool free_in_exited;
        bool small_pipe;         /* shrink the stdin pipe to one page, as when pipe-user-pages-soft is used up */
        char dir[64];
};

static void on_reaped(pid_t pid, int status, void *userdata) {
        struct ctx *c = userdata;

        cr_assert_eq(hook_exited(c->hook, pid, status), 0, "pid %d is the hook's", (int)pid);
}

static int t_spawn(void *userdata, const struct hook_spawn *sp, pid_t *ret_pid) {
        struct ctx *c = userdata;
        struct spawn_params p = { .argv = sp->argv, .envp = sp->envp, .sigmask = &c->orig, .stdin_fd = sp->stdin_fd,
                                  .stdout_fd = sp->stdout_fd, .stderr_fd = sp->stderr_fd };
        struct spawn_result res;
        int r;

        if (c->small_pipe)
                cr_assert_eq(fcntl(sp->stdin_fd, F_SETPIPE_SZ, 4096), 4096);
        r = spawn_process(&p, &res);
        if (r < 0)
                return r;
        cr_assert_eq(reaper_watch(&c->reaper, res.pid, on_reaped, c), 0);
        c->spawned++;
        *ret_pid = res.pid;
        return 0;
}

static void t_forget(void *userdata, pid_t pid) {
        struct ctx *c = userdata;

        reaper_unwatch(&c->reaper, pid);
        c->forgotten++;
}

static void t_exited(void *userdata, struct hook *h, const struct hook_result *r) {
        struct ctx *c = userdata;

        c->exited++;
        c->last = *r;
        if (c->free_in_exited) {
                cr_assert_eq(h, c->hook);
                c->hook = hook_free(h);
        }
}

static const struct hook_ops ops = { .spawn = t_spawn, .forget = t_forget, .exited = t_exited };

static void on_sigchld(struct loop *l, const struct signalfd_siginfo *si, void *userdata) {
        struct ctx *c = userdata;

        (void)l;
        (void)si;
        (void)reaper_reap(&c->reaper);
}

static void setup(struct ctx *c) {
        sigset_t mask;

        memset(c, 0, sizeof *c);
        /* gorral blocks SIGPIPE; a test must not die of a hook that
         * closes its stdin early. */
        signal(SIGPIPE, SIG_IGN);
        cr_assert_eq(loop_new(&c->loop), 0);
        reaper_init(&c->reaper);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        cr_assert_eq(loop_set_signals(c->loop, &mask, on_sigchld, c, &c->orig), 0);
        snprintf(c->dir, sizeof c->dir, "/tmp/test_hook.XXXXXX");
        cr_assert_not_null(mkdtemp(c->dir));
}

static void teardown(struct ctx *c) {
        char cmd[128];

        c->hook = hook_free(c->hook);
        reaper_done(&c->reaper);
        cr_assert_eq(loop_n_watches(c->loop), 0, "every pipe unwatched");
        loop_free(c->loop);
        snprintf(cmd, sizeof cmd, "rm -rf %s", c->dir);
        (void)!system(cmd);
}

static void run_until_exits(struct ctx *c, int n, uint64_t limit_usec) {
        uint64_t end = now_usec() + limit_usec;

        while (c->exited < n && now_usec() < end)
                loop_run_once(c->loop, 50);
        cr_assert_geq(c->exited, n, "%d of %d runs ended", c->exited, n);
}

static char *slurp(const char *dir, const char *name) {
        char path[128], *buf = NULL;
        size_t n;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        cr_assert_eq(read_file(path, (size_t)1 << 20, &buf, &n), 0, "%s", path);
        return buf;
}

/* stderr into a file while f runs, so the log lines can be checked. */
struct capture {
        int saved;
        char path[96];
};
static void capture_start(struct capture *k, const struct ctx *c) {
        int fd;

        snprintf(k->path, sizeof k->path, "%s/stderr.log", c->dir);
        fflush(stderr);
        k->saved = dup(2);
        fd = open(k->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        cr_assert(fd >= 0 && k->saved >= 0);
        dup2(fd, 2);
        close(fd);
}
static char *capture_end(struct capture *k) {
        char *buf = NULL;
        size_t n;

        dup2(k->saved, 2);
        close(k->saved);
        cr_assert_eq(read_file(k->path, (size_t)4 << 20, &buf, &n), 0);
        return buf;
}
static size_t count(const char *hay, const char *needle) {
        size_t n = 0;

        for (const char *p = hay; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

static char *base_env[] = { (char *)"PATH=/usr/bin:/bin", (char *)"FOO=bar", (char *)"GORRAL_EVENT=stale", NULL };

Test(hook, json_on_stdin_and_env) {
        struct ctx c;
        char script[256];
        const char *json = "{\"event\":\"fire\",\"detector\":\"leak\",\"service\":\"api\",\"rate_per_hour\":120}";
        const char *vars[] = { "GORRAL_SERVICE=api", "GORRAL_DETECTOR=leak", "GORRAL_EVENT=fire",
                               "GORRAL_SUMMARY=goroutines grow by 120/h", NULL };
        char *in, *envtxt;

        setup(&c);
        snprintf(script, sizeof script, "cat > %s/in.json; env > %s/env.txt", c.dir, c.dir);
        char *argv[] = { (char *)"sh", (char *)"-c", script, NULL };
        cr_assert_eq(hook_new(c.loop, "notify", argv, base_env, NULL, &ops, &c, &c.hook), 0);
        cr_assert_eq(hook_run(c.hook, json, strlen(json), vars), 0);
        cr_assert_eq(c.spawned, 0, "nothing starts from within hook_run()");
        run_until_exits(&c, 1, 5 * SEC);
        cr_assert(WIFEXITED(c.last.status) && WEXITSTATUS(c.last.status) == 0);
        in = slurp(c.dir, "in.json");
        cr_assert_str_eq(in, json);
        envtxt = slurp(c.dir, "env.txt");
        cr_assert(strstr(envtxt, "GORRAL_SERVICE=api\n"), "%s", envtxt);
        cr_assert(strstr(envtxt, "GORRAL_DETECTOR=leak\n"));
        cr_assert(strstr(envtxt, "GORRAL_SUMMARY=goroutines grow by 120/h\n"));
        cr_assert(strstr(envtxt, "FOO=bar\n"), "the hook's own environment");
        cr_assert_eq(count(envtxt, "GORRAL_EVENT="), 1, "the event's variable replaces the base one: %s", envtxt);
        cr_assert(strstr(envtxt, "GORRAL_EVENT=fire\n"));
        cr_assert_eq(hook_get_stats(c.hook)->runs, 1);
        cr_assert_eq(hook_get_stats(c.hook)->ok, 1);
        cr_assert_eq(hook_exited(c.hook, 12345, 0), -ESRCH);
        free(in);
        free(envtxt);
        /* Refused at the door. */
        const char *bad[] = { "NOEQUALS", NULL }, *empty[] = { "=x", NULL };
        cr_assert_eq(hook_run(c.hook, "{}", 2, bad), -EINVAL);
        cr_assert_eq(hook_run(c.hook, "{}", 2, empty), -EINVAL);
        cr_assert_eq(hook_run(c.hook, "{}", HOOK_INPUT_MAX + 1, NULL), -E2BIG);
        cr_assert_eq(hook_new(c.loop, "x", (char *[]){ NULL }, NULL, NULL, &ops, &c, &(struct hook *){ NULL }),
                     -EINVAL);
        teardown(&c);
}

/* 64 KiB through a one-page pipe to a hook that waits before reading:
 * the writes wait for EPOLLOUT, the loop does not. */
Test(hook, big_stdin_slow_reader) {
        struct ctx c;
        char script[256];
        char *json = malloc(HOOK_INPUT_MAX + 1), *in;
        uint64_t t0, worst = 0;

        setup(&c);
        c.small_pipe = true;
        memset(json, 'x', HOOK_INPUT_MAX);
        json[0] = '"';
        json[HOOK_INPUT_MAX - 1] = '"';
        json[HOOK_INPUT_MAX] = '\0';
        snprintf(script, sizeof script, "sleep 0.3; cat > %s/in.json", c.dir);
        char *argv[] = { (char *)"sh", (char *)"-c", script, NULL };
        cr_assert_eq(hook_new(c.loop, "big", argv, base_env, NULL, &ops, &c, &c.hook), 0);
        cr_assert_eq(hook_run(c.hook, json, HOOK_INPUT_MAX, NULL), 0);
        while (c.exited < 1) {
                t0 = now_usec();
                loop_run_once(c.loop, 5);
                if (now_usec() - t0 > worst)
                        worst = now_usec() - t0;
        }
        cr_log_info("64 KiB stdin: the longest loop iteration took %.1f ms", (double)worst / 1e3);
        cr_assert_lt(worst, 50 * MS, "the loop blocked for %.1f ms", (double)worst / 1e3);
        in = slurp(c.dir, "in.json");
        cr_assert_eq(strlen(in), HOOK_INPUT_MAX);
        cr_assert_str_eq(in, json);
        free(in);
        free(json);
        teardown(&c);
}

Test(hook, timeout_kills_the_group) {
        struct ctx c;
        char script[256], *pidtxt;
        pid_t bg;

        setup(&c);
        snprintf(script, sizeof script, "sleep 30 & echo $! > %s/bg.pid; wait", c.dir);
        char *argv[] = { (char *)"sh", (char *)"-c", script, NULL };
        cr_assert_eq(hook_new(c.loop, "slow", argv, base_env, &(struct hook_opts){ .timeout_usec = 300 * MS }, &ops, &c,
                              &c.hook),
                     0);
        cr_assert_eq(hook_run(c.hook, NULL, 0, NULL), 0);
        run_until_exits(&c, 1, 5 * SEC);
        cr_assert(c.last.timed_out);
        cr_assert(WIFSIGNALED(c.last.status) && WTERMSIG(c.last.status) == SIGKILL);
        cr_assert(c.last.duration_usec >= 300 * MS && c.last.duration_usec < 1500 * MS, "%.3f s",
                  (double)c.last.duration_usec / 1e6);
        pidtxt = slurp(c.dir, "bg.pid");
        bg = (pid_t)atoi(pidtxt);
        cr_assert_gt(bg, 0);
        /* The background sleep was in the group: gone too (reaped by
         * init once orphaned; allow it a moment). */
        for (int i = 0; i < 100; i++) {
                char path[64], buf[256] = "";
                FILE *f;

                snprintf(path, sizeof path, "/proc/%d/stat", (int)bg);
                f = fopen(path, "re");
                if (!f)
                        break;
                (void)!fgets(buf, sizeof buf, f);
                fclose(f);
                if (strstr(buf, ") Z "))
                        break;
                cr_assert_lt(i, 99, "pid %d still alive: %s", (int)bg, buf);
                usleep(10 * 1000);
        }
        cr_assert_eq(hook_get_stats(c.hook)->timeouts, 1);
        cr_assert_eq(hook_get_stats(c.hook)->failed, 1);
        free(pidtxt);
        teardown(&c);
}

Test(hook, output_logged_line_by_line) {
        struct ctx c;
        struct capture k;
        char *log;
        char *argv[] = { (char *)"sh", (char *)"-c",
                         (char *)"echo first; echo 'two words' >&2; printf 'no newline'; exit 3", NULL };

        setup(&c);
        cr_assert_eq(hook_new(c.loop, "talker", argv, base_env, NULL, &ops, &c, &c.hook), 0);
        capture_start(&k, &c);
        cr_assert_eq(hook_run(c.hook, "{}", 2, NULL), 0);
        run_until_exits(&c, 1, 5 * SEC);
        log = capture_end(&k);
        cr_log_info("%s", log);
        cr_assert(strstr(log, "event=hook_output hook=talker"), "%s", log);
        cr_assert(strstr(log, "stream=stdout line=first\n"), "%s", log);
        cr_assert(strstr(log, "stream=stderr line=\"two words\"\n"), "%s", log);
        cr_assert(strstr(log, "stream=stdout line=\"no newline\"\n"), "a partial last line too: %s", log);
        cr_assert(strstr(log, "event=hook_exit hook=talker"), "%s", log);
        cr_assert(strstr(log, "status=3"), "%s", log);
        cr_assert_lt(strstr(log, "line=\"no newline\""), strstr(log, "event=hook_exit"), "output before the exit");
        cr_assert_eq(hook_get_stats(c.hook)->output_lines, 3);
        cr_assert_eq(hook_get_stats(c.hook)->failed, 1);
        free(log);
        teardown(&c);
}

Test(hook, output_bounded) {
        struct ctx c;
        struct capture k;
        char *log;
        char *argv[] = { (char *)"sh", (char *)"-c", (char *)"i=0; while [ $i -lt 500 ]; do echo line$i; i=$((i+1)); done",
                         NULL };

        setup(&c);
        cr_assert_eq(hook_new(c.loop, "chatty", argv, base_env, NULL, &ops, &c, &c.hook), 0);
        capture_start(&k, &c);
        cr_assert_eq(hook_run(c.hook, NULL, 0, NULL), 0);
        run_until_exits(&c, 1, 10 * SEC);
        log = capture_end(&k);
        cr_assert_eq(count(log, "event=hook_output "), HOOK_OUTPUT_LINES_MAX);
        cr_assert(strstr(log, "event=hook_output_truncated hook=chatty"), "%s", log);
        cr_assert(strstr(log, "lines_dropped=300"), "%s", log);
        cr_assert_eq(hook_get_stats(c.hook)->output_lines, HOOK_OUTPUT_LINES_MAX);
        cr_assert_eq(hook_get_stats(c.hook)->output_dropped, 300);
        cr_assert_eq(hook_get_stats(c.hook)->ok, 1);
        free(log);
        teardown(&c);
}

Test(hook, queue_bound_and_one_run_at_a_time) {
        struct ctx c;
        char script[256], *runs;
        char json[32];

        setup(&c);
        /* Each run appends its stdin: the order and the count show. */
        snprintf(script, sizeof script, "cat >> %s/runs; echo >> %s/runs; sleep 0.1", c.dir, c.dir);
        char *argv[] = { (char *)"sh", (char *)"-c", script, NULL };
        cr_assert_eq(hook_new(c.loop, "q", argv, base_env, &(struct hook_opts){ .queue_max = 2 }, &ops, &c, &c.hook),
                     0);
        for (int i = 0; i < 5; i++) {
                snprintf(json, sizeof json, "{\"n\":%d}", i);
                cr_assert_eq(hook_run(c.hook, json, strlen(json), NULL), 0);
        }
        cr_assert_eq(hook_get_stats(c.hook)->dropped, 3);
        cr_assert_eq(hook_get_stats(c.hook)->queued, 2);
        /* One more while the first of them runs: it waits its turn. */
        while (hook_pid(c.hook) == 0)
                loop_run_once(c.loop, 20);
        cr_assert_eq(hook_run(c.hook, "{\"n\":5}", 7, NULL), 0);
        cr_assert_eq(hook_get_stats(c.hook)->queued, 2);
        run_until_exits(&c, 3, 10 * SEC);
        runs = slurp(c.dir, "runs");
        cr_assert_str_eq(runs, "{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n", "%s", runs);
        cr_assert_eq(hook_get_stats(c.hook)->runs, 3);
        cr_assert_eq(hook_get_stats(c.hook)->dropped, 3);
        free(runs);
        teardown(&c);
}

Test(hook, missing_program_and_free_from_exited) {
        struct ctx c;

        setup(&c);
        char *argv[] = { (char *)"no-such-hook-program", NULL };
        cr_assert_eq(hook_new(c.loop, "missing", argv, base_env, NULL, &ops, &c, &c.hook), 0);
        cr_assert_eq(hook_run(c.hook, "{}", 2, NULL), 0);
        cr_assert_eq(hook_run(c.hook, "{}", 2, NULL), 0);
        c.free_in_exited = true;
        run_until_exits(&c, 1, 5 * SEC);
        cr_assert(WIFEXITED(c.last.status) && WEXITSTATUS(c.last.status) == 127);
        cr_assert_null(c.hook, "freed from its own exit callback");
        /* The queued second event went with it. */
        for (int i = 0; i < 5; i++)
                loop_run_once(c.loop, 20);
        cr_assert_eq(c.spawned, 1);
        teardown(&c);
}

Test(hook, free_while_running_forgets_the_pid) {
        struct ctx c;
        char *argv[] = { (char *)"sleep", (char *)"30", NULL };
        pid_t pid;

        setup(&c);
        cr_assert_eq(hook_new(c.loop, "sleeper", argv, base_env, NULL, &ops, &c, &c.hook), 0);
        cr_assert_eq(hook_run(c.hook, NULL, 0, NULL), 0);
        while (hook_pid(c.hook) == 0)
                loop_run_once(c.loop, 20);
        pid = hook_pid(c.hook);
        c.hook = hook_free(c.hook);
        cr_assert_eq(c.forgotten, 1);
        cr_assert_eq(waitpid(pid, NULL, 0), pid);
        teardown(&c);
}
