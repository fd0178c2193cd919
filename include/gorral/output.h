/* output.h: the output.prefix feature (L2): services' stdout and stderr
 * read through pipes, cut into lines, each line written to gorral's own
 * stdout or stderr as
 *
 *     NAME | the line\n
 *
 * Without output.prefix none of this runs: the child inherits gorral's
 * fds 1 and 2 and its output passes through untouched.
 *
 * Three layers, the first two pure (no fds, no logging; fuzzed together):
 *
 *   output_lines   one per stream: bytes in, whole lines out. A line is
 *                  kept whole up to line_max bytes (OUTPUT_LINE_MAX, 64 KiB,
 *                  newline excluded); a longer one is cut every line_max
 *                  bytes, the pieces after the first prefixed "NAME + "
 *                  instead of "NAME | ", so the split is visible in the
 *                  output itself. A partial last line is flushed at EOF with
 *                  a newline added. Bytes pass as they are: CR, NUL and
 *                  invalid UTF-8 included. The cut points do not depend on
 *                  how the bytes were chunked by read(2).
 *   output_queue   one per destination: a bounded FIFO of whole formatted
 *                  lines (max_bytes, 1 MiB by default) that never splits a
 *                  line in memory (a bip buffer: every line is contiguous),
 *                  with per-owner accounting so one chatty stream cannot take
 *                  another's share. A line that does not fit is refused
 *                  whole: the caller counts it as dropped.
 *   output         the loop side: a writer per destination (gorral's stdout
 *                  and stderr, one writer when both are the same file), shared
 *                  by every service, and the streams reading the pipes.
 *
 * Never blocking the loop, and never the service for long. Each wakeup
 * reads a pipe at most OUTPUT_READS_PER_WAKEUP times OUTPUT_READ_CHUNK, so
 * one flood cannot starve the loop; the destination is written without
 * blocking. When the destination is slower than a service, the queue
 * fills; a stream whose share (or the queue) has no room for another read
 * stops being read, so its pipe fills and the service blocks in write(2)
 * as it would on a slow terminal, but for at most pause_usec (100 ms): a
 * burst against a slow reader loses nothing. A pause that runs out means
 * the reader is stopped, not slow: the stream is read again and lines that
 * do not fit are dropped whole (the rest of a split line with them) until
 * the queue is half empty, counted per stream and reported by one warning
 * per stream per second at most:
 *     event=output_dropped service=api stream=stdout lines=N bytes=N
 *
 * Writing without blocking, without touching the open file description
 * gorral shares with others (setting O_NONBLOCK on an inherited terminal
 * would make the user's shell see EAGAIN), depends on what fd 1/2 is:
 *   pipe, FIFO, tty, other char device: reopened through /proc/self/fd/N
 *     with O_WRONLY|O_NONBLOCK|O_NOCTTY: a private description of the same
 *     file ("reopen").
 *   socket (which cannot be reopened: ENXIO): send(2) with MSG_DONTWAIT ("send").
 *   regular file, block device: plain write(2) on a dup, which keeps the
 *     shared offset and O_APPEND (reopening would rewind it); a file never
 *     answers EAGAIN ("file").
 *   anything that cannot be reopened (no /proc, EACCES after dropping
 *     privileges, a pipe whose reader is gone): poll(2) with a zero
 *     timeout before each write of at most PIPE_BUF bytes ("poll"). A pipe
 *     with free room takes such a write whole, so this cannot block unless
 *     another process fills the same pipe between the poll and the write;
 *     a tty may still block briefly.
 * On pipes, sockets and ttys every write is a run of whole lines of at most
 * PIPE_BUF bytes (one longer line alone), so a line never shares a write
 * with part of another and the kernel's PIPE_BUF atomicity keeps lines
 * whole even against other writers of the same pipe (gorral's own log
 * lines on stderr). /dev/null and files get large writes.
 *
 * A destination that fails (EPIPE: the reader is gone) is given up: its
 * queue is discarded (output_dest_stats().discarded_bytes), later lines are
 * dropped and counted, and the pipes are still drained so services never
 * block.
 *
 * Use (the supervisor, per start of a service with output.prefix):
 *   pipe2(p, O_CLOEXEC) twice; spawn_params.stdout_fd/stderr_fd = the write
 *   ends; spawn_process(); close both write ends in gorral (else EOF never
 *   comes); output_stream_new() with each read end. When the main process
 *   is reaped: output_stream_free() both, then log the exit, so the
 *   service's last lines (its partial one too) come first. At gorral's
 *   exit, after the loop: output_flush(o, timeout), output_free(o).
 *   gorral's own log lines go straight to fd 2: they precede whatever is
 *   still queued for stderr, and never land inside a line (see above). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

/* Bounds. Service names are validated by the configuration; these are the
 * last line of defence. */
#define OUTPUT_LINE_MAX ((size_t)64 * 1024)       /* bytes of a line kept whole, newline excluded */
#define OUTPUT_NAME_MAX 128                       /* bytes of a name (and of the padding width) */
#define OUTPUT_QUEUE_DEFAULT ((size_t)1 << 20)    /* queued bytes per destination */
#define OUTPUT_QUEUE_MIN ((size_t)256 * 1024)     /* smaller max_bytes are raised to this */
#define OUTPUT_QUEUE_MAX ((size_t)256 << 20)
#define OUTPUT_READ_CHUNK ((size_t)64 * 1024)     /* one read(2) */
#define OUTPUT_READS_PER_WAKEUP 4                 /* reads per stream per loop wakeup */
#define OUTPUT_DRAIN_MAX ((size_t)1 << 20)        /* read by output_stream_free() at most */
#define OUTPUT_DROP_REPORT_USEC (1000ULL * 1000)  /* one drop warning per stream per second */
#define OUTPUT_PAUSE_DEFAULT_USEC (100ULL * 1000) /* longest a full queue stops reading a pipe */

/* Counters of one stream (for /metrics). Invariant, checked by the fuzz
 * target: bytes_in = input bytes of the lines queued + dropped_bytes +
 * the bytes of the partial line still held. */
struct output_stats {
        uint64_t bytes_in;       /* read from the service */
        uint64_t lines;          /* lines emitted; each piece of a split line counts */
        uint64_t split_lines;    /* lines longer than the limit, emitted in pieces */
        uint64_t partial_lines;  /* last lines without a newline (one was added) */
        uint64_t dropped_lines;  /* of lines: refused (queue full, share used, destination failed) */
        uint64_t dropped_bytes;  /* input bytes of those (newline included), and any the assembler could not hold */
};

/* ---- output_lines: the line assembler (pure) ---- */

/* One emitted line: written as prefix, data, "\n". */
struct output_line {
        const char *prefix;
        size_t prefix_len;
        const char *data;        /* without its newline; never contains '\n' */
        size_t len;              /* <= line_max */
        bool newline;            /* ended with a newline in the input; false for a
                                  * piece of a split line and a partial last line */
        bool split;              /* a piece of a longer line, more pieces follow */
        bool cont;               /* not the first piece (prefix is the "+" one) */
};
/* Input bytes a line stands for (len + its newline). */
static inline size_t output_line_input_bytes(const struct output_line *l) { return l->len + (l->newline ? 1 : 0); }
/* Bytes it takes formatted. */
static inline size_t output_line_size(const struct output_line *l) { return l->prefix_len + l->len + 1; }

typedef void (*output_emit_cb)(const struct output_line *line, void *userdata);

struct output_lines {
        char *prefix;            /* "NAME | " (name padded to width) */
        char *cont_prefix;       /* "NAME + " */
        size_t prefix_len;       /* both have this length */
        size_t line_max;
        char *buf;               /* the partial line; grows to line_max, freed when empty and big */
        size_t len, cap;
        bool continuing;         /* the partial line continues a split one */
        struct output_stats stats;
};

/* name: 1..OUTPUT_NAME_MAX bytes, no control characters; padded with spaces
 * to width (0: none; at most OUTPUT_NAME_MAX); NULL: no prefix at all (the
 * lines pass as they came, cut only past line_max); line_max: 1..OUTPUT_LINE_MAX
 * (0: OUTPUT_LINE_MAX). 0, -EINVAL or -ENOMEM. */
int output_lines_init(struct output_lines *a, const char *name, unsigned width, size_t line_max);
/* Frees the buffers (the partial line is lost: call output_lines_finish
 * first). Safe on a zeroed or half-initialised struct. */
void output_lines_done(struct output_lines *a);
/* Feed n bytes; emit() is called for every line completed, in order (data
 * points into buf or into the assembler: valid during the call only).
 * 0, or -ENOMEM when a partial line could not be held: those bytes are
 * counted in stats.dropped_bytes and the rest is still processed. */
int output_lines_feed(struct output_lines *a, const void *buf, size_t n, output_emit_cb emit, void *userdata);
/* EOF: emit the partial line, if any, with newline = false. Idempotent. */
void output_lines_finish(struct output_lines *a, output_emit_cb emit, void *userdata);
/* Bytes of the partial line held. */
static inline size_t output_lines_pending(const struct output_lines *a) { return a->len; }

/* ---- output_queue: the bounded queue of one destination (pure) ---- */

/* Embedded in whoever owns queued lines (a stream). */
struct output_owner {
        size_t queued;           /* bytes of this owner in the queue */
};

struct output_queue_run;

struct output_queue {
        size_t max_bytes;        /* bound on queued bytes */
        size_t max_line;         /* largest single line (formatted) */
        char *buf;               /* grows to max_bytes + max_line; freed when empty and large */
        size_t cap, head, tail, wrap_end, len;
        bool wrapped;            /* data is [head, wrap_end) then [0, tail) */
        struct output_queue_run *runs;  /* FIFO of (owner, bytes): consecutive lines of one owner merge */
        size_t runs_cap, runs_head, n_runs;
};
#define OUTPUT_QUEUE_MAX_RUNS 65536

/* 0 or -EINVAL (max_line 0 or > max_bytes). Nothing allocated yet. */
int output_queue_init(struct output_queue *q, size_t max_bytes, size_t max_line);
void output_queue_done(struct output_queue *q);
/* Queue one formatted line for owner (NULL: nobody's). Refused whole with
 * -ENOBUFS when it would take the queue past max_bytes, or the owner past
 * share bytes while the owner already has something queued (a stream with
 * nothing queued may always queue one line that fits), or when
 * OUTPUT_QUEUE_MAX_RUNS runs are queued; -EMSGSIZE when larger than
 * max_line; -ENOMEM. */
int output_queue_push(struct output_queue *q, struct output_owner *owner, const struct output_line *l,
                      size_t share);
/* The next bytes to write: contiguous, ending on a line boundary. With
 * limit > 0, at most limit bytes of whole lines, or the rest of a single
 * line when that alone is longer. Returns the length (0: empty). */
size_t output_queue_peek(const struct output_queue *q, size_t limit, const char **ret);
/* n bytes (at most the last peek's length) were written. */
void output_queue_consume(struct output_queue *q, size_t n);
/* Discard everything. Returns the bytes discarded. */
size_t output_queue_clear(struct output_queue *q);
/* The owner goes away: its queued lines stay, unowned. */
void output_queue_forget(struct output_queue *q, struct output_owner *owner);
static inline size_t output_queue_len(const struct output_queue *q) { return q->len; }

/* ---- output: writers and streams on the loop ---- */

struct output;
struct output_stream;

struct output_options {
        size_t queue_max_bytes;  /* per destination; 0: OUTPUT_QUEUE_DEFAULT; clamped to [MIN, MAX] */
        unsigned name_width;     /* pad names to this width so the bars align; 0: no padding */
        int stdout_fd, stderr_fd;/* destinations; 0: fds 1 and 2 (tests give pipes) */
        uint64_t pause_usec;     /* 0: OUTPUT_PAUSE_DEFAULT_USEC */
        bool no_pause;           /* drop at once when full, never stop reading */
        bool no_reopen;          /* tests: take the poll fallback instead of reopening */
};

/* Counters of one destination. */
struct output_dest_stats {
        const char *mode;        /* "reopen", "send", "file", "poll", "failed" */
        uint64_t bytes_written;
        uint64_t stalls;         /* times it had to wait for EPOLLOUT */
        uint64_t discarded_bytes;/* queued when the destination failed */
        size_t queued_bytes;
        size_t queued_max;       /* high-water mark */
};

/* Set up the writers (the destinations are never closed or changed).
 * Destination errors are not fatal: the writer starts failed and drops
 * (logged once). 0 or -ENOMEM/-EINVAL. */
int output_new(struct loop *l, const struct output_options *opt, struct output **ret);
/* Frees every stream still open (flushing each partial line) and the
 * writers; queued lines not yet written are lost: call output_flush()
 * first. NULL-safe. */
struct output *output_free(struct output *o);
/* At exit, after the loop has stopped: write what is queued, waiting at
 * most timeout_usec in poll(2) (the only blocking call here). 0 when
 * everything was written, -ETIMEDOUT, or the destination's -errno. */
int output_flush(struct output *o, uint64_t timeout_usec);
/* err: the stderr destination. */
void output_dest_stats(const struct output *o, bool err, struct output_dest_stats *ret);

/* Read a service's stdout (err false) or stderr (err true) pipe. fd is the
 * read end; it is taken over in every case (closed on failure), made
 * O_NONBLOCK and watched for EPOLLIN. name is copied. On EOF the partial
 * line is flushed, the fd closed and unwatched; the stream stays (stats
 * readable) until output_stream_free(). 0, -EINVAL (name), -ENOMEM, or
 * loop_add_fd()'s -errno. */
int output_stream_new(struct output *o, const char *name, int fd, bool err, struct output_stream **ret);
/* A stream whose bytes go through a filter before the line assembler: the
 * GODEBUG trace reader (gotrace.h, fed by monitor.c) takes the trace lines
 * out of a service's stderr and hands the rest on with output_stream_pass().
 * feed gets every chunk read; finish is called once, at EOF or
 * output_stream_free(), before the partial line is flushed, so the filter
 * can let go of lines it holds. no_prefix: lines keep no "NAME | " (a
 * service traced without output.prefix: its stderr passes as it was). */
struct output_filter {
        void (*feed)(void *userdata, struct output_stream *s, const char *buf, size_t n);
        void (*finish)(void *userdata, struct output_stream *s);
        void *userdata;
        bool no_prefix;
};
int output_stream_new_filtered(struct output *o, const char *name, int fd, bool err, const struct output_filter *f,
                               struct output_stream **ret);
/* From a filter: bytes for the line assembler (and so the destination). */
void output_stream_pass(struct output_stream *s, const char *buf, size_t n);

/* Read what the pipe holds now (at most OUTPUT_DRAIN_MAX bytes, without
 * waiting), flush the partial line, queue and try to write it, report
 * pending drops, close. Its lines already queued are still written.
 * Call it when the service's main process has been reaped and before
 * logging the exit, so the last lines come before the exit line. A process
 * of the service still holding the pipe gets EPIPE afterwards. NULL-safe;
 * returns NULL. */
struct output_stream *output_stream_free(struct output_stream *s);
/* Has the pipe reached EOF (every writer closed it)? */
bool output_stream_eof(const struct output_stream *s);
const struct output_stats *output_stream_stats(const struct output_stream *s);
