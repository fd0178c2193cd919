/* limits.c: the GOMAXPROCS/GOMEMLIMIT policy. limits_decide() is pure
 * (no I/O, no logging) so every rule is unit-tested over hand-built
 * struct cg_limits values; limits_gather()/limits_prepare_env() do the
 * reading and the logging around it. */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gorral/buildinfo.h"
#include "gorral/cgroup.h"
#include "gorral/limits.h"
#include "gorral/log.h"
#include "gorral/spawn.h"
#include "gorral/util.h"

extern char **environ;

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

/* Go 1.19's runtime.atoi64 (runtime/string.go), re-derived: an optional
 * '-', then decimal digits only; "" fails; a lone "-" yields 0 (a quirk
 * we keep, since the runtime has it); overflow of int64 fails. */
static bool go119_atoi64(const char *s, size_t n, int64_t *ret) {
        bool neg = false;
        uint64_t un = 0;

        if (n == 0)
                return false;
        if (s[0] == '-') {
                neg = true;
                s++;
                n--;
        }
        for (size_t i = 0; i < n; i++) {
                unsigned c = (unsigned char)s[i];

                if (c < '0' || c > '9')
                        return false;
                if (un > UINT64_MAX / 10)
                        return false;
                un *= 10;
                if (un + (c - '0') < un)
                        return false;
                un += c - '0';
        }
        if (!neg && un > (uint64_t)INT64_MAX)
                return false;
        if (neg && un > (uint64_t)INT64_MAX + 1)
                return false;
        *ret = neg ? (un == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)un) : (int64_t)un;
        return true;
}

/* Go 1.19 schedinit: atoi32(GOMAXPROCS) and n > 0, else silently NumCPU.
 * So "+3" is ignored by Go 1.19 (samples/env-probe.txt), while Go 1.26
 * reads it with strconv.ParseInt(s, 10, 32) and accepts "+3" (limits-spec
 * G9). We follow 1.19, the strictest reader: a value valid here is valid
 * for every Go >= 1.19. */
int go_gomaxprocs_valid(const char *s, unsigned *ret) {
        int64_t n;

        if (!s || !go119_atoi64(s, strlen(s), &n))
                return 0;
        if (n <= 0 || n > INT32_MAX)
                return 0;
        if (ret)
                *ret = (unsigned)n;
        return 1;
}

/* Go 1.19 readGOMEMLIMIT + parseByteCount, re-derived: "" and "off" mean
 * no limit; otherwise digits (via atoi64, so a leading '-' parses but a
 * negative result fails), optionally followed by B, KiB, MiB, GiB or TiB;
 * the result must fit int64. Anything else makes the runtime throw at
 * start (exit 2). ret: the byte count, INT64_MAX for "" and "off". */
int go_gomemlimit_valid(const char *s, uint64_t *ret) {
        size_t n;
        uint64_t mult = 1;
        int64_t v;

        if (!s)
                return 0;
        n = strlen(s);
        if (n == 0 || strcmp(s, "off") == 0) {
                if (ret)
                        *ret = (uint64_t)INT64_MAX;
                return 1;
        }
        if (s[n - 1] >= '0' && s[n - 1] <= '9') {
                /* plain byte count */
        } else if (s[n - 1] != 'B' || n < 2) {
                return 0;
        } else if (s[n - 2] >= '0' && s[n - 2] <= '9') {
                n -= 1;
        } else if (s[n - 2] != 'i' || n < 4) {
                return 0;
        } else {
                switch (s[n - 3]) {
                case 'K': mult = 1ULL << 10; break;
                case 'M': mult = 1ULL << 20; break;
                case 'G': mult = 1ULL << 30; break;
                case 'T': mult = 1ULL << 40; break;
                default: return 0;
                }
                n -= 3;
        }
        if (!go119_atoi64(s, n, &v) || v < 0)
                return 0;
        if ((uint64_t)v > UINT64_MAX / mult || (uint64_t)v * mult > (uint64_t)INT64_MAX)
                return 0;
        if (ret)
                *ret = (uint64_t)v * mult;
        return 1;
}

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

/* The value of name in a NULL-terminated "K=V" array, or NULL. */
static const char *env_lookup(char *const *env, const char *name) {
        size_t n = strlen(name);

        for (; env && *env; env++)
                if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
                        return *env + n + 1;
        return NULL;
}

/* With always_inspect false (the launch path) the binary is read only
 * when its Go version can change the outcome: the Go >= 1.25 rule can only
 * withdraw a GOMAXPROCS the policy would export, so when it exports none
 * the ELF read is skipped (it is a third of the limits' start-up cost). */
static int gather(const struct limits_options *o, const char *exe, char *const *base_env, bool always_inspect,
                  struct limits_state *ret) {
        struct limits_state s = { .go_err = -ENOENT };
        unsigned ncpu = limits_affinity_cpus(o);
        int r;

        r = cg_read_limits(o->sysroot, 0, &s.cg);
        if (r < 0)
                return r;
        s.env_gomaxprocs = env_lookup(base_env, "GOMAXPROCS");
        s.env_gomemlimit = env_lookup(base_env, "GOMEMLIMIT");
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
                if (spawn_resolve(exe, spawn_env_path(base_env), &s.exe_path) < 0)
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

void limits_log(const struct limits_state *s) {
        const struct limits_decision *d = &s->d;

        for (size_t i = 0; i < s->cg.n_errors; i++)
                log_event(LOG_LEVEL_ERROR, "limits-error", "file", s->cg.errors[i].file ? s->cg.errors[i].file : "?",
                          "message", s->cg.errors[i].message ? s->cg.errors[i].message : "?", NULL);
        for (unsigned i = 0; i < d->n_warnings; i++)
                log_event(d->gomemlimit_env_fatal && strstr(d->warnings[i], "GOMEMLIMIT") ? LOG_LEVEL_ERROR
                                                                                         : LOG_LEVEL_WARN,
                          "limits-warning", "message", d->warnings[i], NULL);
        log_event(LOG_LEVEL_INFO, "limits", "gomaxprocs",
                  d->set_gomaxprocs ? LF_U64(d->gomaxprocs) : s->env_gomaxprocs ? "inherited" : "unset",
                  "target", d->gomaxprocs_known ? LF_U64(d->gomaxprocs) : "none", "affinity_cpus",
                  LF_U64(d->affinity_cpus), "reason", d->gomaxprocs_reason, NULL);
        log_event(LOG_LEVEL_INFO, "limits", "gomemlimit",
                  d->set_gomemlimit ? LF_U64(d->gomemlimit) : s->env_gomemlimit ? "inherited" : "unset", "budget",
                  d->mem_budget_known ? LF_U64(d->mem_budget) : "none", "reason", d->gomemlimit_reason, NULL);
}

/* A copy of base plus the variables the decision sets. The decision
 * only sets a variable absent from the environment, so appending never
 * shadows an existing entry. */
static int build_env(const struct limits_decision *d, char *const *base, char ***ret) {
        size_t n = 0, k = 0;
        char **env;

        while (base && base[n])
                n++;
        env = calloc(n + 3, sizeof(char *));
        if (!env)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                env[k] = strdup(base[i]);
                if (!env[k])
                        goto oom;
                k++;
        }
        if (d->set_gomaxprocs) {
                if (asprintf(&env[k], "GOMAXPROCS=%u", d->gomaxprocs) < 0) {
                        env[k] = NULL;
                        goto oom;
                }
                k++;
        }
        if (d->set_gomemlimit) {
                if (asprintf(&env[k], "GOMEMLIMIT=%" PRIu64, d->gomemlimit) < 0) {
                        env[k] = NULL;
                        goto oom;
                }
                k++;
        }
        env[k] = NULL;
        *ret = env;
        return 0;
oom:
        limits_env_free(env);
        return -ENOMEM;
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
        limits_log(&s);
        r = build_env(&s.d, base_env, &env);
        if (r >= 0) {
                *ret_env = env;
                if (ret_errors)
                        *ret_errors = s.n_errors;
        }
        limits_state_done(&s);
        return r;
}

void limits_env_free(char **env) {
        if (!env)
                return;
        for (char **p = env; *p; p++)
                free(*p);
        free(env);
}
