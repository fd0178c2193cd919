/* limits.c: the GOMAXPROCS/GOMEMLIMIT policy and its options. Pure: no
 * I/O, no logging, so every rule is unit-tested over hand-built struct
 * cg_limits values. Go's own readers of the variables are in goenv.c; the
 * reading, logging and environment building around the policy in
 * childenv.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gorral/buildinfo.h"
#include "gorral/cgroup.h"
#include "gorral/goenv.h"
#include "gorral/limits.h"
#include "gorral/util.h"

/* Bounds on user input: more CPUs than this is a typo, not a machine. */
#define LIMITS_MAX_CPUS 65536u
/* Go 1.19 has no upper cap on GOMAXPROCS and its start cost is linear
 * (samples/env-probe.txt: 100000 took 17 s and 1.3 GB); warn above this. */
#define GOMAXPROCS_WARN_ABOVE 1024u

const char limits_options_help[] =
        "Policy options:\n"
        "  --rounding ceil|floor  how a fractional CPU quota becomes GOMAXPROCS (default ceil,\n"
        "                         as Go >= 1.25 does; floor is automaxprocs' rule)\n"
        "  --min-procs N          lower bound before the CPU cap (default 2 with ceil, 1 with floor)\n"
        "  --mem-ratio R          GOMEMLIMIT = R x memory budget, R in (0,1] (default 0.9)\n"
        "  --cpus N               use N instead of the affinity CPU count\n"
        "  --sysroot DIR          read /proc and /sys under DIR (default $GORRAL_SYSROOT)\n"
        "  --no-gomaxprocs        never set GOMAXPROCS\n"
        "  --no-gomemlimit        never set GOMEMLIMIT\n"
        "  --strict               exec/run: refuse to start when a limit file is malformed\n"
        "                         (exit 2) instead of warning and starting anyway; under\n"
        "                         run, a file gone bad before a restart fails that start\n"
        "A GOMAXPROCS or GOMEMLIMIT already in the environment is always passed through.\n";

void limits_options_init(struct limits_options *o) {
        const char *e = getenv("GORRAL_SYSROOT");

        *o = (struct limits_options){
                .rounding = LIMITS_ROUND_CEIL,
                .min_procs = 2,
                .mem_ratio_ppm = 900000,
                .sysroot = e && *e ? e : NULL,
        };
}

int limits_parse_ratio(const char *s, uint64_t *ret_ppm) {
        uint64_t ip = 0, frac = 0, scale = 100000;
        const char *p = s;
        bool digits = false;

        /* Integer part: "0", "1", or nothing before ".5". Anything larger
         * is out of range anyway, so a short bound avoids overflow. */
        for (; *p >= '0' && *p <= '9'; p++) {
                if (ip > 10)
                        return -EINVAL;
                ip = ip * 10 + (uint64_t)(*p - '0');
                digits = true;
        }
        if (*p == '.') {
                p++;
                for (; *p >= '0' && *p <= '9'; p++) {
                        if (scale == 0) {
                                /* A 7th decimal is accepted only as 0:
                                 * no silent rounding of the ratio. */
                                if (*p != '0')
                                        return -EINVAL;
                        } else {
                                frac += (uint64_t)(*p - '0') * scale;
                                scale /= 10;
                        }
                        digits = true;
                }
        }
        if (!digits || *p != '\0')
                return -EINVAL;
        if (ip > 1 || (ip == 1 && frac > 0))
                return -ERANGE;
        if (ip * 1000000 + frac == 0)
                return -ERANGE;
        *ret_ppm = ip * 1000000 + frac;
        return 0;
}

static const struct {
        const char *name;
        bool takes_value;
} policy_options[] = {
        { "--rounding", true },       { "--min-procs", true },     { "--mem-ratio", true },
        { "--cpus", true },           { "--sysroot", true },       { "--no-gomaxprocs", false },
        { "--no-gomemlimit", false }, { "--strict", false },
};

/* Match opt ("--x" or "--x=v") against the table; *ret_eq points at the
 * value after '=' or is NULL. */
static int policy_option_find(const char *opt, const char **ret_eq) {
        const char *eq = strchr(opt, '=');
        size_t n = eq ? (size_t)(eq - opt) : strlen(opt);

        for (size_t i = 0; i < ELEMENTSOF(policy_options); i++)
                if (strlen(policy_options[i].name) == n && strncmp(opt, policy_options[i].name, n) == 0) {
                        *ret_eq = eq ? eq + 1 : NULL;
                        return (int)i;
                }
        return -ENOENT;
}

int limits_option_takes_value(const char *opt) {
        const char *eq;
        int i = policy_option_find(opt, &eq);

        if (i < 0)
                return i;
        return policy_options[i].takes_value && !eq;
}

int limits_options_parse(struct limits_options *o, const char *opt, const char *value) {
        const char *eq, *name;
        int i = policy_option_find(opt, &eq);
        uint32_t u;

        if (i < 0)
                return 0;
        name = policy_options[i].name;
        if (!policy_options[i].takes_value) {
                if (eq)
                        return -EINVAL; /* "--strict=1": flags take no value */
                if (strcmp(name, "--no-gomaxprocs") == 0)
                        o->no_gomaxprocs = true;
                else if (strcmp(name, "--no-gomemlimit") == 0)
                        o->no_gomemlimit = true;
                else
                        o->strict = true;
                return 1;
        }
        if (eq)
                value = eq;
        if (!value)
                return -EINVAL;

        if (strcmp(name, "--rounding") == 0) {
                if (strcmp(value, "ceil") == 0)
                        o->rounding = LIMITS_ROUND_CEIL;
                else if (strcmp(value, "floor") == 0)
                        o->rounding = LIMITS_ROUND_FLOOR;
                else
                        return -EINVAL;
                /* Each rounding comes with its reference's minimum (Go:
                 * ceil, 2; automaxprocs: floor, 1) unless given. */
                if (!o->min_procs_set)
                        o->min_procs = o->rounding == LIMITS_ROUND_FLOOR ? 1 : 2;
        } else if (strcmp(name, "--min-procs") == 0) {
                if (parse_u32(value, &u) < 0 || u < 1 || u > LIMITS_MAX_CPUS)
                        return -EINVAL;
                o->min_procs = u;
                o->min_procs_set = true;
        } else if (strcmp(name, "--mem-ratio") == 0) {
                uint64_t ppm;

                if (limits_parse_ratio(value, &ppm) < 0)
                        return -EINVAL;
                o->mem_ratio_ppm = ppm;
        } else if (strcmp(name, "--cpus") == 0) {
                if (parse_u32(value, &u) < 0 || u < 1 || u > LIMITS_MAX_CPUS)
                        return -EINVAL;
                o->cpus_override = u;
        } else { /* --sysroot */
                if (!*value)
                        return -EINVAL;
                o->sysroot = value;
        }
        return 1;
}

/* A bounded string builder for the reasons: truncation is acceptable,
 * overflow is not. */
_printf_(3, 4) static void appendf(char *buf, size_t size, const char *fmt, ...) {
        size_t len = strnlen(buf, size);
        va_list ap;

        if (len + 1 >= size)
                return;
        va_start(ap, fmt);
        vsnprintf(buf + len, size - len, fmt, ap);
        va_end(ap);
}

_printf_(2, 3) static void add_warning(struct limits_decision *d, const char *fmt, ...) {
        va_list ap;

        if (d->n_warnings >= ELEMENTSOF(d->warnings))
                return;
        va_start(ap, fmt);
        vsnprintf(d->warnings[d->n_warnings], sizeof d->warnings[0], fmt, ap);
        va_end(ap);
        d->n_warnings++;
}

/* quota/period as a decimal ("1.5", "0.33333"): exact up to 6 decimals,
 * integer arithmetic. */
static const char *fmt_cores(uint64_t q, uint64_t p, char buf[static 48]) {
        uint64_t ip, frac;
        int len;

        if (p == 0) {
                snprintf(buf, 48, "?");
                return buf;
        }
        ip = q / p;
        frac = (uint64_t)((unsigned __int128)(q % p) * 1000000u / p);
        len = snprintf(buf, 48, "%" PRIu64 ".%06" PRIu64, ip, frac);
        while (len > 0 && buf[len - 1] == '0')
                buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '.')
                buf[--len] = '\0';
        return buf;
}

static uint64_t div_ceil(uint64_t q, uint64_t p) {
        return q / p + (q % p != 0);
}

static const char *rounding_name(enum limits_rounding r) {
        return r == LIMITS_ROUND_FLOOR ? "floor" : "ceil";
}

static void decide_gomaxprocs(const struct cg_limits *cg, unsigned ncpu, const struct go_buildinfo *go,
                              const char *env, const struct limits_options *o, struct limits_decision *d) {
        char *r = d->gomaxprocs_reason;
        const size_t rs = sizeof d->gomaxprocs_reason;
        char c1[48];
        uint64_t target = ncpu, cap = ncpu;
        bool cpuset_caps = false;

        /* The target, whenever the files were sane: shown even when it is
         * not exported. */
        if (!cg->cpu_error) {
                if (cg->cpuset_cpus > 0 && cg->cpuset_cpus < ncpu) {
                        cap = cg->cpuset_cpus;
                        cpuset_caps = true;
                }
                if (cg->cpu_limited && cg->cpu_period_us > 0) {
                        uint64_t q = cg->cpu_quota_us, p = cg->cpu_period_us;
                        uint64_t rounded = o->rounding == LIMITS_ROUND_FLOOR ? q / p : div_ceil(q, p);

                        target = rounded < o->min_procs ? o->min_procs : rounded;
                        if (target > cap)
                                target = cap;
                } else
                        target = cap;
                if (target < 1)
                        target = 1;
                d->gomaxprocs = (unsigned)target;
                d->gomaxprocs_known = true;
        }

        /* What a Go >= 1.25 child computes by itself: leaf cgroup only,
         * ceil, min 2, capped by the affinity mask (limits-spec G6, G7). */
        d->go_sizes_gomaxprocs = go ? buildinfo_runtime_sizes_gomaxprocs(go) : -ENOENT;
        if (d->go_sizes_gomaxprocs == 1) {
                uint64_t rt = ncpu;

                if (cg->cpu_leaf_limited && cg->cpu_leaf_period_us > 0) {
                        rt = div_ceil(cg->cpu_leaf_quota_us, cg->cpu_leaf_period_us);
                        if (rt < 2)
                                rt = 2;
                        if (rt > ncpu)
                                rt = ncpu;
                }
                d->go_runtime_gomaxprocs = (unsigned)rt;
        }

        if (env) {
                unsigned v;

                if (go_gomaxprocs_valid(env, &v)) {
                        snprintf(r, rs, "GOMAXPROCS=%s is already in the environment: passed through unchanged", env);
                        if (v > GOMAXPROCS_WARN_ABOVE)
                                add_warning(d, "GOMAXPROCS=%s in the environment is very large: Go 1.19 has no upper "
                                               "cap and its start time and memory grow with it", env);
                        else if (d->gomaxprocs_known && cg->cpu_limited && v > d->gomaxprocs)
                                add_warning(d, "GOMAXPROCS=%s in the environment is above the CPU limit of %s cores: "
                                               "expect CPU throttling",
                                            env, fmt_cores(cg->cpu_quota_us, cg->cpu_period_us, c1));
                } else {
                        snprintf(r, rs, "GOMAXPROCS=\"%s\" is already in the environment: passed through unchanged, "
                                        "but Go ignores it and uses the CPU count", env);
                        add_warning(d, "GOMAXPROCS=\"%s\" in the environment is not a positive decimal int32: Go 1.19 "
                                       "silently ignores it and uses NumCPU (%u)", env, ncpu);
                }
                return;
        }
        if (o->no_gomaxprocs) {
                snprintf(r, rs, "--no-gomaxprocs: left unset");
                return;
        }
        if (cg->cpu_error) {
                snprintf(r, rs, "a CPU limit file is malformed (see errors): left unset, Go uses the CPU count");
                return;
        }

        /* How the target came to be. */
        if (cg->cpu_limited && cg->cpu_period_us > 0) {
                uint64_t q = cg->cpu_quota_us, p = cg->cpu_period_us;
                uint64_t rounded = o->rounding == LIMITS_ROUND_FLOOR ? q / p : div_ceil(q, p);

                snprintf(r, rs, "CPU quota %" PRIu64 "/%" PRIu64 " us = %s cores (%s); %s -> %" PRIu64, q, p,
                         fmt_cores(q, p, c1), cg->cpu_file ? cg->cpu_file : "?", rounding_name(o->rounding),
                         rounded);
                if (rounded < o->min_procs)
                        appendf(r, rs, ", raised to min %u", o->min_procs);
                if (target < (rounded < o->min_procs ? o->min_procs : rounded))
                        appendf(r, rs, ", capped at %" PRIu64 " %s", target,
                                cpuset_caps ? "cpuset CPUs" : "affinity CPUs");
        } else {
                snprintf(r, rs, "no CPU limit");
                if (cpuset_caps)
                        appendf(r, rs, "; cpuset allows %u CPUs (%s)", cg->cpuset_cpus,
                                cg->cpuset_file ? cg->cpuset_file : "?");
        }

        if (target >= ncpu) {
                appendf(r, rs, "; %" PRIu64 " >= %u affinity CPUs: not exported, Go's default (the CPU count) "
                               "is already right", target, ncpu);
                return;
        }

        if (d->go_sizes_gomaxprocs == 1) {
                uint64_t rt = d->go_runtime_gomaxprocs;

                if (target >= rt) {
                        appendf(r, rs, "; %s sizes GOMAXPROCS from its own cgroup (it would pick %" PRIu64
                                       ") and keeps it updated: not exported",
                                go->go_version ? go->go_version : "Go >= 1.25", rt);
                        return;
                }
                appendf(r, rs, "; %s reads only its leaf cgroup and would pick %" PRIu64 ": exported (this also "
                               "turns off its automatic updates)", go->go_version ? go->go_version : "Go >= 1.25", rt);
        } else if (d->go_sizes_gomaxprocs == 0)
                appendf(r, rs, "; %s does not size GOMAXPROCS from the cgroup: exported",
                        go && go->go_version ? go->go_version : "this Go");
        else
                appendf(r, rs, "; %s: exported", go ? "Go version not understood" : "not known to be a Go >= 1.25 binary");
        d->set_gomaxprocs = true;
}

static void decide_gomemlimit(const struct cg_limits *cg, const char *env, const struct limits_options *o,
                              struct limits_decision *d) {
        char *r = d->gomemlimit_reason;
        const size_t rs = sizeof d->gomemlimit_reason;
        const char *budget_file = NULL;
        uint64_t budget = 0, v;
        uint64_t ppm = o->mem_ratio_ppm;

        if (!cg->mem_error) {
                if (cg->mem_limited) {
                        budget = cg->mem_bytes;
                        budget_file = cg->mem_file;
                        d->mem_budget_known = true;
                }
                if (cg->high_limited && (!d->mem_budget_known || cg->high_bytes < budget)) {
                        budget = cg->high_bytes;
                        budget_file = cg->high_file;
                        d->mem_budget_known = true;
                }
                d->mem_budget = budget;
        }
        if (ppm == 0 || ppm > 1000000)
                ppm = 900000; /* the option parser never lets this through */
        if (d->mem_budget_known) {
                /* floor(budget * ppm / 1e6), exact in 128 bits. */
                v = (uint64_t)((unsigned __int128)budget * ppm / 1000000u);
                d->gomemlimit = v;
                d->gomemlimit_known = v > 0 && v <= (uint64_t)INT64_MAX;
        }

        if (env) {
                uint64_t ev;

                if (!go_gomemlimit_valid(env, &ev)) {
                        snprintf(r, rs, "GOMEMLIMIT=\"%s\" is already in the environment: passed through unchanged, "
                                        "but Go will refuse to start", env);
                        add_warning(d, "GOMEMLIMIT=\"%s\" in the environment is malformed: every Go >= 1.19 program "
                                       "dies at start with \"malformed GOMEMLIMIT\" (exit 2); use plain bytes or "
                                       "N[KMGT]iB", env);
                        d->gomemlimit_env_fatal = true;
                        return;
                }
                snprintf(r, rs, "GOMEMLIMIT=%s is already in the environment: passed through unchanged", env);
                if (*env == '\0')
                        add_warning(d, "GOMEMLIMIT is set but empty in the environment: Go reads that as no limit");
                else if (ev == 0)
                        add_warning(d, "GOMEMLIMIT=%s in the environment is a 0-byte target: the Go GC will run "
                                       "continuously", env);
                else if (d->mem_budget_known && ev > d->mem_budget && strcmp(env, "off") != 0)
                        add_warning(d, "GOMEMLIMIT=%s in the environment is above the memory budget of %" PRIu64
                                       " bytes: the GC will not hold the heap under the cgroup limit", env,
                                    d->mem_budget);
                return;
        }
        if (o->no_gomemlimit) {
                snprintf(r, rs, "--no-gomemlimit: left unset");
                return;
        }
        if (cg->mem_error) {
                snprintf(r, rs, "a memory limit file is malformed (see errors): left unset, Go has no memory limit");
                return;
        }
        if (!d->mem_budget_known) {
                snprintf(r, rs, "no memory limit: left unset, Go has no memory limit");
                return;
        }
        snprintf(r, rs, "memory budget %" PRIu64 " bytes (%s%s)", budget, budget_file ? budget_file : "?",
                 budget_file && budget_file == cg->high_file ? ", memory.high below the hard limit" : "");
        if (ppm == 1000000)
                appendf(r, rs, " x 1");
        else {
                char rb[16];
                int len = snprintf(rb, sizeof rb, "0.%06" PRIu64, ppm);

                while (len > 2 && rb[len - 1] == '0')
                        rb[--len] = '\0';
                appendf(r, rs, " x %s", rb);
        }
        if (d->gomemlimit == 0) {
                appendf(r, rs, " = 0 bytes: left unset (a 0-byte GOMEMLIMIT makes the GC run continuously)");
                return;
        }
        if (d->gomemlimit > (uint64_t)INT64_MAX) {
                appendf(r, rs, " is above Go's maximum (2^63-1): left unset");
                return;
        }
        appendf(r, rs, " = %" PRIu64 " bytes: exported", d->gomemlimit);
        d->set_gomemlimit = true;
}

int limits_decide(const struct cg_limits *cg, unsigned affinity_cpus, const struct go_buildinfo *go,
                  const char *env_gomaxprocs, const char *env_gomemlimit,
                  const struct limits_options *o, struct limits_decision *ret) {
        struct limits_decision d = { .go_sizes_gomaxprocs = -ENOENT };

        if (!cg || !o || !ret)
                return -EINVAL;
        if (affinity_cpus == 0)
                affinity_cpus = 1;
        d.affinity_cpus = affinity_cpus;
        decide_gomaxprocs(cg, affinity_cpus, go, env_gomaxprocs, o, &d);
        decide_gomemlimit(cg, env_gomemlimit, o, &d);
        *ret = d;
        return 0;
}

