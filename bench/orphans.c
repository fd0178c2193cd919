/* Orphan-reaping load for a supervisor running as PID 1.
 *
 *   orphans N OUTFILE
 *
 * Creates N orphans (double fork: each intermediate child forks a
 * grandchild and exits, so the grandchild is re-parented to PID 1 of the
 * namespace, the supervisor under test). Every orphan blocks on one pipe;
 * closing its write end releases them all at once. Then it waits until the
 * kernel has forgotten every orphan (kill(pid, 0) fails with ESRCH only
 * once the zombie is reaped) and writes "N ns ppid" to OUTFILE, where ns is
 * release -> last orphan reaped and ppid is the first orphan's parent (1 if
 * the re-parenting went to the supervisor).
 *
 * It does not also time the exits themselves with pidfds: holding 2000
 * pidfds open doubled the exit time here and would swamp the reaper's
 * share. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static long parent_of(pid_t pid)
{
        char path[64], buf[512], *p;
        ssize_t n;
        int fd;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = 0;
        p = strrchr(buf, ')');
        if (!p)
                return -1;
        return strtol(p + 4, NULL, 10); /* ") S PPID" */
}

int main(int argc, char **argv)
{
        const struct timespec nap = { 0, 20000 };
        int barrier[2], report[2];
        long n, ppid;
        uint64_t t0, t1;
        pid_t *pids;
        FILE *out;

        if (argc != 3 || (n = atol(argv[1])) <= 0 || n > 20000) {
                fprintf(stderr, "usage: orphans N OUTFILE\n");
                return 2;
        }
        pids = calloc((size_t) n, sizeof *pids);
        if (!pids || pipe(barrier) < 0 || pipe(report) < 0)
                return 1;
        for (long i = 0; i < n; i++) {
                pid_t mid = fork();

                if (mid < 0) {
                        perror("fork");
                        return 1;
                }
                if (mid == 0) {
                        pid_t g = fork();

                        if (g == 0) {
                                char c;

                                close(barrier[1]);
                                close(report[1]);
                                while (read(barrier[0], &c, 1) < 0 && errno == EINTR)
                                        ;
                                _exit(0);
                        }
                        if (g < 0 || write(report[1], &g, sizeof g) != sizeof g)
                                _exit(1);
                        _exit(0);
                }
                if (read(report[0], &pids[i], sizeof pids[i]) != sizeof pids[i]) {
                        fprintf(stderr, "orphans: lost a grandchild pid\n");
                        return 1;
                }
                while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        ppid = parent_of(pids[0]);
        /* Let the last orphans reach their read() before the release. */
        nanosleep(&(struct timespec){ 0, 100000000 }, NULL);

        t0 = mono_ns();
        close(barrier[1]);
        for (long i = 0; i < n; i++)
                while (kill(pids[i], 0) == 0)
                        nanosleep(&nap, NULL);
        t1 = mono_ns();

        out = fopen(argv[2], "we");
        if (!out)
                return 1;
        fprintf(out, "%ld %llu %ld\n", n, (unsigned long long) (t1 - t0), ppid);
        fclose(out);
        return 0;
}
