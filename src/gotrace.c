/* gotrace.c: GODEBUG schedtrace/gctrace lines. See gotrace.h for the map
 * and for how the runtime writes them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/gotrace.h"
#include "gorral/output.h"
#include "gorral/util.h"

/* ---- the cursor: one grammar, two uses ----
 *
 * Each line kind has one parser written against this cursor. In full mode
 * it parses a whole line. In recording mode it is run over "the trace so
 * far + a held line without its newline" and notes every position where
 * the runtime could have finished a write (before each fixed word, after
 * each valid truncation of a value), until the text stops fitting: the
 * places where a foreign line may have started. Fixed words that the
 * runtime writes in one piece are matched whole, so a boundary is never
 * noted inside one. */

#define REC_MAX 1024 /* boundaries kept per held line (the last ones) */

struct cur {
        const char *b;
        size_t n, i;
        bool fail;
        size_t fail_at;
        const char *reason;
        /* recording mode */
        bool recording;
        size_t rec_from;
        uint32_t *rec;
        size_t nrec;
};

static void c_fail(struct cur *c, const char *reason) {
        if (!c->fail) {
                c->fail = true;
                c->fail_at = c->i;
                c->reason = reason;
        }
}

static void c_rec(struct cur *c, size_t pos) {
        if (!c->recording || c->fail || pos < c->rec_from || pos > c->n)
                return;
        if (c->nrec > 0 && c->rec[(c->nrec - 1) % REC_MAX] >= pos)
                return; /* noted already (they come in order) */
        c->rec[c->nrec % REC_MAX] = (uint32_t)pos;
        c->nrec++;
}

static size_t c_rem(const struct cur *c) { return c->n - c->i; }

static bool c_peek(const struct cur *c, const char *s) {
        size_t len = strlen(s);

        return !c->fail && c_rem(c) >= len && memcmp(c->b + c->i, s, len) == 0;
}

static void c_lit(struct cur *c, const char *s) {
        if (c->fail)
                return;
        c_rec(c, c->i);
        if (c_peek(c, s))
                c->i += strlen(s);
        else
                c_fail(c, "unexpected text");
}

/* Digits at i (at most 20). */
static size_t digit_run(const struct cur *c) {
        size_t k = 0;

        while (c->i + k < c->n && k < 21 && is_digit(c->b[c->i + k]))
                k++;
        return k;
}

static uint64_t digits_value(const char *p, size_t k, bool *overflow) {
        uint64_t v = 0;

        for (size_t j = 0; j < k; j++) {
                unsigned d = (unsigned)(p[j] - '0');

                if (v > (UINT64_MAX - d) / 10)
                        *overflow = true;
                v = v * 10 + d;
        }
        return v;
}

/* An unsigned integer as Go prints it: no sign, no leading zero. */
static void c_uint(struct cur *c, uint64_t *ret) {
        size_t k;
        bool ovf = false;
        uint64_t v;

        if (c->fail)
                return;
        c_rec(c, c->i);
        k = digit_run(c);
        if (k == 0) {
                c_fail(c, "expected a number");
                return;
        }
        if (c->b[c->i] == '0')
                k = 1;
        if (k > 20) {
                c_fail(c, "number too long");
                return;
        }
        for (size_t j = 1; j <= k; j++)
                c_rec(c, c->i + j);
        v = digits_value(c->b + c->i, k, &ovf);
        if (ovf) {
                c_fail(c, "number out of range");
                return;
        }
        c->i += k;
        if (ret)
                *ret = v;
}

/* A field value: an unsigned number, "-1" style negatives (Go 1.19's
 * scheddetail ids), or Go 1.26's true/false/nil. Negatives and nil are
 * returned as UINT64_MAX, true as 1, false as 0. */
static void c_value(struct cur *c, uint64_t *ret) {
        static const struct { const char *w; uint64_t v; } words[] = {
                { "true", 1 }, { "false", 0 }, { "nil", UINT64_MAX },
        };

        if (c->fail)
                return;
        if (c_rem(c) > 0 && c->b[c->i] == '-') {
                size_t k;

                c_rec(c, c->i);
                c->i++;
                k = digit_run(c);
                if (k == 0 || c->b[c->i] == '0' || k > 19) {
                        c_fail(c, "expected a number");
                        return;
                }
                for (size_t j = 1; j <= k; j++)
                        c_rec(c, c->i + j);
                c->i += k;
                if (ret)
                        *ret = UINT64_MAX;
                return;
        }
        for (size_t j = 0; j < ELEMENTSOF(words); j++)
                if (c_peek(c, words[j].w)) {
                        c_rec(c, c->i);
                        c->i += strlen(words[j].w);
                        c_rec(c, c->i);
                        if (ret)
                                *ret = words[j].v;
                        return;
                }
        c_uint(c, ret);
}

/* Is p[0..len) a time as runtime.fmtNSAsMS prints it? In microseconds. */
static bool ms_form(const char *p, size_t len, uint64_t *ret_usec) {
        bool ovf = false;

        if (len == 1 && p[0] == '0') {
                *ret_usec = 0;
                return true;
        }
        if (len >= 2 && p[0] != '0') {
                size_t j;

                for (j = 0; j < len && is_digit(p[j]); j++)
                        ;
                if (j == len) { /* whole milliseconds, only from 10 ms on */
                        uint64_t v = digits_value(p, len, &ovf);

                        if (ovf || v < 10 || v > UINT64_MAX / 1000)
                                return false;
                        *ret_usec = v * 1000;
                        return true;
                }
        }
        /* two significant digits: d.d, 0.dd, 0.0dd */
        if (len == 3 && p[0] >= '1' && p[0] <= '9' && p[1] == '.' && is_digit(p[2])) {
                *ret_usec = (uint64_t)(p[0] - '0') * 1000 + (uint64_t)(p[2] - '0') * 100;
                return true;
        }
        if (len == 4 && p[0] == '0' && p[1] == '.' && p[2] >= '1' && p[2] <= '9' && is_digit(p[3])) {
                *ret_usec = (uint64_t)(p[2] - '0') * 100 + (uint64_t)(p[3] - '0') * 10;
                return true;
        }
        if (len == 5 && memcmp(p, "0.0", 3) == 0 && is_digit(p[3]) && is_digit(p[4]) &&
            (p[3] != '0' || p[4] != '0')) {
                *ret_usec = (uint64_t)(p[3] - '0') * 10 + (uint64_t)(p[4] - '0');
                return true;
        }
        return false;
}

static void c_ms(struct cur *c, uint64_t *ret_usec) {
        size_t k = 0, best = 0;
        uint64_t v = 0, bv = 0;

        if (c->fail)
                return;
        c_rec(c, c->i);
        while (c->i + k < c->n && k < 24 && (is_digit(c->b[c->i + k]) || c->b[c->i + k] == '.'))
                k++;
        for (size_t j = 1; j <= k; j++)
                if (ms_form(c->b + c->i, j, &v)) {
                        c_rec(c, c->i + j);
                        best = j;
                        bv = v;
                }
        if (best == 0) {
                c_fail(c, "expected a time in ms");
                return;
        }
        c->i += best;
        *ret_usec = bv;
}

/* "S.mmm" (runtime.itoaDiv with 3 decimals): milliseconds. */
static void c_sec3(struct cur *c, uint64_t *ret_ms) {
        size_t k;
        bool ovf = false;
        uint64_t s, f;

        if (c->fail)
                return;
        c_rec(c, c->i);
        k = digit_run(c);
        if (k == 0 || (k > 1 && c->b[c->i] == '0') || k > 15 || c_rem(c) < k + 4 || c->b[c->i + k] != '.' ||
            !is_digit(c->b[c->i + k + 1]) || !is_digit(c->b[c->i + k + 2]) || !is_digit(c->b[c->i + k + 3])) {
                c_fail(c, "expected seconds with 3 decimals");
                return;
        }
        s = digits_value(c->b + c->i, k, &ovf);
        f = digits_value(c->b + c->i + k + 1, 3, &ovf);
        c->i += k + 4;
        c_rec(c, c->i);
        *ret_ms = s * 1000 + f;
}

/* " key=": a field name Go writes as one piece with its leading space
 * and '='. Returns the key's length (0: not there). */
static size_t c_key(struct cur *c, const char **ret) {
        size_t k = 1;

        if (c->fail || c_rem(c) < 3 || c->b[c->i] != ' ')
                return 0;
        while (c->i + k < c->n && ((c->b[c->i + k] >= 'a' && c->b[c->i + k] <= 'z') || c->b[c->i + k] == '_'))
                k++;
        if (k == 1 || c->i + k >= c->n || c->b[c->i + k] != '=')
                return 0;
        c_rec(c, c->i);
        *ret = c->b + c->i + 1;
        c->i += k + 1;
        return k - 1;
}

static bool key_is(const char *k, size_t len, const char *name) {
        return strlen(name) == len && memcmp(k, name, len) == 0;
}

/* The end of a line: an optional '\n', then nothing. end_boundary: the
 * runtime wrote the newline as its own piece (so a foreign line may come
 * just before it). */
static void c_end(struct cur *c, bool end_boundary) {
        if (c->fail)
                return;
        if (end_boundary)
                c_rec(c, c->i);
        if (c->i == c->n)
                return;
        if (c->b[c->i] == '\n' && c->i + 1 == c->n) {
                c->i++;
                return;
        }
        c_fail(c, "trailing text");
}

/* ---- the line kinds ---- */

static void sched_run(struct cur *c, struct go_sched *s) {
        unsigned seen = 0;
        const char *key;
        size_t klen;
        bool list_end_boundary = true;

        *s = (struct go_sched){ 0 };
        c_lit(c, "SCHED ");
        c_uint(c, &s->uptime_ms);
        c_lit(c, "ms: gomaxprocs=");
        c_uint(c, &s->gomaxprocs);
        while ((klen = c_key(c, &key)) > 0) {
                static const char *const names[] = { "idleprocs", "threads", "spinningthreads", "idlethreads",
                                                     "runqueue",  "needspinning", "gcwaiting", "nmidlelocked",
                                                     "stopwait",  "sysmonwait" };
                uint64_t *dst[] = { &s->idleprocs, &s->threads, &s->spinningthreads, &s->idlethreads,
                                    &s->runqueue,  &s->needspinning, &s->gcwaiting, &s->nmidlelocked,
                                    &s->stopwait,  &s->sysmonwait };
                uint64_t v = 0;
                size_t j;

                c_value(c, &v);
                for (j = 0; j < ELEMENTSOF(names); j++)
                        if (key_is(key, klen, names[j])) {
                                *dst[j] = v;
                                seen |= 1u << j;
                                break;
                        }
                if (j == ELEMENTSOF(names))
                        s->unknown_fields++;
        }
        if (seen & (1u << 5))
                s->has_needspinning = true;
        if (c->fail)
                return;
        if (c->i == c->n || c->b[c->i] == '\n') {
                /* scheddetail=1: the header ends here, P lines follow. */
                s->detailed = true;
                if (!c->recording && !(seen & (1u << 6))) {
                        c_fail(c, "no per-P run queues");
                        return;
                }
        } else {
                /* The per-P run queues: Go 1.19 " [1 2]\n", Go 1.26
                 * " [ 1 2 ] schedticks=[ 5 7 ]\n"; each number, space and
                 * bracket its own piece, "]\n" one. */
                bool v126;
                uint64_t v = 0;

                c_lit(c, " ");
                /* "[ " then a number is Go 1.26's; "[" then a foreign
                 * line starting with a space is Go 1.19's. */
                v126 = c_peek(c, "[ ") && (c_rem(c) == 2 || is_digit(c->b[c->i + 2]));
                if (c_peek(c, "[ ")) {
                        /* either version may end here */
                        c_rec(c, c->i);
                        c_rec(c, c->i + 1);
                        c_rec(c, c->i + 2);
                }
                c_lit(c, v126 ? "[ " : "[");
                for (;;) {
                        c_uint(c, &v);
                        if (c->fail)
                                break;
                        s->nprocs_listed++;
                        s->runq_sum += v;
                        if (v > s->runq_max)
                                s->runq_max = v;
                        if (v126 ? c_peek(c, " ]") : c_peek(c, "]"))
                                break;
                        c_lit(c, " ");
                }
                if (v126) {
                        c_lit(c, " ]");
                        c_lit(c, " schedticks=[ ");
                        s->has_schedticks = !c->fail;
                        while (!c->fail && c_rem(c) > 0 && is_digit(c->b[c->i])) {
                                c_uint(c, &v);
                                s->schedticks_sum += v;
                                s->nschedticks++;
                                c_lit(c, " ");
                        }
                }
                c_lit(c, "]");
                list_end_boundary = false;
        }
        if (!c->fail && !c->recording && (seen & 0x1f) != 0x1f)
                c_fail(c, "a field is missing");
        c_end(c, list_end_boundary);
}

static void gc_run(struct cur *c, struct go_gc *g) {
        uint64_t x = 0;

        *g = (struct go_gc){ 0 };
        c_lit(c, "gc ");
        c_uint(c, &g->num);
        c_lit(c, " @");
        c_sec3(c, &g->at_ms);
        c_lit(c, "s ");
        c_uint(c, &g->cpu_percent);
        c_lit(c, "%");
        if (c_peek(c, " (checking for goroutine leaks)")) {
                c_lit(c, " (checking for goroutine leaks)");
                g->leak_check = true;
        }
        c_lit(c, ": ");
        for (int j = 0; j < 3; j++) {
                if (j)
                        c_lit(c, "+");
                c_ms(c, &g->clock_usec[j]);
        }
        c_lit(c, " ms clock, ");
        for (int j = 0; j < 5; j++) {
                if (j == 2 || j == 3)
                        c_lit(c, "/");
                else if (j)
                        c_lit(c, "+");
                c_ms(c, &g->cpu_usec[j]);
        }
        c_lit(c, " ms cpu, ");
        c_uint(c, &g->heap_start_bytes);
        c_lit(c, "->");
        c_uint(c, &g->heap_end_bytes);
        c_lit(c, "->");
        c_uint(c, &g->heap_live_bytes);
        c_lit(c, " MB, ");
        c_uint(c, &g->goal_bytes);
        c_lit(c, " MB goal, ");
        c_uint(c, &x);
        if (c_peek(c, " MB stacks, ")) {
                /* Go >= 1.18 */
                g->stacks_bytes = x;
                g->has_stacks = true;
                c_lit(c, " MB stacks, ");
                c_uint(c, &g->globals_bytes);
                c_lit(c, " MB globals, ");
                c_uint(c, &g->procs);
        } else
                g->procs = x;
        c_lit(c, " P");
        if (c_peek(c, " (forced)")) {
                c_lit(c, " (forced)");
                g->forced = true;
        }
        c_end(c, true);
        if (!c->fail) {
                uint64_t *mib[] = { &g->heap_start_bytes, &g->heap_end_bytes, &g->heap_live_bytes,
                                    &g->goal_bytes,       &g->stacks_bytes,   &g->globals_bytes };

                for (size_t j = 0; j < ELEMENTSOF(mib); j++) {
                        if (*mib[j] > UINT64_MAX >> 20) {
                                c_fail(c, "size out of range");
                                return;
                        }
                        *mib[j] <<= 20; /* Go prints bytes>>20: MiB */
                }
        }
}

/* scheddetail P line: "  P0: status=1 schedtick=4 syscalltick=0 m=3
 * runqsize=0 gfreecnt=0 timerslen=0" (Go 1.26: m=nil). */
struct p_line {
        uint64_t id, runqsize;
};

static void p_run(struct cur *c, struct p_line *p) {
        const char *key;
        size_t klen;
        bool have_runq = false;

        *p = (struct p_line){ 0 };
        c_lit(c, "  P");
        c_uint(c, &p->id);
        c_lit(c, ": status=");
        c_value(c, NULL);
        while ((klen = c_key(c, &key)) > 0) {
                uint64_t v = 0;

                c_value(c, &v);
                if (key_is(key, klen, "runqsize")) {
                        p->runqsize = v;
                        have_runq = true;
                }
        }
        if (!c->fail && !c->recording && !have_runq)
                c_fail(c, "runqsize is missing");
        c_end(c, true);
}

static void forced_run(struct cur *c) {
        c_lit(c, "GC forced");
        c_end(c, true);
}

/* M and G lines are only taken whole (their preemptoff and wait reason
 * are free text): "  M3: p=-1 curg=4 ... lockedg=-1", "  G1: status=4(chan
 * receive) m=-1 lockedm=-1". */
static bool m_line_ok(const char *b, size_t n) {
        struct cur c = { .b = b, .n = n };
        const char *key = NULL;
        size_t klen;
        bool last_lockedg = false;

        if (n > 0 && b[n - 1] == '\n')
                c.n = --n;
        c_lit(&c, "  M");
        c_uint(&c, NULL);
        c_lit(&c, ": p=");
        c_value(&c, NULL);
        while (!c.fail && (klen = c_key(&c, &key)) > 0) {
                last_lockedg = key_is(key, klen, "lockedg");
                if (last_lockedg) {
                        c_value(&c, NULL);
                        break;
                }
                while (c.i < c.n && c.b[c.i] != ' ')
                        c.i++;
        }
        return !c.fail && last_lockedg && c.i == c.n;
}

static bool g_line_ok(const char *b, size_t n) {
        struct cur c = { .b = b, .n = n };
        size_t close = 0;

        if (n > 0 && b[n - 1] == '\n')
                c.n = --n;
        c_lit(&c, "  G");
        c_uint(&c, NULL);
        c_lit(&c, ": status=");
        c_uint(&c, NULL);
        c_lit(&c, "(");
        if (c.fail)
                return false;
        for (size_t j = c.i; j + 4 <= c.n; j++)
                if (memcmp(c.b + j, ") m=", 4) == 0)
                        close = j;
        if (close == 0)
                return false;
        for (size_t j = c.i; j < close; j++)
                if ((unsigned char)c.b[j] < 0x20)
                        return false;
        c.i = close;
        c_lit(&c, ") m=");
        c_value(&c, NULL);
        c_lit(&c, " lockedm=");
        c_value(&c, NULL);
        return !c.fail && c.i == c.n;
}

enum kind {
        K_NONE,
        K_SCHED,
        K_GC,
        K_P,
        K_FORCED,
        K_DETAIL,  /* M, G: whole only */
        K_SKIPPED, /* scav, scvg: whole only */
};

union parsed {
        struct go_sched sched;
        struct go_gc gc;
        struct p_line p;
};

static void run_kind(enum kind k, struct cur *c, union parsed *u) {
        switch (k) {
        case K_SCHED:
                sched_run(c, &u->sched);
                break;
        case K_GC:
                gc_run(c, &u->gc);
                break;
        case K_P:
                p_run(c, &u->p);
                break;
        case K_FORCED:
                forced_run(c);
                break;
        default:
                c_fail(c, "not a trace line");
        }
}

static void set_error(const struct cur *c, struct gotrace_error *reterr) {
        if (reterr)
                *reterr = (struct gotrace_error){ .line = 1, .column = (unsigned)c->fail_at + 1, .reason = c->reason };
}

int gotrace_parse_sched(const char *line, size_t n, struct go_sched *ret, struct gotrace_error *reterr) {
        struct cur c = { .b = line, .n = n };
        struct go_sched s;

        sched_run(&c, &s);
        if (c.fail) {
                set_error(&c, reterr);
                return -EBADMSG;
        }
        *ret = s;
        return 0;
}

int gotrace_parse_gc(const char *line, size_t n, struct go_gc *ret, struct gotrace_error *reterr) {
        struct cur c = { .b = line, .n = n };
        struct go_gc g;

        gc_run(&c, &g);
        if (c.fail) {
                set_error(&c, reterr);
                return -EBADMSG;
        }
        *ret = g;
        return 0;
}

/* ---- the stream ---- */

static bool starts(const char *b, size_t n, const char *s) {
        size_t len = strlen(s);

        return n >= len && memcmp(b, s, len) == 0;
}

static enum kind kind_of(const struct gotrace_stream *s, const char *b, size_t n) {
        if (starts(b, n, "SCHED "))
                return K_SCHED;
        if (starts(b, n, "gc "))
                return K_GC;
        if (starts(b, n, "GC forced"))
                return K_FORCED;
        if (starts(b, n, "scav ") || starts(b, n, "scvg"))
                return K_SKIPPED;
        if (s->in_detail) {
                if (starts(b, n, "  P"))
                        return K_P;
                if (starts(b, n, "  M") || starts(b, n, "  G"))
                        return K_DETAIL;
        }
        return K_NONE;
}

static void emit(struct gotrace_stream *s, const struct gotrace_event *ev) {
        if (ev->type == GOTRACE_PASSTHROUGH)
                s->stats.passthrough_lines++;
        s->cb(ev, s->ud);
}

static void pass(struct gotrace_stream *s, const char *b, size_t n) {
        struct gotrace_event ev = { .type = GOTRACE_PASSTHROUGH, .data = b, .len = n };

        emit(s, &ev);
}

static void emit_detail_sched(struct gotrace_stream *s) {
        struct gotrace_event ev = { .type = GOTRACE_SCHED, .sched = &s->detail };

        if (!s->sched_pending)
                return;
        s->sched_pending = false;
        emit(s, &ev);
}

/* A trace line, parsed, its text (with its '\n') in b. */
static void trace_line(struct gotrace_stream *s, enum kind k, const union parsed *u, const char *b, size_t n) {
        struct gotrace_event ev = { 0 };

        switch (k) {
        case K_SCHED:
                emit_detail_sched(s);
                s->stats.sched_lines++;
                s->have_sched = true;
                s->last_uptime_ms = u->sched.uptime_ms;
                s->last_gomaxprocs = u->sched.gomaxprocs;
                s->last_sched_needspinning = u->sched.has_needspinning;
                s->last_sched_schedticks = u->sched.has_schedticks;
                s->in_detail = u->sched.detailed;
                if (u->sched.detailed) {
                        s->detail = u->sched;
                        s->sched_pending = true;
                        if (s->passthrough)
                                pass(s, b, n);
                        if (u->sched.gomaxprocs == 0)
                                emit_detail_sched(s);
                        return;
                }
                ev = (struct gotrace_event){ .type = GOTRACE_SCHED, .sched = &u->sched };
                emit(s, &ev);
                break;
        case K_GC:
                s->stats.gc_lines++;
                s->have_gc = true;
                s->last_gc = u->gc.num;
                s->last_gc_has_stacks = u->gc.has_stacks;
                s->last_gomaxprocs = u->gc.procs;
                ev = (struct gotrace_event){ .type = GOTRACE_GC, .gc = &u->gc };
                emit(s, &ev);
                break;
        case K_P:
                s->stats.detail_lines++;
                if (s->sched_pending) {
                        s->detail.nprocs_listed++;
                        s->detail.runq_sum += u->p.runqsize;
                        if (u->p.runqsize > s->detail.runq_max)
                                s->detail.runq_max = u->p.runqsize;
                        if (s->detail.nprocs_listed >= s->detail.gomaxprocs) {
                                if (s->passthrough)
                                        pass(s, b, n);
                                emit_detail_sched(s);
                                return;
                        }
                }
                break;
        case K_DETAIL:
                s->stats.detail_lines++;
                break;
        default:
                s->stats.skipped_lines++;
                break;
        }
        if (s->passthrough)
                pass(s, b, n);
}

/* Full parse of b[0..n) as kind k. */
static bool parse_full(enum kind k, const char *b, size_t n, union parsed *u) {
        struct cur c = { .b = b, .n = n };

        run_kind(k, &c, u);
        return !c.fail;
}

/* The boundaries where b[0..n) could stop being trace text, at or after
 * from. Returns how many were noted (the last REC_MAX are in rec). */
static size_t boundaries(enum kind k, const char *b, size_t n, size_t from, uint32_t *rec) {
        struct cur c = { .b = b, .n = n, .recording = true, .rec_from = from, .rec = rec };
        union parsed u;

        run_kind(k, &c, &u);
        return c.nrec;
}

static void process_line(struct gotrace_stream *s, const char *b, size_t n);
static void release(struct gotrace_stream *s);
static void extend(struct gotrace_stream *s, unsigned m);

/* A whole line, no line held before it. hold: may start holding. */
static void classify(struct gotrace_stream *s, const char *b, size_t n, bool hold) {
        enum kind k = kind_of(s, b, n);
        union parsed u;

        switch (k) {
        case K_NONE:
                pass(s, b, n);
                return;
        case K_DETAIL:
                if ((b[2] == 'M' && m_line_ok(b, n)) || (b[2] == 'G' && g_line_ok(b, n)))
                        trace_line(s, k, NULL, b, n);
                else {
                        s->stats.malformed++;
                        pass(s, b, n);
                }
                return;
        case K_SKIPPED:
                trace_line(s, k, NULL, b, n);
                return;
        default:
                break;
        }
        if (parse_full(k, b, n, &u)) {
                trace_line(s, k, &u, b, n);
                return;
        }
        if (hold && n <= GOTRACE_HOLD_BYTES && b[n - 1] == '\n' && boundaries(k, b, n - 1, 1, s->rec) > 0 &&
            GROW_ARRAY(s->held, s->held_cap, n, GOTRACE_HOLD_BYTES) == 0) {
                memcpy(s->held, b, n);
                s->held_len = n;
                s->seg_off[0] = 0;
                s->seg_len[0] = n;
                s->n_segs = 1;
                s->held_kind = k;
                extend(s, 0);
                return;
        }
        s->stats.malformed++;
        pass(s, b, n);
}

/* ---- reassembly: the candidate cuts of the held lines ----
 *
 * A candidate says, for each held line but the newest, how many of its
 * first bytes are trace text (0: the whole line is foreign); the trace so
 * far is the concatenation of those pieces, a valid prefix ending on a
 * piece boundary. Each new held line is first tried as the end of the
 * trace line on every candidate; if none completes, every candidate is
 * extended by the new line's possible cuts. The set is kept to
 * CAND_MAX, the likeliest first, so a held line costs at most CAND_MAX
 * times two parses of the trace so far, whatever the number of lines
 * held. */

#define CAND_MAX 128
#define WORK_MAX ((size_t)64 * 1024) /* bytes parsed per held line, at most */
/* and on average over the stream, per byte read: a service that prints
 * lines looking like unfinished trace lines on purpose costs gorral at
 * most this much parsing (2 MB/s of such lines take a core); the real
 * captures need 2 to 17 per byte, the synthetic test (every trace line
 * cut one to three times, by lines made to mislead) 32. */
#define WORK_PER_BYTE 48
#define WORK_CREDIT_MAX ((size_t)1 << 20) /* the burst */

/* Take work from the stream's credit; false when there is none left. */
static bool charge(struct gotrace_stream *s, size_t work) {
        if (s->credit < work) {
                s->credit = 0;
                s->stats.throttled++;
                return false;
        }
        s->credit -= work;
        s->stats.work += work;
        return true;
}

struct gotrace_cand {
        uint16_t p[GOTRACE_HOLD_LINES];
        uint32_t tlen;
        int score;
};

static bool date_like(const char *f, size_t n) {
        return n >= 5 && is_digit(f[0]) && is_digit(f[1]) && is_digit(f[2]) && is_digit(f[3]) &&
               (f[4] == '/' || f[4] == '-');
}

static const char *seg(const struct gotrace_stream *s, unsigned i) { return s->held + s->seg_off[i]; }

/* Is there a date "NNNN/NN/NN" or "NNNN-NN-NN" across b[p] in b[0..n)? */
static bool cuts_a_date(const char *b, size_t n, size_t p) {
        for (size_t q = p > 9 ? p - 9 : 0; q < p && q + 10 <= n; q++) {
                const char *d = b + q;

                if (is_digit(d[0]) && is_digit(d[1]) && is_digit(d[2]) && is_digit(d[3]) &&
                    (d[4] == '/' || d[4] == '-') && is_digit(d[5]) && is_digit(d[6]) && d[7] == d[4] &&
                    is_digit(d[8]) && is_digit(d[9]))
                        return true;
        }
        return false;
}

/* The score of cutting held line j after p bytes (p >= 1). See gotrace.h. */
static int cut_score(const struct gotrace_stream *s, unsigned j, size_t p) {
        const char *b = seg(s, j);
        int sc = j > 0 ? -1 : 0; /* one more foreign line inside: fewer is likelier */

        if (is_digit(b[p - 1]) && is_digit(b[p]))
                sc -= 1; /* a number cut short: likelier whole */
        if (date_like(b + p, s->seg_len[j] - p))
                sc += 3; /* unless what follows is a log line's date: "2026/12/01 ..." */
        else if (cuts_a_date(b, s->seg_len[j], p))
                sc -= 4; /* the trace piece would end inside one */
        return sc;
}

static int context_score(const struct gotrace_stream *s, const union parsed *u) {
        int sc = 0;

        /* The runtime does not change its format within a run, and
         * GOMAXPROCS seldom changes. */
        if (s->held_kind == K_GC && s->have_gc) {
                if (u->gc.num == s->last_gc + 1)
                        sc += 8;
                if (u->gc.has_stacks == s->last_gc_has_stacks)
                        sc += 4;
                if (u->gc.procs == s->last_gomaxprocs)
                        sc += 2;
        }
        if (s->held_kind == K_SCHED) {
                if (s->have_sched && u->sched.uptime_ms >= s->last_uptime_ms)
                        sc += 4;
                if (s->have_sched && u->sched.has_needspinning == s->last_sched_needspinning &&
                    u->sched.has_schedticks == s->last_sched_schedticks)
                        sc += 4;
                if (s->last_gomaxprocs && u->sched.gomaxprocs == s->last_gomaxprocs)
                        sc += 2;
                if (!u->sched.detailed && u->sched.nprocs_listed == u->sched.gomaxprocs)
                        sc += 4;
                if (u->sched.has_schedticks && u->sched.nschedticks == u->sched.gomaxprocs)
                        sc += 4;
        }
        return sc;
}

/* The trace text of candidate c over held lines [0, upto) into scratch. */
static size_t build(struct gotrace_stream *s, const struct gotrace_cand *c, unsigned upto) {
        size_t t = 0;

        for (unsigned j = 0; j < upto; j++) {
                memcpy(s->scratch + t, seg(s, j), c->p[j]);
                t += c->p[j];
        }
        return t;
}

static int cand_cmp(const void *a, const void *b) {
        const struct gotrace_cand *x = a, *y = b;

        if (x->score != y->score)
                return x->score > y->score ? -1 : 1;
        if (x->tlen != y->tlen)
                return x->tlen > y->tlen ? -1 : 1;
        return 0;
}

static void cand_push(struct gotrace_stream *s, unsigned *n, const struct gotrace_cand *from, unsigned m, size_t p,
                      int sc) {
        struct gotrace_cand *c;

        if (*n >= 2 * CAND_MAX)
                return;
        c = &s->cand_next[(*n)++];
        if (from)
                *c = *from;
        else
                *c = (struct gotrace_cand){ 0 };
        c->p[m] = (uint16_t)p;
        c->tlen += (uint32_t)p;
        c->score += sc;
}

/* Extend every candidate by the cuts of held line m (not the newest's
 * completion: that was tried). */
static void extend(struct gotrace_stream *s, unsigned m) {
        unsigned n = 0, count = m == 0 ? 1 : s->n_cand;
        size_t len = s->seg_len[m];
        struct gotrace_cand *t;

        size_t work = 0;

        /* The candidates are best first: when the work runs out, the
         * likeliest are kept. */
        for (unsigned ci = 0; ci < count && work < WORK_MAX; ci++) {
                const struct gotrace_cand *c = m == 0 ? NULL : &s->cand[ci];
                size_t tlen, nrec, lo;

                if (!charge(s, (c ? c->tlen : 0) + len))
                        break;
                tlen = c ? build(s, c, m) : 0;
                work += tlen + len;

                memcpy(s->scratch + tlen, seg(s, m), len - 1);
                nrec = boundaries(s->held_kind, s->scratch, tlen + len - 1, tlen + 1, s->rec);
                lo = nrec > REC_MAX ? nrec - REC_MAX : 0;
                for (size_t k = nrec; k > lo; k--) {
                        size_t p = s->rec[(k - 1) % REC_MAX] - tlen;

                        cand_push(s, &n, c, m, p, cut_score(s, m, p));
                }
                if (c)
                        cand_push(s, &n, c, m, 0, 0);
        }
        qsort(s->cand_next, n, sizeof *s->cand_next, cand_cmp);
        if (n > CAND_MAX)
                n = CAND_MAX;
        t = s->cand;
        s->cand = s->cand_next;
        s->cand_next = t;
        s->n_cand = n;
}

/* The newest held line, m: does it end the trace line on some candidate? */
static void try_complete(struct gotrace_stream *s) {
        unsigned m = s->n_segs - 1;
        const struct gotrace_cand *best = NULL;
        union parsed u, best_u;
        int best_score = 0;
        size_t tlen;
        bool ambiguous = false;

        size_t work = 0;

        for (unsigned ci = 0; m > 0 && ci < s->n_cand && work < WORK_MAX; ci++) {
                const struct gotrace_cand *c = &s->cand[ci];
                size_t t;
                int sc;

                if (!charge(s, c->tlen + s->seg_len[m]))
                        break;
                t = build(s, c, m);
                work += t + s->seg_len[m];

                memcpy(s->scratch + t, seg(s, m), s->seg_len[m]);
                if (!parse_full(s->held_kind, s->scratch, t + s->seg_len[m], &u))
                        continue;
                sc = c->score + context_score(s, &u);
                if (!best || sc > best_score) {
                        best = c;
                        best_score = sc;
                        best_u = u;
                }
        }
        if (!best) {
                if (s->n_segs < GOTRACE_HOLD_LINES)
                        extend(s, m);
                return;
        }
        /* The foreign lines first, whole, in order; then the trace line.
         * classify() does not touch the held lines (hold = false). */
        for (unsigned j = 0; j < m; j++) {
                size_t p = best->p[j];
                const char *b = seg(s, j);

                if (p > 0 && is_digit(b[p - 1]) && is_digit(b[p]))
                        ambiguous = true;
                s->stats.interleaved++;
                classify(s, b + p, s->seg_len[j] - p, false);
        }
        tlen = build(s, best, m);
        memcpy(s->scratch + tlen, seg(s, m), s->seg_len[m]);
        tlen += s->seg_len[m];
        s->stats.reassembled++;
        if (ambiguous)
                s->stats.ambiguous++;
        s->n_segs = 0;
        s->held_len = 0;
        s->n_cand = 0;
        trace_line(s, s->held_kind, &best_u, s->scratch, tlen);
}

/* Let the oldest held line go as it was (not a trace line after all, or
 * one the runtime never finished), then the others, each taken whole
 * without holding. */
static void release(struct gotrace_stream *s) {
        unsigned n = s->n_segs;

        s->n_segs = 0;
        s->held_len = 0;
        s->n_cand = 0;
        if (n == 0)
                return;
        s->stats.released++;
        s->stats.malformed++;
        pass(s, seg(s, 0), s->seg_len[0]);
        /* classify(hold = false) never touches the held buffer */
        for (unsigned j = 1; j < n; j++)
                classify(s, seg(s, j), s->seg_len[j], false);
}

/* A whole line with its newline. */
static void process_line(struct gotrace_stream *s, const char *b, size_t n) {
        enum kind k;
        union parsed u;
        /* A whole trace line of the held kind cannot be inside the held
         * one (the runtime prints one gc line at a time, under its print
         * lock, and SCHED lines come from sysmon alone): what is held was
         * not a trace line, or the runtime was cut off in mid-line. */
        bool whole;

        s->credit = n > (WORK_CREDIT_MAX - s->credit) / WORK_PER_BYTE ? WORK_CREDIT_MAX : s->credit + n * WORK_PER_BYTE;
        k = kind_of(s, b, n);
        whole = (k == K_SCHED || k == K_GC) && parse_full(k, b, n, &u);

        /* Let all go, without holding again: taking the held lines one by
         * one again would cost the search once more for each. */
        if (s->n_segs > 0 && (s->n_segs >= GOTRACE_HOLD_LINES || s->held_len + n > GOTRACE_HOLD_BYTES ||
                              (whole && s->held_kind == (int)k)))
                release(s);
        if (s->n_segs == 0) {
                classify(s, b, n, true);
                return;
        }
        if (GROW_ARRAY(s->held, s->held_cap, s->held_len + n, GOTRACE_HOLD_BYTES) < 0) {
                release(s);
                classify(s, b, n, false);
                return;
        }
        memcpy(s->held + s->held_len, b, n);
        s->seg_off[s->n_segs] = s->held_len;
        s->seg_len[s->n_segs] = n;
        s->held_len += n;
        s->n_segs++;
        try_complete(s);
}


static void on_line(const struct output_line *l, void *userdata) {
        struct gotrace_stream *s = userdata;
        size_t n = l->len;

        memcpy(s->lbuf, l->data, n);
        if (l->newline)
                s->lbuf[n++] = '\n';
        if (l->split || l->cont || !l->newline) {
                /* A piece of an over-long line, or the partial last one:
                 * never trace text. */
                if (l->split && !l->cont)
                        s->stats.split_lines++;
                release(s);
                pass(s, s->lbuf, n);
                return;
        }
        process_line(s, s->lbuf, n);
}

int gotrace_stream_init(struct gotrace_stream *s, bool passthrough) {
        int r;

        *s = (struct gotrace_stream){ .passthrough = passthrough, .credit = WORK_CREDIT_MAX };
        r = output_lines_init(&s->lines, "gotrace", 0, OUTPUT_LINE_MAX);
        if (r < 0)
                return r;
        s->scratch = malloc(GOTRACE_HOLD_BYTES);
        s->rec = malloc(sizeof(uint32_t) * REC_MAX);
        s->cand = malloc(sizeof(struct gotrace_cand) * 2 * CAND_MAX);
        s->cand_next = malloc(sizeof(struct gotrace_cand) * 2 * CAND_MAX);
        s->lbuf = malloc(OUTPUT_LINE_MAX + 1);
        if (!s->scratch || !s->rec || !s->cand || !s->cand_next || !s->lbuf) {
                gotrace_stream_done(s);
                return -ENOMEM;
        }
        return 0;
}

void gotrace_stream_done(struct gotrace_stream *s) {
        output_lines_done(&s->lines);
        free(s->held);
        free(s->scratch);
        free(s->rec);
        free(s->cand);
        free(s->cand_next);
        free(s->lbuf);
        s->held = s->scratch = s->lbuf = NULL;
        s->rec = NULL;
        s->cand = s->cand_next = NULL;
        s->n_cand = 0;
        s->held_len = s->held_cap = 0;
        s->n_segs = 0;
}

int gotrace_feed(struct gotrace_stream *s, const char *buf, size_t n, gotrace_emit_cb cb, void *userdata) {
        s->cb = cb;
        s->ud = userdata;
        return output_lines_feed(&s->lines, buf, n, on_line, s);
}

void gotrace_expire(struct gotrace_stream *s, gotrace_emit_cb cb, void *userdata) {
        s->cb = cb;
        s->ud = userdata;
        release(s);
        emit_detail_sched(s);
}

void gotrace_finish(struct gotrace_stream *s, gotrace_emit_cb cb, void *userdata) {
        s->cb = cb;
        s->ud = userdata;
        output_lines_finish(&s->lines, on_line, s);
        gotrace_expire(s, cb, userdata);
}

bool gotrace_pending(const struct gotrace_stream *s) { return s->n_segs > 0 || s->sched_pending; }

/* ---- GODEBUG ---- */

#define GODEBUG_MAX ((size_t)64 * 1024)

static bool item_is(const char *p, size_t n, const char *key) {
        size_t k = strlen(key);

        return n >= k && memcmp(p, key, k) == 0 && (n == k || p[k] == '=');
}

int gotrace_godebug(const char *existing, uint64_t schedtrace_ms, bool gctrace, char **ret) {
        size_t elen = existing ? strlen(existing) : 0, len = 0;
        char *out;

        if (elen > GODEBUG_MAX)
                return -E2BIG;
        if (!existing && schedtrace_ms == 0 && !gctrace) {
                *ret = NULL;
                return 0;
        }
        out = malloc(elen + 64);
        if (!out)
                return -ENOMEM;
        for (const char *p = existing; p && *p;) {
                const char *comma = strchr(p, ',');
                size_t n = comma ? (size_t)(comma - p) : strlen(p);

                if (n > 0 && !(schedtrace_ms > 0 && item_is(p, n, "schedtrace")) &&
                    !(gctrace && item_is(p, n, "gctrace"))) {
                        if (len)
                                out[len++] = ',';
                        memcpy(out + len, p, n);
                        len += n;
                }
                p += n + (comma ? 1 : 0);
        }
        if (schedtrace_ms > 0)
                len += (size_t)snprintf(out + len, 40, "%sschedtrace=%llu", len ? "," : "",
                                        (unsigned long long)schedtrace_ms);
        if (gctrace)
                len += (size_t)snprintf(out + len, 16, "%sgctrace=1", len ? "," : "");
        out[len] = '\0';
        *ret = out;
        return 1;
}
