/* SIGTERM-to-exit latency of a supervisor.
 *
 *   sigterm N OUTFILE FIFO TIMEOUT_MS LOG CMD ARGS...
 *
 * N times: start CMD ARGS (the supervisor, whose child is "child ready
 * FIFO"), wait until the child has written its byte to FIFO, send SIGTERM to
 * the supervisor and time until waitpid() returns it. Samples (ns) go to
 * OUTFILE (appended); a run that times out is killed and recorded as TIMEOUT_MS.
 * The supervisor's stderr is appended to LOG. This program is a child
 * subreaper, so a child the supervisor leaves behind comes back here: it is
 * counted, killed and reaped. A summary line goes to stderr: runs timeouts
 * not_ready leftovers exit_status[ (varies)]. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static int kill_leftovers(void)
{
        char path[64], buf[4096], *p, *end;
        int fd, count = 0;
        ssize_t n;

        snprintf(path, sizeof path, "/proc/self/task/%d/children", (int) getpid());
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        for (p = buf;; p = end) {
                long pid = strtol(p, &end, 10);

                if (end == p)
                        break;
                if (pid > 0) {
                        kill((pid_t) pid, SIGKILL);
                        waitpid((pid_t) pid, NULL, 0);
                        count++;
                }
        }
        return count;
}

int main(int argc, char **argv)
{
        long n, timeout_ms, timeouts = 0, leftovers = 0, nostart = 0;
        int fifo, devnull, logfd, first_status = -1, odd_status = 0;
        FILE *out;

        if (argc < 7 || (n = atol(argv[1])) <= 0 || n > 10000 ||
            (timeout_ms = atol(argv[4])) <= 0) {
                fprintf(stderr, "usage: sigterm N OUTFILE FIFO TIMEOUT_MS LOG CMD ARGS...\n");
                return 2;
        }
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return 1;
        /* O_RDWR keeps a writer open, so reads block instead of seeing EOF. */
        fifo = open(argv[3], O_RDWR | O_CLOEXEC | O_NONBLOCK);
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        logfd = open(argv[5], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        out = fopen(argv[2], "ae"); /* appended: run.sh interleaves rounds */
        if (fifo < 0 || devnull < 0 || logfd < 0 || !out)
                return 1;

        for (long i = 0; i < n; i++) {
                struct pollfd pfd = { .fd = fifo, .events = POLLIN };
                uint64_t t0, t1;
                int status, pidfd;
                char c;
                pid_t pid = fork();

                if (pid < 0)
                        return 1;
                if (pid == 0) {
                        dup2(devnull, 0);
                        dup2(devnull, 1);
                        dup2(logfd, 2);
                        execv(argv[6], &argv[6]);
                        _exit(127);
                }
                pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
                if (poll(&pfd, 1, 10000) != 1 || read(fifo, &c, 1) != 1) {
                        nostart++;
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        leftovers += kill_leftovers();
                        if (pidfd >= 0)
                                close(pidfd);
                        continue;
                }
                t0 = mono_ns();
                kill(pid, SIGTERM);
                pfd = (struct pollfd){ .fd = pidfd, .events = POLLIN };
                if (pidfd < 0 || poll(&pfd, 1, (int) timeout_ms) != 1) {
                        timeouts++;
                        kill(pid, SIGKILL);
                }
                waitpid(pid, &status, 0);
                t1 = mono_ns();
                if (pidfd >= 0)
                        close(pidfd);
                if (t1 - t0 > (uint64_t) timeout_ms * 1000000ull)
                        t1 = t0 + (uint64_t) timeout_ms * 1000000ull;
                fprintf(out, "%llu\n", (unsigned long long) (t1 - t0));
                if (first_status < 0)
                        first_status = status;
                else if (status != first_status)
                        odd_status++;
                leftovers += kill_leftovers();
        }
        fclose(out);
        fprintf(stderr, "%ld %ld %ld %ld %d%s\n", n,
                timeouts, nostart, leftovers,
                first_status < 0 ? -1
                : WIFEXITED(first_status) ? WEXITSTATUS(first_status)
                                          : 128 + WTERMSIG(first_status),
                odd_status ? " (varies)" : "");
        return 0;
}
