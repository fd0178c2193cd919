/* Unit tests for procfs.c: the parsers on real captures (a Go 1.19
 * service's status in tests/fixtures/samples, this host's stat and status
 * files in tests/fixtures/procfs) and on broken input; the samplers on
 * live processes (this one, a child with N threads, a cgroup's processes
 * listed in a cgroup.procs file) and on a fixture /proc tree. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gorral/procfs.h"
#include "gorral/util.h"

#define FX FIXTURES "/procfs/"
#define S(lit) (lit), (sizeof(lit) - 1)

static char *dup_exact(const char *s, size_t n) {
        char *b = malloc(n ? n : 1);

        cr_assert(b);
        memcpy(b, s, n);
        return b;
}

static char *slurp(const char *path, size_t *n) {
        char *buf = NULL, *exact;

        cr_assert_eq(read_file(path, 1 << 16, &buf, n), 0, "reading %s", path);
        exact = dup_exact(buf, *n);
        free(buf);
        return exact;
}

static int pstat(const char *s, size_t n, struct proc_stat *st, struct proc_parse_error *e) {
        _cleanup_free_ char *b = dup_exact(s, n);
        return proc_parse_stat(b, n, st, e);
}
static int pstatus(const char *s, size_t n, struct proc_status *st, struct proc_parse_error *e) {
        _cleanup_free_ char *b = dup_exact(s, n);
        return proc_parse_status(b, n, st, e);
}

/* ---- /proc/PID/stat ---- */

Test(stat, comm_with_spaces_and_parens) {
        size_t n;
        _cleanup_free_ char *b = slurp(FX "weird-comm-stat.txt", &n);
        struct proc_stat st;

        /* Captured from a copy of sleep named "we ird) (x". */
        cr_assert_eq(proc_parse_stat(b, n, &st, NULL), 0);
        cr_assert_eq(st.pid, 26419);
        cr_assert_eq(st.state, 'S');
        cr_assert_eq(st.ppid, 26411);
        cr_assert_eq(st.utime_ticks, 0);
        cr_assert_eq(st.num_threads, 1);
        cr_assert_eq(st.starttime_ticks, 806193);
        cr_assert_eq(st.rss_pages, 406);
}

Test(stat, kernel_thread_and_init) {
        size_t n;
        _cleanup_free_ char *k = slurp(FX "kthread-stat.txt", &n), *i = NULL;
        struct proc_stat st;

        cr_assert_eq(proc_parse_stat(k, n, &st, NULL), 0);
        cr_assert_eq(st.pid, 2);
        cr_assert_eq(st.ppid, 0);
        cr_assert_eq(st.rss_pages, 0, "no mm");
        cr_assert_eq(st.num_threads, 1);
        i = slurp(FX "init-stat.txt", &n);
        cr_assert_eq(proc_parse_stat(i, n, &st, NULL), 0);
        cr_assert_eq(st.pid, 1);
        cr_assert_gt(st.rss_pages, 0);
}

Test(stat, newline_in_comm_and_negative_fields) {
        struct proc_stat st;

        /* prctl(PR_SET_NAME) allows a newline; stat prints comm raw. A
         * real-time task has a negative priority, tpgid may be -1. */
        cr_assert_eq(pstat(S("7 (a\n) b)) R 1 7 7 0 -1 4194560 0 0 0 0 250 50 0 0 -51 -20 3 0 99 1000 12 18446744073709551615 1 1 0\n"),
                           &st, NULL),
                     0);
        cr_assert_eq(st.pid, 7);
        cr_assert_eq(st.state, 'R');
        cr_assert_eq(st.utime_ticks, 250);
        cr_assert_eq(st.stime_ticks, 50);
        cr_assert_eq(st.num_threads, 3);
        cr_assert_eq(st.starttime_ticks, 99);
        cr_assert_eq(st.rss_pages, 12);
        /* Exactly 24 fields, no newline: enough. */
        cr_assert_eq(pstat(S("7 (x) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 6 7"), &st, NULL), 0);
        cr_assert_eq(st.rss_pages, 7);
}

Test(stat, only_n_bytes) {
        struct proc_stat st;
        const char *s = "7 (x) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 6 78";

        cr_assert_eq(pstat(s, strlen(s) - 1, &st, NULL), 0);
        cr_assert_eq(st.rss_pages, 7);
}

Test(stat, malformed_with_position) {
        static const struct {
                const char *s;
                size_t n;
                unsigned col;
                const char *reason;
        } bad[] = {
                { S(""), 1, "field 1 (pid) is not a positive number" },
                { S("0 (x) S 1"), 1, "field 1 (pid) is not a positive number" },
                { S("x (x) S 1"), 1, "field 1 (pid) is not a positive number" },
                { S("7 x) S 1"), 2, "expected \" (\" after the pid" },
                { S("7 (x S 1 2 3"), 13, "no ')' ending field 2 (comm)" },
                { S("7 (x)S 1"), 6, "expected \" STATE \" after the comm" },
                { S("7 (x) SS 1"), 6, "expected \" STATE \" after the comm" },
                { S("7 (x) S"), 6, "expected \" STATE \" after the comm" },
                { S("7 (x) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 6\n"), 50, "fewer than 24 fields" },
                { S("7 (x) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 6"), 50, "fewer than 24 fields" },
                { S("7 (x) S 1 7 7 0 -1 0 0 0 0 0 1x 2 0 0 20 0 1 0 5 6 7"), 30, "a field is not a decimal number" },
                { S("7 (x) S 1 7 7 0 -1 0 0 0 0 0 1  2 0 0 20 0 1 0 5 6 7"), 32, "a field is not a decimal number" },
                { S("7 (x) S 1 7 7 0 -1 0 0 0 0 0 -1 2 0 0 20 0 1 0 5 6 7"), 30, "negative value in an unsigned field" },
                { S("7 (x) S -1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 6 7"), 9, "field 4 (ppid) out of range" },
                { S("7 (x) S 1 7 7 0 -1 0 0 0 0 0 99999999999999999999 2 0 0 20 0 1 0 5 6 7"), 30,
                  "a field is not a decimal number" },
                { S("7 (x\0) S 1"), 5, "NUL byte" },
                { S("7 (x) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 6 7\r\n"), 51, "a field is not a decimal number" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct proc_parse_error e = {};
                struct proc_stat st;

                cr_assert_eq(pstat(bad[i].s, bad[i].n, &st, &e), -EBADMSG, "case %zu", i);
                cr_expect_eq(e.line, 1, "case %zu", i);
                cr_expect_eq(e.column, bad[i].col, "case %zu: column %u", i, e.column);
                cr_expect_str_eq(e.reason, bad[i].reason, "case %zu", i);
        }
}

/* ---- /proc/PID/status ---- */

Test(status, go_service_captures) {
        size_t n;
        _cleanup_free_ char *h = slurp(SAMPLES "/proc-status-high.txt", &n), *l = NULL;
        struct proc_status st;

        cr_assert_eq(proc_parse_status(h, n, &st, NULL), 0);
        cr_assert_eq(st.present, PROC_STATUS_THREADS | PROC_STATUS_VMRSS | PROC_STATUS_VCSW | PROC_STATUS_NVCSW);
        cr_assert_eq(st.threads, 56);
        cr_assert_eq(st.rss_bytes, 17844ULL * 1024);
        cr_assert_eq(st.voluntary_ctxt_switches, 27);
        cr_assert_eq(st.nonvoluntary_ctxt_switches, 37);
        l = slurp(SAMPLES "/proc-status-low.txt", &n);
        cr_assert_eq(proc_parse_status(l, n, &st, NULL), 0);
        cr_assert_eq(st.present & PROC_STATUS_THREADS, PROC_STATUS_THREADS);
        cr_assert_lt(st.threads, 56);
}

Test(status, kernel_thread_has_no_rss) {
        size_t n;
        _cleanup_free_ char *k = slurp(FX "kthread-status.txt", &n), *w = NULL;
        struct proc_status st;

        cr_assert_eq(proc_parse_status(k, n, &st, NULL), 0);
        cr_assert_eq(st.present & PROC_STATUS_VMRSS, 0, "absent, not 0");
        cr_assert_eq(st.threads, 1);
        cr_assert_eq(st.voluntary_ctxt_switches, 124);
        w = slurp(FX "weird-comm-status.txt", &n);
        cr_assert_eq(proc_parse_status(w, n, &st, NULL), 0);
        cr_assert(st.present & PROC_STATUS_VMRSS);
}

Test(status, malformed_with_position) {
        static const struct {
                const char *s;
                size_t n;
                unsigned line, col;
                const char *reason;
        } bad[] = {
                { S("Name:\tx\nThreads:\t5x\n"), 2, 11, "trailing characters after the value" },
                { S("Name:\tx\nThreads: 5\n"), 2, 9, "expected a tab after the ':'" },
                { S("Threads:\t\n"), 1, 10, "value is not an unsigned decimal number" },
                { S("Threads:\t-1\n"), 1, 10, "value is not an unsigned decimal number" },
                { S("VmRSS:\t   17844\n"), 1, 16, "expected \" kB\" after the number" },
                { S("VmRSS:\t   17844 MB\n"), 1, 16, "expected \" kB\" after the number" },
                { S("VmRSS:\t99999999999999999 kB\n"), 1, 8, "value out of range" },
                { S("Threads:\t1\nThreads:\t2\n"), 2, 1, "key given twice" },
                { S("Name:\tx\nno colon here\n"), 2, 14, "not a \"Key:\" line" },
                { S(":\tx\n"), 1, 1, "not a \"Key:\" line" },
                { S("Name:\tx\n\n"), 2, 1, "not a \"Key:\" line" },
                { S("Name:\tx\0y\n"), 1, 8, "NUL byte" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct proc_parse_error e = {};
                struct proc_status st;

                cr_assert_eq(pstatus(bad[i].s, bad[i].n, &st, &e), -EBADMSG, "case %zu", i);
                cr_expect_eq(e.line, bad[i].line, "case %zu: line %u", i, e.line);
                cr_expect_eq(e.column, bad[i].col, "case %zu: column %u", i, e.column);
                cr_expect_str_eq(e.reason, bad[i].reason, "case %zu", i);
        }
}

/* ---- live samplers ---- */

static void *sleeper(void *arg) {
        (void)arg;
        for (;;)
                pause();
        return NULL;
}

/* A child with n extra threads and nfds extra open fds; it says "ready"
 * through the pipe and waits to be killed. */
static pid_t spawn_threaded(int n, int nfds) {
        int pfd[2];
        pid_t pid;
        char c;

        cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
                pthread_t t;

                for (int i = 0; i < n; i++)
                        if (pthread_create(&t, NULL, sleeper, NULL) != 0)
                                _exit(1);
                for (int i = 0; i < nfds; i++)
                        if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0)
                                _exit(1);
                if (write(pfd[1], "r", 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(pfd[1]);
        cr_assert_eq(read(pfd[0], &c, 1), 1, "child did not start");
        close(pfd[0]);
        return pid;
}

static uint64_t count_fds(pid_t pid) {
        char path[64];
        DIR *d;
        struct dirent *de;
        uint64_t n = 0;

        snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
        d = opendir(path);
        cr_assert(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

Test(sampler, child_with_n_threads) {
        const int N = 7;
        pid_t pid = spawn_threaded(N, 5);
        struct proc_sampler *s = NULL;
        struct proc_read_error e;
        struct proc_sample a;

        cr_assert_eq(proc_sampler_open(NULL, pid, PROC_SAMPLE_FDS | PROC_SAMPLE_CTXSW, &s), 0);
        cr_assert_eq(proc_sampler_pid(s), pid);
        cr_assert_eq(proc_sampler_read(s, &a, &e), 0);
        cr_assert_eq(a.present, PROC_HAS_THREADS | PROC_HAS_CPU | PROC_HAS_RSS | PROC_HAS_START | PROC_HAS_FDS |
                                        PROC_HAS_CTXSW);
        cr_assert_eq(a.threads, (uint64_t)N + 1, "Threads == N + 1: %llu", (unsigned long long)a.threads);
        cr_assert_eq(a.fds, count_fds(pid), "fds %llu", (unsigned long long)a.fds);
        cr_assert_geq(a.fds, 5 + 3);
        cr_assert_gt(a.rss_bytes, 0);
        cr_assert_gt(a.voluntary_ctxt_switches + a.nonvoluntary_ctxt_switches, 0);

        /* Gone: the kept fds say so, also when the pid is reused. */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cr_assert_eq(proc_sampler_read(s, &a, &e), -ESRCH);
        cr_assert_str_eq(e.file, "stat");
        cr_assert_eq(e.pid, pid);
        proc_sampler_free(s);
        cr_assert_eq(proc_sampler_open(NULL, pid, PROC_SAMPLE_DEFAULT, &s), -ESRCH);
        cr_assert_eq(proc_sampler_open(NULL, 0, 0, &s), -EINVAL);
        proc_sampler_free(NULL);
}

Test(sampler, self_cpu_time_grows) {
        struct proc_sampler *s = NULL;
        struct proc_sample a, b;
        volatile unsigned long x = 0;
        pthread_t t[3];

        cr_assert_eq(proc_sampler_open(NULL, getpid(), PROC_SAMPLE_DEFAULT, &s), 0);
        cr_assert_eq(proc_sampler_read(s, &a, NULL), 0);
        cr_assert_eq(a.present & PROC_HAS_CTXSW, 0, "status not read by default");
        for (int i = 0; i < 3; i++)
                cr_assert_eq(pthread_create(&t[i], NULL, sleeper, NULL), 0);
        /* Burn at least 50 ms of CPU (clock ticks are 10 ms). */
        for (uint64_t t0 = now_usec(); now_usec() - t0 < 80000;)
                for (int i = 0; i < 10000; i++)
                        x++;
        cr_assert_eq(proc_sampler_read(s, &b, NULL), 0);
        cr_assert_eq(b.threads, a.threads + 3);
        cr_assert_eq(b.starttime_usec, a.starttime_usec);
        cr_assert_gt(b.utime_usec + b.stime_usec, a.utime_usec + a.stime_usec);
        proc_sampler_free(s);
}

Test(sampler, zombie) {
        pid_t pid = fork();
        struct proc_sampler *s = NULL;
        struct proc_sample a;
        siginfo_t si;

        cr_assert(pid >= 0);
        if (pid == 0)
                _exit(0);
        /* Wait for the exit without reaping: a zombie. */
        cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
        cr_assert_eq(proc_sampler_open(NULL, pid, PROC_SAMPLE_DEFAULT | PROC_SAMPLE_CTXSW, &s), 0);
        cr_assert_eq(proc_sampler_read(s, &a, NULL), 0);
        cr_assert_eq(a.present & PROC_HAS_RSS, 0, "a zombie has no rss: absent");
        cr_assert_eq(a.threads, 1);
        waitpid(pid, NULL, 0);
        cr_assert_eq(proc_sampler_read(s, &a, NULL), -ESRCH);
        proc_sampler_free(s);
}

/* A recorded /proc tree: regular files, and a plain directory for fd/
 * (counted with getdents64, since its st_size is not a count). */
Test(sampler, fixture_proc_tree) {
        char root[] = "/tmp/test-procfs-XXXXXX";
        char path[1024];
        struct proc_sampler *s = NULL;
        struct proc_read_error e;
        struct proc_sample a;
        FILE *f;

        cr_assert(mkdtemp(root));
        snprintf(path, sizeof path, "mkdir -p %s/4242/fd && cp " FX "weird-comm-stat.txt %s/4242/stat && "
                                    "cp " FX "weird-comm-status.txt %s/4242/status && "
                                    "for i in 0 1 2 3; do ln -s /dev/null %s/4242/fd/$i; done",
                 root, root, root, root);
        cr_assert_eq(system(path), 0);
        cr_assert_eq(proc_sampler_open(root, 4242, PROC_SAMPLE_FDS | PROC_SAMPLE_CTXSW, &s), 0);
        cr_assert_eq(proc_sampler_read(s, &a, &e), 0);
        cr_assert_eq(a.fds, 4);
        cr_assert_eq(a.threads, 1);
        cr_assert_eq(a.rss_bytes, 406ULL * (uint64_t)sysconf(_SC_PAGESIZE));
        cr_assert_eq(a.starttime_usec, 806193ULL * 1000000 / (uint64_t)sysconf(_SC_CLK_TCK));
        cr_assert(a.present & PROC_HAS_CTXSW);

        /* A broken stat is reported with where and why. */
        snprintf(path, sizeof path, "%s/4242/stat", root);
        f = fopen(path, "we");
        fputs("4242 (x) S 1 2\n", f);
        fclose(f);
        cr_assert_eq(proc_sampler_read(s, &a, &e), -EBADMSG);
        cr_assert_str_eq(e.file, "stat");
        cr_assert_eq(e.where.column, 15);
        cr_assert_str_eq(e.where.reason, "fewer than 24 fields");
        /* One that outgrew the buffer is refused. */
        f = fopen(path, "we");
        for (int i = 0; i < 5000; i++)
                fputc('1', f);
        fclose(f);
        cr_assert_eq(proc_sampler_read(s, &a, &e), -EFBIG);
        proc_sampler_free(s);
        snprintf(path, sizeof path, "rm -rf '%s'", root);
        cr_assert_eq(system(path), 0);
}

/* ---- groups ---- */

static void write_procs(const char *dir, const char *content) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        f = fopen(path, "we");
        cr_assert(f);
        fputs(content, f);
        fclose(f);
}

Test(group, sum_over_listed_processes) {
        char dir[] = "/tmp/test-procfs-group-XXXXXX", buf[256];
        pid_t a = spawn_threaded(2, 0), b = spawn_threaded(4, 0);
        struct proc_group *g = NULL;
        struct proc_group_sample gs;
        struct proc_read_error e;

        cr_assert(mkdtemp(dir));
        /* b twice (the kernel may list a pid twice) and a pid that is gone. */
        snprintf(buf, sizeof buf, "%d\n%d\n%d\n999999999\n", (int)a, (int)b, (int)b);
        write_procs(dir, buf);
        cr_assert_eq(proc_group_open(NULL, dir, PROC_SAMPLE_DEFAULT, &g), 0);
        cr_assert_eq(proc_group_read(g, &gs, &e), 0);
        cr_assert_eq(gs.n_pids, 4);
        cr_assert_eq(gs.n_summed, 2);
        cr_assert_eq(gs.n_gone, 1);
        cr_assert_eq(gs.n_failed, 0);
        cr_assert(!gs.truncated);
        cr_assert_eq(gs.sum.threads, 3 + 5);
        cr_assert(gs.sum.present & PROC_HAS_FDS);
        cr_assert_eq(gs.sum.present & PROC_HAS_START, 0);
        cr_assert_eq(gs.sum.fds, count_fds(a) + count_fds(b));

        /* a exits: the next sample keeps b's sampler and drops a's. */
        kill(a, SIGKILL);
        waitpid(a, NULL, 0);
        cr_assert_eq(proc_group_read(g, &gs, &e), 0);
        cr_assert_eq(gs.n_summed, 1);
        cr_assert_eq(gs.n_gone, 2);
        cr_assert_eq(gs.sum.threads, 5);

        /* An empty cgroup: zero sums, present. */
        write_procs(dir, "");
        cr_assert_eq(proc_group_read(g, &gs, &e), 0);
        cr_assert_eq(gs.n_pids, 0);
        cr_assert_eq(gs.sum.threads, 0);
        cr_assert(gs.sum.present & PROC_HAS_THREADS);

        /* Broken content. */
        write_procs(dir, "12\nabc\n");
        cr_assert_eq(proc_group_read(g, &gs, &e), -EBADMSG);
        cr_assert_str_eq(e.file, "cgroup.procs");
        cr_assert_eq(e.where.line, 2);
        write_procs(dir, "12");
        cr_assert_eq(proc_group_read(g, &gs, &e), -EBADMSG);
        cr_assert_str_eq(e.where.reason, "last line has no newline");
        proc_group_free(g);

        kill(b, SIGKILL);
        waitpid(b, NULL, 0);
        snprintf(buf, sizeof buf, "rm -rf '%s'", dir);
        cr_assert_eq(system(buf), 0);
        cr_assert_eq(proc_group_open(NULL, "/nonexistent", 0, &g), -ENOENT);
}

Test(group, bounded_and_long_lists) {
        char dir[] = "/tmp/test-procfs-group-XXXXXX", path[256];
        struct proc_group *g = NULL;
        struct proc_group_sample gs;
        FILE *f;

        cr_assert(mkdtemp(dir));
        /* 20000 entries (over 64 KiB): pid 1 and then gone pids; reading
         * stops at 64 KiB and the first 64 distinct pids are sampled. */
        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        f = fopen(path, "we");
        fprintf(f, "%d\n", (int)getpid());
        for (int i = 0; i < 20000; i++)
                fprintf(f, "%d\n", 1000000 + i);
        fclose(f);
        cr_assert_eq(proc_group_open(NULL, dir, 0, &g), 0);
        cr_assert_eq(proc_group_read(g, &gs, NULL), 0);
        cr_assert(gs.truncated);
        cr_assert_eq(gs.n_summed, 1);
        cr_assert_eq(gs.n_gone, PROC_GROUP_MAX_PIDS - 1);
        cr_assert_gt(gs.n_pids, 8000);
        cr_assert_lt(gs.n_pids, 20001);
        proc_group_free(g);
        snprintf(path, sizeof path, "rm -rf '%s'", dir);
        cr_assert_eq(system(path), 0);
}

/* Live: a real cgroup2 directory (this host's unified mount) with a
 * threaded child in it. */
Test(group, live_cgroup2) {
        char dir[128], path[200], buf[32];
        struct proc_group *g = NULL;
        struct proc_group_sample gs;
        pid_t a;
        int fd;

        if (geteuid() != 0 || access("/sys/fs/cgroup/unified/cgroup.procs", W_OK) != 0)
                cr_skip_test("needs root and a cgroup2 mount at /sys/fs/cgroup/unified");
        snprintf(dir, sizeof dir, "/sys/fs/cgroup/unified/test-procfs-%d", (int)getpid());
        cr_assert_eq(mkdir(dir, 0755), 0);
        a = spawn_threaded(3, 0);
        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        cr_assert(fd >= 0);
        snprintf(buf, sizeof buf, "%d", (int)a);
        cr_assert_eq(write(fd, buf, strlen(buf)), (ssize_t)strlen(buf));
        close(fd);
        cr_assert_eq(proc_group_open(NULL, dir, PROC_SAMPLE_DEFAULT, &g), 0);
        cr_assert_eq(proc_group_read(g, &gs, NULL), 0);
        cr_assert_eq(gs.n_pids, 1);
        cr_assert_eq(gs.sum.threads, 4);
        kill(a, SIGKILL);
        waitpid(a, NULL, 0);
        cr_assert_eq(proc_group_read(g, &gs, NULL), 0);
        cr_assert_eq(gs.n_pids, 0);
        proc_group_free(g);
        for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
                usleep(10000);
        cr_assert_eq(access(dir, F_OK), -1);
}

/* status every 3rd sample: the context switches at reads 1, 4 and 7 only,
 * absent (never stale) in between. */
Test(sampler, status_every_nth_sample) {
        struct proc_sampler *s = NULL;
        struct proc_sample a;
        unsigned seen = 0;

        cr_assert_eq(proc_sampler_open(NULL, getpid(), PROC_SAMPLE_CTXSW, &s), 0);
        proc_sampler_status_every(s, 3);
        for (unsigned i = 0; i < 7; i++) {
                cr_assert_eq(proc_sampler_read(s, &a, NULL), 0);
                cr_expect_eq(!!(a.present & PROC_HAS_CTXSW), i % 3 == 0, "read %u", i + 1);
                cr_expect_gt(a.threads, 0, "stat is read every time");
                seen += !!(a.present & PROC_HAS_CTXSW);
        }
        cr_expect_eq(seen, 3);
        proc_sampler_status_every(s, 0);          /* every sample again */
        cr_assert_eq(proc_sampler_read(s, &a, NULL), 0);
        cr_expect(a.present & PROC_HAS_CTXSW);
        cr_assert_eq(proc_sampler_read(s, &a, NULL), 0);
        cr_expect(a.present & PROC_HAS_CTXSW);
        proc_sampler_free(s);
}

/* The main process's own sample comes with the group's, from the same
 * read: its threads alone, and its status every status_every-th sample. */
Test(group, main_member_read_once) {
        char dir[] = "/tmp/test-procfs-main-XXXXXX", buf[256];
        pid_t a = spawn_threaded(2, 0), b = spawn_threaded(4, 0);
        struct proc_group *g = NULL;
        struct proc_group_sample gs;
        struct proc_read_error e;
        unsigned with_ctx = 0;

        cr_assert(mkdtemp(dir));
        snprintf(buf, sizeof buf, "%d\n%d\n", (int)a, (int)b);
        write_procs(dir, buf);
        cr_assert_eq(proc_group_open(NULL, dir, PROC_SAMPLE_DEFAULT, &g), 0);
        proc_group_set_main(g, b, PROC_SAMPLE_CTXSW, 3);
        for (int i = 0; i < 6; i++) {
                cr_assert_eq(proc_group_read(g, &gs, &e), 0);
                cr_assert(gs.has_main);
                cr_assert_eq(gs.main.threads, 5);
                cr_assert_eq(gs.sum.threads, 3 + 5);
                cr_assert(gs.main.present & PROC_HAS_FDS);
                /* The sum has no context switches: a's were never asked. */
                cr_assert_eq(gs.sum.present & PROC_HAS_CTXSW, 0);
                if (gs.main.present & PROC_HAS_CTXSW) {
                        cr_assert(gs.main.voluntary_ctxt_switches + gs.main.nonvoluntary_ctxt_switches > 0);
                        with_ctx++;
                }
        }
        cr_assert_eq(with_ctx, 2, "status read %u times in 6 samples, every 3rd expected", with_ctx);

        /* The main process gone: the group goes on without it. */
        kill(b, SIGKILL);
        waitpid(b, NULL, 0);
        cr_assert_eq(proc_group_read(g, &gs, &e), 0);
        cr_assert(!gs.has_main);
        cr_assert_eq(gs.sum.threads, 3);
        proc_group_free(g);

        kill(a, SIGKILL);
        waitpid(a, NULL, 0);
        snprintf(buf, sizeof buf, "rm -rf '%s'", dir);
        cr_assert_eq(system(buf), 0);
}
