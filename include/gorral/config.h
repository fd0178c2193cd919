/* config.h: PROVISIONAL (integrator's copy of the agreed shape; the
 * loader lands from the config branch). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum config_probe { CONFIG_PROBE_NONE, CONFIG_PROBE_TCP, CONFIG_PROBE_EXEC, CONFIG_PROBE_NOTIFY };
enum config_condition { CONFIG_DEP_STARTED, CONFIG_DEP_READY, CONFIG_DEP_COMPLETED };
enum config_go_mode { CONFIG_GO_AUTO, CONFIG_GO_OFF, CONFIG_GO_FIXED };

struct config_dep {
        char *name;
        enum config_condition condition;
};

struct config_service {
        char *name;
        unsigned line, column;
        char **argv;
        char **env;
        char *working_dir;
        bool has_uid;
        uid_t uid;
        bool has_gid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        bool has_umask;
        mode_t umask;
        int restart;
        uint64_t backoff_initial_usec, backoff_max_usec;
        unsigned jitter_pct;
        unsigned restart_budget;
        uint64_t restart_window_usec;
        uint64_t start_grace_usec;
        int stop_signal;
        uint64_t stop_timeout_usec;
        bool group;
        bool setsid;
        int pdeathsig;
        bool critical;
        bool has_cpu;
        uint64_t cpu_quota_us, cpu_period_us;
        bool has_memory;
        uint64_t memory_bytes;
        enum config_go_mode gomaxprocs_mode;
        unsigned gomaxprocs;
        enum config_go_mode gomemlimit_mode;
        uint64_t gomemlimit;
        int rounding;
        unsigned min_procs;
        bool min_procs_set;
        uint64_t mem_ratio_ppm;
        enum config_probe ready;
        char *ready_tcp;
        char **ready_exec;
        uint64_t ready_interval_usec, ready_timeout_usec;
        struct config_dep *deps;
        size_t n_deps;
};

struct config {
        char *path;
        int log_format, log_level;
        char *control_socket;
        char *state_dir;
        bool output_prefix;
        uint64_t drain_delay_usec;
        struct config_service *services;
        size_t n_services;
};

struct config_diag {
        char *file;
        unsigned line, column;
        bool warning;
        char *message;
};
struct config_diags {
        struct config_diag *v;
        size_t n;
};
struct config_context {
        char *const *environ;
        const char *root;
        unsigned host_cpus;
        uint64_t host_memory_bytes;
};

int config_parse(const char *buf, size_t n, const char *filename, const struct config_context *ctx,
                 struct config **ret, struct config_diags *diags);
int config_load(const char *path, const struct config_context *ctx, struct config **ret, struct config_diags *diags);
struct config *config_free(struct config *c);
void config_diags_done(struct config_diags *d);
void config_diags_print(FILE *f, const struct config_diags *d);
int config_service_equal(const struct config_service *a, const struct config_service *b, bool *ret_only_restart_policy);

/* config-service.c: one service's settings as a value the supervisor
 * owns (a reload may free the config that gave them). */
/* gorral run's defaults (restart no, stop SIGTERM after 10 s, backoff
 * 100ms..30s +-20%, budget 5 in 60 s, start grace 1 s, go auto). */
void config_service_defaults(struct config_service *s);
/* Deep copy; 0 or -ENOMEM (dst untouched on failure). */
int config_service_copy(struct config_service *dst, const struct config_service *src);
/* Free what s owns and zero it. */
void config_service_done(struct config_service *s);
