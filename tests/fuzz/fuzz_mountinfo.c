/* Fuzz cg_parse_mountinfo, then place three controllers with cg_resolve
 * against a fixed membership, checking that a resolved directory never
 * leaves its mount point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The part cg_resolve appended to the mount point must not climb out of
 * it (the mount point itself is the kernel's, and may be anything). */
static void check_dir(const struct cg_dir *d) {
        size_t tl = strlen(d->top);
        const char *rem = d->dir + (tl > 1 ? tl : 0);

        if (d->dir[0] != '/' || d->top[0] != '/' || strncmp(d->dir, d->top, tl) != 0)
                abort();
        if (rem[0] != '\0' && rem[0] != '/')
                abort();
        for (const char *s = rem; (s = strstr(s, "/..")); s += 3)
                if (s[3] == '\0' || s[3] == '/')
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const controllers[] = { "cpu", "memory", "cpuset" };
        struct cg_member mem[] = {
                { 4, (char *)"cpu,cpuacct", (char *)"/docker/abc/worker" },
                { 3, (char *)"memory", (char *)"/../outside" },
                { 0, (char *)"", (char *)"/kubepods/pod1/ctr" },
        };
        struct cg_mount *m = NULL;
        size_t n = 0;
        unsigned line = 0;

        if (cg_parse_mountinfo((const char *)data, size, &m, &n, &line) < 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!m[i].root || !m[i].mount_point || m[i].mount_point[0] != '/' || !m[i].super_options)
                        abort();
        for (size_t c = 0; c < 3; c++) {
                struct cg_dir d;

                if (cg_resolve(m, n, mem, 3, controllers[c], &d) == 0) {
                        check_dir(&d);
                        cg_dir_done(&d);
                }
        }
        cg_mounts_free(m, n);
        return 0;
}
