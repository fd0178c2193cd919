/* cgroup.h: cgroup discovery and limit reading (L1).
 *
 * Pure parsers over buffers (cg_parse_*) and one reader (cg_read_limits)
 * that does the I/O under an optional sysroot. Nothing here logs; errors
 * come back as -errno, and malformed files as entries in cg_limits.errors
 * that name the file and its content. A missing file, controller or
 * cgroupfs is "no limit known", not an error, and cg_limits.notes says
 * why nothing was found (no mountinfo, no cgroup mount, no /proc/PID/cgroup,
 * a cgroup outside every mount or outside the namespace). Never trusts a
 * hard-coded /sys/fs/cgroup: a mount comes from mountinfo, or from the
 * kernel's description of what is mounted at the conventional place
 * (cg_resolve_kernel). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum cg_layout { CG_LAYOUT_NONE, CG_LAYOUT_V1, CG_LAYOUT_V2, CG_LAYOUT_HYBRID };
const char *cg_layout_to_string(enum cg_layout l); /* "none", "v1", "v2", "hybrid" */

/* One cgroup or cgroup2 line of /proc/PID/mountinfo (other fs types are
 * skipped by the parser). Octal escapes (\040 ...) are undone. */
struct cg_mount {
        char *mount_point;   /* as seen inside the namespace, no sysroot */
        char *root;          /* field 4: the hierarchy path mounted there */
        bool v2;             /* fstype cgroup2 */
        char *super_options; /* "rw,cpu,cpuacct" (v1 controllers live here) */
};

/* -EBADMSG on a malformed line (fewer than 10 fields, no " - " separator,
 * non-numeric ids), with *reterr_line set (1-based). */
int cg_parse_mountinfo(const char *buf, size_t n, struct cg_mount **ret, size_t *ret_n, unsigned *reterr_line);
void cg_mounts_free(struct cg_mount *m, size_t n);

/* One line of /proc/PID/cgroup: "id:controllers:path". */
struct cg_member {
        unsigned id;
        char *controllers; /* "cpu,cpuacct", "" for v2, "name=systemd" */
        char *path;        /* must start with '/' */
};
int cg_parse_proc_cgroup(const char *buf, size_t n, struct cg_member **ret, size_t *ret_n, unsigned *reterr_line);
/* Frees what cg_parse_proc_cgroup made (the array and its strings are one
 * block); n is kept for the callers' symmetry with cg_mounts_free. */
void cg_members_free(struct cg_member *m, size_t n);

/* Where a controller lives for a process: a v1 line naming the controller
 * wins over "0::"; the first mount whose root is a path-boundary prefix of
 * the cgroup path wins; roots not starting with '/' (nsfs) are skipped; a
 * remainder starting with "/.." is outside the namespace (unreachable). */
struct cg_dir {
        bool v2;
        char *dir; /* leaf directory: mount point + remainder (no sysroot) */
        char *top; /* the mount point: the ancestor walk stops here */
        char *cgroup_path; /* the path from /proc/PID/cgroup */
};
/* controller NULL: the v2 hierarchy itself (the "0::" line on a cgroup2
 * mount), whatever controllers it has.
 * 0 on success; -ENOENT no such controller/mount (no limit known);
 * -EXDEV the cgroup is outside this namespace's view. */
int cg_resolve(const struct cg_mount *m, size_t nm, const struct cg_member *mem, size_t nmem,
               const char *controller, struct cg_dir *ret);
/* cg_resolve without mountinfo, for the calling process: asks the kernel
 * (mountdesc.h) which mount is at the conventional place of the member's
 * hierarchy (/sys/fs/cgroup/<its v1 controllers>; /sys/fs/cgroup, then
 * /sys/fs/cgroup/unified for v2) and places the path on it when that
 * mount is the hierarchy and its root a prefix of the path. 0; -ENOENT
 * when no line names the controller (as cg_resolve); -EAGAIN when the
 * kernel cannot say (before Linux 6.8; v1 before 6.11, which has no mount
 * options) or the hierarchy is mounted elsewhere or not holding the path:
 * read mountinfo then. Where both decide, the directory is the same; the
 * top is the mount at the conventional place, where cg_resolve takes the
 * first that fits. */
int cg_resolve_kernel(const struct cg_member *mem, size_t nmem, const char *controller, struct cg_dir *ret);
void cg_dir_done(struct cg_dir *d);

/* The value parsers below take exactly the kernel's format: the final
 * newline is optional, but leading or doubled blanks, CR, NUL bytes and
 * extra lines are -EBADMSG. None reads past buf[n - 1]. */

/* v2 cpu.max "<quota|max> <period>\n". quota_us < 0 means "max" (-1).
 * Period 0, quota <= 0, one or three fields, garbage: -EBADMSG. */
struct cg_quota {
        int64_t quota_us;
        uint64_t period_us;
};
int cg_parse_cpu_max(const char *buf, size_t n, struct cg_quota *ret);
/* v1 number files (cpu.cfs_quota_us, cpu.cfs_period_us,
 * memory.limit_in_bytes): "<int64>\n" (trailing newline optional). */
int cg_parse_v1_int(const char *buf, size_t n, int64_t *ret);
/* v2 memory.max / memory.high: "<bytes>\n" or "max\n" (-> UINT64_MAX).
 * "512M" and negatives are -EBADMSG. */
int cg_parse_memory_max(const char *buf, size_t n, uint64_t *ret);
/* "key value\n" files (memory.stat, cpu.stat): the value of key; -ENOENT
 * when absent, -EBADMSG when a line is malformed. */
int cg_parse_kv(const char *buf, size_t n, const char *key, uint64_t *ret);
/* Where a buffer was found malformed: 1-based line and byte column, and a
 * static sentence. */
struct cg_parse_error {
        unsigned line, column;
        const char *reason;
};
/* The same format read once for several keys (cpu.stat, memory.events):
 * vals[i] is the value of the first line whose key is keys[i] and bit i of
 * *ret_found says it was there; other keys are skipped (kernels add keys)
 * and an empty buffer has none. vals[i] is written only for keys found.
 * -EINVAL for more than 64 keys; -EBADMSG on the first malformed line, with
 * *reterr (may be NULL) saying where. cg_parse_kv() is this for one key. */
int cg_parse_kv_keys(const char *buf, size_t n, const char *const *keys, size_t n_keys, uint64_t *vals,
                     uint64_t *ret_found, struct cg_parse_error *reterr);
/* cpuset lists "0-3,8,10-11\n": number of CPUs. Empty list: 0. Ranges
 * must be ascending and disjoint, as the kernel prints them. */
int cg_parse_cpuset(const char *buf, size_t n, unsigned *ret_count);

struct cg_error {
        char *file;    /* full path read (with sysroot) */
        char *message; /* what was wrong, quoting the content */
};

struct cg_limits {
        enum cg_layout layout; /* from mountinfo (see cg_read_limits_opt) */
        char *cpu_cgroup;    /* the process's cgroup for cpu, or NULL */
        char *memory_cgroup; /* the process's cgroup for memory, or NULL */

        /* Tightest quota/period over the leaf and every visible ancestor. */
        bool cpu_limited;
        uint64_t cpu_quota_us, cpu_period_us;
        char *cpu_file;
        /* The leaf alone (what Go >= 1.25's runtime reads). */
        bool cpu_leaf_limited;
        uint64_t cpu_leaf_quota_us, cpu_leaf_period_us;
        bool cpu_error; /* a CPU file was malformed: leave GOMAXPROCS unset */
        bool cpu_skipped; /* not read: the caller said the decision cannot use it */

        /* Effective cpuset of the leaf (cpuset.effective_cpus on v1,
         * cpuset.cpus.effective on v2); 0 when unknown. */
        unsigned cpuset_cpus;
        char *cpuset_file;

        /* Minimum hard limit over the levels (v2 memory.max; v1
         * memory.limit_in_bytes and hierarchical_memory_limit). */
        bool mem_limited;
        uint64_t mem_bytes;
        char *mem_file;
        /* v2 memory.high, minimum over the levels. */
        bool high_limited;
        uint64_t high_bytes;
        char *high_file;
        bool mem_error;
        bool mem_skipped; /* not read (as cpu_skipped) */

        struct cg_error *errors;
        size_t n_errors;

        /* Informational, not errors (e.g. the cgroup is outside this
         * namespace's view, so no limit is known). Added after the first
         * contract; callers that ignore it lose nothing. */
        char **notes;
        size_t n_notes;
};

/* Read everything for pid (0: self) under sysroot (NULL or "" for "/").
 * Returns -errno only for failures of gorral itself (ENOMEM); malformed
 * files land in ret->errors. Reads are bounded (64 KiB for limit files,
 * GR_READ_MAX for /proc files). Besides the cases in the field comments:
 * an empty or unreadable file, and a v1 quota without its period file,
 * are errors; v1 limits >= LONG_MAX rounded down to the page size mean
 * "no limit"; on a tie between levels the one nearer the leaf is named. */
int cg_read_limits(const char *sysroot, pid_t pid, struct cg_limits *ret);
/* The same for a sub-cgroup of pid's own cgroups, e.g. a service's
 * (cgsvc_subpath(): "gorral/api", or "../api" once gorral moved itself
 * into a leaf): subpath is appended to the cpu, cpuset and memory cgroup
 * paths, so the limits are the tightest over that cgroup and every
 * ancestor. Leading ".." components climb but never above the mount;
 * levels that do not exist are skipped (the process then runs in the
 * nearest one that does), with a note. An absolute subpath, a ".." after a
 * name, or one that climbs out of the mount gives a note and "no limit
 * known" for that controller. NULL subpath: cg_read_limits(). */
int cg_read_limits_sub(const char *sysroot, pid_t pid, const char *subpath, struct cg_limits *ret);

/* What to read (cg_read_limits_opt): a launcher reads only what its
 * decision can use, in the order that ends soonest. */
enum {
        CG_READ_CPU = 1u << 0,     /* the quota walk */
        CG_READ_CPUSET = 1u << 1,  /* informative: the affinity mask already reflects the cpuset */
        CG_READ_MEMORY = 1u << 2,  /* the memory walk */
        /* v1: the leaf's hierarchical_memory_limit alone (it is the minimum
         * over the leaf and every ancestor, visible or not), without the
         * walk that names the level it comes from. */
        CG_READ_MEMORY_FAST = 1u << 3,
        CG_READ_ALL = CG_READ_CPU | CG_READ_CPUSET | CG_READ_MEMORY,
};
/* As cg_read_limits_sub(), reading only what `what` asks for; the rest is
 * marked cpu_skipped / mem_skipped. Nothing at all (what 0) reads no file.
 * Less than CG_READ_ALL for the calling process (pid 0, no sysroot) places
 * each controller with cg_resolve_kernel() and reads mountinfo only where
 * that cannot decide, so layout stays CG_LAYOUT_NONE when it was not read. */
int cg_read_limits_opt(const char *sysroot, pid_t pid, const char *subpath, unsigned what, struct cg_limits *ret);
/* One more level below what was read, as the process's leaf, under the
 * same tightest-wins rule as the walk: the limits of a level that does not
 * exist yet (a transient scope systemd makes after the spawn). 0 for
 * none; source names it in place of a file. Skipped kinds (cpu_skipped,
 * mem_skipped) stay skipped. 0 or -ENOMEM. */
int cg_limits_add_leaf(struct cg_limits *l, uint64_t quota_us, uint64_t period_us, uint64_t memory_bytes,
                       const char *source);
void cg_limits_done(struct cg_limits *l);
