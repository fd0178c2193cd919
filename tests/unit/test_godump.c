/* Unit tests for src/godump.c: every real capture in tests/fixtures/godump
 * (Go 1.19 and 1.26; how each was made is in its README), with counts
 * checked against an independent count of the headers, then hand-made
 * dumps for each rule: grouping key, states and waits, creators, labels,
 * culprits, truncation, CRLF, garbage and every bound. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/godump.h"
#include "gorral/json.h"
#include "gorral/util.h"

#define GODUMP_FIXTURES FIXTURES "/godump"

static char *load_path(const char *path, size_t *ret_n) {
        char *b = NULL;
        int r = read_file(path, GODUMP_MAX_INPUT, &b, ret_n);

        cr_assert_eq(r, 0, "read %s: %d", path, r);
        return b;
}

static char *load(const char *name, size_t *ret_n) {
        char path[512];

        snprintf(path, sizeof path, "%s/%s", strncmp(name, "pprof-", 6) == 0 ? SAMPLES : GODUMP_FIXTURES, name);
        return load_path(path, ret_n);
}

static struct godump *parse_fixture(const char *name) {
        _cleanup_free_ char *b = NULL;
        struct godump *d = NULL;
        size_t n;
        int r;

        b = load(name, &n);
        r = godump_parse(b, n, &d);
        cr_assert_eq(r, 0, "%s: %d", name, r);
        return d;
}

static struct godump *parse_str(const char *s) {
        struct godump *d = NULL;
        int r = godump_parse(s, strlen(s), &d);

        cr_assert_eq(r, 0, "parse: %d", r);
        return d;
}

/* "goroutine N ... [" headers and "COUNT @" record counts, counted without
 * the parser, to check its totals. */
static uint64_t count_independently(const char *b, bool *ret_profile) {
        uint64_t headers = 0, records = 0;

        *ret_profile = false;
        for (const char *l = b; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                unsigned long long c;
                char at;

                if (strncmp(l, "goroutine ", 10) == 0 && l[10] >= '0' && l[10] <= '9')
                        headers++;
                else if (*l >= '1' && *l <= '9' && sscanf(l, "%llu %c", &c, &at) == 2 && at == '@')
                        records += c;
                else if (strstr(l, " profile: total ") && strstr(l, " profile: total ") < strchr(l, '\n'))
                        *ret_profile = true;
        }
        return *ret_profile ? records : headers;
}

static const struct godump_group *find_group(const struct godump *d, const char *culprit) {
        for (size_t i = 0; i < d->n_groups; i++) {
                const struct godump_frame *c = godump_group_culprit(&d->groups[i]);

                if (c && strcmp(c->func, culprit) == 0)
                        return &d->groups[i];
        }
        return NULL;
}

static const struct godump_state *find_state(const struct godump_group *g, const char *name) {
        for (size_t i = 0; i < g->n_states; i++)
                if (strcmp(g->states[i].name, name) == 0)
                        return &g->states[i];
        return NULL;
}

static void check_invariants(const char *name, const struct godump *d) {
        uint64_t sum = d->other_goroutines;

        for (size_t i = 0; i < d->n_groups; i++) {
                const struct godump_group *g = &d->groups[i];
                uint64_t st = g->states_other;

                sum += g->count;
                cr_assert_gt(g->count, 0, "%s: group %zu empty", name, i);
                if (i > 0)
                        cr_assert_geq(d->groups[i - 1].count, g->count, "%s: not sorted at %zu", name, i);
                for (size_t s = 0; s < g->n_states; s++) {
                        st += g->states[s].count;
                        if (s > 0)
                                cr_assert_geq(g->states[s - 1].count, g->states[s].count);
                }
                if (d->format == GODUMP_TRACEBACK)
                        cr_assert_eq(st, g->count, "%s: group %zu states %llu of %llu", name, i,
                                     (unsigned long long)st, (unsigned long long)g->count);
                else
                        cr_assert_eq(g->n_states, 0);
                cr_assert_leq(g->n_frames, GODUMP_MAX_FRAMES);
                for (size_t k = 0; k < g->n_frames; k++) {
                        cr_assert(g->frames[k].func && g->frames[k].func[0], "%s: empty func", name);
                        /* No arguments, no offsets kept. */
                        cr_assert_null(strstr(g->frames[k].func, "0x"), "%s: %s", name, g->frames[k].func);
                        if (g->frames[k].file)
                                cr_assert_null(strstr(g->frames[k].file, " +0x"), "%s: %s", name,
                                               g->frames[k].file);
                }
        }
        cr_assert_eq(sum, d->goroutines, "%s: groups hold %llu of %llu", name, (unsigned long long)sum,
                     (unsigned long long)d->goroutines);
}

Test(godump, every_capture) {
        static const struct {
                const char *file;
                enum godump_format format;
                uint64_t goroutines;
                size_t groups;
                uint64_t top_count;
                const char *top_culprit;        /* NULL: none */
                const char *top_creator;        /* NULL: none */
        } c[] = {
                { "go119-deadlock.txt", GODUMP_TRACEBACK, 9, 3, 5, "main.worker", "main.main" },
                { "go119-fetchleak-sigquit.txt", GODUMP_TRACEBACK, 97, 10, 30, "main.fetchUpstream", "main.main" },
                { "go119-goservice-debug1.txt", GODUMP_COUNT_PROFILE, 73, 5, 50, "main.leakGoroutines.func1", NULL },
                { "go119-goservice-debug2.txt", GODUMP_TRACEBACK, 73, 5, 50, "main.leakGoroutines.func1", "main.leakGoroutines" },
                { "go119-goservice-sigquit.txt", GODUMP_TRACEBACK, 76, 8, 50, "main.leakGoroutines.func1", "main.leakGoroutines" },
                { "go119-panic.txt", GODUMP_TRACEBACK, 1, 1, 1, "main.main", NULL },
                { "go119-pprof-minutes-debug2.txt", GODUMP_TRACEBACK, 1054, 6, 1000, "main.leakedGoroutine", "main.leakGoroutines" },
                { "go119-repanic-deep.txt", GODUMP_TRACEBACK, 3, 3, 1, "main.deep", "main.main" },
                { "go119-sigquit-all-labels.txt", GODUMP_TRACEBACK, 14, 8, 5, "main.worker", "main.main" },
                { "go119-sigquit-crash-labels.txt", GODUMP_TRACEBACK, 17, 11, 5, "main.worker", "main.main" },
                { "go119-sigquit-gotraceback-all.txt", GODUMP_TRACEBACK, 6, 6, 1, "main.main", NULL },
                { "go119-sigquit-gotraceback-crash.txt", GODUMP_TRACEBACK, 10, 10, 1, "main.main", NULL },
                { "go119-sigquit-gotraceback-none.txt", GODUMP_TRACEBACK, 6, 6, 1, "main.main", NULL },
                { "go119-sigquit-gotraceback-system.txt", GODUMP_TRACEBACK, 6, 6, 1, "main.main", NULL },
                { "go119-sigquit-low.txt", GODUMP_TRACEBACK, 8, 7, 2, NULL, "runtime.gcBgMarkStartWorkers" },
                { "go119-sigquit-minutes.txt", GODUMP_TRACEBACK, 1059, 10, 1000, "main.leakedGoroutine", "main.leakGoroutines" },
                { "go126-deadlock-labels.txt", GODUMP_TRACEBACK, 9, 3, 5, "main.worker", "main.main" },
                { "go126-fatal-mapwrites.txt", GODUMP_TRACEBACK, 1, 1, 1, "main.hammer", "main.main" },
                { "go126-fatal-mapwrites-system.txt", GODUMP_TRACEBACK, 8, 6, 3, "main.main.gowrap1", "main.main" },
                { "go126-fetchleak-sigquit.txt", GODUMP_TRACEBACK, 98, 11, 30, "main.fetchUpstream", "main.main" },
                { "go126-goservice-debug1.txt", GODUMP_COUNT_PROFILE, 73, 5, 50, "main.leakGoroutines.func1", NULL },
                { "go126-goservice-debug2.txt", GODUMP_TRACEBACK, 73, 5, 50, "main.leakGoroutines.func1", "main.leakGoroutines" },
                { "go126-goservice-sigquit.txt", GODUMP_TRACEBACK, 78, 10, 50, "main.leakGoroutines.func1", "main.leakGoroutines" },
                { "go126-leakprof-debug2-after-leak.txt", GODUMP_TRACEBACK, 73, 5, 50, "main.leakGoroutines.func1", "main.leakGoroutines" },
                { "go126-leakprof-goroutineleak-debug1.txt", GODUMP_COUNT_PROFILE, 20, 1, 20, "main.leakOrphans.func1", NULL },
                { "go126-leakprof-sigquit.txt", GODUMP_TRACEBACK, 80, 11, 50, "main.leakGoroutines.func1", "main.leakGoroutines" },
                { "go126-panic-labels.txt", GODUMP_TRACEBACK, 1, 1, 1, "main.main", NULL },
                { "go126-panic-nilptr.txt", GODUMP_TRACEBACK, 1, 1, 1, "main.read", NULL },
                { "go126-panic.txt", GODUMP_TRACEBACK, 1, 1, 1, "main.main", NULL },
                { "go126-repanic-deep.txt", GODUMP_TRACEBACK, 3, 3, 1, "main.deep", "main.main" },
                { "go126-sigquit-all-labels.txt", GODUMP_TRACEBACK, 14, 8, 5, "main.worker", "main.main" },
                { "go126-sigquit-crash-labels.txt", GODUMP_TRACEBACK, 17, 11, 5, "main.worker", "main.main" },
                { "go127-debug2-after-leak.txt", GODUMP_TRACEBACK, 73, 5, 50, "main.leakGoroutines.func1", "main.leakGoroutines" },
                { "go127-goroutineleak-debug1.txt", GODUMP_COUNT_PROFILE, 20, 1, 20, "main.leakOrphans.func1", NULL },
                { "go127-goservice-debug1.txt", GODUMP_COUNT_PROFILE, 73, 5, 50, "main.leakGoroutines.func1", NULL },
                { "go127-goservice-debug2.txt", GODUMP_TRACEBACK, 73, 5, 50, "main.leakGoroutines.func1", "main.leakGoroutines" },
                { "go127-goservice-sigquit.txt", GODUMP_TRACEBACK, 80, 11, 50, "main.leakGoroutines.func1", "main.leakGoroutines" },
                { "go127-panic-labels.txt", GODUMP_TRACEBACK, 1, 1, 1, "main.main", NULL },
                { "go127-sigquit-all-labels.txt", GODUMP_TRACEBACK, 15, 9, 5, "main.worker", "main.main" },
                { "go127-sigquit-crash-labels.txt", GODUMP_TRACEBACK, 19, 12, 5, "main.worker", "main.main" },
                { "pprof-goroutine-high-debug1.txt", GODUMP_COUNT_PROFILE, 1053, 5, 1000, "main.leakedGoroutine", NULL },
                { "pprof-goroutine-high-debug2.txt", GODUMP_TRACEBACK, 1053, 5, 1000, "main.leakedGoroutine", "main.leakGoroutines" },
                { "pprof-goroutine-low-debug1.txt", GODUMP_COUNT_PROFILE, 3, 3, 1, "main.main", NULL },
                { "pprof-goroutine-low-debug2.txt", GODUMP_TRACEBACK, 3, 3, 1, "main.main", NULL },
                { "pprof-goroutine-minutes-debug1.txt", GODUMP_COUNT_PROFILE, 1054, 6, 1000, "main.leakedGoroutine", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(c); i++) {
                _cleanup_free_ char *b = NULL;
                _cleanup_(godump_freep) struct godump *d = NULL;
                const struct godump_frame *cu;
                bool profile;
                size_t n;

                b = load(c[i].file, &n);
                cr_assert_eq(godump_parse(b, n, &d), 0, "%s", c[i].file);
                cr_assert_eq(d->format, c[i].format, "%s", c[i].file);
                cr_assert_eq(d->goroutines, c[i].goroutines, "%s: %llu goroutines", c[i].file,
                             (unsigned long long)d->goroutines);
                cr_assert_eq(d->goroutines, count_independently(b, &profile), "%s", c[i].file);
                cr_assert_eq(profile, c[i].format == GODUMP_COUNT_PROFILE);
                cr_assert_eq(d->n_groups, c[i].groups, "%s: %zu groups", c[i].file, d->n_groups);
                cr_assert_eq(d->groups[0].count, c[i].top_count, "%s", c[i].file);
                cu = godump_group_culprit(&d->groups[0]);
                if (c[i].top_culprit)
                        cr_assert(cu && strcmp(cu->func, c[i].top_culprit) == 0, "%s: culprit %s", c[i].file,
                                  cu ? cu->func : "(none)");
                else
                        cr_assert_null(cu, "%s: culprit %s", c[i].file, cu->func);
                if (c[i].top_creator)
                        cr_assert_str_eq(d->groups[0].creator.func, c[i].top_creator, "%s", c[i].file);
                else
                        cr_assert_null(d->groups[0].creator.func, "%s", c[i].file);
                cr_assert_eq(d->lines_skipped, 0, "%s: %llu lines skipped", c[i].file,
                             (unsigned long long)d->lines_skipped);
                cr_assert_not(d->truncated, "%s", c[i].file);
                cr_assert_not(d->capped);
                cr_assert_eq(d->other_goroutines, 0);
                check_invariants(c[i].file, d);
        }
}

/* The issue's case: goroutines leaked by http.Get with no timeout are
 * mostly net/http and runtime frames, main.fetchUpstream below them. */
Test(godump, culprit_under_net_http) {
        static const char *const files[] = { "go119-fetchleak-sigquit.txt", "go126-fetchleak-sigquit.txt" };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_(godump_freep) struct godump *d = parse_fixture(files[i]);
                _cleanup_free_ char *text = NULL;
                const struct godump_group *g = find_group(d, "main.fetchUpstream");
                const struct godump_frame *cu;
                size_t len, k;

                cr_assert_not_null(g, "%s", files[i]);
                cr_assert_eq(g->count, 30);
                cr_assert_str_eq(g->states[0].name, "select");
                cr_assert_str_eq(g->frames[0].func, "runtime.gopark");
                cu = godump_group_culprit(g);
                for (k = 0; &g->frames[k] != cu; k++)
                        cr_assert(strncmp(g->frames[k].func, "runtime.", 8) == 0 ||
                                  strncmp(g->frames[k].func, "net/http.", 9) == 0, "%s", g->frames[k].func);
                cr_assert_geq(k, 8, "the culprit is below the net/http frames");
                cr_assert_str_eq(cu->file, "/tmp/gdcap/fetchleak.go");
                cr_assert_eq(cu->line, 14);
                /* The transport's own goroutines have no user frame. */
                for (size_t j = 0; j < d->n_groups; j++)
                        if (d->groups[j].creator.func &&
                            strcmp(d->groups[j].creator.func, "net/http.(*Transport).dialConn") == 0)
                                cr_assert_null(godump_group_culprit(&d->groups[j]));
                cr_assert_eq(godump_write_text(d, 3, 0, &text, &len), 0);
                cr_assert_eq(strlen(text), len);
                cr_assert_not_null(strstr(text, "30 goroutines [select] in main.fetchUpstream\n"), "%s", text);
                cr_assert_not_null(strstr(text, "    main.fetchUpstream (/tmp/gdcap/fetchleak.go:14)\n"));
                cr_assert_not_null(strstr(text, "    created by main.main (/tmp/gdcap/fetchleak.go:38)\n"));
                cr_assert_not_null(strstr(text, "more groups\n"));
        }
}

Test(godump, states_waits_locked) {
        _cleanup_(godump_freep) struct godump *d = parse_fixture("go119-sigquit-minutes.txt");
        const struct godump_group *g = find_group(d, "main.leakedGoroutine");
        const struct godump_group *t = find_group(d, "main.leakedThread");
        char hdr[128];

        cr_assert_str_eq(d->reason, "SIGQUIT: quit");
        cr_assert_not_null(g);
        cr_assert_eq(g->count, 1000);
        cr_assert_eq(g->n_states, 1);
        cr_assert_str_eq(g->states[0].name, "chan receive");
        cr_assert_eq(g->max_wait_minutes, 1);
        cr_assert_eq(g->n_locked, 0);
        cr_assert_eq(g->n_ids, GODUMP_EXAMPLE_IDS);
        godump_group_header(g, hdr, sizeof hdr);
        cr_assert_str_eq(hdr, "[chan receive, 1 minutes]");
        cr_assert_not_null(t);
        cr_assert_eq(t->count, 50);
        cr_assert_eq(t->n_locked, 50);
        godump_group_header(t, hdr, sizeof hdr);
        cr_assert_str_eq(hdr, "[chan receive, 1 minutes, locked to thread]");
        cr_assert_str_eq(t->creator.func, "main.leakThreads");
        cr_assert_str_eq(t->creator.file, "/srv/goapps/proj/src/goleaky/main.go");
        cr_assert_eq(t->creator.line, 71);
        /* Small buffers are cut, NUL-terminated, and told the need. */
        cr_assert_eq(godump_group_header(t, hdr, 8), strlen("[chan receive, 1 minutes, locked to thread]"));
        cr_assert_str_eq(hdr, "[chan r");
}

Test(godump, leaked_goroutines_go126) {
        _cleanup_(godump_freep) struct godump *d = parse_fixture("go126-leakprof-debug2-after-leak.txt");
        _cleanup_(godump_freep) struct godump *p = parse_fixture("go126-leakprof-goroutineleak-debug1.txt");
        const struct godump_group *g = find_group(d, "main.leakOrphans.func1");

        /* The leak profile marks what it proved: the state says so. */
        cr_assert_not_null(g);
        cr_assert_eq(g->count, 20);
        cr_assert_str_eq(g->states[0].name, "chan receive (leaked)");
        cr_assert_str_eq(p->profile, "goroutineleak");
        cr_assert_eq(p->profile_total, 20);
        cr_assert_eq(p->n_groups, 1);
        cr_assert_str_eq(p->groups[0].frames[0].func, "main.leakOrphans.func1");
        cr_assert_eq(p->groups[0].frames[0].line, 70);
        cr_assert_eq(p->groups[0].n_ids, 0);
}

/* capture-panic.go's `wait` dump (5 goroutines under job/tenant labels, 3
 * without) and its panic under req=42, as Go 1.26 and 1.27 print them. */
static void assert_capture_labels(const struct godump *d, const struct godump *p) {
        const struct godump_group *g = &d->groups[0];

        cr_assert_eq(g->count, 5);
        cr_assert_not(g->labels_mixed);
        cr_assert_eq(g->n_labels, 2);
        cr_assert_str_eq(g->labels[0].key, "job");
        cr_assert_str_eq(g->labels[0].value, "ingest");
        cr_assert_str_eq(g->labels[1].key, "tenant");
        cr_assert_str_eq(g->labels[1].value, "a\"b");
        /* The labels are no part of the state. */
        cr_assert_str_eq(g->states[0].name, "chan receive");
        cr_assert_eq(d->groups[1].count, 3);
        cr_assert_eq(d->groups[1].n_labels, 0);
        cr_assert_eq(p->groups[0].n_labels, 1);
        cr_assert_str_eq(p->groups[0].labels[0].key, "req");
        cr_assert_str_eq(p->groups[0].labels[0].value, "42");
        cr_assert_str_eq(p->groups[0].states[0].name, "running");
}

Test(godump, labels_from_headers) {
        _cleanup_(godump_freep) struct godump *d = parse_fixture("go126-sigquit-all-labels.txt");
        _cleanup_(godump_freep) struct godump *old = parse_fixture("go119-sigquit-all-labels.txt");
        _cleanup_(godump_freep) struct godump *p = parse_fixture("go126-panic-labels.txt");

        assert_capture_labels(d, p);
        /* Go 1.19 ignores GODEBUG=tracebacklabels: same groups, no labels. */
        cr_assert_eq(old->groups[0].count, 5);
        cr_assert_eq(old->groups[0].n_labels, 0);
}

/* Go 1.27 prints a goroutine's labels after its state, by default (the
 * tracebacklabels setting changed with go 1.27 in go.mod), bare where they
 * need no quotes: `goroutine 19 [chan receive] {job: ingest, tenant: "a\"b"}:`. */
Test(godump, labels_from_go127_headers) {
        _cleanup_(godump_freep) struct godump *d = parse_fixture("go127-sigquit-all-labels.txt");
        _cleanup_(godump_freep) struct godump *c = parse_fixture("go127-sigquit-crash-labels.txt");
        _cleanup_(godump_freep) struct godump *p = parse_fixture("go127-panic-labels.txt");

        assert_capture_labels(d, p);
        /* The crash form's gp=/m= headers, the same labels. */
        cr_assert_eq(c->groups[0].n_labels, 2);
        cr_assert_str_eq(c->groups[0].labels[1].value, "a\"b");
}

#define BLOCK(hdr, arg) \
        hdr "\n" \
        "main.work(" arg ")\n" \
        "\t/src/app/main.go:10 +0x1d\n" \
        "main.main.func1()\n" \
        "\t/src/app/main.go:20 +0x25 fp=0xc000 sp=0xc008 pc=0x4a\n" \
        "created by main.main in goroutine 1\n" \
        "\t/src/app/main.go:19 +0x99\n\n"

/* The first ']' closes a Go 1.27 state (no wait reason holds one); the
 * labels after it may quote brackets, braces and ": ". */
Test(godump, labels_go127_form_quoted) {
        _cleanup_(godump_freep) struct godump *d = parse_str(
                BLOCK("goroutine 5 [select, 3 minutes] {path: /v1/x, q: \"a] {b}: c\"}:", "0x1")
                BLOCK("goroutine 6 [select, 3 minutes] {path: /v1/x, q: \"a] {b}: c\"}:", "0x2")
                "goroutine 7 [chan send (leaked)] {\"k y\": v.1_2}:\n"
                "main.send()\n"
                "\t/src/app/send.go:5 +0x1d\n\n"
                "goroutine 8 [IO wait] {broken:\n"
                "main.read()\n"
                "\t/src/app/read.go:5 +0x1d\n\n");

        /* Goroutine 8's cut header starts nothing: its lines are skipped. */
        cr_assert_eq(d->goroutines, 3);
        cr_assert_eq(d->lines_skipped, 3, "%llu skipped", (unsigned long long)d->lines_skipped);
        cr_assert_eq(d->n_groups, 2);
        cr_assert_eq(d->groups[0].count, 2);
        cr_assert_eq(d->groups[0].n_labels, 2);
        cr_assert_str_eq(d->groups[0].labels[0].key, "path");
        cr_assert_str_eq(d->groups[0].labels[0].value, "/v1/x");
        cr_assert_str_eq(d->groups[0].labels[1].value, "a] {b}: c");
        cr_assert_str_eq(d->groups[0].states[0].name, "select");
        cr_assert_eq(d->groups[0].max_wait_minutes, 3);
        cr_assert_eq(d->groups[1].n_labels, 1);
        cr_assert_str_eq(d->groups[1].labels[0].key, "k y");
        cr_assert_str_eq(d->groups[1].labels[0].value, "v.1_2");
        cr_assert_str_eq(d->groups[1].states[0].name, "chan send (leaked)");
}

Test(godump, labels_mixed_and_escapes) {
        _cleanup_(godump_freep) struct godump *d = parse_str(
                BLOCK("goroutine 5 [select labels:{\"k\": \"\\x41\\u00e9\\U0001F600\\n\\t\\\\\"}]:", "0x1")
                BLOCK("goroutine 6 [select labels:{\"k\": \"\\x41\\u00e9\\U0001F600\\n\\t\\\\\"}]:", "0x2")
                BLOCK("goroutine 7 [chan send labels:{\"a\": \"1\", \"b\": \"x}]\"}]:", "0x3")
                BLOCK("goroutine 8 [chan send labels:{\"a\": \"2\"}]:", "0x3")
                BLOCK("goroutine 9 [chan send]:", "0x3"));
        const struct godump_group *g = &d->groups[0];

        /* One stack: labels are not in the key. */
        cr_assert_eq(d->n_groups, 1);
        cr_assert_eq(g->count, 5);
        cr_assert(g->labels_mixed);
        cr_assert_eq(g->n_labels, 0);
        cr_assert_eq(find_state(g, "select")->count, 2);
        cr_assert_eq(find_state(g, "chan send")->count, 3);
        {
                _cleanup_(godump_freep) struct godump *e = parse_str(
                        BLOCK("goroutine 5 [select labels:{\"k\": \"\\x41\\u00e9\\U0001F600\\n\\t\\\\\"}]:", "0x1")
                        BLOCK("goroutine 7 [select labels:{\"k\": \"\\x41\\u00e9\\U0001F600\\n\\t\\\\\"}]:", "0x1"));

                cr_assert_not(e->groups[0].labels_mixed);
                cr_assert_eq(e->groups[0].n_labels, 1);
                cr_assert_str_eq(e->groups[0].labels[0].value, "A\xc3\xa9\xf0\x9f\x98\x80\n\t\\");
        }
        {
                /* A quoted "}]" inside a value does not end the labels. */
                _cleanup_(godump_freep) struct godump *e = parse_str(
                        BLOCK("goroutine 7 [chan send, 3 minutes labels:{\"a\": \"1\", \"b\": \"x}]\"}]:", "0x3"));

                cr_assert_eq(e->groups[0].n_labels, 2);
                cr_assert_str_eq(e->groups[0].labels[1].value, "x}]");
                cr_assert_eq(e->groups[0].max_wait_minutes, 3);
                cr_assert_str_eq(e->groups[0].states[0].name, "chan send");
        }
}

Test(godump, key_ignores_args_offsets_ids_and_creator_goroutine) {
        _cleanup_(godump_freep) struct godump *d = parse_str(
                BLOCK("goroutine 5 [select]:", "0xc000010000, {0x9a5b90, 0xc000012eb8}")
                BLOCK("goroutine 77 gp=0xc000123 m=nil [select, 12 minutes]:", "...")
                "goroutine 8 [select (scan)]:\n"
                "main.work(0x5)\n"
                "\t/src/app/main.go:10 +0x99\n"
                "main.main.func1()\n"
                "\t/src/app/main.go:20\n"
                "created by main.main\n"       /* Go 1.19: no "in goroutine N" */
                "\t/src/app/main.go:19 +0x1\n\n"
                /* Another line in the creator: another group. */
                "goroutine 9 [select]:\n"
                "main.work(0x5)\n"
                "\t/src/app/main.go:10 +0x99\n"
                "main.main.func1()\n"
                "\t/src/app/main.go:20\n"
                "created by main.main in goroutine 3\n"
                "\t/src/app/main.go:18 +0x1\n");
        const struct godump_group *g = &d->groups[0];

        cr_assert_eq(d->n_groups, 2);
        cr_assert_eq(g->count, 3);
        cr_assert_eq(g->n_states, 1, "the scan bit is dropped");
        cr_assert_str_eq(g->states[0].name, "select");
        cr_assert_eq(g->max_wait_minutes, 12);
        cr_assert_eq(g->n_ids, 3);
        cr_assert_eq(g->ids[0], 5);
        cr_assert_eq(g->ids[1], 77);
        cr_assert_str_eq(g->frames[0].func, "main.work");
        cr_assert_str_eq(g->frames[0].file, "/src/app/main.go");
        cr_assert_eq(g->frames[0].line, 10);
        cr_assert_str_eq(g->creator.func, "main.main");
        cr_assert_eq(g->creator.line, 19);
        cr_assert_eq(d->groups[1].creator.line, 18);
        cr_assert_not(d->truncated, "a last block ending at its creator's line is whole");
}

Test(godump, function_names_with_parentheses_and_generics) {
        _cleanup_(godump_freep) struct godump *d = parse_str(
                "goroutine 1 [running]:\n"
                "net/http.(*Server).Serve(0xc0001780f0, {0x9a5b90, 0xc000012eb8})\n"
                "\t/usr/lib/go-1.19/src/net/http/server.go:3070 +0x385\n"
                "example.com/m/pkg.Map[...]({0xc0000, 0x3, 0x3}, 0x4b2f10)\n"
                "\tC:/Users/me/m/pkg/map.go:7 +0x6b\n"
                "panic({0x4b3f00, 0xc000012345})\n"
                "\t/usr/local/go/src/runtime/panic.go:860 +0x13a\n"
                "net/http.(*onceCloseListener).Accept(0x9a6488?)\n"
                "\t<autogenerated>:1 +0x2a\n");
        const struct godump_group *g = &d->groups[0];

        cr_assert_eq(g->n_frames, 4);
        cr_assert_str_eq(g->frames[0].func, "net/http.(*Server).Serve");
        cr_assert_str_eq(g->frames[1].func, "example.com/m/pkg.Map[...]");
        cr_assert_str_eq(g->frames[1].file, "C:/Users/me/m/pkg/map.go");
        cr_assert_eq(g->frames[1].line, 7);
        cr_assert_str_eq(g->frames[2].func, "panic");
        cr_assert_str_eq(g->frames[3].file, "<autogenerated>");
        cr_assert_eq(g->frames[3].line, 1);
        cr_assert_str_eq(godump_group_culprit(g)->func, "example.com/m/pkg.Map[...]");
}

static const char *culprit_of(const char *frames) {
        static char out[128];
        struct godump *d = NULL;
        char buf[2048];
        const struct godump_frame *c;

        snprintf(buf, sizeof buf, "goroutine 1 [running]:\n%s", frames);
        cr_assert_eq(godump_parse(buf, strlen(buf), &d), 0);
        c = godump_group_culprit(&d->groups[0]);
        snprintf(out, sizeof out, "%s", c ? c->func : "(none)");
        godump_free(d);
        return out;
}

Test(godump, culprit_rules) {
        cr_assert_str_eq(culprit_of("runtime.gopark()\n\tx.go:1\nsync.(*Mutex).Lock()\n\tx.go:2\n"
                                    "vendor/golang.org/x/net/http2.(*Framer).ReadFrame()\n\tx.go:3\n"
                                    "crypto/tls.(*Conn).Read()\n\tx.go:4\nbufio.(*Reader).Read()\n\tx.go:5\n"
                                    "github.com/acme/svc/internal/db.(*Pool).Get()\n\tx.go:6\nmain.main()\n\tx.go:7\n"),
                         "github.com/acme/svc/internal/db.(*Pool).Get");
        /* A module whose first element merely starts like a std package. */
        cr_assert_str_eq(culprit_of("io.Copy()\n\tx.go:1\nnet.example.com/x.F()\n\tx.go:2\n"), "net.example.com/x.F");
        /* GOPATH mode (Debian's Go 1.19): no dot, not std either. */
        cr_assert_str_eq(culprit_of("internal/poll.(*FD).Read()\n\tx.go:1\ngoleaky/store.Load()\n\tx.go:2\n"),
                         "goleaky/store.Load");
        cr_assert_str_eq(culprit_of("panic({0x1, 0x2})\n\tx.go:1\ntype:.eq.main.T()\n\tx.go:2\n"
                                    "main.(*T).String()\n\tx.go:3\n"), "main.(*T).String");
        /* Only std frames: the creator when it is the user's. */
        cr_assert_str_eq(culprit_of("runtime.gopark()\n\tx.go:1\ntime.Sleep()\n\tx.go:2\n"
                                    "created by example.org/w.Start in goroutine 1\n\tw.go:9\n"), "example.org/w.Start");
        cr_assert_str_eq(culprit_of("runtime.gopark()\n\tx.go:1\ncreated by runtime.gcenable\n\tx.go:2\n"), "(none)");
        cr_assert_null(godump_group_culprit(NULL));
}

Test(godump, sigquit_go123_headers_and_system_goroutines) {
        _cleanup_(godump_freep) struct godump *d = parse_fixture("go126-sigquit-crash-labels.txt");
        uint64_t zero = 0;

        /* GOTRACEBACK=crash: "goroutine 0 gp=.. m=N mp=.. [idle]:" per M,
         * registers after each, "-----" between. */
        for (size_t i = 0; i < d->n_groups; i++)
                for (size_t k = 0; k < d->groups[i].n_ids; k++)
                        zero += d->groups[i].ids[k] == 0;
        cr_assert_geq(zero, 3, "the Ms' g0s");
        cr_assert_str_eq(d->reason, "SIGQUIT: quit");
        cr_assert_eq(d->lines_skipped, 0);
}

Test(godump, stack_unavailable_and_elided) {
        _cleanup_(godump_freep) struct godump *d = parse_str(
                "goroutine 3 [running]:\n"
                "\tgoroutine running on other thread; stack unavailable\n"
                "created by main.main in goroutine 1\n"
                "\t/src/app/main.go:9 +0x1\n\n"
                "goroutine 4 [chan receive]:\n"
                "main.deep(0x1)\n\t/src/app/main.go:5 +0x1\n"
                "...51 frames elided...\n"
                "main.deep(0x1)\n\t/src/app/main.go:5 +0x1\n\n");
        _cleanup_(godump_freep) struct godump *go126 = parse_fixture("go126-repanic-deep.txt");

        cr_assert_eq(d->n_groups, 2);
        for (size_t i = 0; i < 2; i++) {
                const struct godump_group *g = &d->groups[i];

                if (g->ids[0] == 3) {
                        cr_assert(g->stack_unavailable);
                        cr_assert_eq(g->n_frames, 0);
                        cr_assert_str_eq(godump_group_culprit(g)->func, "main.main");
                } else {
                        cr_assert(g->elided);
                        cr_assert_eq(g->n_frames, 2);
                }
        }
        cr_assert(go126->groups[0].elided);
        cr_assert_eq(go126->groups[0].n_frames, 100);
        cr_assert_str_eq(go126->reason, "panic: first [recovered]; panic: first again");
}

Test(godump, panic_reason_with_signal) {
        _cleanup_(godump_freep) struct godump *d = parse_fixture("go126-panic-nilptr.txt");

        cr_assert_str_eq(d->reason, "panic: runtime error: invalid memory address or nil pointer dereference; "
                                    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47a740]");
        cr_assert_str_eq(d->groups[0].frames[0].func, "main.read");
        cr_assert_eq(d->groups[0].frames[0].line, 5);
}

Test(godump, count_profile_with_labels) {
        _cleanup_(godump_freep) struct godump *d = parse_str(
                "goroutine profile: total 7\n"
                "4 @ 0x43e3b6 0x4085fb 0x81b665 0x46f501\n"
                "# labels: {\"job\":\"ingest\", \"tenant\":\"a\"}\n"
                "#\t0x81b664\tmain.worker+0x24\t\t/src/app/main.go:52\n"
                "#\t0x81b6ba\tmain.main.func1+0x3a\t/src/app/main.go:58\n"
                "\n"
                "3 @ 0x43e3b6 0x46f501\n"
                "#\t0x469784\truntime/pprof.runtime_goroutineProfileWithLabels+0x24\t/usr/lib/go/src/runtime/mprof.go:846\n"
                "\n");

        cr_assert_eq(d->format, GODUMP_COUNT_PROFILE);
        cr_assert_eq(d->profile_total, 7);
        cr_assert_eq(d->goroutines, 7);
        cr_assert_eq(d->n_groups, 2);
        cr_assert_eq(d->groups[0].count, 4);
        cr_assert_eq(d->groups[0].n_frames, 2);
        cr_assert_str_eq(d->groups[0].frames[0].func, "main.worker");
        cr_assert_str_eq(d->groups[0].frames[0].file, "/src/app/main.go");
        cr_assert_eq(d->groups[0].n_labels, 2);
        cr_assert_str_eq(d->groups[0].labels[1].value, "a");
        cr_assert_not(d->truncated);
}

/* Cuts of real dumps: whatever was whole is grouped, and the cut is said. */
Test(godump, truncated) {
        _cleanup_free_ char *b = NULL;
        size_t n;
        static const char *const cuts[] = {
                "goroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:3",   /* no final newline */
                "goroutine 1 [running]:\nmain.main()\n",                       /* frame without its file */
                "goroutine 1 [running]:\nmain.main()\n\t/src/x.go:3 +0x1\n\ngoroutine 2 [select]:\n", /* bare header */
                "goroutine 1 [running]:\nmain.main()\n\t/src/x.go:3 +0x1\ncreated by main.x\n",
                "goroutine profile: total 10\n4 @ 0x1\n#\t0x1\tmain.f+0x1\t/x.go:1\n\n",   /* 4 of 10 */
        };

        for (size_t i = 0; i < ELEMENTSOF(cuts); i++) {
                _cleanup_(godump_freep) struct godump *d = parse_str(cuts[i]);

                cr_assert(d->truncated, "cut %zu", i);
        }
        b = load("go119-sigquit-minutes.txt", &n);
        for (size_t cut = n / 7; cut < n; cut += n / 7) {
                _cleanup_(godump_freep) struct godump *d = NULL;
                const char *nl;

                /* Cut inside a goroutine's frame line. */
                nl = memmem(b + cut, n - cut, "\n\t/", 3);
                if (!nl)
                        break;
                cr_assert_eq(godump_parse(b, (size_t)(nl - b) + 6, &d), 0);
                cr_assert(d->truncated, "cut at %zu", (size_t)(nl - b) + 6);
                check_invariants("cut", d);
        }
}

static char *to_crlf(const char *b, size_t n, size_t *ret_n) {
        char *o = malloc(n * 2 + 1);
        size_t k = 0;

        cr_assert_not_null(o);
        for (size_t i = 0; i < n; i++) {
                if (b[i] == '\n')
                        o[k++] = '\r';
                o[k++] = b[i];
        }
        *ret_n = k;
        return o;
}

Test(godump, crlf_same_as_lf) {
        static const char *const files[] = { "go126-sigquit-all-labels.txt", "pprof-goroutine-minutes-debug1.txt",
                                             "go119-fetchleak-sigquit.txt" };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *b = NULL, *c = NULL, *t1 = NULL, *t2 = NULL;
                _cleanup_(godump_freep) struct godump *d1 = NULL, *d2 = NULL;
                size_t n, cn, l1, l2;

                b = load(files[i], &n);
                c = to_crlf(b, n, &cn);
                cr_assert_eq(godump_parse(b, n, &d1), 0);
                cr_assert_eq(godump_parse(c, cn, &d2), 0);
                cr_assert_eq(godump_write_text(d1, 0, 0, &t1, &l1), 0);
                cr_assert_eq(godump_write_text(d2, 0, 0, &t2, &l2), 0);
                cr_assert_str_eq(t1, t2, "%s", files[i]);
                cr_assert_eq(d2->lines_skipped, 0);
        }
}

Test(godump, garbage) {
        struct godump *d = (struct godump *)0x1;
        char junk[4096];
        uint32_t x = 12345;

        cr_assert_eq(godump_parse("", 0, &d), -EBADMSG);
        cr_assert_eq(godump_parse(NULL, 0, &d), -EBADMSG);
        cr_assert_eq(godump_parse(NULL, 5, &d), -EINVAL);
        cr_assert_eq(godump_parse("hello\nworld\n", 12, &d), -EBADMSG);
        cr_assert_eq(godump_parse("goroutine x [running]:\n", 23, &d), -EBADMSG);
        cr_assert_eq(godump_parse("goroutine 1 running:\n", 21, &d), -EBADMSG);
        cr_assert_eq(godump_parse("goroutine profile: total 3\n", 27, &d), -EBADMSG);
        for (size_t i = 0; i < sizeof junk; i++) {
                x = x * 1103515245 + 12345;
                junk[i] = (char)(x >> 16);
        }
        cr_assert_eq(godump_parse(junk, sizeof junk, &d), -EBADMSG);
        cr_assert_eq(d, (struct godump *)0x1, "untouched on failure");
        {
                /* Unknown lines and NUL bytes among goroutines: skipped, counted. */
                static const char s[] = "hello\n"
                                        "goroutine 1 [running]:\n"
                                        "main.main()\n\t/x.go:3 +0x1\n"
                                        "what is this\n"
                                        "\n"
                                        "\0\0\0\n"
                                        "rax    0xzz\n"
                                        "goroutine 2 [select]:\n"
                                        "main.f()\n\t/x.go:4 +0x1\n";
                _cleanup_(godump_freep) struct godump *e = NULL;

                cr_assert_eq(godump_parse(s, sizeof s - 1, &e), 0);
                cr_assert_eq(e->goroutines, 2);
                cr_assert_eq(e->lines_skipped, 4);
                cr_assert_eq(e->lines, 11);
        }
}

Test(godump, bounds_groups_and_goroutines) {
        size_t cap = 150000 * 64, n = 0;
        _cleanup_free_ char *b = malloc(cap);
        _cleanup_(godump_freep) struct godump *d = NULL;

        cr_assert_not_null(b);
        /* 5000 distinct stacks (by line), then 100000 more of one stack. */
        for (unsigned i = 0; i < 5000; i++)
                n += (size_t)snprintf(b + n, cap - n, "goroutine %u [select]:\nmain.f()\n\t/x.go:%u +0x1\n\n", i, i + 1);
        for (unsigned i = 0; i < 100000; i++)
                n += (size_t)snprintf(b + n, cap - n, "goroutine %u [select]:\nmain.f()\n\t/x.go:1 +0x1\n\n", i + 5000);
        cr_assert_eq(godump_parse(b, n, &d), 0);
        cr_assert(d->capped);
        cr_assert_eq(d->goroutines, GODUMP_MAX_GOROUTINES);
        cr_assert_eq(d->n_groups, GODUMP_MAX_GROUPS);
        cr_assert_eq(d->other_goroutines, 5000 - GODUMP_MAX_GROUPS);
        cr_assert_eq(d->groups[0].count, GODUMP_MAX_GOROUTINES - 5000 + 1);
        check_invariants("bounds", d);
}

Test(godump, bounds_frames_lines_input) {
        size_t cap = 1 << 20, n = 0;
        _cleanup_free_ char *b = malloc(GODUMP_MAX_INPUT + 1);
        _cleanup_(godump_freep) struct godump *d = NULL, *e = NULL;
        struct godump *f = NULL;

        cr_assert_not_null(b);
        n += (size_t)snprintf(b + n, cap - n, "goroutine 1 [select]:\n");
        for (unsigned i = 0; i < 300; i++)
                n += (size_t)snprintf(b + n, cap - n, "main.f%u()\n\t/x.go:%u +0x1\n", i, i);
        n += (size_t)snprintf(b + n, cap - n, "created by main.main\n\t/x.go:1 +0x1\n\n");
        cr_assert_eq(godump_parse(b, n, &d), 0);
        cr_assert_eq(d->groups[0].n_frames, GODUMP_MAX_FRAMES);
        cr_assert(d->groups[0].elided);
        cr_assert_str_eq(d->groups[0].creator.func, "main.main", "frames past the bound do not eat the creator");
        cr_assert_eq(d->lines_skipped, 0);

        /* A line past GODUMP_MAX_LINE is skipped whole. */
        n = (size_t)snprintf(b, cap, "goroutine 1 [select]:\nmain.f()\n\t/x.go:1 +0x1\n");
        memset(b + n, 'a', GODUMP_MAX_LINE + 1);
        n += GODUMP_MAX_LINE + 1;
        b[n++] = '\n';
        cr_assert_eq(godump_parse(b, n, &e), 0);
        cr_assert_eq(e->lines_skipped, 1);
        cr_assert_eq(e->groups[0].n_frames, 1);

        memset(b, '\n', GODUMP_MAX_INPUT + 1);
        cr_assert_eq(godump_parse(b, GODUMP_MAX_INPUT + 1, &f), -EFBIG);
        cr_assert_null(f);
}

Test(godump, json_output) {
        _cleanup_(godump_freep) struct godump *d = parse_fixture("go126-sigquit-all-labels.txt");
        _cleanup_(json_doc_freep) struct json_doc *doc = NULL;
        _cleanup_free_ char *s = NULL;
        struct json_writer w;
        struct json_limits lim = { .max_depth = 16, .max_nodes = 1 << 20 };
        const struct json_value *g, *labels;
        size_t len;

        json_writer_init(&w, 1 << 24);
        godump_write_json(&w, d, 2);
        cr_assert_eq(json_writer_steal(&w, &s, &len), 0);
        json_writer_done(&w);
        cr_assert_eq(json_parse(s, len, &lim, &doc, NULL), 0, "%s", s);
        cr_assert_str_eq(json_get_string(doc->root, "format"), "traceback");
        cr_assert_eq(json_get(doc->root, "goroutines")->integer, 14);
        cr_assert_eq(json_get(doc->root, "groups_total")->integer, 8);
        cr_assert_eq(json_get(doc->root, "groups")->n_children, 2);
        g = json_get(doc->root, "groups")->child;
        cr_assert_eq(json_get(g, "count")->integer, 5);
        cr_assert_str_eq(json_get_string(g, "culprit"), "main.worker");
        cr_assert_str_eq(json_get_string(g, "header"), "[chan receive]");
        cr_assert_str_eq(json_get_string(json_get(g, "states")->child, "state"), "chan receive");
        cr_assert_str_eq(json_get_string(json_get(g, "creator"), "func"), "main.main");
        labels = json_get(g, "labels");
        cr_assert_eq(labels->type, JSON_OBJECT);
        cr_assert_str_eq(json_get_string(labels, "tenant"), "a\"b");
        cr_assert_eq(json_get(g->next, "labels")->type, JSON_NULL);
        cr_assert_eq(json_get(g, "goroutine_ids")->n_children, 5);
}

Test(godump, text_count_profile_and_limits) {
        _cleanup_(godump_freep) struct godump *d = parse_fixture("go126-leakprof-goroutineleak-debug1.txt");
        _cleanup_(godump_freep) struct godump *m = parse_fixture("go119-pprof-minutes-debug2.txt");
        _cleanup_free_ char *t = NULL, *u = NULL;
        size_t len;

        cr_assert_eq(godump_write_text(d, 0, 0, &t, &len), 0);
        cr_assert_not_null(strstr(t, "20 goroutines in 1 group (goroutineleak count profile;"), "%s", t);
        cr_assert_not_null(strstr(t, ", total 20\n"));
        cr_assert_not_null(strstr(t, "\n20 goroutines in main.leakOrphans.func1\n"), "%s", t);
        cr_assert_eq(godump_write_text(m, 1, 1, &u, &len), 0);
        cr_assert_not_null(strstr(u, "\n1000 goroutines [chan receive, 1 minutes] in main.leakedGoroutine\n"), "%s", u);
        cr_assert_not_null(strstr(u, "... 5 more groups\n"), "%s", u);
        cr_assert_not_null(strstr(u, "  goroutines: "), "%s", u);
}

/* Found by fuzz_godump: a traceback whose header got cut, with a count
 * profile record pasted after it. One dump, one form: the record's lines
 * are unknown lines, and every group's states account for its count. */
Test(godump, fuzz_mixed_forms) {
        _cleanup_(godump_freep) struct godump *d = parse_fixture("fuzz-mixed-forms.txt");
        _cleanup_(godump_freep) struct godump *p = parse_str(
                "goroutine profile: total 2\n"
                "1 @ 0x1\n#\t0x1\tmain.f+0x1\t/x.go:1\n\n"
                "goroutine 5 [select]:\nmain.g()\n\t/x.go:2 +0x1\n\n"
                "1 @ 0x1\n#\t0x1\tmain.f+0x1\t/x.go:1\n\n");

        cr_assert_eq(d->format, GODUMP_TRACEBACK);
        cr_assert_eq(d->goroutines, 8);
        cr_assert_gt(d->lines_skipped, 10);
        check_invariants("fuzz-mixed-forms.txt", d);
        cr_assert_eq(p->format, GODUMP_COUNT_PROFILE);
        cr_assert_eq(p->goroutines, 2);
        cr_assert_eq(p->n_groups, 1);
        cr_assert_eq(p->lines_skipped, 3);
        check_invariants("mixed count profile", p);
}

/* Found by fuzz_godump: a record counting 0 made an empty group. */
Test(godump, fuzz_zero_count_record) {
        _cleanup_(godump_freep) struct godump *d = parse_str(
                "goroutineleak profile: total 1\n"
                "0 @ 0x1\n#\t0x1\tmain.f+0x1\t/x.go:1\n\n"
                "1 @ 0x2\n#\t0x2\tmain.g+0x1\t/x.go:2\n\n");

        cr_assert_eq(d->n_groups, 1);
        cr_assert_str_eq(d->groups[0].frames[0].func, "main.g");
        cr_assert_eq(d->lines_skipped, 2);
        check_invariants("zero count", d);
}

/* Headers as the runtimes print them, 1.19 to 1.26 (goroutineheader):
 * the state, the wait, the lock, and what is dropped. */
Test(godump, header_forms) {
        static const struct {
                const char *header;
                const char *state;
                uint64_t wait;
                bool locked;
                uint64_t id;
        } c[] = {
                { "goroutine 12 [chan receive, 12 minutes]:", "chan receive", 12, false, 12 },
                { "goroutine 3 [select, locked to thread]:", "select", 0, true, 3 },
                { "goroutine 4 [sync.Mutex.Lock]:", "sync.Mutex.Lock", 0, false, 4 },
                { "goroutine 5 [IO wait]:", "IO wait", 0, false, 5 },
                { "goroutine 6 [semacquire, 3 minutes]:", "semacquire", 3, false, 6 },
                { "goroutine 7 [sleep]:", "sleep", 0, false, 7 },
                { "goroutine 8 [running]:", "running", 0, false, 8 },
                { "goroutine 9 [syscall, 1440 minutes, locked to thread]:", "syscall", 1440, true, 9 },
                { "goroutine 10 [GC worker (idle)]:", "GC worker (idle)", 0, false, 10 },
                { "goroutine 11 [chan receive (nil chan)]:", "chan receive (nil chan)", 0, false, 11 },
                { "goroutine 13 [chan receive (durable), synctest bubble 2]:", "chan receive (durable)", 0, false, 13 },
                { "goroutine 14 [select (scan), 2 minutes]:", "select", 2, false, 14 },
                { "goroutine 15 [chan send (leaked)]:", "chan send (leaked)", 0, false, 15 },
                { "goroutine 16 gp=0xc000007340 m=4 mp=0xc000100008 [runnable]:", "runnable", 0, false, 16 },
                { "goroutine 17 gp=0xc000007500 m=nil [sync.WaitGroup.Wait, 5 minutes]:", "sync.WaitGroup.Wait", 5, false, 17 },
                { "goroutine 18446744073709551615 [select]:", "select", 0, false, UINT64_MAX },
                { "goroutine 19 [select, 7 minutes, locked to thread labels:{\"a\": \"b\"}]:", "select", 7, true, 19 },
        };

        for (size_t i = 0; i < ELEMENTSOF(c); i++) {
                _cleanup_(godump_freep) struct godump *d = NULL;
                char buf[256];
                const struct godump_group *g;

                snprintf(buf, sizeof buf, "%s\nmain.f()\n\t/x.go:1 +0x1\n", c[i].header);
                cr_assert_eq(godump_parse(buf, strlen(buf), &d), 0, "%s", c[i].header);
                g = &d->groups[0];
                cr_assert_eq(d->lines_skipped, 0, "%s", c[i].header);
                cr_assert_str_eq(g->states[0].name, c[i].state, "%s", c[i].header);
                cr_assert_eq(g->max_wait_minutes, c[i].wait, "%s", c[i].header);
                cr_assert_eq(g->n_locked, c[i].locked ? 1 : 0, "%s", c[i].header);
                cr_assert_eq(g->ids[0], c[i].id, "%s", c[i].header);
        }
        /* Not headers: skipped, and nothing else in the input, so no dump. */
        static const char *const bad[] = {
                "goroutine 1 [select]", "goroutine 1 select]:", "goroutine  1 [select]:",
                "goroutine 1 gp=[x] [select]:", "goroutine 99999999999999999999 [select]:",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct godump *d = NULL;
                char buf[256];

                snprintf(buf, sizeof buf, "%s\nmain.f()\n\t/x.go:1 +0x1\n", bad[i]);
                cr_assert_eq(godump_parse(buf, strlen(buf), &d), -EBADMSG, "%s", bad[i]);
        }
}
