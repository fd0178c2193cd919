/* mountdesc.h: the one mount a path is on, as the kernel describes it.
 *
 * statx(2) gives the path's unique mount id (STATX_MNT_ID_UNIQUE, Linux
 * 6.8) and statmount(2) (6.8; mount options 6.11) that mount's filesystem
 * type, root, mount point and options: the fields of its mountinfo line,
 * without the kernel printing every other mount of the namespace, which
 * costs 60-150 us on this machine against about 20 us for the pair.
 * mountdesc.c is the only caller of both system calls. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The strings point into the caller's reply buffer and are NUL-terminated
 * there. */
struct mountdesc {
        uint64_t magic;          /* the superblock's (CGROUP2_SUPER_MAGIC ...) */
        const char *fs_type;     /* "cgroup2"; mountinfo's fstype */
        const char *root;        /* mountinfo's field 4, unescaped */
        const char *mount_point; /* mountinfo's field 5, unescaped */
        const char *options;     /* the superblock's ("memory", "xattr,name=systemd");
                                    "" when it has none, or when the kernel
                                    predates them (6.11): a caller that needs
                                    them must then look elsewhere */
};

/* A reply buffer for mountdesc_of_path(): ample for a cgroup mount; a
 * longer reply is -EOVERFLOW, and the caller looks elsewhere. */
#define MOUNTDESC_BUF_MAX 8192

/* Parse a statmount(2) reply of n bytes: 0; -EBADMSG when it is shorter
 * than its header, its size field disagrees with n, a string offset lies
 * outside the reply or a string has no NUL; -ENODATA when the superblock,
 * type, root or mount point is missing (absent options are none: the
 * kernel sets their bit only for a non-empty list). Pure. */
int mountdesc_parse(const void *buf, size_t n, struct mountdesc *ret);

/* The mount path resolves to (symlinks followed, as open(2) does). 0;
 * -ENOSYS when this kernel cannot say (no statmount or no unique mount
 * ids: older than 6.8), -EOVERFLOW when the reply does not
 * fit in size bytes, else -errno (-ENOENT from statx; -EPERM from a
 * seccomp filter that predates statmount). */
int mountdesc_of_path(const char *path, void *buf, size_t size, struct mountdesc *ret);
