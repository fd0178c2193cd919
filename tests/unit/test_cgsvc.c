/* Unit tests for cgsvc.h on the fixture trees of tests/fixtures/cgsvc/
 * (pure v2 with controllers and v1 without cgroup2, which this machine
 * lacks), copied to a temporary directory since cgsvc writes into them.
 * Real cgroups: tests/integration/test_cgsvc.sh. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gorral/cgroup.h"
#include "gorral/cgsvc.h"
#include "gorral/util.h"

#define FX FIXTURES "/cgsvc/"

static char tmp[64];

/* A private copy of fixture name; returns the sysroot. */
static const char *copy_fx(const char *name) {
        char cmd[512];

        snprintf(tmp, sizeof tmp, "/tmp/gorral-cgsvc-XXXXXX");
        cr_assert_not_null(mkdtemp(tmp));
        snprintf(cmd, sizeof cmd, "cp -a '" FX "%s/.' '%s/'", name, tmp);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
        return tmp;
}

static void rm_tmp(void) {
        char cmd[128];

        if (tmp[0]) {
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
                (void)!system(cmd);
        }
}

static char *slurp(const char *root, const char *path) {
        char *p, *buf;
        size_t n;

        cr_assert(asprintf(&p, "%s%s", root, path) > 0);
        cr_assert_geq(read_file(p, 4096, &buf, &n), 0, "%s", p);
        free(p);
        return buf;
}

static bool has_note(struct cgsvc_host *h, const char *needle) {
        const char *const *notes;
        size_t n = cgsvc_host_notes(h, &notes);

        for (size_t i = 0; i < n; i++)
                if (strstr(notes[i], needle))
                        return true;
        return false;
}

#define V2 "/sys/fs/cgroup/ctr"
#define CPU1 "/sys/fs/cgroup/cpu,cpuacct/docker/abc"
#define MEM1 "/sys/fs/cgroup/memory/docker/abc"
#define FRZ1 "/sys/fs/cgroup/freezer/docker/abc"

/* A service asking for 4 CPUs and 2 GiB in a container of 2 and 512 MiB. */
static const struct cgsvc_resources greedy = {
        .has_cpu = true, .cpu_quota_us = 400000, .cpu_period_us = 100000,
        .has_memory = true, .memory_bytes = 2147483648,
};

Test(cgsvc, pure_v2_enables_controllers_and_writes_limits, .fini = rm_tmp) {
        const char *root = copy_fx("v2");
        struct cgsvc_host *h = NULL;
        struct cgsvc *c = NULL;
        char *reason = NULL, *err = NULL;
        const int *fds;
        size_t nfds;

        cr_assert_eq(cgsvc_host_open(root, &h, &reason), 0);
        cr_assert(cgsvc_host_enabled(h), "%s", reason);
        cr_assert_null(reason);
        cr_assert_eq(cgsvc_host_controllers(h), CGSVC_CTRL_CPU | CGSVC_CTRL_MEMORY);
        cr_assert_str_eq(cgsvc_host_describe(h), "v2 (cgroup.kill cpu memory pids) in " V2 "/gorral");
        /* The tree's gorral/ is an unlocked leftover: taken over. */
        cr_assert(has_note(h, "leftover " V2 "/gorral of an earlier gorral"));

        /* One write each, every available controller of the three. */
        char *own_st = slurp(root, V2 "/cgroup.subtree_control"), *inst_st = slurp(root, V2 "/gorral/cgroup.subtree_control");
        cr_assert_str_eq(own_st, "+cpu +memory +pids");
        cr_assert_str_eq(inst_st, "+cpu +memory +pids");
        free(own_st), free(inst_st);

        cr_assert_eq(cgsvc_create(h, "api", &greedy, &c, &err), 0, "%s", err ? err : "");
        cr_assert_str_eq(cgsvc_subpath(c), "gorral/api");
        cr_assert_str_eq(cgsvc_path(c), V2 "/gorral/api");
        char *cpu = slurp(root, V2 "/gorral/api/cpu.max"), *mem = slurp(root, V2 "/gorral/api/memory.max");
        cr_assert_str_eq(cpu, "400000 100000");
        cr_assert_str_eq(mem, "2147483648");
        free(cpu), free(mem);
        cr_assert_eq(cgsvc_procs_fds(c, &fds, &nfds), 0);
        cr_assert_eq(nfds, 1, "one hierarchy on pure v2");
        cr_assert_geq(fds[0], 0);
        cr_assert(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
        cr_assert_eq(fcntl(fds[0], F_GETFL) & O_ACCMODE, O_WRONLY);
        cr_assert_geq(cgsvc_events_fd(c), 0);
        cr_assert(fcntl(cgsvc_events_fd(c), F_GETFD) & FD_CLOEXEC);
        cr_assert_eq(cgsvc_populated(c), 0, "cgroup.events says populated 0");

        /* What the service gets: the container's, not what it asked for. */
        struct cg_limits l;
        cr_assert_eq(cg_read_limits_sub(root, 0, cgsvc_subpath(c), &l), 0);
        cr_assert_eq(l.n_errors, 0);
        cr_assert(l.cpu_limited && l.mem_limited);
        cr_assert_eq(l.cpu_quota_us, 200000);
        cr_assert_eq(l.cpu_period_us, 100000);
        cr_assert(strstr(l.cpu_file, V2 "/cpu.max") && !strstr(l.cpu_file, "/gorral/"), "%s", l.cpu_file);
        cr_assert(l.cpu_leaf_limited && l.cpu_leaf_quota_us == 400000, "the leaf is the service's own");
        cr_assert_eq(l.mem_bytes, 536870912);
        cr_assert_str_eq(l.cpu_cgroup, "/ctr/gorral/api");
        cg_limits_done(&l);

        /* A service asking for less gets its own. */
        struct cgsvc_resources small = { .has_cpu = true, .cpu_quota_us = 50000, .has_memory = true,
                                         .memory_bytes = 134217728 };
        cr_assert_eq(cgsvc_update(c, &small, NULL), 0);
        cr_assert_eq(cg_read_limits_sub(root, 0, "gorral/api", &l), 0);
        cr_assert_eq(l.cpu_quota_us, 50000);
        cr_assert_eq(l.cpu_period_us, 100000, "period 0 means 100000");
        cr_assert_eq(l.mem_bytes, 134217728);
        cr_assert(strstr(l.mem_file, "/gorral/api/memory.max"));
        cg_limits_done(&l);

        /* Dropping a limit writes "max". */
        struct cgsvc_resources nolimit = {};
        cr_assert_eq(cgsvc_update(c, &nolimit, NULL), 0);
        cpu = slurp(root, V2 "/gorral/api/cpu.max");
        cr_assert_eq(strncmp(cpu, "max 100000", 10), 0, "%s", cpu);
        free(cpu);

        /* A sysroot's pids are not ours: nothing is ever signalled. */
        cr_assert_eq(cgsvc_signal(c, SIGTERM), -EPERM);
        cr_assert_eq(cgsvc_kill(c), -EPERM);

        cgsvc_free(c);
        cgsvc_host_free(h);
}

Test(cgsvc, pure_v1_direct_writes, .fini = rm_tmp) {
        const char *root = copy_fx("v1");
        struct cgsvc_host *h = NULL;
        struct cgsvc *c = NULL;
        char *reason = NULL, *err = NULL;
        const int *fds;
        size_t nfds;

        cr_assert_eq(cgsvc_host_open(root, &h, &reason), 0);
        cr_assert(cgsvc_host_enabled(h), "%s", reason);
        cr_assert_str_eq(cgsvc_host_describe(h),
                         "v1 via direct writes (cpu memory freezer) in " CPU1 "/gorral, no cgroup2 tree (freezer+kill)");
        cr_assert_eq(cgsvc_create(h, "api", &greedy, &c, &err), 0, "%s", err ? err : "");
        cr_assert_eq(cgsvc_procs_fds(c, &fds, &nfds), 0);
        cr_assert_eq(nfds, 3, "cpu, memory, freezer");
        cr_assert_eq(cgsvc_events_fd(c), -1, "no cgroup.events on v1");
        cr_assert_eq(cgsvc_populated(c), 0, "read from cgroup.procs");
        char *q = slurp(root, CPU1 "/gorral/api/cpu.cfs_quota_us"), *p = slurp(root, CPU1 "/gorral/api/cpu.cfs_period_us"),
             *m = slurp(root, MEM1 "/gorral/api/memory.limit_in_bytes");
        /* A taken-over cgroup: quota -1 first, then the period, then the
         * quota (each write is checked against the parent). */
        cr_assert_str_eq(q, "400000");
        cr_assert_str_eq(p, "100000");
        cr_assert_str_eq(m, "2147483648");
        free(q), free(p), free(m);

        struct cg_limits l;
        cr_assert_eq(cg_read_limits_sub(root, 0, cgsvc_subpath(c), &l), 0);
        cr_assert_eq(l.n_errors, 0, "%s", l.n_errors ? l.errors[0].message : "");
        cr_assert_eq(l.layout, CG_LAYOUT_V1);
        cr_assert_eq(l.cpu_quota_us, 200000, "the container's 2 CPUs, not the 4 asked for");
        cr_assert(strstr(l.cpu_file, CPU1 "/cpu.cfs_quota_us"), "%s", l.cpu_file);
        cr_assert_eq(l.mem_bytes, 536870912);
        cr_assert(strstr(l.mem_file, MEM1 "/memory.limit_in_bytes"), "%s", l.mem_file);
        cr_assert_str_eq(l.memory_cgroup, "/docker/abc/gorral/api");
        cg_limits_done(&l);

        /* Dropping the CPU limit, keeping a memory limit: both written. */
        struct cgsvc_resources memonly = { .has_memory = true, .memory_bytes = 268435456 };
        cr_assert_eq(cgsvc_update(c, &memonly, NULL), 0);
        q = slurp(root, CPU1 "/gorral/api/cpu.cfs_quota_us");
        m = slurp(root, MEM1 "/gorral/api/memory.limit_in_bytes");
        cr_assert_str_eq(q, "-1");
        cr_assert_str_eq(m, "268435456");
        free(q), free(m);

        /* A pid in the cgroup: populated, and creating it again is refused. */
        FILE *f;
        char *procs;
        cr_assert(asprintf(&procs, "%s" FRZ1 "/gorral/api/cgroup.procs", root) > 0);
        cr_assert_not_null(f = fopen(procs, "w"));
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
        cr_assert_eq(cgsvc_populated(c), 1);
        struct cgsvc *again = NULL;
        cr_assert_eq(cgsvc_create(h, "api", &greedy, &again, NULL), -EBUSY);
        cr_assert_eq(cgsvc_destroy(c), -EBUSY, "never removed while populated");
        free(procs);
        cgsvc_free(c);
        cgsvc_host_free(h);
}

Test(cgsvc, subpaths, .fini = rm_tmp) {
        const char *root = copy_fx("v2");
        struct cg_limits l;

        /* Leading ".." climbs (gorral moved into _gorral on v2). */
        cr_assert_eq(cg_read_limits_sub(root, 0, "../ctr/gorral/api", &l), 0);
        cr_assert_str_eq(l.cpu_cgroup, "/ctr/gorral/api");
        cr_assert_eq(l.cpu_quota_us, 200000);
        cg_limits_done(&l);

        /* Above the mount, absolute, ".." after a name: a note, no limit. */
        static const char *const bad[] = { "../../x", "/ctr/gorral", "gorral/../x" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                cr_assert_eq(cg_read_limits_sub(root, 0, bad[i], &l), 0);
                cr_assert(!l.cpu_limited && !l.mem_limited, "%s", bad[i]);
                cr_assert_geq(l.n_notes, 1);
                cr_assert(strstr(l.notes[0], bad[i]), "%s", l.notes[0]);
                cg_limits_done(&l);
        }

        /* A level that does not exist: the nearest one that does, noted. */
        cr_assert_eq(cg_read_limits_sub(root, 0, "gorral/nosuch", &l), 0);
        cr_assert_str_eq(l.cpu_cgroup, "/ctr/gorral");
        cr_assert_eq(l.cpu_quota_us, 200000);
        cr_assert(!l.cpu_leaf_limited, "gorral/ has no quota of its own");
        cr_assert(l.n_notes >= 1 && strstr(l.notes[0], "no cgroup of its own"), "%s", l.n_notes ? l.notes[0] : "");
        cg_limits_done(&l);
}

Test(cgsvc, disabled_hosts_say_why_once) {
        static const char *const names[] = { "none", "missing" };
        static const char *const why[] = { "no cgroup hierarchy", "cannot create cgroups: mkdir" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char root[256];
                struct cgsvc_host *h = NULL;
                struct cgsvc *c = NULL;
                char *reason = NULL;

                snprintf(root, sizeof root, FX "%s", names[i]);
                cr_assert_eq(cgsvc_host_open(root, &h, &reason), 0);
                cr_assert_not(cgsvc_host_enabled(h));
                cr_assert_not_null(reason, "%s", names[i]);
                cr_assert(strstr(reason, why[i]), "%s: %s", names[i], reason);
                cr_assert(strstr(reason, "services run in gorral's own cgroup"), "%s", reason);
                cr_assert(strstr(cgsvc_host_describe(h), "disabled: "));
                cr_assert_eq(cgsvc_host_controllers(h), 0);
                cr_assert_eq(cgsvc_create(h, "api", NULL, &c, NULL), -ENOTSUP);
                free(reason);
                cgsvc_host_free(h);
        }
        /* No /proc at all. */
        struct cgsvc_host *h = NULL;
        char *reason = NULL;
        cr_assert_eq(cgsvc_host_open(FIXTURES "/cgroup/no_proc", &h, &reason), 0);
        cr_assert_not(cgsvc_host_enabled(h));
        cr_assert(reason && strstr(reason, "mountinfo"), "%s", reason);
        free(reason);
        cgsvc_host_free(h);
}

Test(cgsvc, names) {
        cr_assert(cgsvc_name_valid("api"));
        cr_assert(cgsvc_name_valid("worker-2_b"));
        cr_assert(cgsvc_name_valid("9lives"));
        static const char *const bad[] = { "", "_gorral", "-x", "cpu.max", "a/b", "..", "a b", "é" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_not(cgsvc_name_valid(bad[i]), "%s", bad[i]);
        char longest[CGSVC_NAME_MAX + 2];
        memset(longest, 'a', sizeof longest);
        longest[CGSVC_NAME_MAX] = '\0';
        cr_assert(cgsvc_name_valid(longest));
        longest[CGSVC_NAME_MAX] = 'a';
        longest[CGSVC_NAME_MAX + 1] = '\0';
        cr_assert_not(cgsvc_name_valid(longest));
}

Test(cgsvc, parse_events) {
        int pop, frz;

        cr_assert_eq(cgsvc_parse_events("populated 1\nfrozen 0\n", 21, &pop, &frz), 0);
        cr_assert(pop == 1 && frz == 0);
        cr_assert_eq(cgsvc_parse_events("populated 0\n", 12, &pop, &frz), 0);
        cr_assert(pop == 0 && frz == -1, "frozen is absent before 5.2");
        cr_assert_eq(cgsvc_parse_events("frozen 1\npopulated 0", 20, &pop, &frz), 0);
        cr_assert(pop == 0 && frz == 1);
        static const char *const bad[] = { "", "frozen 0\n", "populated\n", "populated 2\n", "populated  1\n",
                                           " populated 1\n", "populated 1\r\n", "populated x\n" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert_eq(cgsvc_parse_events(bad[i], strlen(bad[i]), &pop, &frz), -EBADMSG, "%s", bad[i]);
        cr_assert_eq(cgsvc_parse_events("populated 1\0", 12, &pop, &frz), -EBADMSG, "NUL byte");
}
