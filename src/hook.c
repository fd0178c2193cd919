/* hook.c: exec hooks on the loop. See hook.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gorral/hook.h"
#include "gorral/log.h"
#include "gorral/loop.h"
#include "gorral/output.h"
#include "gorral/spawn.h"
#include "gorral/util.h"

#define HOOK_READ_CHUNK ((size_t)16 << 10)
#define HOOK_READS_PER_WAKEUP 4

struct event {
        char *json;
        size_t len;
        char **env;              /* NULL-terminated, malloc'd strings */
};

struct stream {
        struct hook *hook;
        const char *name;        /* "stdout", "stderr" */
        int fd;                  /* our read end, -1 when closed */
        struct output_lines lines;
};

struct hook {
        struct loop *loop;
        char *name;
        char **argv;
        char **envp;
        struct hook_opts opt;
        const struct hook_ops *ops;
        void *userdata;

        struct event **queue;    /* FIFO of waiting events, queue[0] the oldest */
        size_t n_queue, cap_queue;
        bool drop_logged;        /* one "dropped" line per run */
        struct loop_timer start_timer;
        struct loop_timer kill_timer;

        /* The run in flight. */
        pid_t pid;
        bool timed_out;
        uint64_t started_usec;
        int in_fd;               /* write end of its stdin, -1 when closed */
        char *in_buf;
        size_t in_len, in_off;
        struct stream out, err;
        unsigned lines_logged;
        uint64_t lines_dropped;

        bool in_callback;        /* inside ops->exited */
        bool free_requested;     /* hook_free() from ops->exited */
        struct hook_stats stats;
};

static void event_free(struct event *e) {
        if (!e)
                return;
        free(e->json);
        strv_free(e->env);
        free(e);
}

/* ---- output ---- */

static void emit_line(const struct output_line *line, void *userdata) {
        struct stream *st = userdata;
        struct hook *h = st->hook;
        char buf[HOOK_OUTPUT_LINE_MAX + 1];
        size_t n = line->len < HOOK_OUTPUT_LINE_MAX ? line->len : HOOK_OUTPUT_LINE_MAX;

        if (h->lines_logged >= HOOK_OUTPUT_LINES_MAX) {
                h->lines_dropped++;
                h->stats.output_dropped++;
                return;
        }
        memcpy(buf, line->data, n);
        buf[n] = '\0';
        h->lines_logged++;
        h->stats.output_lines++;
        log_event(LOG_LEVEL_INFO, "hook_output", "hook", h->name, "pid", LF_INT(h->pid), "stream", st->name, "line",
                  buf, NULL);
}

static void stream_close(struct stream *st) {
        if (st->fd < 0)
                return;
        output_lines_finish(&st->lines, emit_line, st);
        (void)loop_del_fd(st->hook->loop, st->fd);
        st->fd = safe_close(st->fd);
}

/* Read at most max bytes (or until EAGAIN); close at EOF or an error. */
static void stream_read(struct stream *st, size_t max) {
        char buf[HOOK_READ_CHUNK];

        while (st->fd >= 0 && max > 0) {
                ssize_t n = read(st->fd, buf, sizeof buf < max ? sizeof buf : max);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        stream_close(st);
                        return;
                }
                (void)output_lines_feed(&st->lines, buf, (size_t)n, emit_line, st);
                max -= (size_t)n;
        }
}

static void on_output(struct loop *l, int fd, uint32_t events, void *userdata) {
        (void)l;
        (void)fd;
        (void)events;
        /* A budget per wakeup: a flood of output still lets the loop's
         * other work through. */
        stream_read(userdata, HOOK_READS_PER_WAKEUP * HOOK_READ_CHUNK);
}

/* ---- stdin ---- */

static void stdin_close(struct hook *h) {
        if (h->in_fd >= 0) {
                (void)loop_del_fd(h->loop, h->in_fd);
                h->in_fd = safe_close(h->in_fd);
        }
        free(h->in_buf);
        h->in_buf = NULL;
}

static void on_stdin(struct loop *l, int fd, uint32_t events, void *userdata) {
        struct hook *h = userdata;

        (void)l;
        (void)events;
        while (h->in_off < h->in_len) {
                ssize_t n = write(fd, h->in_buf + h->in_off, h->in_len - h->in_off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n < 0) {
                        /* EPIPE: the hook closed its stdin or exited
                         * without reading all of it; its choice. */
                        log_event(LOG_LEVEL_DEBUG, "hook_stdin", "hook", h->name, "written", LF_U64(h->in_off), "of",
                                  LF_U64(h->in_len), "error", strerror(errno), NULL);
                        break;
                }
                h->in_off += (size_t)n;
        }
        stdin_close(h);
}

/* ---- runs ---- */

static void start_next(struct hook *h);

static void on_kill_timer(struct loop *l, void *userdata) {
        struct hook *h = userdata;
        int r;

        (void)l;
        if (h->pid <= 0 || h->timed_out)
                return;
        h->timed_out = true;
        /* The group: what a hook started (a shell's children) goes with
         * it. The pid is not reaped yet, so the group id is still ours. */
        r = spawn_kill(-h->pid, SIGKILL);
        log_event(LOG_LEVEL_WARN, "hook_timeout", "hook", h->name, "pid", LF_INT(h->pid), "timeout_ms",
                  LF_MS(h->opt.timeout_usec), "msg", r < 0 ? "cannot kill its process group" : "killed its process group",
                  NULL);
}

static void on_start_timer(struct loop *l, void *userdata) {
        (void)l;
        start_next(userdata);
}

/* A pipe with both ends close-on-exec and neither on fds 0-2 (gorral
 * started with one of them closed), as spawn_params wants. */
static int make_pipe(int p[2]) {
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        for (int i = 0; i < 2; i++)
                if (p[i] < 3) {
                        int fd = fcntl(p[i], F_DUPFD_CLOEXEC, 3);

                        if (fd < 0) {
                                int r = negative_errno();
                                safe_close(p[0]);
                                safe_close(p[1]);
                                return r;
                        }
                        safe_close(p[i]);
                        p[i] = fd;
                }
        return 0;
}

static int set_nonblock(int fd) {
        int fl = fcntl(fd, F_GETFL);

        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
                return negative_errno();
        return 0;
}

static bool same_name(const char *a, const char *b) {
        size_t n = strcspn(a, "=");

        return strncmp(a, b, n) == 0 && b[n] == '=';
}

/* The hook's environment with e's variables over it (borrowed strings). */
static char **build_env(const struct hook *h, const struct event *e) {
        size_t n_base = 0, n_ext = 0, k = 0;
        char **v;

        while (h->envp && h->envp[n_base])
                n_base++;
        while (e->env && e->env[n_ext])
                n_ext++;
        v = calloc(n_base + n_ext + 1, sizeof *v);
        if (!v)
                return NULL;
        for (size_t i = 0; i < n_base; i++) {
                bool over = false;

                for (size_t j = 0; j < n_ext && !over; j++)
                        over = same_name(e->env[j], h->envp[i]);
                if (!over)
                        v[k++] = h->envp[i];
        }
        for (size_t j = 0; j < n_ext; j++)
                v[k++] = e->env[j];
        return v;
}

static void run_failed_to_start(struct hook *h, int err) {
        struct hook_result res = { .spawn_error = err };

        h->stats.failed++;
        log_event(LOG_LEVEL_WARN, "hook_exit", "hook", h->name, "error", strerror(-err), "msg",
                  "cannot start the hook", NULL);
        if (h->ops->exited) {
                h->in_callback = true;
                h->ops->exited(h->userdata, h, &res);
                h->in_callback = false;
        }
}

static void stream_open(struct hook *h, struct stream *st, int fd) {
        int r;

        st->fd = fd;
        r = set_nonblock(fd);
        if (r >= 0)
                r = loop_add_fd(h->loop, fd, EPOLLIN, on_output, st);
        if (r < 0) {
                /* Unread, the hook would block once the pipe is full:
                 * close it, its writes get EPIPE instead. */
                log_event(LOG_LEVEL_WARN, "hook_output", "hook", h->name, "stream", st->name, "error", strerror(-r),
                          "msg", "cannot watch the pipe, its output is lost", NULL);
                st->fd = safe_close(fd);
        }
}

/* Start one event; the caller made sure nothing is in flight. <0 when it
 * could not start (already counted and logged). */
static int run_event(struct hook *h, struct event *e) {
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
        _cleanup_free_ char **env = NULL;
        struct hook_spawn sp;
        pid_t pid = 0;
        int r;

        env = build_env(h, e);
        if (!env)
                return -ENOMEM;
        r = make_pipe(in);
        if (r >= 0)
                r = make_pipe(out);
        if (r >= 0)
                r = make_pipe(err);
        if (r >= 0)
                r = set_nonblock(in[1]);
        if (r < 0)
                goto fail;
        sp = (struct hook_spawn){ .argv = h->argv, .envp = env, .stdin_fd = in[0], .stdout_fd = out[1],
                                  .stderr_fd = err[1] };
        r = h->ops->spawn(h->userdata, &sp, &pid);
        if (r >= 0 && pid <= 0)
                r = -ESRCH;
        /* The child's ends are the child's now: without closing them
         * here, EOF on stdout never comes. */
        in[0] = safe_close(in[0]);
        out[1] = safe_close(out[1]);
        err[1] = safe_close(err[1]);
        if (r < 0)
                goto fail;

        h->pid = pid;
        h->timed_out = false;
        h->started_usec = now_usec();
        h->lines_logged = 0;
        h->lines_dropped = 0;
        h->drop_logged = false;
        h->stats.runs++;
        stream_open(h, &h->out, out[0]);
        stream_open(h, &h->err, err[0]);
        h->in_fd = in[1];
        h->in_buf = e->json;
        h->in_len = e->len;
        h->in_off = 0;
        e->json = NULL;
        if (h->in_len == 0 || loop_add_fd(h->loop, h->in_fd, EPOLLOUT, on_stdin, h) < 0)
                stdin_close(h);
        if (loop_timer_arm_in(h->loop, &h->kill_timer, h->opt.timeout_usec) < 0)
                log_event(LOG_LEVEL_ERROR, "hook_timeout", "hook", h->name, "msg",
                          "cannot arm the timeout, proceeding without it", NULL);
        log_event(LOG_LEVEL_DEBUG, "hook_start", "hook", h->name, "pid", LF_INT(pid), "stdin_bytes",
                  LF_U64(h->in_len), NULL);
        return 0;

fail:
        safe_close(in[0]);
        safe_close(in[1]);
        safe_close(out[0]);
        safe_close(out[1]);
        safe_close(err[0]);
        safe_close(err[1]);
        return r;
}

static void start_next(struct hook *h) {
        while (h->pid == 0 && h->n_queue > 0 && !h->free_requested) {
                struct event *e = h->queue[0];
                int r;

                memmove(h->queue, h->queue + 1, (h->n_queue - 1) * sizeof *h->queue);
                h->n_queue--;
                h->stats.queued = h->n_queue;
                r = run_event(h, e);
                event_free(e);
                if (r >= 0)
                        return;
                run_failed_to_start(h, r);
        }
        if (h->free_requested && !h->in_callback)
                hook_free(h);
}

int hook_exited(struct hook *h, pid_t pid, int status) {
        struct hook_result res;
        uint64_t dur;
        bool ok;

        if (!h || pid <= 0 || pid != h->pid)
                return -ESRCH;
        loop_timer_disarm(h->loop, &h->kill_timer);
        dur = now_usec() - h->started_usec;
        /* What it wrote before it died comes before its exit line; a
         * process it left behind holding the pipes is not waited for. */
        stream_read(&h->out, OUTPUT_DRAIN_MAX);
        stream_close(&h->out);
        stream_read(&h->err, OUTPUT_DRAIN_MAX);
        stream_close(&h->err);
        stdin_close(h);
        if (h->lines_dropped > 0)
                log_event(LOG_LEVEL_WARN, "hook_output_truncated", "hook", h->name, "pid", LF_INT(pid), "lines_logged",
                          LF_INT(h->lines_logged), "lines_dropped", LF_U64(h->lines_dropped), NULL);
        ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && !h->timed_out;
        if (ok)
                h->stats.ok++;
        else
                h->stats.failed++;
        if (h->timed_out)
                h->stats.timeouts++;
        if (WIFSIGNALED(status))
                log_event(ok ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "hook_exit", "hook", h->name, "pid", LF_INT(pid),
                          "signal", signal_to_name(WTERMSIG(status)), "duration_ms", LF_MS(dur), "timed_out",
                          h->timed_out ? "true" : "false", NULL);
        else
                log_event(ok ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "hook_exit", "hook", h->name, "pid", LF_INT(pid),
                          "status", LF_INT(WEXITSTATUS(status)), "duration_ms", LF_MS(dur), "timed_out",
                          h->timed_out ? "true" : "false", NULL);
        res = (struct hook_result){ .pid = pid, .status = status, .timed_out = h->timed_out, .duration_usec = dur };
        h->pid = 0;
        h->timed_out = false;
        if (h->ops->exited) {
                h->in_callback = true;
                h->ops->exited(h->userdata, h, &res);
                h->in_callback = false;
        }
        if (h->free_requested) {
                hook_free(h);
                return 0;
        }
        /* The next event from the loop, not from inside the reaper's
         * callback. */
        if (h->n_queue > 0 && loop_timer_arm_in(h->loop, &h->start_timer, 0) < 0)
                start_next(h);
        return 0;
}

int hook_run(struct hook *h, const char *json, size_t len, const char *const *env) {
        struct event *e;
        size_t n_env = 0;
        int r;

        if (!h || (!json && len > 0))
                return -EINVAL;
        if (len > HOOK_INPUT_MAX)
                return -E2BIG;
        for (; env && env[n_env]; n_env++) {
                const char *eq = strchr(env[n_env], '=');

                if (!eq || eq == env[n_env])
                        return -EINVAL;
        }
        if (n_env > HOOK_ENV_MAX)
                return -E2BIG;
        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->len = len;
        e->json = malloc(len + 1);
        e->env = calloc(n_env + 1, sizeof *e->env);
        if (!e->json || !e->env) {
                event_free(e);
                return -ENOMEM;
        }
        if (len)
                memcpy(e->json, json, len);
        e->json[len] = '\0';
        for (size_t i = 0; i < n_env; i++)
                if (!(e->env[i] = strdup(env[i]))) {
                        event_free(e);
                        return -ENOMEM;
                }
        if (h->n_queue >= h->opt.queue_max) {
                h->stats.dropped++;
                if (!h->drop_logged) {
                        log_event(LOG_LEVEL_WARN, "hook_dropped", "hook", h->name, "queue_max",
                                  LF_U64(h->opt.queue_max), "msg",
                                  "events arrive faster than the hook runs: the oldest waiting is dropped (one line per run)",
                                  NULL);
                        h->drop_logged = true;
                }
                event_free(h->queue[0]);
                memmove(h->queue, h->queue + 1, (h->n_queue - 1) * sizeof *h->queue);
                h->n_queue--;
        }
        r = GROW_ARRAY(h->queue, h->cap_queue, h->n_queue + 1, HOOK_QUEUE_MAX);
        if (r < 0) {
                event_free(e);
                return r;
        }
        h->queue[h->n_queue++] = e;
        h->stats.queued = h->n_queue;
        if (h->pid == 0 && !loop_timer_armed(&h->start_timer)) {
                r = loop_timer_arm_in(h->loop, &h->start_timer, 0);
                if (r < 0)
                        return r; /* queued: the next exit or event starts it */
        }
        return 0;
}

int hook_new(struct loop *l, const char *name, char *const *argv, char *const *envp, const struct hook_opts *o,
             const struct hook_ops *ops, void *userdata, struct hook **ret) {
        struct hook_opts opt = o ? *o : (struct hook_opts){ 0 };
        struct hook *h;

        if (!l || !name || !name[0] || !argv || !argv[0] || !argv[0][0] || !ops || !ops->spawn || !ret)
                return -EINVAL;
        if (opt.timeout_usec == 0)
                opt.timeout_usec = HOOK_TIMEOUT_DEFAULT_USEC;
        if (opt.queue_max == 0)
                opt.queue_max = HOOK_QUEUE_DEFAULT;
        if (opt.queue_max > HOOK_QUEUE_MAX)
                return -EINVAL;
        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->loop = l;
        h->opt = opt;
        h->ops = ops;
        h->userdata = userdata;
        h->in_fd = -1;
        h->out = (struct stream){ .hook = h, .name = "stdout", .fd = -1 };
        h->err = (struct stream){ .hook = h, .name = "stderr", .fd = -1 };
        loop_timer_init(&h->start_timer, on_start_timer, h);
        loop_timer_init(&h->kill_timer, on_kill_timer, h);
        h->name = strdup(name);
        if (strv_copy(argv, &h->argv) < 0 || strv_copy(envp ? envp : (char *const[]){ NULL }, &h->envp) < 0) {
                h->argv = strv_free(h->argv);
                h->envp = NULL;
        }
        if (!h->name || !h->argv || !h->envp || output_lines_init(&h->out.lines, NULL, 0, HOOK_OUTPUT_LINE_MAX) < 0 ||
            output_lines_init(&h->err.lines, NULL, 0, HOOK_OUTPUT_LINE_MAX) < 0) {
                hook_free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

struct hook *hook_free(struct hook *h) {
        if (!h)
                return NULL;
        if (h->in_callback) {
                h->free_requested = true;
                return NULL;
        }
        loop_timer_disarm(h->loop, &h->start_timer);
        loop_timer_disarm(h->loop, &h->kill_timer);
        if (h->pid > 0) {
                (void)spawn_kill(-h->pid, SIGKILL);
                if (h->ops->forget)
                        h->ops->forget(h->userdata, h->pid);
        }
        /* Not flushed into the log: a hook being freed is being dropped. */
        if (h->out.fd >= 0) {
                (void)loop_del_fd(h->loop, h->out.fd);
                safe_close(h->out.fd);
        }
        if (h->err.fd >= 0) {
                (void)loop_del_fd(h->loop, h->err.fd);
                safe_close(h->err.fd);
        }
        stdin_close(h);
        output_lines_done(&h->out.lines);
        output_lines_done(&h->err.lines);
        for (size_t i = 0; i < h->n_queue; i++)
                event_free(h->queue[i]);
        free(h->queue);
        free(h->name);
        strv_free(h->argv);
        strv_free(h->envp);
        free(h);
        return NULL;
}

const struct hook_stats *hook_get_stats(const struct hook *h) { return &h->stats; }
const char *hook_name(const struct hook *h) { return h->name; }
pid_t hook_pid(const struct hook *h) { return h->pid; }
