/* godump.h: goroutine dumps grouped by stack (L1, pure over buffers: no
 * I/O, no logging).
 *
 * One parser for every form a Go runtime from 1.19 to current prints:
 *   - tracebacks: /debug/pprof/goroutine?debug=2, SIGQUIT dumps (with their
 *     "SIGQUIT: quit", "PC=", register and "-----" lines at every
 *     GOTRACEBACK level), panics and fatal errors. One block per goroutine:
 *         goroutine 7 [chan receive, 12 minutes, locked to thread]:
 *         goroutine 0 gp=0x5ab7e0 m=0 mp=0x5ac5a0 [idle]:       (Go 1.23+, system/crash)
 *         goroutine 18 [chan receive labels:{"job": "ingest"}]:  (Go 1.26, tracebacklabels=1)
 *         goroutine 19 [chan receive] {job: ingest, t: "a b"}:  (Go 1.27)
 *     then "FUNC(ARGS)" / "\tFILE:LINE +0xOFF ..." pairs, maybe
 *     "...additional frames elided...", and "created by FUNC[ in goroutine N]"
 *     with its file line. Labels are as runtime/traceback.go goroutineheader
 *     prints them: in Go 1.26 (behind GODEBUG=tracebacklabels=1)
 *     runtime.printquoted strings inside the brackets after the state; in
 *     Go 1.27 (on by default in go 1.27 modules) after the brackets, each
 *     key and value bare when it holds only [A-Za-z0-9./_], else quoted.
 *   - count profiles (?debug=1 of goroutine and goroutineleak):
 *     "NAME profile: total N", then per record "COUNT @ PC..." and
 *     "#\tPC\tFUNC+OFF\tFILE:LINE" lines (tabwriter-aligned), maybe a
 *     "# labels: {"k":"v"}" line. Records arrive pre-counted: no states,
 *     no creator, no goroutine ids.
 *
 * Grouping key: per frame the function name (arguments dropped), file and
 * line (offsets, fp/sp/pc dropped), plus the creator's function, file and
 * line. Not in the key: goroutine ids, states, waits, "in goroutine N" and
 * labels. Labels are dropped from the key because they usually carry a
 * request or tenant: keeping them would split 1000 goroutines leaked by
 * one line of code into 1000 groups. A group keeps the labels its members
 * all share, or says they were mixed.
 *
 * One dump, one form: the first goroutine header or count profile line
 * decides, and lines of the other form are unknown lines from then on (a
 * record has no state; mixed in, a group's states would not add up to its
 * count). Unknown lines are skipped and counted, never an error.
 *
 * Bounds (every number in the input is hostile): input GODUMP_MAX_INPUT,
 * goroutine blocks plus count records GODUMP_MAX_GOROUTINES (the rest are
 * not parsed and the dump is marked capped), GODUMP_MAX_GROUPS distinct
 * groups, the first ones met (goroutines of later groups are only counted
 * in other_goroutines), GODUMP_MAX_FRAMES frames per stack (deeper ones
 * counted as elided), lines longer than GODUMP_MAX_LINE skipped. A group's
 * strings are copied from the one block that created it, so the groups
 * never take more bytes than the input. The text writer prints control
 * bytes from the dump as '?'; the JSON writer escapes them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_writer;

#define GODUMP_MAX_INPUT ((size_t)64 << 20)
#define GODUMP_MAX_GOROUTINES 100000
#define GODUMP_MAX_GROUPS 4096
#define GODUMP_MAX_FRAMES 128
#define GODUMP_MAX_LINE ((size_t)64 << 10)
#define GODUMP_MAX_STATES 16        /* distinct states kept per group; the rest count as "other" */
#define GODUMP_MAX_LABELS 64        /* labels kept per goroutine */
#define GODUMP_EXAMPLE_IDS 5        /* goroutine ids kept per group */

enum godump_format {
        GODUMP_TRACEBACK,           /* debug=2, SIGQUIT, panic, fatal error */
        GODUMP_COUNT_PROFILE,       /* debug=1: pre-counted records */
};

struct godump_frame {
        char *func;                 /* "net/http.(*Transport).roundTrip", no arguments */
        char *file;                 /* NULL when the dump had no file line for it */
        uint32_t line;              /* 0 when unknown */
};

struct godump_state {
        char *name;                 /* "chan receive", "select (no cases)", "IO wait" */
        uint64_t count;
};

struct godump_label {
        char *key, *value;          /* decoded from the Go quoting */
};

struct godump_group {
        uint64_t count;
        struct godump_state *states;    /* most frequent first */
        size_t n_states;
        uint64_t states_other;          /* goroutines whose state did not fit */
        uint64_t max_wait_minutes;      /* longest ", N minutes"; 0 when none printed */
        uint64_t n_locked;              /* goroutines "locked to thread" */
        struct godump_frame *frames;    /* innermost (most recent call) first */
        size_t n_frames;
        bool elided;                    /* "...additional frames elided..." or over GODUMP_MAX_FRAMES */
        bool stack_unavailable;         /* "goroutine running on other thread; stack unavailable" */
        struct godump_frame creator;    /* creator.func NULL: none printed (goroutine 1, count profiles) */
        uint64_t ids[GODUMP_EXAMPLE_IDS];
        size_t n_ids;
        struct godump_label *labels;    /* the labels every member has (NULL/0 when none or mixed) */
        size_t n_labels;
        bool labels_mixed;              /* members carried different labels */
        uint64_t hash;                  /* internal: of the grouping key */
};

struct godump {
        enum godump_format format;
        char *profile;                  /* count profiles: "goroutine", "goroutineleak" */
        uint64_t profile_total;         /* its "total N" (count profiles only) */
        uint64_t goroutines;            /* goroutines seen (sum of counts for count profiles) */
        uint64_t other_goroutines;      /* of them, in groups past GODUMP_MAX_GROUPS */
        struct godump_group *groups;    /* sorted: count, longest wait, with a culprit first, culprit or top function name */
        size_t n_groups;
        uint64_t lines;                 /* lines read */
        uint64_t lines_skipped;         /* lines not understood (or too long), ignored */
        bool truncated;                 /* ends inside a goroutine, or fewer than profile_total */
        bool capped;                    /* stopped at GODUMP_MAX_GOROUTINES blocks */
        char *reason;                   /* first "panic: ...", "fatal error: ..." or "SIGQUIT: quit" line */
};

/* Parse buf[0..n) (a NUL inside is just a byte; CRLF line ends are
 * accepted) and group its goroutines. 0 with *ret (free with
 * godump_free); -EBADMSG when nothing in it is a goroutine header or a
 * count profile record; -EFBIG when n > GODUMP_MAX_INPUT; -EINVAL for buf
 * NULL with n > 0; -ENOMEM. *ret is written only on success. */
int godump_parse(const char *buf, size_t n, struct godump **ret);
struct godump *godump_free(struct godump *d);       /* NULL-safe, returns NULL */
static inline void godump_freep(struct godump **d) { godump_free(*d); }

static inline const char *godump_format_to_string(enum godump_format f) {
        return f == GODUMP_COUNT_PROFILE ? "count_profile" : "traceback";
}

/* The frame that names the leaking code: the innermost frame of the group
 * that is not the standard library (runtime., internal/, net/http.,
 * sync., io., bufio., crypto/..., vendor/...: a package whose first path
 * element is one of Go's standard top-level names) and not the "panic"
 * builtin; the creator when every frame is standard; NULL when that is
 * too. Third-party packages count as the user's code. */
const struct godump_frame *godump_group_culprit(const struct godump_group *g);

/* The states of a group as the runtime prints one header, for humans:
 * "[chan receive, 12 minutes, locked to thread]" (the most frequent state,
 * the longest wait; "locked to thread" when any member was), or "" for a
 * count profile. Written to buf (always NUL-terminated when size > 0);
 * returns the length it needed, as snprintf does. */
size_t godump_group_header(const struct godump_group *g, char *buf, size_t size);

/* A grouped summary for humans: one summary line, then per group (largest
 * first, at most max_groups of them, 0 = all) its count, header, states
 * with their counts, culprit, at most max_frames frames ("func
 * (file:line)", 0 = all) and "created by ...". 0 with a malloc'd,
 * NUL-terminated *ret and *ret_len, or -ENOMEM. */
int godump_write_text(const struct godump *d, unsigned max_groups, unsigned max_frames, char **ret,
                      size_t *ret_len);

/* The same as one JSON object: format, profile, profile_total, goroutines,
 * groups_total, other_goroutines, lines, lines_skipped, truncated, capped,
 * reason, groups[] {count, header, states[] {state, count}, states_other,
 * max_wait_minutes, locked_to_thread, culprit, frames[] {func, file, line},
 * frames_elided, stack_unavailable, creator {func, file, line} | null,
 * goroutine_ids[], labels {} | null, labels_mixed}. Errors are the
 * writer's (sticky). */
void godump_write_json(struct json_writer *w, const struct godump *d, unsigned max_groups);
