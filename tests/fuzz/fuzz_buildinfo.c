/* Fuzz the ELF .go.buildinfo parser and everything that reads its result
 * (settings, deps, the version and GOMAXPROCS rules), and the Go string
 * unquoting on the raw input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/buildinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct go_buildinfo b = {};
        struct go_build_setting *s = NULL;
        struct go_module *m = NULL;
        size_t n = 0;
        char *v = NULL;
        unsigned ma, mi, pa;

        if (go_unquote((const char *)data, size, &v) == 0)
                free(v);
        if (buildinfo_parse(data, size, &b) < 0)
                return 0;
        if (!b.go_version || !b.modinfo || strlen(b.go_version) == 0)
                abort();
        (void)go_version_parse(b.go_version, &ma, &mi, &pa);
        (void)buildinfo_runtime_sizes_gomaxprocs(&b);
        if (buildinfo_settings(&b, &s, &n) == 0)
                buildinfo_settings_free(s, n);
        if (buildinfo_deps(&b, &m, &n) == 0)
                buildinfo_deps_free(m, n);
        if (buildinfo_setting(&b, "GOOS", &v) == 0)
                free(v);
        buildinfo_done(&b);
        return 0;
}
