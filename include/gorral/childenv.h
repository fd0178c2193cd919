/* childenv.h: the environment a child starts with (L2): read the cgroups
 * that apply to it, read its Go build info where that can change the
 * outcome, apply the policy of limits.h, log the decision, and build the
 * environment with GOMAXPROCS/GOMEMLIMIT added. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "gorral/buildinfo.h"
#include "gorral/cgroup.h"
#include "gorral/limits.h"

/* Affinity CPU count (sched_getaffinity) or o->cpus_override. */
unsigned limits_affinity_cpus(const struct limits_options *o);

/* Everything the commands show: the cgroup reading, the child's build
 * info, the environment seen and the decision. */
struct limits_state {
        struct cg_limits cg;
        char *exe_path;            /* exe resolved on PATH, or NULL */
        bool have_go;
        struct go_buildinfo go;    /* valid when have_go */
        int go_err;                /* buildinfo_read() result when !have_go and exe_path */
        const char *env_gomaxprocs, *env_gomemlimit; /* from environ, or NULL */
        struct limits_decision d;
        unsigned n_errors;         /* cgroup errors + a fatal inherited GOMEMLIMIT */
};
/* Read, inspect and decide; does not log. -errno only for gorral's own
 * failures (ENOMEM). */
int limits_gather(const struct limits_options *o, const char *exe, struct limits_state *ret);
/* The same, with the inherited GOMAXPROCS/GOMEMLIMIT looked up in base_env
 * (a NULL-terminated "K=V" array: a service's own environment) instead of
 * environ. */
int limits_gather_for(const struct limits_options *o, const char *exe, char *const *base_env,
                      struct limits_state *ret);
void limits_state_done(struct limits_state *s);
/* Log the decision: one "limits" event per variable, warnings and errors;
 * service (may be NULL) names whose decision it is, as service=NAME. */
void limits_log(const struct limits_state *s, const char *service);

/* Everything a launcher needs: read the cgroups, inspect exe (resolved on
 * PATH; may be NULL), decide, log the decision (one line each, naming
 * o->service when set), and return a copy of environ with
 * GOMAXPROCS/GOMEMLIMIT added, in one block (strv_pack: free with free(),
 * not strv_free). ret_errors: number of errors found. */
int limits_prepare_env(const struct limits_options *o, const char *exe, char ***ret_env, unsigned *ret_errors);
/* The same over base_env instead of environ (a supervisor's per-service
 * environment): the copy is of base_env, and a GOMAXPROCS/GOMEMLIMIT in it
 * wins. Reads the cgroups of the calling process: call it where the child
 * will run (e.g. after attaching to a per-service cgroup), or accept the
 * supervisor's own cgroup as the budget. */
int limits_prepare_env_for(const struct limits_options *o, const char *exe, char *const *base_env, char ***ret_env,
                           unsigned *ret_errors);
