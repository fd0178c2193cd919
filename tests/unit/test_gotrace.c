/* Unit tests for src/gotrace.c: the two line parsers on the real Go 1.19
 * and 1.26 captures and on broken lines, the stream on every capture fed
 * whole, split at every point and in random chunks, on two real captures
 * where log lines land inside trace lines, on trace lines with foreign
 * lines inserted at every kind of piece boundary, its bounds (held lines,
 * over-long lines, EOF, expire), and gotrace_godebug. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/gotrace.h"
#include "gorral/util.h"

/* ---- helpers ---- */

struct vbuf {
        char *p;
        size_t len, cap;
};

static void vadd(struct vbuf *b, const void *p, size_t n) {
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->p = realloc(b->p, b->cap);
                cr_assert(b->p);
        }
        memcpy(b->p + b->len, p, n);
        b->len += n;
        b->p[b->len] = '\0';
}

static void vfree(struct vbuf *b) {
        free(b->p);
        *b = (struct vbuf){ 0 };
}

#define MAX_EV 4096

struct rec {
        struct vbuf pass;        /* every passthrough byte */
        struct vbuf events;      /* every event, as text */
        unsigned nsched, ngc;
        struct go_sched sched[MAX_EV];
        struct go_gc gc[MAX_EV];
        struct gotrace_stats stats;
};

static void ev_text(struct vbuf *b, const struct gotrace_event *ev) {
        char t[512];
        int n = 0;

        if (ev->type == GOTRACE_SCHED) {
                const struct go_sched *s = ev->sched;

                n = snprintf(t, sizeof t,
                             "S %llu %llu %llu %llu %llu %llu/%d %llu %llu %llu %llu %llu %d/%llu %d %llu %llu %llu %llu %u\n",
                             (unsigned long long)s->uptime_ms, (unsigned long long)s->gomaxprocs,
                             (unsigned long long)s->idleprocs, (unsigned long long)s->threads,
                             (unsigned long long)s->spinningthreads, (unsigned long long)s->needspinning,
                             s->has_needspinning, (unsigned long long)s->idlethreads, (unsigned long long)s->runqueue,
                             (unsigned long long)s->nprocs_listed, (unsigned long long)s->runq_sum,
                             (unsigned long long)s->runq_max, s->has_schedticks,
                             (unsigned long long)s->schedticks_sum, s->detailed, (unsigned long long)s->gcwaiting,
                             (unsigned long long)s->nmidlelocked, (unsigned long long)s->stopwait,
                             (unsigned long long)s->sysmonwait, s->unknown_fields);
        } else if (ev->type == GOTRACE_GC) {
                const struct go_gc *g = ev->gc;

                n = snprintf(t, sizeof t,
                             "G %llu %llu %llu %llu+%llu+%llu %llu+%llu/%llu/%llu+%llu %llu->%llu->%llu %llu %llu %llu %d %llu %d %d\n",
                             (unsigned long long)g->num, (unsigned long long)g->at_ms,
                             (unsigned long long)g->cpu_percent, (unsigned long long)g->clock_usec[0],
                             (unsigned long long)g->clock_usec[1], (unsigned long long)g->clock_usec[2],
                             (unsigned long long)g->cpu_usec[0], (unsigned long long)g->cpu_usec[1],
                             (unsigned long long)g->cpu_usec[2], (unsigned long long)g->cpu_usec[3],
                             (unsigned long long)g->cpu_usec[4], (unsigned long long)g->heap_start_bytes,
                             (unsigned long long)g->heap_end_bytes, (unsigned long long)g->heap_live_bytes,
                             (unsigned long long)g->goal_bytes, (unsigned long long)g->stacks_bytes,
                             (unsigned long long)g->globals_bytes, g->has_stacks, (unsigned long long)g->procs,
                             g->forced, g->leak_check);
        }
        vadd(b, t, (size_t)n);
}

static void on_event(const struct gotrace_event *ev, void *ud) {
        struct rec *r = ud;

        switch (ev->type) {
        case GOTRACE_PASSTHROUGH:
                cr_assert(ev->len > 0, "an empty passthrough");
                vadd(&r->pass, ev->data, ev->len);
                return;
        case GOTRACE_SCHED:
                if (r->nsched < MAX_EV)
                        r->sched[r->nsched] = *ev->sched;
                r->nsched++;
                break;
        case GOTRACE_GC:
                if (r->ngc < MAX_EV)
                        r->gc[r->ngc] = *ev->gc;
                r->ngc++;
                break;
        }
        ev_text(&r->events, ev);
}

static struct rec *rec_new(void) {
        struct rec *r = calloc(1, sizeof *r);

        cr_assert(r);
        return r;
}

static void rec_free(struct rec *r) {
        vfree(&r->pass);
        vfree(&r->events);
        free(r);
}

/* Feed data in chunks: sizes from next_chunk (NULL: all at once). */
static struct rec *run(const char *data, size_t n, bool passthrough, size_t (*next_chunk)(void *), void *arg) {
        struct gotrace_stream s;
        struct rec *r = rec_new();

        cr_assert_eq(gotrace_stream_init(&s, passthrough), 0);
        for (size_t at = 0; at < n;) {
                size_t k = next_chunk ? next_chunk(arg) : n;

                if (k > n - at)
                        k = n - at;
                cr_assert_eq(gotrace_feed(&s, data + at, k, on_event, r), 0);
                at += k;
        }
        gotrace_finish(&s, on_event, r);
        cr_assert_not(gotrace_pending(&s));
        r->stats = s.stats;
        gotrace_stream_done(&s);
        return r;
}

static char *sample(const char *name, size_t *ret_len) {
        char path[512];
        char *buf;
        int r;

        snprintf(path, sizeof path, "%s/%s", SAMPLES, name);
        r = read_file(path, GR_READ_MAX, &buf, ret_len);
        cr_assert_eq(r, 0, "cannot read %s: %s", path, strerror(-r));
        return buf;
}

/* The n-th line (0-based) of buf, without its newline. */
static const char *nth_line(const char *buf, unsigned nth, size_t *ret_len) {
        const char *p = buf;

        for (unsigned i = 0; i < nth; i++) {
                p = strchr(p, '\n');
                cr_assert(p, "no line %u", nth);
                p++;
        }
        *ret_len = strcspn(p, "\n");
        return p;
}

static unsigned count_lines_starting(const char *buf, const char *prefix) {
        unsigned n = 0;
        size_t pl = strlen(prefix);

        for (const char *p = buf; *p;) {
                if (strncmp(p, prefix, pl) == 0)
                        n++;
                p = strchr(p, '\n');
                if (!p)
                        break;
                p++;
        }
        return n;
}

static unsigned count_occurrences(const char *buf, const char *s) {
        unsigned n = 0;

        for (const char *p = buf; (p = strstr(p, s)); p++)
                n++;
        return n;
}

/* The input without its trace lines (captures without interleaving). */
static void strip_trace_lines(const char *buf, struct vbuf *out) {
        static const char *const prefixes[] = { "SCHED ", "gc ", "  P", "  M", "  G", "GC forced" };

        for (const char *p = buf; *p;) {
                size_t len = strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');
                bool trace = false;

                for (size_t j = 0; j < ELEMENTSOF(prefixes); j++)
                        trace |= strncmp(p, prefixes[j], strlen(prefixes[j])) == 0;
                if (!trace)
                        vadd(out, p, len);
                p += len;
        }
}

static uint64_t rng_state;
static uint64_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

struct chunker {
        size_t max;
};
static size_t random_chunk(void *arg) { return 1 + rng() % ((struct chunker *)arg)->max; }

static const char *const all_captures[] = {
        "schedtrace-low.stderr.txt",  "schedtrace-high.stderr.txt",  "schedtrace-burn.stderr.txt",
        "scheddetail-low.stderr.txt", "scheddetail-high.stderr.txt", "gctrace-low.stderr.txt",
        "gctrace-high.stderr.txt",    "gctrace-memlimit.stderr.txt", "gotrace-go126.stderr.txt",
        "scheddetail-go126.stderr.txt",
};

/* ---- the line parsers on the captures ---- */

Test(gotrace_parse, sched_go119_burn) {
        size_t n, len;
        _cleanup_free_ char *buf = sample("schedtrace-burn.stderr.txt", &n);
        const char *l = nth_line(buf, 1, &len);
        struct go_sched s;

        /* SCHED 1001ms: gomaxprocs=2 idleprocs=0 threads=6 spinningthreads=0 idlethreads=1 runqueue=4 [1 1] */
        cr_assert_eq(gotrace_parse_sched(l, len, &s, NULL), 0);
        cr_assert_eq(s.uptime_ms, 1001);
        cr_assert_eq(s.gomaxprocs, 2);
        cr_assert_eq(s.idleprocs, 0);
        cr_assert_eq(s.threads, 6);
        cr_assert_eq(s.spinningthreads, 0);
        cr_assert_eq(s.idlethreads, 1);
        cr_assert_eq(s.runqueue, 4);
        cr_assert_eq(s.nprocs_listed, 2);
        cr_assert_eq(s.runq_sum, 2);
        cr_assert_eq(s.runq_max, 1);
        cr_assert_not(s.has_needspinning);
        cr_assert_not(s.has_schedticks);
        cr_assert_not(s.detailed);
        /* with its newline too */
        cr_assert_eq(gotrace_parse_sched(l, len + 1, &s, NULL), 0);
        l = nth_line(buf, 3, &len); /* ... runqueue=2 [3 0] */
        cr_assert_eq(gotrace_parse_sched(l, len, &s, NULL), 0);
        cr_assert_eq(s.uptime_ms, 3006);
        cr_assert_eq(s.runqueue, 2);
        cr_assert_eq(s.runq_sum, 3);
        cr_assert_eq(s.runq_max, 3);
}

Test(gotrace_parse, sched_go119_high_threads) {
        size_t n, len;
        _cleanup_free_ char *buf = sample("schedtrace-high.stderr.txt", &n);
        const char *l;
        struct go_sched s;

        /* 50 locked threads: threads=56, as go_threads in schedtrace-high.snapshot.txt */
        l = nth_line(buf, 1, &len);
        cr_assert_eq(gotrace_parse_sched(l, len, &s, NULL), 0);
        cr_assert_eq(s.threads, 56);
        cr_assert_eq(s.idlethreads, 2);
        cr_assert_eq(s.uptime_ms, 1000);
}

Test(gotrace_parse, sched_go126) {
        size_t n, len;
        _cleanup_free_ char *buf = sample("gotrace-go126.stderr.txt", &n);
        const char *l = strstr(buf, "SCHED 110ms:");
        struct go_sched s;

        /* SCHED 110ms: gomaxprocs=2 idleprocs=2 threads=6 spinningthreads=0 needspinning=0
         * idlethreads=2 runqueue=0 [ 0 0 ] schedticks=[ 205 6 ] */
        cr_assert(l);
        len = strcspn(l, "\n");
        cr_assert_eq(gotrace_parse_sched(l, len, &s, NULL), 0);
        cr_assert_eq(s.uptime_ms, 110);
        cr_assert_eq(s.gomaxprocs, 2);
        cr_assert_eq(s.idleprocs, 2);
        cr_assert_eq(s.threads, 6);
        cr_assert(s.has_needspinning);
        cr_assert_eq(s.needspinning, 0);
        cr_assert_eq(s.idlethreads, 2);
        cr_assert_eq(s.nprocs_listed, 2);
        cr_assert(s.has_schedticks);
        cr_assert_eq(s.schedticks_sum, 211);
        cr_assert_eq(s.unknown_fields, 0);
}

Test(gotrace_parse, sched_detailed_headers) {
        size_t n, len;
        _cleanup_free_ char *a = sample("scheddetail-low.stderr.txt", &n);
        _cleanup_free_ char *b = sample("scheddetail-go126.stderr.txt", &n);
        const char *l;
        struct go_sched s;

        /* Go 1.19: ... runqueue=0 gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0 */
        l = nth_line(a, 0, &len);
        cr_assert_eq(gotrace_parse_sched(l, len, &s, NULL), 0);
        cr_assert(s.detailed);
        cr_assert_eq(s.threads, 5);
        cr_assert_eq(s.nprocs_listed, 0);
        cr_assert_eq(s.gcwaiting, 0);
        /* Go 1.26: gcwaiting=false ... sysmonwait=false, needspinning= */
        l = nth_line(b, 0, &len);
        cr_assert_eq(gotrace_parse_sched(l, len, &s, NULL), 0);
        cr_assert(s.detailed);
        cr_assert(s.has_needspinning);
        cr_assert_eq(s.spinningthreads, 1);
        cr_assert_eq(s.sysmonwait, 0);
        cr_assert_eq(s.unknown_fields, 0);
}

Test(gotrace_parse, sched_unknown_fields_skipped) {
        static const char l[] = "SCHED 5ms: gomaxprocs=4 idleprocs=1 threads=9 spinningthreads=0 newthing=7 "
                                "needspinning=1 idlethreads=3 runqueue=2 other=true [0 1 2 3]";
        struct go_sched s;

        cr_assert_eq(gotrace_parse_sched(l, sizeof l - 1, &s, NULL), 0);
        cr_assert_eq(s.unknown_fields, 2);
        cr_assert_eq(s.needspinning, 1);
        cr_assert_eq(s.runqueue, 2);
        cr_assert_eq(s.nprocs_listed, 4);
        cr_assert_eq(s.runq_sum, 6);
        cr_assert_eq(s.runq_max, 3);
}

Test(gotrace_parse, gc_go119) {
        size_t n, len;
        _cleanup_free_ char *buf = sample("gctrace-low.stderr.txt", &n);
        const char *l;
        struct go_gc g;

        /* gc 1 @0.105s 0%: 0.009+0.51+0.002 ms clock, 0.019+0.12/0.083/0.16+0.005 ms cpu,
         * 3->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P */
        l = nth_line(buf, 0, &len);
        cr_assert_eq(gotrace_parse_gc(l, len, &g, NULL), 0);
        cr_assert_eq(g.num, 1);
        cr_assert_eq(g.at_ms, 105);
        cr_assert_eq(g.cpu_percent, 0);
        cr_assert_eq(g.clock_usec[0], 9);
        cr_assert_eq(g.clock_usec[1], 510);
        cr_assert_eq(g.clock_usec[2], 2);
        cr_assert_eq(g.cpu_usec[0], 19);
        cr_assert_eq(g.cpu_usec[1], 120);
        cr_assert_eq(g.cpu_usec[2], 83);
        cr_assert_eq(g.cpu_usec[3], 160);
        cr_assert_eq(g.cpu_usec[4], 5);
        cr_assert_eq(g.heap_start_bytes, 3 << 20);
        cr_assert_eq(g.heap_end_bytes, 4 << 20);
        cr_assert_eq(g.heap_live_bytes, 0);
        cr_assert_eq(g.goal_bytes, 4 << 20);
        cr_assert(g.has_stacks);
        cr_assert_eq(g.stacks_bytes, 0);
        cr_assert_eq(g.procs, 2);
        cr_assert_not(g.forced);
        /* gc 12 @1.005s 0%: 0.081+1.9+0.004 ms clock, 0.16+0/0.24/0.17+0.008 ms cpu, 3->5->3 MB */
        l = nth_line(buf, 11, &len);
        cr_assert_eq(gotrace_parse_gc(l, len, &g, NULL), 0);
        cr_assert_eq(g.num, 12);
        cr_assert_eq(g.clock_usec[1], 1900);
        cr_assert_eq(g.cpu_usec[0], 160);
        cr_assert_eq(g.cpu_usec[1], 0);
        cr_assert_eq(g.heap_end_bytes, 5 << 20);
}

Test(gotrace_parse, gc_forced_and_memlimit) {
        size_t n, len;
        _cleanup_free_ char *hi = sample("gctrace-high.stderr.txt", &n);
        _cleanup_free_ char *ml = sample("gctrace-memlimit.stderr.txt", &n);
        const char *l = strstr(hi, "gc 27 @");
        struct go_gc g;

        /* gc 27 @2.133s 0%: ... 3->3->2 MB, 5 MB goal, 2 MB stacks, 0 MB globals, 2 P (forced) */
        cr_assert(l);
        len = strcspn(l, "\n");
        cr_assert_eq(gotrace_parse_gc(l, len, &g, NULL), 0);
        cr_assert(g.forced);
        cr_assert_eq(g.at_ms, 2133);
        cr_assert_eq(g.stacks_bytes, 2 << 20);
        cr_assert_eq(g.goal_bytes, 5 << 20);
        /* Under GOMEMLIMIT=8MiB the GC runs constantly: 10% at the end. */
        l = strstr(ml, "gc 1462 @");
        cr_assert(l);
        len = strcspn(l, "\n");
        cr_assert_eq(gotrace_parse_gc(l, len, &g, NULL), 0);
        cr_assert_eq(g.cpu_percent, 10);
        cr_assert_eq(g.goal_bytes, 1 << 20);
}

Test(gotrace_parse, gc_go126_and_older_forms) {
        static const char leak[] = "gc 7 @12.000s 3% (checking for goroutine leaks): 12+0.50+0.010 ms clock, "
                                   "24+0/1.0/9.9+0.020 ms cpu, 10->11->5 MB, 12 MB goal, 1 MB stacks, 0 MB globals, 4 P (forced)\n";
        static const char go117[] = "gc 3 @0.030s 1%: 0.010+0.20+0.003 ms clock, 0.020+0/0.10/0+0.006 ms cpu, "
                                    "4->4->0 MB, 5 MB goal, 2 P";
        size_t n, len;
        _cleanup_free_ char *buf = sample("gotrace-go126.stderr.txt", &n);
        const char *l = strstr(buf, "gc 4 @");
        struct go_gc g;

        /* gc 4 @0.813s 0%: 3.7+3.8+0.005 ms clock, 7.5+0.053/0.47/0+0.010 ms cpu, 16->16->16 MB, 17 MB goal */
        cr_assert(l);
        len = strcspn(l, "\n");
        cr_assert_eq(gotrace_parse_gc(l, len, &g, NULL), 0);
        cr_assert_eq(g.clock_usec[0], 3700);
        cr_assert_eq(g.cpu_usec[0], 7500);
        cr_assert_eq(g.heap_live_bytes, (uint64_t)16 << 20);
        cr_assert_eq(g.goal_bytes, (uint64_t)17 << 20);
        cr_assert_not(g.forced);

        cr_assert_eq(gotrace_parse_gc(leak, sizeof leak - 1, &g, NULL), 0);
        cr_assert(g.leak_check);
        cr_assert(g.forced);
        cr_assert_eq(g.at_ms, 12000);
        cr_assert_eq(g.clock_usec[0], 12000);
        cr_assert_eq(g.cpu_usec[3], 9900);
        cr_assert_eq(g.procs, 4);

        cr_assert_eq(gotrace_parse_gc(go117, sizeof go117 - 1, &g, NULL), 0);
        cr_assert_not(g.has_stacks);
        cr_assert_eq(g.procs, 2);
        cr_assert_eq(g.goal_bytes, 5 << 20);
}

struct bad {
        const char *line;
        unsigned column;
};

Test(gotrace_parse, broken_lines) {
        static const struct bad sched[] = {
                { "", 1 },
                { "SCHED", 1 },
                { "SCHED x", 7 },
                { "SCHED 10ms gomaxprocs=2", 9 },
                { "SCHED 010ms: gomaxprocs=2", 8 },                 /* Go prints no leading zero */
                { "SCHED 10ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=0 [0 0]", 85 },
                { "SCHED 10ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=0 runqueue=0 [0 0", 95 },
                { "SCHED 10ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=0 runqueue=0 [0 0] x", 96 },
                { "SCHED 10ms: gomaxprocs=99999999999999999999999 idleprocs=0", 24 },
                { "SCHED 10ms: gomaxprocs=2 idleprocs=-", 37 },
        };
        static const struct bad gc[] = {
                { "gc", 1 },
                { "gc 1 @0.10s 0%: 0.009+0.51+0.002 ms clock", 7 },    /* @ seconds: 3 decimals */
                { "gc 1 @0.105s 0%: 0.0091+0.51+0.002 ms clock", 23 }, /* 3 significant digits */
                { "gc 1 @0.105s 0%: 5+0.51+0.002 ms clock", 18 },      /* whole ms only from 10 */
                { "gc 1 @0.105s 0%: 0.009+0.51 ms clock", 28 },
                { "gc 1 @0.105s 0%: 0.009+0.51+0.002 ms clock, 0.019+0.12/0.083/0.16+0.005 ms cpu, 3->4->0 MB, 4 MB goal, 2", 105 },
                { "gc 1 @0.105s 0%: 0.009+0.51+0.002 ms clock, 0.019+0.12/0.083/0.16+0.005 ms cpu, 3->4->0 MB, 4 MB goal, 2 P\n\n", 107 },
                { "gc 1 @0.105s 0%: 0.009+0.51+0.002 ms clock, 0.019+0.12/0.083/0.16+0.005 ms cpu, 3->4->99999999999999 MB, 4 MB goal, 2 P", 120 },
        };

        for (size_t i = 0; i < ELEMENTSOF(sched); i++) {
                struct go_sched s = { .threads = 77 };
                struct gotrace_error e = { 0 };

                cr_assert_eq(gotrace_parse_sched(sched[i].line, strlen(sched[i].line), &s, &e), -EBADMSG, "%s",
                             sched[i].line);
                cr_assert_eq(s.threads, 77, "ret written on failure");
                cr_assert_eq(e.line, 1);
                cr_assert_eq(e.column, sched[i].column, "'%s': column %u, reason %s", sched[i].line, e.column,
                             e.reason);
                cr_assert(e.reason && *e.reason);
        }
        for (size_t i = 0; i < ELEMENTSOF(gc); i++) {
                struct go_gc g;
                struct gotrace_error e = { 0 };

                cr_assert_eq(gotrace_parse_gc(gc[i].line, strlen(gc[i].line), &g, &e), -EBADMSG, "%s", gc[i].line);
                if (gc[i].column)
                        cr_assert_eq(e.column, gc[i].column, "'%s': column %u, reason %s", gc[i].line, e.column,
                                     e.reason);
                cr_assert(e.reason && *e.reason);
        }
        cr_assert_eq(gotrace_parse_sched("SCHED 1ms: gomaxprocs=1", 23, &(struct go_sched){ 0 }, NULL), -EBADMSG);
}

Test(gotrace_parse, never_reads_past_n) {
        size_t n, len;
        _cleanup_free_ char *buf = sample("gctrace-low.stderr.txt", &n);
        const char *l = nth_line(buf, 0, &len);
        struct go_gc g;

        /* Every proper prefix fails, read from an exact-size copy (ASan
         * catches a read past it in the asan build). */
        for (size_t k = 0; k < len - 1; k++) {
                char *copy = malloc(k ? k : 1);

                memcpy(copy, l, k);
                cr_assert_eq(gotrace_parse_gc(copy, k, &g, NULL), -EBADMSG, "prefix %zu", k);
                free(copy);
        }
}

/* ---- the stream on the captures ---- */

Test(gotrace_stream, captures_whole) {
        for (size_t i = 0; i < ELEMENTSOF(all_captures); i++) {
                size_t n;
                _cleanup_free_ char *buf = sample(all_captures[i], &n);
                struct rec *r = run(buf, n, false, NULL, NULL);
                struct rec *rp = run(buf, n, true, NULL, NULL);
                struct vbuf rest = { 0 };

                strip_trace_lines(buf, &rest);
                cr_assert_eq(r->nsched, count_lines_starting(buf, "SCHED "), "%s", all_captures[i]);
                cr_assert_eq(r->ngc, count_lines_starting(buf, "gc "), "%s", all_captures[i]);
                cr_assert_eq(r->stats.malformed, 0, "%s", all_captures[i]);
                cr_assert_eq(r->stats.reassembled, 0, "%s", all_captures[i]);
                cr_assert_eq(r->pass.len, rest.len, "%s", all_captures[i]);
                cr_assert(rest.len == 0 || memcmp(r->pass.p, rest.p, rest.len) == 0, "%s", all_captures[i]);
                /* godebug.passthrough: every byte, as it came */
                cr_assert_eq(rp->pass.len, n, "%s", all_captures[i]);
                cr_assert(memcmp(rp->pass.p, buf, n) == 0, "%s", all_captures[i]);
                cr_assert_str_eq(rp->events.p, r->events.p);
                for (unsigned k = 0; k < r->nsched && k < MAX_EV; k++) {
                        cr_assert_eq(r->sched[k].nprocs_listed, r->sched[k].gomaxprocs, "%s #%u", all_captures[i], k);
                        if (k)
                                cr_assert_geq(r->sched[k].uptime_ms, r->sched[k - 1].uptime_ms);
                }
                for (unsigned k = 0; k < r->ngc && k < MAX_EV; k++)
                        cr_assert_eq(r->gc[k].num, r->gc[0].num + k, "%s", all_captures[i]);
                vfree(&rest);
                rec_free(r);
                rec_free(rp);
        }
}

Test(gotrace_stream, capture_values) {
        size_t n;
        _cleanup_free_ char *hi = sample("scheddetail-high.stderr.txt", &n);
        struct rec *r = run(hi, n, false, NULL, NULL);

        /* detailed: 2 P lines fold into each SCHED; M and G lines counted */
        cr_assert_eq(r->nsched, 3);
        cr_assert(r->sched[1].detailed);
        cr_assert_eq(r->sched[1].threads, 56);
        cr_assert_eq(r->sched[1].nprocs_listed, 2);
        cr_assert_eq(r->stats.detail_lines, count_lines_starting(hi, "  P") + count_lines_starting(hi, "  M") +
                                                    count_lines_starting(hi, "  G"));
        rec_free(r);
        {
                _cleanup_free_ char *b = sample("schedtrace-burn.stderr.txt", &n);

                r = run(b, n, false, NULL, NULL);
                cr_assert_eq(r->nsched, 4);
                cr_assert_eq(r->sched[1].runqueue, 4);
                cr_assert_eq(r->sched[2].runq_max, 2);
                cr_assert_eq(r->sched[3].runq_sum, 3);
                rec_free(r);
        }
        {
                _cleanup_free_ char *b = sample("gotrace-go126.stderr.txt", &n);

                r = run(b, n, false, NULL, NULL);
                cr_assert_eq(r->nsched, 20);
                cr_assert_eq(r->ngc, 6);
                cr_assert(r->gc[2].forced);
                cr_assert_eq(r->gc[5].heap_live_bytes, (uint64_t)24 << 20);
                cr_assert(strstr(r->pass.p, "exit-after 2s elapsed"));
                rec_free(r);
        }
}

Test(gotrace_stream, every_split_point) {
        static const char *const small[] = { "schedtrace-burn.stderr.txt", "gctrace-high.stderr.txt",
                                             "scheddetail-low.stderr.txt", "gotrace-go126.stderr.txt",
                                             "scheddetail-go126.stderr.txt" };

        for (size_t i = 0; i < ELEMENTSOF(small); i++) {
                size_t n;
                _cleanup_free_ char *buf = sample(small[i], &n);
                struct rec *whole = run(buf, n, true, NULL, NULL);

                for (size_t cut = 1; cut < n; cut++) {
                        struct gotrace_stream s;
                        struct rec *r = rec_new();

                        cr_assert_eq(gotrace_stream_init(&s, true), 0);
                        cr_assert_eq(gotrace_feed(&s, buf, cut, on_event, r), 0);
                        cr_assert_eq(gotrace_feed(&s, buf + cut, n - cut, on_event, r), 0);
                        gotrace_finish(&s, on_event, r);
                        gotrace_stream_done(&s);
                        cr_assert_str_eq(r->events.p, whole->events.p, "%s cut at %zu", small[i], cut);
                        cr_assert_eq(r->pass.len, n);
                        cr_assert(memcmp(r->pass.p, buf, n) == 0);
                        rec_free(r);
                }
                rec_free(whole);
        }
}

static const char *const interleaved[] = { "gotrace-interleaved-go119.stderr.txt",
                                           "gotrace-interleaved-go126.stderr.txt" };

Test(gotrace_stream, random_chunks) {
        rng_state = 0x9e3779b97f4a7c15ULL;
        for (size_t i = 0; i < ELEMENTSOF(all_captures) + ELEMENTSOF(interleaved); i++) {
                const char *name = i < ELEMENTSOF(all_captures) ? all_captures[i]
                                                                : interleaved[i - ELEMENTSOF(all_captures)];
                size_t n;
                _cleanup_free_ char *buf = sample(name, &n);
                struct rec *whole = run(buf, n, false, NULL, NULL);
                static const size_t maxes[] = { 1, 16, 300, 5000 };

                for (size_t m = 0; m < ELEMENTSOF(maxes); m++) {
                        struct chunker ch = { maxes[m] };
                        struct rec *r;

                        if (maxes[m] == 1 && n > 300000)
                                continue;
                        r = run(buf, n, false, random_chunk, &ch);
                        cr_assert_str_eq(r->events.p, whole->events.p, "%s, chunks up to %zu", name, maxes[m]);
                        cr_assert_eq(r->pass.len, whole->pass.len);
                        cr_assert(r->pass.len == 0 || memcmp(r->pass.p, whole->pass.p, r->pass.len) == 0);
                        rec_free(r);
                }
                rec_free(whole);
        }
}

/* The real interleaving: every log line comes out whole and in order,
 * every trace line is found, with the right numbers. */
Test(gotrace_stream, real_interleaving) {
        regex_t re;

        cr_assert_eq(regcomp(&re, "^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:.]{15} worker ([0-9]) line ([0-9]+)$", REG_EXTENDED),
                     0);
        for (size_t i = 0; i < ELEMENTSOF(interleaved); i++) {
                size_t n;
                _cleanup_free_ char *buf = sample(interleaved[i], &n);
                struct rec *r = run(buf, n, false, NULL, NULL);
                struct rec *rp = run(buf, n, true, NULL, NULL);
                long last[10];
                unsigned lines = 0;

                memset(last, 0xff, sizeof last); /* -1 */
                for (char *p = r->pass.p; p && *p;) {
                        char *nl = strchr(p, '\n');
                        regmatch_t m[3];
                        long w, k;

                        cr_assert(nl);
                        *nl = '\0';
                        cr_assert_eq(regexec(&re, p, 3, m, 0), 0, "%s: mangled line '%s'", interleaved[i], p);
                        w = strtol(p + m[1].rm_so, NULL, 10);
                        k = strtol(p + m[2].rm_so, NULL, 10);
                        cr_assert_eq(k, last[w] + 1, "%s: worker %ld line %ld after %ld", interleaved[i], w, k,
                                     last[w]);
                        last[w] = k;
                        lines++;
                        p = nl + 1;
                }
                cr_assert_eq(lines, count_occurrences(buf, " worker "));
                cr_assert_eq(r->nsched, count_occurrences(buf, "SCHED "));
                cr_assert_eq(r->ngc, count_occurrences(buf, "gc "));
                cr_assert_gt(r->stats.reassembled, 20, "%s: %llu", interleaved[i],
                             (unsigned long long)r->stats.reassembled);
                cr_assert_geq(r->stats.interleaved, r->stats.reassembled);
                cr_assert_eq(r->stats.malformed, 0);
                cr_assert_eq(r->stats.released, 0);
                cr_assert_eq(r->stats.throttled, 0);
                cr_assert_lt(r->stats.work, 24 * (uint64_t)n, "%s: %llu bytes parsed for %zu", interleaved[i],
                             (unsigned long long)r->stats.work, n);
                for (unsigned k = 0; k < r->ngc; k++)
                        cr_assert_eq(r->gc[k].num, k + 1, "%s: gc #%u is %llu", interleaved[i], k,
                                     (unsigned long long)r->gc[k].num);
                for (unsigned k = 0; k < r->nsched; k++) {
                        cr_assert_eq(r->sched[k].gomaxprocs, 2);
                        cr_assert_eq(r->sched[k].nprocs_listed, 2);
                        if (k)
                                cr_assert_geq(r->sched[k].uptime_ms, r->sched[k - 1].uptime_ms);
                }
                /* passthrough: the reassembled trace lines are valid lines of their own */
                {
                        struct rec *again = run(rp->pass.p, rp->pass.len, false, NULL, NULL);

                        cr_assert_str_eq(again->events.p, r->events.p);
                        cr_assert_eq(again->stats.reassembled, 0);
                        cr_assert_eq(again->pass.len, r->pass.len);
                        cr_assert_eq(rp->pass.len, n);
                        rec_free(again);
                }
                rec_free(r);
                rec_free(rp);
        }
        regfree(&re);
}

/* Trace lines from the captures cut where Go cuts them (every change
 * between a number and text is a write boundary), with foreign lines put
 * in at random boundaries: the same events, and exactly the foreign lines
 * passed through. */
static const char *const foreign[] = {
        "2026/12/01 10:48:41.467826 worker 2 line 472\n",
        "{\"level\":\"info\",\"msg\":\"request done\"}\n",
        "INFO request done in 12ms\n",
        "time=2026-12-01T10:00:00Z level=INFO msg=ok\n",
        "\n",
        "   indented: 5 items\n",
        "gc 17 @9.000s 1%: 0.010+0.20+0.003 ms clock, 0.020+0/0.10/0+0.006 ms cpu, 4->4->0 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P\n",
};

Test(gotrace_stream, synthetic_interleaving) {
        static const char *const names[] = { "gctrace-low.stderr.txt", "schedtrace-burn.stderr.txt",
                                             "gotrace-go126.stderr.txt", "gctrace-high.stderr.txt" };

        rng_state = 12345;
        for (size_t f = 0; f < ELEMENTSOF(names); f++) {
                size_t n;
                _cleanup_free_ char *buf = sample(names[f], &n);
                struct vbuf clean = { 0 }, mixed = { 0 }, expect_pass = { 0 };
                struct rec *r0, *r;

                for (int round = 0; round < 20; round++) {
                        for (const char *p = buf; *p;) {
                                size_t len = strcspn(p, "\n") + 1;
                                size_t cuts[512], nc = 0;
                                unsigned k;

                                if (strncmp(p, "SCHED ", 6) != 0 && strncmp(p, "gc ", 3) != 0) {
                                        p += len;
                                        continue;
                                }
                                vadd(&clean, p, len);
                                for (size_t j = 1; j < len - 1 && nc < ELEMENTSOF(cuts); j++) {
                                        bool a = (p[j - 1] >= '0' && p[j - 1] <= '9') || p[j - 1] == '.';
                                        bool b = (p[j] >= '0' && p[j] <= '9') || p[j] == '.';

                                        if (a != b)
                                                cuts[nc++] = j;
                                }
                                cuts[nc++] = len - 1; /* before the newline (gc's own piece) */
                                k = (unsigned)(rng() % 4);
                                {
                                        size_t at[3] = { 0 }, prev = 0;

                                        for (unsigned j = 0; j < k; j++)
                                                at[j] = cuts[rng() % nc];
                                        /* ascending */
                                        for (unsigned a = 0; a < k; a++)
                                                for (unsigned b2 = a + 1; b2 < k; b2++)
                                                        if (at[b2] < at[a]) {
                                                                size_t t = at[a];
                                                                at[a] = at[b2];
                                                                at[b2] = t;
                                                        }
                                        for (unsigned j = 0; j < k; j++) {
                                                /* A gc line only inside SCHED lines: the
                                                 * runtime prints one gc line at a time. */
                                                const char *fl = foreign[rng() % (ELEMENTSOF(foreign) - (p[0] == 'g'))];

                                                /* The 1.26 "]\n" and the SCHED list's last
                                                 * bracket are single writes: never cut there. */
                                                if (at[j] == len - 1 && p[len - 2] == ']')
                                                        continue;
                                                vadd(&mixed, p + prev, at[j] - prev);
                                                vadd(&mixed, fl, strlen(fl));
                                                vadd(&expect_pass, fl, strlen(fl));
                                                prev = at[j];
                                        }
                                        vadd(&mixed, p + prev, len - prev);
                                }
                                p += len;
                        }
                }
                r0 = run(clean.p, clean.len, false, NULL, NULL);
                r = run(mixed.p, mixed.len, false, NULL, NULL);
                /* foreign gc lines are trace lines too: compare without them */
                {
                        struct rec *fg = run(expect_pass.p, expect_pass.len, false, NULL, NULL);

                        cr_assert_eq(r->pass.len, fg->pass.len, "%s: passthrough %zu bytes, expected %zu",
                                     names[f], r->pass.len, fg->pass.len);
                        cr_assert(memcmp(r->pass.p, fg->pass.p, fg->pass.len) == 0, "%s: passthrough differs",
                                  names[f]);
                        cr_assert_eq(r->nsched, r0->nsched + fg->nsched);
                        cr_assert_eq(r->ngc, r0->ngc + fg->ngc, "%s: %u gc, expected %u", names[f], r->ngc,
                                     r0->ngc + fg->ngc);
                        rec_free(fg);
                }
                cr_assert_eq(r->stats.malformed, 0, "%s", names[f]);
                cr_assert_gt(r->stats.reassembled, 0);
                /* the trace values: every clean event is there, in order */
                {
                        const char *want = r0->events.p, *have = r->events.p;

                        while (*want) {
                                size_t wl = strcspn(want, "\n") + 1;
                                while (*have && strncmp(have, want, wl) != 0)
                                        have += strcspn(have, "\n") + 1; /* a foreign gc line's event */
                                cr_assert(*have, "%s: event missing or wrong: %.*s", names[f], (int)wl, want);
                                have += wl;
                                want += wl;
                        }
                }
                vfree(&clean);
                vfree(&mixed);
                vfree(&expect_pass);
                rec_free(r0);
                rec_free(r);
        }
}

/* ---- bounds, EOF, expire ---- */

Test(gotrace_stream, ordinary_line_like_a_trace_is_let_go) {
        struct gotrace_stream s;
        struct rec *r = rec_new();
        struct vbuf in = { 0 };

        cr_assert_eq(gotrace_stream_init(&s, false), 0);
        vadd(&in, "gc done\n", 8);
        cr_assert_eq(gotrace_feed(&s, in.p, in.len, on_event, r), 0);
        cr_assert(gotrace_pending(&s));
        cr_assert_eq(r->pass.len, 0);
        gotrace_expire(&s, on_event, r);
        cr_assert_not(gotrace_pending(&s));
        cr_assert_str_eq(r->pass.p, "gc done\n");
        cr_assert_eq(s.stats.malformed, 1);
        /* held for at most GOTRACE_HOLD_LINES lines: the output is the input */
        vfree(&r->pass);
        vfree(&in);
        vadd(&in, "SCHED job started\n", 18);
        for (int i = 0; i < 3 * GOTRACE_HOLD_LINES; i++) {
                char l[64];
                int k = snprintf(l, sizeof l, "%sline %d\n", i % 20 == 7 ? "gc " : "", i);

                vadd(&in, l, (size_t)k);
        }
        cr_assert_eq(gotrace_feed(&s, in.p, in.len, on_event, r), 0);
        gotrace_finish(&s, on_event, r);
        cr_assert_eq(r->pass.len, in.len);
        cr_assert(memcmp(r->pass.p, in.p, in.len) == 0);
        cr_assert_eq(r->nsched + r->ngc, 0);
        cr_assert_geq(s.stats.released, 1);
        gotrace_stream_done(&s);
        vfree(&in);
        rec_free(r);
}

/* Lines made to look like unfinished trace lines cost a bounded parse
 * per byte, and still come out whole. */
Test(gotrace_stream, hostile_lines_cost_bounded_work) {
        struct vbuf in = { 0 };
        struct rec *r;

        rng_state = 7;
        for (int i = 0; i < 20000; i++) {
                char l[128];
                int k;

                switch (rng() % 4) {
                case 0:
                        k = snprintf(l, sizeof l, "gc %d @0.%03ds 1%%: 0.0%d\n", i, i % 1000, 10 + i % 80);
                        break;
                case 1:
                        k = snprintf(l, sizeof l, "SCHED %dms: gomaxprocs=2 idleprocs=%d\n", i, i % 3);
                        break;
                default:
                        k = snprintf(l, sizeof l, "2026/12/01 10:00:00.%06d app line %d\n", i, i);
                }
                vadd(&in, l, (size_t)k);
        }
        r = run(in.p, in.len, true, NULL, NULL);
        cr_assert_eq(r->pass.len, in.len);
        cr_assert_eq(r->nsched + r->ngc, 0);
        cr_assert_gt(r->stats.throttled, 0);
        cr_assert_leq(r->stats.work, (1 << 20) + 48 * (uint64_t)in.len);
        vfree(&in);
        rec_free(r);
}

/* The runtime's other trace lines: skipped, not errors; passed through
 * only when asked. "GC forced" is two writes: a log line may come between. */
Test(gotrace_stream, runtime_lines_skipped) {
        static const char in[] = "GC forced\n"
                                 "scav 0 KiB work (bg), 0 KiB work (eager), 112 KiB total, 0.1% util\n"
                                 "scvg: 0 MB released\n"
                                 "GC forced2026/12/01 10:00:00.000001 app line\n"
                                 "\n";
        struct rec *r = run(in, sizeof in - 1, false, NULL, NULL);
        struct rec *rp = run(in, sizeof in - 1, true, NULL, NULL);

        cr_assert_eq(r->stats.skipped_lines, 4);
        cr_assert_eq(r->stats.malformed, 0);
        cr_assert_str_eq(r->pass.p, "2026/12/01 10:00:00.000001 app line\n");
        cr_assert_eq(rp->pass.len, sizeof in - 1);
        cr_assert(strstr(rp->pass.p, "app line\nGC forced\n"));
        rec_free(r);
        rec_free(rp);
}

Test(gotrace_stream, whole_trace_line_ends_a_false_start) {
        static const char in[] = "SCHED nothing to see\n"
                                 "SCHED 5ms: gomaxprocs=1 idleprocs=0 threads=3 spinningthreads=0 idlethreads=0 runqueue=0 [0]\n";
        struct gotrace_stream s;
        struct rec *r = rec_new();

        cr_assert_eq(gotrace_stream_init(&s, false), 0);
        cr_assert_eq(gotrace_feed(&s, in, sizeof in - 1, on_event, r), 0);
        /* no waiting: the whole SCHED line shows the first was none */
        cr_assert_eq(r->nsched, 1);
        cr_assert_str_eq(r->pass.p, "SCHED nothing to see\n");
        cr_assert_not(gotrace_pending(&s));
        gotrace_stream_done(&s);
        rec_free(r);
}

Test(gotrace_stream, eof_and_long_lines) {
        struct gotrace_stream s;
        struct rec *r = rec_new();
        size_t big = 200 * 1024;
        char *l = malloc(big + 1);

        cr_assert_eq(gotrace_stream_init(&s, false), 0);
        memset(l, 'x', big);
        l[big] = '\n';
        cr_assert_eq(gotrace_feed(&s, "gc 1 @0.1", 9, on_event, r), 0);
        cr_assert_eq(gotrace_feed(&s, l, big + 1, on_event, r), 0);
        cr_assert_eq(s.stats.split_lines, 1);
        cr_assert_eq(gotrace_feed(&s, "SCHED 10", 8, on_event, r), 0);
        gotrace_finish(&s, on_event, r);
        /* every byte, once, in order; the partial last line without a newline */
        cr_assert_eq(r->pass.len, 9 + big + 1 + 8);
        cr_assert(memcmp(r->pass.p, "gc 1 @0.1xxx", 12) == 0);
        cr_assert(memcmp(r->pass.p + r->pass.len - 9, "\nSCHED 10", 9) == 0);
        cr_assert_eq(r->nsched + r->ngc, 0);
        gotrace_stream_done(&s);
        free(l);
        rec_free(r);
}

Test(gotrace_stream, detailed_sched_waits_for_its_p_lines) {
        size_t n;
        _cleanup_free_ char *buf = sample("scheddetail-go126.stderr.txt", &n);
        size_t first = strcspn(buf, "\n") + 1;
        struct gotrace_stream s;
        struct rec *r = rec_new();

        cr_assert_eq(gotrace_stream_init(&s, false), 0);
        cr_assert_eq(gotrace_feed(&s, buf, first, on_event, r), 0);
        cr_assert_eq(r->nsched, 0);
        cr_assert(gotrace_pending(&s));
        /* an app line between the P lines does not end the block */
        cr_assert_eq(gotrace_feed(&s, "app says hi\n", 12, on_event, r), 0);
        cr_assert_eq(gotrace_feed(&s, buf + first, n - first, on_event, r), 0);
        gotrace_finish(&s, on_event, r);
        cr_assert_eq(r->nsched, 3);
        cr_assert_eq(r->sched[0].nprocs_listed, 2);
        cr_assert_eq(r->sched[0].threads, 4);
        cr_assert(strncmp(r->pass.p, "app says hi\n", 12) == 0);
        gotrace_stream_done(&s);
        rec_free(r);
}

/* ---- GODEBUG ---- */

Test(gotrace_godebug, builds) {
        static const struct {
                const char *existing;
                uint64_t ms;
                bool gc;
                int r;
                const char *want;
        } cases[] = {
                { NULL, 0, false, 0, NULL },
                { NULL, 1000, false, 1, "schedtrace=1000" },
                { NULL, 0, true, 1, "gctrace=1" },
                { NULL, 250, true, 1, "schedtrace=250,gctrace=1" },
                { "", 0, false, 1, "" },
                { "http2client=0", 1000, true, 1, "http2client=0,schedtrace=1000,gctrace=1" },
                { "schedtrace=5,madvdontneed=1,gctrace=2", 1000, true, 1, "madvdontneed=1,schedtrace=1000,gctrace=1" },
                { "schedtrace=5,gctrace=2", 0, true, 1, "schedtrace=5,gctrace=1" },
                { "schedtrace=5,gctrace=2", 1000, false, 1, "gctrace=2,schedtrace=1000" },
                { ",,a=1,,scheddetail=1,", 10, false, 1, "a=1,scheddetail=1,schedtrace=10" },
                { "schedtracex=1,gctraced=1", 10, true, 1, "schedtracex=1,gctraced=1,schedtrace=10,gctrace=1" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *v = (char *)"unset";
                int r = gotrace_godebug(cases[i].existing, cases[i].ms, cases[i].gc, &v);

                cr_assert_eq(r, cases[i].r, "case %zu", i);
                if (cases[i].want)
                        cr_assert_str_eq(v, cases[i].want, "case %zu", i);
                else
                        cr_assert_null(v);
                free(r > 0 ? v : NULL);
        }
        {
                char *big = malloc(70 * 1024), *v = NULL;

                memset(big, 'a', 70 * 1024 - 1);
                big[70 * 1024 - 1] = '\0';
                cr_assert_eq(gotrace_godebug(big, 10, false, &v), -E2BIG);
                free(big);
        }
}
