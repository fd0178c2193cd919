/* exporter.h: gorral's /metrics in the Prometheus text format 0.0.4 (L3).
 *
 * A pure formatter: the supervisor hands it a view of every service (its
 * lifecycle facts and its monitor) and of gorral itself, and gets the body
 * back. Every family has HELP and TYPE and is written only when at least
 * one service has a value for it; a value gorral does not have is absent,
 * never 0 (promtool check metrics passes on the output: the tests run it).
 * Label values are escaped as the format says (\\, \", \n). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mon_stats;

struct exporter_service {
        const char *name;
        bool up;                     /* a process is running */
        uint64_t restarts;
        bool has_exit;
        int last_exit;               /* exit code, or 128+N for a signal */
        bool has_gomaxprocs;         /* what gorral put in the environment */
        unsigned gomaxprocs;
        bool has_gomemlimit;
        uint64_t gomemlimit;
        const char *go_version;      /* from the binary's build info; NULL unknown */
        const char *module;
        const double *sample;        /* its newest row ([MON__COUNT], NaN gaps: monitor.h); NULL: not watched */
        const uint64_t *scrape_errors; /* [MON_ERR__COUNT], or NULL */
        /* Its detectors (detect.h), NULL/0 when none: per detector, the
         * findings active now and the fires so far. */
        const unsigned *findings_active;   /* [DETECTOR__COUNT] */
        const uint64_t *findings_total;    /* [DETECTOR__COUNT] */
        uint64_t finding_restarts;         /* restarts for findings */
};

/* An alert destination (actions.h). */
struct exporter_sink {
        const char *name, *kind;
        uint64_t delivered, failed, dropped, given_up;
};

struct exporter_self {
        const char *version;
        uint64_t orphans_reaped;
        const struct mon_stats *stats; /* NULL: no samples taken */
        const struct exporter_sink *sinks;
        size_t n_sinks;
};

/* The body, malloc'd and NUL-terminated (*ret_len excludes the NUL).
 * 0 or -ENOMEM. */
int exporter_format(const struct exporter_service *v, size_t n, const struct exporter_self *self, char **ret,
                    size_t *ret_len);

#define EXPORTER_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
