/* Unit tests for cgroup.c: the parsers on buffers, cg_resolve on
 * hand-built tables, cg_read_limits on fixture trees used as sysroots
 * (tests/fixtures/cgroup/<case>/{proc/self,sys/fs/cgroup}), and
 * cg_resolve_kernel against cg_resolve in real cgroups of this machine. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gorral/cgroup.h"
#include "gorral/mountdesc.h"
#include "gorral/util.h"

#define FX FIXTURES "/cgroup/"
#define NOLIMIT_V1 9223372036854771712ULL

/* Parsers get exactly n bytes and no terminator: copy string literals
 * (without their NUL) into a heap buffer of exactly that size, so ASan
 * catches any read past n. */
static char *dup_exact(const char *s, size_t n) {
        char *b = malloc(n ? n : 1);

        cr_assert(b);
        memcpy(b, s, n);
        return b;
}
#define S(lit) (lit), (sizeof(lit) - 1)

static int cpu_max(const char *s, size_t n, struct cg_quota *q) {
        _cleanup_free_ char *b = dup_exact(s, n);
        return cg_parse_cpu_max(b, n, q);
}
static int v1_int(const char *s, size_t n, int64_t *v) {
        _cleanup_free_ char *b = dup_exact(s, n);
        return cg_parse_v1_int(b, n, v);
}
static int mem_max(const char *s, size_t n, uint64_t *v) {
        _cleanup_free_ char *b = dup_exact(s, n);
        return cg_parse_memory_max(b, n, v);
}
static int kv(const char *s, size_t n, const char *key, uint64_t *v) {
        _cleanup_free_ char *b = dup_exact(s, n);
        return cg_parse_kv(b, n, key, v);
}
static int cpuset(const char *s, size_t n, unsigned *c) {
        _cleanup_free_ char *b = dup_exact(s, n);
        return cg_parse_cpuset(b, n, c);
}

/* ---- cg_parse_cpu_max ---- */

Test(cpu_max, valid) {
        struct cg_quota q;

        cr_assert_eq(cpu_max(S("150000 100000\n"), &q), 0);
        cr_assert_eq(q.quota_us, 150000);
        cr_assert_eq(q.period_us, 100000);
        cr_assert_eq(cpu_max(S("max 100000\n"), &q), 0);
        cr_assert(q.quota_us < 0);
        cr_assert_eq(q.period_us, 100000);
        cr_assert_eq(cpu_max(S("50000 25000"), &q), 0, "no trailing newline is fine");
        cr_assert_eq(q.quota_us, 50000);
        cr_assert_eq(q.period_us, 25000);
        cr_assert_eq(cpu_max(S("1500000 1000000\n"), &q), 0);
        cr_assert_eq(cpu_max(S("9223372036854775807 9223372036854775807\n"), &q), 0);
        cr_assert_eq(q.quota_us, INT64_MAX);
}

Test(cpu_max, only_n_bytes) {
        struct cg_quota q;

        /* The byte after n must not be looked at. */
        cr_assert_eq(cpu_max("10 5X", 4, &q), 0);
        cr_assert_eq(q.quota_us, 10);
        cr_assert_eq(q.period_us, 5);
}

Test(cpu_max, malformed) {
        static const struct { const char *s; size_t n; } bad[] = {
                { S("") }, { S("\n") }, { S("max\n") }, { S("500000\n") }, { S("100000 100000 1\n") },
                { S("100000 0\n") }, { S("-100000 100000\n") }, { S("0 100000\n") }, { S("max 0\n") },
                { S(" 100000 100000\n") }, { S("100000  100000\n") }, { S("100000 100000\r\n") },
                { S("100000 100000\n\n") }, { S("100000 100000 \n") }, { S("9223372036854775808 100000\n") },
                { S("100000 18446744073709551616\n") }, { S("abc 100000\n") }, { S("100000 max\n") },
                { S("1e5 100000\n") }, { S("+100000 100000\n") }, { S("100000 -100000\n") },
                { S("100000\t100000\n") }, { S("MAX 100000\n") }, { S("100000 100000\0") },
                { S("10\0 100000\n") }, { S("max 100000\nmax 100000\n") },
        };
        struct cg_quota q = { 7, 7 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_eq(cpu_max(bad[i].s, bad[i].n, &q), -EBADMSG, "case %zu accepted", i);
        cr_assert_eq(q.quota_us, 7, "output untouched on failure");
}

/* ---- cg_parse_v1_int ---- */

Test(v1_int, valid) {
        int64_t v;

        cr_assert_eq(v1_int(S("-1\n"), &v), 0);
        cr_assert_eq(v, -1);
        cr_assert_eq(v1_int(S("100000"), &v), 0);
        cr_assert_eq(v, 100000);
        cr_assert_eq(v1_int(S("9223372036854771712\n"), &v), 0);
        cr_assert_eq(v, (int64_t)NOLIMIT_V1);
        cr_assert_eq(v1_int(S("9223372036854775807\n"), &v), 0);
        cr_assert_eq(v, INT64_MAX);
        cr_assert_eq(v1_int(S("-9223372036854775808\n"), &v), 0);
        cr_assert_eq(v, INT64_MIN);
        cr_assert_eq(v1_int(S("0\n"), &v), 0);
        cr_assert_eq(v, 0);
}

Test(v1_int, malformed) {
        static const struct { const char *s; size_t n; } bad[] = {
                { S("") }, { S("\n") }, { S("-") }, { S("--1") }, { S(" 1\n") }, { S("1 \n") }, { S("1\r\n") },
                { S("1\n\n") }, { S("1 2\n") }, { S("9223372036854775808\n") }, { S("-9223372036854775809\n") },
                { S("99999999999999999999999\n") }, { S("0x10\n") }, { S("+1\n") }, { S("1g\n") },
                { S("1\0") }, { S("\n1") },
        };
        int64_t v = 7;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_eq(v1_int(bad[i].s, bad[i].n, &v), -EBADMSG, "case %zu accepted", i);
        cr_assert_eq(v, 7);
}

/* ---- cg_parse_memory_max ---- */

Test(memory_max, valid) {
        uint64_t v;

        cr_assert_eq(mem_max(S("max\n"), &v), 0);
        cr_assert_eq(v, UINT64_MAX);
        cr_assert_eq(mem_max(S("max"), &v), 0);
        cr_assert_eq(mem_max(S("536870912\n"), &v), 0);
        cr_assert_eq(v, 536870912);
        cr_assert_eq(mem_max(S("0\n"), &v), 0);
        cr_assert_eq(v, 0);
        cr_assert_eq(mem_max(S("18446744073709551615\n"), &v), 0);
}

Test(memory_max, malformed) {
        static const struct { const char *s; size_t n; } bad[] = {
                { S("") }, { S("\n") }, { S("512M\n") }, { S("-1\n") }, { S("Max\n") }, { S("max \n") },
                { S(" max\n") }, { S("18446744073709551616\n") }, { S("1 2\n") }, { S("1\r\n") }, { S("1.5\n") },
                { S("max\nmax\n") }, { S("m\0x") },
        };
        uint64_t v = 7;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_eq(mem_max(bad[i].s, bad[i].n, &v), -EBADMSG, "case %zu accepted", i);
        cr_assert_eq(v, 7);
}

/* ---- cg_parse_kv ---- */

Test(kv, lookup) {
        static const char stat[] = "cache 4096\nrss 1\nhierarchical_memory_limit 1073741824\ntotal_rss 9\n";
        uint64_t v;

        cr_assert_eq(kv(S(stat), "hierarchical_memory_limit", &v), 0);
        cr_assert_eq(v, 1073741824);
        cr_assert_eq(kv(S(stat), "rss", &v), 0);
        cr_assert_eq(v, 1, "exact key, not total_rss");
        cr_assert_eq(kv(S(stat), "hierarchical", &v), -ENOENT, "no prefix match");
        cr_assert_eq(kv(S(stat), "absent", &v), -ENOENT);
        cr_assert_eq(kv(S(""), "x", &v), -ENOENT);
        cr_assert_eq(kv(S("a 1\nb 2"), "b", &v), 0, "no trailing newline");
        cr_assert_eq(v, 2);
        cr_assert_eq(kv(S("a 1\na 2\n"), "a", &v), 0);
        cr_assert_eq(v, 1, "first occurrence wins");
}

Test(kv, malformed) {
        static const struct { const char *s; size_t n; } bad[] = {
                { S("\n") }, { S("a 1\n\n") }, { S("a\n") }, { S("a 1\nhierarchical_memory_limit\n") },
                { S(" 1\n") }, { S("a -1\n") }, { S("a 1 2\n") }, { S("a  1\n") }, { S("a 1\r\n") },
                { S("a 18446744073709551616\n") }, { S("a 1\0\n") }, { S("a x\n") },
        };
        uint64_t v = 7;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_eq(kv(bad[i].s, bad[i].n, "a", &v), -EBADMSG, "case %zu accepted", i);
        cr_assert_eq(v, 7);
}

/* ---- cg_parse_cpuset ---- */

Test(cpuset, counts) {
        unsigned c;

        cr_assert_eq(cpuset(S("0-3,8\n"), &c), 0);
        cr_assert_eq(c, 5);
        cr_assert_eq(cpuset(S("0\n"), &c), 0);
        cr_assert_eq(c, 1);
        cr_assert_eq(cpuset(S("0-3,8,10-11"), &c), 0);
        cr_assert_eq(c, 7);
        cr_assert_eq(cpuset(S("\n"), &c), 0);
        cr_assert_eq(c, 0);
        cr_assert_eq(cpuset(S(""), &c), 0);
        cr_assert_eq(c, 0);
        cr_assert_eq(cpuset(S("5-5\n"), &c), 0);
        cr_assert_eq(c, 1);
        cr_assert_eq(cpuset(S("0-4294967294\n"), &c), 0);
        cr_assert_eq(c, UINT_MAX);
}

Test(cpuset, malformed) {
        static const struct { const char *s; size_t n; } bad[] = {
                { S("3-0\n") }, { S("0-3,2\n") }, { S("0,0\n") }, { S("4,2\n") }, { S("0-\n") }, { S("-3\n") },
                { S("0,,1\n") }, { S("0-3,\n") }, { S(",0\n") }, { S(" 0\n") }, { S("0 \n") }, { S("0\r\n") },
                { S("0-1-2\n") }, { S("x\n") }, { S("0-4294967295\n") }, { S("99999999999999999999\n") },
                { S("0\n\n") }, { S("0\0") },
        };
        unsigned c = 7;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_eq(cpuset(bad[i].s, bad[i].n, &c), -EBADMSG, "case %zu accepted", i);
        cr_assert_eq(c, 7);
}

/* ---- cg_parse_mountinfo ---- */

static const char hybrid_mountinfo[] =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:5 master:1 - cgroup cgroup rw,memory\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";

static int mountinfo(const char *s, size_t n, struct cg_mount **m, size_t *nm, unsigned *line) {
        _cleanup_free_ char *b = dup_exact(s, n);
        return cg_parse_mountinfo(b, n, m, nm, line);
}

Test(mountinfo, hybrid) {
        struct cg_mount *m;
        size_t n;

        cr_assert_eq(mountinfo(S(hybrid_mountinfo), &m, &n, NULL), 0);
        cr_assert_eq(n, 5, "tmpfs skipped");
        cr_assert_str_eq(m[0].mount_point, "/sys/fs/cgroup/cpu");
        cr_assert_str_eq(m[0].root, "/");
        cr_assert_str_eq(m[0].super_options, "rw,cpu");
        cr_assert(!m[0].v2);
        cr_assert_str_eq(m[2].super_options, "rw,memory", "optional fields skipped");
        cr_assert(m[4].v2);
        cr_assert_str_eq(m[4].mount_point, "/sys/fs/cgroup/unified");
        cg_mounts_free(m, n);
}

Test(mountinfo, octal_escapes) {
        struct cg_mount *m;
        size_t n;

        cr_assert_eq(mountinfo(S("1 2 0:3 /a\\040b\\134c /x\\011y\\012z rw - cgroup2 cgroup2 rw\n"), &m, &n, NULL), 0);
        cr_assert_eq(n, 1);
        cr_assert_str_eq(m[0].root, "/a b\\c");
        cr_assert_str_eq(m[0].mount_point, "/x\ty\nz");
        cg_mounts_free(m, n);
        /* A backslash not followed by three octal digits is kept. */
        cr_assert_eq(mountinfo(S("1 2 0:3 / /x\\08 rw - cgroup2 cgroup2 rw\n"), &m, &n, NULL), 0);
        cr_assert_str_eq(m[0].mount_point, "/x\\08");
        cg_mounts_free(m, n);
        cr_assert_eq(mountinfo(S("1 2 0:3 / /x\\04 rw - cgroup2 cgroup2 rw"), &m, &n, NULL), 0);
        cr_assert_str_eq(m[0].mount_point, "/x\\04", "escape cut short by the end of the buffer");
        cg_mounts_free(m, n);
}

Test(mountinfo, empty) {
        struct cg_mount *m = (void *)1;
        size_t n = 9;

        cr_assert_eq(mountinfo(S(""), &m, &n, NULL), 0);
        cr_assert_eq(n, 0);
        cg_mounts_free(m, n);
}

Test(mountinfo, malformed) {
        static const struct { const char *s; size_t n; unsigned line; } bad[] = {
                { S("1 2 0:3 / /x rw - cgroup2 cgroup2\n"), 1 },     /* 9 fields */
                { S("1 2 0:3 / /x rw cgroup2 cgroup2 rw\n"), 1 },    /* no separator */
                { S("a 2 0:3 / /x rw - cgroup2 cgroup2 rw\n"), 1 },  /* non-numeric id */
                { S("1 b 0:3 / /x rw - cgroup2 cgroup2 rw\n"), 1 },
                { S("1 2 03 / /x rw - cgroup2 cgroup2 rw\n"), 1 },   /* no major:minor */
                { S("1 2 0:x / /x rw - cgroup2 cgroup2 rw\n"), 1 },
                { S("1 2 0:3 / x rw - cgroup2 cgroup2 rw\n"), 1 },   /* relative mount point */
                { S("1 2 0:3 /  /x rw - cgroup2 cgroup2 rw\n"), 1 }, /* double space */
                { S("1 2 0:3 / /x rw - cgroup2 cgroup2 rw \n"), 1 },
                { S("1 2 0:3 / /x\\000 rw - cgroup2 cgroup2 rw\n"), 1 },
                { S("1 2 0:3 / /x\\777 rw - cgroup2 cgroup2 rw\n"), 1 },
                { S("1 2 0:3 / /x rw - cgroup2 cgroup2 rw\n\n1 2 0:3 / /y rw - ext4 a rw\n"), 2 },
                { S("1 2 0:3 / /x rw - ext4 a rw\n1 2 0:3 / /y rw - cgroup2\n"), 2 },
                { S("1 2 0:3 / /x\0 rw - cgroup2 cgroup2 rw\n"), 1 },
                { S("1 2 0:3 / /x rw - - cgroup2\n"), 1 },
                { S("\n"), 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct cg_mount *m = NULL;
                size_t n = 0;
                unsigned line = 0;

                cr_assert_eq(mountinfo(bad[i].s, bad[i].n, &m, &n, &line), -EBADMSG, "case %zu accepted", i);
                cr_assert_eq(line, bad[i].line, "case %zu: line %u", i, line);
                cr_assert_null(m);
        }
}

/* ---- cg_parse_proc_cgroup ---- */

static int proc_cgroup(const char *s, size_t n, struct cg_member **m, size_t *nm, unsigned *line) {
        _cleanup_free_ char *b = dup_exact(s, n);
        return cg_parse_proc_cgroup(b, n, m, nm, line);
}

Test(proc_cgroup, lines) {
        struct cg_member *m;
        size_t n;

        cr_assert_eq(proc_cgroup(S("9:name=systemd:/\n4:memory:/process_api/aecd\n1:cpu:/\n0::/a:b c"), &m, &n, NULL), 0);
        cr_assert_eq(n, 4);
        cr_assert_eq(m[0].id, 9);
        cr_assert_str_eq(m[0].controllers, "name=systemd");
        cr_assert_str_eq(m[1].path, "/process_api/aecd");
        cr_assert_eq(m[3].id, 0);
        cr_assert_str_eq(m[3].controllers, "");
        cr_assert_str_eq(m[3].path, "/a:b c", "colons and spaces in the path survive");
        cg_members_free(m, n);
}

Test(proc_cgroup, malformed) {
        static const struct { const char *s; size_t n; unsigned line; } bad[] = {
                { S("garbage\n"), 1 }, { S("1:cpu\n"), 1 }, { S("x:cpu:/\n"), 1 }, { S("1:cpu:relative\n"), 1 },
                { S("1:cpu:\n"), 1 }, { S("4294967296:cpu:/\n"), 1 }, { S("0::/\n\n"), 2 }, { S(":cpu:/\n"), 1 },
                { S("0::/\n1:cpu:/a\0b\n"), 2 }, { S("-1:cpu:/\n"), 1 }, { S("0::/\r\n"), 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct cg_member *m = NULL;
                size_t n = 0;
                unsigned line = 0;
                int r = proc_cgroup(bad[i].s, bad[i].n, &m, &n, &line);

                if (bad[i].line == 0) {
                        /* "\r" is a legal cgroup name character: accepted. */
                        cr_assert_eq(r, 0);
                        cg_members_free(m, n);
                        continue;
                }
                cr_assert_eq(r, -EBADMSG, "case %zu accepted", i);
                cr_assert_eq(line, bad[i].line, "case %zu: line %u", i, line);
        }
}

/* ---- cg_resolve ---- */

#define MNT(mp, rt, isv2, so) { .mount_point = (char *)(mp), .root = (char *)(rt), .v2 = (isv2), .super_options = (char *)(so) }
#define MEM(i, c, p) { .id = (i), .controllers = (char *)(c), .path = (char *)(p) }

Test(resolve, v1_wins_over_v2) {
        struct cg_mount m[] = { MNT("/sys/fs/cgroup/unified", "/", true, "rw"),
                                MNT("/sys/fs/cgroup/cpu,cpuacct", "/", false, "rw,cpu,cpuacct") };
        struct cg_member mem[] = { MEM(0, "", "/v2path"), MEM(4, "cpu,cpuacct", "/svc") };
        struct cg_dir d;

        cr_assert_eq(cg_resolve(m, 2, mem, 2, "cpu", &d), 0);
        cr_assert(!d.v2);
        cr_assert_str_eq(d.dir, "/sys/fs/cgroup/cpu,cpuacct/svc");
        cr_assert_str_eq(d.top, "/sys/fs/cgroup/cpu,cpuacct");
        cr_assert_str_eq(d.cgroup_path, "/svc");
        cg_dir_done(&d);
        /* No v1 memory line: the 0:: line and the cgroup2 mount. */
        cr_assert_eq(cg_resolve(m, 2, mem, 2, "memory", &d), 0);
        cr_assert(d.v2);
        cr_assert_str_eq(d.dir, "/sys/fs/cgroup/unified/v2path");
        cg_dir_done(&d);
}

Test(resolve, cpuacct_is_not_cpu) {
        struct cg_mount m[] = { MNT("/sys/fs/cgroup/cpuacct", "/", false, "rw,cpuacct") };
        struct cg_member mem[] = { MEM(2, "cpuacct", "/x") };
        struct cg_dir d;

        cr_assert_eq(cg_resolve(m, 1, mem, 1, "cpu", &d), -ENOENT);
        cr_assert_eq(cg_resolve(m, 1, mem, 0, "cpu", &d), -ENOENT);
        cr_assert_eq(cg_resolve(m, 0, mem, 1, "cpuacct", &d), -ENOENT, "member without mount");
}

Test(resolve, root_prefix_on_boundary) {
        struct cg_mount m[] = { MNT("/a", "/doc", true, "rw"), MNT("/b", "/docker/", true, "rw"),
                                MNT("/c", "/", true, "rw") };
        struct cg_member mem[] = { MEM(0, "", "/docker/abc") };
        struct cg_dir d;

        cr_assert_eq(cg_resolve(m, 3, mem, 1, "cpu", &d), 0);
        cr_assert_str_eq(d.dir, "/b/abc", "\"/doc\" is no prefix of /docker/abc; first match wins");
        cr_assert_str_eq(d.top, "/b");
        cg_dir_done(&d);
}

Test(resolve, nsfs_root_skipped) {
        struct cg_mount m[] = { MNT("/run/netns/x", "net:[4026532518]", true, "rw"),
                                MNT("/sys/fs/cgroup", "/", true, "rw") };
        struct cg_member mem[] = { MEM(0, "", "/svc") };
        struct cg_dir d;

        cr_assert_eq(cg_resolve(m, 2, mem, 1, "cpu", &d), 0);
        cr_assert_str_eq(d.dir, "/sys/fs/cgroup/svc");
        cg_dir_done(&d);
}

Test(resolve, outside_namespace) {
        struct cg_mount m[] = { MNT("/sys/fs/cgroup", "/", true, "rw") };
        struct cg_member out[] = { MEM(0, "", "/../../other/svc") }, out2[] = { MEM(0, "", "/..") },
                         mid[] = { MEM(0, "", "/a/../../etc") }, odd[] = { MEM(0, "", "/..svc/x..") };
        struct cg_dir d;

        cr_assert_eq(cg_resolve(m, 1, out, 1, "cpu", &d), -EXDEV);
        cr_assert_eq(cg_resolve(m, 1, out2, 1, "cpu", &d), -EXDEV);
        cr_assert_eq(cg_resolve(m, 1, mid, 1, "cpu", &d), -EXDEV, "no way out of the cgroupfs");
        cr_assert_eq(cg_resolve(m, 1, odd, 1, "cpu", &d), 0, "\"..svc\" is a name, not \"..\"");
        cr_assert_str_eq(d.dir, "/sys/fs/cgroup/..svc/x..");
        cg_dir_done(&d);
}

/* From fuzz_mountinfo (crash-dotdot-root): in a cgroup namespace, a mount
 * made outside it shows a root with ".." in it; a process in exactly that
 * cgroup resolves to the mount point (only a ".." in the remainder means
 * out of view). The harness had wrongly flagged the mount point. */
Test(resolve, root_outside_namespace_mounted_in) {
        struct cg_mount m[] = { MNT("/mnt/outside", "/../outside/", false, "rw,memory") };
        struct cg_member mem[] = { MEM(3, "memory", "/../outside"), };
        struct cg_member below[] = { MEM(3, "memory", "/../outside/svc") };
        struct cg_dir d;

        cr_assert_eq(cg_resolve(m, 1, mem, 1, "memory", &d), 0);
        cr_assert_str_eq(d.dir, "/mnt/outside");
        cr_assert_str_eq(d.top, "/mnt/outside");
        cg_dir_done(&d);
        cr_assert_eq(cg_resolve(m, 1, below, 1, "memory", &d), 0);
        cr_assert_str_eq(d.dir, "/mnt/outside/svc");
        cg_dir_done(&d);
}

Test(resolve, namespace_root) {
        struct cg_mount m[] = { MNT("/sys/fs/cgroup/", "/", true, "rw") };
        struct cg_member mem[] = { MEM(0, "", "/") };
        struct cg_dir d;

        cr_assert_eq(cg_resolve(m, 1, mem, 1, "memory", &d), 0);
        cr_assert_str_eq(d.dir, "/sys/fs/cgroup");
        cr_assert_str_eq(d.top, "/sys/fs/cgroup");
        cg_dir_done(&d);
        cg_dir_done(&d); /* twice is fine */
}

/* ---- cg_read_limits on fixtures ---- */

static struct cg_limits read_fx(const char *name) {
        struct cg_limits l;

        cr_assert_eq(cg_read_limits(name, 0, &l), 0);
        return l;
}

static void assert_no_errors(const struct cg_limits *l) {
        for (size_t i = 0; i < l->n_errors; i++)
                cr_log_error("%s: %s", l->errors[i].file, l->errors[i].message);
        cr_assert_eq(l->n_errors, 0);
        cr_assert(!l->cpu_error);
        cr_assert(!l->mem_error);
}

static void assert_cpu(const struct cg_limits *l, uint64_t q, uint64_t p, const char *file) {
        cr_assert(l->cpu_limited);
        cr_assert_eq(l->cpu_quota_us, q, "quota %" PRIu64, l->cpu_quota_us);
        cr_assert_eq(l->cpu_period_us, p, "period %" PRIu64, l->cpu_period_us);
        cr_assert_str_eq(l->cpu_file, file);
}

static void assert_leaf(const struct cg_limits *l, uint64_t q, uint64_t p) {
        cr_assert(l->cpu_leaf_limited);
        cr_assert_eq(l->cpu_leaf_quota_us, q);
        cr_assert_eq(l->cpu_leaf_period_us, p);
}

static void assert_mem(const struct cg_limits *l, uint64_t b, const char *file) {
        cr_assert(l->mem_limited);
        cr_assert_eq(l->mem_bytes, b, "bytes %" PRIu64, l->mem_bytes);
        cr_assert_str_eq(l->mem_file, file);
}

/* The error naming file, quoting content. */
static void assert_error(const struct cg_limits *l, const char *file, const char *quoted) {
        for (size_t i = 0; i < l->n_errors; i++)
                if (strcmp(l->errors[i].file, file) == 0) {
                        cr_assert(strstr(l->errors[i].message, quoted), "message %s lacks %s",
                                  l->errors[i].message, quoted);
                        return;
                }
        for (size_t i = 0; i < l->n_errors; i++)
                cr_log_error("%s: %s", l->errors[i].file, l->errors[i].message);
        cr_assert_fail("no error for %s", file);
}

#define CG "/sys/fs/cgroup"

Test(read, v2) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "v2");

        assert_no_errors(&l);
        cr_assert_eq(l.layout, CG_LAYOUT_V2);
        cr_assert_str_eq(cg_layout_to_string(l.layout), "v2");
        cr_assert_str_eq(l.cpu_cgroup, "/app.slice/svc.service");
        cr_assert_str_eq(l.memory_cgroup, "/app.slice/svc.service");
        assert_cpu(&l, 150000, 100000, FX "v2" CG "/app.slice/svc.service/cpu.max");
        assert_leaf(&l, 150000, 100000);
        assert_mem(&l, 536870912, FX "v2" CG "/app.slice/svc.service/memory.max");
        cr_assert(l.high_limited);
        cr_assert_eq(l.high_bytes, 402653184);
        cr_assert_str_eq(l.high_file, FX "v2" CG "/app.slice/svc.service/memory.high");
        cr_assert_eq(l.cpuset_cpus, 2);
        cr_assert_str_eq(l.cpuset_file, FX "v2" CG "/app.slice/svc.service/cpuset.cpus.effective");
}

Test(read, explicit_pid_and_trailing_slash) {
        _cleanup_(cg_limits_done) struct cg_limits l = {};

        cr_assert_eq(cg_read_limits(FX "v2/", 42, &l), 0);
        assert_no_errors(&l);
        assert_cpu(&l, 150000, 100000, FX "v2" CG "/app.slice/svc.service/cpu.max");
}

Test(read, v1) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "v1");

        assert_no_errors(&l);
        cr_assert_eq(l.layout, CG_LAYOUT_V1);
        assert_cpu(&l, 250000, 100000, FX "v1" CG "/cpu,cpuacct/svc/cpu.cfs_quota_us");
        assert_leaf(&l, 250000, 100000);
        cr_assert_eq(l.cpuset_cpus, 5, "effective_cpus 0-3,8 wins over cpus 0-15");
        cr_assert_str_eq(l.cpuset_file, FX "v1" CG "/cpuset/cpuset.effective_cpus");
        assert_mem(&l, 1073741824, FX "v1" CG "/memory/svc/memory.limit_in_bytes");
        cr_assert(!l.high_limited);
}

Test(read, hybrid) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "hybrid");
        const char *mem = FX "hybrid" CG "/memory/process_api/aecd1d9046670e17f03d9be5b0143be8/memory.limit_in_bytes";

        assert_no_errors(&l);
        cr_assert_eq(l.layout, CG_LAYOUT_HYBRID);
        cr_assert_str_eq(l.cpu_cgroup, "/svc");
        assert_cpu(&l, 200000, 100000, FX "hybrid" CG "/cpu/svc/cpu.cfs_quota_us");
        assert_mem(&l, 268435456, mem);
        cr_assert_eq(l.cpuset_cpus, 2);
}

Test(read, nested_v2_parent_cpu_child_memory) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "nested_v2");

        assert_no_errors(&l);
        assert_cpu(&l, 100000, 100000, FX "nested_v2" CG "/parent/cpu.max");
        assert_leaf(&l, 300000, 100000);
        assert_mem(&l, 268435456, FX "nested_v2" CG "/parent/child/memory.max");
        cr_assert(l.high_limited);
        cr_assert_eq(l.high_bytes, 536870912);
        cr_assert_str_eq(l.high_file, FX "nested_v2" CG "/parent/memory.high");
}

Test(read, nested_v1_child_cpu_parent_memory) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "nested_v1");

        assert_no_errors(&l);
        assert_cpu(&l, 50000, 100000, FX "nested_v1" CG "/cpu,cpuacct/parent/child/cpu.cfs_quota_us");
        assert_leaf(&l, 50000, 100000);
        assert_mem(&l, 134217728, FX "nested_v1" CG "/memory/parent/memory.limit_in_bytes");
}

Test(read, cgroup_namespace_root) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "cgroupns");

        assert_no_errors(&l);
        cr_assert_str_eq(l.cpu_cgroup, "/");
        assert_cpu(&l, 200000, 100000, FX "cgroupns" CG "/cpu.max");
        assert_leaf(&l, 200000, 100000);
        assert_mem(&l, 1073741824, FX "cgroupns" CG "/memory.max");
        cr_assert_eq(l.cpuset_cpus, 1);
}

Test(read, bind_mounted_subtree_v1) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "bind_subtree");

        assert_no_errors(&l);
        cr_assert_eq(l.layout, CG_LAYOUT_V1);
        cr_assert_str_eq(l.cpu_cgroup, "/docker/abc/worker");
        assert_cpu(&l, 50000, 100000, FX "bind_subtree" CG "/cpu/cpu.cfs_quota_us");
        assert_leaf(&l, 100000, 100000);
        assert_mem(&l, 536870912, FX "bind_subtree" CG "/memory/memory.limit_in_bytes");
}

Test(read, bind_mounted_subtree_v2) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "bind_subtree_v2");

        assert_no_errors(&l);
        assert_cpu(&l, 250000, 100000, FX "bind_subtree_v2" CG "/ctr/cpu.max");
        assert_mem(&l, 104857600, FX "bind_subtree_v2" CG "/ctr/memory.max");
}

Test(read, docker_v1) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "docker_v1");

        assert_no_errors(&l);
        cr_assert_eq(l.layout, CG_LAYOUT_V1, "a 0:: line without a cgroup2 mount is still v1");
        assert_cpu(&l, 150000, 100000, FX "docker_v1" CG "/cpu,cpuacct/cpu.cfs_quota_us");
        /* The container's own limit is unlimited; the host parent's shows
         * only in hierarchical_memory_limit. */
        assert_mem(&l, 2147483648, FX "docker_v1" CG "/memory/memory.stat");
        cr_assert_eq(l.cpuset_cpus, 2, "cpuset.cpus when effective_cpus is absent");
        cr_assert_str_eq(l.cpuset_file, FX "docker_v1" CG "/cpuset/cpuset.cpus");
}

Test(read, other_periods) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "periods");

        assert_no_errors(&l);
        assert_cpu(&l, 1500000, 1000000, FX "periods" CG "/a/cpu.max");
        assert_leaf(&l, 50000, 25000);
}

Test(read, quota_above_cpu_count) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "big_quota");

        assert_no_errors(&l);
        assert_cpu(&l, 1600000, 100000, FX "big_quota" CG "/svc/cpu.max");
}

Test(read, missing_files_are_no_limit) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "missing_files");

        assert_no_errors(&l);
        cr_assert_eq(l.layout, CG_LAYOUT_V2);
        cr_assert_str_eq(l.cpu_cgroup, "/svc");
        cr_assert(!l.cpu_limited && !l.cpu_leaf_limited && !l.mem_limited && !l.high_limited);
        cr_assert_eq(l.cpuset_cpus, 0);
        cr_assert_null(l.cpu_file);
}

Test(read, no_cgroupfs) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "no_cgroupfs");

        assert_no_errors(&l);
        cr_assert_eq(l.layout, CG_LAYOUT_NONE);
        cr_assert(!l.cpu_limited && !l.mem_limited);
}

Test(read, no_proc) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "no_proc");

        assert_no_errors(&l);
        cr_assert_eq(l.layout, CG_LAYOUT_NONE);
        cr_assert_null(l.cpu_cgroup);
}

/* "No limit known" always says why, in the notes (and so in `limits`
 * and its JSON). */
static void assert_note(const struct cg_limits *l, const char *needle) {
        for (size_t i = 0; i < l->n_notes; i++)
                if (strstr(l->notes[i], needle))
                        return;
        cr_assert_fail("no note with \"%s\" (%zu notes%s%s)", needle, l->n_notes, l->n_notes ? ", first: " : "",
                       l->n_notes ? l->notes[0] : "");
}

Test(read, no_proc_says_why) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "no_proc");

        assert_note(&l, FX "no_proc/proc/self/mountinfo does not exist");
        assert_note(&l, "no limit known");
}

Test(read, no_cgroupfs_says_why) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "no_cgroupfs");

        assert_note(&l, "no cgroup or cgroup2 mount in " FX "no_cgroupfs/proc/self/mountinfo");
}

Test(read, no_proc_cgroup_says_why) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "no_proc_cgroup");

        assert_no_errors(&l);
        cr_assert_eq(l.layout, CG_LAYOUT_V2);
        cr_assert(!l.cpu_limited && !l.mem_limited);
        assert_note(&l, FX "no_proc_cgroup/proc/self/cgroup does not exist");
}

Test(read, outside_every_mount_says_why) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "outside_mounts");

        assert_no_errors(&l);
        cr_assert(!l.cpu_limited && !l.mem_limited);
        cr_assert_null(l.cpu_cgroup);
        assert_note(&l, "cpu cgroup /system.slice/other is outside every cgroup mount of");
        assert_note(&l, "memory cgroup /system.slice/other is outside every cgroup mount of");
}

Test(read, found_limits_have_no_notes) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "v2");

        cr_assert_eq(l.n_notes, 0, "%s", l.n_notes ? l.notes[0] : "");
}

Test(read, nsfs_lines_before_match) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "nsfs");

        assert_no_errors(&l);
        assert_cpu(&l, 100000, 50000, FX "nsfs" CG "/svc/cpu.max");
}

Test(read, outside_namespace_is_a_note) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "outside_ns");

        assert_no_errors(&l);
        cr_assert(!l.cpu_limited && !l.mem_limited, "the namespace root's limit is not ours");
        cr_assert_null(l.cpu_cgroup);
        cr_assert_geq(l.n_notes, 1);
        cr_assert(strstr(l.notes[0], "/../../other.slice/svc"), "%s", l.notes[0]);
}

Test(read, octal_escapes_in_mount_point) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "octal");

        assert_no_errors(&l);
        assert_cpu(&l, 120000, 100000, FX "octal" CG "/my cg\ttab/svc/cpu.max");
        assert_mem(&l, 67108864, FX "octal" CG "/my cg\ttab/svc/memory.max");
}

/* Garbage: each names the file, quotes it, and spoils only its side. */
static void bad_case(const char *name, const char *file, const char *quoted, bool cpu, bool mem) {
        _cleanup_free_ char *root = NULL, *path = NULL;
        _cleanup_(cg_limits_done) struct cg_limits l = {};

        cr_assert(asprintf(&root, FX "%s", name) > 0);
        cr_assert(asprintf(&path, "%s%s", root, file) > 0);
        cr_assert_eq(cg_read_limits(root, 0, &l), 0);
        assert_error(&l, path, quoted);
        cr_assert_eq(l.cpu_error, cpu, "%s: cpu_error", name);
        cr_assert_eq(l.mem_error, mem, "%s: mem_error", name);
}

Test(garbage, cpu_max) {
        bad_case("bad_cpu_max_garbage", CG "/svc/cpu.max", "\"garbage\\n\"", true, false);
        bad_case("bad_cpu_max_three", CG "/svc/cpu.max", "\"100000 100000 1\\n\"", true, false);
        bad_case("bad_cpu_max_one", CG "/svc/cpu.max", "\"500000\\n\"", true, false);
        bad_case("bad_cpu_max_period0", CG "/svc/cpu.max", "\"100000 0\\n\"", true, false);
        bad_case("bad_cpu_max_negative", CG "/svc/cpu.max", "\"-100000 100000\\n\"", true, false);
        bad_case("bad_cpu_max_empty", CG "/svc/cpu.max", "empty file", true, false);
}

Test(garbage, memory) {
        bad_case("bad_memory_max_suffix", CG "/svc/memory.max", "\"512M\\n\"", false, true);
        bad_case("bad_memory_high", CG "/svc/memory.high", "\"-1\\n\"", false, true);
        bad_case("bad_v1_limit", CG "/memory/svc/memory.limit_in_bytes", "\"1g\\n\"", false, true);
        bad_case("bad_memory_stat", CG "/memory/svc/memory.stat", "hierarchical_memory_limit\\n\"", false, true);
}

Test(garbage, v1_cpu) {
        bad_case("bad_v1_quota", CG "/cpu,cpuacct/svc/cpu.cfs_quota_us", "\"-2\\n\"", true, false);
        bad_case("bad_v1_period0", CG "/cpu,cpuacct/svc/cpu.cfs_period_us", "\"0\\n\"", true, false);
        bad_case("bad_v1_period_missing", CG "/cpu,cpuacct/svc/cpu.cfs_period_us", "cpu.cfs_quota_us sets a quota",
                 true, false);
        bad_case("bad_cpuset", CG "/svc/cpuset.cpus.effective", "\"0-3,x\\n\"", true, false);
}

Test(garbage, proc_files_spoil_both) {
        bad_case("bad_mountinfo", "/proc/self/mountinfo", "line 4: \"30 26 0:27 / /sys/fs/cgroup\"", true, true);
        bad_case("bad_cgroup", "/proc/self/cgroup", "line 2: \"this is not a cgroup line\"", true, true);
        bad_case("bad_empty_mountinfo", "/proc/self/mountinfo", "empty file", true, true);
}

Test(garbage, partial_results_kept) {
        _cleanup_(cg_limits_done) struct cg_limits l = read_fx(FX "bad_cpuset");

        cr_assert(l.cpu_error && !l.mem_error);
        assert_mem(&l, 1048576, FX "bad_cpuset" CG "/svc/memory.max");
}

Test(read, quote_is_bounded_and_escaped) {
        char root[] = "/tmp/gorral-cg-XXXXXX", dir[64], path[96], big[4096];
        _cleanup_(cg_limits_done) struct cg_limits l = {};
        FILE *f;

        cr_assert(mkdtemp(root));
        snprintf(dir, sizeof dir, "%s/proc", root);
        cr_assert_eq(mkdir(dir, 0755), 0);
        snprintf(dir, sizeof dir, "%s/proc/self", root);
        cr_assert_eq(mkdir(dir, 0755), 0);
        snprintf(path, sizeof path, "%s/mountinfo", dir);
        f = fopen(path, "we");
        cr_assert(f);
        memset(big, 'A', sizeof big);
        big[0] = '\x01';
        big[1] = '"';
        fwrite(big, 1, sizeof big, f);
        fclose(f);
        cr_assert_eq(cg_read_limits(root, 0, &l), 0);
        cr_assert_eq(l.n_errors, 1);
        cr_assert(strstr(l.errors[0].message, "\"\\x01\\\"AAAA"), "%s", l.errors[0].message);
        cr_assert(strlen(l.errors[0].message) < 300, "bounded: %zu", strlen(l.errors[0].message));
        cr_assert(strstr(l.errors[0].message, "\"..."));
        unlink(path);
        rmdir(dir);
        snprintf(dir, sizeof dir, "%s/proc", root);
        rmdir(dir);
        rmdir(root);
}

Test(read, real_machine) {
        _cleanup_(cg_limits_done) struct cg_limits l = {};

        if (access("/proc/self/cgroup", R_OK) < 0)
                cr_skip_test("/proc/self/cgroup is absent: no cgroups on this kernel or no /proc");
        cr_assert_eq(cg_read_limits(NULL, 0, &l), 0);
        assert_no_errors(&l);
        cr_assert(l.layout == CG_LAYOUT_HYBRID || l.layout == CG_LAYOUT_V1, "layout %s",
                  cg_layout_to_string(l.layout));
        cr_assert_not_null(l.cpu_cgroup);
        cr_assert_not_null(l.memory_cgroup);
        cg_limits_done(&l);
        cr_assert_eq(cg_read_limits("", getpid(), &l), 0, "\"\" is the real root");
        assert_no_errors(&l);
}

Test(read, layout_names) {
        cr_assert_str_eq(cg_layout_to_string(CG_LAYOUT_NONE), "none");
        cr_assert_str_eq(cg_layout_to_string(CG_LAYOUT_V1), "v1");
        cr_assert_str_eq(cg_layout_to_string(CG_LAYOUT_HYBRID), "hybrid");
        cg_limits_done(NULL);
}

/* ---- cg_resolve_kernel against cg_resolve, on this machine ---- */

struct self_view {
        struct cg_mount *m;
        size_t nm;
        struct cg_member *mem;
        size_t nmem;
};

static void self_view_read(struct self_view *v) {
        _cleanup_free_ char *mi = NULL, *cg = NULL;
        size_t mi_n, cg_n;
        unsigned line = 0;

        cr_assert_eq(read_file("/proc/self/mountinfo", GR_READ_MAX, &mi, &mi_n), 0);
        cr_assert_eq(read_file("/proc/self/cgroup", GR_READ_MAX, &cg, &cg_n), 0);
        cr_assert_eq(cg_parse_mountinfo(mi, mi_n, &v->m, &v->nm, &line), 0, "mountinfo line %u", line);
        cr_assert_eq(cg_parse_proc_cgroup(cg, cg_n, &v->mem, &v->nmem, &line), 0, "cgroup line %u", line);
}

static void self_view_done(struct self_view *v) {
        cg_mounts_free(v->m, v->nm);
        cg_members_free(v->mem, v->nmem);
        *v = (struct self_view){};
}

static bool kernel_can_describe(void) {
        char buf[MOUNTDESC_BUF_MAX];
        struct mountdesc d;

        return mountdesc_of_path("/", buf, sizeof buf, &d) != -ENOSYS;
}

/* Where the kernel decides, it decides as mountinfo does (the top may be
 * another mount of the same hierarchy; not on this machine, where each is
 * mounted once). Returns whether it decided. */
static bool same_place(const struct self_view *v, const char *controller) {
        struct cg_dir a = {}, b = {};
        int ra = cg_resolve(v->m, v->nm, v->mem, v->nmem, controller, &a);
        int rb = cg_resolve_kernel(v->mem, v->nmem, controller, &b);

        cr_assert(rb == 0 || rb == -ENOENT || rb == -EAGAIN, "%s: %d", controller ? controller : "v2", rb);
        if (rb == -EAGAIN) {
                cg_dir_done(&a);
                return false;
        }
        cr_assert_eq(rb, ra, "%s: kernel %d, mountinfo %d", controller ? controller : "v2", rb, ra);
        if (rb == 0) {
                cr_assert_eq(b.v2, a.v2);
                cr_assert_str_eq(b.dir, a.dir);
                cr_assert_str_eq(b.top, a.top);
                cr_assert_str_eq(b.cgroup_path, a.cgroup_path);
        }
        cg_dir_done(&a);
        cg_dir_done(&b);
        return true;
}

static const char *const real_controllers[] = { "cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", NULL };

Test(resolve_kernel, real_machine_same_as_mountinfo) {
        struct self_view v = {};
        unsigned decided = 0;

        if (!kernel_can_describe())
                cr_skip_test("statmount(2) is missing (Linux older than 6.8): only mountinfo can place a cgroup");
        self_view_read(&v);
        for (size_t i = 0; i < ELEMENTSOF(real_controllers); i++)
                decided += same_place(&v, real_controllers[i]);
        /* This machine mounts every hierarchy at its conventional place,
         * and its kernel (6.18) reports v1 mount options. */
        cr_assert_eq(decided, ELEMENTSOF(real_controllers), "decided %u", decided);
        self_view_done(&v);
}

Test(resolve_kernel, no_line_no_mount_needed) {
        struct cg_member mem[] = { MEM(3, "memory", "/svc") };
        struct cg_dir d;

        cr_assert_eq(cg_resolve_kernel(mem, 1, "cpu", &d), -ENOENT, "no cpu line and no 0:: line");
        cr_assert_eq(cg_resolve_kernel(mem, 0, "memory", &d), -ENOENT);
}

Test(resolve_kernel, undecided_falls_to_mountinfo) {
        /* Controller lists the conventional place cannot hold, and a
         * hierarchy that is not mounted where its line says. */
        struct cg_member slash[] = { MEM(3, "memory,a/../b", "/svc") };
        struct cg_member absent[] = { MEM(3, "nosuch,memory", "/svc") };
        struct cg_dir d;

        cr_assert_eq(cg_resolve_kernel(slash, 1, "memory", &d), -EAGAIN);
        cr_assert_eq(cg_resolve_kernel(absent, 1, "memory", &d), -EAGAIN);
}

/* A v1 memory and cpu cgroup of this test's own, with limits; the test
 * process moves itself in and back out. */
static char own_mem[128], own_cpu[128], orig_mem[PATH_MAX], orig_cpu[PATH_MAX];

static void write_to(const char *dir, const char *file, const char *value) {
        char path[PATH_MAX];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, file);
        f = fopen(path, "we");
        cr_assert(f, "%s: %s", path, strerror(errno));
        cr_assert(fputs(value, f) >= 0);
        cr_assert_eq(fclose(f), 0, "%s <- %s: %s", path, value, strerror(errno));
}

static bool move_to(const char *dir, pid_t pid) {
        char path[PATH_MAX + 16];
        FILE *f;

        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        f = fopen(path, "we");
        if (!f)
                return false;
        fprintf(f, "%d", (int)pid);
        return fclose(f) == 0;
}

/* Move back to the original cgroups, keeping the test's own. */
static void own_cgroups_leave_keep(void) {
        cr_assert(move_to(orig_mem, getpid()), "back to %s: %s", orig_mem, strerror(errno));
        cr_assert(move_to(orig_cpu, getpid()), "back to %s: %s", orig_cpu, strerror(errno));
}

/* Also at exit, where nothing may assert. */
static void own_cgroups_leave(void) {
        if (orig_mem[0]) {
                (void)move_to(orig_mem, getpid());
                (void)move_to(orig_cpu, getpid());
        }
        if (own_mem[0])
                rmdir(own_mem);
        if (own_cpu[0])
                rmdir(own_cpu);
}

/* The directory of this process's cgroup in a v1 hierarchy mounted at
 * /sys/fs/cgroup/<name> with root "/" (this machine's layout). */
static void own_dir(const struct self_view *v, const char *controller, char *out, size_t n) {
        struct cg_dir d;

        cr_assert_eq(cg_resolve(v->m, v->nm, v->mem, v->nmem, controller, &d), 0, "%s", controller);
        snprintf(out, n, "%s", d.dir);
        cg_dir_done(&d);
}

static bool own_cgroups_enter(void) {
        struct self_view v = {};

        if (geteuid() != 0 || access("/sys/fs/cgroup/memory/cgroup.procs", W_OK) != 0 ||
            access("/sys/fs/cgroup/cpu/cgroup.procs", W_OK) != 0)
                return false;
        self_view_read(&v);
        own_dir(&v, "memory", orig_mem, sizeof orig_mem);
        own_dir(&v, "cpu", orig_cpu, sizeof orig_cpu);
        self_view_done(&v);
        snprintf(own_mem, sizeof own_mem, "/sys/fs/cgroup/memory/test-cgroup-%d", (int)getpid());
        snprintf(own_cpu, sizeof own_cpu, "/sys/fs/cgroup/cpu/test-cgroup-%d", (int)getpid());
        cr_assert_eq(mkdir(own_mem, 0755), 0, "%s: %s", own_mem, strerror(errno));
        cr_assert_eq(mkdir(own_cpu, 0755), 0, "%s: %s", own_cpu, strerror(errno));
        atexit(own_cgroups_leave);
        write_to(own_mem, "memory.limit_in_bytes", "67108864");
        write_to(own_cpu, "cpu.cfs_period_us", "100000");
        write_to(own_cpu, "cpu.cfs_quota_us", "50000");
        cr_assert(move_to(own_mem, getpid()), "into %s: %s", own_mem, strerror(errno));
        cr_assert(move_to(own_cpu, getpid()), "into %s: %s", own_cpu, strerror(errno));
        return true;
}

Test(resolve_kernel, own_cgroup_limits_as_the_full_read, .timeout = 20) {
        _cleanup_(cg_limits_done) struct cg_limits fast = {}, full = {};
        struct self_view v = {};

        if (!kernel_can_describe())
                cr_skip_test("statmount(2) is missing (Linux older than 6.8): only mountinfo can place a cgroup");
        if (!own_cgroups_enter())
                cr_skip_test("needs root and writable v1 memory and cpu hierarchies at /sys/fs/cgroup/{memory,cpu}");
        self_view_read(&v);
        for (size_t i = 0; i < ELEMENTSOF(real_controllers); i++)
                cr_assert(same_place(&v, real_controllers[i]), "%s undecided", real_controllers[i]);
        self_view_done(&v);

        /* The launch path's read (the kernel places the cgroups) and the
         * full one (mountinfo) find the same limits in the same files. */
        cr_assert_eq(cg_read_limits_opt(NULL, 0, NULL, CG_READ_CPU | CG_READ_MEMORY_FAST, &fast), 0);
        cr_assert_eq(cg_read_limits_opt(NULL, 0, NULL, CG_READ_ALL, &full), 0);
        assert_no_errors(&fast);
        cr_assert_eq(fast.layout, CG_LAYOUT_NONE, "mountinfo was not read");
        cr_assert_eq(full.layout, CG_LAYOUT_HYBRID);
        cr_assert(fast.mem_limited && full.mem_limited);
        cr_assert_eq(fast.mem_bytes, 67108864);
        cr_assert_eq(full.mem_bytes, 67108864);
        cr_assert(fast.cpu_limited && full.cpu_limited);
        cr_assert_eq(fast.cpu_quota_us, 50000);
        cr_assert_eq(fast.cpu_period_us, 100000);
        cr_assert_str_eq(fast.cpu_file, full.cpu_file);
        cr_assert_str_eq(fast.cpu_cgroup, full.cpu_cgroup);
        cr_assert_str_eq(fast.memory_cgroup, full.memory_cgroup);
        cr_assert(strstr(fast.mem_file, own_mem) == fast.mem_file, "%s", fast.mem_file);
        own_cgroups_leave();
        own_mem[0] = own_cpu[0] = '\0';
}

/* What a child found, in its own namespace (it cannot move back out of
 * one), inside the test's own cgroups (64 MiB, 0.5 CPU). */
struct child_result {
        int decided_memory; /* cg_resolve_kernel gave 0 for memory */
        int fast_layout;
        bool fast_mem_limited, full_mem_limited, fast_cpu_limited, full_cpu_limited;
        uint64_t fast_mem_bytes, full_mem_bytes;
        size_t fast_notes, notes_in_full;
        char fast_mem_file[256];
};

static void child_read(int fd) {
        struct cg_limits fast = {}, full = {};
        struct child_result res = {};
        struct self_view v = {};
        struct cg_dir d;
        int r;

        self_view_read(&v);
        r = cg_resolve_kernel(v.mem, v.nmem, "memory", &d);
        res.decided_memory = r == 0;
        if (r == 0)
                cg_dir_done(&d);
        self_view_done(&v);
        if (cg_read_limits_opt(NULL, 0, NULL, CG_READ_CPU | CG_READ_MEMORY_FAST, &fast) < 0 ||
            cg_read_limits_opt(NULL, 0, NULL, CG_READ_ALL, &full) < 0)
                _exit(3);
        res.fast_layout = (int)fast.layout;
        res.fast_mem_limited = fast.mem_limited;
        res.full_mem_limited = full.mem_limited;
        res.fast_mem_bytes = fast.mem_bytes;
        res.full_mem_bytes = full.mem_bytes;
        res.fast_cpu_limited = fast.cpu_limited;
        res.full_cpu_limited = full.cpu_limited;
        snprintf(res.fast_mem_file, sizeof res.fast_mem_file, "%s", fast.mem_file ? fast.mem_file : "");
        res.fast_notes = fast.n_notes;
        for (size_t i = 0; i < fast.n_notes; i++)
                for (size_t j = 0; j < full.n_notes; j++)
                        if (strcmp(fast.notes[i], full.notes[j]) == 0) {
                                res.notes_in_full++;
                                break;
                        }
        _exit(write(fd, &res, sizeof res) == sizeof res ? 0 : 4);
}

/* Run setup() and child_read() in a child placed in the test's own
 * cgroups; the parent takes them back down. -1 with *why when the test
 * must be skipped: no cgroups of its own, or setup() failed (it needs what
 * `needs` says). */
static int in_child(int (*setup)(void), const char *needs, struct child_result *res, const char **why) {
        int pfd[2], gate[2], status;
        ssize_t n;
        char go;
        pid_t pid;

        if (!own_cgroups_enter())
                return (*why = "needs root and writable v1 memory and cpu hierarchies at /sys/fs/cgroup/{memory,cpu}"),
                       -1;
        own_cgroups_leave_keep(); /* only the child stays in them */
        cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(gate, O_CLOEXEC), 0);
        pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
                close(gate[1]);
                if (read(gate[0], &go, 1) != 1)
                        _exit(5);
                if (setup() < 0)
                        _exit(6);
                child_read(pfd[1]);
        }
        close(gate[0]);
        cr_assert(move_to(own_mem, pid), "child into %s: %s", own_mem, strerror(errno));
        cr_assert(move_to(own_cpu, pid), "child into %s: %s", own_cpu, strerror(errno));
        cr_assert_eq(write(gate[1], "g", 1), 1);
        close(gate[1]);
        close(pfd[1]);
        n = read(pfd[0], res, sizeof *res);
        close(pfd[0]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        own_cgroups_leave();
        own_mem[0] = own_cpu[0] = '\0';
        if (WIFEXITED(status) && WEXITSTATUS(status) == 6)
                return (*why = needs), -1;
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
        cr_assert_eq(n, (ssize_t)sizeof *res);
        return 0;
}

static int enter_cgroup_namespace(void) {
        return unshare(CLONE_NEWCGROUP);
}

/* In a cgroup namespace of its own, the process's cgroups are "/" while
 * the mounts, made outside, have roots above it ("/.."): the kernel's view
 * cannot place them, and the launch read takes mountinfo's word, notes
 * included. */
Test(resolve_kernel, cgroup_namespace_defers_to_mountinfo, .timeout = 20) {
        struct child_result res;
        const char *why = NULL;

        if (!kernel_can_describe())
                cr_skip_test("statmount(2) is missing (Linux older than 6.8): only mountinfo can place a cgroup");
        if (in_child(enter_cgroup_namespace, "unshare(CLONE_NEWCGROUP) failed: needs CAP_SYS_ADMIN", &res, &why) < 0)
                cr_skip_test("%s", why);
        cr_assert_eq(res.decided_memory, 0, "a root of \"/..\" is not the kernel's to place");
        cr_assert_eq(res.fast_layout, CG_LAYOUT_HYBRID, "mountinfo was read");
        cr_assert_eq(res.fast_mem_limited, res.full_mem_limited);
        cr_assert_eq(res.fast_cpu_limited, res.full_cpu_limited);
        cr_assert(res.fast_notes > 0, "the namespace's cgroups are outside every mount: a note says so");
        cr_assert_eq(res.notes_in_full, res.fast_notes, "every note of the launch read is the full read's");
}

/* The memory hierarchy mounted somewhere else, and the usual place left
 * an empty tmpfs directory (a private mount namespace): the kernel says
 * that is no cgroup mount, and mountinfo finds the real one. */
static char elsewhere[64];

static int move_memory_hierarchy(void) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -1;
        if (umount2("/sys/fs/cgroup/memory", MNT_DETACH) < 0)
                return -1;
        return mount("cgroup", elsewhere, "cgroup", 0, "memory");
}

Test(resolve_kernel, hierarchy_mounted_elsewhere, .timeout = 20) {
        struct child_result res;
        const char *why = NULL;
        int r;

        if (!kernel_can_describe())
                cr_skip_test("statmount(2) is missing (Linux older than 6.8): only mountinfo can place a cgroup");
        snprintf(elsewhere, sizeof elsewhere, "/tmp/gorral-test-memcg-%d", (int)getpid());
        cr_assert_eq(mkdir(elsewhere, 0755), 0, "%s: %s", elsewhere, strerror(errno));
        r = in_child(move_memory_hierarchy, "a private mount namespace and a cgroup mount: needs CAP_SYS_ADMIN", &res,
                     &why);
        rmdir(elsewhere);
        if (r < 0)
                cr_skip_test("%s", why);
        cr_assert_eq(res.decided_memory, 0, "a tmpfs directory is not the hierarchy");
        cr_assert(res.fast_mem_limited, "the limit is found where the hierarchy is");
        cr_assert_eq(res.fast_mem_bytes, 67108864);
        cr_assert_eq(res.full_mem_bytes, 67108864);
        cr_assert(strncmp(res.fast_mem_file, elsewhere, strlen(elsewhere)) == 0, "read from %s", res.fast_mem_file);
        cr_assert_eq(res.fast_cpu_limited, res.full_cpu_limited);
}
