/* mountdesc.c: the mount a path is on, from statx(2) and statmount(2)
 * (see mountdesc.h).
 *
 * Neither Debian 12's glibc nor musl 1.2.3 declares statmount, and musl
 * has no struct statx, so both structures are written out here from the
 * kernel's UAPI (include/uapi/linux/stat.h, mount.h), which only ever
 * grows them at the end; the asserts pin the offsets this file reads. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gorral/mountdesc.h"

#ifndef SYS_statmount
#define SYS_statmount 457 /* x86-64, i386 and every asm-generic architecture */
#endif

#define GR_STATX_MNT_ID_UNIQUE 0x4000U

struct gr_statx_ts {
        int64_t tv_sec;
        uint32_t tv_nsec;
        int32_t spare;
};

struct gr_statx {
        uint32_t mask, blksize;
        uint64_t attributes;
        uint32_t nlink, uid, gid;
        uint16_t mode, spare0;
        uint64_t ino, size, blocks, attributes_mask;
        struct gr_statx_ts atime, btime, ctime, mtime;
        uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
        uint64_t mnt_id;
        uint64_t spare[13];
};
_Static_assert(offsetof(struct gr_statx, mnt_id) == 144, "struct statx layout");
_Static_assert(sizeof(struct gr_statx) == 256, "struct statx size");

/* MNT_ID_REQ_SIZE_VER0: the mount is looked up in the caller's namespace. */
struct gr_mnt_id_req {
        uint32_t size, spare;
        uint64_t mnt_id, param;
};

enum {
        SM_SB_BASIC = 0x1,
        SM_MNT_ROOT = 0x8,
        SM_MNT_POINT = 0x10,
        SM_FS_TYPE = 0x20,
        SM_MNT_OPTS = 0x80, /* Linux 6.11 */
};

/* The fixed part of struct statmount; the strings follow at str, each
 * named by its offset from there. */
struct gr_statmount {
        uint32_t size, mnt_opts;
        uint64_t mask;
        uint32_t sb_dev_major, sb_dev_minor;
        uint64_t sb_magic;
        uint32_t sb_flags, fs_type;
        uint64_t mnt_id, mnt_parent_id;
        uint32_t mnt_id_old, mnt_parent_id_old;
        uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
        uint32_t mnt_root, mnt_point;
        uint64_t spare[50];
        char str[];
};
_Static_assert(offsetof(struct gr_statmount, mnt_root) == 104, "struct statmount layout");
_Static_assert(sizeof(struct gr_statmount) == 512, "struct statmount size");

static int string_at(const char *str, size_t n, uint32_t off, const char **ret) {
        const char *nul;

        if (off >= n)
                return -EBADMSG;
        nul = memchr(str + off, '\0', n - off);
        if (!nul)
                return -EBADMSG;
        *ret = str + off;
        return 0;
}

int mountdesc_parse(const void *buf, size_t n, struct mountdesc *ret) {
        const uint64_t need = SM_SB_BASIC | SM_MNT_ROOT | SM_MNT_POINT | SM_FS_TYPE;
        struct gr_statmount sm;
        struct mountdesc d = { .options = "" };
        const char *str = (const char *)buf + sizeof sm;
        size_t sn;
        int r;

        if (n < sizeof sm)
                return -EBADMSG;
        memcpy(&sm, buf, sizeof sm); /* buf need not be aligned */
        if (sm.size != n)
                return -EBADMSG;
        if ((sm.mask & need) != need)
                return -ENODATA;
        sn = n - sizeof sm;
        d.magic = sm.sb_magic;
        r = string_at(str, sn, sm.fs_type, &d.fs_type);
        if (r >= 0)
                r = string_at(str, sn, sm.mnt_root, &d.root);
        if (r >= 0)
                r = string_at(str, sn, sm.mnt_point, &d.mount_point);
        if (r >= 0 && (sm.mask & SM_MNT_OPTS))
                r = string_at(str, sn, sm.mnt_opts, &d.options);
        if (r < 0)
                return r;
        *ret = d;
        return 0;
}

int mountdesc_of_path(const char *path, void *buf, size_t size, struct mountdesc *ret) {
        struct gr_statx sx;
        struct gr_mnt_id_req req = { .size = sizeof req };
        const struct gr_statmount *sm = buf;

        if (size < sizeof *sm)
                return -EOVERFLOW;
        if (syscall(SYS_statx, AT_FDCWD, path, 0, GR_STATX_MNT_ID_UNIQUE, &sx) < 0)
                return -errno;
        /* Before 6.8 the kernel answers with the old, reusable id and
         * leaves the bit clear; statmount takes only the unique one. */
        if (!(sx.mask & GR_STATX_MNT_ID_UNIQUE))
                return -ENOSYS;
        req.mnt_id = sx.mnt_id;
        req.param = SM_SB_BASIC | SM_MNT_ROOT | SM_MNT_POINT | SM_FS_TYPE | SM_MNT_OPTS;
        if (syscall(SYS_statmount, &req, buf, size, 0) < 0)
                /* EINVAL: a kernel that refuses a field it does not know;
                 * a seccomp filter that predates the call answers EPERM. */
                return errno == ENOSYS || errno == EINVAL ? -ENOSYS : -errno;
        if (sm->size > size)
                return -EOVERFLOW;
        return mountdesc_parse(buf, sm->size, ret);
}
