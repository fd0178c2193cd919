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
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "gorral/exitcodes.h"
#include "gorral/signals.h"
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
        /* 0 == 0: gorral is in a PID namespace and the terminal's
         * foreground group is its own group, outside that namespace. */
        return fg >= 0 && fg == getpgrp();
}

int spawn_release_tty(void) {
        pid_t sid;

        if (!isatty(STDIN_FILENO))
                return 0;
        /* TIOCGSID answers only for our own controlling terminal: any
         * other is no session of ours, for the child to try. */
        if (ioctl(STDIN_FILENO, TIOCGSID, &sid) < 0)
                return 1;
        /* In a PID namespace whose session began outside, getsid() is 0:
         * not ours to give up. */
        if (getsid(0) != getpid())
                return -EPERM;
        if (ioctl(STDIN_FILENO, TIOCNOTTY) < 0)
                return negative_errno();
        return 1;
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

struct child_failure {
        int stage;
        int err;
};

/* Report where the child failed and exit; runs in the vfork child. */
static _noreturn_ void child_fail(int errfd, enum spawn_stage stage) {
        struct child_failure f = { .stage = (int)stage, .err = errno > 0 ? errno : EIO };

        (void)!write(errfd, &f, sizeof f);
        _exit(spawn_exit_status(stage == SPAWN_STAGE_EXEC ? f.err : EACCES));
}

static _noreturn_ __attribute__((noinline)) void child(const struct spawn_params *p, int errfd, pid_t parent,
                                                       const char *exe, size_t skip_procs) {
        sigset_t empty;

        if (p->pdeathsig > 0) {
                if (prctl(PR_SET_PDEATHSIG, p->pdeathsig) < 0)
                        child_fail(errfd, SPAWN_STAGE_SETUP);
                /* gorral may have died before the prctl took effect. */
                if (getppid() != parent)
                        _exit(GR_EXIT_SYSTEM);
        }
        if (p->setsid) {
                if (setsid() < 0)
                        child_fail(errfd, SPAWN_STAGE_SETUP);
                /* A session leader with a terminal on stdin takes it as its
                 * controlling terminal (dumb-init's setsid mode), so a shell
                 * has job control. Never stolen from another session (arg
                 * 0): spawn_release_tty() freed gorral's own. */
                if (p->take_tty)
                        (void)ioctl(STDIN_FILENO, TIOCSCTTY, 0);
        } else {
                if (setpgid(0, 0) < 0)
                        child_fail(errfd, SPAWN_STAGE_SETUP);
                /* Give the terminal to the child's new group, as an
                 * interactive shell would; SIGTTOU is still ignored here
                 * (inherited from gorral), which tcsetpgrp() from a
                 * background group needs. */
                if (p->take_tty)
                        (void)tcsetpgrp(STDIN_FILENO, getpid());
        }

        /* Enter the service's cgroups while still gorral's image: no
         * instant of the service runs outside them. */
        for (size_t i = 0; i < p->n_cgroup_procs_fds; i++)
                if (i != skip_procs && write(p->cgroup_procs_fds[i], "0", 1) != 1)
                        child_fail(errfd, SPAWN_STAGE_CGROUP);

        /* Credentials: groups first (they need privilege), the uid last. */
        if (p->has_gid) {
                if (setgroups(p->n_groups, p->groups) < 0 || setresgid(p->gid, p->gid, p->gid) < 0)
                        child_fail(errfd, SPAWN_STAGE_CREDENTIALS);
        }
        if (p->has_uid && setresuid(p->uid, p->uid, p->uid) < 0)
                child_fail(errfd, SPAWN_STAGE_CREDENTIALS);
        if (p->has_umask)
                umask(p->umask);
        if (p->working_dir && chdir(p->working_dir) < 0)
                child_fail(errfd, SPAWN_STAGE_CHDIR);

        /* The dispositions gorral itself changed back to what its own
         * parent left (exec keeps an ignored one, as tini does; it resets
         * a caught one), then the mask gorral started with. */
        signals_restore_in_child(p->keep_ignored);
        sigemptyset(&empty);
        if (sigprocmask(SIG_SETMASK, p->sigmask ? p->sigmask : &empty, NULL) < 0)
                child_fail(errfd, SPAWN_STAGE_SETUP);

        /* The pipes, last: nothing above writes to fds 1 or 2 (or reads
         * fd 0 but take_tty, which spawn_process() keeps apart). */
        if (p->stdin_fd > 0 && dup2(p->stdin_fd, STDIN_FILENO) < 0)
                child_fail(errfd, SPAWN_STAGE_SETUP);
        if (p->stdout_fd > 0 && dup2(p->stdout_fd, STDOUT_FILENO) < 0)
                child_fail(errfd, SPAWN_STAGE_SETUP);
        if (p->stderr_fd > 0 && dup2(p->stderr_fd, STDERR_FILENO) < 0)
                child_fail(errfd, SPAWN_STAGE_SETUP);

        close_fds_except(errfd);

        execve(exe, p->argv, p->envp);
        child_fail(errfd, SPAWN_STAGE_EXEC);
}

const char *spawn_stage_to_string(enum spawn_stage s) {
        switch (s) {
        case SPAWN_STAGE_NONE: return "none";
        case SPAWN_STAGE_SETUP: return "setup";
        case SPAWN_STAGE_CGROUP: return "cgroup";
        case SPAWN_STAGE_CREDENTIALS: return "credentials";
        case SPAWN_STAGE_CHDIR: return "chdir";
        case SPAWN_STAGE_EXEC: return "exec";
        }
        return "invalid";
}

/* As the shell searches: the first regular file that is executable wins;
 * a match that is not executable is remembered (EACCES) but the search
 * goes on. glibc's execvpe() would also run an ENOEXEC file through
 * /bin/sh and musl's would not: resolving here gives both builds one
 * answer (execve then fails with ENOEXEC: 126). */
int spawn_resolve(const char *file, const char *path, char **ret_exe) {
        size_t flen;
        bool eacces = false;

        if (!file || !*file)
                return -ENOENT;
        if (strchr(file, '/')) {
                char *c = strdup(file);

                if (!c)
                        return -ENOMEM;
                *ret_exe = c;
                return 0;
        }
        flen = strlen(file);
        if (flen > NAME_MAX)
                return -ENAMETOOLONG;
        if (!path || !*path)
                path = SPAWN_DEFAULT_PATH;
        for (const char *p = path;;) {
                const char *e = strchrnul(p, ':');
                size_t dlen = (size_t)(e - p);
                char *full;
                struct stat st;

                if (asprintf(&full, "%.*s/%s", dlen ? (int)dlen : 1, dlen ? p : ".", file) < 0)
                        return -ENOMEM;
                if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
                        if (access(full, X_OK) == 0) {
                                *ret_exe = full;
                                return 0;
                        }
                        eacces = true;
                }
                free(full);
                if (!*e)
                        break;
                p = e + 1;
        }
        return eacces ? -EACCES : -ENOENT;
}

int spawn_kill(pid_t target, int sig) {
        if (target == 0 || target == -1)
                return -EINVAL; /* never our own group or everyone */
        return kill(target, sig) < 0 ? negative_errno() : 0;
}

/* vfork in a frame of its own, whose arguments the child only reads: the
 * child never returns from here (child() and child_fail() exit). */
static __attribute__((noinline)) pid_t vfork_child(const struct spawn_params *p, int errfd, pid_t parent,
                                                   const char *exe, int search_err) {
        pid_t pid = vfork();

        if (pid == 0) {
                if (search_err) {
                        /* Unresolvable: report what the search found. */
                        errno = search_err;
                        child_fail(errfd, SPAWN_STAGE_EXEC);
                }
                child(p, errfd, parent, exe, SIZE_MAX);
        }
        return pid;
}

/* clone3's arguments (linux/sched.h, declared here: musl has no kernel
 * headers). */
struct clone_args_raw {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
                cgroup;
};
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define GR_CLONE_VFORK 0x00004000ULL
#define GR_CLONE_INTO_CGROUP 0x200000000ULL

/* The child created inside its v2 cgroup. Without CLONE_VM: a raw
 * system call cannot share the parent's stack the way vfork() does (the
 * child would overwrite the frame the parent returns through), so the
 * child gets its own copy of gorral's small address space; CLONE_VFORK
 * still holds the parent until the child has exec'd or exited, so the
 * exec result is known when this returns. -errno when clone3 or
 * CLONE_INTO_CGROUP is refused (the caller falls back to vfork). */
static pid_t clone3_child(const struct spawn_params *p, int errfd, pid_t parent, const char *exe, int search_err) {
        struct clone_args_raw a = {
                .flags = GR_CLONE_VFORK | GR_CLONE_INTO_CGROUP,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t)p->cgroup_v2_fd,
        };
        long pid = syscall(SYS_clone3, &a, sizeof a);

        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                if (search_err) {
                        errno = search_err;
                        child_fail(errfd, SPAWN_STAGE_EXEC);
                }
                child(p, errfd, parent, exe, p->cgroup_v2_index);
        }
        return (pid_t)pid;
}

int spawn_process(const struct spawn_params *p, struct spawn_result *ret) {
        struct child_failure f = { 0 };
        _cleanup_free_ char *resolved = NULL;
        const char *exe = p->exe;
        int pfd[2], search_err = 0;
        pid_t parent = getpid(), pid;
        ssize_t n;

        if (!p->argv || !p->argv[0] || !p->envp)
                return -EINVAL;
        /* 1 or 2 here would be overwritten by the other dup2, or be a no-op
         * that leaves the caller confused: refuse. */
        if ((p->stdout_fd != 0 && p->stdout_fd < 3) || (p->stderr_fd != 0 && p->stderr_fd < 3) ||
            (p->stdin_fd != 0 && p->stdin_fd < 3))
                return -EBADF;
        if (p->stdin_fd > 0 && p->take_tty)
                return -EINVAL;
        if (!exe) {
                int r = spawn_resolve(p->argv[0], env_lookup(p->envp, "PATH", 4), &resolved);

                if (r == -ENOMEM)
                        return r;
                /* Not found: still fork, so the failure is a child's exit
                 * with 127/126 like any other exec failure. */
                search_err = r < 0 ? -r : 0;
                exe = r < 0 ? p->argv[0] : resolved;
        }
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return negative_errno();
        pid = -ENOSYS;
        if (p->has_cgroup_v2_fd && p->cgroup_v2_fd >= 0)
                pid = clone3_child(p, pfd[1], parent, exe, search_err);
        /* No clone3 (kernel < 5.3, seccomp), no CLONE_INTO_CGROUP (< 5.7),
         * or a cgroup it refuses: the child writes its cgroup.procs. */
        if (pid < 0)
                pid = vfork_child(p, pfd[1], parent, exe, search_err);
        if (pid < 0) {
                int r = negative_errno();
                safe_close(pfd[0]);
                safe_close(pfd[1]);
                return r;
        }

        safe_close(pfd[1]);
        /* EOF: exec closed the write end; a record: where it failed. With
         * vfork this never blocks: the child has already exec'd or exited. */
        do
                n = read(pfd[0], &f, sizeof f);
        while (n < 0 && errno == EINTR);
        safe_close(pfd[0]);
        if (n != (ssize_t)sizeof f)
                f = (struct child_failure){ 0 };
        else if (f.err <= 0)
                f.err = EIO;
        *ret = (struct spawn_result){ .pid = pid, .err = f.err, .stage = f.err ? (enum spawn_stage)f.stage : SPAWN_STAGE_NONE };
        return 0;
}
