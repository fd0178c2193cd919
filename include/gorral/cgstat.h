/* cgstat.h: a cgroup's usage counters (L1), for the monitor: CPU time,
 * throttling, memory use and events, pids and pressure stall information.
 *
 * Pure parsers over buffers (cg_parse_cpu_stat, cg_parse_memory_events,
 * cg_parse_oom_control, cg_parse_pressure; the single-value files go
 * through cgroup.h's cg_parse_v1_int and cg_parse_memory_max, "key value"
 * files through its cg_parse_kv_keys), and struct cg_sampler, which opens
 * a service's cgroup files once and re-reads them with pread(fd, buf, n, 0)
 * every sample (kernfs files are seq_files: a read at offset 0 regenerates
 * them).
 *
 * Which file gives what, when several could (a hybrid host has both a v2
 * tree and v1 controllers):
 *   - CPU time: the v2 cpu.stat (usage_usec exists even on a cgroup2 with
 *     no controllers, as on this host), else v1 cpuacct.usage (ns).
 *   - Throttling: the counters belong to the cgroup that holds the quota;
 *     a sub-cgroup without a quota of its own shows nr_throttled 0 while
 *     its parent throttles it (measured here: 54 throttled periods in the
 *     parent, 0 in the child). So nr_periods, nr_throttled and
 *     throttled_usec come from the quota holder's cpu.stat (the caller
 *     names it), else from the cgroup's own; and cpu.stat.local (newer
 *     kernels, 6.18 here: v1 "throttled_time" ns, v2 "throttled_usec") of the cgroup
 *     itself gives the time its own tasks were throttled, inherited
 *     throttling included (the child above: 1.89 s, as its parent).
 *   - Memory and pids: the v2 files when the v2 directory has them (it has
 *     no memory controller on a hybrid host), else the v1 ones.
 *   - Pressure: v2 only (cpu/memory/io.pressure; a hybrid host's cgroup2
 *     has them).
 * A file that does not exist (or, for pressure, says EOPNOTSUPP) at open
 * is absent from every sample and not tried again until the sampler is
 * opened again: the monitor opens one per service start. An empty
 * cpu.stat.local (a v2 cgroup without the cpu controller) is closed too.
 *
 * Costs measured here (one pread, CPU time): 0.9-1.4 us for a cpu.stat or
 * a number file, 2.3 us for a pressure file. Nothing here logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gorral/cgroup.h"

/* ---- parsers ---- */

/* cpu.stat and cpu.stat.local, v1 or v2 (the v1 ns keys are converted to
 * microseconds, rounding down). Unknown keys are skipped. */
enum {
        CG_CPU_STAT_USAGE = 1u << 0,      /* usage_usec */
        CG_CPU_STAT_USER = 1u << 1,       /* user_usec */
        CG_CPU_STAT_SYSTEM = 1u << 2,     /* system_usec */
        CG_CPU_STAT_PERIODS = 1u << 3,    /* nr_periods */
        CG_CPU_STAT_THROTTLED = 1u << 4,  /* nr_throttled */
        CG_CPU_STAT_THROTTLED_USEC = 1u << 5, /* throttled_usec, v1 throttled_time */
        CG_CPU_STAT_BURSTS = 1u << 6,     /* nr_bursts */
        CG_CPU_STAT_BURST_USEC = 1u << 7, /* burst_usec, v1 burst_time */
};
struct cg_cpu_stat {
        unsigned present;                 /* CG_CPU_STAT_* */
        uint64_t usage_usec, user_usec, system_usec;
        uint64_t nr_periods, nr_throttled, throttled_usec;
        uint64_t nr_bursts, burst_usec;
};
/* 0 or -EBADMSG (*reterr, may be NULL). A file with both throttled_usec
 * and throttled_time is -EBADMSG (no kernel writes both). */
int cg_parse_cpu_stat(const char *buf, size_t n, struct cg_cpu_stat *ret, struct cg_parse_error *reterr);

/* v2 memory.events: counts of events since the cgroup was made. */
enum {
        CG_MEM_EVENT_LOW = 1u << 0,
        CG_MEM_EVENT_HIGH = 1u << 1,
        CG_MEM_EVENT_MAX = 1u << 2,
        CG_MEM_EVENT_OOM = 1u << 3,
        CG_MEM_EVENT_OOM_KILL = 1u << 4,
        CG_MEM_EVENT_OOM_GROUP_KILL = 1u << 5, /* Linux 5.17+ */
};
struct cg_memory_events {
        unsigned present;                 /* CG_MEM_EVENT_* */
        uint64_t low, high, max, oom, oom_kill, oom_group_kill;
};
int cg_parse_memory_events(const char *buf, size_t n, struct cg_memory_events *ret, struct cg_parse_error *reterr);

/* v1 memory.oom_control. oom_kill appeared in Linux 4.13. */
enum {
        CG_OOM_KILL_DISABLE = 1u << 0,
        CG_OOM_UNDER_OOM = 1u << 1,
        CG_OOM_KILL = 1u << 2,
};
struct cg_oom_control {
        unsigned present;                 /* CG_OOM_* */
        uint64_t oom_kill_disable, under_oom, oom_kill;
};
int cg_parse_oom_control(const char *buf, size_t n, struct cg_oom_control *ret, struct cg_parse_error *reterr);

/* One line of a pressure file: "some avg10=0.66 avg60=0.51 avg300=1.69
 * total=1295662490". The averages are percentages with two decimals, kept
 * as hundredths of a percent (1.69 -> 169); total is microseconds stalled. */
struct cg_psi_line {
        uint32_t avg10, avg60, avg300;
        uint64_t total_usec;
};
struct cg_pressure {
        bool has_some, has_full;          /* cpu.pressure's "full" is Linux 5.13+ */
        struct cg_psi_line some, full;
};
/* Lines other than "some" and "full" and fields other than the four are
 * skipped; a "some"/"full" line lacking one of the four, a value that is
 * not "D.DD" (averages) or decimal (total), a repeated line: -EBADMSG. */
int cg_parse_pressure(const char *buf, size_t n, struct cg_pressure *ret, struct cg_parse_error *reterr);

/* ---- one sample ---- */

/* Counters and gauges of a cgroup; bit f of cg_usage.present says v[f]
 * was read. Bytes and microseconds. */
enum cg_usage_field {
        CG_U_CPU_USAGE_USEC,          /* CPU time of the cgroup's tasks */
        CG_U_CPU_USER_USEC,           /* v2 only */
        CG_U_CPU_SYSTEM_USEC,         /* v2 only */
        CG_U_CPU_NR_PERIODS,          /* of the quota holder (see the top) */
        CG_U_CPU_NR_THROTTLED,        /* of the quota holder */
        CG_U_CPU_THROTTLED_USEC,      /* of the quota holder */
        CG_U_CPU_NR_BURSTS,           /* of the quota holder */
        CG_U_CPU_BURST_USEC,          /* of the quota holder */
        CG_U_CPU_LOCAL_THROTTLED_USEC, /* cpu.stat.local of this cgroup */
        CG_U_MEM_CURRENT_BYTES,       /* v2 memory.current, v1 memory.usage_in_bytes */
        CG_U_MEM_MAX_BYTES,           /* this cgroup's own limit; UINT64_MAX: none */
        CG_U_MEM_EVENTS_LOW,          /* v2 memory.events ... */
        CG_U_MEM_EVENTS_HIGH,
        CG_U_MEM_EVENTS_MAX,
        CG_U_MEM_EVENTS_OOM,
        CG_U_MEM_OOM_KILL,            /* v2 memory.events oom_kill, v1 memory.oom_control oom_kill */
        CG_U_MEM_EVENTS_OOM_GROUP_KILL,
        CG_U_MEM_FAILCNT,             /* v1 memory.failcnt */
        CG_U_MEM_UNDER_OOM,           /* v1 memory.oom_control: 0 or 1 */
        CG_U_MEM_OOM_KILL_DISABLE,    /* v1 memory.oom_control: 0 or 1 */
        CG_U_PIDS_CURRENT,
        CG_U_PIDS_MAX,                /* UINT64_MAX: "max" */
        CG_U_CPU_QUOTA_USEC,          /* of the quota holder (cpu.max, cpu.cfs_quota_us); UINT64_MAX: none */
        CG_U_CPU_PERIOD_USEC,         /* its period */
        _CG_U_N,
};
/* "cpu_usage_usec", ...: the field's name, for logs and JSON. */
const char *cg_usage_field_name(enum cg_usage_field f);

enum cg_psi_resource { CG_PSI_CPU, CG_PSI_MEMORY, CG_PSI_IO, _CG_PSI_N };

struct cg_usage {
        uint64_t present;             /* bit (1 << cg_usage_field) */
        uint64_t v[_CG_U_N];
        struct cg_pressure pressure[_CG_PSI_N]; /* has_some/has_full say what was read */
};
static inline bool cg_usage_get(const struct cg_usage *u, enum cg_usage_field f, uint64_t *ret) {
        if (!(u->present & (UINT64_C(1) << f)))
                return false;
        *ret = u->v[f];
        return true;
}
/* The time this cgroup's tasks were throttled: cpu.stat.local where the
 * kernel has it, else the quota holder's throttled_usec. */
static inline bool cg_usage_throttled_usec(const struct cg_usage *u, uint64_t *ret) {
        return cg_usage_get(u, CG_U_CPU_LOCAL_THROTTLED_USEC, ret) || cg_usage_get(u, CG_U_CPU_THROTTLED_USEC, ret);
}

/* ---- the sampler ---- */

/* The directories of one cgroup (full paths, sysroot included; NULL or ""
 * for none). From cg_read_limits()/cg_resolve() for gorral's own cgroup,
 * or from cgsvc for a service's. */
struct cg_sampler_paths {
        const char *v2_dir;           /* cgroup2 directory (a hybrid host's tracking one too) */
        const char *cpu_dir;          /* v1 cpu (or "cpu,cpuacct") */
        const char *cpuacct_dir;      /* v1 cpuacct, when mounted apart from cpu */
        const char *memory_dir;       /* v1 memory */
        const char *pids_dir;         /* v1 pids */
        /* cpu.stat (a file) of the cgroup that holds the CPU quota: the
         * directory of cg_limits.cpu_file; NULL when there is no quota (then
         * the cgroup's own cpu.stat is read). */
        const char *quota_cpu_stat;
        /* Where the quota itself is read (cpu.max, or v1 cpu.cfs_quota_us
         * and cpu.cfs_period_us), as a limit file (below), so that a
         * resize in place is seen: the quota holder's directory, else the
         * cgroup's own (v2_dir with controllers, or cpu_dir). */
        const char *quota_dir;
        bool no_pressure;             /* leave the three pressure files out */
        /* The limit files (memory.max, or v1's memory.limit_in_bytes with
         * memory.stat's hierarchical_memory_limit: the tighter of the two,
         * so that a parent's limit counts; pids.max; the CPU quota) are read at the first sample and then every limits_every-th,
         * their last value standing in between (0: CG_SAMPLER_LIMITS_EVERY;
         * 1: every sample). cg_sampler_refresh_limits() after gorral
         * changed one itself. */
        unsigned limits_every;
        /* The pressure files (2.3 us each here, the dearest) are read every
         * pressure_every-th sample, from the first; in between they are
         * absent (has_some/has_full false), not stale. 0 or 1: every
         * sample. Their averages are the kernel's own over 10 s and more,
         * and total is a counter, so a 2 at a 5 s interval loses little. */
        unsigned pressure_every;
};
#define CG_SAMPLER_LIMITS_EVERY 12

/* A file that failed at read time. */
struct cg_sample_error {
        const char *file;             /* full path, owned by the sampler */
        int err;                      /* -EBADMSG (content refused), -EFBIG, -errno */
        char message[160];            /* "line 2, column 14: value is not ...", or strerror */
};

struct cg_sampler;

/* Open what exists of the files above. 0 (also when nothing exists: every
 * sample is then empty); -ENOMEM. */
int cg_sampler_open(const struct cg_sampler_paths *p, struct cg_sampler **ret);
/* Read every open file into *ret (absent values have their bit clear).
 * Never fails as a whole: returns the number of files that failed (0 when
 * all went well); their errors, in file order, are in *ret_errors (owned
 * by the sampler, valid until the next read). After the cgroup is removed
 * every file fails with -ENODEV. */
int cg_sampler_read(struct cg_sampler *s, struct cg_usage *ret, const struct cg_sample_error **ret_errors);
/* Read the limit files again at the next sample. */
void cg_sampler_refresh_limits(struct cg_sampler *s);
/* The files being read, one path each (owned by the sampler), for `gorral
 * status` and debugging. */
size_t cg_sampler_files(const struct cg_sampler *s, const char *const **ret);
struct cg_sampler *cg_sampler_free(struct cg_sampler *s); /* NULL-safe; returns NULL */
