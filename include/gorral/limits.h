/* limits.h: the GOMAXPROCS/GOMEMLIMIT policy and its options (L1, pure:
 * no I/O, no logging). See README "Policy". Go's own readers of the
 * variables are in goenv.h; reading the cgroups and building a child's
 * environment in childenv.h.
 *
 * Policy, in short (every decision comes with a human reason):
 *   GOMAXPROCS = min(affinity CPUs, cpuset CPUs, max(min_procs, round(quota/period)))
 *     round = ceil (default, min 2: Go >= 1.25's own rule) or floor (min 1:
 *     automaxprocs); exported only when below the affinity count, and for
 *     Go >= 1.25 children only when lower than what their runtime picks.
 *   GOMEMLIMIT = floor(min(memory hard limit, memory.high) * ratio), plain
 *     decimal bytes, never 0.
 *   A GOMAXPROCS/GOMEMLIMIT already in the environment always wins. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "gorral/buildinfo.h"
#include "gorral/cgroup.h"

enum limits_rounding { LIMITS_ROUND_CEIL, LIMITS_ROUND_FLOOR, _LIMITS_ROUND_INVALID = -22 };

struct limits_options {
        enum limits_rounding rounding; /* default ceil (Go >= 1.25's rule) */
        unsigned min_procs;            /* default 2 (ceil), 1 after --rounding floor */
        bool min_procs_set;            /* --min-procs given: --rounding no longer changes it */
        uint64_t mem_ratio_ppm;        /* GOMEMLIMIT = budget * ppm / 1e6; default 900000 */
        unsigned cpus_override;        /* --cpus N: stands in for the affinity count; 0 = none */
        const char *sysroot;           /* --sysroot DIR or GORRAL_SYSROOT */
        const char *cgroup_subpath;    /* read the limits of this sub-cgroup of ours (a service's) */
        bool strict;                   /* exec: refuse to launch on errors */
        bool no_gomaxprocs, no_gomemlimit;
        /* Limits of a level that does not exist before the spawn: a
         * transient scope systemd makes for the service right after it
         * (bus.h). They count as the process's leaf and as one more level
         * of the tightest-wins rule; 0: none. pending_source names it in
         * the explanation. */
        uint64_t pending_quota_us, pending_period_us, pending_memory_bytes;
        const char *pending_source;
        /* The service the decision is for, named in its log lines (a
         * supervisor's spawn: several services log theirs); NULL: none. */
        const char *service;
};

/* Defaults; sysroot from $GORRAL_SYSROOT when set and not empty. */
void limits_options_init(struct limits_options *o);
/* Parse one policy option shared by limits, env, exec and run. opt is the
 * option as typed ("--rounding" or "--rounding=floor"); value is the next
 * argument (used only when the option takes one and opt has no "=").
 * Returns 1 consumed, 0 not a policy option, -EINVAL bad or missing value.
 * Use limits_option_takes_value() to know whether to skip the next
 * argument. */
int limits_options_parse(struct limits_options *o, const char *opt, const char *value);
/* 1 the option takes a value (and opt has no "=value"), 0 it does not,
 * -ENOENT not a policy option. */
int limits_option_takes_value(const char *opt);
/* The help text for the policy options. */
extern const char limits_options_help[];

/* "0.9" -> 900000 ppm; accepts (0,1] with at most 6 decimals. */
int limits_parse_ratio(const char *s, uint64_t *ret_ppm);

struct limits_decision {
        unsigned affinity_cpus;
        bool set_gomaxprocs;
        unsigned gomaxprocs;          /* the policy's value, even when not exported */
        bool gomaxprocs_known;
        char gomaxprocs_reason[512];
        bool set_gomemlimit;
        uint64_t gomemlimit;
        bool gomemlimit_known;
        char gomemlimit_reason[512];
        char warnings[4][512];        /* e.g. an inherited GOMEMLIMIT Go would die of */
        unsigned n_warnings;
        /* Refinements (added after the first contract): */
        uint64_t mem_budget;          /* min(hard limit, memory.high) when mem_budget_known */
        bool mem_budget_known;
        int go_sizes_gomaxprocs;      /* buildinfo_runtime_sizes_gomaxprocs(): 1, 0, or -errno/unknown */
        unsigned go_runtime_gomaxprocs; /* what a Go >= 1.25 runtime picks itself (when go_sizes == 1) */
        bool gomemlimit_env_fatal;    /* inherited GOMEMLIMIT that Go dies of (exit 2): an error */
};

/* The pure policy. env_* are the values already in the child's
 * environment (NULL when absent); go may be NULL (not a Go binary or
 * unknown). */
int limits_decide(const struct cg_limits *cg, unsigned affinity_cpus, const struct go_buildinfo *go,
                  const char *env_gomaxprocs, const char *env_gomemlimit,
                  const struct limits_options *o, struct limits_decision *ret);
