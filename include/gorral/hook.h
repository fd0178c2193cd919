/* hook.h: exec hooks (L2, on the loop, never blocking): run an argv (no
 * shell) for each finding event, with the finding's JSON on its stdin and
 * GORRAL_* variables in its environment.
 *
 * A run: three pipes (stdin, stdout, stderr), the child started by the
 * caller's ops->spawn (spawn_process() with spawn_params.stdin_fd,
 * stdout_fd and stderr_fd, in a process group of its own, its pid watched
 * by the one reaper, its exit handed back through hook_exited()). The JSON
 * is written to the stdin pipe without blocking (EPOLLOUT when the pipe is
 * full), then the pipe is closed so the hook sees EOF; a hook that exits
 * or closes its stdin without reading all of it is not an error (EPIPE:
 * gorral blocks SIGPIPE, and so must a test). stdout and stderr are read
 * on the loop and logged line by line (event "hook_output", fields hook,
 * stream, line), at most HOOK_OUTPUT_LINES_MAX lines per run, a line cut
 * every HOOK_OUTPUT_LINE_MAX bytes; the rest is read and counted, and one
 * "hook_output_truncated" line says how much was not logged. At
 * timeout_usec (10 s by default) the run's whole process group is sent
 * SIGKILL. When the exit comes back, what the pipes still hold is read and
 * logged, then "hook_exit" is logged (hook, pid, status or signal,
 * duration_ms, timed_out), so a run's output lines come before its exit.
 * A process the hook left behind that still holds stdout or stderr then
 * gets EPIPE: a run ends with its main process.
 *
 * At most one run per hook is in flight; events arriving meanwhile wait
 * in a FIFO of queue_max (16 by default); one more drops the oldest
 * waiting, counted and logged. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;
struct hook;

#define HOOK_TIMEOUT_DEFAULT_USEC (10 * UINT64_C(1000000))
#define HOOK_QUEUE_DEFAULT 16
#define HOOK_QUEUE_MAX 1024
#define HOOK_INPUT_MAX ((size_t)64 << 10)    /* bytes of JSON on stdin */
#define HOOK_ENV_MAX 64                      /* extra "K=V" variables per event */
#define HOOK_OUTPUT_LINE_MAX ((size_t)4096)  /* bytes of one logged line */
#define HOOK_OUTPUT_LINES_MAX 200            /* lines logged per run */

struct hook_opts {
        uint64_t timeout_usec;   /* 0: HOOK_TIMEOUT_DEFAULT_USEC */
        size_t queue_max;        /* 0: HOOK_QUEUE_DEFAULT; at most HOOK_QUEUE_MAX */
};

/* What ops->spawn starts. The three fds are the child's ends of the pipes
 * (all >= 3, close-on-exec: spawn_process()'s dup2 puts them on 0, 1 and
 * 2); the hook closes its copies once spawn returns, whatever it returns. */
struct hook_spawn {
        char *const *argv;
        char *const *envp;
        int stdin_fd, stdout_fd, stderr_fd;
};

/* How a run ended, for ops->exited. */
struct hook_result {
        pid_t pid;
        int status;              /* raw wait status; 0 when not started */
        int spawn_error;         /* 0, or the -errno of ops->spawn (no process ran) */
        bool timed_out;          /* killed at the timeout */
        uint64_t duration_usec;
};

struct hook_ops {
        /* Required: start sp (spawn_process() and a reaper watch routing
         * the exit to hook_exited()). 0 with *ret_pid, or -errno (the run
         * fails; it is logged and the next event runs). A child that
         * failed to exec (spawn_result.err) is still a pid: its 127/126
         * exit comes back like any other. */
        int (*spawn)(void *userdata, const struct hook_spawn *sp, pid_t *ret_pid);
        /* Optional: hook_free() left pid running (already sent SIGKILL)
         * and unreaped; its exit is the caller's now (reaper_unwatch()). */
        void (*forget)(void *userdata, pid_t pid);
        /* Optional: a run ended (after its exit line was logged). The hook
         * may be freed from here. */
        void (*exited)(void *userdata, struct hook *h, const struct hook_result *r);
};

/* A hook named name (logs; copied) running argv (copied; argv[0] as
 * spawn_process() takes it: looked up on envp's PATH when it has no '/')
 * with the environment envp (copied; NULL: empty) plus each event's
 * variables. ops and userdata must outlive the hook; o NULL: defaults.
 * 0, -EINVAL (no name, an empty argv, no ops->spawn, a bad bound),
 * -ENOMEM. */
int hook_new(struct loop *l, const char *name, char *const *argv, char *const *envp, const struct hook_opts *o,
             const struct hook_ops *ops, void *userdata, struct hook **ret);
/* Kill a run in flight (its group, SIGKILL; see ops->forget), drop what
 * waits, free. NULL-safe; returns NULL. */
struct hook *hook_free(struct hook *h);

/* Queue a run with json (len bytes, on stdin; NULL with 0: an empty stdin)
 * and env, NULL-terminated "K=V" strings (GORRAL_SERVICE, GORRAL_EVENT,
 * ...; NULL: none) that override the same names of the hook's envp. Both
 * are copied. The run starts from the loop, never from within the call.
 * 0, -EINVAL (an entry without '=' or with an empty name), -E2BIG (json
 * over HOOK_INPUT_MAX, more than HOOK_ENV_MAX entries), -ENOMEM. A full
 * queue is not an error: the oldest waiting event is dropped. */
int hook_run(struct hook *h, const char *json, size_t len, const char *const *env);

/* The reaper saw pid exit with the raw wait status. 0 when pid is this
 * hook's run, -ESRCH otherwise (nothing done). Logs the run's last output
 * and its exit, may call ops->exited, then starts the next event. */
int hook_exited(struct hook *h, pid_t pid, int status);

struct hook_stats {
        uint64_t runs;           /* started (spawned) */
        uint64_t ok;             /* exited 0 */
        uint64_t failed;         /* exited non-zero, killed by a signal, or could not be spawned */
        uint64_t timeouts;       /* killed at the timeout (counted in failed too) */
        uint64_t dropped;        /* events pushed out of a full queue */
        uint64_t output_lines;   /* lines logged */
        uint64_t output_dropped; /* lines not logged past HOOK_OUTPUT_LINES_MAX */
        size_t queued;           /* events waiting (not counting the run in flight) */
};
const struct hook_stats *hook_get_stats(const struct hook *h);
const char *hook_name(const struct hook *h);
/* The pid of the run in flight, 0 when none. */
pid_t hook_pid(const struct hook *h);
