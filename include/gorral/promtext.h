/* promtext.h: the Prometheus text exposition format (0.0.4) and
 * OpenMetrics 1.0 text, parsed as a stream of samples (L1, pure over a
 * buffer: no I/O, no logging, no copy of the body), and the extraction of
 * the Go runtime's own metrics that gorral's samplers read.
 *
 * promtext_parse() walks the body line by line and calls back once per
 * sample. What each format accepts, and the choices made where the
 * specifications leave room:
 *
 * Text 0.0.4, as prometheus/common's expfmt TextParser reads it (and
 * tests/integration/test_promtext_expfmt.sh checks that both give the same
 * verdict, sample count and error line):
 *   - lines end in LF; the last line must too ("unexpected end of input").
 *     A CR before the LF is dropped (CRLF bodies are accepted; expfmt
 *     rejects them as a bad value: a tolerance, nothing is lost by it).
 *   - blank lines and leading blanks are skipped; blanks are spaces and
 *     tabs, any run of them separates tokens, and may surround '{', ',',
 *     '=' and '}' in a label set; a trailing comma `{a="b",}` is accepted.
 *   - '#' starts a comment; `# HELP name text` and `# TYPE name type` are
 *     metadata (type case-insensitive: counter, gauge, histogram, summary,
 *     untyped); any other comment, and a HELP/TYPE line with no name or
 *     no text after it, is ignored as expfmt does. HELP text knows the
 *     escapes \\ and \n only.
 *   - value: what expfmt's parseFloat takes: strconv.ParseFloat without
 *     'p' or '_', so decimal with optional sign, fraction and exponent,
 *     and Inf, +Inf, -Inf, Infinity, NaN (unsigned) in any case (no hex);
 *     out of range (1e999) is an error, underflow gives 0. Timestamp: an
 *     optional int64 of milliseconds (strconv.ParseInt).
 * OpenMetrics 1.0 (application/openmetrics-text), as its ABNF says:
 *   - exactly one space between tokens, none inside label sets, no
 *     trailing comma, no blank lines, no CR, no comments other than
 *     `# HELP`, `# TYPE`, `# UNIT` and the final `# EOF`, which is required
 *     and may be followed by one LF and nothing else.
 *   - types: counter, gauge, histogram, gaugehistogram, stateset, info,
 *     summary, unknown (lowercase). Family suffixes: _total and _created
 *     (counter), _bucket/_sum/_count/_created (histogram, summary),
 *     _bucket/_gcount/_gsum (gaugehistogram), _info (info).
 *   - value: decimal, Inf/Infinity with optional sign, NaN (case-
 *     insensitive); timestamp: seconds as a decimal (given here in ms).
 *   - exemplars (` # {trace_id="..."} 1.0 [ts]`) are checked and skipped.
 *   - a metadata line after the family's samples starts a new family of
 *     the same name: client_golang (1.14 and 1.25 alike) writes one,
 *     go_memstats_alloc_bytes as a gauge then as a counter, and
 *     Prometheus scrapes it. (As text such a body is refused: "second
 *     HELP line", as expfmt refuses it.)
 * Both formats:
 *   - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_]
 *     [a-zA-Z0-9_]*, `__name__` is reserved; label values are UTF-8 with
 *     the escapes \\ \" \n (a raw LF or any other escape is an error);
 *     duplicate label names are an error; so is a non-numeric `quantile`
 *     label of a summary or `le` label of a histogram.
 *   - a NUL byte anywhere, a line over PROMTEXT_LINE_MAX bytes, a sample
 *     with more than PROMTEXT_LABELS_MAX labels, or a text body of more
 *     than PROMTEXT_FAMILIES_MAX families is an error.
 *   - text families are keyed by name, as expfmt keys them: a second HELP
 *     or TYPE line for a name anywhere in the body is an error, so is a
 *     TYPE line after the family's first sample; x_sum/x_count belong to
 *     summary x and x_bucket/x_sum/x_count to histogram x wherever they
 *     are. OpenMetrics families are checked against their neighbours only
 *     (a second HELP, TYPE or UNIT line before the samples is an error).
 *
 * Samples are delivered as they are read: on an error the callback has
 * already seen the samples before the bad line, and the caller drops them
 * (promtext_go_extract() does). The parser reads nothing outside
 * buf[0..n) and needs no NUL terminator. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROMTEXT_LINE_MAX   ((size_t)32 << 10) /* bytes, LF excluded */
#define PROMTEXT_LABELS_MAX 64u
#define PROMTEXT_FAMILIES_MAX 8192u /* text: names kept (a Go service has 50 to 500) */

enum promtext_format {
        PROMTEXT_TEXT,        /* text/plain; version=0.0.4 */
        PROMTEXT_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 or 0.0.1 */
};

enum promtext_type {
        PROMTEXT_TYPE_NONE,   /* no TYPE line declared the sample's family */
        PROMTEXT_TYPE_COUNTER,
        PROMTEXT_TYPE_GAUGE,
        PROMTEXT_TYPE_HISTOGRAM,
        PROMTEXT_TYPE_SUMMARY,
        PROMTEXT_TYPE_UNTYPED,        /* text only */
        PROMTEXT_TYPE_INFO,           /* OpenMetrics only, from here down */
        PROMTEXT_TYPE_STATESET,
        PROMTEXT_TYPE_GAUGEHISTOGRAM,
        PROMTEXT_TYPE_UNKNOWN,
        _PROMTEXT_TYPE_MAX,
        _PROMTEXT_TYPE_INVALID = -EINVAL,
};

/* One label. Neither string is NUL-terminated: name points into the
 * body, value into the body when it had no escape, else into the parser's
 * scratch buffer. Both are valid only during the callback. */
struct promtext_label {
        const char *name, *value;
        size_t name_len, value_len;
};

struct promtext_sample {
        const char *name;           /* "go_gc_duration_seconds_sum" (into the body) */
        size_t name_len;
        const char *family;         /* the declared family ("go_gc_duration_seconds"), */
        size_t family_len;          /* or the sample's own name when type is NONE */
        enum promtext_type type;    /* the family's TYPE, or NONE */
        const struct promtext_label *labels;
        size_t n_labels;
        double value;
        bool has_timestamp;
        int64_t timestamp_ms;       /* OpenMetrics seconds, rounded to ms */
        unsigned line;              /* 1-based, in the body */
};

/* Return 0 to go on; anything else stops the parse, which returns it. */
typedef int (*promtext_sample_cb)(const struct promtext_sample *s, void *userdata);

struct promtext_error {
        unsigned line, column; /* 1-based; column counts UTF-8 characters */
        char message[128];
};

/* "application/openmetrics-text; version=1.0.0; charset=utf-8" ->
 * OPENMETRICS (the media type compared case-insensitively, parameters
 * ignored); anything else, NULL included, -> TEXT. */
enum promtext_format promtext_format_from_content_type(const char *content_type);

/* "counter" -> PROMTEXT_TYPE_COUNTER...; NONE -> "none". */
const char *promtext_type_to_string(enum promtext_type t);

/* Parse buf[0..n) in fmt, calling cb for each sample. 0 when the whole
 * body was read; the callback's nonzero return when it stopped the parse;
 * -EBADMSG with *reterr (line, column and a message naming what was
 * wrong) for malformed input; -ENOMEM; -EINVAL for a bad fmt. reterr may
 * be NULL. */
int promtext_parse(const char *buf, size_t n, enum promtext_format fmt, promtext_sample_cb cb, void *userdata,
                   struct promtext_error *reterr);

/* The Go runtime's metrics gorral samples. Each is present or absent,
 * never defaulted: bit (1 << GO_METRIC_X) of go_metrics.present. */
enum go_metric {
        GO_METRIC_GOROUTINES,            /* go_goroutines (counts the scrape's own, ~3) */
        GO_METRIC_THREADS,               /* go_threads: threads *created*; /proc is the truth */
        GO_METRIC_HEAP_INUSE_BYTES,      /* go_memstats_heap_inuse_bytes */
        GO_METRIC_NEXT_GC_BYTES,         /* go_memstats_next_gc_bytes */
        GO_METRIC_HEAP_ALLOC_BYTES,      /* go_memstats_heap_alloc_bytes */
        GO_METRIC_SYS_BYTES,             /* go_memstats_sys_bytes */
        GO_METRIC_GC_DURATION_SUM,       /* go_gc_duration_seconds_sum, seconds */
        GO_METRIC_GC_DURATION_COUNT,     /* go_gc_duration_seconds_count, GC cycles */
        GO_METRIC_RESIDENT_BYTES,        /* process_resident_memory_bytes */
        GO_METRIC_CPU_SECONDS,           /* process_cpu_seconds_total */
        GO_METRIC_GOMAXPROCS,            /* go_sched_gomaxprocs_threads (client_golang >= 1.20) */
        GO_METRIC_GOMEMLIMIT_BYTES,      /* go_gc_gomemlimit_bytes; math.MaxInt64 = no limit */
        GO_METRIC_GOGC_PERCENT,          /* go_gc_gogc_percent; -1 = GOGC=off */
        /* Go >= 1.26 /sched/goroutines*, only when the service enables
         * them (collectors.MetricsScheduler): */
        GO_METRIC_GOROUTINES_RUNNING,    /* go_sched_goroutines_running_goroutines */
        GO_METRIC_GOROUTINES_RUNNABLE,   /* go_sched_goroutines_runnable_goroutines */
        GO_METRIC_GOROUTINES_WAITING,    /* go_sched_goroutines_waiting_goroutines */
        GO_METRIC_GOROUTINES_NOT_IN_GO,  /* go_sched_goroutines_not_in_go_goroutines */
        GO_METRIC_GOROUTINES_CREATED,    /* go_sched_goroutines_created_goroutines_total */
        GO_METRIC_THREADS_TOTAL,         /* go_sched_threads_total_threads: live Ms (Go >= 1.26) */
        _GO_METRIC_MAX,
};

#define GO_VERSION_MAX 64u

struct go_metrics {
        uint64_t present;               /* 1 << GO_METRIC_X, and GO_METRICS_HAS_VERSION */
        double value[_GO_METRIC_MAX];
        char go_version[GO_VERSION_MAX]; /* go_info{version="go1.19.8"}, NUL-terminated */
};
#define GO_METRICS_HAS_VERSION ((uint64_t)1 << 63)

static inline bool go_metrics_has(const struct go_metrics *m, enum go_metric k) {
        return m->present & ((uint64_t)1 << k);
}

/* The exposition name of a metric ("go_goroutines"), or NULL. */
const char *go_metric_name(enum go_metric k);

/* Parse a body (promtext_parse) and fill *ret with the metrics above.
 * The first sample of each name counts, whatever its labels (a later one
 * with the same name is ignored); a NaN value is absent; a go_info version longer
 * than GO_VERSION_MAX - 1 is absent. 0 with *ret written (possibly with
 * nothing present); the errors of promtext_parse, *ret untouched. */
int promtext_go_extract(const char *buf, size_t n, enum promtext_format fmt, struct go_metrics *ret,
                        struct promtext_error *reterr);
