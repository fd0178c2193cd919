/* The supervised child used by the restart and signal benchmarks.
 *
 *   child stamp FILE MAX   append "S <mono ns>" at start; if this is start
 *                          number MAX, sleep until killed; otherwise append
 *                          "E <mono ns>" and exit 0 at once (a crash loop).
 *   child ready FIFO       write one byte to FIFO, then sleep until killed.
 *
 * It never touches its signal mask or dispositions: a supervisor that leaks
 * a blocked SIGTERM into its child shows up as a stop timeout. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

static int put_rec(int fd, char tag)
{
        char buf[REC_LEN + 1];

        snprintf(buf, sizeof buf, "%c %020llu\n", tag, (unsigned long long) mono_ns());
        return write(fd, buf, REC_LEN) == REC_LEN ? 0 : -1;
}

int main(int argc, char **argv)
{
        if (argc == 4 && strcmp(argv[1], "stamp") == 0) {
                uint64_t t = mono_ns(); /* as early as main allows */
                char buf[REC_LEN + 1];
                struct stat st;
                long max = atol(argv[3]);
                int fd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

                if (fd < 0)
                        return 111;
                snprintf(buf, sizeof buf, "S %020llu\n", (unsigned long long) t);
                if (write(fd, buf, REC_LEN) != REC_LEN || fstat(fd, &st) < 0)
                        return 111;
                if ((st.st_size / REC_LEN + 1) / 2 >= max)
                        for (;;)
                                pause();
                if (put_rec(fd, 'E') < 0)
                        return 111;
                _exit(0);
        }
        if (argc == 3 && strcmp(argv[1], "ready") == 0) {
                int fd = open(argv[2], O_WRONLY | O_CLOEXEC);

                if (fd < 0 || write(fd, "r", 1) != 1)
                        return 111;
                close(fd);
                for (;;)
                        pause();
        }
        fprintf(stderr, "usage: child stamp FILE MAX | child ready FIFO\n");
        return 2;
}
