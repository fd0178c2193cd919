/* Fuzz src/gotrace.c: the two line parsers and the stream.
 *
 * Input: one control byte, then the bytes. The control byte's low bit
 * picks godebug.passthrough, the rest seeds the chunk sizes. The two
 * parsers run on every line of the bytes; the stream is fed the bytes
 * whole and again in seeded random chunks.
 *
 * Invariants (abort() on violation):
 *  - a parser that succeeds gives sane numbers (per-P entries at most the
 *    line's length, the largest run queue at most their sum), and a
 *    failure names a column inside the line (or just past it) and a reason;
 *  - with passthrough every input byte comes out exactly once: the
 *    passthrough bytes add up to the input, whatever was reassembled;
 *  - every passthrough piece but a partial last line or a piece of an
 *    over-long line ends in '\n', and none is empty;
 *  - events and passthrough do not depend on the chunking;
 *  - nothing is pending after gotrace_finish(). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/gotrace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
        char *p;
        size_t len, cap;
        uint64_t pass_bytes, unterminated;
};

static void add(struct out *o, const void *p, size_t n) {
        if (o->len + n > o->cap) {
                o->cap = (o->len + n) * 2 + 64;
                o->p = realloc(o->p, o->cap);
                if (!o->p)
                        abort();
        }
        memcpy(o->p + o->len, p, n);
        o->len += n;
}

static void on_event(const struct gotrace_event *ev, void *ud) {
        struct out *o = ud;
        char t[256];
        int k = 0;

        switch (ev->type) {
        case GOTRACE_PASSTHROUGH:
                if (ev->len == 0)
                        abort();
                if (ev->data[ev->len - 1] != '\n')
                        o->unterminated++;
                o->pass_bytes += ev->len;
                add(o, "P", 1);
                add(o, ev->data, ev->len);
                return;
        case GOTRACE_SCHED:
                if (ev->sched->runq_max > ev->sched->runq_sum)
                        abort();
                k = snprintf(t, sizeof t, "S%llu,%llu,%llu,%llu\n", (unsigned long long)ev->sched->uptime_ms,
                             (unsigned long long)ev->sched->gomaxprocs, (unsigned long long)ev->sched->threads,
                             (unsigned long long)ev->sched->nprocs_listed);
                break;
        case GOTRACE_GC:
                k = snprintf(t, sizeof t, "G%llu,%llu,%llu,%d\n", (unsigned long long)ev->gc->num,
                             (unsigned long long)ev->gc->heap_live_bytes, (unsigned long long)ev->gc->procs,
                             ev->gc->forced);
                break;
        }
        add(o, t, (size_t)k);
}

static uint32_t rng_state;
static uint32_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 17;
        rng_state ^= rng_state << 5;
        return rng_state;
}

static void feed(const char *b, size_t n, bool passthrough, uint32_t seed, struct out *o) {
        struct gotrace_stream s;

        if (gotrace_stream_init(&s, passthrough) < 0)
                abort();
        rng_state = seed | 1;
        for (size_t at = 0; at < n;) {
                size_t k = seed ? 1 + rng() % 97 : n - at;

                if (k > n - at)
                        k = n - at;
                (void)gotrace_feed(&s, b + at, k, on_event, o);
                at += k;
                /* the caller's timer may fire at any time: only between
                 * feeds of the same run, never in the whole-feed one */
        }
        gotrace_finish(&s, on_event, o);
        if (gotrace_pending(&s))
                abort();
        if (passthrough && o->pass_bytes != n)
                abort();
        /* a partial last line at most, and the pieces of over-long lines */
        if (o->unterminated > 1 + s.stats.split_lines * 2 + n / (64 * 1024))
                abort();
        gotrace_stream_done(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *b = (const char *)data + 1;
        size_t n;
        bool passthrough;
        struct out whole = { 0 }, chunked = { 0 };

        if (size < 1)
                return 0;
        passthrough = data[0] & 1;
        n = size - 1;

        for (size_t at = 0; at < n;) {
                const char *nl = memchr(b + at, '\n', n - at);
                size_t len = nl ? (size_t)(nl - (b + at)) + 1 : n - at;
                struct go_sched s;
                struct go_gc g;
                struct gotrace_error e;

                if (gotrace_parse_sched(b + at, len, &s, &e) == 0) {
                        if (s.nprocs_listed > len || s.runq_max > s.runq_sum)
                                abort();
                } else if (e.column == 0 || e.column > len + 1 || !e.reason || e.line != 1)
                        abort();
                if (gotrace_parse_gc(b + at, len, &g, &e) != 0 && (e.column == 0 || e.column > len + 1 || !e.reason))
                        abort();
                at += len;
        }

        feed(b, n, passthrough, 0, &whole);
        feed(b, n, passthrough, (uint32_t)data[0] * 2654435761u, &chunked);
        if (whole.len != chunked.len || memcmp(whole.p, chunked.p, whole.len) != 0)
                abort();
        free(whole.p);
        free(chunked.p);
        return 0;
}
