/* ignrt CMD ARGS: exec CMD with signals 32-34 ignored. The C library will
 * not touch these (it reserves them), so this uses the raw system call; a
 * supervisor that resets dispositions with sigaction() alone lets the
 * ignored state leak into its child. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct {
                void (*handler)(int);
                unsigned long flags;
                void (*restorer)(void);
                uint64_t mask;
        } ksa = { .handler = SIG_IGN };

        if (argc < 2) {
                fprintf(stderr, "usage: ignrt CMD [ARGS]\n");
                return 2;
        }
        for (int sig = 32; sig <= 34; sig++)
                if (syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof ksa.mask) < 0)
                        perror("rt_sigaction");
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        return 127;
}
