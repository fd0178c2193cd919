/* Unit tests for src/output.c: the line assembler (chunkings, CRLF, empty
 * lines, NUL, a 200 KiB line cut in pieces, the partial last line), the
 * bounded queue (shares, line-bounded peeks), the writers on real pipes,
 * sockets and files (a stalled reader: drops counted, the loop's timers
 * still on time), real child processes through spawn's stdout_fd/stderr_fd,
 * and the throughput of the whole path. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "gorral/loop.h"
#include "gorral/output.h"
#include "gorral/spawn.h"
#include "gorral/util.h"

/* ---- helpers ---- */

struct buf {
        char *p;
        size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n) {
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->p = realloc(b->p, b->cap);
                cr_assert(b->p);
        }
        memcpy(b->p + b->len, p, n);
        b->len += n;
        b->p[b->len] = '\0';
}

/* An emit callback that formats lines like the queue does, and records
 * the flags. */
struct collect {
        struct buf out;
        size_t n, n_split, n_cont, n_partial;
        size_t input_bytes;
};

static void collect_emit(const struct output_line *l, void *userdata) {
        struct collect *c = userdata;

        cr_assert_null(memchr(l->data, '\n', l->len));
        buf_add(&c->out, l->prefix, l->prefix_len);
        buf_add(&c->out, l->data, l->len);
        buf_add(&c->out, "\n", 1);
        c->n++;
        c->n_split += l->split;
        c->n_cont += l->cont;
        c->n_partial += !l->newline && !l->split;
        c->input_bytes += output_line_input_bytes(l);
}

static void feed_chunked(const char *in, size_t n, size_t chunk, size_t line_max, struct collect *c,
                         struct output_stats *ret_stats) {
        struct output_lines a;

        cr_assert_eq(output_lines_init(&a, "api", 0, line_max), 0);
        for (size_t off = 0; off < n; off += chunk)
                cr_assert_eq(output_lines_feed(&a, in + off, n - off < chunk ? n - off : chunk, collect_emit, c), 0);
        output_lines_finish(&a, collect_emit, c);
        output_lines_finish(&a, collect_emit, c); /* idempotent */
        cr_assert_eq(output_lines_pending(&a), 0);
        if (ret_stats)
                *ret_stats = a.stats;
        output_lines_done(&a);
}

/* ---- the assembler ---- */

Test(output_lines, whole_lines_prefixed) {
        struct collect c = { 0 };
        struct output_stats st;

        feed_chunked("hello\nworld\n", 12, 12, 0, &c, &st);
        cr_assert_str_eq(c.out.p, "api | hello\napi | world\n");
        cr_assert_eq(st.lines, 2);
        cr_assert_eq(st.bytes_in, 12);
        cr_assert_eq(st.partial_lines, 0);
        cr_assert_eq(c.input_bytes, 12);
        free(c.out.p);
}

Test(output_lines, crlf_empty_lines_and_nul_pass_through) {
        static const char in[] = "a\r\n\n\nb\0c\r\n\0\n";
        static const char want[] = "api | a\r\napi | \napi | \napi | b\0c\r\napi | \0\n";
        struct collect c = { 0 };

        feed_chunked(in, sizeof in - 1, 64, 0, &c, NULL);
        cr_assert_eq(c.out.len, sizeof want - 1);
        cr_assert_eq(memcmp(c.out.p, want, c.out.len), 0);
        cr_assert_eq(c.n, 5);
        free(c.out.p);
}

Test(output_lines, every_chunking_gives_the_same_lines) {
        /* Short lines, a line at the limit, one past it, one far past it,
         * and a partial tail; line_max 16 so every case is small. */
        char in[512];
        size_t n = 0;
        struct collect whole = { 0 };

        n += (size_t)sprintf(in + n, "one\n\ntwo\r\n");
        n += (size_t)sprintf(in + n, "%s\n", "0123456789abcdef");                 /* exactly 16 */
        n += (size_t)sprintf(in + n, "%s\n", "0123456789abcdefX");                /* 17 */
        n += (size_t)sprintf(in + n, "%s\n", "0123456789abcdef0123456789abcdef0123456789"); /* 42 */
        n += (size_t)sprintf(in + n, "tail-without-newline");  /* 20: cut, then flushed at EOF */
        feed_chunked(in, n, n, 16, &whole, NULL);
        for (size_t chunk = 1; chunk <= 40; chunk++) {
                struct collect c = { 0 };

                feed_chunked(in, n, chunk, 16, &c, NULL);
                cr_assert_eq(c.out.len, whole.out.len, "chunk %zu", chunk);
                cr_assert_eq(memcmp(c.out.p, whole.out.p, c.out.len), 0, "chunk %zu:\n%s", chunk, c.out.p);
                free(c.out.p);
        }
        cr_assert_str_eq(whole.out.p, "api | one\n"
                                      "api | \n"
                                      "api | two\r\n"
                                      "api | 0123456789abcdef\n"
                                      "api | 0123456789abcdef\n"
                                      "api + X\n"
                                      "api | 0123456789abcdef\n"
                                      "api + 0123456789abcdef\n"
                                      "api + 0123456789\n"
                                      "api | tail-without-new\n"
                                      "api + line\n");
        cr_assert_eq(whole.n_split, 4);
        cr_assert_eq(whole.n_cont, 4);
        cr_assert_eq(whole.n_partial, 1);
        free(whole.out.p);
}

Test(output_lines, a_200_KiB_line_is_cut_every_64_KiB) {
        size_t n = 200 * 1024, chunks[] = { 1, 4096, 65536, 65537, 300000 };
        char *in = malloc(n + 1);
        struct collect first = { 0 };

        for (size_t i = 0; i < n; i++)
                in[i] = (char)('a' + i % 26);
        in[n] = '\n';
        for (size_t k = 0; k < ELEMENTSOF(chunks); k++) {
                struct collect c = { 0 };
                struct output_stats st;
                const char *p;
                size_t piece = 0, off = 0;

                feed_chunked(in, n + 1, chunks[k], 0, &c, &st);
                cr_assert_eq(c.n, 4, "200 KiB = 3 x 64 KiB + 8 KiB");
                cr_assert_eq(st.split_lines, 1);
                cr_assert_eq(st.lines, 4);
                cr_assert_eq(c.n_cont, 3);
                cr_assert_eq(c.input_bytes, n + 1);
                /* Each piece: its prefix, then the next bytes of the line. */
                for (p = c.out.p; piece < 4; piece++) {
                        const char *nl = memchr(p, '\n', c.out.len - (size_t)(p - c.out.p));
                        size_t want = piece < 3 ? OUTPUT_LINE_MAX : n - 3 * OUTPUT_LINE_MAX;

                        cr_assert(nl);
                        cr_assert_eq(memcmp(p, piece ? "api + " : "api | ", 6), 0);
                        cr_assert_eq((size_t)(nl - p) - 6, want);
                        cr_assert_eq(memcmp(p + 6, in + off, want), 0);
                        off += want;
                        p = nl + 1;
                }
                if (k == 0)
                        first = c;
                else {
                        cr_assert_eq(memcmp(c.out.p, first.out.p, c.out.len), 0);
                        free(c.out.p);
                }
        }
        free(first.out.p);
        free(in);
}

Test(output_lines, limit_exactly_and_one_past) {
        char *in = malloc(OUTPUT_LINE_MAX + 2);
        struct collect c = { 0 }, d = { 0 };

        memset(in, 'x', OUTPUT_LINE_MAX + 1);
        in[OUTPUT_LINE_MAX] = '\n';
        feed_chunked(in, OUTPUT_LINE_MAX + 1, 1000, 0, &c, NULL);
        cr_assert_eq(c.n, 1, "a line of exactly 64 KiB stays whole");
        cr_assert_eq(c.n_split, 0);
        in[OUTPUT_LINE_MAX] = 'y';
        in[OUTPUT_LINE_MAX + 1] = '\n';
        feed_chunked(in, OUTPUT_LINE_MAX + 2, 1000, 0, &d, NULL);
        cr_assert_eq(d.n, 2);
        cr_assert_eq(memcmp(d.out.p + d.out.len - 8, "api + y\n", 8), 0);
        free(c.out.p);
        free(d.out.p);
        free(in);
}

Test(output_lines, partial_last_line_flushed_at_eof) {
        struct collect c = { 0 };
        struct output_stats st;

        feed_chunked("done\nno newline", 15, 3, 0, &c, &st);
        cr_assert_str_eq(c.out.p, "api | done\napi | no newline\n");
        cr_assert_eq(st.partial_lines, 1);
        cr_assert_eq(c.n_partial, 1);
        cr_assert_eq(c.input_bytes, 15, "the added newline is not an input byte");
        free(c.out.p);
}

Test(output_lines, names_padding_and_bounds) {
        struct output_lines a;
        char longname[OUTPUT_NAME_MAX + 2];

        cr_assert_eq(output_lines_init(&a, "db", 5, 0), 0);
        cr_assert_eq(a.prefix_len, 8);
        cr_assert_eq(memcmp(a.prefix, "db    | ", 8), 0);
        cr_assert_eq(memcmp(a.cont_prefix, "db    + ", 8), 0);
        output_lines_done(&a);
        output_lines_done(&a); /* twice: safe */
        memset(longname, 'n', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        cr_assert_eq(output_lines_init(&a, "", 0, 0), -EINVAL);
        cr_assert_eq(output_lines_init(&a, "a\nb", 0, 0), -EINVAL);
        cr_assert_eq(output_lines_init(&a, "a\033b", 0, 0), -EINVAL);
        cr_assert_eq(output_lines_init(&a, longname, 0, 0), -EINVAL);
        cr_assert_eq(output_lines_init(&a, "ok", OUTPUT_NAME_MAX + 1, 0), -EINVAL);
        cr_assert_eq(output_lines_init(&a, "ok", 0, OUTPUT_LINE_MAX + 1), -EINVAL);
        output_lines_done(&a);
}

/* ---- the queue ---- */

static struct output_line mkline(const char *prefix, const char *data) {
        return (struct output_line){ .prefix = prefix, .prefix_len = strlen(prefix), .data = data, .len = strlen(data),
                                     .newline = true };
}

Test(output_queue, shares_bound_and_line_bounded_peeks) {
        struct output_queue q;
        struct output_owner a = { 0 }, b = { 0 };
        struct output_line la = mkline("a | ", "0123456789"), lb = mkline("b | ", "xy");
        const char *p;
        size_t n, pushed_a = 0;

        cr_assert_eq(output_queue_init(&q, 1000, 100), 0);
        cr_assert_eq(output_queue_peek(&q, 0, &p), 0);
        /* a may take 500 (its share) ... */
        while (output_queue_push(&q, &a, &la, 500) == 0)
                pushed_a++;
        cr_assert_eq(pushed_a, 33, "15-byte lines: 33 fit in 500");
        cr_assert_leq(a.queued, 500);
        /* ... and b still gets in. */
        cr_assert_eq(output_queue_push(&q, &b, &lb, 500), 0);
        cr_assert_eq(b.queued, 7);
        /* Peeks end on line ends: 15-byte lines, limit 40 -> two lines. */
        n = output_queue_peek(&q, 40, &p);
        cr_assert_eq(n, 30);
        cr_assert_eq(memcmp(p, "a | 0123456789\na | 0123456789\n", 30), 0);
        /* A partial write of 20 bytes, then the rest of that line. */
        output_queue_consume(&q, 20);
        n = output_queue_peek(&q, 5, &p);
        cr_assert_eq(n, 10, "the rest of one line, though longer than the limit");
        cr_assert_eq(memcmp(p, "123456789\n", 10), 0);
        cr_assert_eq(output_queue_push(&q, &b, &(struct output_line){ .prefix = "", .len = 200 }, 500), -EMSGSIZE);
        cr_assert_eq(output_queue_clear(&q), (pushed_a * 15 + 7) - 20);
        cr_assert_eq(a.queued, 0);
        cr_assert_eq(b.queued, 0);
        output_queue_done(&q);
}

Test(output_queue, wraps_without_splitting_a_line) {
        struct output_queue q;
        struct output_owner a = { 0 };
        char data[64];
        unsigned next_in = 0, next_out = 0;
        struct buf out = { 0 };

        cr_assert_eq(output_queue_init(&q, 4096, 128), 0);
        /* Push and drain in uneven steps for a long while: the buffer
         * wraps many times; every peek must start at a line start or
         * continue the previous one, and the bytes come out in order. */
        for (int round = 0; round < 20000; round++) {
                for (int k = 0; k < round % 7; k++) {
                        int len = snprintf(data, sizeof data, "%u-%.*s", next_in, (int)(next_in % 50), "................................................................");
                        struct output_line l = { .prefix = "q | ", .prefix_len = 4, .data = data, .len = (size_t)len, .newline = true };

                        if (output_queue_push(&q, &a, &l, SIZE_MAX) == 0)
                                next_in++;
                }
                for (int k = 0; k < round % 5; k++) {
                        const char *p;
                        size_t n = output_queue_peek(&q, 0, &p), take = n < 37 ? n : 37;

                        cr_assert_eq(n == 0 || p[n - 1] == '\n', true);
                        buf_add(&out, p, take);
                        output_queue_consume(&q, take);
                }
                cr_assert_eq(a.queued, output_queue_len(&q));
        }
        /* Drain, then check the sequence. */
        for (;;) {
                const char *p;
                size_t n = output_queue_peek(&q, 0, &p);

                if (!n)
                        break;
                buf_add(&out, p, n);
                output_queue_consume(&q, n);
        }
        for (char *line = out.p; line && *line;) {
                char *nl = strchr(line, '\n');
                unsigned v;

                cr_assert(nl);
                char *end;

                cr_assert_eq(memcmp(line, "q | ", 4), 0, "%.40s", line);
                v = (unsigned)strtoul(line + 4, &end, 10);
                cr_assert_eq(*end, '-');
                cr_assert_eq(v, next_out);
                cr_assert_eq((size_t)(nl - line), 4 + (size_t)snprintf(NULL, 0, "%u-", v) + v % 50);
                next_out++;
                line = nl + 1;
        }
        cr_assert_eq(next_out, next_in);
        cr_assert_gt(next_in, 1000);
        free(out.p);
        output_queue_done(&q);
}

/* ---- on the loop ---- */

/* Run the loop until done(arg) or timeout_ms. */
static bool run_until(struct loop *l, bool (*done)(void *), void *arg, int timeout_ms) {
        uint64_t end = now_usec() + (uint64_t)timeout_ms * 1000;

        while (!done(arg)) {
                if (now_usec() > end)
                        return false;
                cr_assert_geq(loop_run_once(l, 10), 0);
        }
        return true;
}

static bool stream_done(void *s) { return output_stream_eof(s); }

/* A reader of a destination pipe, on the loop. */
struct sink {
        int fd;
        struct buf b;
};

static void sink_read(struct loop *l, int fd, uint32_t events, void *userdata) {
        struct sink *s = userdata;
        char tmp[65536];
        ssize_t n;

        (void)l;
        (void)events;
        while ((n = read(fd, tmp, sizeof tmp)) > 0)
                buf_add(&s->b, tmp, (size_t)n);
}

static void sink_drain(struct sink *s) {
        sink_read(NULL, s->fd, 0, s);
}

static int fl_of(int fd) { return fcntl(fd, F_GETFL); }

/* Fork a writer of n numbered lines of width bytes into fd (blocking
 * writes of whole buffers: as fast as it goes). */
static pid_t writer_child(int fd, unsigned n, unsigned width, const char *tag) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                char buf[65536];
                size_t len = 0;

                for (unsigned i = 0; i < n; i++) {
                        if (len + width + 1 > sizeof buf) {
                                if (write_all(fd, buf, len) < 0)
                                        _exit(1);
                                len = 0;
                        }
                        int k = snprintf(buf + len, width + 1, "%s%08u", tag, i);
                        memset(buf + len + k, '.', width - (unsigned)k);
                        buf[len + width] = '\n';
                        len += width + 1;
                }
                if (write_all(fd, buf, len) < 0)
                        _exit(1);
                _exit(0);
        }
        return pid;
}

/* Check that every line of out is "<prefix><tag><seq>....", seq strictly
 * increasing; returns the number of lines. (Plain checks: a passing
 * cr_assert costs microseconds, and there are 10^5 lines.) */
static unsigned check_lines(const struct buf *out, const char *prefix, const char *tag, unsigned width,
                            unsigned *ret_last) {
        size_t pl = strlen(prefix), tl = strlen(tag);
        unsigned n = 0;
        long last = -1;

        for (size_t off = 0; off < out->len;) {
                const char *line = out->p + off, *nl = memchr(line, '\n', out->len - off);
                unsigned v;

                if (!nl)
                        cr_assert_fail("a line without its newline: %.60s", line);
                char digits[9] = "";

                /* Copied first: sscanf on the whole buffer is a strlen each time. */
                if ((size_t)(nl - line) == pl + width)
                        memcpy(digits, line + pl + tl, 8);
                if ((size_t)(nl - line) != pl + width || memcmp(line, prefix, pl) != 0 ||
                    memcmp(line + pl, tag, tl) != 0 || sscanf(digits, "%8u", &v) != 1)
                        cr_assert_fail("not a whole, prefixed line: %.60s", line);
                if ((long)v <= last)
                        cr_assert_fail("out of order: %u after %ld", v, last);
                last = v;
                n++;
                off += (size_t)(nl - line) + 1;
        }
        if (ret_last)
                *ret_last = (unsigned)last;
        return n;
}

static uint64_t max_late_usec;
static unsigned ticks;
static void tick(struct loop *l, void *userdata) {
        struct loop_timer *t = userdata;
        uint64_t late = now_usec() - t->deadline_usec;

        if (late > max_late_usec)
                max_late_usec = late;
        ticks++;
        loop_timer_arm(l, t, t->deadline_usec + 5000);
}

static char *capture_start(int *saved) {
        static char path[] = "/tmp/gorral-output-log-XXXXXX";
        int fd;

        strcpy(path, "/tmp/gorral-output-log-XXXXXX");
        fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        *saved = dup(STDERR_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        return path;
}

static char *capture_end(char *path, int saved) {
        char *buf;
        size_t len;

        dup2(saved, STDERR_FILENO);
        close(saved);
        cr_assert_eq(read_file(path, 1 << 20, &buf, &len), 0);
        unlink(path);
        return buf;
}

Test(output, stalled_reader_drops_whole_lines_and_the_loop_stays_on_time) {
        struct loop *l;
        struct output *o;
        struct output_stream *s;
        struct output_dest_stats ds;
        const struct output_stats *st;
        struct sink sink = { 0 };
        struct loop_timer t;
        int dest[2], src[2], status, saved;
        unsigned n_out, last;
        pid_t pid;
        char *log_path, *log;
        uint64_t t_start, t_end;

        cr_assert_eq(pipe2(dest, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(src, O_CLOEXEC), 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = dest[1], .stderr_fd = dest[1] }, &o), 0);
        output_dest_stats(o, false, &ds);
        cr_assert_str_eq(ds.mode, "reopen");
        cr_assert_eq(fl_of(dest[1]) & O_NONBLOCK, 0, "the shared description is left blocking");
        cr_assert_eq(output_stream_new(o, "api", src[0], false, &s), 0);
        /* 40 MB of 100-byte lines against a reader that does not read. */
        pid = writer_child(src[1], 400000, 99, "L");
        close(src[1]);
        log_path = capture_start(&saved);
        max_late_usec = 0;
        ticks = 0;
        loop_timer_init(&t, tick, &t);
        t_start = now_usec();
        loop_timer_arm_in(l, &t, 5000);
        cr_assert(run_until(l, stream_done, s, 20000), "the writer child finished: it was never blocked for good");
        t_end = now_usec();
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert_eq(status, 0);
        st = output_stream_stats(s);
        output_dest_stats(o, false, &ds);
        cr_log_info("stalled: %u ticks, max lateness %.1f ms, %llu lines, %llu dropped, queue high-water %zu, %llu stalls",
                    ticks, max_late_usec / 1000.0, (unsigned long long)st->lines,
                    (unsigned long long)st->dropped_lines, ds.queued_max, (unsigned long long)ds.stalls);
        cr_assert_lt(max_late_usec, 100000, "a 5 ms timer was %llu us late", (unsigned long long)max_late_usec);
        cr_assert_eq(st->bytes_in, 400000ULL * 100);
        cr_assert_eq(st->lines, 400000);
        /* A 5 ms timer re-armed from its deadline: one tick per 5 ms. */
        cr_assert_geq(ticks + 2, (t_end - t_start) / 5000, "%u ticks in %llu us", ticks,
                      (unsigned long long)(t_end - t_start));
        cr_assert_gt(st->dropped_lines, 0);
        cr_assert_eq(st->dropped_bytes, st->dropped_lines * 100);
        cr_assert_leq(ds.queued_max, OUTPUT_QUEUE_DEFAULT);
        cr_assert_geq(ds.stalls, 1);
        /* Now read: what was queued comes out whole and in order. */
        fcntl(dest[0], F_SETFL, O_NONBLOCK);
        sink.fd = dest[0];
        for (int i = 0; i < 2000; i++) {
                sink_drain(&sink);
                output_dest_stats(o, false, &ds);
                if (ds.queued_bytes == 0)
                        break;
                loop_run_once(l, 5);
        }
        sink_drain(&sink);
        cr_assert_eq(ds.queued_bytes, 0);
        n_out = check_lines(&sink.b, "api | ", "L", 99, &last);
        cr_assert_eq(n_out, st->lines - st->dropped_lines, "written = emitted - dropped");
        output_stream_free(s);
        log = capture_end(log_path, saved);
        cr_assert(strstr(log, "event=output_dropped service=api stream=stdout lines="), "%s", log);
        cr_assert_lt(strlen(log), 4096, "rate-limited: %zu bytes of warnings", strlen(log));
        free(log);
        loop_timer_disarm(l, &t);
        output_free(o);
        loop_free(l);
        free(sink.b.p);
        close(dest[0]);
        close(dest[1]);
}

/* A reader slower than the service: the stream stops being read while
 * the queue is full, so the service is slowed to the reader's pace and
 * nothing is lost. */
struct slow_reader {
        struct loop_timer t;
        struct sink sink;
        size_t per_tick;
};

static void slow_tick(struct loop *l, void *userdata) {
        struct slow_reader *r = userdata;
        char tmp[65536];
        ssize_t n;

        for (size_t got = 0; got < r->per_tick; got += (size_t)n) {
                n = read(r->sink.fd, tmp, sizeof tmp < r->per_tick - got ? sizeof tmp : r->per_tick - got);
                if (n <= 0)
                        break;
                buf_add(&r->sink.b, tmp, (size_t)n);
        }
        loop_timer_arm_in(l, &r->t, 10000);
}

Test(output, a_slow_reader_slows_the_service_and_loses_nothing) {
        struct loop *l;
        struct output *o;
        struct output_stream *s;
        struct slow_reader r = { .per_tick = 65536 };
        int dest[2], src[2], status;
        unsigned n = 60000;
        uint64_t t0, took;
        pid_t pid;

        cr_assert_eq(pipe2(dest, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(src, O_CLOEXEC), 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = dest[1], .stderr_fd = dest[1] }, &o), 0);
        fcntl(dest[0], F_SETFL, O_NONBLOCK);
        r.sink.fd = dest[0];
        loop_timer_init(&r.t, slow_tick, &r);
        loop_timer_arm_in(l, &r.t, 10000);
        cr_assert_eq(output_stream_new(o, "api", src[0], false, &s), 0);
        t0 = now_usec();
        pid = writer_child(src[1], n, 99, "S"); /* 6 MB against 6.5 MB/s */
        close(src[1]);
        cr_assert(run_until(l, stream_done, s, 30000));
        took = now_usec() - t0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        for (int i = 0; i < 1000; i++) {
                struct output_dest_stats ds;

                output_dest_stats(o, false, &ds);
                if (ds.queued_bytes == 0)
                        break;
                loop_run_once(l, 10);
        }
        r.per_tick = SIZE_MAX;
        slow_tick(l, &r);
        cr_log_info("slow reader: %u lines in %.0f ms, %llu dropped", n, took / 1000.0,
                    (unsigned long long)output_stream_stats(s)->dropped_lines);
        cr_assert_eq(output_stream_stats(s)->dropped_lines, 0);
        cr_assert_eq(check_lines(&r.sink.b, "api | ", "S", 99, NULL), n);
        cr_assert_gt(took, 300000, "the service was slowed to the reader's pace");
        loop_timer_disarm(l, &r.t);
        output_free(o);
        loop_free(l);
        free(r.sink.b.p);
        close(dest[0]);
        close(dest[1]);
}

Test(output, a_chatty_service_cannot_take_the_quiet_ones_share) {
        struct loop *l;
        struct output *o;
        struct output_stream *loud, *quiet;
        int dest[2], a[2], b[2], status;
        pid_t pa, pb;

        cr_assert_eq(pipe2(dest, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(a, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(b, O_CLOEXEC), 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = dest[1], .stderr_fd = dest[1] }, &o), 0);
        cr_assert_eq(output_stream_new(o, "loud", a[0], false, &loud), 0);
        cr_assert_eq(output_stream_new(o, "quiet", b[0], true, &quiet), 0);
        pa = writer_child(a[1], 40000, 99, "L");
        close(a[1]);
        cr_assert(run_until(l, stream_done, loud, 20000));
        /* The queue is as full as loud may make it; quiet still gets in. */
        pb = writer_child(b[1], 200, 99, "Q");
        close(b[1]);
        cr_assert(run_until(l, stream_done, quiet, 20000));
        waitpid(pa, &status, 0);
        waitpid(pb, &status, 0);
        cr_assert_gt(output_stream_stats(loud)->dropped_lines, 0);
        cr_assert_eq(output_stream_stats(quiet)->dropped_lines, 0);
        cr_assert_eq(output_stream_stats(quiet)->lines, 200);
        output_free(o);
        loop_free(l);
        close(dest[0]);
        close(dest[1]);
}

Test(output, socket_file_and_poll_destinations) {
        struct loop *l;
        struct output *o;
        struct output_stream *s;
        struct output_dest_stats ds;
        int sv[2], src[2], fd, status;
        char path[] = "/tmp/gorral-output-file-XXXXXX", *got;
        size_t len;
        pid_t pid;
        struct sink sink = { 0 };

        cr_assert_eq(loop_new(&l), 0);

        /* A stream socket (journald's stdout, say): send(MSG_DONTWAIT). */
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = sv[0], .stderr_fd = sv[0] }, &o), 0);
        output_dest_stats(o, false, &ds);
        cr_assert_str_eq(ds.mode, "send");
        cr_assert_eq(fl_of(sv[0]) & O_NONBLOCK, 0);
        cr_assert_eq(pipe2(src, O_CLOEXEC), 0);
        cr_assert_eq(output_stream_new(o, "sock", src[0], false, &s), 0);
        pid = writer_child(src[1], 30000, 99, "S");
        close(src[1]);
        cr_assert(run_until(l, stream_done, s, 20000));
        waitpid(pid, &status, 0);
        cr_assert_gt(output_stream_stats(s)->dropped_lines, 0, "nobody reads the socket");
        fcntl(sv[1], F_SETFL, O_NONBLOCK);
        sink.fd = sv[1];
        for (int i = 0; i < 2000 && (output_dest_stats(o, false, &ds), ds.queued_bytes); i++) {
                sink_drain(&sink);
                loop_run_once(l, 5);
        }
        sink_drain(&sink);
        cr_assert_eq(check_lines(&sink.b, "sock | ", "S", 99, NULL),
                     output_stream_stats(s)->lines - output_stream_stats(s)->dropped_lines);
        output_free(o);
        close(sv[0]);
        close(sv[1]);
        free(sink.b.p);

        /* A regular file opened for appending: lines go after what is
         * there (a reopen would have rewound it). */
        fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, "before\n", 7), 7);
        close(fd);
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = fd, .stderr_fd = fd }, &o), 0);
        output_dest_stats(o, false, &ds);
        cr_assert_str_eq(ds.mode, "file");
        cr_assert_eq(pipe2(src, O_CLOEXEC), 0);
        cr_assert_eq(output_stream_new(o, "f", src[0], false, &s), 0);
        cr_assert_eq(write(src[1], "one\ntwo", 7), 7);
        close(src[1]);
        cr_assert(run_until(l, stream_done, s, 5000));
        output_free(o);
        close(fd);
        cr_assert_eq(read_file(path, 4096, &got, &len), 0);
        cr_assert_str_eq(got, "before\nf | one\nf | two\n");
        free(got);
        unlink(path);

        /* The fallback (nothing can be reopened): poll before each write. */
        cr_assert_eq(pipe2(sv, O_CLOEXEC), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = sv[1], .stderr_fd = sv[1], .no_reopen = true }, &o), 0);
        output_dest_stats(o, false, &ds);
        cr_assert_str_eq(ds.mode, "poll");
        cr_assert_eq(pipe2(src, O_CLOEXEC), 0);
        cr_assert_eq(output_stream_new(o, "p", src[0], false, &s), 0);
        pid = writer_child(src[1], 20000, 99, "P");
        close(src[1]);
        cr_assert(run_until(l, stream_done, s, 20000));
        waitpid(pid, &status, 0);
        cr_assert_eq(fl_of(sv[1]) & O_NONBLOCK, 0);
        cr_assert_gt(output_stream_stats(s)->dropped_lines, 0);
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
        memset(&sink, 0, sizeof sink);
        sink.fd = sv[0];
        for (int i = 0; i < 2000 && (output_dest_stats(o, false, &ds), ds.queued_bytes); i++) {
                sink_drain(&sink);
                loop_run_once(l, 5);
        }
        sink_drain(&sink);
        cr_assert_eq(check_lines(&sink.b, "p | ", "P", 99, NULL),
                     output_stream_stats(s)->lines - output_stream_stats(s)->dropped_lines);
        output_free(o);
        free(sink.b.p);
        close(sv[0]);
        close(sv[1]);
        loop_free(l);
}

/* gorral on a terminal: the tty is reopened (the user's shell keeps a
 * blocking description), lines arrive; output stopped with ^S (TCOOFF)
 * stalls the writer without stalling the loop. */
Test(output, terminal_destination_and_a_stopped_terminal) {
        struct loop *l;
        struct output *o;
        struct output_stream *s;
        struct output_dest_stats ds;
        struct sink sink = { 0 };
        struct termios tio;
        int m, t, src[2], status;
        pid_t pid;

        m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (m < 0)
                cr_skip_test("no pseudo-terminals here (posix_openpt: %s)", strerror(errno));
        cr_assert_eq(grantpt(m), 0);
        cr_assert_eq(unlockpt(m), 0);
        t = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
        cr_assert_geq(t, 0);
        cr_assert_eq(tcgetattr(t, &tio), 0);
        cfmakeraw(&tio); /* no ONLCR: the bytes arrive as written */
        cr_assert_eq(tcsetattr(t, TCSANOW, &tio), 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = t, .stderr_fd = t }, &o), 0);
        output_dest_stats(o, false, &ds);
        cr_assert_str_eq(ds.mode, "reopen");
        cr_assert_eq(fl_of(t) & O_NONBLOCK, 0, "the terminal's shared description stays blocking");
        cr_assert_eq(pipe2(src, O_CLOEXEC), 0);
        cr_assert_eq(output_stream_new(o, "tty", src[0], false, &s), 0);
        cr_assert_eq(write(src[1], "hello\nworld\n", 12), 12);
        fcntl(m, F_SETFL, O_NONBLOCK);
        sink.fd = m;
        for (int i = 0; i < 100 && sink.b.len < 24; i++) {
                loop_run_once(l, 10);
                sink_drain(&sink);
        }
        cr_assert_str_eq(sink.b.p, "tty | hello\ntty | world\n");

        /* ^S: the terminal takes no more output. */
        cr_assert_eq(tcflow(t, TCOOFF), 0);
        max_late_usec = 0;
        ticks = 0;
        {
                struct loop_timer tk;
                uint64_t t0 = now_usec();

                loop_timer_init(&tk, tick, &tk);
                loop_timer_arm_in(l, &tk, 5000);
                pid = writer_child(src[1], 100000, 99, "Y");
                close(src[1]);
                cr_assert(run_until(l, stream_done, s, 20000), "the service was not blocked for good");
                loop_timer_disarm(l, &tk);
                cr_log_info("stopped tty: %u ticks in %.0f ms, max lateness %.1f ms, %llu dropped", ticks,
                            (now_usec() - t0) / 1000.0, max_late_usec / 1000.0,
                            (unsigned long long)output_stream_stats(s)->dropped_lines);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert_lt(max_late_usec, 100000);
        cr_assert_gt(output_stream_stats(s)->dropped_lines, 0);
        output_dest_stats(o, false, &ds);
        cr_assert_geq(ds.stalls, 1);
        /* ^Q: what was queued comes out whole. */
        cr_assert_eq(tcflow(t, TCOON), 0);
        free(sink.b.p);
        memset(&sink.b, 0, sizeof sink.b);
        for (int i = 0; i < 2000; i++) {
                sink_drain(&sink);
                output_dest_stats(o, false, &ds);
                if (ds.queued_bytes == 0)
                        break;
                loop_run_once(l, 5);
        }
        for (int i = 0; i < 20; i++) {
                usleep(2000);
                sink_drain(&sink);
        }
        cr_assert_eq(ds.queued_bytes, 0);
        cr_assert_eq(check_lines(&sink.b, "tty | ", "Y", 99, NULL),
                     100000 - output_stream_stats(s)->dropped_lines);
        output_free(o);
        loop_free(l);
        free(sink.b.p);
        close(t);
        close(m);
}

Test(output, a_destination_gone_is_given_up_and_pipes_still_drain) {
        struct loop *l;
        struct output *o;
        struct output_stream *s;
        struct output_dest_stats ds;
        int dest[2], src[2], status, saved;
        pid_t pid;
        char *log_path, *log;

        signal(SIGPIPE, SIG_IGN); /* as gorral does */
        cr_assert_eq(pipe2(dest, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(src, O_CLOEXEC), 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = dest[1], .stderr_fd = dest[1] }, &o), 0);
        close(dest[0]);
        cr_assert_eq(output_stream_new(o, "api", src[0], false, &s), 0);
        log_path = capture_start(&saved);
        pid = writer_child(src[1], 20000, 99, "G");
        close(src[1]);
        cr_assert(run_until(l, stream_done, s, 20000), "the service never blocks");
        log = capture_end(log_path, saved);
        waitpid(pid, &status, 0);
        cr_assert_eq(status, 0);
        output_dest_stats(o, false, &ds);
        cr_assert_str_eq(ds.mode, "failed");
        /* Lines queued before the first write failed are discarded by the
         * destination; every later one is dropped by the stream. */
        cr_assert_eq(output_stream_stats(s)->dropped_lines + ds.discarded_bytes / 106, 20000);
        cr_assert_eq(ds.discarded_bytes % 106, 0, "\"api | \" + 99 + newline");
        cr_assert_gt(output_stream_stats(s)->dropped_lines, 0);
        cr_assert(strstr(log, "cannot write service output"), "%s", log);
        cr_assert_null(strstr(log, "output_dropped"), "no drop warnings for a failed destination");
        free(log);
        output_free(o);
        loop_free(l);
        close(dest[1]);
}

/* ---- real children through spawn ---- */

static pid_t spawn_sh(const char *script, int out_fd, int err_fd) {
        char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
        char *envp[] = { "PATH=/usr/bin:/bin", NULL };
        struct spawn_params p = { .argv = argv, .envp = envp, .stdout_fd = out_fd, .stderr_fd = err_fd };
        struct spawn_result res;

        cr_assert_eq(spawn_process(&p, &res), 0);
        cr_assert_eq(res.err, 0);
        return res.pid;
}

static bool both_done(void *arg) {
        struct output_stream **s = arg;

        for (int i = 0; i < 4; i++)
                if (!output_stream_eof(s[i]))
                        return false;
        return true;
}

Test(output, two_children_interleaving_through_spawned_pipes) {
        /* Each line is written in three write(2) calls (three printf
         * builtins), so the two services' pieces interleave at the pipes;
         * every output line must still be whole and carry its own name. */
        static const char script[] =
                "i=0; while [ $i -lt 300 ]; do printf \"$0%05d\" $i; printf -- '-abc'; printf 'defgh\\n';"
                " printf \"$0%05d\" $i >&2; printf -- '-ABC' >&2; printf 'DEFGH\\n' >&2; i=$((i+1)); done; printf 'last' >&2";
        struct loop *l;
        struct output *o;
        struct output_stream *s[4];
        struct sink out = { 0 }, err = { 0 };
        int dout[2], derr[2], p[4][2], status;
        pid_t pids[2];
        const char *names[2] = { "alpha", "beta" };
        unsigned counts[2][2] = { { 0 } };

        cr_assert_eq(pipe2(dout, O_CLOEXEC | O_NONBLOCK), 0);
        cr_assert_eq(pipe2(derr, O_CLOEXEC | O_NONBLOCK), 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = dout[1], .stderr_fd = derr[1], .name_width = 5 }, &o), 0);
        out.fd = dout[0];
        err.fd = derr[0];
        cr_assert_eq(loop_add_fd(l, dout[0], EPOLLIN, sink_read, &out), 0);
        cr_assert_eq(loop_add_fd(l, derr[0], EPOLLIN, sink_read, &err), 0);
        for (int i = 0; i < 2; i++) {
                char script_i[sizeof script + 16];

                cr_assert_eq(pipe2(p[2 * i], O_CLOEXEC), 0);
                cr_assert_eq(pipe2(p[2 * i + 1], O_CLOEXEC), 0);
                cr_assert_eq(output_stream_new(o, names[i], p[2 * i][0], false, &s[2 * i]), 0);
                cr_assert_eq(output_stream_new(o, names[i], p[2 * i + 1][0], true, &s[2 * i + 1]), 0);
                snprintf(script_i, sizeof script_i, "%s", script);
                char *argv[] = { "/bin/sh", "-c", script_i, (char *)(i ? "B" : "A"), NULL };
                char *envp[] = { "PATH=/usr/bin:/bin", NULL };
                struct spawn_params sp = { .argv = argv, .envp = envp, .stdout_fd = p[2 * i][1], .stderr_fd = p[2 * i + 1][1] };
                struct spawn_result res;

                cr_assert_eq(spawn_process(&sp, &res), 0);
                cr_assert_eq(res.err, 0);
                pids[i] = res.pid;
                close(p[2 * i][1]);
                close(p[2 * i + 1][1]);
        }
        cr_assert(run_until(l, both_done, s, 30000));
        for (int i = 0; i < 2; i++) {
                cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
                cr_assert_eq(status, 0);
        }
        for (int i = 0; i < 20; i++)
                loop_run_once(l, 5);
        sink_drain(&out);
        sink_drain(&err);
        /* Parse both destinations. */
        for (int e = 0; e < 2; e++) {
                struct buf *b = e ? &err.b : &out.b;
                long last[2] = { -1, -1 };
                bool tail[2] = { false, false };

                for (size_t off = 0; off < b->len;) {
                        const char *line = b->p + off, *nl = memchr(line, '\n', b->len - off);
                        int who;
                        unsigned v;
                        char rest[16];

                        cr_assert(nl);
                        who = strncmp(line, "alpha | ", 8) == 0 ? 0 : strncmp(line, "beta  | ", 8) == 0 ? 1 : -1;
                        cr_assert_geq(who, 0, "prefixed: %.40s", line);
                        if (e && (size_t)(nl - line) == 12 && memcmp(line + 8, "last", 4) == 0) {
                                tail[who] = true; /* the partial last line, newline added */
                        } else {
                                cr_assert_eq((size_t)(nl - line), 8 + 6 + 9, "whole: %.40s", line);
                                cr_assert_eq(line[8], who ? 'B' : 'A');
                                cr_assert_eq(sscanf(line + 9, "%5u%9s", &v, rest), 2);
                                cr_assert_str_eq(rest, e ? "-ABCDEFGH" : "-abcdefgh");
                                cr_assert_eq((long)v, last[who] + 1);
                                last[who] = v;
                                counts[who][e]++;
                        }
                        off += (size_t)(nl - line) + 1;
                }
                if (e)
                        cr_assert(tail[0] && tail[1], "both partial last lines");
        }
        for (int i = 0; i < 2; i++)
                for (int e = 0; e < 2; e++) {
                        cr_assert_eq(counts[i][e], 300);
                        cr_assert_eq(output_stream_stats(s[2 * i + e])->dropped_lines, 0);
                }
        cr_assert_eq(output_stream_stats(s[1])->partial_lines, 1);
        output_free(o);
        loop_del_fd(l, dout[0]);
        loop_del_fd(l, derr[0]);
        loop_free(l);
        free(out.b.p);
        free(err.b.p);
}

Test(output, stream_free_takes_what_the_exited_service_left) {
        /* The service exits; before its EOF is seen, the supervisor frees
         * the stream (on the reap): the last lines, the partial one too,
         * still come out, and before anything logged afterwards. */
        struct loop *l;
        struct output *o;
        struct output_stream *s;
        struct sink sink = { 0 };
        int dest[2], src[2], status;
        pid_t pid;

        cr_assert_eq(pipe2(dest, O_CLOEXEC | O_NONBLOCK), 0);
        cr_assert_eq(pipe2(src, O_CLOEXEC), 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = dest[1], .stderr_fd = dest[1] }, &o), 0);
        cr_assert_eq(output_stream_new(o, "svc", src[0], false, &s), 0);
        pid = spawn_sh("printf 'first\\nsecond\\nno-newline'", src[1], 0);
        close(src[1]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        output_stream_free(s); /* the loop never ran */
        sink.fd = dest[0];
        sink_drain(&sink);
        cr_assert_str_eq(sink.b.p, "svc | first\nsvc | second\nsvc | no-newline\n");
        cr_assert_eq(output_flush(o, 1000000), 0);
        output_free(o);
        loop_free(l);
        free(sink.b.p);
        close(dest[0]);
        close(dest[1]);
}

Test(output, flush_at_exit_waits_then_gives_up) {
        struct loop *l;
        struct output *o;
        struct output_stream *s;
        int dest[2], src[2], status;
        pid_t pid;
        uint64_t t0;

        cr_assert_eq(pipe2(dest, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(src, O_CLOEXEC), 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = dest[1], .stderr_fd = dest[1] }, &o), 0);
        cr_assert_eq(output_stream_new(o, "x", src[0], false, &s), 0);
        pid = writer_child(src[1], 5000, 99, "F");
        close(src[1]);
        cr_assert(run_until(l, stream_done, s, 20000));
        waitpid(pid, &status, 0);
        t0 = now_usec();
        cr_assert_eq(output_flush(o, 50000), -ETIMEDOUT, "nobody reads");
        cr_assert_geq(now_usec() - t0, 40000);
        cr_assert_lt(now_usec() - t0, 1000000);
        output_free(o);
        loop_free(l);
        close(dest[0]);
        close(dest[1]);
}

Test(spawn, stdout_and_stderr_fds) {
        int p[2], status;
        pid_t pid;
        char buf[64] = "";
        ssize_t n;
        char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; ls /proc/self/fd | wc -l >&2", NULL };
        char *envp[] = { "PATH=/usr/bin:/bin", NULL };
        struct spawn_result res;

        cr_assert_eq(spawn_process(&(struct spawn_params){ .argv = argv, .envp = envp, .stdout_fd = 1 }, &res), -EBADF);
        cr_assert_eq(spawn_process(&(struct spawn_params){ .argv = argv, .envp = envp, .stderr_fd = 2 }, &res), -EBADF);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = spawn_sh("echo out; echo err >&2; ls /proc/self/fd | wc -l", p[1], p[1]);
        close(p[1]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        n = read(p[0], buf, sizeof buf - 1);
        cr_assert_gt(n, 0);
        buf[n] = '\0';
        /* ls sees 0, 1, 2 and its own directory fd: 4; nothing leaked. */
        cr_assert_str_eq(buf, "out\nerr\n4\n");
        close(p[0]);
}

/* The integration helper (tests/helpers/chunky.c), built here with cc as
 * tests/integration/run_helpers.sh does: two of them, odd chunkings on
 * both streams, a 150000-byte line and a partial last line each. */
Test(output, chunky_helpers_long_lines_and_partial_tails) {
        char bin[] = "/tmp/gorral-chunky-XXXXXX", cmd[512];
        struct loop *l;
        struct output *o;
        struct output_stream *s[4];
        struct sink out = { 0 }, err = { 0 };
        int dout[2], derr[2], fd, status;
        pid_t pids[2];
        const char *tags[2] = { "A", "B" };

        fd = mkstemp(bin);
        cr_assert_geq(fd, 0);
        close(fd);
        snprintf(cmd, sizeof cmd, "cc -O2 -o %s %s/../helpers/chunky.c", bin, FIXTURES);
        if (system(cmd) != 0) {
                unlink(bin);
                cr_skip_test("no C compiler to build tests/helpers/chunky.c");
        }
        cr_assert_eq(pipe2(dout, O_CLOEXEC | O_NONBLOCK), 0);
        cr_assert_eq(pipe2(derr, O_CLOEXEC | O_NONBLOCK), 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = dout[1], .stderr_fd = derr[1] }, &o), 0);
        out.fd = dout[0];
        err.fd = derr[0];
        cr_assert_eq(loop_add_fd(l, dout[0], EPOLLIN, sink_read, &out), 0);
        cr_assert_eq(loop_add_fd(l, derr[0], EPOLLIN, sink_read, &err), 0);
        for (int i = 0; i < 2; i++) {
                int po[2], pe[2];
                char *argv[] = { bin, (char *)tags[i], "400", "150000", "bye", NULL };
                char *envp[] = { NULL };
                struct spawn_result res;

                cr_assert_eq(pipe2(po, O_CLOEXEC), 0);
                cr_assert_eq(pipe2(pe, O_CLOEXEC), 0);
                cr_assert_eq(output_stream_new(o, tags[i], po[0], false, &s[2 * i]), 0);
                cr_assert_eq(output_stream_new(o, tags[i], pe[0], true, &s[2 * i + 1]), 0);
                cr_assert_eq(spawn_process(&(struct spawn_params){ .argv = argv, .envp = envp, .exe = bin,
                                                                   .stdout_fd = po[1], .stderr_fd = pe[1] }, &res), 0);
                cr_assert_eq(res.err, 0);
                pids[i] = res.pid;
                close(po[1]);
                close(pe[1]);
        }
        cr_assert(run_until(l, both_done, s, 30000));
        for (int i = 0; i < 2; i++) {
                cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
                cr_assert_eq(status, 0);
        }
        for (int i = 0; i < 20; i++)
                loop_run_once(l, 5);
        sink_drain(&out);
        sink_drain(&err);
        unlink(bin);
        for (int e = 0; e < 2; e++) {
                struct buf *b = e ? &err.b : &out.b;
                long next[2] = { 0, 0 };
                int long_piece[2] = { 0, 0 };
                size_t long_off[2] = { 0, 0 };
                bool tail[2] = { false, false };

                for (size_t off = 0; off < b->len;) {
                        const char *line = b->p + off, *nl = memchr(line, '\n', b->len - off);
                        size_t len;
                        int who;
                        char want[64];

                        cr_assert(nl);
                        len = (size_t)(nl - line);
                        who = line[0] == 'A' ? 0 : line[0] == 'B' ? 1 : -1;
                        cr_assert(who >= 0 && line[1] == ' ' && (line[2] == '|' || line[2] == '+') && line[3] == ' ',
                                  "prefixed: %.30s", line);
                        if (line[2] == '+' || (len > 1000)) {
                                /* A piece of the long line: 64 KiB, 64 KiB, the rest. */
                                size_t piece = len - 4;

                                cr_assert(!e);
                                cr_assert_eq(line[2], long_piece[who] ? '+' : '|');
                                cr_assert_eq(piece, long_piece[who] < 2 ? OUTPUT_LINE_MAX : 150000 - 2 * OUTPUT_LINE_MAX);
                                for (size_t j = 0; j < piece; j++)
                                        cr_assert_eq(line[4 + j], 'a' + (long_off[who] + j) % 26);
                                long_off[who] += piece;
                                long_piece[who]++;
                        } else if (len == 7 && memcmp(line + 4, "bye", 3) == 0) {
                                cr_assert(!e && long_piece[who] == 3);
                                tail[who] = true;
                        } else {
                                snprintf(want, sizeof want, "%s | %s %s %06ld %s", tags[who], tags[who],
                                         e ? "err" : "out", next[who], e ? "ABCDEFGHIJ" : "abcdefghij");
                                cr_assert_eq(len, strlen(want), "%.40s", line);
                                cr_assert_eq(memcmp(line, want, len), 0, "%.40s vs %s", line, want);
                                next[who]++;
                        }
                        off += len + 1;
                }
                for (int i = 0; i < 2; i++) {
                        cr_assert_eq(next[i], 400);
                        if (!e)
                                cr_assert(long_piece[i] == 3 && tail[i], "the long line and the partial tail of %s",
                                          tags[i]);
                }
        }
        for (int i = 0; i < 4; i++)
                cr_assert_eq(output_stream_stats(s[i])->dropped_lines, 0);
        cr_assert_eq(output_stream_stats(s[0])->split_lines, 1);
        cr_assert_eq(output_stream_stats(s[0])->partial_lines, 1);
        output_free(o);
        loop_del_fd(l, dout[0]);
        loop_del_fd(l, derr[0]);
        loop_free(l);
        free(out.b.p);
        free(err.b.p);
        close(dout[0]);
        close(derr[0]);
}

/* ---- throughput ---- */

static void discard(const struct output_line *l, void *userdata) {
        struct output_queue *q = userdata;
        const char *p;
        size_t n;

        output_queue_push(q, NULL, l, SIZE_MAX);
        while ((n = output_queue_peek(q, 0, &p)) > 0)
                output_queue_consume(q, n);
}

Test(output, throughput) {
        struct loop *l;
        struct output *o;
        struct output_stream *s;
        struct output_lines a;
        struct output_queue q;
        int devnull, src[2], status, dest[2];
        unsigned n_lines = 2000000;
        uint64_t t0, t1;
        double mb = (double)n_lines * 100 / 1e6;
        char *block = malloc(1 << 20);
        pid_t pid, cat;

        /* In memory: assembler + queue, no system calls. */
        for (unsigned i = 0; i < (1 << 20) / 100; i++) {
                memset(block + i * 100, 'a' + i % 26, 99);
                block[i * 100 + 99] = '\n';
        }
        cr_assert_eq(output_lines_init(&a, "api", 0, 0), 0);
        cr_assert_eq(output_queue_init(&q, OUTPUT_QUEUE_DEFAULT, OUTPUT_LINE_MAX + 256), 0);
        t0 = now_usec();
        for (int i = 0; i < 512; i++)
                output_lines_feed(&a, block, (1 << 20) / 100 * 100, discard, &q);
        t1 = now_usec();
        cr_log_info("assembler+queue in memory: %.0f MB/s", 512.0 * ((1 << 20) / 100 * 100) / 1e6 / ((t1 - t0) / 1e6));
        output_lines_done(&a);
        output_queue_done(&q);

        /* The real path: a child writes 200 MB of 100-byte lines into a
         * pipe; read, assembled, queued and written to /dev/null. */
        devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = devnull, .stderr_fd = devnull }, &o), 0);
        cr_assert_eq(pipe2(src, O_CLOEXEC), 0);
        cr_assert_eq(output_stream_new(o, "api", src[0], false, &s), 0);
        t0 = now_usec();
        pid = writer_child(src[1], n_lines, 99, "T");
        close(src[1]);
        cr_assert(run_until(l, stream_done, s, 60000));
        t1 = now_usec();
        waitpid(pid, &status, 0);
        cr_assert_eq(output_stream_stats(s)->dropped_lines, 0, "/dev/null never stalls");
        cr_log_info("pipe -> output -> /dev/null: %.0f MB/s (%.0f klines/s)", mb / ((t1 - t0) / 1e6),
                    n_lines / 1e3 / ((t1 - t0) / 1e6));
        output_free(o);
        close(devnull);

        /* To a pipe read by cat: PIPE_BUF-bounded, line-aligned writes. */
        cr_assert_eq(pipe2(dest, O_CLOEXEC), 0);
        cat = fork();
        if (cat == 0) {
                dup2(dest[0], 0);
                int nul = open("/dev/null", O_WRONLY);
                dup2(nul, 1);
                execl("/bin/cat", "cat", (char *)NULL);
                _exit(127);
        }
        close(dest[0]);
        cr_assert_eq(output_new(l, &(struct output_options){ .stdout_fd = dest[1], .stderr_fd = dest[1] }, &o), 0);
        cr_assert_eq(pipe2(src, O_CLOEXEC), 0);
        cr_assert_eq(output_stream_new(o, "api", src[0], false, &s), 0);
        t0 = now_usec();
        pid = writer_child(src[1], n_lines, 99, "T");
        close(src[1]);
        cr_assert(run_until(l, stream_done, s, 60000));
        cr_assert_eq(output_flush(o, 10000000), 0);
        t1 = now_usec();
        waitpid(pid, &status, 0);
        cr_log_info("pipe -> output -> pipe -> cat: %.0f MB/s, %llu of %u lines dropped", mb / ((t1 - t0) / 1e6),
                    (unsigned long long)output_stream_stats(s)->dropped_lines, n_lines);
        output_free(o);
        close(dest[1]);
        waitpid(cat, &status, 0);
        loop_free(l);
        free(block);
}

/* A stream without a prefix (a traced service without output.prefix):
 * lines pass as they came, cut only past the limit. */
Test(output_lines, no_prefix) {
        struct output_lines a;
        struct collect c = { 0 };

        cr_assert_eq(output_lines_init(&a, NULL, 8, 16), 0);
        cr_assert_eq(a.prefix_len, 0);
        cr_assert_eq(output_lines_feed(&a, "one\ntwo\n0123456789abcdefXY\n", 28, collect_emit, &c), 0);
        cr_assert_str_eq(c.out.p, "one\ntwo\n0123456789abcdef\nXY\n");
        cr_assert_eq(c.n_split, 1);
        output_lines_done(&a);
        free(c.out.p);
}
