/* faulter KIND: block the signals gorral blocks (signals_handled_set(),
 * built with src/signals.c) and ignore TTIN/TTOU as gorral does, then
 * fault for real, to show that blocking the fault signals does not stop a
 * real fault from killing the process (the kernel's force_sig_fault()
 * unblocks and resets the signal; abort() unblocks SIGABRT itself):
 *   segv bus ill fpe trap abrt sys   die by that signal (the caller checks)
 *   pipe    write to a pipe nobody reads: the write fails with EPIPE and
 *           the SIGPIPE the kernel raises is pending, SI_USER from our own
 *           pid; prints "EPIPE code=C self=1" and exits 0
 * faulter trap-subreaper CMD [ARGS]: exec CMD under a seccomp filter that
 *   answers prctl(PR_SET_CHILD_SUBREAPER) with SIGSYS (SECCOMP_RET_TRAP, a
 *   forced signal): a real fault in gorral itself, after it has blocked
 *   its signals.
 * Test helper; x86-64 for trap and the seccomp filter. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gorral/signals.h"

/* The classic BPF and seccomp ABI, spelled out: musl builds have no
 * kernel headers. */
struct bpf_insn_ {
        uint16_t code;
        uint8_t jt, jf;
        uint32_t k;
};
struct bpf_prog_ {
        unsigned short len;
        struct bpf_insn_ *filter;
};
#define LD_W_ABS 0x20
#define JEQ_K 0x15
#define RET_K 0x06
#define RET_ALLOW 0x7fff0000U
#define RET_TRAP 0x00030000U
#define ARCH_X86_64 0xc000003eU
#define OFF_NR 0
#define OFF_ARCH 4
#define OFF_ARG0_LO 16
#ifndef PR_SET_NO_NEW_PRIVS
#define PR_SET_NO_NEW_PRIVS 38
#endif
#ifndef PR_SET_CHILD_SUBREAPER
#define PR_SET_CHILD_SUBREAPER 36
#endif

static int trap_subreaper_prctl(void) {
        struct bpf_insn_ f[] = {
                { LD_W_ABS, 0, 0, OFF_ARCH },
                { JEQ_K, 0, 5, ARCH_X86_64 },
                { LD_W_ABS, 0, 0, OFF_NR },
                { JEQ_K, 0, 3, SYS_prctl },
                { LD_W_ABS, 0, 0, OFF_ARG0_LO },
                { JEQ_K, 0, 1, PR_SET_CHILD_SUBREAPER },
                { RET_K, 0, 0, RET_TRAP },
                { RET_K, 0, 0, RET_ALLOW },
        };
        struct bpf_prog_ prog = { .len = sizeof f / sizeof f[0], .filter = f };

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, 2 /* FILTER */, &prog, 0, 0) < 0) {
                perror("seccomp");
                return -1;
        }
        return 0;
}

static void block_like_gorral(void) {
        struct sigaction ign = { .sa_handler = SIG_IGN };
        sigset_t set;

        signals_handled_set(&set);
        sigprocmask(SIG_BLOCK, &set, NULL);
        sigaction(SIGTTIN, &ign, NULL);
        sigaction(SIGTTOU, &ign, NULL);
}

int main(int argc, char **argv) {
        const char *kind = argc > 1 ? argv[1] : "";

        if (strcmp(kind, "trap-subreaper") == 0 && argc > 2) {
                if (trap_subreaper_prctl() < 0)
                        return 2;
                execvp(argv[2], argv + 2);
                perror(argv[2]);
                return 127;
        }
        block_like_gorral();
        if (strcmp(kind, "segv") == 0) {
                *(volatile int *)(uintptr_t)8 = 1;
        } else if (strcmp(kind, "bus") == 0) {
                /* A mapping past the end of an empty file. */
                FILE *t = tmpfile();
                volatile char *p = t ? mmap(NULL, 4096, PROT_READ, MAP_SHARED, fileno(t), 0) : MAP_FAILED;

                if (p == MAP_FAILED)
                        return 3;
                (void)p[0];
        } else if (strcmp(kind, "ill") == 0) {
                __builtin_trap();
        } else if (strcmp(kind, "fpe") == 0) {
                volatile int zero = 0, x = 1;

                x /= zero;
        } else if (strcmp(kind, "trap") == 0) {
#if defined(__x86_64__) || defined(__i386__)
                __asm__ volatile("int3");
#else
                return 4;
#endif
        } else if (strcmp(kind, "abrt") == 0) {
                abort();
        } else if (strcmp(kind, "sys") == 0) {
                if (trap_subreaper_prctl() < 0)
                        return 2;
                prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        } else if (strcmp(kind, "pipe") == 0) {
                sigset_t pipe_set;
                siginfo_t si;
                int p[2];
                struct timespec zero = { 0, 0 };

                if (pipe(p) < 0)
                        return 3;
                close(p[0]);
                if (write(p[1], "x", 1) >= 0 || errno != EPIPE)
                        return 5;
                sigemptyset(&pipe_set);
                sigaddset(&pipe_set, SIGPIPE);
                if (sigtimedwait(&pipe_set, &si, &zero) != SIGPIPE)
                        return 6;
                printf("EPIPE code=%d self=%d\n", si.si_code, si.si_pid == getpid());
                return 0;
        } else {
                fprintf(stderr, "usage: faulter segv|bus|ill|fpe|trap|abrt|sys|pipe | trap-subreaper CMD...\n");
                return 2;
        }
        return 1; /* survived the fault: the claim is wrong */
}
