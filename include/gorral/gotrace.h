/* gotrace.h: the Go runtime's GODEBUG schedtrace and gctrace lines on a
 * service's stderr (L1, pure: no fds, no logging, no clock).
 *
 *   gotrace_parse_sched   one "SCHED ..." line (Go 1.19 and 1.26 forms,
 *                         with or without scheddetail=1)
 *   gotrace_parse_gc      one "gc N @..." line (Go 1.18+ with stacks and
 *                         globals, and the older form without them)
 *   gotrace_stream        the stderr pipe's bytes in, trace events and
 *                         passthrough lines out, trace lines reassembled
 *   gotrace_godebug       the child's GODEBUG value with schedtrace=/gctrace=
 *
 * How the runtime writes these lines (read in runtime/print.go, proc.go
 * schedtrace() and mgc.go gcMarkTermination() of Go 1.19 and 1.26, and
 * seen with strace -f -e write on a Go service logging from three
 * goroutines with GODEBUG=schedtrace=10,gctrace=1): every argument of the
 * runtime's print() is its own write(2) on fd 2: a SCHED line is about 30
 * writes ("SCHED ", "1000", "ms: gomaxprocs=", "2", " idleprocs=", ...),
 * a gc line about 40 ("gc ", "12", " @", "0.105", "s ", "0", "%: ", ...).
 * The runtime's print lock orders the runtime's own prints only: the
 * program's os.Stderr writes (the log package: one write per line) land
 * between those pieces. In a 1.5 s run of the program behind
 * tests/fixtures/samples/gotrace-interleaved-go1{19,26}.stderr.txt (three
 * goroutines logging), log lines landed inside 13% of Go 1.19's gc lines
 * and 3% of its SCHED lines (Go 1.26: 10% and 3%), up to 20 of them inside
 * one trace line when the GC was descheduled mid-print. Go 1.26:
 *     gc 802026/12/01 10:48:41.467826 worker 2 line 472\n
 *      @0.0952026/12/01 10:48:41.467833 worker 1 line 508\n
 *     s 9%: 0.057+0.29+0.10 ms clock, ...
 * is "gc 80 @0.095s 9%: ..." with two log lines inside. A log line never
 * comes split (one write of less than PIPE_BUF bytes is atomic on a pipe),
 * so what the pipe carries is the trace line with whole foreign lines
 * inserted at its write boundaries. Go 1.19's non-detailed SCHED line
 * prints its per-P list in separate print statements, so even a gc line
 * can land inside a SCHED line; a gc line never lands inside a gc line
 * (printed under the print lock) nor a SCHED line inside a SCHED line
 * (sysmon alone prints them).
 *
 * The stream cuts the bytes into lines (output.c's assembler: the same
 * 64 KiB bound, longer lines passed through in pieces). A line that
 * starts like a trace line but does not parse is held, with the lines
 * that follow, while candidate cuts are kept: for each held line, where
 * the trace's piece ends and the foreign line begins (only where the
 * trace so far is a valid prefix ending on a piece boundary; a whole held
 * line may be foreign). Each new line is tried as the end of the trace
 * line on every candidate with the strict parser. Go never prints a
 * leading zero, and its gc times have a fixed shape (two significant
 * digits or whole ms from 10; the "@" seconds always three decimals),
 * which settles most cuts. When several reassemblies parse, the best
 * score wins: the gc number following the last, the uptime not going
 * back, the same format as the last line (stacks and globals,
 * needspinning, schedticks), the same GOMAXPROCS, as many per-P entries
 * as gomaxprocs, fewer foreign lines, no number cut short unless a log
 * date "NNNN/" or "NNNN-" follows, no cut inside such a date; then the
 * longest trace pieces. A cut between two digits is a guess, counted in
 * stats.ambiguous. On both real captures every log line came out whole
 * and every trace line was found with its right values; with foreign
 * lines made to mislead (empty lines, leading spaces, digits after
 * numbers) inserted at random boundaries of the captures' trace lines,
 * 6 of 14081 reassembled lines were cut wrong. Live, through a pipe,
 * 60 runs (Go 1.19 and 1.26; 2244 SCHED, 6197 gc lines, 1169 of them
 * reassembled): no log line cut, no gc number missing. Foreign lines come out
 * whole and byte-identical, before the trace line they were inside.
 *
 * When no completion comes (an ordinary line that happens to start with
 * "gc " or "SCHED ", a program that exits while its runtime prints: 2
 * of 60 live runs of that program), the held lines are let go
 * unchanged, as the plain line splitter would have cut them: after
 * GOTRACE_HOLD_LINES lines or GOTRACE_HOLD_BYTES bytes, when a whole
 * trace line of the held kind comes, at gotrace_expire() (the caller's
 * timer: a trace line takes microseconds to write, so
 * GOTRACE_EXPIRE_USEC is generous) or at gotrace_finish(). Nothing is
 * lost either way: every input byte comes out once, as passthrough or
 * inside a trace line. The search is bounded three ways (candidates,
 * parsing per held line, and parsing per byte read on average:
 * stats.throttled counts searches cut short), so lines crafted to look
 * like unfinished trace lines cost gorral at most about 1 s of CPU per
 * 2 MB; the real captures stay far below the bound.
 *
 * Lines recognised: "SCHED " lines; with scheddetail=1 the "  P", "  M"
 * and "  G" lines that follow a detailed SCHED line (the P lines give the
 * per-P run queues; M and G lines are counted, not parsed further, and
 * only whole ones: an app line inside a detailed M or G line is not
 * separated); "gc N @" lines; "GC forced" (printed by gctrace=1 when the
 * 2-minute forced GC runs) and the scavenger's "scav ..." (scavtrace=1) and
 * older runtimes' "scvg..." lines, which are runtime trace output to skip, not
 * errors. Trace lines go to the callback parsed, and to passthrough too
 * only when the stream was made with passthrough (godebug.passthrough),
 * reassembled. A line that starts like a trace line but
 * does not parse is counted (stats.malformed) and passed through. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gorral/output.h"

struct gotrace_cand;

/* An error of a line parser: 1-based line (always 1 here) and column (in
 * bytes) of the offending byte, and a static reason. */
struct gotrace_error {
        unsigned line, column;
        const char *reason;
};

/* One SCHED line. What is kept of scheddetail=1: the four extra header
 * fields, and from the P lines the per-P run queue lengths (folded into
 * runq_*); P status, schedtick, syscalltick, gfreecnt, timerslen, the M
 * and G lines are not kept. */
struct go_sched {
        uint64_t uptime_ms;        /* since the runtime's first schedtrace */
        uint64_t gomaxprocs, idleprocs, threads, spinningthreads, idlethreads;
        uint64_t needspinning;     /* Go >= 1.21 */
        bool has_needspinning;
        uint64_t runqueue;         /* the global run queue */
        uint64_t nprocs_listed;    /* per-P run queue entries seen (gomaxprocs when whole) */
        uint64_t runq_sum, runq_max;
        bool has_schedticks;       /* Go >= 1.26: schedticks=[ ... ] */
        uint64_t schedticks_sum, nschedticks;
        bool detailed;             /* scheddetail=1: no per-P list on this line, P lines follow */
        uint64_t gcwaiting, nmidlelocked, stopwait, sysmonwait; /* detailed only (true/false: 1/0) */
        unsigned unknown_fields;   /* key=value fields skipped (a newer Go's) */
};

/* One gc line. Times in microseconds (Go prints ms with at most 3
 * decimals); sizes in bytes (Go prints MiB, truncated: x>>20, so each is
 * a lower bound, within 1 MiB). */
struct go_gc {
        uint64_t num;
        uint64_t at_ms;            /* since the program started */
        uint64_t cpu_percent;      /* GC's share of CPU since start, truncated */
        uint64_t clock_usec[3];    /* sweep termination, mark, mark termination (wall) */
        uint64_t cpu_usec[5];      /* sweep term, assist, background, idle mark, mark term (CPU) */
        uint64_t heap_start_bytes, heap_end_bytes, heap_live_bytes, goal_bytes;
        uint64_t stacks_bytes, globals_bytes;
        bool has_stacks;           /* Go >= 1.18 prints stacks and globals */
        uint64_t procs;            /* GOMAXPROCS during the cycle */
        bool forced;               /* runtime.GC() or the periodic forced GC */
        bool leak_check;           /* Go 1.26: "(checking for goroutine leaks)" */
};

/* 0, or -EBADMSG with *reterr (when not NULL) set. line may end with one
 * '\n'; nothing past n is read; *ret written only on success. */
int gotrace_parse_sched(const char *line, size_t n, struct go_sched *ret, struct gotrace_error *reterr);
int gotrace_parse_gc(const char *line, size_t n, struct go_gc *ret, struct gotrace_error *reterr);

/* ---- the stream ---- */

#define GOTRACE_HOLD_LINES 64              /* lines held while a trace line is incomplete */
#define GOTRACE_HOLD_BYTES ((size_t)16 * 1024)
#define GOTRACE_EXPIRE_USEC (50ULL * 1000) /* suggested gotrace_expire() delay */

enum gotrace_event_type {
        GOTRACE_PASSTHROUGH,       /* data/len: bytes to write to gorral's stderr as they are */
        GOTRACE_SCHED,             /* sched: a SCHED line (detailed: with its P lines) */
        GOTRACE_GC,                /* gc */
};

struct gotrace_event {
        enum gotrace_event_type type;
        const char *data;          /* PASSTHROUGH: whole lines with their '\n' (a partial last
                                    * line or a piece of an over-long line has none) */
        size_t len;
        const struct go_sched *sched;
        const struct go_gc *gc;
};
/* Pointers are valid during the call only. */
typedef void (*gotrace_emit_cb)(const struct gotrace_event *ev, void *userdata);

struct gotrace_stats {
        uint64_t sched_lines, gc_lines;
        uint64_t detail_lines;     /* scheddetail P, M, G lines */
        uint64_t skipped_lines;    /* "GC forced", scav, scvg */
        uint64_t malformed;        /* started like a trace line, did not parse: passed through */
        uint64_t reassembled;      /* trace lines that had foreign lines inside */
        uint64_t interleaved;      /* foreign lines taken out of trace lines */
        uint64_t ambiguous;        /* reassemblies where several splits parsed */
        uint64_t released;         /* held lines let go unresolved (bounds, expire, finish) */
        uint64_t throttled;        /* searches cut short: the stream's parsing budget ran out */
        uint64_t work;             /* bytes parsed by reassembly searches */
        uint64_t passthrough_lines;
        uint64_t split_lines;      /* over-long lines passed in pieces */
};

struct gotrace_stream {
        struct output_lines lines;
        bool passthrough;          /* trace lines go to passthrough too */
        /* held lines: copies, one buffer */
        char *held;
        size_t held_len, held_cap;
        size_t seg_off[GOTRACE_HOLD_LINES + 1], seg_len[GOTRACE_HOLD_LINES + 1];
        unsigned n_segs;
        int held_kind;
        /* a detailed SCHED line waiting for its P lines */
        bool in_detail, sched_pending;
        struct go_sched detail;
        /* context for choosing among splits */
        bool have_gc, have_sched;
        uint64_t last_gc, last_uptime_ms, last_gomaxprocs;
        bool last_gc_has_stacks, last_sched_needspinning, last_sched_schedticks;
        size_t credit;             /* parsing the searches may still do (bytes) */
        char *scratch;             /* reassembly buffer, GOTRACE_HOLD_BYTES */
        uint32_t *rec;             /* piece boundaries of one held line */
        struct gotrace_cand *cand, *cand_next; /* the ways the held lines may be cut so far */
        unsigned n_cand;
        char *lbuf;                /* one line with its '\n' */
        struct gotrace_stats stats;
        gotrace_emit_cb cb;        /* of the current call */
        void *ud;
};

/* 0 or -ENOMEM. */
int gotrace_stream_init(struct gotrace_stream *s, bool passthrough);
/* Frees the buffers (held lines are lost: call gotrace_finish first).
 * Safe on a zeroed or half-initialised struct. */
void gotrace_stream_done(struct gotrace_stream *s);
/* Feed n bytes read from the pipe; events in order through cb. 0, or
 * -ENOMEM when a line could not be held (then it was passed through as
 * it was, or in output_lines' case counted as dropped). */
int gotrace_feed(struct gotrace_stream *s, const char *buf, size_t n, gotrace_emit_cb cb, void *userdata);
/* The caller's timer: let held lines go (and a detailed SCHED line's
 * event out, with the P lines seen so far). Call it GOTRACE_EXPIRE_USEC
 * after a feed that left gotrace_pending() true; a later feed that
 * leaves it true again re-arms it. */
void gotrace_expire(struct gotrace_stream *s, gotrace_emit_cb cb, void *userdata);
/* EOF: expire, then the partial last line. */
void gotrace_finish(struct gotrace_stream *s, gotrace_emit_cb cb, void *userdata);
/* Are lines held (or an event delayed)? */
bool gotrace_pending(const struct gotrace_stream *s);

/* ---- GODEBUG ---- */

/* The GODEBUG value for the child: existing's settings (NULL: none) in
 * their order, minus any schedtrace= (when schedtrace_ms > 0) and gctrace=
 * (when gctrace), then schedtrace=MS and gctrace=1 appended (Go takes the
 * last of a repeated key, and ours are the only ones anyway). Empty items
 * are dropped. 1 with *ret malloc'd, 0 with *ret = NULL when there is
 * nothing to set (existing NULL and nothing asked), -E2BIG when existing
 * is longer than 64 KiB, -ENOMEM. */
int gotrace_godebug(const char *existing, uint64_t schedtrace_ms, bool gctrace, char **ret);
