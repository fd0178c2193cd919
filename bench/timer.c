/* Wall-clock timer for short commands: fork, exec, waitpid, CLOCK_MONOTONIC.
 *
 *   timer N WARMUP OUTDIR NAME CMD ARGS... [:: NAME CMD ARGS...]...
 *
 * Runs every command WARMUP + N times, interleaved round by round (the
 * order rotates each round) so that drift in the machine's state hits every
 * command alike, and writes the N kept samples (ns) to OUTDIR/NAME.ns.
 * stdin, stdout and stderr of the commands go to /dev/null. A command that
 * exits non-zero is counted and reported; its sample is kept. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_CMDS 16

struct cmd {
        const char *name;
        char **argv;
        uint64_t *samples;
        long failures;
};

static uint64_t run_once(struct cmd *c, int devnull)
{
        uint64_t t0, t1;
        int status;
        pid_t pid;

        t0 = mono_ns();
        pid = fork();
        if (pid < 0) {
                perror("fork");
                exit(1);
        }
        if (pid == 0) {
                dup2(devnull, 0);
                dup2(devnull, 1);
                dup2(devnull, 2);
                execv(c->argv[0], c->argv);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        perror("waitpid");
                        exit(1);
                }
        t1 = mono_ns();
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                c->failures++;
        return t1 - t0;
}

int main(int argc, char **argv)
{
        struct cmd cmds[MAX_CMDS];
        int ncmds = 0, devnull;
        long n, warm;

        if (argc < 6) {
                fprintf(stderr, "usage: timer N WARMUP OUTDIR NAME CMD ARGS... [:: NAME CMD...]\n");
                return 2;
        }
        n = atol(argv[1]);
        warm = atol(argv[2]);
        if (n <= 0 || n > 100000 || warm < 0 || warm > 100000)
                return 2;
        for (int i = 4; i < argc;) {
                int j = i + 1;

                if (ncmds == MAX_CMDS || j >= argc)
                        return 2;
                while (j < argc && strcmp(argv[j], "::") != 0)
                        j++;
                cmds[ncmds].name = argv[i];
                cmds[ncmds].argv = &argv[i + 1];
                cmds[ncmds].failures = 0;
                cmds[ncmds].samples = calloc((size_t) n, sizeof(uint64_t));
                if (!cmds[ncmds].samples)
                        return 1;
                if (j < argc)
                        argv[j] = NULL; /* terminates this command's argv */
                ncmds++;
                i = j + 1;
        }
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0)
                return 1;
        for (long r = 0; r < warm + n; r++)
                for (int k = 0; k < ncmds; k++) {
                        struct cmd *c = &cmds[(k + r) % ncmds];
                        uint64_t t = run_once(c, devnull);

                        if (r >= warm)
                                c->samples[r - warm] = t;
                }
        for (int k = 0; k < ncmds; k++) {
                char path[4096];
                FILE *f;

                snprintf(path, sizeof path, "%s/%s.ns", argv[3], cmds[k].name);
                f = fopen(path, "we");
                if (!f) {
                        perror(path);
                        return 1;
                }
                for (long i = 0; i < n; i++)
                        fprintf(f, "%llu\n", (unsigned long long) cmds[k].samples[i]);
                fclose(f);
                if (cmds[k].failures)
                        fprintf(stderr, "timer: %s: %ld of %ld runs exited non-zero\n",
                                cmds[k].name, cmds[k].failures, warm + n);
        }
        return 0;
}
