/* test_limits.c: the pure GOMAXPROCS/GOMEMLIMIT policy over hand-built
 * struct cg_limits values, the option parser, and Go 1.19's own readers
 * of the two variables (tables verified against Go 1.19.8 on this
 * machine, plus the captured samples/env-probe.txt). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gorral/buildinfo.h"
#include "gorral/cgroup.h"
#include "gorral/childenv.h"
#include "gorral/goenv.h"
#include "gorral/limits.h"
#include "gorral/util.h"

#define MiB (1024ULL * 1024ULL)

static struct limits_options opts(void) {
        struct limits_options o;

        limits_options_init(&o);
        o.sysroot = NULL;
        return o;
}

static struct cg_limits cpu(uint64_t q, uint64_t p) {
        return (struct cg_limits){
                .layout = CG_LAYOUT_V1,
                .cpu_limited = true, .cpu_quota_us = q, .cpu_period_us = p,
                .cpu_leaf_limited = true, .cpu_leaf_quota_us = q, .cpu_leaf_period_us = p,
                .cpu_file = (char *)"/sys/fs/cgroup/cpu/x/cpu.cfs_quota_us",
        };
}

static struct limits_decision decide(const struct cg_limits *cg, unsigned ncpu, const struct limits_options *o) {
        struct limits_decision d;

        cr_assert_eq(limits_decide(cg, ncpu, NULL, NULL, NULL, o, &d), 0);
        return d;
}

/* ---- GOMAXPROCS ---- */

Test(limits_cpu, no_limit_not_exported) {
        struct cg_limits cg = { .layout = CG_LAYOUT_V1 };
        struct limits_options o = opts();
        struct limits_decision d = decide(&cg, 2, &o);

        cr_assert(d.gomaxprocs_known);
        cr_assert_eq(d.gomaxprocs, 2);
        cr_assert_not(d.set_gomaxprocs);
        cr_assert(strstr(d.gomaxprocs_reason, "no CPU limit"), "%s", d.gomaxprocs_reason);
        cr_assert(strstr(d.gomaxprocs_reason, "not exported"), "%s", d.gomaxprocs_reason);
}

struct cpu_case {
        uint64_t q, p;
        unsigned ncpu;
        enum limits_rounding rounding;
        unsigned min_procs; /* 0: the rounding's default */
        unsigned cpuset;
        unsigned want;
        bool exported;
};

ParameterizedTestParameters(limits_cpu, table) {
        static struct cpu_case cases[] = {
                /* fractional quotas: ceil with min 2 (Go >= 1.25's rule) */
                { 50000, 100000, 8, LIMITS_ROUND_CEIL, 0, 0, 2, true },
                { 50000, 100000, 2, LIMITS_ROUND_CEIL, 0, 0, 2, false }, /* limit >= CPUs */
                { 50000, 100000, 1, LIMITS_ROUND_CEIL, 0, 0, 1, false }, /* 1 CPU: never above */
                { 150000, 100000, 8, LIMITS_ROUND_CEIL, 0, 0, 2, true },
                { 250000, 100000, 8, LIMITS_ROUND_CEIL, 0, 0, 3, true },
                { 33333, 100000, 8, LIMITS_ROUND_CEIL, 1, 0, 1, true },
                { 100001, 100000, 8, LIMITS_ROUND_CEIL, 1, 0, 2, true },
                /* floor with min 1 (automaxprocs) */
                { 50000, 100000, 8, LIMITS_ROUND_FLOOR, 0, 0, 1, true },
                { 50000, 100000, 2, LIMITS_ROUND_FLOOR, 0, 0, 1, true },
                { 150000, 100000, 8, LIMITS_ROUND_FLOOR, 0, 0, 1, true },
                { 250000, 100000, 8, LIMITS_ROUND_FLOOR, 0, 0, 2, true },
                { 199999, 100000, 8, LIMITS_ROUND_FLOOR, 0, 0, 1, true },
                /* explicit minimum, with either rounding */
                { 100000, 100000, 8, LIMITS_ROUND_FLOOR, 3, 0, 3, true },
                { 100000, 100000, 8, LIMITS_ROUND_CEIL, 4, 0, 4, true },
                { 100000, 100000, 2, LIMITS_ROUND_CEIL, 4, 0, 2, false }, /* min above the CPUs */
                /* quota above the CPU count */
                { 1600000, 100000, 4, LIMITS_ROUND_CEIL, 0, 0, 4, false },
                { 1600000, 100000, 4, LIMITS_ROUND_FLOOR, 0, 0, 4, false },
                /* cpuset below the affinity count caps the value */
                { 400000, 100000, 8, LIMITS_ROUND_CEIL, 0, 3, 3, true },
                { 400000, 100000, 8, LIMITS_ROUND_CEIL, 0, 16, 4, true },
                /* odd periods; a quota near UINT64_MAX must not overflow */
                { 1000, 1000, 8, LIMITS_ROUND_CEIL, 1, 0, 1, true },
                { 3000000, 1000000, 8, LIMITS_ROUND_CEIL, 0, 0, 3, true },
                { UINT64_MAX, 100000, 8, LIMITS_ROUND_CEIL, 0, 0, 8, false },
                { UINT64_MAX, 1, 8, LIMITS_ROUND_FLOOR, 0, 0, 8, false },
        };
        return cr_make_param_array(struct cpu_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct cpu_case *c, limits_cpu, table) {
        struct cg_limits cg = cpu(c->q, c->p);
        struct limits_options o = opts();
        struct limits_decision d;
        char name[32];

        snprintf(name, sizeof name, "--rounding=%s", c->rounding == LIMITS_ROUND_FLOOR ? "floor" : "ceil");
        cr_assert_eq(limits_options_parse(&o, name, NULL), 1);
        if (c->min_procs) {
                snprintf(name, sizeof name, "%u", c->min_procs);
                cr_assert_eq(limits_options_parse(&o, "--min-procs", name), 1);
        }
        if (c->cpuset) {
                cg.cpuset_cpus = c->cpuset;
                cg.cpuset_file = (char *)"/sys/fs/cgroup/cpuset/cpuset.effective_cpus";
        }
        d = decide(&cg, c->ncpu, &o);
        cr_assert(d.gomaxprocs_known);
        cr_assert_eq(d.gomaxprocs, c->want, "%" PRIu64 "/%" PRIu64 " ncpu=%u: got %u want %u (%s)", c->q, c->p,
                     c->ncpu, d.gomaxprocs, c->want, d.gomaxprocs_reason);
        cr_assert_eq(d.set_gomaxprocs, c->exported, "%s", d.gomaxprocs_reason);
        cr_assert(strstr(d.gomaxprocs_reason, "CPU quota"), "%s", d.gomaxprocs_reason);
}

Test(limits_cpu, cpuset_without_quota) {
        struct cg_limits cg = { .layout = CG_LAYOUT_V2, .cpuset_cpus = 2, .cpuset_file = (char *)"/c/cpuset.cpus.effective" };
        struct limits_options o = opts();
        struct limits_decision d = decide(&cg, 8, &o);

        cr_assert_eq(d.gomaxprocs, 2);
        cr_assert(d.set_gomaxprocs);
        cr_assert(strstr(d.gomaxprocs_reason, "cpuset.cpus.effective"), "%s", d.gomaxprocs_reason);
}

Test(limits_cpu, reason_names_file_and_cores) {
        struct cg_limits cg = cpu(150000, 100000);
        struct limits_options o = opts();
        struct limits_decision d = decide(&cg, 8, &o);

        cr_assert(strstr(d.gomaxprocs_reason, "1.5 cores"), "%s", d.gomaxprocs_reason);
        cr_assert(strstr(d.gomaxprocs_reason, "cpu.cfs_quota_us"), "%s", d.gomaxprocs_reason);
}

Test(limits_cpu, error_leaves_unset) {
        struct cg_limits cg = cpu(50000, 100000);
        struct limits_options o = opts();
        struct limits_decision d;

        cg.cpu_error = true;
        d = decide(&cg, 8, &o);
        cr_assert_not(d.set_gomaxprocs);
        cr_assert_not(d.gomaxprocs_known);
        cr_assert(strstr(d.gomaxprocs_reason, "malformed"), "%s", d.gomaxprocs_reason);
}

Test(limits_cpu, no_gomaxprocs_option) {
        struct cg_limits cg = cpu(50000, 100000);
        struct limits_options o = opts();
        struct limits_decision d;

        cr_assert_eq(limits_options_parse(&o, "--no-gomaxprocs", NULL), 1);
        d = decide(&cg, 8, &o);
        cr_assert_not(d.set_gomaxprocs);
        cr_assert_eq(d.gomaxprocs, 2); /* still shown */
}

Test(limits_cpu, affinity_zero_treated_as_one) {
        struct cg_limits cg = { 0 };
        struct limits_options o = opts();
        struct limits_decision d = decide(&cg, 0, &o);

        cr_assert_eq(d.affinity_cpus, 1);
        cr_assert_eq(d.gomaxprocs, 1);
}

/* ---- environment precedence ---- */

Test(limits_env, gomaxprocs_inherited_wins) {
        struct cg_limits cg = cpu(50000, 100000);
        struct limits_options o = opts();
        struct limits_decision d;

        cr_assert_eq(limits_decide(&cg, 8, NULL, "3", NULL, &o, &d), 0);
        cr_assert_not(d.set_gomaxprocs);
        cr_assert(strstr(d.gomaxprocs_reason, "already in the environment"), "%s", d.gomaxprocs_reason);
        cr_assert(d.n_warnings >= 1, "3 is above the 0.5-core limit");
        cr_assert_eq(d.gomaxprocs, 2);
}

Test(limits_env, gomaxprocs_inherited_invalid_warns) {
        static const char *bad[] = { "+3", "0", "-1", "abc", "1.5", " 2", "2 ", "", "0x4", "2147483648" };
        struct cg_limits cg = cpu(50000, 100000);
        struct limits_options o = opts();

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct limits_decision d;

                cr_assert_eq(limits_decide(&cg, 8, NULL, bad[i], NULL, &o, &d), 0);
                cr_assert_not(d.set_gomaxprocs, "'%s'", bad[i]);
                cr_assert_eq(d.n_warnings, 1, "'%s'", bad[i]);
                cr_assert(strstr(d.warnings[0], "ignores"), "%s", d.warnings[0]);
                cr_assert_not(d.gomemlimit_env_fatal);
        }
}

Test(limits_env, gomaxprocs_inherited_huge_warns) {
        struct cg_limits cg = { 0 };
        struct limits_options o = opts();
        struct limits_decision d;

        cr_assert_eq(limits_decide(&cg, 2, NULL, "100000", NULL, &o, &d), 0);
        cr_assert_eq(d.n_warnings, 1);
        cr_assert(strstr(d.warnings[0], "very large"), "%s", d.warnings[0]);
}

Test(limits_env, gomemlimit_inherited_wins) {
        struct cg_limits cg = { .mem_limited = true, .mem_bytes = 256 * MiB };
        struct limits_options o = opts();
        struct limits_decision d;

        cr_assert_eq(limits_decide(&cg, 2, NULL, NULL, "100MiB", &o, &d), 0);
        cr_assert_not(d.set_gomemlimit);
        cr_assert_eq(d.n_warnings, 0);
        cr_assert_not(d.gomemlimit_env_fatal);
        cr_assert(d.gomemlimit_known);
        cr_assert_eq(d.gomemlimit, 241591910);
}

Test(limits_env, gomemlimit_inherited_malformed_is_fatal) {
        static const char *bad[] = { "512MB", "OFF", "1.5GiB", "-1", " 512MiB", "8EiB", "+1GiB" };
        struct cg_limits cg = { .mem_limited = true, .mem_bytes = 256 * MiB };
        struct limits_options o = opts();

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct limits_decision d;

                cr_assert_eq(limits_decide(&cg, 2, NULL, NULL, bad[i], &o, &d), 0);
                cr_assert_not(d.set_gomemlimit);
                cr_assert(d.gomemlimit_env_fatal, "'%s'", bad[i]);
                cr_assert_eq(d.n_warnings, 1);
                cr_assert(strstr(d.warnings[0], "exit 2"), "%s", d.warnings[0]);
        }
}

Test(limits_env, gomemlimit_inherited_zero_and_above_budget_warn) {
        struct cg_limits cg = { .mem_limited = true, .mem_bytes = 256 * MiB };
        struct limits_options o = opts();
        struct limits_decision d;

        cr_assert_eq(limits_decide(&cg, 2, NULL, NULL, "0", &o, &d), 0);
        cr_assert_eq(d.n_warnings, 1);
        cr_assert(strstr(d.warnings[0], "continuously"), "%s", d.warnings[0]);
        cr_assert_not(d.gomemlimit_env_fatal);

        cr_assert_eq(limits_decide(&cg, 2, NULL, NULL, "1GiB", &o, &d), 0);
        cr_assert_eq(d.n_warnings, 1);
        cr_assert(strstr(d.warnings[0], "above the memory budget"), "%s", d.warnings[0]);

        cr_assert_eq(limits_decide(&cg, 2, NULL, NULL, "off", &o, &d), 0);
        cr_assert_eq(d.n_warnings, 0);
}

/* ---- GOMEMLIMIT ---- */

struct mem_case {
        bool mem;
        uint64_t max;
        bool high;
        uint64_t hi;
        char ratio[16]; /* an array, not a pointer: Criterion copies the
                         * parameters into a freshly exec'd worker */
        bool exported;
        uint64_t want;
};

ParameterizedTestParameters(limits_mem, table) {
        static struct mem_case cases[] = {
                { true, 256 * MiB, false, 0, "", true, 241591910 },         /* floor(268435456 * 0.9) */
                { true, 128 * MiB, false, 0, "", true, 120795955 },
                { true, 256 * MiB, false, 0, "1", true, 256 * MiB },
                { true, 256 * MiB, false, 0, "1.0", true, 256 * MiB },
                { true, 256 * MiB, false, 0, "0.5", true, 128 * MiB },
                { true, 256 * MiB, false, 0, ".75", true, 201326592 },
                { true, 256 * MiB, false, 0, "0.000001", true, 268 },       /* 268.435456 -> 268 */
                { true, 256 * MiB, true, 100 * MiB, "", true, 94371840 }, /* memory.high lower */
                { true, 100 * MiB, true, 256 * MiB, "", true, 94371840 }, /* memory.high higher */
                { false, 0, true, 100 * MiB, "", true, 94371840 },        /* only memory.high */
                { true, 1, false, 0, "", false, 0 },                      /* 0.9 -> 0: unset */
                { true, 1, false, 0, "1", true, 1 },
                { true, 1111111, false, 0, "0.000001", true, 1 },
                { true, 999999, false, 0, "0.000001", false, 0 },
                { true, 0, false, 0, "", false, 0 },
                { true, 10, false, 0, "", true, 9 },
                { true, UINT64_MAX, false, 0, "1", false, UINT64_MAX },     /* above int64: unset */
                { true, UINT64_MAX, false, 0, "0.5", true, 9223372036854775807ULL },
                { true, 9223372036854771712ULL, false, 0, "", true, 8301034833169294540ULL },
                { false, 0, false, 0, "", false, 0 },                     /* no limit */
        };
        return cr_make_param_array(struct mem_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct mem_case *c, limits_mem, table) {
        struct cg_limits cg = {
                .mem_limited = c->mem, .mem_bytes = c->max, .mem_file = (char *)"/m/memory.max",
                .high_limited = c->high, .high_bytes = c->hi, .high_file = (char *)"/m/memory.high",
        };
        struct limits_options o = opts();
        struct limits_decision d;

        if (c->ratio[0])
                cr_assert_eq(limits_options_parse(&o, "--mem-ratio", c->ratio), 1, "%s", c->ratio);
        d = decide(&cg, 2, &o);
        cr_assert_eq(d.set_gomemlimit, c->exported, "max=%" PRIu64 " high=%" PRIu64 ": %s", c->max, c->hi,
                     d.gomemlimit_reason);
        if (c->exported || c->want)
                cr_assert_eq(d.gomemlimit, c->want, "got %" PRIu64 " want %" PRIu64 " (%s)", d.gomemlimit, c->want,
                             d.gomemlimit_reason);
        if (c->exported)
                cr_assert(strstr(d.gomemlimit_reason, "exported"), "%s", d.gomemlimit_reason);
}

Test(limits_mem, reasons) {
        struct cg_limits cg = { .mem_limited = true, .mem_bytes = 1, .mem_file = (char *)"/m/memory.limit_in_bytes" };
        struct limits_options o = opts();
        struct limits_decision d = decide(&cg, 2, &o);

        cr_assert(strstr(d.gomemlimit_reason, "= 0 bytes: left unset"), "%s", d.gomemlimit_reason);
        cg = (struct cg_limits){ 0 };
        d = decide(&cg, 2, &o);
        cr_assert(strstr(d.gomemlimit_reason, "no memory limit"), "%s", d.gomemlimit_reason);
        cg = (struct cg_limits){ .mem_limited = true, .mem_bytes = 256 * MiB, .high_limited = true,
                                 .high_bytes = 100 * MiB, .high_file = (char *)"/m/memory.high" };
        d = decide(&cg, 2, &o);
        cr_assert(strstr(d.gomemlimit_reason, "/m/memory.high"), "%s", d.gomemlimit_reason);
        cr_assert(strstr(d.gomemlimit_reason, "x 0.9 = 94371840"), "%s", d.gomemlimit_reason);
        cr_assert_eq(d.mem_budget, 100 * MiB);
}

Test(limits_mem, error_leaves_unset) {
        struct cg_limits cg = { .mem_limited = true, .mem_bytes = 256 * MiB, .mem_error = true };
        struct limits_options o = opts();
        struct limits_decision d = decide(&cg, 2, &o);

        cr_assert_not(d.set_gomemlimit);
        cr_assert_not(d.gomemlimit_known);
        cr_assert(strstr(d.gomemlimit_reason, "malformed"), "%s", d.gomemlimit_reason);
}

Test(limits_mem, both_errors_independent) {
        struct cg_limits cg = cpu(50000, 100000);
        struct limits_options o = opts();
        struct limits_decision d;

        cg.mem_limited = true;
        cg.mem_bytes = 256 * MiB;
        cg.cpu_error = true;
        d = decide(&cg, 8, &o);
        cr_assert_not(d.set_gomaxprocs);
        cr_assert(d.set_gomemlimit, "a CPU error must not cost GOMEMLIMIT");
        cg.cpu_error = false;
        cg.mem_error = true;
        d = decide(&cg, 8, &o);
        cr_assert(d.set_gomaxprocs, "a memory error must not cost GOMAXPROCS");
        cr_assert_not(d.set_gomemlimit);
}

Test(limits_mem, no_gomemlimit_option) {
        struct cg_limits cg = { .mem_limited = true, .mem_bytes = 256 * MiB };
        struct limits_options o = opts();
        struct limits_decision d;

        cr_assert_eq(limits_options_parse(&o, "--no-gomemlimit", NULL), 1);
        d = decide(&cg, 2, &o);
        cr_assert_not(d.set_gomemlimit);
        cr_assert_eq(d.gomemlimit, 241591910);
}

/* ---- Go >= 1.25 children ---- */

static struct go_buildinfo fake_go(const char *version) {
        return (struct go_buildinfo){
                .go_version = (char *)version,
                .path = (char *)"example.com/svc",
                .modinfo = (char *)"path\texample.com/svc\nbuild\tGOOS=linux\n",
                .ptr_size = 8,
        };
}

Test(limits_go125, runtime_already_right_not_exported) {
        struct go_buildinfo go = fake_go("go1.25.0");
        struct cg_limits cg = cpu(50000, 100000);
        struct limits_options o = opts();
        struct limits_decision d;

        cr_assert_eq(buildinfo_runtime_sizes_gomaxprocs(&go), 1, "fake build info must read as Go >= 1.25");
        cr_assert_eq(limits_decide(&cg, 8, &go, NULL, NULL, &o, &d), 0);
        cr_assert_eq(d.gomaxprocs, 2);
        cr_assert_eq(d.go_runtime_gomaxprocs, 2);
        cr_assert_not(d.set_gomaxprocs, "%s", d.gomaxprocs_reason);
        cr_assert(strstr(d.gomaxprocs_reason, "go1.25.0 sizes GOMAXPROCS"), "%s", d.gomaxprocs_reason);
}

Test(limits_go125, ancestor_limit_exported) {
        /* The leaf has no quota, its parent allows 1 CPU: the runtime,
         * reading the leaf only, would use all 8. */
        struct go_buildinfo go = fake_go("go1.26.1");
        struct cg_limits cg = cpu(100000, 100000);
        struct limits_options o = opts();
        struct limits_decision d;

        cg.cpu_leaf_limited = false;
        cr_assert_eq(limits_decide(&cg, 8, &go, NULL, NULL, &o, &d), 0);
        cr_assert_eq(d.go_runtime_gomaxprocs, 8);
        cr_assert_eq(d.gomaxprocs, 2);
        cr_assert(d.set_gomaxprocs, "%s", d.gomaxprocs_reason);
        cr_assert(strstr(d.gomaxprocs_reason, "leaf cgroup"), "%s", d.gomaxprocs_reason);
}

Test(limits_go125, floor_below_runtime_exported) {
        struct go_buildinfo go = fake_go("go1.25.3");
        struct cg_limits cg = cpu(50000, 100000);
        struct limits_options o = opts();
        struct limits_decision d;

        cr_assert_eq(limits_options_parse(&o, "--rounding", "floor"), 1);
        cr_assert_eq(limits_decide(&cg, 8, &go, NULL, NULL, &o, &d), 0);
        cr_assert_eq(d.gomaxprocs, 1);
        cr_assert_eq(d.go_runtime_gomaxprocs, 2);
        cr_assert(d.set_gomaxprocs, "%s", d.gomaxprocs_reason);
}

Test(limits_go125, cpuset_below_runtime_on_one_cpu_host) {
        struct go_buildinfo go = fake_go("go1.25.0");
        struct cg_limits cg = cpu(400000, 100000);
        struct limits_options o = opts();
        struct limits_decision d;

        cg.cpuset_cpus = 3;
        cr_assert_eq(limits_decide(&cg, 8, &go, NULL, NULL, &o, &d), 0);
        cr_assert_eq(d.gomaxprocs, 3);
        cr_assert_eq(d.go_runtime_gomaxprocs, 4);
        cr_assert(d.set_gomaxprocs, "%s", d.gomaxprocs_reason);
}

Test(limits_go125, older_go_exported) {
        struct go_buildinfo go = fake_go("go1.19.8");
        struct cg_limits cg = cpu(50000, 100000);
        struct limits_options o = opts();
        struct limits_decision d;

        cr_assert_eq(buildinfo_runtime_sizes_gomaxprocs(&go), 0);
        cr_assert_eq(limits_decide(&cg, 8, &go, NULL, NULL, &o, &d), 0);
        cr_assert(d.set_gomaxprocs, "%s", d.gomaxprocs_reason);
        cr_assert(strstr(d.gomaxprocs_reason, "go1.19.8 does not size"), "%s", d.gomaxprocs_reason);
}

Test(limits_go125, unknown_exported) {
        struct cg_limits cg = cpu(50000, 100000);
        struct limits_options o = opts();
        struct limits_decision d = decide(&cg, 8, &o);

        cr_assert(d.set_gomaxprocs, "%s", d.gomaxprocs_reason);
        cr_assert(strstr(d.gomaxprocs_reason, "not known to be a Go >= 1.25"), "%s", d.gomaxprocs_reason);
}

/* ---- Go 1.19's readers ---- */

Test(limits_go119, gomaxprocs_table) {
        /* Verified on go1.19.8 here: 01 -> 1, 007 -> 7; "-", "-0", "+1",
         * 2147483648 ignored (Go 1.26 would accept "+1": ParseInt). */
        static const struct { const char *s; int ok; unsigned v; } t[] = {
                { "1", 1, 1 }, { "2", 1, 2 }, { "1024", 1, 1024 }, { "100000", 1, 100000 },
                { "01", 1, 1 }, { "007", 1, 7 }, { "2147483647", 1, 2147483647u },
                { "0", 0, 0 }, { "-1", 0, 0 }, { "-0", 0, 0 }, { "-", 0, 0 }, { "+3", 0, 0 }, { "+1", 0, 0 },
                { "abc", 0, 0 }, { "1.5", 0, 0 }, { " 2", 0, 0 }, { "2 ", 0, 0 }, { "", 0, 0 },
                { "0x4", 0, 0 }, { "2147483648", 0, 0 }, { "4294967297", 0, 0 },
                { "99999999999999999999999", 0, 0 },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                unsigned v = 12345;

                cr_assert_eq(go_gomaxprocs_valid(t[i].s, &v), t[i].ok, "'%s'", t[i].s);
                if (t[i].ok)
                        cr_assert_eq(v, t[i].v, "'%s'", t[i].s);
                else
                        cr_assert_eq(v, 12345, "output written on failure for '%s'", t[i].s);
        }
        cr_assert_eq(go_gomaxprocs_valid(NULL, NULL), 0);
}

Test(limits_go119, gomemlimit_table) {
        /* Verified on go1.19.8 here (beyond env-probe.txt): -0 -> 0,
         * -KiB -> 0, 01KiB -> 1024, 8388607TiB ok, +1GiB / -B / 8388608TiB
         * fatal. */
        static const struct { const char *s; int ok; uint64_t v; } t[] = {
                { "512MiB", 1, 536870912 }, { "536870912", 1, 536870912 }, { "off", 1, INT64_MAX },
                { "", 1, INT64_MAX }, { "1GiB", 1, 1073741824 }, { "0", 1, 0 },
                { "9223372036854775807", 1, INT64_MAX }, { "9223372036854775807B", 1, INT64_MAX },
                { "1KiB", 1, 1024 }, { "1B", 1, 1 }, { "0B", 1, 0 }, { "1TiB", 1, 1099511627776ULL },
                { "7TiB", 1, 7696581394432ULL }, { "8388607TiB", 1, 9223370937343148032ULL },
                { "-0", 1, 0 }, { "-KiB", 1, 0 }, { "01KiB", 1, 1024 },
                { "OFF", 0, 0 }, { "garbage", 0, 0 }, { "512MB", 0, 0 }, { "512mb", 0, 0 }, { "512M", 0, 0 },
                { "1.5GiB", 0, 0 }, { "-1", 0, 0 }, { "512 MiB", 0, 0 }, { " 512MiB", 0, 0 },
                { "9223372036854775808", 0, 0 }, { "8EiB", 0, 0 }, { "99999999999999999999", 0, 0 },
                { "1e9", 0, 0 }, { "0x100000", 0, 0 }, { "100KB", 0, 0 }, { "8388608TiB", 0, 0 },
                { "+1GiB", 0, 0 }, { "-B", 0, 0 }, { "B", 0, 0 }, { "KiB", 0, 0 }, { "iB", 0, 0 },
                { "1gib", 0, 0 }, { "1Gib", 0, 0 }, { "1GIB", 0, 0 }, { "1 ", 0, 0 },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                uint64_t v = 12345;

                cr_assert_eq(go_gomemlimit_valid(t[i].s, &v), t[i].ok, "'%s'", t[i].s);
                if (t[i].ok)
                        cr_assert_eq(v, t[i].v, "'%s': %" PRIu64, t[i].s, v);
                else
                        cr_assert_eq(v, 12345, "'%s'", t[i].s);
        }
}

/* Every case of the real Go 1.19 capture must agree with our readers. */
Test(limits_go119, agrees_with_env_probe_sample) {
        FILE *f = fopen(SAMPLES "/env-probe.txt", "re");
        char line[4096], pending[16] = "";
        unsigned n_procs = 0, n_mem = 0;
        char fatal_value[256];
        bool fatal_seen = false;

        cr_assert(f, "cannot open %s", SAMPLES "/env-probe.txt");
        while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = '\0';
                if (strncmp(line, "### ", 4) == 0) {
                        if (fatal_seen) {
                                cr_assert_eq(go_gomemlimit_valid(fatal_value, NULL), 0, "'%s' is fatal to Go", fatal_value);
                                n_mem++;
                        }
                        fatal_seen = false;
                        snprintf(pending, sizeof pending, "%s",
                                 strncmp(line + 4, "GOMAXPROCS=", 11) == 0 ? "procs"
                                 : strncmp(line + 4, "GOMEMLIMIT=", 11) == 0 ? "mem" : "");
                        if (strstr(line, "taskset") || strstr(line, "re-run"))
                                pending[0] = '\0';
                        continue;
                }
                if (strcmp(pending, "mem") == 0 && strncmp(line, "GOMEMLIMIT=", 11) == 0) {
                        snprintf(fatal_value, sizeof fatal_value, "%.255s", line + 11);
                        fatal_seen = true;
                        continue;
                }
                if (strncmp(line, "num_cpu=", 8) != 0 || !pending[0])
                        continue;
                {
                        unsigned gomaxprocs;
                        char *e, val[256];
                        uint64_t memlimit, got;

                        cr_assert(sscanf(strstr(line, "gomaxprocs="), "gomaxprocs=%u", &gomaxprocs) == 1);
                        cr_assert(sscanf(strstr(line, "memory_limit="), "memory_limit=%" SCNu64, &memlimit) == 1);
                        e = strstr(line, strcmp(pending, "procs") == 0 ? "env_GOMAXPROCS=\"" : "env_GOMEMLIMIT=\"");
                        cr_assert(e);
                        e = strchr(e, '"') + 1;
                        snprintf(val, sizeof val, "%.*s", (int)(strchr(e, '"') - e) & 0xff, e);
                        if (strcmp(pending, "procs") == 0) {
                                char s[16];
                                unsigned v;

                                /* Go used the value iff it reports exactly it. */
                                snprintf(s, sizeof s, "%u", gomaxprocs);
                                cr_assert_eq(go_gomaxprocs_valid(val, &v), strcmp(s, val) == 0, "GOMAXPROCS='%s'", val);
                                n_procs++;
                        } else {
                                cr_assert_eq(go_gomemlimit_valid(val, &got), 1, "GOMEMLIMIT='%s'", val);
                                cr_assert_eq(got, memlimit, "GOMEMLIMIT='%s'", val);
                                n_mem++;
                        }
                }
        }
        fclose(f);
        cr_assert_geq(n_procs, 14, "%u GOMAXPROCS cases", n_procs);
        cr_assert_geq(n_mem, 25, "%u GOMEMLIMIT cases", n_mem);
}

/* ---- options ---- */

Test(limits_options, defaults) {
        struct limits_options o = opts();

        cr_assert_eq(o.rounding, LIMITS_ROUND_CEIL);
        cr_assert_eq(o.min_procs, 2);
        cr_assert_eq(o.mem_ratio_ppm, 900000);
        cr_assert_not(o.strict);
}

Test(limits_options, floor_implies_min1_unless_given) {
        struct limits_options o = opts();

        cr_assert_eq(limits_options_parse(&o, "--rounding", "floor"), 1);
        cr_assert_eq(o.min_procs, 1);
        cr_assert_eq(limits_options_parse(&o, "--rounding=ceil", NULL), 1);
        cr_assert_eq(o.min_procs, 2);
        cr_assert_eq(limits_options_parse(&o, "--min-procs=3", NULL), 1);
        cr_assert_eq(limits_options_parse(&o, "--rounding", "floor"), 1);
        cr_assert_eq(o.min_procs, 3);
}

Test(limits_options, values_and_errors) {
        struct limits_options o = opts();

        cr_assert_eq(limits_option_takes_value("--rounding"), 1);
        cr_assert_eq(limits_option_takes_value("--rounding=ceil"), 0);
        cr_assert_eq(limits_option_takes_value("--strict"), 0);
        cr_assert_eq(limits_option_takes_value("--json"), -ENOENT);
        cr_assert_eq(limits_options_parse(&o, "--json", NULL), 0);
        cr_assert_eq(limits_options_parse(&o, "--roundingx", "ceil"), 0);
        cr_assert_eq(limits_options_parse(&o, "--rounding", "round"), -EINVAL);
        cr_assert_eq(limits_options_parse(&o, "--rounding", NULL), -EINVAL);
        cr_assert_eq(limits_options_parse(&o, "--min-procs", "0"), -EINVAL);
        cr_assert_eq(limits_options_parse(&o, "--min-procs", "-1"), -EINVAL);
        cr_assert_eq(limits_options_parse(&o, "--min-procs", "x"), -EINVAL);
        cr_assert_eq(limits_options_parse(&o, "--cpus", "0"), -EINVAL);
        cr_assert_eq(limits_options_parse(&o, "--cpus", "99999999"), -EINVAL);
        cr_assert_eq(limits_options_parse(&o, "--cpus", "4"), 1);
        cr_assert_eq(o.cpus_override, 4);
        cr_assert_eq(limits_affinity_cpus(&o), 4);
        cr_assert_eq(limits_options_parse(&o, "--sysroot", ""), -EINVAL);
        cr_assert_eq(limits_options_parse(&o, "--sysroot", "/x"), 1);
        cr_assert_str_eq(o.sysroot, "/x");
        cr_assert_eq(limits_options_parse(&o, "--strict=yes", NULL), -EINVAL);
        cr_assert_eq(limits_options_parse(&o, "--strict", "ignored-next-arg"), 1);
        cr_assert(o.strict);
}

Test(limits_options, ratio) {
        static const struct { const char *s; int ok; uint64_t ppm; } t[] = {
                { "0.9", 1, 900000 }, { "1", 1, 1000000 }, { "1.0", 1, 1000000 }, { "1.000000000", 1, 1000000 },
                { ".5", 1, 500000 }, { "0.000001", 1, 1 }, { "0.1234560", 1, 123456 }, { "0.95", 1, 950000 },
                { "0", 0, 0 }, { "0.0", 0, 0 }, { "0.0000001", 0, 0 }, { "1.1", 0, 0 }, { "1.0000001", 0, 0 },
                { "2", 0, 0 }, { "-0.5", 0, 0 }, { "", 0, 0 }, { ".", 0, 0 }, { "abc", 0, 0 }, { "0.9x", 0, 0 },
                { "90%", 0, 0 }, { "1e-1", 0, 0 }, { " 0.9", 0, 0 }, { "nan", 0, 0 }, { "100000000000000000000", 0, 0 },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                uint64_t ppm = 7;
                struct limits_options o = opts();

                cr_assert_eq(limits_parse_ratio(t[i].s, &ppm) >= 0, t[i].ok, "'%s'", t[i].s);
                cr_assert_eq(limits_options_parse(&o, "--mem-ratio", t[i].s), t[i].ok ? 1 : -EINVAL, "'%s'", t[i].s);
                if (t[i].ok) {
                        cr_assert_eq(ppm, t[i].ppm, "'%s'", t[i].s);
                        cr_assert_eq(o.mem_ratio_ppm, t[i].ppm);
                } else {
                        cr_assert_eq(ppm, 7);
                        cr_assert_eq(o.mem_ratio_ppm, 900000);
                }
        }
}

Test(limits_affinity, real) {
        struct limits_options o = opts();
        unsigned n = limits_affinity_cpus(&o);

        cr_assert_geq(n, 1);
        cr_assert_leq(n, 65536);
}

Test(limits_env_build, prepare_env_adds_variables) {
        /* No sysroot tree: an empty one, so no limits at all; --cpus 8
         * and nothing set. The environment copy must still be complete. */
        struct limits_options o = opts();
        char **env = NULL, tmpl[] = "/tmp/gorral-limits-XXXXXX";
        unsigned errors = 99;
        size_t n = 0;

        cr_assert(mkdtemp(tmpl));
        o.sysroot = tmpl;
        o.cpus_override = 8;
        setenv("GORRAL_TEST_MARK", "1", 1);
        unsetenv("GOMAXPROCS");
        unsetenv("GOMEMLIMIT");
        cr_assert_eq(limits_prepare_env(&o, NULL, &env, &errors), 0);
        cr_assert_eq(errors, 0);
        for (char **p = env; *p; p++) {
                n++;
                cr_assert(strncmp(*p, "GOMAXPROCS=", 11) != 0);
                cr_assert(strncmp(*p, "GOMEMLIMIT=", 11) != 0);
        }
        cr_assert_gt(n, 0);
        free(env);
        rmdir(tmpl);
}

Test(limits_env_build, prepare_env_for_base) {
        /* v1 fixture tree: 2.5 cores, 1 GiB; the base environment's
         * GOMAXPROCS wins and is kept, GOMEMLIMIT is added. */
        struct limits_options o = opts();
        char *base[] = { (char *)"A=1", (char *)"GOMAXPROCS=7", NULL };
        char **env = NULL;
        unsigned errors = 99;
        size_t n = 0;
        bool procs = false, mem = false;

        o.sysroot = FIXTURES "/cgroup/v1";
        o.cpus_override = 8;
        cr_assert_eq(limits_prepare_env_for(&o, NULL, base, &env, &errors), 0);
        cr_assert_eq(errors, 0);
        for (char **p = env; *p; p++, n++) {
                if (strcmp(*p, "GOMAXPROCS=7") == 0)
                        procs = true;
                if (strcmp(*p, "GOMEMLIMIT=966367641") == 0)
                        mem = true;
        }
        cr_assert_eq(n, 3);
        cr_assert(procs && mem);
        free(env);
}

Test(limits_env_build, pending_scope_limits) {
        /* The v1 fixture: 2.5 cores, 1 GiB. A transient scope made after
         * the spawn (limits_options.pending_*) is one more level: a
         * tighter one wins (1 core, 256 MiB), a looser one changes
         * nothing. */
        struct limits_options o = opts();
        char *base[] = { (char *)"A=1", NULL };
        char **env = NULL;

        o.sysroot = FIXTURES "/cgroup/v1";
        o.cpus_override = 8;
        o.pending_quota_us = 100000;
        o.pending_period_us = 100000;
        o.pending_memory_bytes = 256ull << 20;
        o.pending_source = "the transient scope of api";
        cr_assert_eq(limits_prepare_env_for(&o, NULL, base, &env, NULL), 0);
        cr_expect_str_eq(env_lookup(env, "GOMAXPROCS", 10), "2", "ceil(1 core), the minimum of 2");
        cr_expect_str_eq(env_lookup(env, "GOMEMLIMIT", 10), "241591910", "0.9 x 256 MiB");
        free(env);

        o.pending_quota_us = 800000;
        o.pending_memory_bytes = 4ull << 30;
        cr_assert_eq(limits_prepare_env_for(&o, NULL, base, &env, NULL), 0);
        cr_expect_str_eq(env_lookup(env, "GOMAXPROCS", 10), "3", "the cgroups' 2.5 cores stay the tightest");
        cr_expect_str_eq(env_lookup(env, "GOMEMLIMIT", 10), "966367641", "and their 1 GiB");
        free(env);
}
