/* cgstat.c: a cgroup's usage counters (see cgstat.h). */
#include <limits.h>
#include <string.h>

#include "gorral/cgstat.h"
#include "gorral/util.h"

/* The biggest file read here is a pressure file (about 110 bytes) or a
 * cpu.stat (about 200 with every key of a v2 cpu controller). */
#define CGS_BUF 4096

/* ---- parsers ---- */

static int bad(struct cg_parse_error *reterr, unsigned line, size_t col0, const char *reason) {
        if (reterr)
                *reterr = (struct cg_parse_error){ .line = line, .column = (unsigned)col0 + 1, .reason = reason };
        return -EBADMSG;
}

int cg_parse_cpu_stat(const char *buf, size_t n, struct cg_cpu_stat *ret, struct cg_parse_error *reterr) {
        /* v2 names, then the v1 ns names of the same counters. */
        static const char *const keys[] = {
                "usage_usec", "user_usec", "system_usec", "nr_periods", "nr_throttled",
                "throttled_usec", "nr_bursts", "burst_usec", "throttled_time", "burst_time",
        };
        uint64_t v[ELEMENTSOF(keys)], found;
        struct cg_cpu_stat st = {};
        int r;

        r = cg_parse_kv_keys(buf, n, keys, ELEMENTSOF(keys), v, &found, reterr);
        if (r < 0)
                return r;
        if (((found >> 5) & 1) && ((found >> 8) & 1))
                return bad(reterr, 1, 0, "both throttled_usec and throttled_time");
        if (((found >> 7) & 1) && ((found >> 9) & 1))
                return bad(reterr, 1, 0, "both burst_usec and burst_time");
        if (found & (1u << 8)) {
                v[5] = v[8] / 1000;
                found |= 1u << 5;
        }
        if (found & (1u << 9)) {
                v[7] = v[9] / 1000;
                found |= 1u << 7;
        }
        /* Bits 0..7 of found are the CG_CPU_STAT_* bits, in order. */
        st.present = (unsigned)(found & 0xff);
        st.usage_usec = st.present & CG_CPU_STAT_USAGE ? v[0] : 0;
        st.user_usec = st.present & CG_CPU_STAT_USER ? v[1] : 0;
        st.system_usec = st.present & CG_CPU_STAT_SYSTEM ? v[2] : 0;
        st.nr_periods = st.present & CG_CPU_STAT_PERIODS ? v[3] : 0;
        st.nr_throttled = st.present & CG_CPU_STAT_THROTTLED ? v[4] : 0;
        st.throttled_usec = st.present & CG_CPU_STAT_THROTTLED_USEC ? v[5] : 0;
        st.nr_bursts = st.present & CG_CPU_STAT_BURSTS ? v[6] : 0;
        st.burst_usec = st.present & CG_CPU_STAT_BURST_USEC ? v[7] : 0;
        *ret = st;
        return 0;
}

/* keys[i] into *out[i], bit i of *ret_present when found (at most 8). */
static int kv_fill(const char *buf, size_t n, const char *const *keys, uint64_t *const *out, size_t n_keys,
                   unsigned *ret_present, struct cg_parse_error *reterr) {
        uint64_t v[8], found;
        int r;

        if (n_keys > ELEMENTSOF(v))
                return -EINVAL;
        r = cg_parse_kv_keys(buf, n, keys, n_keys, v, &found, reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_keys; i++)
                if (found & (1u << i))
                        *out[i] = v[i];
        *ret_present = (unsigned)found;
        return 0;
}

int cg_parse_memory_events(const char *buf, size_t n, struct cg_memory_events *ret, struct cg_parse_error *reterr) {
        static const char *const keys[] = { "low", "high", "max", "oom", "oom_kill", "oom_group_kill" };
        struct cg_memory_events ev = {};
        uint64_t *const out[] = { &ev.low, &ev.high, &ev.max, &ev.oom, &ev.oom_kill, &ev.oom_group_kill };
        int r = kv_fill(buf, n, keys, out, ELEMENTSOF(keys), &ev.present, reterr);

        if (r < 0)
                return r;
        *ret = ev;
        return 0;
}

int cg_parse_oom_control(const char *buf, size_t n, struct cg_oom_control *ret, struct cg_parse_error *reterr) {
        static const char *const keys[] = { "oom_kill_disable", "under_oom", "oom_kill" };
        struct cg_oom_control oc = {};
        uint64_t *const out[] = { &oc.oom_kill_disable, &oc.under_oom, &oc.oom_kill };
        int r = kv_fill(buf, n, keys, out, ELEMENTSOF(keys), &oc.present, reterr);

        if (r < 0)
                return r;
        *ret = oc;
        return 0;
}

/* "D.DD" (any number of integer digits, exactly two decimals) as hundredths. */
static bool parse_centi(const char *s, size_t n, uint32_t *ret) {
        uint64_t ip;

        if (n < 4 || s[n - 3] != '.' || s[n - 2] < '0' || s[n - 2] > '9' || s[n - 1] < '0' || s[n - 1] > '9')
                return false;
        if (parse_u64_n(s, n - 3, &ip) < 0 || ip > UINT32_MAX / 100 - 1)
                return false;
        *ret = (uint32_t)(ip * 100 + (uint64_t)(s[n - 2] - '0') * 10 + (uint64_t)(s[n - 1] - '0'));
        return true;
}

/* One scan per field, without helper calls: the monitor parses three of
 * these files per service per sample. */
static int parse_psi_line(const char *line, size_t len, size_t p, unsigned lineno, struct cg_psi_line *ret,
                          struct cg_parse_error *reterr) {
        struct cg_psi_line out = {};
        unsigned seen = 0;

        /* p is past "some" / "full": then " name=value" fields. */
        while (p < len) {
                size_t f, eq, end;
                int i;

                if (line[p] != ' ')
                        return bad(reterr, lineno, p, "expected a space between fields");
                f = ++p;
                for (eq = f; eq < len && line[eq] != '=' && line[eq] != ' '; eq++)
                        ;
                if (eq == f || eq == len || line[eq] != '=')
                        return bad(reterr, lineno, f, "expected name=value");
                for (end = eq + 1; end < len && line[end] != ' '; end++)
                        ;
                p = end;
                switch (eq - f) {
                case 5:
                        i = memcmp(line + f, "avg10", 5) == 0 ? 0 : memcmp(line + f, "avg60", 5) == 0 ? 1
                                                                   : memcmp(line + f, "total", 5) == 0 ? 3 : -1;
                        break;
                case 6:
                        i = memcmp(line + f, "avg300", 6) == 0 ? 2 : -1;
                        break;
                default:
                        i = -1;
                }
                if (i < 0)
                        continue;
                if (seen & (1u << i))
                        return bad(reterr, lineno, f, "field given twice");
                seen |= 1u << i;
                if (i == 3) {
                        if (parse_u64_n(line + eq + 1, end - eq - 1, &out.total_usec) < 0)
                                return bad(reterr, lineno, eq + 1, "total is not an unsigned decimal number");
                } else {
                        uint32_t *dst = i == 0 ? &out.avg10 : i == 1 ? &out.avg60 : &out.avg300;

                        if (!parse_centi(line + eq + 1, end - eq - 1, dst))
                                return bad(reterr, lineno, eq + 1, "average is not a D.DD percentage");
                }
        }
        if (seen != 0xf)
                return bad(reterr, lineno, len, "avg10, avg60, avg300 or total missing");
        *ret = out;
        return 0;
}

int cg_parse_pressure(const char *buf, size_t n, struct cg_pressure *ret, struct cg_parse_error *reterr) {
        struct cg_pressure out = {};
        size_t pos = 0;
        unsigned lineno = 0;

        while (pos < n) {
                const char *line = buf + pos, *nl = memchr(line, '\n', n - pos), *nul;
                size_t len = nl ? (size_t)(nl - line) : n - pos;
                bool some, full;
                int r;

                pos = nl ? (size_t)(nl - buf) + 1 : n;
                lineno++;
                nul = memchr(line, '\0', len);
                if (nul)
                        return bad(reterr, lineno, (size_t)(nul - line), "NUL byte");
                some = len >= 4 && memcmp(line, "some", 4) == 0 && (len == 4 || line[4] == ' ');
                full = len >= 4 && memcmp(line, "full", 4) == 0 && (len == 4 || line[4] == ' ');
                if (!some && !full) {
                        /* An unknown kind of line from a newer kernel: it
                         * must still look like "word name=value ...". */
                        const char *sp = memchr(line, ' ', len);
                        bool word = sp && sp != line;

                        for (const char *c = line; word && c < sp; c++)
                                word = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
                        if (!word)
                                return bad(reterr, lineno, 0, "not a \"some\" or \"full\" line");
                        continue;
                }
                if ((some && out.has_some) || (full && out.has_full))
                        return bad(reterr, lineno, 0, "line given twice");
                r = parse_psi_line(line, len, 4, lineno, some ? &out.some : &out.full, reterr);
                if (r < 0)
                        return r;
                if (some)
                        out.has_some = true;
                else
                        out.has_full = true;
        }
        *ret = out;
        return 0;
}

/* ---- the sampler ---- */

enum cgs_kind {
        K_CPU_STAT,       /* usage and/or throttling, per cgs_file flags */
        K_CPU_STAT_LOCAL,
        K_CPUACCT_USAGE,  /* ns */
        K_MEM_CURRENT,    /* v2 memory.current, v1 memory.usage_in_bytes */
        K_MEM_MAX,        /* v2 memory.max */
        K_MEM_MAX_ANCESTOR, /* v2 memory.max of an ancestor: the tightest counts */
        K_MEM_LIMIT_V1,   /* memory.limit_in_bytes */
        K_MEM_STAT_V1,    /* memory.stat: hierarchical_memory_limit, the tightest of it and its ancestors */
        K_MEM_EVENTS,
        K_MEM_FAILCNT,
        K_OOM_CONTROL,
        K_PIDS_CURRENT,
        K_PIDS_MAX,
        K_PSI_CPU,
        K_PSI_MEMORY,
        K_PSI_IO,
        K_CPU_MAX,        /* v2 cpu.max: "max 100000" or "50000 100000" */
        K_CFS_QUOTA,      /* v1 cpu.cfs_quota_us: -1 none */
        K_CFS_PERIOD,     /* v1 cpu.cfs_period_us */
};

/* A v2 cgroup's ancestors whose memory.max is read (a Kubernetes
 * container's service sits about 6 levels down on the host's view). */
#define CGS_MAX_ANCESTORS 8
#define CGS_MAX_FILES (16 + CGS_MAX_ANCESTORS)

struct cgs_file {
        enum cgs_kind kind;
        char *path;
        int fd;
        bool usage, throttle; /* K_CPU_STAT: which of its keys count */
};

struct cg_sampler {
        struct cgs_file f[CGS_MAX_FILES];
        size_t n;
        unsigned limits_every, until_limits; /* samples between reads of the limit files */
        unsigned pressure_every, until_pressure;
        /* The limit fields' last values (a setting, not a measurement:
         * they stand between reads). */
        uint64_t last[_CG_U_N];
        uint64_t have_last;           /* bit per field */
        const char *paths[CGS_MAX_FILES];
        struct cg_sample_error errors[CGS_MAX_FILES];
        uint64_t nolimit_v1; /* LONG_MAX rounded down to the page size */
};

static const char *const field_names[_CG_U_N] = {
        [CG_U_CPU_USAGE_USEC] = "cpu_usage_usec",
        [CG_U_CPU_USER_USEC] = "cpu_user_usec",
        [CG_U_CPU_SYSTEM_USEC] = "cpu_system_usec",
        [CG_U_CPU_NR_PERIODS] = "cpu_nr_periods",
        [CG_U_CPU_NR_THROTTLED] = "cpu_nr_throttled",
        [CG_U_CPU_THROTTLED_USEC] = "cpu_throttled_usec",
        [CG_U_CPU_NR_BURSTS] = "cpu_nr_bursts",
        [CG_U_CPU_BURST_USEC] = "cpu_burst_usec",
        [CG_U_CPU_LOCAL_THROTTLED_USEC] = "cpu_local_throttled_usec",
        [CG_U_MEM_CURRENT_BYTES] = "memory_current_bytes",
        [CG_U_MEM_MAX_BYTES] = "memory_max_bytes",
        [CG_U_MEM_EVENTS_LOW] = "memory_events_low",
        [CG_U_MEM_EVENTS_HIGH] = "memory_events_high",
        [CG_U_MEM_EVENTS_MAX] = "memory_events_max",
        [CG_U_MEM_EVENTS_OOM] = "memory_events_oom",
        [CG_U_MEM_OOM_KILL] = "memory_oom_kill",
        [CG_U_MEM_EVENTS_OOM_GROUP_KILL] = "memory_events_oom_group_kill",
        [CG_U_MEM_FAILCNT] = "memory_failcnt",
        [CG_U_MEM_UNDER_OOM] = "memory_under_oom",
        [CG_U_MEM_OOM_KILL_DISABLE] = "memory_oom_kill_disable",
        [CG_U_PIDS_CURRENT] = "pids_current",
        [CG_U_PIDS_MAX] = "pids_max",
        [CG_U_CPU_QUOTA_USEC] = "cpu_quota_usec",
        [CG_U_CPU_PERIOD_USEC] = "cpu_period_usec",
};

const char *cg_usage_field_name(enum cg_usage_field f) {
        return (unsigned)f < _CG_U_N ? field_names[f] : NULL;
}

struct cg_sampler *cg_sampler_free(struct cg_sampler *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n; i++) {
                safe_close(s->f[i].fd);
                free(s->f[i].path);
        }
        free(s);
        return NULL;
}
DEFINE_CLEANUP_FUNC(struct cg_sampler *, cg_sampler_free)

static bool given(const char *s) {
        return s && *s;
}

static void drop(struct cg_sampler *s, size_t i) {
        safe_close(s->f[i].fd);
        free(s->f[i].path);
        memmove(&s->f[i], &s->f[i + 1], (s->n - i - 1) * sizeof s->f[0]);
        s->n--;
}

/* Add dir/name when it opens. 1 added, 0 absent, -ENOMEM. A file already
 * in the list (the quota holder's cpu.stat is often the cgroup's own) is
 * not added twice: 2 and *ret_index say where it is. */
static int add(struct cg_sampler *s, enum cgs_kind kind, const char *dir, const char *name, size_t *ret_index) {
        _cleanup_free_ char *path = name ? path_join(dir, name) : strdup(dir);
        int fd;

        if (!path)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->f[i].path, path) == 0) {
                        if (ret_index)
                                *ret_index = i;
                        return 2;
                }
        if (s->n == CGS_MAX_FILES)
                return 0;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return 0;
        s->f[s->n] = (struct cgs_file){ .kind = kind, .path = path, .fd = fd };
        path = NULL;
        if (ret_index)
                *ret_index = s->n;
        s->n++;
        return 1;
}

/* Read file i once at open: a pressure file may say EOPNOTSUPP (PSI off
 * for the cgroup or the kernel), a cpu.stat.local may be empty (a v2
 * cgroup without the cpu controller): such a file is dropped. 1 kept, 0
 * dropped. Other errors keep the file: they are reported at read time. */
static int probe(struct cg_sampler *s, size_t i) {
        char buf[CGS_BUF];
        ssize_t n = pread_whole(s->f[i].fd, buf, sizeof buf);
        struct cg_cpu_stat st;

        if (n == -EOPNOTSUPP || n == -ENODEV) {
                drop(s, i);
                return 0;
        }
        if (n >= 0 && s->f[i].kind == K_CPU_STAT_LOCAL &&
            (cg_parse_cpu_stat(buf, (size_t)n, &st, NULL) < 0 || !(st.present & CG_CPU_STAT_THROTTLED_USEC))) {
                drop(s, i);
                return 0;
        }
        if (n >= 0 && s->f[i].kind == K_CPU_STAT && s->f[i].usage &&
            cg_parse_cpu_stat(buf, (size_t)n, &st, NULL) == 0 && !(st.present & CG_CPU_STAT_USAGE))
                s->f[i].usage = false;
        return 1;
}

/* The memory.max of each ancestor of dir, up to the first without one:
 * the root cgroup has none, and neither has anything above the mount. A
 * service's own cgroup with "max" below gorral's (a container's) with a
 * limit is under that limit, which in-place resize changes; v2 has no
 * hierarchical value of its own as v1's memory.stat has. The memory
 * controller reaches a cgroup only through each of its ancestors, so the
 * chain has no gaps. 0 or -ENOMEM. */
static int add_ancestors(struct cg_sampler *s, const char *dir) {
        _cleanup_free_ char *d = strdup(dir);
        char *slash;

        if (!d)
                return -ENOMEM;
        for (int k = 0; k < CGS_MAX_ANCESTORS; k++) {
                int r;

                while ((slash = strrchr(d, '/')) && slash[1] == '\0' && slash != d)
                        *slash = '\0'; /* a trailing slash */
                slash = strrchr(d, '/');
                if (!slash || slash == d)
                        return 0;
                *slash = '\0';
                r = add(s, K_MEM_MAX_ANCESTOR, d, "memory.max", NULL);
                if (r <= 0)
                        return r;
        }
        return 0;
}

int cg_sampler_open(const struct cg_sampler_paths *p, struct cg_sampler **ret) {
        _cleanup_(cg_sampler_freep) struct cg_sampler *s = NULL;
        bool usage = false, mem_v2 = false, pids_v2 = false;
        size_t i;
        long ps;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->limits_every = p->limits_every ? p->limits_every : CG_SAMPLER_LIMITS_EVERY;
        s->pressure_every = p->pressure_every ? p->pressure_every : 1;
        ps = sysconf(_SC_PAGESIZE);
        s->nolimit_v1 = (uint64_t)(LONG_MAX / (ps > 0 ? ps : 4096) * (ps > 0 ? ps : 4096));

        /* CPU time, and the cgroup's own throttling counters unless the
         * caller named the quota holder. */
        if (given(p->v2_dir)) {
                r = add(s, K_CPU_STAT, p->v2_dir, "cpu.stat", &i);
                if (r < 0)
                        return r;
                if (r == 1) {
                        s->f[i].usage = true;
                        s->f[i].throttle = !given(p->quota_cpu_stat);
                        if (probe(s, i) && s->f[i].usage)
                                usage = true;
                }
        }
        if (given(p->cpu_dir) && !given(p->quota_cpu_stat)) {
                r = add(s, K_CPU_STAT, p->cpu_dir, "cpu.stat", &i);
                if (r < 0)
                        return r;
                if (r == 1)
                        s->f[i].throttle = true;
        }
        if (given(p->quota_cpu_stat)) {
                r = add(s, K_CPU_STAT, p->quota_cpu_stat, NULL, &i);
                if (r < 0)
                        return r;
                if (r > 0)
                        s->f[i].throttle = true;
        }
        /* cpu.stat.local: the v1 cpu controller's when there is one (the
         * hybrid host's cgroup2 has no cpu controller: its file is empty). */
        r = 0;
        if (given(p->cpu_dir)) {
                r = add(s, K_CPU_STAT_LOCAL, p->cpu_dir, "cpu.stat.local", &i);
                if (r < 0)
                        return r;
                if (r == 1)
                        r = probe(s, i);
        }
        if (r == 0 && given(p->v2_dir)) {
                r = add(s, K_CPU_STAT_LOCAL, p->v2_dir, "cpu.stat.local", &i);
                if (r < 0)
                        return r;
                if (r == 1)
                        probe(s, i);
        }
        if (!usage) {
                r = 0;
                if (given(p->cpuacct_dir))
                        r = add(s, K_CPUACCT_USAGE, p->cpuacct_dir, "cpuacct.usage", NULL);
                if (r == 0 && given(p->cpu_dir))
                        r = add(s, K_CPUACCT_USAGE, p->cpu_dir, "cpuacct.usage", NULL);
                if (r < 0)
                        return r;
        }

        /* Memory: v2 when its directory has the controller's files. */
        if (given(p->v2_dir)) {
                r = add(s, K_MEM_CURRENT, p->v2_dir, "memory.current", NULL);
                if (r < 0)
                        return r;
                mem_v2 = r == 1;
                if (mem_v2 && ((r = add(s, K_MEM_MAX, p->v2_dir, "memory.max", NULL)) < 0 ||
                               (r = add(s, K_MEM_EVENTS, p->v2_dir, "memory.events", NULL)) < 0))
                        return r;
                if (mem_v2 && (r = add_ancestors(s, p->v2_dir)) < 0)
                        return r;
        }
        if (!mem_v2 && given(p->memory_dir)) {
                if ((r = add(s, K_MEM_CURRENT, p->memory_dir, "memory.usage_in_bytes", NULL)) < 0 ||
                    (r = add(s, K_MEM_LIMIT_V1, p->memory_dir, "memory.limit_in_bytes", NULL)) < 0 ||
                    (r = add(s, K_MEM_STAT_V1, p->memory_dir, "memory.stat", NULL)) < 0 ||
                    (r = add(s, K_MEM_FAILCNT, p->memory_dir, "memory.failcnt", NULL)) < 0 ||
                    (r = add(s, K_OOM_CONTROL, p->memory_dir, "memory.oom_control", NULL)) < 0)
                        return r;
        }

        /* The CPU quota, as a limit file: the holder's, else the cgroup's
         * own (v1 first on a hybrid host, whose cgroup2 has no cpu.max). */
        {
                const char *qd = given(p->quota_dir) ? p->quota_dir : given(p->cpu_dir) ? p->cpu_dir : p->v2_dir;

                if (given(qd)) {
                        r = add(s, K_CPU_MAX, qd, "cpu.max", NULL);
                        if (r == 0 && (r = add(s, K_CFS_QUOTA, qd, "cpu.cfs_quota_us", NULL)) == 1)
                                r = add(s, K_CFS_PERIOD, qd, "cpu.cfs_period_us", NULL);
                        if (r < 0)
                                return r;
                }
        }

        if (given(p->v2_dir)) {
                r = add(s, K_PIDS_CURRENT, p->v2_dir, "pids.current", NULL);
                if (r < 0)
                        return r;
                pids_v2 = r == 1;
                if (pids_v2 && (r = add(s, K_PIDS_MAX, p->v2_dir, "pids.max", NULL)) < 0)
                        return r;
        }
        if (!pids_v2 && given(p->pids_dir)) {
                if ((r = add(s, K_PIDS_CURRENT, p->pids_dir, "pids.current", NULL)) < 0 ||
                    (r = add(s, K_PIDS_MAX, p->pids_dir, "pids.max", NULL)) < 0)
                        return r;
        }

        if (given(p->v2_dir) && !p->no_pressure) {
                static const struct { enum cgs_kind k; const char *name; } psi[] = {
                        { K_PSI_CPU, "cpu.pressure" }, { K_PSI_MEMORY, "memory.pressure" }, { K_PSI_IO, "io.pressure" },
                };
                for (size_t j = 0; j < ELEMENTSOF(psi); j++) {
                        r = add(s, psi[j].k, p->v2_dir, psi[j].name, &i);
                        if (r < 0)
                                return r;
                        if (r == 1)
                                probe(s, i);
                }
        }
        *ret = s;
        s = NULL;
        return 0;
}

size_t cg_sampler_files(const struct cg_sampler *s, const char *const **ret) {
        struct cg_sampler *m = (struct cg_sampler *)s;

        for (size_t i = 0; i < s->n; i++)
                m->paths[i] = s->f[i].path;
        *ret = m->paths;
        return s->n;
}

static void set(struct cg_usage *u, enum cg_usage_field f, uint64_t v) {
        u->v[f] = v;
        u->present |= UINT64_C(1) << f;
}

/* Quote at most 60 bytes of the offending line, unprintable bytes as '?'. */
static void format_parse_error(char *dst, size_t size, const char *buf, size_t n, const struct cg_parse_error *e) {
        const char *line = buf, *end = buf + n;
        char q[64];
        size_t k = 0;

        for (unsigned l = 1; l < e->line && line < end; l++) {
                const char *nl = memchr(line, '\n', (size_t)(end - line));
                line = nl ? nl + 1 : end;
        }
        for (; line < end && *line != '\n' && k < 60; line++)
                q[k++] = *line >= 0x20 && *line < 0x7f && *line != '"' ? *line : '?';
        q[k] = '\0';
        snprintf(dst, size, "line %u, column %u: %s: \"%s\"", e->line, e->column, e->reason, q);
}

static void single_error(char *dst, size_t size, const char *buf, size_t n, const char *what) {
        struct cg_parse_error e = { .line = 1, .column = 1, .reason = what };

        format_parse_error(dst, size, buf, n, &e);
}

/* Parse one file into u. 0 or -EBADMSG with msg filled. */
static int parse_into(const struct cg_sampler *s, const struct cgs_file *f, const char *buf, size_t n,
                      struct cg_usage *u, char *msg, size_t msize) {
        struct cg_parse_error e = {};
        int64_t i64;
        uint64_t u64;
        int r;

        switch (f->kind) {
        case K_CPU_STAT:
        case K_CPU_STAT_LOCAL: {
                struct cg_cpu_stat st;

                r = cg_parse_cpu_stat(buf, n, &st, &e);
                if (r < 0)
                        break;
                if (f->kind == K_CPU_STAT_LOCAL) {
                        if (st.present & CG_CPU_STAT_THROTTLED_USEC)
                                set(u, CG_U_CPU_LOCAL_THROTTLED_USEC, st.throttled_usec);
                        return 0;
                }
                if (f->usage) {
                        if (st.present & CG_CPU_STAT_USAGE)
                                set(u, CG_U_CPU_USAGE_USEC, st.usage_usec);
                        if (st.present & CG_CPU_STAT_USER)
                                set(u, CG_U_CPU_USER_USEC, st.user_usec);
                        if (st.present & CG_CPU_STAT_SYSTEM)
                                set(u, CG_U_CPU_SYSTEM_USEC, st.system_usec);
                }
                if (f->throttle) {
                        if (st.present & CG_CPU_STAT_PERIODS)
                                set(u, CG_U_CPU_NR_PERIODS, st.nr_periods);
                        if (st.present & CG_CPU_STAT_THROTTLED)
                                set(u, CG_U_CPU_NR_THROTTLED, st.nr_throttled);
                        if (st.present & CG_CPU_STAT_THROTTLED_USEC)
                                set(u, CG_U_CPU_THROTTLED_USEC, st.throttled_usec);
                        if (st.present & CG_CPU_STAT_BURSTS)
                                set(u, CG_U_CPU_NR_BURSTS, st.nr_bursts);
                        if (st.present & CG_CPU_STAT_BURST_USEC)
                                set(u, CG_U_CPU_BURST_USEC, st.burst_usec);
                }
                return 0;
        }
        case K_CPUACCT_USAGE:
        case K_MEM_CURRENT:
        case K_MEM_FAILCNT:
        case K_PIDS_CURRENT:
                if (cg_parse_v1_int(buf, n, &i64) < 0 || i64 < 0) {
                        single_error(msg, msize, buf, n, "not an unsigned decimal number");
                        return -EBADMSG;
                }
                if (f->kind == K_CPUACCT_USAGE)
                        set(u, CG_U_CPU_USAGE_USEC, (uint64_t)i64 / 1000);
                else
                        set(u, f->kind == K_MEM_CURRENT ? CG_U_MEM_CURRENT_BYTES :
                               f->kind == K_MEM_FAILCNT ? CG_U_MEM_FAILCNT : CG_U_PIDS_CURRENT, (uint64_t)i64);
                return 0;
        case K_MEM_LIMIT_V1:
                if (cg_parse_v1_int(buf, n, &i64) < 0 || i64 < 0) {
                        single_error(msg, msize, buf, n, "not an unsigned decimal number");
                        return -EBADMSG;
                }
                set(u, CG_U_MEM_MAX_BYTES, (uint64_t)i64 >= s->nolimit_v1 ? UINT64_MAX : (uint64_t)i64);
                return 0;
        case K_MEM_STAT_V1: {
                /* A service's own cgroup without a limit, below gorral's (a
                 * container's) that has one: limit_in_bytes says "none"
                 * while the kernel enforces the parent's, and a resize of
                 * the parent (Kubernetes in place) would go unseen. The
                 * kernel's own minimum over the ancestors is this line. */
                static const char key[] = "hierarchical_memory_limit ";
                size_t off = 0, len = 0;
                const char *line = NULL;
                uint64_t cur;
                bool found = false;

                while (!found && buf_next_line(buf, n, &off, &line, &len))
                        found = len > sizeof key - 1 && memcmp(line, key, sizeof key - 1) == 0;
                if (!found)
                        return 0; /* a memory.stat without it: limit_in_bytes alone */
                if (cg_parse_v1_int(line + sizeof key - 1, len - (sizeof key - 1), &i64) < 0 || i64 < 0) {
                        single_error(msg, msize, buf, n, "hierarchical_memory_limit is not an unsigned decimal number");
                        return -EBADMSG;
                }
                u64 = (uint64_t)i64 >= s->nolimit_v1 ? UINT64_MAX : (uint64_t)i64;
                if (!cg_usage_get(u, CG_U_MEM_MAX_BYTES, &cur) || u64 < cur)
                        set(u, CG_U_MEM_MAX_BYTES, u64);
                return 0;
        }
        case K_MEM_MAX:
        case K_MEM_MAX_ANCESTOR:
        case K_PIDS_MAX: {
                uint64_t cur;

                if (cg_parse_memory_max(buf, n, &u64) < 0) {
                        single_error(msg, msize, buf, n, "not \"max\" or an unsigned decimal number");
                        return -EBADMSG;
                }
                /* The ancestors come after the cgroup's own file. */
                if (f->kind == K_MEM_MAX_ANCESTOR && cg_usage_get(u, CG_U_MEM_MAX_BYTES, &cur) && cur <= u64)
                        return 0;
                set(u, f->kind == K_PIDS_MAX ? CG_U_PIDS_MAX : CG_U_MEM_MAX_BYTES, u64);
                return 0;
        }
        case K_CPU_MAX: {
                struct cg_quota q;

                if (cg_parse_cpu_max(buf, n, &q) < 0) {
                        single_error(msg, msize, buf, n, "not \"QUOTA PERIOD\" or \"max PERIOD\"");
                        return -EBADMSG;
                }
                set(u, CG_U_CPU_QUOTA_USEC, q.quota_us < 0 ? UINT64_MAX : (uint64_t)q.quota_us);
                set(u, CG_U_CPU_PERIOD_USEC, q.period_us);
                return 0;
        }
        case K_CFS_QUOTA:
        case K_CFS_PERIOD:
                if (cg_parse_v1_int(buf, n, &i64) < 0 || i64 < -1 || (f->kind == K_CFS_PERIOD && i64 <= 0)) {
                        single_error(msg, msize, buf, n, f->kind == K_CFS_QUOTA ? "not -1 or a number of microseconds"
                                                                                : "not a positive number of microseconds");
                        return -EBADMSG;
                }
                if (f->kind == K_CFS_QUOTA)
                        set(u, CG_U_CPU_QUOTA_USEC, i64 < 0 ? UINT64_MAX : (uint64_t)i64);
                else
                        set(u, CG_U_CPU_PERIOD_USEC, (uint64_t)i64);
                return 0;
        case K_MEM_EVENTS: {
                struct cg_memory_events ev;
                static const enum cg_usage_field map[] = {
                        CG_U_MEM_EVENTS_LOW, CG_U_MEM_EVENTS_HIGH, CG_U_MEM_EVENTS_MAX,
                        CG_U_MEM_EVENTS_OOM, CG_U_MEM_OOM_KILL, CG_U_MEM_EVENTS_OOM_GROUP_KILL,
                };
                r = cg_parse_memory_events(buf, n, &ev, &e);
                if (r < 0)
                        break;
                const uint64_t vals[] = { ev.low, ev.high, ev.max, ev.oom, ev.oom_kill, ev.oom_group_kill };
                for (size_t i = 0; i < ELEMENTSOF(map); i++)
                        if (ev.present & (1u << i))
                                set(u, map[i], vals[i]);
                return 0;
        }
        case K_OOM_CONTROL: {
                struct cg_oom_control oc;

                r = cg_parse_oom_control(buf, n, &oc, &e);
                if (r < 0)
                        break;
                if (oc.present & CG_OOM_KILL_DISABLE)
                        set(u, CG_U_MEM_OOM_KILL_DISABLE, oc.oom_kill_disable);
                if (oc.present & CG_OOM_UNDER_OOM)
                        set(u, CG_U_MEM_UNDER_OOM, oc.under_oom);
                if (oc.present & CG_OOM_KILL)
                        set(u, CG_U_MEM_OOM_KILL, oc.oom_kill);
                return 0;
        }
        case K_PSI_CPU:
        case K_PSI_MEMORY:
        case K_PSI_IO: {
                struct cg_pressure pr;

                r = cg_parse_pressure(buf, n, &pr, &e);
                if (r < 0)
                        break;
                u->pressure[f->kind == K_PSI_CPU ? CG_PSI_CPU : f->kind == K_PSI_MEMORY ? CG_PSI_MEMORY : CG_PSI_IO] = pr;
                return 0;
        }
        }
        format_parse_error(msg, msize, buf, n, &e);
        return -EBADMSG;
}

static bool is_limit(enum cgs_kind k) {
        return k == K_MEM_MAX || k == K_MEM_MAX_ANCESTOR || k == K_MEM_LIMIT_V1 || k == K_MEM_STAT_V1 ||
               k == K_PIDS_MAX || k == K_CPU_MAX || k == K_CFS_QUOTA || k == K_CFS_PERIOD;
}

/* The fields the limit files fill. */
static const enum cg_usage_field limit_fields[] = { CG_U_MEM_MAX_BYTES, CG_U_PIDS_MAX, CG_U_CPU_QUOTA_USEC,
                                                    CG_U_CPU_PERIOD_USEC };

void cg_sampler_refresh_limits(struct cg_sampler *s) {
        s->until_limits = 0;
}

int cg_sampler_read(struct cg_sampler *s, struct cg_usage *ret, const struct cg_sample_error **ret_errors) {
        struct cg_usage u = {};
        size_t n_err = 0;
        bool limits = s->until_limits == 0, pressure = s->until_pressure == 0;

        s->until_limits = limits ? s->limits_every - 1 : s->until_limits - 1;
        s->until_pressure = pressure ? s->pressure_every - 1 : s->until_pressure - 1;
        for (size_t i = 0; i < s->n; i++) {
                struct cg_sample_error *e = &s->errors[n_err];
                char buf[CGS_BUF];
                ssize_t n;
                int r;

                if (is_limit(s->f[i].kind) && !limits)
                        continue; /* a setting, not a measurement: the last value stands (below) */
                if (!pressure && (s->f[i].kind == K_PSI_CPU || s->f[i].kind == K_PSI_MEMORY || s->f[i].kind == K_PSI_IO))
                        continue;
                n = pread_whole(s->f[i].fd, buf, sizeof buf);

                if (n < 0) {
                        *e = (struct cg_sample_error){ .file = s->f[i].path, .err = (int)n };
                        snprintf(e->message, sizeof e->message, "%s",
                                 n == -EFBIG ? "larger than 4 KiB" : strerror((int)-n));
                        n_err++;
                        continue;
                }
                r = parse_into(s, &s->f[i], buf, (size_t)n, &u, e->message, sizeof e->message);
                if (r < 0) {
                        e->file = s->f[i].path;
                        e->err = r;
                        n_err++;
                }
        }
        for (size_t k = 0; k < ELEMENTSOF(limit_fields); k++) {
                enum cg_usage_field fl = limit_fields[k];

                if (limits) {
                        if (cg_usage_get(&u, fl, &s->last[fl]))
                                s->have_last |= UINT64_C(1) << fl;
                        else
                                s->have_last &= ~(UINT64_C(1) << fl);
                } else if (s->have_last & (UINT64_C(1) << fl))
                        set(&u, fl, s->last[fl]);
        }
        *ret = u;
        if (ret_errors)
                *ret_errors = s->errors;
        return (int)n_err;
}
