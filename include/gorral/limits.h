/* limits.h: the GOMAXPROCS/GOMEMLIMIT policy (L1, pure) and the glue that
 * applies it to a child's environment. See README "Policy". */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct cg_limits;
struct go_buildinfo;

enum limits_rounding { LIMITS_ROUND_CEIL, LIMITS_ROUND_FLOOR, _LIMITS_ROUND_INVALID = -22 };

struct limits_options {
        enum limits_rounding rounding; /* default ceil (Go >= 1.25's rule) */
        unsigned min_procs;            /* default 2 (ceil) */
        uint64_t mem_ratio_ppm;        /* GOMEMLIMIT = budget * ppm / 1e6; default 900000 */
        unsigned cpus_override;        /* --cpus N: stands in for the affinity count; 0 = none */
        const char *sysroot;           /* --sysroot DIR or GORRAL_SYSROOT */
        bool strict;                   /* exec: refuse to launch on errors */
        bool no_gomaxprocs, no_gomemlimit;
};

void limits_options_init(struct limits_options *o);
/* Parse one policy option (getopt-style "--rounding", value) shared by
 * limits, env, exec and run: 1 consumed, 0 not a policy option, -EINVAL bad value. */
int limits_options_parse(struct limits_options *o, const char *opt, const char *value);
/* The help text for the policy options. */
extern const char limits_options_help[];

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
};

/* The pure policy. env_* are the values already in the child's
 * environment (NULL when absent); go may be NULL (not a Go binary or
 * unknown). */
int limits_decide(const struct cg_limits *cg, unsigned affinity_cpus, const struct go_buildinfo *go,
                  const char *env_gomaxprocs, const char *env_gomemlimit,
                  const struct limits_options *o, struct limits_decision *ret);

/* Go 1.19's own readers: 1 valid (value in *ret), 0 ignored by Go
 * (GOMAXPROCS) or fatal to Go (GOMEMLIMIT). */
int go_gomaxprocs_valid(const char *s, unsigned *ret);
int go_gomemlimit_valid(const char *s, uint64_t *ret);

/* Affinity CPU count (sched_getaffinity) or o->cpus_override. */
unsigned limits_affinity_cpus(const struct limits_options *o);

/* Everything a launcher needs: read the cgroups, inspect exe (resolved on
 * PATH; may be NULL), decide, log the decision (one line each), and
 * return a malloc'd copy of environ with GOMAXPROCS/GOMEMLIMIT added
 * (free with limits_env_free). ret_errors: number of errors found. */
int limits_prepare_env(const struct limits_options *o, const char *exe, char ***ret_env, unsigned *ret_errors);
void limits_env_free(char **env);
