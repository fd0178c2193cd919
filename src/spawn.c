/* spawn.c: vfork + exec with a clean child. See spawn.h.
 *
 * vfork, not fork: the parent is suspended until the child execs or exits,
 * so nothing is copied and the exec result is known when vfork returns.
 * The price: the child shares our memory and runs on our stack, so it may
 * only make system calls with data already on the stack. No malloc, no
 * stdio, no logging, and never return from the function that vforked.
 * No signal handler can run in the child meanwhile: gorral installs none
 * (signals come through a signalfd), and the child resets dispositions
 * before it unblocks anything. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "gorral/exitcodes.h"
#include "gorral/spawn.h"
#include "gorral/util.h"

/* Last-resort bound when neither close_range(2) nor /proc is available. */
#define SPAWN_CLOSE_FALLBACK_MAX 65536

int spawn_exit_status(int exec_errno) {
        return exec_errno == ENOENT || exec_errno == ENOTDIR ? GR_EXIT_NOTFOUND : GR_EXIT_NOEXEC;
}

bool spawn_we_own_tty(void) {
        pid_t fg;

        if (!isatty(STDIN_FILENO))
                return false;
        fg = tcgetpgrp(STDIN_FILENO);
        return fg > 0 && fg == getpgrp();
}

static int close_range_(unsigned first, unsigned last) {
#ifdef SYS_close_range
        if (syscall(SYS_close_range, first, last, 0) == 0)
                return 0;
        return -errno;
#else
        (void)first;
        (void)last;
        return -ENOSYS;
#endif
}

/* getdents64's record, declared here because musl builds have no kernel headers. */
struct dirent64_raw {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

/* Close every fd >= 3 but keep. Runs in the vfork child: stack only. */
static void close_fds_except(int keep) {
        char buf[4096] __attribute__((aligned(8)));
        int dfd;
        long n;

        if (keep <= 3) {
                if (keep == 3 ? close_range_(4, ~0U) == 0 : close_range_(3, ~0U) == 0)
                        return;
        } else if (close_range_(3, (unsigned)keep - 1) == 0 && close_range_((unsigned)keep + 1, ~0U) == 0)
                return;

        /* Kernels before 5.9: walk /proc/self/fd with raw getdents64
         * (opendir() would malloc). Closing while reading is fine: the
         * directory offset is the fd number. */
        dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
                        for (long off = 0; off < n;) {
                                struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
                                long fd = 0;
                                const char *c = d->d_name;

                                off += d->d_reclen;
                                if (*c < '0' || *c > '9')
                                        continue;
                                for (; *c >= '0' && *c <= '9' && fd < INT_MAX / 10; c++)
                                        fd = fd * 10 + (*c - '0');
                                if (fd >= 3 && fd != keep && fd != dfd)
                                        close((int)fd);
                        }
                }
                close(dfd);
                return;
        }
        /* No /proc either: close a bounded range. */
        {
                struct rlimit rl;
                long max = SPAWN_CLOSE_FALLBACK_MAX;

                if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < max)
                        max = (long)rl.rlim_cur;
                for (long fd = 3; fd < max; fd++)
                        if (fd != keep)
                                close((int)fd);
        }
}

/* execvpe() without its fallbacks: glibc runs a file that fails with
 * ENOEXEC through /bin/sh, musl does not; gorral wants the same answer
 * (126) from both builds. Search path (captured before vfork) as the
 * shell does; EACCES seen on the way wins over a later ENOENT. Returns
 * only on failure, with errno set. Runs in the vfork child: stack only. */
static void exec_search(const char *file, char *const *argv, char *const *envp, const char *path) {
        char buf[4096];
        bool eacces = false;
        size_t flen = strlen(file);

        if (strchr(file, '/')) {
                execve(file, argv, envp);
                return;
        }
        if (flen == 0 || flen >= sizeof buf - 2) {
                errno = flen ? ENAMETOOLONG : ENOENT;
                return;
        }
        for (const char *p = path, *e; ; p = e + 1) {
                size_t dlen;

                e = strchr(p, ':');
                if (!e)
                        e = p + strlen(p);
                dlen = (size_t)(e - p);
                if (dlen + 1 + flen < sizeof buf) {
                        /* An empty entry means the current directory. */
                        memcpy(buf, dlen ? p : ".", dlen ? dlen : 1);
                        dlen = dlen ? dlen : 1;
                        buf[dlen] = '/';
                        memcpy(buf + dlen + 1, file, flen + 1);
                        execve(buf, argv, envp);
                        switch (errno) {
                        case EACCES:
                                eacces = true;
                                break;
                        case ENOENT: case ENOTDIR: case ENAMETOOLONG: case ELOOP: case ENODEV: case ETIMEDOUT:
                        case ESTALE:
                                break;
                        default:
                                return;
                        }
                }
                if (!*e)
                        break;
        }
        errno = eacces ? EACCES : ENOENT;
}

/* The C library refuses sigaction() on the real-time signals it reserves
 * for itself (32 and 33 in glibc, 32-34 in musl), yet a parent may have
 * left them ignored and an ignored disposition survives exec. Reset them
 * with the raw system call; the kernel's struct has an 8-byte mask. */
static void reset_reserved_signal(int sig) {
        struct {
                void (*handler)(int);
                unsigned long flags;
                void (*restorer)(void);
                uint64_t mask;
        } ksa = { .handler = SIG_DFL };

        (void)syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof ksa.mask);
}

static _noreturn_ __attribute__((noinline)) void child(const struct spawn_params *p, int errfd, pid_t parent,
                                                       const char *path) {
        struct sigaction sa_dfl;
        sigset_t empty;
        int err;

        if (p->pdeathsig > 0) {
                if (prctl(PR_SET_PDEATHSIG, p->pdeathsig) < 0)
                        goto fail;
                /* gorral may have died before the prctl took effect. */
                if (getppid() != parent)
                        _exit(GR_EXIT_SYSTEM);
        }
        if (p->setsid) {
                if (setsid() < 0)
                        goto fail;
        } else {
                if (setpgid(0, 0) < 0)
                        goto fail;
                /* Give the terminal to the child's new group, as an
                 * interactive shell would; SIGTTOU is still ignored here
                 * (inherited from gorral), which tcsetpgrp() from a
                 * background group needs. */
                if (p->take_tty)
                        (void)tcsetpgrp(STDIN_FILENO, getpid());
        }

        /* Every disposition back to default (gorral ignores PIPE, TTIN,
         * TTOU; its own parent may have ignored others), then the mask
         * gorral started with. Errors (glibc's reserved real-time
         * signals) are irrelevant. */
        memset(&sa_dfl, 0, sizeof sa_dfl);
        sa_dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, &sa_dfl, NULL) < 0)
                        reset_reserved_signal(sig);
        sigemptyset(&empty);
        if (sigprocmask(SIG_SETMASK, p->sigmask ? p->sigmask : &empty, NULL) < 0)
                goto fail;

        close_fds_except(errfd);

        exec_search(p->argv[0], p->argv, p->envp, path);
fail:
        err = errno;
        (void)!write(errfd, &err, sizeof err);
        _exit(spawn_exit_status(err));
}

int spawn_process(const struct spawn_params *p, pid_t *ret_pid, int *ret_exec_errno) {
        int pfd[2], exec_errno = 0;
        pid_t parent = getpid(), pid;
        const char *path = getenv("PATH");
        ssize_t n;

        if (!p->argv || !p->argv[0] || !p->envp)
                return -EINVAL;
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return negative_errno();
        pid = vfork();
        if (pid < 0) {
                int r = negative_errno();
                safe_close(pfd[0]);
                safe_close(pfd[1]);
                return r;
        }
        if (pid == 0)
                child(p, pfd[1], parent, path && *path ? path : "/usr/local/bin:/usr/bin:/bin");

        safe_close(pfd[1]);
        /* EOF: exec closed the write end; an int: exec's errno. With vfork
         * this never blocks: the child has already exec'd or exited. */
        do
                n = read(pfd[0], &exec_errno, sizeof exec_errno);
        while (n < 0 && errno == EINTR);
        safe_close(pfd[0]);
        if (n != (ssize_t)sizeof exec_errno)
                exec_errno = 0;
        else if (exec_errno <= 0)
                exec_errno = EIO;
        *ret_pid = pid;
        *ret_exec_errno = exec_errno;
        return 0;
}
