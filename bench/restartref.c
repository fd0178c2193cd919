/* Restart-latency helpers.
 *
 *   restartref run N CHILD DIR     the reference: a minimal C supervisor that
 *       forks and execs "CHILD stamp DIR/ref.stamps BIG" N times in a loop,
 *       waiting for each to exit before starting the next. Writes
 *       DIR/direct.ns  (fork() call -> first stamp in the child's main) and
 *       DIR/ideal.ns   (child's last stamp before exit -> next child's main),
 *       both appended to, as run.sh interleaves rounds.
 *   restartref deltas FILE         print, one per line in ns, the gaps from
 *       each "E" record (child about to exit) to the next "S" record (the
 *       next child running) of a stamp file written by child.c.
 *
 * Done in C because the monotonic nanosecond counts overflow awk's doubles
 * on a machine with a long uptime. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_RECS 100000

static long load(const char *path, char *tags, uint64_t *vals)
{
        char line[64];
        long n = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return -1;
        while (n < MAX_RECS && fgets(line, sizeof line, f)) {
                if ((line[0] != 'S' && line[0] != 'E') || line[1] != ' ')
                        continue;
                tags[n] = line[0];
                vals[n] = strtoull(line + 2, NULL, 10);
                n++;
        }
        fclose(f);
        return n;
}

static int deltas(const char *path, FILE *out)
{
        static char tags[MAX_RECS];
        static uint64_t vals[MAX_RECS];
        long n = load(path, tags, vals);

        if (n < 0)
                return 1;
        for (long i = 0; i + 1 < n; i++)
                if (tags[i] == 'E' && tags[i + 1] == 'S')
                        fprintf(out, "%llu\n", (unsigned long long) (vals[i + 1] - vals[i]));
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 3 && strcmp(argv[1], "deltas") == 0)
                return deltas(argv[2], stdout);
        if (argc == 5 && strcmp(argv[1], "run") == 0) {
                static char tags[MAX_RECS];
                static uint64_t vals[MAX_RECS];
                char stamps[4096], path[4096];
                long n = atol(argv[2]), got, k = 0;
                uint64_t *t0;
                FILE *f;

                if (n <= 0 || n > MAX_RECS / 2)
                        return 2;
                t0 = calloc((size_t) n, sizeof *t0);
                if (!t0)
                        return 1;
                snprintf(stamps, sizeof stamps, "%s/ref.stamps", argv[4]);
                unlink(stamps);
                for (long i = 0; i < n; i++) {
                        int status;
                        pid_t pid;

                        t0[i] = mono_ns();
                        pid = fork();
                        if (pid < 0)
                                return 1;
                        if (pid == 0) {
                                execl(argv[3], argv[3], "stamp", stamps, "1000000000", (char *) NULL);
                                _exit(127);
                        }
                        while (waitpid(pid, &status, 0) < 0)
                                if (errno != EINTR)
                                        return 1;
                }
                got = load(stamps, tags, vals);
                if (got != 2 * n) {
                        fprintf(stderr, "restartref: %ld records, expected %ld\n", got, 2 * n);
                        return 1;
                }
                snprintf(path, sizeof path, "%s/direct.ns", argv[4]);
                f = fopen(path, "ae");
                if (!f)
                        return 1;
                for (long i = 0; i < got; i++)
                        if (tags[i] == 'S')
                                fprintf(f, "%llu\n", (unsigned long long) (vals[i] - t0[k++]));
                fclose(f);
                snprintf(path, sizeof path, "%s/ideal.ns", argv[4]);
                f = fopen(path, "ae");
                if (!f)
                        return 1;
                deltas(stamps, f);
                fclose(f);
                return 0;
        }
        fprintf(stderr, "usage: restartref run N CHILD DIR | restartref deltas FILE\n");
        return 2;
}
