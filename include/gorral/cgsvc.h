/* cgsvc.h: per-service cgroups (L1), the one interface the supervisor
 * uses for them: host discovery, then create / enter / signal / watch /
 * remove for each service.
 *
 * Layout, below gorral's own cgroup in every hierarchy it uses:
 *     <own>/gorral/<service>          (cpu, memory, freezer, the v2 tree)
 * "gorral" is the instance directory. gorral holds an flock(2) on it
 * (an O_DIRECTORY fd, close-on-exec) for as long as it runs, so a later
 * gorral tells a live owner's subtree from one left by a gorral that was
 * SIGKILLed: an instance directory it can lock is a leftover, and
 * cgsvc_host_open() kills what runs in it and removes it. A second live
 * gorral in the same cgroup uses "gorral-<pid>" instead (found and
 * cleaned the same way).
 *
 * Backends, chosen per hierarchy from /proc/self/mountinfo and cgroup:
 *   - cgroup v2 (pure v2, or a controller the kernel put on v2): direct
 *     cgroupfs writes. The controllers (cpu, memory, pids) are enabled in
 *     <own>/cgroup.subtree_control and <own>/gorral/cgroup.subtree_control;
 *     when <own> still holds processes (gorral as PID 1 in its container)
 *     the kernel refuses that (EBUSY, the no-internal-process rule), so
 *     gorral first moves itself into the leaf <own>/gorral/_gorral and
 *     tries again. cpu.max, memory.max.
 *   - cgroup v1 (and the v1 controllers of a hybrid host): cgroup-v1.h,
 *     libcgroup 2.0.2 in the dynamic build, direct writes in the static
 *     one. cpu.cfs_period_us + cpu.cfs_quota_us, memory.limit_in_bytes;
 *     a freezer cgroup on a pure v1 host, for the stop.
 *   - the hybrid host's cgroup2 mount holds a "tracking" cgroup per
 *     service (no controllers: as systemd does), for cgroup.kill,
 *     cgroup.freeze and cgroup.events.
 * A service gets a cgroup in the cpu and memory hierarchies whether or not
 * it asks for a limit (its own accounting; its leaf is what Go >= 1.25
 * reads), and one in the v2 tree when there is one.
 *
 * The stop boundary is the cgroup: cgsvc_signal() reaches every process in
 * it, also those that left the process group or double-forked into a new
 * session. SIGKILL uses cgroup.kill where the kernel has it; otherwise,
 * and for every other signal, the cgroup is frozen (cgroup.freeze, or the
 * v1 freezer), every pid in cgroup.procs is signalled through
 * spawn_kill() until a pass finds no new one, and it is thawed.
 *
 * Emptiness: cgsvc_events_fd() is the service's cgroup.events (v2 tree),
 * for the loop to watch with EPOLLPRI: the kernel marks a modification of
 * the file with POLLPRI | POLLERR (kernfs_notify; both seen here on 6.18);
 * cgsvc_populated() then reads it. A pure v1 host has no cgroup.events:
 * the events fd is -1 and cgsvc_populated() reads cgroup.procs each time
 * it is asked (the supervisor asks after it reaped the service's main
 * process, then again on a backing-off timer, never in a tight loop).
 *
 * Nothing fails for lack of cgroups: where none can be created (no
 * privileges, read-only cgroupfs, no cgroupfs), cgsvc_host_open() returns
 * a disabled host and a reason once; cgsvc_create() then says -ENOTSUP and
 * the supervisor runs the service in gorral's own cgroup.
 *
 * Nothing here logs; -errno, and messages for the caller to log. No
 * call blocks: the only waits are at cgsvc_host_open() (at start-up,
 * bounded, while a leftover's killed processes exit). The host must
 * outlive its services. Under a sysroot (tests, recorded trees) every
 * path is relative to it and no process is ever signalled. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cgsvc_host;
struct cgsvc;

/* What a service asks for. cpu: quota/period in microseconds (0.5 CPU =
 * 50000/100000; period 0 means 100000). memory: a hard limit in bytes. */
struct cgsvc_resources {
        bool has_cpu;
        uint64_t cpu_quota_us, cpu_period_us;
        bool has_memory;
        uint64_t memory_bytes;
};

/* Longest service name: [A-Za-z0-9_-], starting with a letter or digit
 * (the name is a cgroup directory; no '.', so no name can be a control
 * file such as "cpu.max", and none is "_gorral"). */
#define CGSVC_NAME_MAX 64
bool cgsvc_name_valid(const char *name);

/* Controllers the host can limit (cgsvc_host_controllers()). A resource
 * the host lacks is not an error: the service runs without that limit
 * and the integrator logs it. */
#define CGSVC_CTRL_CPU    (1u << 0)
#define CGSVC_CTRL_MEMORY (1u << 1)

/* Discover the host under sysroot (NULL or "" for "/"), clean up what a
 * SIGKILLed gorral left, and take this gorral's instance directories.
 * Always 0 with *ret set, except -ENOMEM: when per-service cgroups are
 * not possible the host is disabled and *ret_reason (malloc'd) says why,
 * once, for the integrator to log. When enabled, *ret_reason is NULL.
 * Waits at most about 1 s in total for a leftover's processes to exit.
 * Call it once, at start, before any service runs: on v2 it may move
 * gorral itself (one thread) into <own>/gorral/_gorral. */
int cgsvc_host_open(const char *sysroot, struct cgsvc_host **ret, char **ret_reason);
bool cgsvc_host_enabled(const struct cgsvc_host *h);
unsigned cgsvc_host_controllers(const struct cgsvc_host *h);
/* One line for logs and `gorral status`: "v1 via libcgroup 2.0.2 (cpu,
 * memory) + cgroup2 tracking (cgroup.kill) in /sys/fs/cgroup/unified/gorral",
 * "v2 (cpu memory pids) in /sys/fs/cgroup/ctr/gorral, gorral moved into
 * _gorral", "disabled: ...". Owned by the host. */
const char *cgsvc_host_describe(const struct cgsvc_host *h);
/* What host_open noticed and tolerated (leftovers killed and removed, a
 * hierarchy skipped, controllers that could not be enabled): one line
 * each, for the integrator to log at info/warning. Owned by the host. */
size_t cgsvc_host_notes(const struct cgsvc_host *h, const char *const **ret);
/* Closes the instance locks and removes the instance directories when
 * they are empty (they are not while gorral itself sits in _gorral: the
 * next start cleans them). NULL-safe; returns NULL. */
struct cgsvc_host *cgsvc_host_free(struct cgsvc_host *h);

/* Create (or take over an empty leftover of) the service's cgroups and
 * write its resources. 0; -EINVAL bad name; -ENOTSUP host disabled;
 * -EBUSY a cgroup of that name still holds processes (kill and destroy it
 * first); -errno from the kernel, with *ret_err (malloc'd, may be NULL)
 * naming the file. A v1 cpu quota above the parent's is refused by the
 * kernel (EINVAL): then the service keeps the parent's limit, which is
 * lower anyway, and 0 is returned. */
int cgsvc_create(struct cgsvc_host *h, const char *service, const struct cgsvc_resources *res,
                 struct cgsvc **ret, char **ret_err);
/* The open cgroup.procs fds (O_WRONLY|O_CLOEXEC) the child writes "0" to
 * before exec (spawn_params.cgroup_procs_fds). Owned by c. 0, or -ESTALE
 * after cgsvc_destroy(). */
int cgsvc_procs_fds(struct cgsvc *c, const int **ret_fds, size_t *ret_n);
/* For cg_read_limits_sub(sysroot, 0, subpath, ...) from gorral: the
 * service's cgroup relative to gorral's own ("gorral/api", "../api" once
 * gorral moved itself into _gorral). */
const char *cgsvc_subpath(const struct cgsvc *c);
/* The service's main cgroup directory (v2 tree, else cpu), for logs and
 * `gorral status`. */
const char *cgsvc_path(const struct cgsvc *c);
/* cgroup.events of the service (O_RDONLY|O_CLOEXEC, owned by c), for
 * loop_add_fd with EPOLLPRI; -1 on a pure v1 host. */
int cgsvc_events_fd(const struct cgsvc *c);
/* Its cgroup v2 directory (the tracking one on a hybrid host), for
 * clone3(CLONE_INTO_CGROUP), and the index of its cgroup.procs among
 * cgsvc_procs_fds(); -1 when it has none. */
int cgsvc_v2_dir_fd(const struct cgsvc *c, size_t *ret_index);
/* 1 while any process is in the service's cgroup, 0 when empty, -errno. */
int cgsvc_populated(struct cgsvc *c);
/* Send sig to every process in the cgroup (see the top). The number of
 * processes signalled (cgroup.kill: 0, the kernel does not say), or
 * -errno; -EPERM under a sysroot. */
int cgsvc_signal(struct cgsvc *c, int sig);
/* cgsvc_signal(c, SIGKILL). */
int cgsvc_kill(struct cgsvc *c);
/* Write new resources to the running service's cgroups (a limit that is
 * dropped is set back to unlimited). 0 or -errno (+ *ret_err); v1 refuses
 * a memory limit below the current usage (EBUSY). */
int cgsvc_update(struct cgsvc *c, const struct cgsvc_resources *res, char **ret_err);
/* Remove every cgroup of the service (and any child cgroups a process of
 * it made): 0; -EBUSY while it is populated or while the kernel still
 * lists exiting tasks (call again after cgroup.events says populated 0,
 * or on a short timer on v1); -errno. Does not free c. */
int cgsvc_destroy(struct cgsvc *c);
/* Closes the fds and frees; does not remove the cgroups. NULL-safe. */
struct cgsvc *cgsvc_free(struct cgsvc *c);

/* Pure parser of a cgroup.events buffer ("populated 1\nfrozen 0\n").
 * -EBADMSG when "populated" is missing or a line is malformed; frozen is
 * -1 when absent (kernels before 5.2). */
int cgsvc_parse_events(const char *buf, size_t n, int *ret_populated, int *ret_frozen);
