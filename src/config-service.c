/* config-service.c: a service's settings as an owned value. See config.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/config.h"
#include "gorral/util.h"

#include <unistd.h>

void config_context_host(struct config_context *ctx, char *const *environ_) {
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE), cpus = sysconf(_SC_NPROCESSORS_ONLN);

        *ctx = (struct config_context){ .environ = environ_, .root = "/" };
        if (pages > 0 && psize > 0)
                ctx->host_memory_bytes = (uint64_t)pages * (uint64_t)psize;
        if (cpus > 0)
                ctx->host_cpus = (unsigned)cpus;
}

void config_service_defaults(struct config_service *s) {
        *s = (struct config_service){
                .restart = 0, /* SERVICE_RESTART_NO */
                .backoff_initial_usec = 100 * 1000ULL,
                .backoff_max_usec = 30 * 1000000ULL,
                .jitter_pct = 20,
                .restart_budget = 5,
                .restart_window_usec = 60 * 1000000ULL,
                .start_grace_usec = 1000000ULL,
                .stop_signal = SIGTERM,
                .stop_timeout_usec = 10 * 1000000ULL,
                .gomaxprocs_mode = CONFIG_GO_AUTO,
                .gomemlimit_mode = CONFIG_GO_AUTO,
                .rounding = 0, /* LIMITS_ROUND_CEIL */
                .min_procs = 2,
                .mem_ratio_ppm = 900000,
                .ready_interval_usec = 1000000ULL,
                .ready_timeout_usec = 30 * 1000000ULL,
                .sample_interval_usec = 5 * 1000000ULL,
                .dump_keep = 5,
        };
        detect_config_init(&s->detect);
}

static int str_copy(const char *src, char **ret) {
        *ret = src ? strdup(src) : NULL;
        return src && !*ret ? -ENOMEM : 0;
}

void config_service_done(struct config_service *s) {
        if (!s)
                return;
        free(s->name);
        strv_free(s->argv);
        free(s->env); /* one block: strv_pack */
        free(s->working_dir);
        free(s->groups);
        free(s->ready_tcp);
        strv_free(s->ready_exec);
        for (size_t i = 0; i < s->n_deps; i++)
                free(s->deps[i].name);
        free(s->deps);
        free(s->metrics_url);
        free(s->pprof_url);
        free(s->scrape_socket);
        *s = (struct config_service){ 0 };
}

int config_service_copy(struct config_service *dst, const struct config_service *src) {
        struct config_service c = *src;

        c.name = NULL;
        c.argv = c.env = c.ready_exec = NULL;
        c.working_dir = c.ready_tcp = NULL;
        c.metrics_url = c.pprof_url = c.scrape_socket = NULL;
        c.groups = NULL;
        c.deps = NULL;
        c.n_deps = 0;
        if (str_copy(src->name, &c.name) < 0 || strv_copy(src->argv, &c.argv) < 0 ||
            strv_pack(src->env, &c.env) < 0 || str_copy(src->working_dir, &c.working_dir) < 0 ||
            str_copy(src->ready_tcp, &c.ready_tcp) < 0 || strv_copy(src->ready_exec, &c.ready_exec) < 0 ||
            str_copy(src->metrics_url, &c.metrics_url) < 0 || str_copy(src->pprof_url, &c.pprof_url) < 0 ||
            str_copy(src->scrape_socket, &c.scrape_socket) < 0)
                goto oom;
        if (src->n_groups) {
                c.groups = malloc(src->n_groups * sizeof *c.groups);
                if (!c.groups)
                        goto oom;
                memcpy(c.groups, src->groups, src->n_groups * sizeof *c.groups);
        }
        if (src->n_deps) {
                c.deps = calloc(src->n_deps, sizeof *c.deps);
                if (!c.deps)
                        goto oom;
                for (size_t i = 0; i < src->n_deps; i++) {
                        c.deps[i] = src->deps[i];
                        if (!(c.deps[i].name = strdup(src->deps[i].name))) {
                                c.n_deps = i;
                                goto oom;
                        }
                }
                c.n_deps = src->n_deps;
        }
        *dst = c;
        return 0;
oom:
        config_service_done(&c);
        return -ENOMEM;
}
