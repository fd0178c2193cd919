/* Fuzz cg_parse_kv (memory.stat, cpu.stat): the whole file is validated,
 * so whether it is malformed cannot depend on the key asked for. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "gorral/cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const keys[] = { "hierarchical_memory_limit", "nr_throttled", "a", "" };
        const char *s = (const char *)data;
        uint64_t v;
        int first = cg_parse_kv(s, size, keys[0], &v);

        for (size_t i = 1; i < sizeof keys / sizeof *keys; i++) {
                int r = cg_parse_kv(s, size, keys[i], &v);

                if ((r == -EBADMSG) != (first == -EBADMSG))
                        abort();
                if (r != 0 && r != -ENOENT && r != -EBADMSG)
                        abort();
        }
        return 0;
}
