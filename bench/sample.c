/* CPU cost of one monitoring sample: procfs (one process) plus its cgroup.
 *
 *   sample [-n N] [-m MODE]      (root: it makes its own cgroups)
 *
 * Makes a v1 cpu cgroup with a 0.5 CPU quota, v1 memory and pids cgroups
 * and a cgroup2 directory (this host's hybrid layout), starts one sleeping
 * child in all of them, and times N samples (default 10000) of it with
 * CLOCK_THREAD_CPUTIME_ID, per mode:
 *   proc      proc_sampler_read (stat + fd count)
 *   proc+ctx  the same with /proc/PID/status (context switches)
 *   cgroup    cg_sampler_read (every file of the cgroups, pressure included)
 *   cgroup-nopsi  the same without the three pressure files
 *   all       proc + cgroup: one service's sample, as the monitor takes it
 *   all-psi/2 the same with pressure_every = 2
 *   monitor   what a watched service's sample is by default at intervals up
 *             to 10 s (monitor.c) when the service has no cgroup of its own
 *             (gorral run -- CMD): proc+ctx with status every 4th sample,
 *             and the cgroup with pressure every 2nd
 *   service   the same for a service in its own cgroup (a file's services,
 *             the default): cgroup.procs, then stat and the fd count of
 *             each process listed (here one, the main one, whose status
 *             comes every 4th), and the cgroup with pressure every 2nd
 *   service-2stat  the same with the main process's stat read a second
 *             time by a sampler of its own, as monitor.c did before
 * Output: one line per mode, "MODE N us_per_sample files". Under
 * `valgrind --tool=callgrind --toggle-collect=one_sample` the instruction
 * count of one_sample() over N samples is what bench/sample.sh reports
 * (user space only: the kernel's side of each read is not counted there).
 * Everything it makes is removed on exit. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gorral/cgstat.h"
#include "gorral/procfs.h"

static char dirs[4][128];
static const char *const roots[4] = { "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids",
                                      "/sys/fs/cgroup/unified" };
static pid_t child = -1;

static void cleanup(void) {
        if (child > 0) {
                kill(child, SIGKILL);
                waitpid(child, NULL, 0);
        }
        for (int i = 0; i < 4; i++)
                if (dirs[i][0])
                        for (int k = 0; k < 100 && rmdir(dirs[i]) < 0 && errno == EBUSY; k++)
                                usleep(10000);
}

static int write_file(const char *dir, const char *name, const char *s) {
        char path[256];
        int fd, ok;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
        close(fd);
        return ok ? 0 : -1;
}

static double cpu_ns(void) {
        struct timespec t;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* One sample: what the monitor does per service per interval. Not
 * inlined, so callgrind can count it alone. */
__attribute__((noinline)) int one_sample(struct proc_sampler *p, struct proc_group *g, struct cg_sampler *c);
__attribute__((noinline)) int one_sample(struct proc_sampler *p, struct proc_group *g, struct cg_sampler *c) {
        struct proc_sample ps;
        struct proc_group_sample gs;
        struct cg_usage u;
        int r = 0;

        if (p && proc_sampler_read(p, &ps, NULL) < 0)
                r = -1;
        if (g && (proc_group_read(g, &gs, NULL) < 0 || gs.n_summed != 1))
                r = -1;
        if (c && cg_sampler_read(c, &u, NULL) != 0)
                r = -1;
        return r;
}

int main(int argc, char **argv) {
        const char *only = NULL;
        long n = 10000;
        int opt;
        static const struct {
                const char *name;
                bool proc, ctx, cg, psi, group;
        } modes[] = {
                { "proc", true, false, false, false, false },
                { "proc+ctx", true, true, false, false, false },
                { "cgroup", false, false, true, true, false },
                { "cgroup-nopsi", false, false, true, false, false },
                { "all", true, false, true, true, false },
                { "all-psi/2", true, false, true, true, false },
                { "monitor", true, true, true, true, false },
                /* A file's service in its own cgroup, as monitor.c samples
                 * it: cgroup.procs, each process's stat and fd count (the
                 * main one's status every 4th), the cgroup files. */
                { "service", false, true, true, true, true },
                /* The same as before the main process came from the
                 * group's read: its stat read a second time. */
                { "service-2stat", true, true, true, true, true },
        };

        while ((opt = getopt(argc, argv, "n:m:")) != -1) {
                if (opt == 'n')
                        n = atol(optarg);
                else if (opt == 'm')
                        only = optarg;
                else
                        return 2;
        }
        if (n <= 0)
                return 2;
        if (geteuid() != 0) {
                fprintf(stderr, "sample: needs root (it makes cgroups)\n");
                return 77;
        }
        atexit(cleanup);
        for (int i = 0; i < 4; i++) {
                snprintf(dirs[i], sizeof dirs[i], "%s/bench-sample-%d", roots[i], (int)getpid());
                if (mkdir(dirs[i], 0755) < 0) {
                        fprintf(stderr, "sample: mkdir %s: %s\n", dirs[i], strerror(errno));
                        dirs[i][0] = '\0';
                        return 1;
                }
        }
        if (write_file(dirs[0], "cpu.cfs_quota_us", "50000") < 0)
                return 1;
        child = fork();
        if (child < 0)
                return 1;
        if (child == 0) {
                for (int i = 0; i < 4; i++)
                        if (write_file(dirs[i], "cgroup.procs", "0") < 0)
                                _exit(1);
                for (;;)
                        pause();
        }
        for (int tries = 0;; tries++) {
                char path[256];
                FILE *f;
                int pid = 0;

                snprintf(path, sizeof path, "%s/cgroup.procs", dirs[3]);
                f = fopen(path, "re");
                if (f && fscanf(f, "%d", &pid) != 1)
                        pid = 0;
                if (f)
                        fclose(f);
                if (pid == child)
                        break;
                if (tries > 200) {
                        fprintf(stderr, "sample: the child did not enter its cgroups\n");
                        return 1;
                }
                usleep(5000);
        }

        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
                struct proc_sampler *p = NULL;
                struct proc_group *g = NULL;
                struct cg_sampler *c = NULL;
                char quota[200];
                size_t files = 0;
                double t0, t1;

                if (only && strcmp(only, modes[m].name) != 0)
                        continue;
                if (modes[m].group) {
                        if (proc_group_open(NULL, dirs[3], PROC_SAMPLE_DEFAULT, &g) < 0)
                                return 1;
                        if (!modes[m].proc)
                                proc_group_set_main(g, child, PROC_SAMPLE_CTXSW, 4);
                        files += modes[m].proc ? 3 : 4;
                }
                if (modes[m].proc) {
                        unsigned what = (modes[m].ctx ? PROC_SAMPLE_CTXSW : 0) | (g ? 0 : PROC_SAMPLE_FDS);

                        if (proc_sampler_open(NULL, child, what, &p) < 0)
                                return 1;
                        if (modes[m].ctx && strcmp(modes[m].name, "proc+ctx") != 0)
                                proc_sampler_status_every(p, 4);
                        files += modes[m].ctx ? 2 : 1;
                        files += g ? 0 : 1;
                }
                if (modes[m].cg) {
                        const char *const *fl;

                        snprintf(quota, sizeof quota, "%s/cpu.stat", dirs[0]);
                        if (cg_sampler_open(&(struct cg_sampler_paths){ .v2_dir = dirs[3], .cpu_dir = dirs[0],
                                                                        .memory_dir = dirs[1], .pids_dir = dirs[2],
                                                                        .quota_cpu_stat = quota,
                                                                        .no_pressure = !modes[m].psi,
                                                                        .pressure_every = strchr(modes[m].name, '/') ||
                                                                                          !strcmp(modes[m].name, "monitor") ||
                                                                                          g ? 2 : 1 },
                                            &c) < 0)
                                return 1;
                        files += cg_sampler_files(c, &fl);
                }
                if (one_sample(p, g, c) < 0) {
                        fprintf(stderr, "sample: %s: a read failed\n", modes[m].name);
                        return 1;
                }
                t0 = cpu_ns();
                for (long i = 0; i < n; i++)
                        one_sample(p, g, c);
                t1 = cpu_ns();
                printf("%s %ld %.2f %zu\n", modes[m].name, n, (t1 - t0) / 1e3 / (double)n, files);
                proc_sampler_free(p);
                proc_group_free(g);
                cg_sampler_free(c);
        }
        return 0;
}
