/* output.c: prefixed service output. See output.h for the map. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gorral/log.h"
#include "gorral/loop.h"
#include "gorral/output.h"
#include "gorral/util.h"

/* A partial-line buffer larger than this is freed once the line is out:
 * one long line should not pin 64 KiB per stream for ever. */
#define LINES_KEEP_CAP ((size_t)16 * 1024)
#define LINES_MIN_CAP ((size_t)256)
/* The queue buffer starts here and is freed when empty above KEEP: with a
 * reader that keeps up it never holds more than one read's worth. */
#define QUEUE_MIN_CAP ((size_t)64 * 1024)
#define QUEUE_KEEP_CAP ((size_t)256 * 1024)

/* ---- output_lines ---- */

static bool name_ok(const char *name, size_t n) {
        if (n == 0 || n > OUTPUT_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
                        return false;
        return true;
}

int output_lines_init(struct output_lines *a, const char *name, unsigned width, size_t line_max) {
        size_t n = name ? strlen(name) : 0, padded;

        *a = (struct output_lines){ 0 };
        if ((name && !name_ok(name, n)) || width > OUTPUT_NAME_MAX || line_max > OUTPUT_LINE_MAX)
                return -EINVAL;
        if (!name) {
                /* No prefix: lines pass as they came. */
                a->prefix = strdup("");
                a->cont_prefix = strdup("");
                a->line_max = line_max ? line_max : OUTPUT_LINE_MAX;
                if (!a->prefix || !a->cont_prefix) {
                        output_lines_done(a);
                        return -ENOMEM;
                }
                return 0;
        }
        padded = n > width ? n : width;
        a->prefix_len = padded + 3;
        a->prefix = malloc(a->prefix_len + 1);
        a->cont_prefix = malloc(a->prefix_len + 1);
        if (!a->prefix || !a->cont_prefix) {
                output_lines_done(a);
                return -ENOMEM;
        }
        memcpy(a->prefix, name, n);
        memset(a->prefix + n, ' ', padded - n);
        memcpy(a->prefix + padded, " | ", 4);
        memcpy(a->cont_prefix, a->prefix, padded);
        memcpy(a->cont_prefix + padded, " + ", 4);
        a->line_max = line_max ? line_max : OUTPUT_LINE_MAX;
        return 0;
}

void output_lines_done(struct output_lines *a) {
        free(a->prefix);
        free(a->cont_prefix);
        free(a->buf);
        a->prefix = a->cont_prefix = a->buf = NULL;
        a->len = a->cap = 0;
}

static int lines_append(struct output_lines *a, const char *p, size_t n) {
        size_t need = a->len + n;

        if (n == 0)
                return 0;
        if (need > a->cap) {
                size_t nc = a->cap ? a->cap * 2 : LINES_MIN_CAP;
                char *b;

                if (nc < need)
                        nc = need;
                if (nc > a->line_max)
                        nc = a->line_max; /* need <= line_max always */
                b = realloc(a->buf, nc);
                if (!b) {
                        a->stats.dropped_bytes += n;
                        return -ENOMEM;
                }
                a->buf = b;
                a->cap = nc;
        }
        memcpy(a->buf + a->len, p, n);
        a->len = need;
        return 0;
}

static void lines_emit(struct output_lines *a, const char *data, size_t len, bool newline, bool split,
                       output_emit_cb emit, void *userdata) {
        struct output_line l = {
                .prefix = a->continuing ? a->cont_prefix : a->prefix,
                .prefix_len = a->prefix_len,
                .data = data,
                .len = len,
                .newline = newline,
                .split = split,
                .cont = a->continuing,
        };

        if (split && !a->continuing)
                a->stats.split_lines++;
        if (!newline && !split)
                a->stats.partial_lines++;
        a->stats.lines++;
        a->continuing = split;
        emit(&l, userdata);
}

/* The held partial line went out. */
static void lines_reset(struct output_lines *a) {
        a->len = 0;
        if (a->cap > LINES_KEEP_CAP) {
                free(a->buf);
                a->buf = NULL;
                a->cap = 0;
        }
}

/* The cut rule, the same whatever the chunking: a line of up to line_max
 * bytes is whole; a longer one is cut after every line_max bytes, and a
 * cut is made only once a byte past the limit is seen that is not the
 * newline (so a line of exactly line_max bytes is never followed by an
 * empty continuation). */
int output_lines_feed(struct output_lines *a, const void *buf, size_t n, output_emit_cb emit, void *userdata) {
        const char *p = buf;
        int r = 0;

        a->stats.bytes_in += n;
        while (n > 0) {
                size_t room, look, k;
                const char *nl;

                if (a->len == 0) {
                        /* Nothing held: emit straight from the caller's buffer. */
                        look = n < a->line_max + 1 ? n : a->line_max + 1;
                        nl = memchr(p, '\n', look);
                        if (nl) {
                                k = (size_t)(nl - p);
                                lines_emit(a, p, k, true, false, emit, userdata);
                                p += k + 1;
                                n -= k + 1;
                        } else if (n > a->line_max) {
                                lines_emit(a, p, a->line_max, false, true, emit, userdata);
                                p += a->line_max;
                                n -= a->line_max;
                        } else {
                                if (lines_append(a, p, n) < 0)
                                        r = -ENOMEM;
                                return r;
                        }
                        continue;
                }
                room = a->line_max - a->len;
                look = n < room + 1 ? n : room + 1;
                nl = memchr(p, '\n', look);
                if (nl) {
                        k = (size_t)(nl - p);
                        if (lines_append(a, p, k) < 0)
                                r = -ENOMEM;
                        lines_emit(a, a->buf, a->len, true, false, emit, userdata);
                        lines_reset(a);
                        p += k + 1;
                        n -= k + 1;
                } else if (n > room) {
                        /* p[room] exists and is not a newline: cut. */
                        if (lines_append(a, p, room) < 0)
                                r = -ENOMEM;
                        lines_emit(a, a->buf, a->len, false, true, emit, userdata);
                        lines_reset(a);
                        p += room;
                        n -= room;
                } else {
                        if (lines_append(a, p, n) < 0)
                                r = -ENOMEM;
                        return r;
                }
        }
        return r;
}

void output_lines_finish(struct output_lines *a, output_emit_cb emit, void *userdata) {
        if (a->len == 0)
                return;
        lines_emit(a, a->buf, a->len, false, false, emit, userdata);
        lines_reset(a);
}

/* ---- output_queue ---- */

struct output_queue_run {
        struct output_owner *owner;
        size_t bytes;
};

int output_queue_init(struct output_queue *q, size_t max_bytes, size_t max_line) {
        *q = (struct output_queue){ 0 };
        if (max_line == 0 || max_line > max_bytes || max_bytes > SIZE_MAX / 4)
                return -EINVAL;
        q->max_bytes = max_bytes;
        q->max_line = max_line;
        return 0;
}

void output_queue_done(struct output_queue *q) {
        free(q->buf);
        free(q->runs);
        q->buf = NULL;
        q->runs = NULL;
        q->cap = q->head = q->tail = q->wrap_end = q->len = 0;
        q->wrapped = false;
        q->runs_cap = q->runs_head = q->n_runs = 0;
}

static struct output_queue_run *run_at(const struct output_queue *q, size_t i) {
        return &q->runs[(q->runs_head + i) % q->runs_cap];
}

static int runs_grow(struct output_queue *q) {
        size_t nc = q->runs_cap ? q->runs_cap * 2 : 16;
        struct output_queue_run *n;

        if (nc > OUTPUT_QUEUE_MAX_RUNS)
                nc = OUTPUT_QUEUE_MAX_RUNS;
        n = malloc(nc * sizeof *n);
        if (!n)
                return -ENOMEM;
        for (size_t i = 0; i < q->n_runs; i++)
                n[i] = *run_at(q, i);
        free(q->runs);
        q->runs = n;
        q->runs_cap = nc;
        q->runs_head = 0;
        return 0;
}

/* Move the data to a bigger buffer, linear from 0. */
static int queue_grow(struct output_queue *q, size_t need) {
        size_t limit = q->max_bytes + q->max_line, nc = q->cap ? q->cap * 2 : QUEUE_MIN_CAP;
        char *n;

        if (nc < need)
                nc = need;
        if (nc > limit)
                nc = limit;
        if (nc < need || nc <= q->cap)
                return -ENOBUFS; /* cannot happen: see output_queue_push() */
        n = malloc(nc);
        if (!n)
                return -ENOMEM;
        if (q->wrapped) {
                size_t upper = q->wrap_end - q->head;

                memcpy(n, q->buf + q->head, upper);
                memcpy(n + upper, q->buf, q->tail);
        } else if (q->len)
                memcpy(n, q->buf + q->head, q->len);
        free(q->buf);
        q->buf = n;
        q->cap = nc;
        q->head = 0;
        q->tail = q->len;
        q->wrapped = false;
        q->wrap_end = 0;
        return 0;
}

/* Where a line of size bytes goes, contiguous. With the buffer at its full
 * size (max_bytes + max_line) a line the byte bound admits always fits:
 * unwrapped with no room at either end would mean len > max_bytes - size;
 * wrapped, the waste above wrap_end is under one line (max_line), so the
 * gap between tail and head exceeds max_bytes - len >= size. Below the full
 * size the buffer grows instead. */
static int queue_reserve(struct output_queue *q, size_t size, size_t *ret_pos) {
        int r;

        if (!q->wrapped) {
                if (q->buf && q->tail + size <= q->cap) {
                        *ret_pos = q->tail;
                        return 0;
                }
                if (q->buf && size <= q->head) {
                        q->wrap_end = q->tail;
                        q->wrapped = true;
                        q->tail = 0;
                        *ret_pos = 0;
                        return 0;
                }
        } else if (q->tail + size <= q->head) {
                *ret_pos = q->tail;
                return 0;
        }
        r = queue_grow(q, q->len + size);
        if (r < 0)
                return r;
        *ret_pos = q->tail;
        return 0;
}

int output_queue_push(struct output_queue *q, struct output_owner *owner, const struct output_line *l,
                      size_t share) {
        size_t size = output_line_size(l), pos;
        bool new_run = q->n_runs == 0 || run_at(q, q->n_runs - 1)->owner != owner;
        char *d;
        int r;

        if (size > q->max_line)
                return -EMSGSIZE;
        if (q->len + size > q->max_bytes)
                return -ENOBUFS;
        if (owner && owner->queued > 0 && owner->queued + size > share)
                return -ENOBUFS;
        if (new_run && q->n_runs == q->runs_cap) {
                if (q->runs_cap >= OUTPUT_QUEUE_MAX_RUNS)
                        return -ENOBUFS;
                r = runs_grow(q);
                if (r < 0)
                        return r;
        }
        r = queue_reserve(q, size, &pos);
        if (r < 0)
                return r;
        d = q->buf + pos;
        memcpy(d, l->prefix, l->prefix_len);
        memcpy(d + l->prefix_len, l->data, l->len);
        d[size - 1] = '\n';
        q->tail = pos + size;
        q->len += size;
        if (new_run) {
                q->n_runs++;
                *run_at(q, q->n_runs - 1) = (struct output_queue_run){ .owner = owner, .bytes = size };
        } else
                run_at(q, q->n_runs - 1)->bytes += size;
        if (owner)
                owner->queued += size;
        return 0;
}

size_t output_queue_peek(const struct output_queue *q, size_t limit, const char **ret) {
        size_t seg;
        const char *p, *nl;

        if (q->len == 0)
                return 0;
        seg = (q->wrapped ? q->wrap_end : q->tail) - q->head;
        p = q->buf + q->head;
        *ret = p;
        /* Both segment ends are line ends. */
        if (limit == 0 || seg <= limit)
                return seg;
        nl = memrchr(p, '\n', limit);
        if (!nl)
                nl = memchr(p + limit, '\n', seg - limit);
        return nl ? (size_t)(nl - p) + 1 : seg;
}

static void queue_emptied(struct output_queue *q) {
        q->head = q->tail = q->wrap_end = 0;
        q->wrapped = false;
        q->runs_head = 0;
        if (q->cap > QUEUE_KEEP_CAP) {
                free(q->buf);
                q->buf = NULL;
                q->cap = 0;
        }
}

void output_queue_consume(struct output_queue *q, size_t n) {
        if (n > q->len)
                n = q->len;
        q->head += n;
        q->len -= n;
        while (n > 0 && q->n_runs > 0) {
                struct output_queue_run *r = run_at(q, 0);
                size_t take = n < r->bytes ? n : r->bytes;

                r->bytes -= take;
                if (r->owner)
                        r->owner->queued -= take;
                n -= take;
                if (r->bytes == 0) {
                        q->runs_head = (q->runs_head + 1) % q->runs_cap;
                        q->n_runs--;
                }
        }
        if (q->wrapped && q->head == q->wrap_end) {
                q->head = 0;
                q->wrapped = false;
                q->wrap_end = 0;
        }
        if (q->len == 0)
                queue_emptied(q);
}

size_t output_queue_clear(struct output_queue *q) {
        size_t n = q->len;

        for (size_t i = 0; i < q->n_runs; i++) {
                struct output_queue_run *r = run_at(q, i);

                if (r->owner)
                        r->owner->queued -= r->bytes;
        }
        q->n_runs = 0;
        q->len = 0;
        queue_emptied(q);
        return n;
}

void output_queue_forget(struct output_queue *q, struct output_owner *owner) {
        for (size_t i = 0; i < q->n_runs; i++) {
                struct output_queue_run *r = run_at(q, i);

                if (r->owner == owner)
                        r->owner = NULL;
        }
        owner->queued = 0;
}

/* ---- writers and streams ---- */

struct writer;
static void writer_resume_streams(struct writer *w);

enum dest_mode { DEST_FAILED, DEST_REOPEN, DEST_SEND, DEST_FILE, DEST_POLL };
static const char *const dest_mode_names[] = {
        [DEST_FAILED] = "failed", [DEST_REOPEN] = "reopen", [DEST_SEND] = "send",
        [DEST_FILE] = "file",     [DEST_POLL] = "poll",
};

struct writer {
        struct output *o;
        const char *label;       /* "stdout", "stderr" */
        int fd;                  /* private; -1 when failed */
        enum dest_mode mode;
        size_t limit;            /* bytes per write, whole lines (0: no limit) */
        bool watching;           /* EPOLLOUT registered */
        struct output_queue q;
        size_t n_streams, n_paused;
        uint64_t bytes_written, stalls, discarded;
        size_t queued_max;
};

struct output_stream {
        struct output *o;
        struct writer *w;
        struct output_stream *prev, *next;
        int fd;                  /* -1 after EOF */
        bool err, eof;
        bool dropping;           /* the rest of a split line goes too */
        bool paused;             /* not read: its writer's queue is (nearly) full */
        bool drop_mode;          /* a pause ran out: read and drop until the queue is half empty */
        struct loop_timer pause_timer;
        struct output_lines lines;
        struct output_filter filter;
        bool finished;           /* the filter was told the end */
        bool in_feed, finishing; /* inside the filter's calls (their callers flush) */
        struct output_owner owner;
        uint64_t report_lines, report_bytes;
        struct loop_timer report_timer;
        char *name;
};

struct output {
        struct loop *loop;
        struct writer w[2];
        bool shared;             /* stdout and stderr are one file: one writer, one order */
        unsigned name_width;
        uint64_t pause_usec;     /* 0: never pause */
        char *rbuf;              /* OUTPUT_READ_CHUNK, shared: one thread */
        struct output_stream *streams;
};

static void writer_fail(struct writer *w, int err) {
        if (w->mode == DEST_FAILED)
                return;
        if (w->watching) {
                (void)loop_del_fd(w->o->loop, w->fd);
                w->watching = false;
        }
        w->discarded += output_queue_clear(&w->q);
        w->fd = safe_close(w->fd);
        w->mode = DEST_FAILED;
        log_msg(LOG_LEVEL_WARN, err, "cannot write service output to gorral's %s, dropping it from now on", w->label);
        /* Nothing will drain now: read the paused pipes again (and drop). */
        writer_resume_streams(w);
}

/* Open a private, non-blocking way to write to fd. See output.h. */
static int writer_open(struct writer *w, int fd, bool no_reopen) {
        struct stat st;
        char path[64];
        int nfd;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
                nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (nfd < 0)
                        return negative_errno();
                w->fd = nfd;
                w->mode = DEST_FILE;
                w->limit = 0;
                return 0;
        }
        if (S_ISSOCK(st.st_mode)) {
                nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (nfd < 0)
                        return negative_errno();
                w->fd = nfd;
                w->mode = DEST_SEND;
                w->limit = PIPE_BUF;
                return 0;
        }
        if (!no_reopen) {
                snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
                nfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                if (nfd >= 0) {
                        w->fd = nfd;
                        w->mode = DEST_REOPEN;
                        /* /dev/null and the like take big writes; pipes and
                         * terminals get line-bounded atomic ones. */
                        w->limit = S_ISFIFO(st.st_mode) || isatty(nfd) ? PIPE_BUF : 0;
                        return 0;
                }
                log_msg(LOG_LEVEL_DEBUG, -errno, "cannot reopen %s, writing with poll(2) before each write", path);
        }
        nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (nfd < 0)
                return negative_errno();
        w->fd = nfd;
        w->mode = DEST_POLL;
        w->limit = PIPE_BUF;
        return 0;
}

static ssize_t writer_write(struct writer *w, const char *p, size_t n) {
        ssize_t k;

        switch (w->mode) {
        case DEST_SEND:
                k = send(w->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
                break;
        case DEST_POLL: {
                struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };
                int r = poll(&pfd, 1, 0);

                if (r < 0)
                        return negative_errno();
                /* Not writable: wait. POLLERR/POLLHUP: let write() say why. */
                if (r == 0)
                        return -EAGAIN;
                k = write(w->fd, p, n);
                break;
        }
        default:
                k = write(w->fd, p, n);
        }
        if (k < 0)
                return negative_errno();
        return k;
}

static void on_writable(struct loop *l, int fd, uint32_t events, void *userdata);
static void on_readable(struct loop *l, int fd, uint32_t events, void *userdata);
static void stream_eof(struct output_stream *s);

static size_t share_of(const struct writer *w) {
        return w->q.max_bytes / (w->n_streams ? w->n_streams : 1);
}

/* Room for another read's worth (a 64 KiB read of short lines grows by
 * its prefixes: twice the chunk covers prefixes as long as the lines),
 * in the queue and in the stream's share. div 2: half empty (the end of
 * drop mode). */
static bool stream_has_room(const struct output_stream *s, size_t div) {
        const struct writer *w = s->w;
        size_t share = share_of(w), margin = 2 * OUTPUT_READ_CHUNK, own = share / 2 < margin ? share / 2 : margin;

        if (div > 1)
                return w->q.len <= w->q.max_bytes / div && s->owner.queued <= share / div;
        return w->q.len + margin <= w->q.max_bytes && (s->owner.queued == 0 || s->owner.queued + own <= share);
}

static void stream_resume(struct output_stream *s) {
        int r;

        if (!s->paused)
                return;
        s->paused = false;
        s->w->n_paused--;
        loop_timer_disarm(s->o->loop, &s->pause_timer);
        r = loop_add_fd(s->o->loop, s->fd, EPOLLIN, on_readable, s);
        if (r < 0) {
                log_msg(LOG_LEVEL_WARN, r, "service '%s': cannot watch its %s again, closing it", s->name,
                        s->err ? "stderr" : "stdout");
                stream_eof(s);
        }
}

/* Stop reading: the pipe fills and the service blocks in write(2), as it
 * would on a slow terminal, but for at most pause_usec. Unwatched rather
 * than watched for nothing: a pipe whose writers are gone reports
 * EPOLLHUP whatever the events asked, and would spin the loop. */
static void stream_pause(struct output_stream *s) {
        if (loop_timer_arm_in(s->o->loop, &s->pause_timer, s->o->pause_usec) < 0) {
                s->drop_mode = true;
                return;
        }
        (void)loop_del_fd(s->o->loop, s->fd);
        s->paused = true;
        s->w->n_paused++;
}

static void on_pause_timer(struct loop *l, void *userdata) {
        struct output_stream *s = userdata;

        (void)l;
        /* Still no room: the reader is stopped, not slow. Never block the
         * service longer: read again and drop what does not fit. */
        s->drop_mode = true;
        stream_resume(s);
}

/* After the writer made progress: resume the streams that have room. */
static void writer_resume_streams(struct writer *w) {
        if (w->n_paused == 0)
                return;
        for (struct output_stream *s = w->o->streams, *next; s; s = next) {
                next = s->next;
                if (s->w == w && s->paused && (w->mode == DEST_FAILED || stream_has_room(s, 1)))
                        stream_resume(s);
        }
}

/* Write what the destination takes now; on EAGAIN wait for EPOLLOUT. */
static void writer_flush(struct writer *w) {
        if (w->mode == DEST_FAILED)
                return;
        for (;;) {
                const char *p;
                size_t n = output_queue_peek(&w->q, w->limit, &p);
                ssize_t k;

                if (n == 0)
                        break;
                k = writer_write(w, p, n);
                if (k > 0) {
                        output_queue_consume(&w->q, (size_t)k);
                        w->bytes_written += (uint64_t)k;
                        continue;
                }
                if (k == -EINTR)
                        continue;
                if (k == -EAGAIN || k == 0) {
                        if (!w->watching) {
                                int r = loop_add_fd(w->o->loop, w->fd, EPOLLOUT, on_writable, w);

                                if (r < 0) {
                                        writer_fail(w, r);
                                        return;
                                }
                                w->watching = true;
                                w->stalls++;
                        }
                        writer_resume_streams(w);
                        return;
                }
                writer_fail(w, (int)k);
                return;
        }
        if (w->watching) {
                (void)loop_del_fd(w->o->loop, w->fd);
                w->watching = false;
        }
        writer_resume_streams(w);
}

static void on_writable(struct loop *l, int fd, uint32_t events, void *userdata) {
        (void)l;
        (void)fd;
        (void)events;
        writer_flush(userdata);
}

static void report_drops(struct output_stream *s) {
        if (s->report_lines == 0)
                return;
        log_event(LOG_LEVEL_WARN, "output_dropped", "service", s->name, "stream", s->err ? "stderr" : "stdout",
                  "lines", LF_U64(s->report_lines), "bytes", LF_U64(s->report_bytes), "total_lines",
                  LF_U64(s->lines.stats.dropped_lines), "total_bytes", LF_U64(s->lines.stats.dropped_bytes), NULL);
        s->report_lines = s->report_bytes = 0;
}

static void on_report_timer(struct loop *l, void *userdata) {
        (void)l;
        report_drops(userdata);
}

static void stream_emit(const struct output_line *line, void *userdata) {
        struct output_stream *s = userdata;
        struct writer *w = s->w;
        size_t share;
        int r;

        if (line->cont && s->dropping)
                r = -ENOBUFS; /* no line with a hole in the middle */
        else if (w->mode == DEST_FAILED)
                r = -EPIPE;
        else {
                share = share_of(w);
                r = output_queue_push(&w->q, &s->owner, line, share);
        }
        if (r == 0) {
                s->dropping = false;
                if (w->q.len > w->queued_max)
                        w->queued_max = w->q.len;
                return;
        }
        s->dropping = line->split;
        s->lines.stats.dropped_lines++;
        s->lines.stats.dropped_bytes += output_line_input_bytes(line);
        if (r == -EPIPE)
                return; /* said once by writer_fail() */
        s->report_lines++;
        s->report_bytes += output_line_input_bytes(line);
        if (!loop_timer_armed(&s->report_timer) &&
            loop_timer_arm_in(s->o->loop, &s->report_timer, OUTPUT_DROP_REPORT_USEC) < 0)
                report_drops(s);
}

static void stream_lines(struct output_stream *s, const char *buf, size_t n) {
        if (output_lines_feed(&s->lines, buf, n, stream_emit, s) < 0)
                log_msg(LOG_LEVEL_WARN, -ENOMEM, "service '%s': cannot hold a partial line, dropping part of it",
                        s->name);
}

static void stream_feed(struct output_stream *s, const char *buf, size_t n) {
        if (s->filter.feed) {
                s->in_feed = true;
                s->filter.feed(s->filter.userdata, s, buf, n);
                s->in_feed = false;
        } else
                stream_lines(s, buf, n);
}

void output_stream_pass(struct output_stream *s, const char *buf, size_t n) {
        stream_lines(s, buf, n);
        /* From the filter's own timer: nobody else flushes after it. */
        if (!s->in_feed && !s->finishing)
                writer_flush(s->w);
}

/* The end of the input: the filter lets go of what it holds, then the
 * partial line goes out. */
static void stream_finish(struct output_stream *s) {
        if (s->filter.finish && !s->finished) {
                s->finished = s->finishing = true;
                s->filter.finish(s->filter.userdata, s);
                s->finishing = false;
        }
        output_lines_finish(&s->lines, stream_emit, s);
}

static void stream_close(struct output_stream *s) {
        if (s->fd < 0)
                return;
        (void)loop_del_fd(s->o->loop, s->fd);
        s->fd = safe_close(s->fd);
}

static void stream_eof(struct output_stream *s) {
        stream_finish(s);
        writer_flush(s->w);
        stream_close(s);
        s->eof = true;
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *userdata) {
        struct output_stream *s = userdata;
        char *buf = s->o->rbuf;

        (void)l;
        (void)events;
        if (s->drop_mode && (s->w->mode == DEST_FAILED || stream_has_room(s, 2)))
                s->drop_mode = false;
        /* Bounded: level-triggered epoll brings us back for the rest after
         * every other ready fd had its turn. */
        for (int i = 0; i < OUTPUT_READS_PER_WAKEUP;) {
                ssize_t n;

                if (s->o->pause_usec && !s->drop_mode && s->w->mode != DEST_FAILED && !stream_has_room(s, 1)) {
                        stream_pause(s);
                        if (s->paused)
                                return;
                }
                n = read(fd, buf, OUTPUT_READ_CHUNK);

                if (n > 0) {
                        stream_feed(s, buf, (size_t)n);
                        writer_flush(s->w);
                        if ((size_t)n < OUTPUT_READ_CHUNK)
                                return; /* drained, most likely: spare a read that says EAGAIN */
                        i++;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n < 0)
                        log_msg(LOG_LEVEL_WARN, -errno, "service '%s': cannot read its %s, closing it", s->name,
                                s->err ? "stderr" : "stdout");
                stream_eof(s);
                return;
        }
}

int output_new(struct loop *l, const struct output_options *opt, struct output **ret) {
        struct output_options def = { 0 };
        struct output *o;
        struct stat st1, st2;
        int fds[2];
        size_t qmax;

        if (!opt)
                opt = &def;
        if (opt->name_width > OUTPUT_NAME_MAX)
                return -EINVAL;
        qmax = opt->queue_max_bytes ? opt->queue_max_bytes : OUTPUT_QUEUE_DEFAULT;
        if (qmax < OUTPUT_QUEUE_MIN)
                qmax = OUTPUT_QUEUE_MIN;
        if (qmax > OUTPUT_QUEUE_MAX)
                qmax = OUTPUT_QUEUE_MAX;
        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        o->rbuf = malloc(OUTPUT_READ_CHUNK);
        if (!o->rbuf) {
                free(o);
                return -ENOMEM;
        }
        o->loop = l;
        o->name_width = opt->name_width;
        o->pause_usec = opt->no_pause ? 0 : opt->pause_usec ? opt->pause_usec : OUTPUT_PAUSE_DEFAULT_USEC;
        fds[0] = opt->stdout_fd > 0 ? opt->stdout_fd : STDOUT_FILENO;
        fds[1] = opt->stderr_fd > 0 ? opt->stderr_fd : STDERR_FILENO;
        o->shared = fds[0] == fds[1] || (fstat(fds[0], &st1) == 0 && fstat(fds[1], &st2) == 0 &&
                                         st1.st_dev == st2.st_dev && st1.st_ino == st2.st_ino);
        for (int i = 0; i < (o->shared ? 1 : 2); i++) {
                struct writer *w = &o->w[i];
                int r;

                w->o = o;
                w->fd = -1;
                w->label = i == 0 ? (o->shared ? "stdout/stderr" : "stdout") : "stderr";
                /* The largest line: a full piece with the longest prefix. */
                (void)output_queue_init(&w->q, qmax, OUTPUT_LINE_MAX + OUTPUT_NAME_MAX + 4);
                r = writer_open(w, fds[i], opt->no_reopen);
                if (r < 0) {
                        w->mode = DEST_FAILED;
                        log_msg(LOG_LEVEL_WARN, r, "cannot write service output to gorral's %s, dropping it",
                                w->label);
                }
        }
        *ret = o;
        return 0;
}

struct output *output_free(struct output *o) {
        if (!o)
                return NULL;
        while (o->streams)
                output_stream_free(o->streams);
        for (int i = 0; i < (o->shared ? 1 : 2); i++) {
                struct writer *w = &o->w[i];

                if (w->watching)
                        (void)loop_del_fd(o->loop, w->fd);
                safe_close(w->fd);
                output_queue_done(&w->q);
        }
        free(o->rbuf);
        free(o);
        return NULL;
}

static struct writer *writer_of(struct output *o, bool err) {
        return err && !o->shared ? &o->w[1] : &o->w[0];
}

static int writer_flush_wait(struct writer *w, uint64_t deadline) {
        for (;;) {
                const char *p;
                size_t n;
                ssize_t k;
                uint64_t now;

                if (w->mode == DEST_FAILED)
                        return output_queue_len(&w->q) ? -EPIPE : 0;
                n = output_queue_peek(&w->q, w->limit, &p);
                if (n == 0)
                        break;
                k = writer_write(w, p, n);
                if (k > 0) {
                        output_queue_consume(&w->q, (size_t)k);
                        w->bytes_written += (uint64_t)k;
                        continue;
                }
                if (k == -EINTR)
                        continue;
                if (k != -EAGAIN && k != 0) {
                        writer_fail(w, (int)k);
                        return (int)k;
                }
                now = now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                {
                        struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };
                        uint64_t ms = (deadline - now + 999) / 1000;

                        (void)poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms);
                }
        }
        if (w->watching) {
                (void)loop_del_fd(w->o->loop, w->fd);
                w->watching = false;
        }
        return 0;
}

int output_flush(struct output *o, uint64_t timeout_usec) {
        uint64_t now = now_usec(), deadline = timeout_usec > UINT64_MAX - now ? UINT64_MAX : now + timeout_usec;
        int r = 0;

        for (int i = 0; i < (o->shared ? 1 : 2); i++) {
                int k = writer_flush_wait(&o->w[i], deadline);

                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

void output_dest_stats(const struct output *o, bool err, struct output_dest_stats *ret) {
        const struct writer *w = writer_of((struct output *)o, err);

        *ret = (struct output_dest_stats){
                .mode = dest_mode_names[w->mode],
                .bytes_written = w->bytes_written,
                .stalls = w->stalls,
                .discarded_bytes = w->discarded,
                .queued_bytes = output_queue_len(&w->q),
                .queued_max = w->queued_max,
        };
}

int output_stream_new(struct output *o, const char *name, int fd, bool err, struct output_stream **ret) {
        return output_stream_new_filtered(o, name, fd, err, NULL, ret);
}

int output_stream_new_filtered(struct output *o, const char *name, int fd, bool err, const struct output_filter *f,
                               struct output_stream **ret) {
        struct output_stream *s;
        int r, fl;

        if (fd < 0)
                return -EBADF;
        s = calloc(1, sizeof *s);
        if (!s) {
                safe_close(fd);
                return -ENOMEM;
        }
        s->o = o;
        s->fd = fd;
        s->err = err;
        if (f)
                s->filter = *f;
        loop_timer_init(&s->report_timer, on_report_timer, s);
        loop_timer_init(&s->pause_timer, on_pause_timer, s);
        if (!name) {
                r = -EINVAL;
                goto fail;
        }
        r = output_lines_init(&s->lines, f && f->no_prefix ? NULL : name, o->name_width, OUTPUT_LINE_MAX);
        if (r < 0)
                goto fail;
        s->name = strdup(name);
        if (!s->name) {
                r = -ENOMEM;
                goto fail;
        }
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
                r = negative_errno();
                goto fail;
        }
        r = loop_add_fd(o->loop, fd, EPOLLIN, on_readable, s);
        if (r < 0)
                goto fail;
        s->w = writer_of(o, err);
        s->w->n_streams++;
        s->next = o->streams;
        if (o->streams)
                o->streams->prev = s;
        o->streams = s;
        *ret = s;
        return 0;
fail:
        safe_close(fd);
        output_lines_done(&s->lines);
        free(s->name);
        free(s);
        return r;
}

struct output_stream *output_stream_free(struct output_stream *s) {
        struct output *o;

        if (!s)
                return NULL;
        o = s->o;
        if (s->paused) {
                s->paused = false;
                s->w->n_paused--;
                loop_timer_disarm(o->loop, &s->pause_timer);
        }
        /* What the service wrote before it exited is in the pipe: take it,
         * without waiting for writers that are still alive. */
        for (size_t total = 0; s->fd >= 0 && total < OUTPUT_DRAIN_MAX;) {
                ssize_t n = read(s->fd, o->rbuf, OUTPUT_READ_CHUNK);

                if (n > 0) {
                        stream_feed(s, o->rbuf, (size_t)n);
                        writer_flush(s->w);
                        total += (size_t)n;
                } else if (n < 0 && errno == EINTR)
                        continue;
                else {
                        if (n == 0)
                                s->eof = true;
                        break;
                }
        }
        stream_finish(s);
        writer_flush(s->w);
        loop_timer_disarm(o->loop, &s->report_timer);
        report_drops(s);
        stream_close(s);
        output_queue_forget(&s->w->q, &s->owner);
        s->w->n_streams--;
        if (s->prev)
                s->prev->next = s->next;
        else
                o->streams = s->next;
        if (s->next)
                s->next->prev = s->prev;
        output_lines_done(&s->lines);
        free(s->name);
        free(s);
        return NULL;
}

bool output_stream_eof(const struct output_stream *s) { return s->eof; }

const struct output_stats *output_stream_stats(const struct output_stream *s) { return &s->lines.stats; }
