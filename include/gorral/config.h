/* config.h: the configuration file of `gorral run -c FILE` and
 * `gorral check-config FILE` (L1): YAML in, a validated, pure-data
 * struct config out, or every error with its file:line:column.
 *
 * config.c is the only includer of yaml.h (libyaml 0.2.5, event API). It
 * builds a small node tree from the events (anchors, aliases and "<<"
 * merge keys resolved, expansion bounded by CONFIG_MAX_NODES and
 * CONFIG_MAX_DEPTH), then walks it with the schema: a scalar's meaning
 * comes from its key ("restart: no" is the policy, "GOGC: 200" the string
 * "200"), never from YAML 1.1's implicit types. Every key and its meaning
 * is documented in config/gorral.yaml.
 *
 * Order of work: syntax (libyaml; stops at the first syntax error),
 * structure and values (every error found, up to CONFIG_MAX_DIAGS), then
 * the cross checks (depends_on names and cycles, users and groups,
 * env_file contents, host capacity warnings). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "gorral/detect.h"

#define CONFIG_MAX_FILE_BYTES ((size_t)1 << 20) /* the config file and each env_file */
#define CONFIG_MAX_NODES 100000u   /* YAML nodes after alias expansion */
#define CONFIG_MAX_DEPTH 64u       /* nesting, aliases included */
#define CONFIG_MAX_SERVICES 256u
#define CONFIG_MAX_NAME 64u        /* service names: [A-Za-z0-9_.-]{1,64} */
#define CONFIG_MAX_DIAGS 100u      /* then one "too many errors" line */
#define CONFIG_MAX_ARGS 4096u      /* command / ready.exec elements */
#define CONFIG_MAX_ENV 4096u       /* variables of one service */
#define CONFIG_MAX_MAPPINGS 64u    /* remap_exit, rewrite entries */
#define CONFIG_MAX_URL 2048u       /* metrics_url, pprof_url */
#define CONFIG_MIN_SAMPLE_USEC 100000ULL        /* sample_interval: 100ms */
#define CONFIG_MAX_SAMPLE_USEC 3600000000ULL    /* 1h */

#define CONFIG_MAX_SINKS 16u        /* alerts: named destinations */
#define CONFIG_ACTION_SINKS 4u      /* sinks named in one detector's actions */
#define CONFIG_SINK_NAME 32u        /* a sink's name: [A-Za-z0-9_.-]{1,32} */
#define CONFIG_DUMP_KEEP_MAX 100u

enum config_probe { CONFIG_PROBE_NONE, CONFIG_PROBE_TCP, CONFIG_PROBE_EXEC, CONFIG_PROBE_NOTIFY };
enum config_condition { CONFIG_DEP_STARTED, CONFIG_DEP_READY, CONFIG_DEP_COMPLETED };
enum config_go_mode { CONFIG_GO_AUTO, CONFIG_GO_OFF, CONFIG_GO_FIXED };

/* What a detector's findings do beyond the log line every finding gets:
 * restart the service (after capturing a goroutine dump), and tell the
 * sinks named (top-level alerts:). */
struct config_actions {
        bool given;                      /* written for this detector (else detect.actions applies) */
        bool restart;
        unsigned n_sinks;
        char sink[CONFIG_ACTION_SINKS][CONFIG_SINK_NAME + 1];
};

enum config_sink_kind { CONFIG_SINK_WEBHOOK, CONFIG_SINK_ALERTMANAGER, CONFIG_SINK_EXEC };

/* alerts.NAME: where findings go. */
struct config_sink {
        char *name;
        unsigned line, column;
        enum config_sink_kind kind;
        char *url;                       /* webhook, alertmanager: http:// */
        char **argv;                     /* exec: NULL-terminated, no shell */
        uint64_t timeout_usec;           /* exec: 10s; http: 5s per attempt */
        uint64_t resend_usec;            /* alertmanager: 60s (30s to 3m) */
};

struct config_dep {
        char *name;
        enum config_condition condition;
        unsigned line, column;           /* of the entry */
};

struct config_service {
        char *name;
        unsigned line, column;           /* of the service's key, 1-based */
        char **argv;                     /* NULL-terminated, >= 1 element */
        char **env;                      /* NULL-terminated "K=V": inherited (per env_inherit) + env_file + env; env wins.
                                          * One block (strv_pack): free(), not strv_free() */
        char *working_dir;               /* NULL: gorral's */
        bool has_uid;
        uid_t uid;
        bool has_gid;
        gid_t gid;
        gid_t *groups;                   /* supplementary (from /etc/group for a user found in /etc/passwd) */
        size_t n_groups;
        bool has_umask;
        mode_t umask;
        /* The same meaning and defaults as gorral run's options (src/cmd-run.c): */
        int restart;                     /* enum service_restart: 0 no, 1 on-failure, 2 always; default no */
        uint64_t backoff_initial_usec, backoff_max_usec; /* 100ms, 30s; max >= initial */
        unsigned jitter_pct;             /* 20 */
        unsigned restart_budget;         /* 5; 0 unlimited */
        uint64_t restart_window_usec;    /* 60s */
        uint64_t start_grace_usec;       /* 1s */
        int stop_signal;                 /* SIGTERM */
        uint64_t stop_timeout_usec;      /* 10s */
        bool group;                      /* signal_group: forward signals to the process group (run -g) */
        bool setsid;
        int pdeathsig;                   /* 0: none */
        bool critical;                   /* its end ends gorral */
        uint64_t watchdog_usec;          /* watchdog: it pings WATCHDOG=1 at least this often; 0 none */
        bool has_cpu;
        uint64_t cpu_quota_us, cpu_period_us;  /* resources.cpu: 0.5 -> 50000/100000 */
        bool has_memory;
        uint64_t memory_bytes;           /* resources.memory: 256MiB */
        enum config_go_mode gomaxprocs_mode;
        unsigned gomaxprocs;             /* go.gomaxprocs: auto | off | N */
        enum config_go_mode gomemlimit_mode;
        uint64_t gomemlimit;             /* go.gomemlimit: auto | off | bytes/size */
        int rounding;                    /* enum limits_rounding; default ceil */
        unsigned min_procs;              /* default 2 (ceil) or 1 (floor) unless set */
        bool min_procs_set;
        uint64_t mem_ratio_ppm;          /* default 900000 */
        unsigned cpus_override;          /* cpus: N, as gorral run --cpus (stands in for the affinity count); 0 none */
        bool strict;                     /* strict: as gorral run --strict (refuse a start on a malformed limit file) */
        enum config_probe ready;
        char *ready_tcp;                 /* "HOST:PORT" as written ([::1]:8080 too) */
        char **ready_exec;               /* NULL-terminated argv */
        uint64_t ready_interval_usec, ready_timeout_usec; /* 1s, 30s */
        struct config_dep *deps;
        size_t n_deps;
        /* Watching (monitor.h): what the samplers read, every
         * sample_interval. A file's services are watched unless
         * watch: false; gorral run's one service only when a watching
         * option is given (a plain run makes no wakeup while idle). */
        bool watch;
        uint64_t sample_interval_usec;   /* 5s */
        char *metrics_url;               /* Prometheus text / OpenMetrics endpoint; NULL none */
        char *pprof_url;                 /* goroutine profile, ?debug=1; NULL none */
        char *scrape_socket;             /* socket: a unix socket both URLs are fetched over; NULL: TCP */
        uint64_t schedtrace_usec;        /* godebug.schedtrace: GODEBUG=schedtrace=MS; 0 off */
        bool gctrace;                    /* godebug.gctrace: GODEBUG=gctrace=1 */
        bool trace_passthrough;          /* godebug.passthrough: trace lines still reach stderr */
        /* Detection (detect.h): the detectors' options and what their
         * findings do, per detector (actions[d]); dump: how a restart
         * for a finding captures the goroutines first. A change to these
         * applies on reload without a restart. */
        struct detect_config detect;
        struct config_actions actions[DETECTOR__COUNT];
        bool dump_sigquit;               /* dump.sigquit: without pprof_url, stop with SIGQUIT and keep stderr */
        unsigned dump_keep;              /* dump.keep: the last N dumps per service in state_dir; 5 */
};

struct config_pair {
        int from, to;
};

struct config {
        char *path;
        int log_format, log_level;       /* enum log_format / log_level from log.h; -1 unset */
        char *control_socket;            /* NULL: default */
        char *state_dir;                 /* NULL: nothing written */
        bool output_prefix;              /* default false */
        char *metrics_listen;            /* metrics.listen: the /metrics exporter's address; NULL off */
        uint64_t drain_delay_usec;       /* as gorral run's --drain-delay; default 0 */
        struct config_pair *remap_exit;  /* remap_exit: {143: 0}: exit codes 0-255 */
        size_t n_remap_exit;
        struct config_pair *rewrite;     /* rewrite: {TERM: QUIT}: signals; to 0 drops */
        size_t n_rewrite;
        struct config_sink *sinks;       /* alerts: in file order */
        size_t n_sinks;
        struct config_service *services; /* in file order */
        size_t n_services;
};

struct config_diag {
        char *file;
        unsigned line, column;           /* 1-based; 0 when the error has no position */
        bool warning;
        char *message;
};

struct config_diags {
        struct config_diag *v;           /* in reading order: by file, line, column */
        size_t n;                        /* at most CONFIG_MAX_DIAGS + 1 ("too many errors") */
        size_t n_errors;                 /* the non-warnings among them */
};

/* Reads a file for the parser (env_file, ROOT/etc/passwd, ROOT/etc/group):
 * 0 with a malloc'd, NUL-terminated buffer, or -errno. */
typedef int (*config_read_fn)(void *userdata, const char *path, size_t max, char **ret, size_t *ret_len);

struct config_context {
        char *const *environ;            /* for ${VAR} and env_inherit; NULL: empty */
        const char *root;                /* "/" or a test root for /etc/passwd, /etc/group; NULL: "/" */
        unsigned host_cpus;              /* 0: unknown (no warning) */
        uint64_t host_memory_bytes;      /* 0: unknown */
        /* Optional: NULL reads regular files only (O_NONBLOCK, so a FIFO
         * cannot hang a reload), at most CONFIG_MAX_FILE_BYTES. */
        config_read_fn read_file;
        void *read_userdata;
};

/* Parse YAML bytes. filename names the file in diagnostics and is the
 * base of relative env_file paths. 0 with *ret when there is no error
 * (warnings may be in diags), -EINVAL with the errors in diags, -ENOMEM.
 * diags is appended to (start it zeroed). */
int config_parse(const char *buf, size_t n, const char *filename, const struct config_context *ctx,
                 struct config **ret, struct config_diags *diags);
/* Read path (at most CONFIG_MAX_FILE_BYTES), then config_parse(). A file
 * that cannot be read is one diagnostic at 0:0 and -EINVAL (or the -errno
 * of ENOMEM). */
int config_load(const char *path, const struct config_context *ctx, struct config **ret,
                struct config_diags *diags);
struct config *config_free(struct config *c);

void config_diags_done(struct config_diags *d);
/* "FILE:LINE:COLUMN: message" ("FILE:LINE:COLUMN: warning: message"),
 * one per line. */
void config_diags_print(FILE *f, const struct config_diags *d);

/* For reload. 1: a and b are the same service; 0: they differ, and
 * *ret_only_restart_policy (optional) tells whether the only differences
 * are restart, backoff, restart_budget/window and start_grace (which can
 * be applied without a restart). Positions are not compared. */
int config_service_equal(const struct config_service *a, const struct config_service *b,
                         bool *ret_only_restart_policy);
/* The service called name, or NULL. */
const struct config_service *config_find_service(const struct config *c, const char *name);

/* A context for this host: environ, root "/", the online CPUs and the
 * physical memory (for the "more than the host has" warnings). */
void config_context_host(struct config_context *ctx, char *const *environ_);

/* config-service.c: one service's settings as a value the supervisor
 * owns (a reload may free the config that gave them). */
/* gorral run's defaults (restart no, stop SIGTERM after 10 s, backoff
 * 100ms..30s +-20%, budget 5 in 60 s, start grace 1 s, go auto). */
void config_service_defaults(struct config_service *s);
/* Deep copy; 0 or -ENOMEM (dst untouched on failure). */
int config_service_copy(struct config_service *dst, const struct config_service *src);
/* Free what s owns and zero it. */
void config_service_done(struct config_service *s);
