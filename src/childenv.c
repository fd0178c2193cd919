/* childenv.c: the environment a Go child starts with: read its cgroups,
 * inspect its binary, apply the policy (limits.c), log the decision and
 * build the environment. See childenv.h. */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gorral/buildinfo.h"
#include "gorral/cgroup.h"
#include "gorral/childenv.h"
#include "gorral/log.h"
#include "gorral/spawn.h"
#include "gorral/util.h"

extern char **environ;

unsigned limits_affinity_cpus(const struct limits_options *o) {
        if (o && o->cpus_override)
                return o->cpus_override;
        /* Grow the mask until the kernel accepts it (EINVAL means the
         * kernel's mask is larger than ours). */
        for (size_t ncpu = 1024; ncpu <= 65536; ncpu *= 2) {
                cpu_set_t *set = CPU_ALLOC(ncpu);
                size_t sz = CPU_ALLOC_SIZE(ncpu);
                int count;

                if (!set)
                        break;
                CPU_ZERO_S(sz, set);
                if (sched_getaffinity(0, sz, set) < 0) {
                        CPU_FREE(set);
                        if (errno == EINVAL)
                                continue;
                        break;
                }
                count = CPU_COUNT_S(sz, set);
                CPU_FREE(set);
                if (count > 0)
                        return (unsigned)count;
                break;
        }
        /* Fall back to what libc says is online: still better than 1. */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (unsigned)n : 1;
}

/* With always_inspect false (the launch path) the binary is read only
 * when its Go version can change the outcome: the Go >= 1.25 rule can only
 * withdraw a GOMAXPROCS the policy would export, so when it exports none
 * the ELF read is skipped (it is a third of the limits' start-up cost). */
static int gather(const struct limits_options *o, const char *exe, char *const *base_env, bool always_inspect,
                  struct limits_state *ret) {
        struct limits_state s = { .go_err = -ENOENT };
        unsigned ncpu = limits_affinity_cpus(o), what = 0;
        int r;

        s.env_gomaxprocs = env_lookup(base_env, "GOMAXPROCS", 10);
        s.env_gomemlimit = env_lookup(base_env, "GOMEMLIMIT", 10);
        if (always_inspect || o->strict)
                what = CG_READ_ALL; /* --strict: every file is checked, used or not */
        else {
                /* The launch path reads what the decision can use: no CPU
                 * file when the minimum already reaches the CPU count (and
                 * no inherited value needs checking against the quota),
                 * no cpuset (the affinity mask reflects it), and on v1 the
                 * leaf's hierarchical memory limit alone. */
                if (!o->no_gomaxprocs && (s.env_gomaxprocs || o->min_procs < ncpu))
                        what |= CG_READ_CPU;
                if (!o->no_gomemlimit)
                        what |= CG_READ_MEMORY_FAST;
        }
        r = cg_read_limits_opt(o->sysroot, 0, o->cgroup_subpath, what, &s.cg);
        if (r < 0)
                return r;
        /* A transient scope made after the spawn (limits_options.pending_*). */
        r = cg_limits_add_leaf(&s.cg, o->pending_quota_us, o->pending_period_us, o->pending_memory_bytes,
                               o->pending_source ? o->pending_source : "a transient scope");
        if (r < 0) {
                cg_limits_done(&s.cg);
                return r;
        }
        if (!always_inspect) {
                r = limits_decide(&s.cg, ncpu, NULL, s.env_gomaxprocs, s.env_gomemlimit, o, &s.d);
                if (r < 0) {
                        limits_state_done(&s);
                        return r;
                }
                if (!s.d.set_gomaxprocs)
                        exe = NULL;
        }
        if (exe) {
                if (spawn_resolve(exe, env_lookup(base_env, "PATH", 4), &s.exe_path) < 0)
                        s.exe_path = NULL;
                if (s.exe_path) {
                        r = buildinfo_read(s.exe_path, &s.go);
                        if (r >= 0)
                                s.have_go = true;
                        else
                                s.go_err = r;
                }
        }
        if (always_inspect || exe) {
                r = limits_decide(&s.cg, ncpu, s.have_go ? &s.go : NULL, s.env_gomaxprocs, s.env_gomemlimit, o,
                                  &s.d);
                if (r < 0) {
                        limits_state_done(&s);
                        return r;
                }
        }
        s.n_errors = (unsigned)s.cg.n_errors + (s.d.gomemlimit_env_fatal ? 1u : 0u);
        *ret = s;
        return 0;
}

int limits_gather_for(const struct limits_options *o, const char *exe, char *const *base_env,
                      struct limits_state *ret) {
        return gather(o, exe, base_env, true, ret);
}

int limits_gather(const struct limits_options *o, const char *exe, struct limits_state *ret) {
        return limits_gather_for(o, exe, environ, ret);
}

void limits_state_done(struct limits_state *s) {
        if (!s)
                return;
        cg_limits_done(&s->cg);
        if (s->have_go)
                buildinfo_done(&s->go);
        free(s->exe_path);
        *s = (struct limits_state){ .go_err = -ENOENT };
}

void limits_log(const struct limits_state *s, const char *service) {
        const struct limits_decision *d = &s->d;
        const char *sv = service ? service : "";

        for (size_t i = 0; i < s->cg.n_errors; i++)
                log_event(LOG_LEVEL_ERROR, "limits-error", LOG_OPT(service, "service"), sv, "file",
                          s->cg.errors[i].file ? s->cg.errors[i].file : "?", "message",
                          s->cg.errors[i].message ? s->cg.errors[i].message : "?", NULL);
        for (unsigned i = 0; i < d->n_warnings; i++)
                log_event(d->gomemlimit_env_fatal && strstr(d->warnings[i], "GOMEMLIMIT") ? LOG_LEVEL_ERROR
                                                                                         : LOG_LEVEL_WARN,
                          "limits-warning", LOG_OPT(service, "service"), sv, "message", d->warnings[i], NULL);
        log_event(LOG_LEVEL_INFO, "limits", LOG_OPT(service, "service"), sv, "gomaxprocs",
                  d->set_gomaxprocs ? LF_U64(d->gomaxprocs) : s->env_gomaxprocs ? "inherited" : "unset",
                  "target", d->gomaxprocs_known ? LF_U64(d->gomaxprocs) : "none", "affinity_cpus",
                  LF_U64(d->affinity_cpus), "reason", d->gomaxprocs_reason, NULL);
        log_event(LOG_LEVEL_INFO, "limits", LOG_OPT(service, "service"), sv, "gomemlimit",
                  d->set_gomemlimit ? LF_U64(d->gomemlimit) : s->env_gomemlimit ? "inherited" : "unset", "budget",
                  d->mem_budget_known ? LF_U64(d->mem_budget) : "none", "reason", d->gomemlimit_reason, NULL);
}

/* A copy of base plus the variables the decision sets, in one block
 * (strv_pack; free()). The decision only sets a variable absent from the
 * environment, so appending never shadows an existing entry. */
static int build_env(const struct limits_decision *d, char *const *base, char ***ret) {
        char procs[sizeof "GOMAXPROCS=" + FMT_INT_MAX], mem[sizeof "GOMEMLIMIT=" + FMT_INT_MAX];
        size_t n = 0, k;
        char **env;
        int r;

        while (base && base[n])
                n++;
        env = calloc(n + 3, sizeof(char *));
        if (!env)
                return -ENOMEM;
        for (k = 0; k < n; k++)
                env[k] = base[k];
        if (d->set_gomaxprocs) {
                memcpy(procs, "GOMAXPROCS=", 11);
                fmt_u64(procs + 11, d->gomaxprocs);
                env[k++] = procs;
        }
        if (d->set_gomemlimit) {
                memcpy(mem, "GOMEMLIMIT=", 11);
                fmt_u64(mem + 11, d->gomemlimit);
                env[k++] = mem;
        }
        r = strv_pack(env, ret);
        free(env);
        return r;
}

int limits_prepare_env(const struct limits_options *o, const char *exe, char ***ret_env, unsigned *ret_errors) {
        return limits_prepare_env_for(o, exe, environ, ret_env, ret_errors);
}

int limits_prepare_env_for(const struct limits_options *o, const char *exe, char *const *base_env, char ***ret_env,
                           unsigned *ret_errors) {
        struct limits_state s;
        char **env;
        int r;

        r = gather(o, exe, base_env, false, &s);
        if (r < 0)
                return r;
        limits_log(&s, o->service);
        r = build_env(&s.d, base_env, &env);
        if (r >= 0) {
                *ret_env = env;
                if (ret_errors)
                        *ret_errors = s.n_errors;
        }
        limits_state_done(&s);
        return r;
}

