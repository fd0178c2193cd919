/* spawn.h: starting a process (L2): the only caller of fork/exec.
 *
 * The child starts clean: every signal disposition back to SIG_DFL, the
 * signal mask gorral was started with, its own process group (or session),
 * only fds 0, 1 and 2, the environment given, optionally a parent-death
 * signal. An exec failure is reported back over a close-on-exec pipe, so
 * the caller knows it (and the 127/126 the child exits with) without a
 * race. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

struct spawn_params {
        char *const *argv;        /* argv[0] is looked up on PATH when it has no '/' */
        char *const *envp;
        const sigset_t *sigmask;  /* the mask to restore; NULL: empty */
        bool setsid;              /* new session instead of a new process group */
        bool take_tty;            /* make the child's group the foreground of fd 0 (a tty) */
        int pdeathsig;            /* signal on gorral's death; 0: none */
};

/* Start a process. On success returns 0 with *ret_pid, and
 * *ret_exec_errno 0 (exec succeeded) or the errno exec failed with: the
 * child has then already exited with spawn_exit_status(errno) and must
 * still be reaped. -errno when the process could not be created. */
int spawn_process(const struct spawn_params *p, pid_t *ret_pid, int *ret_exec_errno);

/* The shell's convention: 127 for "not found" (ENOENT, ENOTDIR), 126 for
 * every other exec failure (EACCES, ENOEXEC, ...). */
int spawn_exit_status(int exec_errno);

/* Should spawn_params.take_tty be set: is fd 0 a terminal whose
 * foreground group is ours? (Computed once by the caller.) */
bool spawn_we_own_tty(void);
