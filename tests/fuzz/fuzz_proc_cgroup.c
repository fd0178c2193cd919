/* Fuzz cg_parse_proc_cgroup, then resolve the parsed membership against a
 * fixed hybrid mount table (nsfs line, bind-mounted subtree, cgroup2). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const controllers[] = { "cpu", "memory", "cpuset", "name=systemd", "" };
        struct cg_mount m[] = {
                { (char *)"/run/netns/x", (char *)"net:[4026532518]", true, (char *)"rw" },
                { (char *)"/sys/fs/cgroup/cpu,cpuacct", (char *)"/docker/abc", false, (char *)"rw,cpu,cpuacct" },
                { (char *)"/sys/fs/cgroup/memory", (char *)"/", false, (char *)"rw,memory" },
                { (char *)"/sys/fs/cgroup/unified/", (char *)"/", true, (char *)"rw" },
        };
        struct cg_member *mem = NULL;
        size_t n = 0;
        unsigned line = 0;

        if (cg_parse_proc_cgroup((const char *)data, size, &mem, &n, &line) < 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!mem[i].controllers || !mem[i].path || mem[i].path[0] != '/')
                        abort();
        for (size_t c = 0; c < sizeof controllers / sizeof *controllers; c++) {
                struct cg_dir d;
                int r = cg_resolve(m, 4, mem, n, controllers[c], &d);

                if (r == 0) {
                        size_t tl = strlen(d.top);

                        if (strncmp(d.dir, d.top, tl) != 0 || strstr(d.dir, "/../"))
                                abort();
                        cg_dir_done(&d);
                } else if (r != -ENOENT && r != -EXDEV)
                        abort();
        }
        cg_members_free(mem, n);
        return 0;
}
