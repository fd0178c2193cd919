/* Fuzz the pure half of output.c: up to three line assemblers fed
 * arbitrary chunkings of arbitrary bytes, their lines pushed into one
 * small bounded queue that is drained in arbitrary pieces.
 *
 * Input: [streams][line_max][queue size] then ops; an op byte's low 2 bits
 * pick the stream, the rest the action: feed the next N bytes, EOF, or
 * write K bytes out of the queue (peek with a limit, consume).
 *
 * Invariants (abort() on violation):
 *  - every byte in is a byte of an emitted line (plus its newline) or still
 *    held, in order, and bytes_in = queued + dropped + held;
 *  - lines never contain '\n', never exceed line_max; a piece is marked
 *    split/cont exactly when it must be; the prefixes say so;
 *  - the lines do not depend on the chunking (one big feed gives the same);
 *  - what comes out of the queue, cut into lines, is for each stream exactly
 *    the lines the queue accepted, in order: no line is ever interleaved
 *    with another stream's, none lost, none duplicated;
 *  - the queue never holds more than its bound, the owners' accounting adds
 *    up, every peek ends on a line end. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NS 3

struct vbuf {
        char *p;
        size_t len, cap;
};

static void vadd(struct vbuf *b, const void *p, size_t n) {
        if (b->len + n > b->cap) {
                b->cap = (b->len + n) * 2 + 64;
                b->p = realloc(b->p, b->cap);
                if (!b->p)
                        abort();
        }
        if (n)
                memcpy(b->p + b->len, p, n);
        b->len += n;
}

struct stream {
        struct output_lines a;
        struct output_owner owner;
        struct vbuf in;          /* every byte fed */
        struct vbuf emitted;     /* data + newline of every emitted line: must equal in */
        struct vbuf formatted;   /* every emitted line, formatted */
        struct vbuf accepted;    /* the formatted lines the queue took */
        uint64_t accepted_input, dropped_input;
        bool last_split;
        bool mid_flush;          /* an EOF op flushed a partial line */
};

struct ctx {
        struct stream s[NS];
        struct output_queue q;
        size_t share;
        struct stream *cur;
};

static void check(bool ok) {
        if (!ok)
                abort();
}

static void fmt(struct vbuf *b, const struct output_line *l) {
        vadd(b, l->prefix, l->prefix_len);
        vadd(b, l->data, l->len);
        vadd(b, "\n", 1);
}

static void emit(const struct output_line *l, void *userdata) {
        struct ctx *c = userdata;
        struct stream *s = c->cur;

        check(memchr(l->data, '\n', l->len) == NULL);
        check(l->len <= s->a.line_max);
        check(!l->split || (l->len == s->a.line_max && !l->newline));
        check(l->cont == s->last_split);
        check(l->prefix == (l->cont ? s->a.cont_prefix : s->a.prefix));
        s->last_split = l->split;
        vadd(&s->emitted, l->data, l->len);
        if (l->newline)
                vadd(&s->emitted, "\n", 1);
        fmt(&s->formatted, l);
        if (output_queue_push(&c->q, &s->owner, l, c->share) == 0) {
                fmt(&s->accepted, l);
                s->accepted_input += output_line_input_bytes(l);
        } else
                s->dropped_input += output_line_input_bytes(l);
        check(output_queue_len(&c->q) <= c->q.max_bytes);
}

static void collect(const struct output_line *l, void *userdata) {
        fmt(userdata, l);
}

static void check_accounting(struct ctx *c, int n) {
        size_t sum = 0;

        for (int i = 0; i < n; i++)
                sum += c->s[i].owner.queued;
        check(sum == output_queue_len(&c->q));
}

static void drain(struct ctx *c, struct vbuf *sink, size_t k, size_t limit) {
        while (k > 0) {
                const char *p;
                size_t n = output_queue_peek(&c->q, limit, &p), take;

                if (n == 0)
                        return;
                check(p[n - 1] == '\n');
                /* Within the limit, or one (rest of a) line alone. */
                check(limit == 0 || n <= limit || memchr(p, '\n', n) == p + n - 1);
                take = n < k ? n : k;
                vadd(sink, p, take);
                output_queue_consume(&c->q, take);
                k -= take;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const names[NS] = { "s0", "s1", "s2" };
        struct ctx c = { 0 };
        struct vbuf sink = { 0 }, per[NS] = { { 0 } };
        size_t pos = 3, line_max, qmax;
        int n;

        if (size < 3)
                return 0;
        n = 1 + data[0] % NS;
        line_max = 1 + data[1] % 64;
        /* The longest line: prefix (5) + line_max + newline. */
        qmax = 128 + (size_t)data[2] * 8;
        if (output_queue_init(&c.q, qmax, 5 + 64 + 1) < 0)
                abort();
        c.share = qmax / (size_t)n;
        for (int i = 0; i < n; i++)
                if (output_lines_init(&c.s[i].a, names[i], 0, line_max) < 0)
                        abort();

        while (pos < size) {
                uint8_t op = data[pos++];
                struct stream *s = &c.s[(op & 3) % n];
                unsigned kind = op >> 2;
                size_t len;

                c.cur = s;
                if (kind < 48) {
                        /* feed: the next (kind + 1) bytes, or the rest */
                        len = kind + 1;
                        if (len > size - pos)
                                len = size - pos;
                        vadd(&s->in, data + pos, len);
                        if (output_lines_feed(&s->a, data + pos, len, emit, &c) < 0)
                                abort();
                        pos += len;
                } else if (kind < 52) {
                        if (output_lines_pending(&s->a))
                                s->mid_flush = true;
                        output_lines_finish(&s->a, emit, &c);
                } else {
                        size_t k = pos < size ? data[pos++] : 1;
                        size_t limit = (kind - 52) * 8;

                        drain(&c, &sink, k ? k : 1, limit);
                }
                check_accounting(&c, n);
        }
        for (int i = 0; i < n; i++) {
                c.cur = &c.s[i];
                output_lines_finish(&c.s[i].a, emit, &c);
        }
        drain(&c, &sink, SIZE_MAX, 0);
        check(output_queue_len(&c.q) == 0);
        check_accounting(&c, n);

        for (int i = 0; i < n; i++) {
                struct stream *s = &c.s[i];
                struct output_lines fresh;
                struct vbuf once = { 0 };

                /* Lossless, in order. */
                check(s->emitted.len == s->in.len && (s->in.len == 0 || memcmp(s->emitted.p, s->in.p, s->in.len) == 0));
                check(s->a.stats.bytes_in == s->in.len);
                check(s->a.stats.bytes_in == s->accepted_input + s->dropped_input + output_lines_pending(&s->a));
                /* Independent of the chunking (an EOF op that flushed a
                 * partial line in the middle makes a different line: skip
                 * the comparison then). */
                if (output_lines_init(&fresh, names[i], 0, line_max) < 0)
                        abort();
                if (s->in.len)
                        (void)output_lines_feed(&fresh, s->in.p, s->in.len, collect, &once);
                output_lines_finish(&fresh, collect, &once);
                if (!s->mid_flush)
                        check(once.len == s->formatted.len &&
                              (once.len == 0 || memcmp(once.p, s->formatted.p, once.len) == 0));
                output_lines_done(&fresh);
                free(once.p);
        }

        /* The sink, cut into lines, gives back each stream's accepted lines. */
        for (size_t off = 0; off < sink.len;) {
                const char *line = sink.p + off, *nl = memchr(line, '\n', sink.len - off);
                size_t ll;
                int who = -1;

                check(nl != NULL);
                ll = (size_t)(nl - line) + 1;
                check(ll >= 6 && line[0] == 's' && line[1] >= '0' && line[1] < '0' + n && line[2] == ' ' &&
                      (line[3] == '|' || line[3] == '+') && line[4] == ' ');
                who = line[1] - '0';
                vadd(&per[who], line, ll);
                off += ll;
        }
        for (int i = 0; i < n; i++) {
                check(per[i].len == c.s[i].accepted.len &&
                      (per[i].len == 0 || memcmp(per[i].p, c.s[i].accepted.p, per[i].len) == 0));
                free(per[i].p);
                free(c.s[i].in.p);
                free(c.s[i].emitted.p);
                free(c.s[i].formatted.p);
                free(c.s[i].accepted.p);
                output_lines_done(&c.s[i].a);
        }
        free(sink.p);
        output_queue_done(&c.q);
        return 0;
}
