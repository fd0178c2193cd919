/* cgroup-v1.h: creating, configuring and removing cgroup v1 directories
 * (L1): the v1 backend of cgsvc.h, nothing else uses it.
 *
 * Two implementations behind one interface:
 *   - libcgroup 2.0.2 (the dynamic build, on the real root): cgroup_init,
 *     cgroup_new_cgroup, cgroup_add_controller, cgroup_add_value_*,
 *     cgroup_create_cgroup, cgroup_delete_cgroup_ext. cgroup-v1.c is the
 *     only includer of <libcgroup.h>.
 *   - direct cgroupfs writes (mkdir, write, rmdir): the static build
 *     (-DGORRAL_STATIC: Debian's libcgroup.a does not link with musl), any
 *     sysroot (libcgroup reads the real /proc/mounts and cannot be pointed
 *     at a recorded tree), and a host where cgroup_init() fails or
 *     libcgroup finds a controller at another mount point than mountinfo.
 * Both do the same thing to the same directories; which one runs is
 * visible in cgv1_backend() (for `gorral status` and the logs).
 *
 * Attaching processes is NOT here: the service's child writes "0" to
 * pre-opened cgroup.procs fds itself before exec (spawn.h), because
 * libcgroup's attach writes `tasks` (one thread), is not vfork-safe, and
 * dereferences NULL in 2.0.2. Nothing here logs; errors are -errno, with a
 * message for the caller to log when one is asked for. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct cgv1;

/* One control file to write, in order. */
struct cgv1_value {
        const char *name;  /* "cpu.cfs_quota_us" */
        const char *value; /* "50000", "-1" */
};

/* sysroot NULL or "": the real root (libcgroup when built with it). Never
 * fails for libcgroup reasons: a failing cgroup_init() selects direct
 * writes and *ret_note (malloc'd, may be NULL) says why. -ENOMEM. */
int cgv1_open(const char *sysroot, struct cgv1 **ret, char **ret_note);
struct cgv1 *cgv1_free(struct cgv1 *b);
/* "libcgroup 2.0.2" or "direct writes". */
const char *cgv1_backend(const struct cgv1 *b);

/* Will the backend write controller's files under mount_point (the one
 * mountinfo shows, no sysroot)? libcgroup keeps its own table from
 * /proc/mounts and takes the first mount of each controller; when that is
 * another mount point this controller goes through direct writes (1 is
 * returned and *ret_note says so). 0: as expected. -ENOMEM. */
int cgv1_check_controller(struct cgv1 *b, const char *controller, const char *mount_point, char **ret_note);

/* Create the cgroup rel (a path relative to mount_point, "/x/gorral/api")
 * in controller's hierarchy and write vals in order. An existing directory
 * is fine (1 is returned; 0 when it was made). -errno on failure, with
 * *ret_err (malloc'd) naming the file or step when ret_err is not NULL.
 * Write-only fixups (a second call with other values) go through
 * cgv1_set(). */
int cgv1_create(struct cgv1 *b, const char *controller, const char *mount_point, const char *rel,
                const struct cgv1_value *vals, size_t n, char **ret_err);
/* Write vals to an existing cgroup, in order. 0 or -errno (+ *ret_err). */
int cgv1_set(struct cgv1 *b, const char *controller, const char *mount_point, const char *rel,
             const struct cgv1_value *vals, size_t n, char **ret_err);
/* Remove the (empty) cgroup rel: 0 (also when it is already gone),
 * -EBUSY while it holds processes or child cgroups (nothing is moved
 * anywhere), -errno. */
int cgv1_remove(struct cgv1 *b, const char *controller, const char *mount_point, const char *rel);
