/* spawn.h: starting a process (L2): the only caller of fork/exec.
 *
 * The child starts clean: the signal dispositions gorral changed (TTIN,
 * TTOU, CHLD) back to what its parent left (keep_ignored; every other one
 * reaches the child through exec as gorral got it), the signal mask
 * gorral was started with, its own process group (or session),
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
        const char *exe;          /* the file to execute, already resolved
                                   * (spawn_resolve()); NULL: resolve argv[0]
                                   * on the PATH of envp */
        const sigset_t *sigmask;  /* the mask to restore; NULL: empty */
        /* Signals that were ignored when gorral started stay ignored in the
         * child (exec(2) and tini keep them: `nohup gorral run` protects
         * the service): signals_ignored_at_start(). NULL: the ones gorral
         * changed go back to SIG_DFL. */
        const sigset_t *keep_ignored;
        bool setsid;              /* new session instead of a new process group */
        bool take_tty;            /* new group: make it the foreground of fd 0 (a tty);
                                   * setsid: make fd 0 the controlling terminal */
        int pdeathsig;            /* signal on gorral's death; 0: none */
        /* Cgroups the child enters before it execs (so it never runs
         * outside them): it writes "0" to each of these open cgroup.procs
         * fds, which moves the writer itself (v1 and v2). */
        const int *cgroup_procs_fds;
        size_t n_cgroup_procs_fds;
        /* cgroup v2: the child is created in this cgroup directory
         * (clone3(CLONE_INTO_CGROUP), Linux >= 5.7), so the kernel never
         * moves it; cgroup_procs_fds[cgroup_v2_index] is then not written.
         * Where clone3 is refused, the child writes that fd like the others. */
        bool has_cgroup_v2_fd;
        int cgroup_v2_fd;
        size_t cgroup_v2_index;
        /* Credentials and process attributes (set when the has_ flag is). */
        bool has_gid;
        gid_t gid;
        const gid_t *groups;      /* supplementary groups (with has_gid) */
        size_t n_groups;
        bool has_uid;
        uid_t uid;
        bool has_umask;
        mode_t umask;
        const char *working_dir;  /* NULL: gorral's */
        /* Put these on the child's fds 1 and 2 (the write ends of the
         * output.prefix pipes; dup2 clears their close-on-exec flag on the
         * copy). 0: inherit gorral's. Otherwise >= 3, else -EBADF. */
        int stdout_fd, stderr_fd;
        /* The same for fd 0 (the read end of an exec hook's stdin pipe,
         * hook.h). 0: inherit gorral's. Not with take_tty (the terminal
         * is gorral's fd 0): -EINVAL. */
        int stdin_fd;
};

/* Where the child failed, when it did (spawn_result.stage). */
enum spawn_stage {
        SPAWN_STAGE_NONE,     /* exec succeeded */
        SPAWN_STAGE_SETUP,    /* session, terminal, signals, pdeathsig */
        SPAWN_STAGE_CGROUP,   /* entering its cgroups */
        SPAWN_STAGE_CREDENTIALS, /* setgroups/setgid/setuid */
        SPAWN_STAGE_CHDIR,
        SPAWN_STAGE_EXEC,
};
const char *spawn_stage_to_string(enum spawn_stage s);

struct spawn_result {
        pid_t pid;
        int err;                /* 0, or the errno the child failed with */
        enum spawn_stage stage; /* where it failed */
};

/* Start a process. On success returns 0 with ret->pid; ret->err is 0
 * (exec succeeded) or the errno a setup step or exec failed with: the
 * child has then already exited with spawn_exit_status(err) and must
 * still be reaped. -errno when the process could not be created. */
int spawn_process(const struct spawn_params *p, struct spawn_result *ret);

/* The one PATH search (gorral exec, the supervisor, and the build-info
 * reader all use it, so the file inspected is the file executed). file
 * with a '/' is taken as is; otherwise each entry of path (NULL or "":
 * SPAWN_DEFAULT_PATH; an empty entry is the current directory) is tried
 * for a regular, executable file. -ENOENT none found, -EACCES only
 * non-executable ones, -ENAMETOOLONG, -ENOMEM. */
#define SPAWN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
int spawn_resolve(const char *file, const char *path, char **ret_exe);

/* The shell's convention: 127 for "not found" (ENOENT, ENOTDIR), 126 for
 * every other exec failure (EACCES, ENOEXEC, ...). */
int spawn_exit_status(int exec_errno);

/* The one sender of signals to processes (kill(2); pidfd_send_signal
 * later). target is a pid or -pgid; 0 and -1 (our own group, everyone)
 * are refused with -EINVAL. 0 or -errno. */
int spawn_kill(pid_t target, int sig);

/* Should spawn_params.take_tty be set: is fd 0 a terminal whose
 * foreground group is ours? (Computed once by the caller.) In a PID
 * namespace whose parent holds the terminal, both the foreground group
 * and ours are outside the namespace (0): that counts as ours, as tini
 * does. */
bool spawn_we_own_tty(void);
/* For --setsid: can the child's new session take fd 0 as its controlling
 * terminal (spawn_params.take_tty)? A terminal is the controlling terminal
 * of one session at most, and TIOCSCTTY without stealing (which needs
 * CAP_SYS_ADMIN and would rob that session) fails while another session
 * holds it. So, as dumb-init does: when fd 0 is gorral's own controlling
 * terminal and gorral leads its session (PID 1 of `docker run -t`), gorral
 * gives it up with TIOCNOTTY. The kernel then sends SIGHUP and SIGCONT to
 * the terminal's foreground group, gorral's own, from gorral itself: block
 * them first (they are dropped as gorral's own, signals_to_forward()).
 * 1: yes (fd 0 is a terminal no session of ours holds any more; one the
 * child still cannot take, it goes without); 0: fd 0 is not a terminal;
 * -EPERM: it is the controlling terminal of a session gorral does not
 * lead (a shell's), the child will get none; -errno: TIOCNOTTY failed. */
int spawn_release_tty(void);
