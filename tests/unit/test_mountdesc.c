/* Unit tests for mountdesc.c: mountdesc_parse on hand-built statmount(2)
 * replies, and mountdesc_of_path on this machine's mounts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "gorral/mountdesc.h"

/* The kernel's reply: a 512-byte header, then the strings. Offsets of the
 * fields these tests write (include/uapi/linux/mount.h). */
#define H_SIZE 0
#define H_OPTS 4
#define H_MASK 8
#define H_MAGIC 24
#define H_FS_TYPE 36
#define H_ROOT 104
#define H_POINT 108
#define HDR 512

#define M_SB 0x1
#define M_ROOT 0x8
#define M_POINT 0x10
#define M_TYPE 0x20
#define M_OPTS 0x80

struct reply {
        unsigned char b[1024];
        size_t n;
};

static void put32(struct reply *r, size_t at, uint32_t v) {
        memcpy(r->b + at, &v, sizeof v);
}

static void put64(struct reply *r, size_t at, uint64_t v) {
        memcpy(r->b + at, &v, sizeof v);
}

/* Append a string; returns its offset from the start of the strings. */
static uint32_t str(struct reply *r, const char *s) {
        size_t off = r->n - HDR, len = strlen(s) + 1;

        cr_assert(r->n + len <= sizeof r->b);
        memcpy(r->b + r->n, s, len);
        r->n += len;
        return (uint32_t)off;
}

static void finish(struct reply *r) {
        put32(r, H_SIZE, (uint32_t)r->n);
}

/* A cgroup v1 memory mount as this machine's kernel describes it. */
static void cgroup_v1_reply(struct reply *r, bool with_opts) {
        memset(r, 0, sizeof *r);
        r->n = HDR;
        put64(r, H_MAGIC, 0x27e0eb);
        put32(r, H_FS_TYPE, str(r, "cgroup"));
        put32(r, H_ROOT, str(r, "/"));
        put32(r, H_POINT, str(r, "/sys/fs/cgroup/memory"));
        if (with_opts)
                put32(r, H_OPTS, str(r, "memory"));
        put64(r, H_MASK, M_SB | M_ROOT | M_POINT | M_TYPE | (with_opts ? M_OPTS : 0));
        finish(r);
}

Test(parse, cgroup_v1_mount) {
        struct reply r;
        struct mountdesc d;

        cgroup_v1_reply(&r, true);
        cr_assert_eq(mountdesc_parse(r.b, r.n, &d), 0);
        cr_assert_eq(d.magic, 0x27e0eb);
        cr_assert_str_eq(d.fs_type, "cgroup");
        cr_assert_str_eq(d.root, "/");
        cr_assert_str_eq(d.mount_point, "/sys/fs/cgroup/memory");
        cr_assert_str_eq(d.options, "memory");
}

Test(parse, no_options_bit_is_no_options) {
        struct reply r;
        struct mountdesc d;

        cgroup_v1_reply(&r, false);
        cr_assert_eq(mountdesc_parse(r.b, r.n, &d), 0);
        cr_assert_str_eq(d.options, "");
}

Test(parse, unaligned_buffer) {
        struct reply r;
        static unsigned char shifted[sizeof r.b + 1];
        struct mountdesc d;

        cgroup_v1_reply(&r, true);
        memcpy(shifted + 1, r.b, r.n);
        cr_assert_eq(mountdesc_parse(shifted + 1, r.n, &d), 0);
        cr_assert_str_eq(d.mount_point, "/sys/fs/cgroup/memory");
}

Test(parse, missing_fields) {
        static const uint64_t drop[] = { M_SB, M_ROOT, M_POINT, M_TYPE };
        struct reply r;
        struct mountdesc d;

        for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) {
                cgroup_v1_reply(&r, true);
                put64(&r, H_MASK, (M_SB | M_ROOT | M_POINT | M_TYPE | M_OPTS) & ~drop[i]);
                cr_assert_eq(mountdesc_parse(r.b, r.n, &d), -ENODATA, "without 0x%llx", (unsigned long long)drop[i]);
        }
}

Test(parse, malformed) {
        struct reply r;
        struct mountdesc d;

        cgroup_v1_reply(&r, true);
        cr_assert_eq(mountdesc_parse(r.b, HDR - 1, &d), -EBADMSG, "shorter than the header");
        cr_assert_eq(mountdesc_parse(r.b, r.n - 1, &d), -EBADMSG, "size field says more");
        cr_assert_eq(mountdesc_parse(r.b, r.n + 1, &d), -EBADMSG, "size field says less");

        cgroup_v1_reply(&r, true);
        put32(&r, H_ROOT, (uint32_t)(r.n - HDR));
        cr_assert_eq(mountdesc_parse(r.b, r.n, &d), -EBADMSG, "offset at the end");
        put32(&r, H_ROOT, UINT32_MAX);
        cr_assert_eq(mountdesc_parse(r.b, r.n, &d), -EBADMSG, "offset far outside");

        cgroup_v1_reply(&r, true);
        r.b[r.n - 1] = 'x'; /* the options lose their NUL */
        cr_assert_eq(mountdesc_parse(r.b, r.n, &d), -EBADMSG);

        memset(&r, 0, sizeof r);
        put32(&r, H_SIZE, HDR);
        put64(&r, H_MASK, M_SB | M_ROOT | M_POINT | M_TYPE);
        cr_assert_eq(mountdesc_parse(r.b, HDR, &d), -EBADMSG, "no strings at all");
}

/* ---- this machine ---- */

static bool kernel_answers(void) {
        char buf[MOUNTDESC_BUF_MAX];
        struct mountdesc d;

        return mountdesc_of_path("/", buf, sizeof buf, &d) != -ENOSYS;
}

Test(real, proc_and_cgroup_mounts) {
        char buf[MOUNTDESC_BUF_MAX];
        struct mountdesc d;

        if (!kernel_answers())
                cr_skip_test("statmount(2) is missing (Linux older than 6.8)");
        cr_assert_eq(mountdesc_of_path("/proc/self", buf, sizeof buf, &d), 0);
        cr_assert_str_eq(d.fs_type, "proc");
        cr_assert_str_eq(d.mount_point, "/proc");
        cr_assert_eq(d.magic, 0x9fa0);
        if (access("/sys/fs/cgroup/memory/memory.stat", R_OK) == 0) {
                cr_assert_eq(mountdesc_of_path("/sys/fs/cgroup/memory", buf, sizeof buf, &d), 0);
                cr_assert_str_eq(d.fs_type, "cgroup");
                cr_assert_str_eq(d.mount_point, "/sys/fs/cgroup/memory");
                cr_assert(strstr(d.options, "memory"), "options \"%s\"", d.options);
                cr_assert_eq(d.root[0], '/');
        }
}

Test(real, errors) {
        char buf[MOUNTDESC_BUF_MAX];
        struct mountdesc d;

        if (!kernel_answers())
                cr_skip_test("statmount(2) is missing (Linux older than 6.8)");
        cr_assert_eq(mountdesc_of_path("/nonexistent/gorral-test", buf, sizeof buf, &d), -ENOENT);
        cr_assert_eq(mountdesc_of_path("/", buf, 100, &d), -EOVERFLOW, "smaller than the header");
        cr_assert_eq(mountdesc_of_path("/proc", buf, 520, &d), -EOVERFLOW, "the strings do not fit");
}
