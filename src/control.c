/* control.c: the control socket server on the loop. See control.h; the
 * protocol is in the README ("Control socket"). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gorral/control.h"
#include "gorral/json.h"
#include "gorral/log.h"
#include "gorral/loop.h"
#include "gorral/util.h"

#define ACCEPT_BUDGET 16                  /* connections taken per wakeup */
#define LISTEN_BACKLOG 16
#define ACCEPT_PAUSE_USEC (100 * UINT64_C(1000))
#define ERROR_MAX 256                     /* an error message in a response */

struct client {
        struct control *c;
        int fd;
        uid_t uid;
        pid_t pid;
        char *in;                         /* max_request_bytes */
        size_t in_off, in_len;            /* unhandled bytes are in[in_off..in_len) */
        char *out;                        /* the one response being sent */
        size_t out_off, out_len;
        struct loop_timer idle;           /* deadline for the next request or the flush */
        struct loop_timer resume;         /* CONTROL_BUDGET ran out with lines left */
        uint32_t events;                  /* what the watch asks for */
        bool closing;                     /* close once the output is out */
};

struct control {
        struct loop *loop;
        int fd;
        char *path;
        dev_t dev;
        ino_t ino;
        const struct control_ops *ops;
        void *userdata;
        struct control_options opt;
        struct client **clients;          /* opt.max_clients slots */
        size_t n_clients;
        struct loop_timer accept_pause;
        struct control_stats stats;
};

void control_options_init(struct control_options *o) {
        *o = (struct control_options){
                .max_clients = CONTROL_MAX_CLIENTS,
                .max_request_bytes = CONTROL_MAX_REQUEST,
                .max_response_bytes = CONTROL_MAX_RESPONSE,
                .idle_usec = CONTROL_IDLE_USEC,
        };
}

int control_default_path(char **ret) {
        const char *e = getenv("GORRAL_SOCKET");
        char *p;

        if (e && *e)
                p = strdup(e);
        else if (geteuid() == 0)
                p = strdup("/run/gorral.sock");
        else if ((e = getenv("XDG_RUNTIME_DIR")) && e[0] == '/')
                p = path_join(e, "gorral.sock");
        else
                return -ENOENT;
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

const char *control_path(const struct control *c) { return c->path; }
size_t control_n_clients(const struct control *c) { return c->n_clients; }
const struct control_stats *control_get_stats(const struct control *c) { return &c->stats; }

/* A line to a socket we are about to close (refused, busy): it is fresh
 * or idle, so its send buffer has room; if not, the peer loses the line. */
static void send_and_forget(int fd, const char *line) {
        (void)!send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void client_free(struct client *cl) {
        struct control *c;

        if (!cl)
                return;
        c = cl->c;
        loop_timer_disarm(c->loop, &cl->idle);
        loop_timer_disarm(c->loop, &cl->resume);
        if (cl->fd >= 0) {
                loop_del_fd(c->loop, cl->fd);
                safe_close(cl->fd);
        }
        for (size_t i = 0; i < c->opt.max_clients; i++)
                if (c->clients[i] == cl) {
                        c->clients[i] = NULL;
                        c->n_clients--;
                        break;
                }
        free(cl->in);
        free(cl->out);
        free(cl);
}

static const char *error_code(int r) {
        switch (-r) {
        case ENOENT: return "not_found";
        case EINVAL: return "invalid";
        case EBUSY: return "busy";
        case EALREADY: return "already";
        case EACCES: case EPERM: return "denied";
        case E2BIG: case ENOBUFS: return "too_large";
        default: return "failed";
        }
}

static int finish_line(struct json_writer *w, char **ret, size_t *ret_len);

/* An error response line, malloc'd. */
static int error_line(int r, const char *msg, char **ret, size_t *ret_len) {
        struct json_writer w;
        int k;

        json_writer_init(&w, ERROR_MAX * 8);
        json_begin_object(&w);
        json_member_bool(&w, "ok", false);
        json_member_string(&w, "gorral", GORRAL_VERSION);
        json_member_string(&w, "error", msg);
        json_member_string(&w, "code", error_code(r));
        json_end_object(&w);
        k = finish_line(&w, ret, ret_len);
        json_writer_done(&w);
        return k;
}

/* End the document with its '\n' (inside the writer's cap: the cap
 * counts the whole line) and take it. */
static int finish_line(struct json_writer *w, char **ret, size_t *ret_len) {
        json_raw(w, "\n", 1);
        return json_writer_steal(w, ret, ret_len);
}

static bool valid_name(const char *s) {
        return s && *s && strlen(s) <= CONTROL_NAME_MAX;
}

/* Build the response to one request line (no '\n'). Always produces a
 * line unless memory runs out. */
static int handle_request(struct control *c, const char *line, size_t n, char **ret, size_t *ret_len) {
        _cleanup_(json_doc_freep) struct json_doc *doc = NULL;
        struct json_limits lim = { .max_depth = 8, .max_nodes = 1024 };
        struct json_error je = { 0 };
        struct json_writer w;
        const struct json_value *v;
        const char *cmd, *name = NULL;
        char err[ERROR_MAX] = "", sig[32];
        int r;

        r = json_parse(line, n, &lim, &doc, &je);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                snprintf(err, sizeof err, "bad request: %s at byte %zu", je.what, je.offset);
                return error_line(-EINVAL, err, ret, ret_len);
        }
        if (doc->root->type != JSON_OBJECT)
                return error_line(-EINVAL, "bad request: not a JSON object", ret, ret_len);
        v = json_get(doc->root, "cmd");
        if (!v || v->type != JSON_STRING)
                return error_line(-EINVAL, "bad request: no \"cmd\" string", ret, ret_len);
        cmd = v->str;
        v = json_get(doc->root, "name");
        if (v && v->type != JSON_NULL) {
                if (v->type != JSON_STRING || !valid_name(v->str))
                        return error_line(-EINVAL, "bad request: \"name\" must be a string of 1 to 255 bytes",
                                          ret, ret_len);
                name = v->str;
        }

        if (strcmp(cmd, "status") == 0) {
                json_writer_init(&w, c->opt.max_response_bytes);
                json_begin_object(&w);
                json_member_bool(&w, "ok", true);
                json_member_string(&w, "gorral", GORRAL_VERSION);
                json_key(&w, "services");
                r = c->ops->status(c->userdata, name, &w);
                if (r >= 0 && !json_writer_error(&w) && (w.depth != 1 || w.after_key))
                        r = -EPROTO; /* the status callback did not write exactly one value */
                if (r >= 0)
                        json_end_object(&w);
                if (r >= 0)
                        r = json_writer_error(&w);
                if (r >= 0)
                        r = finish_line(&w, ret, ret_len);
                json_writer_done(&w);
                if (r >= 0 || r == -ENOMEM)
                        return r;
                if (r == -ENOENT)
                        snprintf(err, sizeof err, "no service '%s'", name ? name : "");
                else if (r == -ENOBUFS)
                        snprintf(err, sizeof err, "response too large (over %zu bytes)", c->opt.max_response_bytes);
                else
                        snprintf(err, sizeof err, "status failed: %s", strerror(-r));
                return error_line(r, err, ret, ret_len);
        }

        if (strcmp(cmd, "start") == 0 || strcmp(cmd, "stop") == 0 || strcmp(cmd, "restart") == 0 ||
            strcmp(cmd, "signal") == 0) {
                const char *arg = NULL;

                if (!name) {
                        snprintf(err, sizeof err, "bad request: %s needs a \"name\"", cmd);
                        return error_line(-EINVAL, err, ret, ret_len);
                }
                if (strcmp(cmd, "signal") == 0) {
                        int s = 0;

                        v = json_get(doc->root, "signal");
                        if (v && v->type == JSON_STRING)
                                r = parse_signal(v->str, &s);
                        else if (v && v->type == JSON_INT && v->integer > 0 && v->integer < NSIG) {
                                s = (int)v->integer;
                                r = 0;
                        } else
                                r = -EINVAL;
                        if (r < 0 || s <= 0 || s >= NSIG)
                                return error_line(-EINVAL, "bad request: \"signal\" must be a signal name or number",
                                                  ret, ret_len);
                        snprintf(sig, sizeof sig, "%s", signal_to_name(s));
                        arg = sig;
                }
                r = c->ops->command(c->userdata, cmd, name, arg, err, sizeof err);
        } else if (strcmp(cmd, "reload") == 0) {
                if (name)
                        return error_line(-EINVAL, "bad request: reload takes no \"name\"", ret, ret_len);
                r = c->ops->command(c->userdata, cmd, NULL, NULL, err, sizeof err);
        } else {
                char q[64];

                /* Quote at most a little of what the client sent. */
                snprintf(q, sizeof q, "%s", cmd);
                snprintf(err, sizeof err, "unknown command '%s'", q);
                return error_line(-EINVAL, err, ret, ret_len);
        }
        if (r < 0) {
                if (!err[0])
                        snprintf(err, sizeof err, "%s", strerror(-r));
                return error_line(r, err, ret, ret_len);
        }
        json_writer_init(&w, c->opt.max_response_bytes);
        json_begin_object(&w);
        json_member_bool(&w, "ok", true);
        json_member_string(&w, "gorral", GORRAL_VERSION);
        json_end_object(&w);
        r = finish_line(&w, ret, ret_len);
        json_writer_done(&w);
        return r;
}

static void client_set_events(struct client *cl, uint32_t events) {
        if (cl->events == events)
                return;
        if (loop_mod_fd(cl->c->loop, cl->fd, events) >= 0)
                cl->events = events;
}

/* Send what is queued. 0 when all of it is out, 1 when the socket is
 * full, -errno when the peer is gone. */
static int client_flush(struct client *cl) {
        while (cl->out_off < cl->out_len) {
                ssize_t k = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 1;
                        return negative_errno();
                }
                cl->out_off += (size_t)k;
        }
        free(cl->out);
        cl->out = NULL;
        cl->out_off = cl->out_len = 0;
        return 0;
}

static bool has_line(const struct client *cl) {
        return memchr(cl->in + cl->in_off, '\n', cl->in_len - cl->in_off) != NULL;
}

/* Handle buffered lines (up to the budget), send, and decide what to wait
 * for next. Frees cl when it is done with; false then. */
static bool client_progress(struct client *cl) {
        struct control *c = cl->c;
        int budget = CONTROL_BUDGET, r;

        for (;;) {
                if (cl->out) {
                        r = client_flush(cl);
                        if (r < 0) {
                                client_free(cl);
                                return false;
                        }
                        if (r > 0) {
                                client_set_events(cl, EPOLLOUT);
                                return true;
                        }
                        /* Taken: the client has idle_usec again. */
                        loop_timer_arm_in(c->loop, &cl->idle, c->opt.idle_usec);
                }
                if (cl->closing && !has_line(cl)) {
                        client_free(cl);
                        return false;
                }
                if (!has_line(cl)) {
                        if (cl->in_len - cl->in_off >= c->opt.max_request_bytes) {
                                char msg[96];

                                snprintf(msg, sizeof msg, "request too long (over %zu bytes)",
                                         c->opt.max_request_bytes);
                                c->stats.closed_too_long++;
                                log_event(LOG_LEVEL_WARN, "control_request_too_long", "pid", LF_INT(cl->pid),
                                          "max_bytes", LF_U64(c->opt.max_request_bytes), NULL);
                                r = error_line(-E2BIG, msg, &cl->out, &cl->out_len);
                                cl->closing = true;
                                cl->in_off = cl->in_len = 0;
                                if (r < 0) {
                                        client_free(cl);
                                        return false;
                                }
                                continue;
                        }
                        client_set_events(cl, EPOLLIN);
                        return true;
                }
                if (budget-- == 0) {
                        /* Let signals, timers and other clients go first. */
                        client_set_events(cl, 0);
                        loop_timer_arm_in(c->loop, &cl->resume, 0);
                        return true;
                }
                {
                        char *line = cl->in + cl->in_off;
                        char *nl = memchr(line, '\n', cl->in_len - cl->in_off);
                        size_t n = (size_t)(nl - line);
                        size_t m = n;
                        bool blank = true;

                        cl->in_off += n + 1;
                        if (m > 0 && line[m - 1] == '\r')
                                m--;
                        for (size_t i = 0; i < m && blank; i++)
                                blank = line[i] == ' ' || line[i] == '\t';
                        if (blank)
                                continue;
                        c->stats.requests++;
                        r = handle_request(c, line, m, &cl->out, &cl->out_len);
                        if (r < 0) {
                                log_warn_errno(r, "control: cannot answer a request, closing the client");
                                client_free(cl);
                                return false;
                        }
                        cl->out_off = 0;
                }
        }
}

static void client_read(struct client *cl) {
        struct control *c = cl->c;
        ssize_t k;

        if (cl->in_off > 0) {
                memmove(cl->in, cl->in + cl->in_off, cl->in_len - cl->in_off);
                cl->in_len -= cl->in_off;
                cl->in_off = 0;
        }
        if (cl->in_len >= c->opt.max_request_bytes)
                return;
        /* One read per wakeup: a busy client cannot starve the others. */
        k = recv(cl->fd, cl->in + cl->in_len, c->opt.max_request_bytes - cl->in_len, MSG_DONTWAIT);
        if (k < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return;
                cl->closing = true; /* ECONNRESET...: answer nothing more */
                cl->in_off = cl->in_len = 0;
                return;
        }
        if (k == 0) {
                /* Half-closed: answer what came, then close. */
                cl->closing = true;
                return;
        }
        cl->in_len += (size_t)k;
        c->stats.bytes_read += (uint64_t)k;
}

static void on_client(struct loop *l, int fd, uint32_t events, void *userdata) {
        struct client *cl = userdata;

        (void)l;
        (void)fd;
        if ((events & EPOLLIN) && !cl->out && !cl->closing && !has_line(cl))
                client_read(cl);
        else if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLOUT)) {
                client_free(cl);
                return;
        }
        client_progress(cl);
}

static void on_idle(struct loop *l, void *userdata) {
        struct client *cl = userdata;

        (void)l;
        cl->c->stats.closed_idle++;
        log_event(LOG_LEVEL_DEBUG, "control_idle_close", "pid", LF_INT(cl->pid),
                  "pending_bytes", LF_U64(cl->out_len - cl->out_off), NULL);
        if (!cl->out) {
                char *line;
                size_t n;

                if (error_line(-ETIMEDOUT, "idle timeout", &line, &n) >= 0) {
                        send_and_forget(cl->fd, line);
                        free(line);
                }
        }
        client_free(cl);
}

static void on_resume(struct loop *l, void *userdata) {
        (void)l;
        client_progress(userdata);
}

static void refuse(int fd, int r, const char *msg) {
        char *line;
        size_t n;

        if (error_line(r, msg, &line, &n) >= 0) {
                send_and_forget(fd, line);
                free(line);
        }
        safe_close(fd);
}

static void take_client(struct control *c, int fd) {
        struct ucred cred;
        socklen_t sl = sizeof cred;
        struct client *cl;
        size_t slot;
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0 || sl != sizeof cred) {
                log_warn_errno(negative_errno(), "control: cannot read the peer's credentials, closing it");
                safe_close(fd);
                return;
        }
        if (cred.uid != 0 && cred.uid != geteuid()) {
                c->stats.refused++;
                log_event(LOG_LEVEL_WARN, "control_refused", "uid", LF_INT(cred.uid), "pid", LF_INT(cred.pid),
                          "reason", "only root and gorral's own uid may use the control socket", NULL);
                refuse(fd, -EACCES, "permission denied: only root and gorral's own uid may use this socket");
                return;
        }
        if (c->n_clients >= c->opt.max_clients) {
                c->stats.busy++;
                log_event(LOG_LEVEL_WARN, "control_busy", "pid", LF_INT(cred.pid),
                          "clients", LF_U64(c->n_clients), NULL);
                refuse(fd, -EBUSY, "busy: too many control clients at once, try again");
                return;
        }
        for (slot = 0; slot < c->opt.max_clients && c->clients[slot]; slot++)
                ;
        cl = calloc(1, sizeof *cl);
        if (!cl || !(cl->in = malloc(c->opt.max_request_bytes))) {
                free(cl);
                safe_close(fd);
                log_warn_errno(-ENOMEM, "control: cannot take a client");
                return;
        }
        cl->c = c;
        cl->fd = fd;
        cl->uid = cred.uid;
        cl->pid = cred.pid;
        cl->events = EPOLLIN;
        loop_timer_init(&cl->idle, on_idle, cl);
        loop_timer_init(&cl->resume, on_resume, cl);
        r = loop_add_fd(c->loop, fd, EPOLLIN, on_client, cl);
        if (r >= 0)
                r = loop_timer_arm_in(c->loop, &cl->idle, c->opt.idle_usec);
        if (r < 0) {
                log_warn_errno(r, "control: cannot watch a client");
                c->clients[slot] = cl;
                c->n_clients++;
                client_free(cl);
                return;
        }
        c->clients[slot] = cl;
        c->n_clients++;
        c->stats.accepted++;
}

static void on_listen(struct loop *l, int fd, uint32_t events, void *userdata) {
        struct control *c = userdata;

        (void)events;
        for (int i = 0; i < ACCEPT_BUDGET; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending
                         * connection stays, and so would the readiness. */
                        log_warn_errno(negative_errno(), "control: accept failed, pausing the socket for 100ms");
                        if (loop_mod_fd(l, fd, 0) >= 0)
                                loop_timer_arm_in(l, &c->accept_pause, ACCEPT_PAUSE_USEC);
                        return;
                }
                take_client(c, cfd);
        }
}

static void on_accept_pause(struct loop *l, void *userdata) {
        struct control *c = userdata;

        (void)loop_mod_fd(l, c->fd, EPOLLIN);
}

static int bind_0600(int fd, const struct sockaddr_un *sa) {
        /* The mode is the umask's complement from the first instant: no
         * window where another user could connect. gorral has no threads,
         * so the process-wide umask is ours to borrow. */
        mode_t old = umask(0177);
        int r = bind(fd, (const struct sockaddr *)sa, sizeof *sa);

        r = r < 0 ? negative_errno() : 0;
        umask(old);
        return r;
}

/* A socket file exists at sa: is a gorral listening on it? 1 yes, 0 no
 * (stale), -errno. */
static int probe_live(const struct sockaddr_un *sa) {
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return negative_errno();
        if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) >= 0)
                return 1;
        /* A unix connect does not go in progress: EAGAIN is a full
         * backlog, so someone listens. */
        if (errno == EAGAIN)
                return 1;
        if (errno == ECONNREFUSED || errno == ENOENT)
                return 0;
        return negative_errno();
}

static int listen_on(const char *path, int *ret_fd, struct stat *ret_st) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (!path || !*path)
                return -EINVAL;
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        r = bind_0600(fd, &sa);
        if (r == -EADDRINUSE) {
                if (lstat(path, &st) >= 0 && !S_ISSOCK(st.st_mode))
                        return -EEXIST;
                r = probe_live(&sa);
                if (r < 0)
                        return r;
                if (r > 0)
                        return -EADDRINUSE;
                /* Stale: left by a gorral that died. Two gorrals starting
                 * at the same instant on one path could both get here;
                 * the later bind wins the name and the other listens on
                 * an unlinked socket (its clients would see no gorral). */
                if (unlink(path) < 0 && errno != ENOENT)
                        return negative_errno();
                r = bind_0600(fd, &sa);
        }
        if (r < 0)
                return r;
        if (listen(fd, LISTEN_BACKLOG) < 0 || stat(path, &st) < 0) {
                r = negative_errno();
                (void)unlink(path);
                return r;
        }
        *ret_st = st;
        *ret_fd = fd;
        fd = -1;
        return 0;
}

int control_new(struct loop *l, const char *path, const struct control_ops *ops, void *userdata,
                const struct control_options *o, struct control **ret) {
        struct control *c;
        struct stat st = { 0 };
        int r;

        if (!ops || !ops->status || !ops->command)
                return -EINVAL;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->fd = -1;
        c->loop = l;
        c->ops = ops;
        c->userdata = userdata;
        if (o)
                c->opt = *o;
        else
                control_options_init(&c->opt);
        loop_timer_init(&c->accept_pause, on_accept_pause, c);
        if (c->opt.max_clients == 0 || c->opt.max_request_bytes < 2 || c->opt.max_response_bytes < 64) {
                r = -EINVAL;
                goto fail;
        }
        c->clients = calloc(c->opt.max_clients, sizeof *c->clients);
        c->path = strdup(path ? path : "");
        if (!c->clients || !c->path) {
                r = -ENOMEM;
                goto fail;
        }
        r = listen_on(path, &c->fd, &st);
        if (r < 0)
                goto fail;
        c->dev = st.st_dev;
        c->ino = st.st_ino;
        r = loop_add_fd(l, c->fd, EPOLLIN, on_listen, c);
        if (r < 0) {
                (void)unlink(c->path);
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        if (c->fd >= 0)
                c->fd = safe_close(c->fd);
        free(c->path);
        c->path = NULL;
        control_free(c);
        return r;
}

struct control *control_free(struct control *c) {
        struct stat st;

        if (!c)
                return NULL;
        for (size_t i = 0; c->clients && i < c->opt.max_clients; i++)
                client_free(c->clients[i]);
        loop_timer_disarm(c->loop, &c->accept_pause);
        if (c->fd >= 0) {
                loop_del_fd(c->loop, c->fd);
                safe_close(c->fd);
                /* Only our own: another gorral may have taken the name. */
                if (c->path && stat(c->path, &st) >= 0 && st.st_dev == c->dev && st.st_ino == c->ino)
                        (void)unlink(c->path);
        }
        free(c->clients);
        free(c->path);
        free(c);
        return NULL;
}
