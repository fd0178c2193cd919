/* Fuzz config_parse(): YAML bytes in, a config or errors out; never a
 * crash, a leak or unbounded memory. Files the config names are served by
 * a stub (no file system access): any path ending in ".env" gets a small
 * env file, /r/etc/passwd and /r/etc/group fixed contents. Checks the
 * contract: 0 means no errors and a well-formed config; -EINVAL means at
 * least one error. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int stub_read(void *userdata, const char *path, size_t max, char **ret, size_t *ret_len) {
        const char *text = NULL;
        size_t n = strlen(path);

        (void)userdata;
        (void)max;
        if (strcmp(path, "/r/etc/passwd") == 0)
                text = "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n";
        else if (strcmp(path, "/r/etc/group") == 0)
                text = "root:x:0:\nweb:x:1001:app\n";
        else if (n >= 4 && strcmp(path + n - 4, ".env") == 0)
                text = "A=1\nB=\"two\"\n";
        else if (n >= 4 && strcmp(path + n - 4, ".bad") == 0)
                text = "A=1\nbroken\n";
        if (!text)
                return -ENOENT;
        *ret = strdup(text);
        if (!*ret)
                return -ENOMEM;
        if (ret_len)
                *ret_len = strlen(text);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char *env[] = { "HOME=/root", "PORT=8080", "EMPTY=", NULL };
        static FILE *devnull;
        struct config_context ctx = { .environ = env, .root = "/r", .host_cpus = 4,
                                      .host_memory_bytes = 1ULL << 30, .read_file = stub_read };
        struct config_diags d = { 0 };
        struct config *c = NULL;
        int r;

        if (!devnull)
                devnull = fopen("/dev/null", "we");
        r = config_parse((const char *)data, size, "/cfg/fuzz.yaml", &ctx, &c, &d);
        if (r == 0) {
                if (!c || d.n_errors != 0 || c->n_services == 0 || c->n_services > CONFIG_MAX_SERVICES)
                        abort();
                for (size_t i = 0; i < c->n_services; i++) {
                        const struct config_service *s = &c->services[i];
                        bool only;

                        if (!s->name || !s->argv || !s->argv[0] || !s->env || s->jitter_pct > 100 ||
                            s->backoff_max_usec < s->backoff_initial_usec)
                                abort();
                        for (size_t j = 0; j < s->n_deps; j++)
                                if (!config_find_service(c, s->deps[j].name))
                                        abort();
                        if (config_service_equal(s, s, &only) != 1)
                                abort();
                }
        } else if (r == -EINVAL) {
                if (c || d.n_errors == 0)
                        abort();
        } else if (r != -ENOMEM)
                abort();
        if (d.n > CONFIG_MAX_DIAGS + 1)
                abort();
        if (devnull)
                config_diags_print(devnull, &d);
        config_free(c);
        config_diags_done(&d);
        return 0;
}
