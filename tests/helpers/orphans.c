/* orphans N [PPIDFILE]: fork N children, then exit at once, so all N are
 * re-parented at the same moment; they wait for that (EOF on a pipe the
 * parent held) and exit together. With PPIDFILE, the first child records
 * its new parent's pid there (after waiting, bounded, for the re-parenting
 * to show). Test helper. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
        int p[2], n;
        pid_t me = getpid();

        if (argc < 2 || (n = atoi(argv[1])) <= 0 || pipe(p) < 0)
                return 2;
        for (int i = 0; i < n; i++) {
                pid_t pid = fork();
                char c;

                if (pid < 0) {
                        perror("fork");
                        return 1;
                }
                if (pid > 0)
                        continue;
                close(p[1]);
                while (read(p[0], &c, 1) > 0)
                        ;
                if (i == 0 && argc > 2) {
                        struct timespec ts = { 0, 1000000 };
                        FILE *f;

                        for (int k = 0; k < 2000 && getppid() == me; k++)
                                nanosleep(&ts, NULL);
                        f = fopen(argv[2], "we");
                        if (f) {
                                fprintf(f, "%d\n", (int)getppid());
                                fclose(f);
                        }
                }
                _exit(0);
        }
        return 0;
}
