/* Fuzz mountdesc_parse (a statmount(2) reply), then place a cgroup path on
 * the mount it describes with cg_resolve, checking that every string lies
 * within the reply and that a resolved directory never leaves its mount
 * point. Seeds are this machine's replies for /proc and its cgroup mounts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/cgroup.h"
#include "gorral/mountdesc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void within(const char *s, const uint8_t *buf, size_t n) {
        const uint8_t *p = (const uint8_t *)s;

        if (p < buf || p >= buf + n || !memchr(p, '\0', (size_t)(buf + n - p)))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct cg_member mem[] = {
                { 3, (char *)"memory", (char *)"/docker/abc/worker" },
                { 0, (char *)"", (char *)"/kubepods/pod1/ctr" },
        };
        uint8_t *buf = malloc(size ? size : 1);
        struct mountdesc d;
        struct cg_mount m;
        struct cg_dir dir;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        if (mountdesc_parse(buf, size, &d) == 0) {
                within(d.fs_type, buf, size);
                within(d.root, buf, size);
                within(d.mount_point, buf, size);
                if (d.options[0])
                        within(d.options, buf, size);
                m = (struct cg_mount){ .mount_point = (char *)d.mount_point, .root = (char *)d.root,
                                       .v2 = strcmp(d.fs_type, "cgroup2") == 0,
                                       .super_options = (char *)d.options };
                for (int c = 0; c < 2; c++)
                        if (cg_resolve(&m, 1, mem, 2, c ? "memory" : NULL, &dir) == 0) {
                                size_t tl = strlen(dir.top);
                                const char *s = dir.dir + tl;

                                if (strncmp(dir.dir, dir.top, tl) != 0)
                                        abort();
                                while ((s = strstr(s, "/..")))
                                        if (s[3] == '\0' || s[3] == '/')
                                                abort();
                                        else
                                                s += 3;
                                cg_dir_done(&dir);
                        }
        }
        free(buf);
        return 0;
}
