/* sigrec FILE [--ignore-term]: record every signal received, one name per
 * line, into FILE; FILE.ready holds the pid once the handlers are set.
 * Exits 0 after recording SIGTERM or SIGINT (unless --ignore-term, then
 * TERM is recorded and otherwise ignored). Test helper. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
        sigset_t set;
        char path[4096];
        int fd, ignore_term = argc > 2 && strcmp(argv[2], "--ignore-term") == 0;
        FILE *f;

        if (argc < 2)
                return 2;
        /* Everything, the fault signals too (so a sent SIGSEGV is recorded):
         * a real fault of our own still kills, the kernel unblocks it. */
        sigfillset(&set);
        sigprocmask(SIG_BLOCK, &set, NULL);
        fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
                return 1;
        snprintf(path, sizeof path, "%s.ready", argv[1]);
        f = fopen(path, "we");
        if (!f)
                return 1;
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
        for (;;) {
                char line[32];
                int sig = sigwaitinfo(&set, NULL);
                const char *name;

                if (sig < 0)
                        continue;
                name = sigabbrev_np(sig);
                if (name)
                        snprintf(line, sizeof line, "%s\n", name);
                else
                        snprintf(line, sizeof line, "%d\n", sig);
                if (write(fd, line, strlen(line)) < 0)
                        return 1;
                if ((sig == SIGTERM && !ignore_term) || sig == SIGINT)
                        return 0;
        }
}
