/* Unit tests for cgstat.c: the parsers on captures from this host
 * (tests/fixtures/cgstat, see its README) and on hand-made v2 files and
 * broken input; the sampler on fixture trees; and live, as root, on a real
 * v1 cpu cgroup with a 0.5 CPU quota and a sub-cgroup without one. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gorral/cgstat.h"
#include "gorral/util.h"

#define FX FIXTURES "/cgstat/"
#define S(lit) (lit), (sizeof(lit) - 1)

/* Parsers get exactly n bytes, no terminator, in a heap buffer of that
 * size: ASan catches a read past n. */
static char *dup_exact(const char *s, size_t n) {
        char *b = malloc(n ? n : 1);

        cr_assert(b);
        memcpy(b, s, n);
        return b;
}

static char *slurp(const char *name, size_t *n) {
        _cleanup_free_ char *path = path_join(FX, name);
        char *buf = NULL, *exact;

        cr_assert_eq(read_file(path, 1 << 16, &buf, n), 0, "reading %s", path);
        exact = dup_exact(buf, *n);
        free(buf);
        return exact;
}

static int cpu_stat(const char *s, size_t n, struct cg_cpu_stat *st, struct cg_parse_error *e) {
        _cleanup_free_ char *b = dup_exact(s, n);
        return cg_parse_cpu_stat(b, n, st, e);
}
static int pressure(const char *s, size_t n, struct cg_pressure *p, struct cg_parse_error *e) {
        _cleanup_free_ char *b = dup_exact(s, n);
        return cg_parse_pressure(b, n, p, e);
}

/* ---- cpu.stat ---- */

Test(cpu_stat, v1_quota_holder_capture) {
        size_t n;
        _cleanup_free_ char *b = slurp("v1-quota-cpu.stat", &n);
        struct cg_cpu_stat st;

        cr_assert_eq(cg_parse_cpu_stat(b, n, &st, NULL), 0);
        cr_assert_eq(st.present, CG_CPU_STAT_PERIODS | CG_CPU_STAT_THROTTLED | CG_CPU_STAT_THROTTLED_USEC |
                                         CG_CPU_STAT_BURSTS | CG_CPU_STAT_BURST_USEC);
        cr_assert_eq(st.nr_periods, 58);
        cr_assert_eq(st.nr_throttled, 54);
        cr_assert_eq(st.throttled_usec, 1891937, "throttled_time 1891937617 ns -> us, rounded down");
        cr_assert_eq(st.nr_bursts, 0);
}

Test(cpu_stat, v1_sub_cgroup_shows_nothing_local_shows_it) {
        size_t n, nl;
        _cleanup_free_ char *b = slurp("v1-sub-cpu.stat", &n), *l = slurp("v1-sub-cpu.stat.local", &nl);
        struct cg_cpu_stat st, loc;

        /* The fact the sampler is built on: the child without a quota of
         * its own says 0 while its parent throttles it. */
        cr_assert_eq(cg_parse_cpu_stat(b, n, &st, NULL), 0);
        cr_assert_eq(st.nr_throttled, 0);
        cr_assert_eq(st.throttled_usec, 0);
        cr_assert_eq(cg_parse_cpu_stat(l, nl, &loc, NULL), 0);
        cr_assert_eq(loc.present, CG_CPU_STAT_THROTTLED_USEC);
        cr_assert_eq(loc.throttled_usec, 1891937);
}

Test(cpu_stat, unified_captures) {
        size_t n, ne;
        _cleanup_free_ char *b = slurp("unified-cpu.stat", &n), *r = NULL, *e = slurp("unified-cpu.stat.local", &ne);
        struct cg_cpu_stat st;

        cr_assert_eq(cg_parse_cpu_stat(b, n, &st, NULL), 0);
        cr_assert_eq(st.present, CG_CPU_STAT_USAGE | CG_CPU_STAT_USER | CG_CPU_STAT_SYSTEM, "nice_usec is skipped");
        cr_assert_eq(st.usage_usec, 2779287);
        cr_assert_eq(st.user_usec, 2779287);
        cr_assert_eq(st.system_usec, 0);
        r = slurp("unified-root-cpu.stat", &n);
        cr_assert_eq(cg_parse_cpu_stat(r, n, &st, NULL), 0);
        cr_assert_eq(st.usage_usec, 7169335315ULL);
        /* No cpu controller on this cgroup2: an empty cpu.stat.local. */
        cr_assert_eq(ne, 0);
        cr_assert_eq(cg_parse_cpu_stat(e, ne, &st, NULL), 0);
        cr_assert_eq(st.present, 0);
}

Test(cpu_stat, v2_hand_made_with_throttling) {
        size_t n;
        _cleanup_free_ char *b = slurp("v2/cpu.stat", &n);
        struct cg_cpu_stat st;

        cr_assert_eq(cg_parse_cpu_stat(b, n, &st, NULL), 0);
        cr_assert_eq(st.present, 0xffu);
        cr_assert_eq(st.usage_usec, 8123456);
        cr_assert_eq(st.user_usec, 6000000);
        cr_assert_eq(st.system_usec, 2123456);
        cr_assert_eq(st.nr_periods, 420);
        cr_assert_eq(st.nr_throttled, 97);
        cr_assert_eq(st.throttled_usec, 3141592);
        cr_assert_eq(st.nr_bursts, 2);
        cr_assert_eq(st.burst_usec, 1500);
}

Test(cpu_stat, only_n_bytes) {
        struct cg_cpu_stat st;

        /* "nr_throttled 12" cut after "1": the byte past n is not read. */
        cr_assert_eq(cpu_stat("nr_throttled 12", 14, &st, NULL), 0);
        cr_assert_eq(st.nr_throttled, 1);
}

Test(cpu_stat, malformed_with_position) {
        static const struct {
                const char *s;
                size_t n;
                unsigned line, col;
                const char *reason;
        } bad[] = {
                { S("usage_usec 1\nnr_throttled x\n"), 2, 14, "value is not an unsigned decimal number" },
                { S("usage_usec\n"), 1, 11, "no space between key and value" },
                { S(" usage_usec 1\n"), 1, 1, "empty key" },
                { S("usage_usec 1\n\n"), 2, 1, "no space between key and value" },
                { S("usage_usec -1\n"), 1, 12, "value is not an unsigned decimal number" },
                { S("usage_usec 1 2\n"), 1, 12, "value is not an unsigned decimal number" },
                { S("usage_usec 99999999999999999999\n"), 1, 12, "value is not an unsigned decimal number" },
                { S("usage_usec 1\r\n"), 1, 12, "value is not an unsigned decimal number" },
                { S("usa\0ge 1\n"), 1, 4, "NUL byte in the key" },
                { S("throttled_usec 1\nthrottled_time 1000\n"), 1, 1, "both throttled_usec and throttled_time" },
                { S("burst_usec 1\nburst_time 1000\n"), 1, 1, "both burst_usec and burst_time" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct cg_parse_error e = {};
                struct cg_cpu_stat st;

                cr_assert_eq(cpu_stat(bad[i].s, bad[i].n, &st, &e), -EBADMSG, "case %zu", i);
                cr_expect_eq(e.line, bad[i].line, "case %zu: line %u", i, e.line);
                cr_expect_eq(e.column, bad[i].col, "case %zu: column %u", i, e.column);
                cr_expect_str_eq(e.reason, bad[i].reason, "case %zu", i);
        }
}

/* ---- memory.events, memory.oom_control ---- */

Test(memory_events, hand_made_v2) {
        size_t n;
        _cleanup_free_ char *b = slurp("v2/memory.events", &n);
        struct cg_memory_events ev;

        cr_assert_eq(cg_parse_memory_events(b, n, &ev, NULL), 0);
        cr_assert_eq(ev.present, 0x3fu);
        cr_assert_eq(ev.low, 0);
        cr_assert_eq(ev.high, 12);
        cr_assert_eq(ev.max, 7);
        cr_assert_eq(ev.oom, 2);
        cr_assert_eq(ev.oom_kill, 1);
        cr_assert_eq(ev.oom_group_kill, 0);
}

Test(memory_events, older_kernel_and_unknown_keys) {
        _cleanup_free_ char *b = dup_exact(S("low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\nsock_throttled 9\n"));
        struct cg_memory_events ev;
        struct cg_parse_error e;

        cr_assert_eq(cg_parse_memory_events(b, strlen("low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\nsock_throttled 9\n"), &ev, NULL), 0);
        cr_assert_eq(ev.present & CG_MEM_EVENT_OOM_GROUP_KILL, 0, "oom_group_kill absent, not 0");
        cr_assert_eq(ev.oom_kill, 5);
        cr_assert_eq(cg_parse_memory_events("oom_kill one\n", 13, &ev, &e), -EBADMSG);
        cr_assert_eq(e.line, 1);
        cr_assert_eq(e.column, 10);
}

Test(oom_control, captures) {
        size_t n;
        _cleanup_free_ char *b = slurp("v1-oom-memory.oom_control", &n), *r = NULL;
        struct cg_oom_control oc;

        cr_assert_eq(cg_parse_oom_control(b, n, &oc, NULL), 0);
        cr_assert_eq(oc.present, CG_OOM_KILL_DISABLE | CG_OOM_UNDER_OOM | CG_OOM_KILL);
        cr_assert_eq(oc.oom_kill, 1, "captured after a real OOM kill in a 16 MiB v1 cgroup");
        cr_assert_eq(oc.under_oom, 0);
        r = slurp("v1-root-memory.oom_control", &n);
        cr_assert_eq(cg_parse_oom_control(r, n, &oc, NULL), 0);
        cr_assert_eq(oc.oom_kill, 0);
        /* Before Linux 4.13: no oom_kill line. */
        cr_assert_eq(cg_parse_oom_control("oom_kill_disable 0\nunder_oom 1\n", 30, &oc, NULL), 0);
        cr_assert_eq(oc.present, CG_OOM_KILL_DISABLE | CG_OOM_UNDER_OOM);
        cr_assert_eq(oc.under_oom, 1);
}

/* ---- pressure ---- */

Test(pressure, captures) {
        size_t n;
        _cleanup_free_ char *b = slurp("unified-cpu.pressure", &n), *s = NULL;
        struct cg_pressure p;

        cr_assert_eq(cg_parse_pressure(b, n, &p, NULL), 0);
        cr_assert(p.has_some && p.has_full);
        cr_assert_eq(p.some.avg10, 1059);
        cr_assert_eq(p.some.avg60, 278);
        cr_assert_eq(p.some.avg300, 62);
        cr_assert_eq(p.some.total_usec, 2191617);
        cr_assert_eq(p.full.total_usec, 2190050);
        s = slurp("proc-pressure-cpu", &n);
        cr_assert_eq(cg_parse_pressure(s, n, &p, NULL), 0);
        cr_assert_eq(p.some.avg10, 4534);
        cr_assert_eq(p.some.total_usec, 1307633245);
        cr_assert(p.has_full);
        cr_assert_eq(p.full.total_usec, 0);
        for (const char *const *f = (const char *const[]){ "unified-io.pressure", "unified-memory.pressure",
                                                            "unified-root-memory.pressure", NULL };
             *f; f++) {
                _cleanup_free_ char *x = slurp(*f, &n);
                cr_assert_eq(cg_parse_pressure(x, n, &p, NULL), 0, "%s", *f);
                cr_assert(p.has_some && p.has_full, "%s", *f);
        }
}

Test(pressure, cpu_without_full_and_extremes) {
        size_t n;
        _cleanup_free_ char *a = slurp("v2/cpu.pressure", &n), *b = NULL;
        struct cg_pressure p;

        cr_assert_eq(cg_parse_pressure(a, n, &p, NULL), 0);
        cr_assert(p.has_some);
        cr_assert(!p.has_full, "kernels before 5.13: no full line for cpu");
        cr_assert_eq(p.some.avg10, 125);
        cr_assert_eq(p.some.avg60, 50);
        cr_assert_eq(p.some.avg300, 10);
        b = slurp("v2/io.pressure", &n);
        cr_assert_eq(cg_parse_pressure(b, n, &p, NULL), 0);
        cr_assert_eq(p.some.avg10, 10000);
        cr_assert_eq(p.some.avg60, 9999);
        cr_assert_eq(p.some.total_usec, UINT64_MAX);
        cr_assert_eq(p.full.avg10, 1);
        /* An unknown line and an unknown field are skipped. */
        cr_assert_eq(pressure(S("some avg10=0.10 avg60=0.00 avg300=0.00 total=5 avg1=0.00\n"
                                "peak avg10=1.00\n"),
                              &p, NULL),
                     0);
        cr_assert_eq(p.some.avg10, 10);
        cr_assert(!p.has_full);
        cr_assert_eq(pressure(S(""), &p, NULL), 0);
        cr_assert(!p.has_some && !p.has_full);
}

Test(pressure, malformed_with_position) {
        static const struct {
                const char *s;
                size_t n;
                unsigned line, col;
                const char *reason;
        } bad[] = {
                { S("some avg10=0.00 avg60=0.00 avg300=0.00\n"), 1, 39, "avg10, avg60, avg300 or total missing" },
                { S("some avg10=0.0 avg60=0.00 avg300=0.00 total=0\n"), 1, 12, "average is not a D.DD percentage" },
                { S("some avg10=.00 avg60=0.00 avg300=0.00 total=0\n"), 1, 12, "average is not a D.DD percentage" },
                { S("some avg10=1,00 avg60=0.00 avg300=0.00 total=0\n"), 1, 12, "average is not a D.DD percentage" },
                { S("some avg10=0.00 avg60=0.00 avg300=0.00 total=-1\n"), 1, 46, "total is not an unsigned decimal number" },
                { S("some avg10=0.00  avg60=0.00 avg300=0.00 total=0\n"), 1, 17, "expected name=value" },
                { S("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
                  2, 1, "line given twice" },
                { S("some avg10=0.00 avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"), 1, 17, "field given twice" },
                { S("garbage\n"), 1, 1, "not a \"some\" or \"full\" line" },
                { S("some\n"), 1, 5, "avg10, avg60, avg300 or total missing" },
                { S("\n"), 1, 1, "not a \"some\" or \"full\" line" },
                { S("full\tavg10=0.00 avg60=0.00 avg300=0.00 total=0\n"), 1, 1, "not a \"some\" or \"full\" line" },
                { S("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\0\n"), 1, 47, "NUL byte" },
                { S("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\r\n"), 1, 46, "total is not an unsigned decimal number" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct cg_parse_error e = {};
                struct cg_pressure p;

                cr_assert_eq(pressure(bad[i].s, bad[i].n, &p, &e), -EBADMSG, "case %zu", i);
                cr_expect_eq(e.line, bad[i].line, "case %zu: line %u", i, e.line);
                cr_expect_eq(e.column, bad[i].col, "case %zu: column %u", i, e.column);
                cr_expect_str_eq(e.reason, bad[i].reason, "case %zu", i);
        }
}

/* ---- the sampler on fixture trees ---- */

static uint64_t get(const struct cg_usage *u, enum cg_usage_field f) {
        uint64_t v = 0;

        cr_assert(cg_usage_get(u, f, &v), "%s absent", cg_usage_field_name(f));
        return v;
}
static void absent(const struct cg_usage *u, enum cg_usage_field f) {
        uint64_t v;

        cr_assert(!cg_usage_get(u, f, &v), "%s present (%llu)", cg_usage_field_name(f), (unsigned long long)v);
}

Test(sampler, pure_v2_tree) {
        struct cg_sampler_paths p = { .v2_dir = FX "v2" };
        struct cg_sampler *s = NULL;
        const struct cg_sample_error *errs;
        struct cg_usage u;
        uint64_t t;

        cr_assert_eq(cg_sampler_open(&p, &s), 0);
        cr_assert_eq(cg_sampler_read(s, &u, &errs), 0);
        cr_assert_eq(get(&u, CG_U_CPU_USAGE_USEC), 8123456);
        cr_assert_eq(get(&u, CG_U_CPU_USER_USEC), 6000000);
        cr_assert_eq(get(&u, CG_U_CPU_NR_PERIODS), 420);
        cr_assert_eq(get(&u, CG_U_CPU_NR_THROTTLED), 97);
        cr_assert_eq(get(&u, CG_U_CPU_THROTTLED_USEC), 3141592);
        cr_assert_eq(get(&u, CG_U_CPU_LOCAL_THROTTLED_USEC), 3141592);
        cr_assert_eq(get(&u, CG_U_MEM_CURRENT_BYTES), 52428800);
        cr_assert_eq(get(&u, CG_U_MEM_MAX_BYTES), UINT64_MAX);
        cr_assert_eq(get(&u, CG_U_MEM_EVENTS_HIGH), 12);
        cr_assert_eq(get(&u, CG_U_MEM_OOM_KILL), 1);
        cr_assert_eq(get(&u, CG_U_PIDS_CURRENT), 17);
        cr_assert_eq(get(&u, CG_U_PIDS_MAX), UINT64_MAX);
        cr_assert_eq(get(&u, CG_U_CPU_QUOTA_USEC), UINT64_MAX, "cpu.max: max");
        cr_assert_eq(get(&u, CG_U_CPU_PERIOD_USEC), 100000);
        absent(&u, CG_U_MEM_FAILCNT);
        absent(&u, CG_U_MEM_UNDER_OOM);
        cr_assert(u.pressure[CG_PSI_CPU].has_some && !u.pressure[CG_PSI_CPU].has_full);
        cr_assert(u.pressure[CG_PSI_IO].has_full);
        cr_assert_eq(u.pressure[CG_PSI_MEMORY].full.total_usec, 40);
        cr_assert(cg_usage_throttled_usec(&u, &t));
        cr_assert_eq(t, 3141592);
        cg_sampler_free(s);
}

Test(sampler, hybrid_tree_quota_in_parent) {
        struct cg_sampler_paths p = {
                .v2_dir = FX "hybrid/unified",
                .cpu_dir = FX "hybrid/cpu/sub",
                .cpuacct_dir = FX "hybrid/cpuacct",
                .memory_dir = FX "hybrid/memory",
                .pids_dir = FX "hybrid/pids",
                .quota_cpu_stat = FX "hybrid/cpu/cpu.stat",
                .quota_dir = FX "hybrid/cpu",
        };
        struct cg_sampler *s = NULL;
        const struct cg_sample_error *errs;
        const char *const *files;
        struct cg_usage u;
        size_t nf;
        bool has_cpuacct = false, has_own_v1 = false, has_v2_local = false;

        cr_assert_eq(cg_sampler_open(&p, &s), 0);
        cr_assert_eq(cg_sampler_read(s, &u, &errs), 0);
        /* The quota of the holder (v1 cfs files), not of the sub-cgroup. */
        cr_assert_eq(get(&u, CG_U_CPU_QUOTA_USEC), 50000);
        cr_assert_eq(get(&u, CG_U_CPU_PERIOD_USEC), 100000);
        /* Usage from the cgroup2 cpu.stat: cpuacct.usage is not opened. */
        cr_assert_eq(get(&u, CG_U_CPU_USAGE_USEC), 2779287);
        /* Periods and throttling from the quota holder, not the sub-cgroup's 0. */
        cr_assert_eq(get(&u, CG_U_CPU_NR_PERIODS), 58);
        cr_assert_eq(get(&u, CG_U_CPU_NR_THROTTLED), 54);
        cr_assert_eq(get(&u, CG_U_CPU_THROTTLED_USEC), 1891937);
        cr_assert_eq(get(&u, CG_U_CPU_LOCAL_THROTTLED_USEC), 1891937);
        cr_assert_eq(get(&u, CG_U_MEM_CURRENT_BYTES), 286720);
        cr_assert_eq(get(&u, CG_U_MEM_MAX_BYTES), 16777216);
        cr_assert_eq(get(&u, CG_U_MEM_OOM_KILL), 1);
        cr_assert_eq(get(&u, CG_U_MEM_FAILCNT), 0);
        cr_assert_eq(get(&u, CG_U_MEM_UNDER_OOM), 0);
        absent(&u, CG_U_MEM_EVENTS_HIGH);
        cr_assert_eq(get(&u, CG_U_PIDS_CURRENT), 2);
        cr_assert_eq(get(&u, CG_U_PIDS_MAX), UINT64_MAX);
        cr_assert(u.pressure[CG_PSI_CPU].has_full);
        nf = cg_sampler_files(s, &files);
        for (size_t i = 0; i < nf; i++) {
                has_cpuacct |= strstr(files[i], "cpuacct.usage") != NULL;
                has_own_v1 |= strcmp(files[i], FX "hybrid/cpu/sub/cpu.stat") == 0;
                has_v2_local |= strcmp(files[i], FX "hybrid/unified/cpu.stat.local") == 0;
        }
        cr_assert(!has_cpuacct && !has_own_v1 && !has_v2_local);
        cr_assert_eq(nf, 14, "v2 cpu.stat, holder cpu.stat, v1 cpu.stat.local, 4 memory, the holder's 2 quota files, "
                     "2 pids, 3 pressure: %zu", nf);
        cg_sampler_free(s);
}

Test(sampler, v1_only_without_quota_holder) {
        struct cg_sampler_paths p = {
                .cpu_dir = FX "hybrid/cpu/sub",
                .cpuacct_dir = FX "hybrid/cpuacct",
                .memory_dir = FX "hybrid/memory",
        };
        struct cg_sampler *s = NULL;
        struct cg_usage u;

        cr_assert_eq(cg_sampler_open(&p, &s), 0);
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(get(&u, CG_U_CPU_USAGE_USEC), 2771827, "cpuacct.usage ns -> us");
        absent(&u, CG_U_CPU_USER_USEC);
        cr_assert_eq(get(&u, CG_U_CPU_NR_THROTTLED), 0, "its own cpu.stat, since no holder was named");
        cr_assert_eq(get(&u, CG_U_CPU_LOCAL_THROTTLED_USEC), 1891937);
        absent(&u, CG_U_PIDS_CURRENT);
        for (int i = 0; i < _CG_PSI_N; i++)
                cr_assert(!u.pressure[i].has_some && !u.pressure[i].has_full);
        cg_sampler_free(s);
}

/* A service's own v1 memory cgroup with no limit below one of 512 MiB
 * (captured: v1-nested/memory): limit_in_bytes says none, memory.stat's
 * hierarchical_memory_limit is the parent's, and that is the limit. */
Test(sampler, v1_parent_memory_limit_counts) {
        struct cg_sampler *s = NULL;
        struct cg_usage u;

        cr_assert_eq(cg_sampler_open(&(struct cg_sampler_paths){ .memory_dir = FX "v1-nested/memory", .limits_every = 1 },
                                     &s),
                     0);
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(get(&u, CG_U_MEM_MAX_BYTES), 536870912);
        cg_sampler_free(s);
        /* Without a memory.stat (hybrid/memory) its own limit_in_bytes
         * stands alone, as before. */
        cr_assert_eq(cg_sampler_open(&(struct cg_sampler_paths){ .memory_dir = FX "hybrid/memory" }, &s), 0);
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(get(&u, CG_U_MEM_MAX_BYTES), 16777216);
        cg_sampler_free(s);
}

/* v2 (hand-made v2-nested): a service's memory.max "max" below gorral's
 * "max" below the container's 536870912: the container's is the limit; and
 * an ancestor's looser limit does not replace the cgroup's own. */
Test(sampler, v2_ancestor_memory_max_counts) {
        struct cg_sampler *s = NULL;
        struct cg_usage u;
        const char *const *files;
        size_t n;

        cr_assert_eq(cg_sampler_open(&(struct cg_sampler_paths){ .v2_dir = FX "v2-nested/gorral/api", .limits_every = 1 },
                                     &s),
                     0);
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(get(&u, CG_U_MEM_MAX_BYTES), 536870912);
        n = cg_sampler_files(s, &files);
        cr_assert_str_eq(files[n - 1], FX "v2-nested/memory.max", "the walk stops above the last memory.max");
        cg_sampler_free(s);
        cr_assert_eq(cg_sampler_open(&(struct cg_sampler_paths){ .v2_dir = FX "v2", .limits_every = 1 }, &s), 0);
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(get(&u, CG_U_MEM_MAX_BYTES), UINT64_MAX, "v2/ has no ancestor with a memory.max");
        cg_sampler_free(s);
}

Test(sampler, nothing_there_is_empty_not_an_error) {
        struct cg_sampler_paths p = { .v2_dir = FX "does-not-exist", .cpu_dir = FX "nope", .memory_dir = "" };
        struct cg_sampler *s = NULL;
        const char *const *files;
        struct cg_usage u;

        cr_assert_eq(cg_sampler_open(&p, &s), 0);
        cr_assert_eq(cg_sampler_files(s, &files), 0);
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(u.present, 0);
        cg_sampler_free(s);
        cg_sampler_free(NULL);
}

static void write_str(const char *path, const char *s) {
        FILE *f = fopen(path, "we");

        cr_assert(f, "%s", path);
        fputs(s, f);
        fclose(f);
}

Test(sampler, bad_files_are_reported_per_file) {
        char dir[] = "/tmp/test-cgstat-XXXXXX";
        char path[256];
        struct cg_sampler *s = NULL;
        const struct cg_sample_error *errs;
        struct cg_usage u;
        int r;

        cr_assert(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/cpu.stat", dir);
        write_str(path, "usage_usec 10\nnr_periods x\n");
        snprintf(path, sizeof path, "%s/memory.current", dir);
        write_str(path, "512M\n");
        snprintf(path, sizeof path, "%s/memory.max", dir);
        write_str(path, "1048576\n");
        snprintf(path, sizeof path, "%s/cpu.pressure", dir);
        write_str(path, "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n");
        cr_assert_eq(cg_sampler_open(&(struct cg_sampler_paths){ .v2_dir = dir, .limits_every = 1 }, &s), 0);
        r = cg_sampler_read(s, &u, &errs);
        cr_assert_eq(r, 2);
        cr_assert(strstr(errs[0].file, "/cpu.stat"));
        cr_assert_eq(errs[0].err, -EBADMSG);
        cr_assert_str_eq(errs[0].message, "line 2, column 12: value is not an unsigned decimal number: \"nr_periods x\"");
        cr_assert(strstr(errs[1].file, "/memory.current"));
        cr_assert_str_eq(errs[1].message, "line 1, column 1: not an unsigned decimal number: \"512M\"");
        /* The other files still count. */
        cr_assert_eq(get(&u, CG_U_MEM_MAX_BYTES), 1048576);
        absent(&u, CG_U_MEM_CURRENT_BYTES);
        absent(&u, CG_U_CPU_USAGE_USEC);
        cr_assert_eq(u.pressure[CG_PSI_CPU].some.total_usec, 1);

        /* A file that grew past the buffer is refused, not parsed. */
        snprintf(path, sizeof path, "%s/memory.max", dir);
        {
                FILE *f = fopen(path, "we");
                for (int i = 0; i < 5000; i++)
                        fputc('1', f);
                fclose(f);
        }
        r = cg_sampler_read(s, &u, &errs);
        cr_assert_eq(r, 3);
        cr_assert_eq(errs[2].err, -EFBIG);
        absent(&u, CG_U_MEM_MAX_BYTES);
        cg_sampler_free(s);
        snprintf(path, sizeof path, "rm -rf '%s'", dir);
        cr_assert_eq(system(path), 0);
}

/* ---- live: a real v1 cpu cgroup with a 0.5 CPU quota ---- */

#define V1CPU "/sys/fs/cgroup/cpu"

static char live_dir[128], live_sub[160];

static void live_cleanup(void) {
        char procs[200];
        FILE *f;
        int pid;

        /* Kill whatever is left in the sub-cgroup, then remove both. */
        snprintf(procs, sizeof procs, "%s/cgroup.procs", live_sub);
        f = fopen(procs, "re");
        if (f) {
                while (fscanf(f, "%d", &pid) == 1)
                        kill(pid, SIGKILL);
                fclose(f);
        }
        for (int i = 0; i < 100 && rmdir(live_sub) < 0 && errno == EBUSY; i++)
                usleep(10000);
        rmdir(live_dir);
}

static bool can_use_v1_cpu(void) {
        struct stat st;

        return geteuid() == 0 && stat(V1CPU "/cpu.cfs_quota_us", &st) == 0;
}

Test(live, quota_holder_throttles_sub_cgroup, .timeout = 30) {
        char path[256];
        struct cg_sampler *holder_view = NULL, *own_view = NULL;
        struct cg_usage a, b, own0, own;
        pid_t burner;
        int pfd[2];
        char c;

        if (!can_use_v1_cpu())
                cr_skip_test("needs root and a v1 cpu controller at " V1CPU);
        snprintf(live_dir, sizeof live_dir, V1CPU "/test-cgstat-%d", (int)getpid());
        snprintf(live_sub, sizeof live_sub, "%s/sub", live_dir);
        cr_assert_eq(mkdir(live_dir, 0755), 0, "%s: %s", live_dir, strerror(errno));
        atexit(live_cleanup);
        cr_assert_eq(mkdir(live_sub, 0755), 0);
        snprintf(path, sizeof path, "%s/cpu.cfs_period_us", live_dir);
        write_str(path, "100000");
        snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", live_dir);
        write_str(path, "50000");

        /* A CPU burner in the sub-cgroup (no quota of its own). */
        cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
        burner = fork();
        cr_assert(burner >= 0);
        if (burner == 0) {
                char procs[200];
                volatile unsigned long x = 0;
                int fd;

                snprintf(procs, sizeof procs, "%s/cgroup.procs", live_sub);
                fd = open(procs, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "0", 1) != 1)
                        _exit(1);
                close(fd);
                if (write(pfd[1], "x", 1) != 1)
                        _exit(1);
                for (;;)
                        x++;
        }
        close(pfd[1]);
        cr_assert_eq(read(pfd[0], &c, 1), 1, "burner did not enter the cgroup");
        close(pfd[0]);

        snprintf(path, sizeof path, "%s/cpu.stat", live_dir);
        cr_assert_eq(cg_sampler_open(&(struct cg_sampler_paths){ .cpu_dir = live_sub, .quota_cpu_stat = path },
                                     &holder_view), 0);
        cr_assert_eq(cg_sampler_open(&(struct cg_sampler_paths){ .cpu_dir = live_sub }, &own_view), 0);
        cr_assert_eq(cg_sampler_read(holder_view, &a, NULL), 0);
        cr_assert_eq(cg_sampler_read(own_view, &own0, NULL), 0);
        /* At a 100 ms period a burner that wants a whole CPU is throttled
         * in nearly every period; on this shared machine it may get less
         * than its 50 ms: wait (at most 5 s) for 3 throttled periods. */
        for (int i = 0; i < 50; i++) {
                usleep(100 * 1000);
                cr_assert_eq(cg_sampler_read(holder_view, &b, NULL), 0);
                if (get(&b, CG_U_CPU_NR_THROTTLED) >= get(&a, CG_U_CPU_NR_THROTTLED) + 3)
                        break;
        }
        cr_assert_eq(cg_sampler_read(own_view, &own, NULL), 0);
        kill(burner, SIGKILL);
        waitpid(burner, NULL, 0);

        cr_log_info("holder: nr_periods %llu -> %llu, nr_throttled %llu -> %llu; sub's own nr_throttled %llu",
                    (unsigned long long)a.v[CG_U_CPU_NR_PERIODS], (unsigned long long)b.v[CG_U_CPU_NR_PERIODS],
                    (unsigned long long)a.v[CG_U_CPU_NR_THROTTLED], (unsigned long long)b.v[CG_U_CPU_NR_THROTTLED],
                    (unsigned long long)own.v[CG_U_CPU_NR_THROTTLED]);
        cr_assert_gt(get(&b, CG_U_CPU_NR_THROTTLED), get(&a, CG_U_CPU_NR_THROTTLED));
        cr_assert_geq(get(&b, CG_U_CPU_NR_THROTTLED) - get(&a, CG_U_CPU_NR_THROTTLED), 3);
        cr_assert_gt(get(&b, CG_U_CPU_THROTTLED_USEC), get(&a, CG_U_CPU_THROTTLED_USEC));
        /* The sub-cgroup's own counters say nothing... */
        cr_assert_eq(get(&own, CG_U_CPU_NR_THROTTLED), 0);
        cr_assert_eq(get(&own, CG_U_CPU_THROTTLED_USEC), 0);
        /* ...its cpu.stat.local does, where the kernel has it. */
        {
                uint64_t loc;
                snprintf(path, sizeof path, "%s/cpu.stat.local", live_sub);
                if (access(path, R_OK) == 0) {
                        cr_assert(cg_usage_get(&own, CG_U_CPU_LOCAL_THROTTLED_USEC, &loc));
                        cr_assert_gt(loc, get(&own0, CG_U_CPU_LOCAL_THROTTLED_USEC),
                                     "the sub-cgroup's own throttled time grows: %llu us", (unsigned long long)loc);
                }
        }
        cg_sampler_free(holder_view);
        cg_sampler_free(own_view);
        live_cleanup();
        cr_assert_eq(access(live_dir, F_OK), -1, "cgroup removed");
}

/* The cgroup2 mount of a hybrid host (no controllers, but PSI and the
 * core cpu.stat): a live sampler sees a burner's CPU time grow. */
Test(live, cgroup2_usage_and_pressure, .timeout = 30) {
        char dir[128], path[200];
        struct cg_sampler *s = NULL;
        struct cg_usage a, b;
        pid_t burner;
        int pfd[2];
        char c;

        if (geteuid() != 0 || access("/sys/fs/cgroup/unified/cgroup.procs", W_OK) != 0)
                cr_skip_test("needs root and a cgroup2 mount at /sys/fs/cgroup/unified");
        snprintf(dir, sizeof dir, "/sys/fs/cgroup/unified/test-cgstat-%d", (int)getpid());
        cr_assert_eq(mkdir(dir, 0755), 0);
        cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
        burner = fork();
        if (burner == 0) {
                volatile unsigned long x = 0;
                int fd;
                struct timespec t0, t;

                snprintf(path, sizeof path, "%s/cgroup.procs", dir);
                fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, "0", 1) != 1)
                        _exit(1);
                if (write(pfd[1], "x", 1) != 1)
                        _exit(1);
                clock_gettime(CLOCK_MONOTONIC, &t0);
                do {
                        for (int i = 0; i < 100000; i++)
                                x++;
                        clock_gettime(CLOCK_MONOTONIC, &t);
                } while (t.tv_sec - t0.tv_sec < 20);
                _exit(0);
        }
        close(pfd[1]);
        cr_assert_eq(read(pfd[0], &c, 1), 1);
        cr_assert_eq(cg_sampler_open(&(struct cg_sampler_paths){ .v2_dir = dir }, &s), 0);
        cr_assert_eq(cg_sampler_read(s, &a, NULL), 0);
        usleep(300 * 1000);
        cr_assert_eq(cg_sampler_read(s, &b, NULL), 0);
        kill(burner, SIGKILL);
        waitpid(burner, NULL, 0);
        cr_assert_gt(get(&b, CG_U_CPU_USAGE_USEC), get(&a, CG_U_CPU_USAGE_USEC) + 50000,
                     "a burner gets more than 50 ms of 300 ms");
        cr_assert(b.pressure[CG_PSI_CPU].has_some, "PSI files are there on this host's cgroup2");
        absent(&b, CG_U_MEM_CURRENT_BYTES);
        cg_sampler_free(s);
        for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
                usleep(10000);
        cr_assert_eq(access(dir, F_OK), -1);
}

Test(sampler, limits_are_read_every_nth_sample) {
        char dir[] = "/tmp/test-cgstat-XXXXXX";
        char path[256];
        struct cg_sampler *s = NULL;
        struct cg_usage u;

        cr_assert(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/memory.current", dir);
        write_str(path, "4096\n");
        snprintf(path, sizeof path, "%s/pids.current", dir);
        write_str(path, "3\n");
        snprintf(path, sizeof path, "%s/pids.max", dir);
        write_str(path, "100\n");
        snprintf(path, sizeof path, "%s/memory.max", dir);
        write_str(path, "1048576\n");
        cr_assert_eq(cg_sampler_open(&(struct cg_sampler_paths){ .v2_dir = dir, .limits_every = 3 }, &s), 0);
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(get(&u, CG_U_MEM_MAX_BYTES), 1048576);
        write_str(path, "max\n");
        snprintf(path, sizeof path, "%s/memory.current", dir);
        write_str(path, "8192\n");
        /* Samples 2 and 3: the old limit stands, usage is fresh. */
        for (int i = 0; i < 2; i++) {
                cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
                cr_assert_eq(get(&u, CG_U_MEM_MAX_BYTES), 1048576);
                cr_assert_eq(get(&u, CG_U_PIDS_MAX), 100);
                cr_assert_eq(get(&u, CG_U_MEM_CURRENT_BYTES), 8192);
        }
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(get(&u, CG_U_MEM_MAX_BYTES), UINT64_MAX, "sample 4 reads the limits again");
        snprintf(path, sizeof path, "%s/memory.max", dir);
        write_str(path, "2097152\n");
        cg_sampler_refresh_limits(s);
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(get(&u, CG_U_MEM_MAX_BYTES), 2097152, "refresh_limits: read at the next sample");
        cg_sampler_free(s);
        snprintf(path, sizeof path, "rm -rf '%s'", dir);
        cr_assert_eq(system(path), 0);
}

Test(sampler, pressure_every_second_sample) {
        struct cg_sampler *s = NULL;
        struct cg_usage u;

        cr_assert_eq(cg_sampler_open(&(struct cg_sampler_paths){ .v2_dir = FX "v2", .pressure_every = 2 }, &s), 0);
        for (int i = 0; i < 4; i++) {
                cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
                cr_assert_eq(u.pressure[CG_PSI_IO].has_some, i % 2 == 0, "sample %d", i);
                cr_assert_eq(get(&u, CG_U_CPU_USAGE_USEC), 8123456, "the rest every time");
        }
        cg_sampler_free(s);
}

/* The CPU quota is a limit file: read every limits_every-th sample, its
 * last value standing in between, and a resize in place seen at the next
 * read; a malformed quota is an error naming the file, and the rest of
 * the sample stands. */
Test(sampler, cpu_quota_read_as_a_limit) {
        char dir[] = "/tmp/test-cgstat-XXXXXX";
        char path[256];
        struct cg_sampler *s = NULL;
        const struct cg_sample_error *errs;
        struct cg_usage u;

        cr_assert(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/cpu.stat", dir);
        write_str(path, "nr_periods 10\nnr_throttled 1\nthrottled_time 5000\n");
        snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
        write_str(path, "100000\n");
        snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
        write_str(path, "-1\n");
        cr_assert_eq(cg_sampler_open(&(struct cg_sampler_paths){ .cpu_dir = dir, .limits_every = 2 }, &s), 0);
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(get(&u, CG_U_CPU_QUOTA_USEC), UINT64_MAX, "-1: none");
        cr_assert_eq(get(&u, CG_U_CPU_PERIOD_USEC), 100000);
        write_str(path, "300000\n");
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(get(&u, CG_U_CPU_QUOTA_USEC), UINT64_MAX, "between reads the last value stands");
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0);
        cr_assert_eq(get(&u, CG_U_CPU_QUOTA_USEC), 300000, "the resize, at the next read");
        write_str(path, "lots\n");
        cr_assert_eq(cg_sampler_read(s, &u, NULL), 0, "not a limit read");
        cr_assert_eq(cg_sampler_read(s, &u, &errs), 1);
        cr_assert(strstr(errs[0].file, "cpu.cfs_quota_us"), "%s", errs[0].file);
        cr_assert(strstr(errs[0].message, "not -1 or a number"), "%s", errs[0].message);
        cr_assert_eq(get(&u, CG_U_CPU_NR_PERIODS), 10, "the rest of the sample stands");
        cg_sampler_free(s);
        snprintf(path, sizeof path, "rm -rf '%s'", dir);
        cr_assert_eq(system(path), 0);
}
