/* Unit tests for src/monitor.c on a real loop: a real child process is
 * sampled from /proc every interval (the first row after a start carries
 * SERIES_RESET), a Prometheus endpoint and a pprof endpoint served on the
 * same loop (the real Go 1.19 captures) fill the Go columns, pprof's total
 * gives way to go_goroutines, a refused connection is a counted error and
 * a gap (never 0), a stopped service takes no more rows, and an unwatched
 * one has no monitor at all. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gorral/config.h"
#include "gorral/http.h"
#include "gorral/loop.h"
#include "gorral/monitor.h"
#include "gorral/series.h"
#include "gorral/util.h"

struct bodies {
        char *metrics, *pprof;
        size_t metrics_len, pprof_len;
        unsigned hits;
};

static int serve(void *userdata, const struct http_request *rq, struct http_reply *rp) {
        struct bodies *b = userdata;
        bool pprof = strcmp(rq->path, "/debug/pprof/goroutine") == 0;

        b->hits++;
        if (!pprof && strcmp(rq->path, "/metrics") != 0) {
                rp->status = 404;
                return 0;
        }
        rp->content_type = pprof ? "text/plain; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8";
        rp->body_len = pprof ? b->pprof_len : b->metrics_len;
        rp->body = malloc(rp->body_len);
        cr_assert_not_null(rp->body);
        memcpy(rp->body, pprof ? b->pprof : b->metrics, rp->body_len);
        return 0;
}

/* Run the loop for about usec. */
static void run_for(struct loop *l, uint64_t usec) {
        uint64_t end = now_usec() + usec;

        while (now_usec() < end)
                cr_assert_geq(loop_run_once(l, 10), 0);
}

static pid_t child(void) {
        pid_t pid = fork();

        cr_assert_geq(pid, 0);
        if (pid == 0) {
                /* Dies with the test, even one that failed before reap(). */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                pause();
                _exit(0);
        }
        return pid;
}

static void reap(pid_t pid) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

static double last(const struct mon_service *ms, enum mon_metric m) {
        double v;

        return mon_service_last(ms, m, &v) ? v : NAN;
}

Test(monitor, unwatched_has_no_monitor) {
        struct loop *l = NULL;
        struct monitor *m = NULL;
        struct mon_service *ms = (void *)1;
        struct config_service spec;

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(monitor_new(l, NULL, &m), 0);
        config_service_defaults(&spec);
        spec.name = (char *)"x";
        cr_assert_eq(mon_service_new(m, &spec, &ms), 0);
        cr_assert_null(ms, "watch: false costs nothing");
        monitor_free(m);
        loop_free(l);
}

Test(monitor, proc_and_endpoints) {
        struct loop *l = NULL;
        struct monitor *m = NULL;
        struct mon_service *ms = NULL;
        struct http_server *srv = NULL;
        struct bodies b = { 0 };
        struct config_service spec;
        char murl[64], purl[96];
        const struct series *se;
        pid_t pid;

        cr_assert_eq(read_file(SAMPLES "/metrics-high-plain.txt", 1 << 20, &b.metrics, &b.metrics_len), 0);
        cr_assert_eq(read_file(SAMPLES "/pprof-goroutine-high-debug1.txt", 1 << 20, &b.pprof, &b.pprof_len), 0);
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(http_server_new(l, "127.0.0.1:0", NULL, serve, &b, &srv), 0);
        snprintf(murl, sizeof murl, "http://127.0.0.1:%u/metrics", http_server_port(srv));
        snprintf(purl, sizeof purl, "http://127.0.0.1:%u/debug/pprof/goroutine?debug=1", http_server_port(srv));
        cr_assert_eq(monitor_new(l, NULL, &m), 0);
        config_service_defaults(&spec);
        spec.name = (char *)"svc";
        spec.watch = true;
        spec.sample_interval_usec = 100000;
        spec.metrics_url = murl;
        spec.pprof_url = purl;
        cr_assert_eq(mon_service_new(m, &spec, &ms), 0);
        cr_assert_not_null(ms);

        pid = child();
        mon_service_started(ms, pid, NULL);
        run_for(l, 450000);
        se = mon_service_series(ms);
        cr_assert_geq(series_len(se), 3, "rows at 100 ms for 450 ms: %u", series_len(se));
        cr_assert_eq(series_flags(se, 0), SERIES_RESET, "the first row after a start is a reset");
        cr_assert_eq(series_flags(se, 1), 0);
        cr_assert_eq(last(ms, MON_THREADS), 1.0, "a forked child has one thread");
        cr_assert_eq(last(ms, MON_PROCS), 1.0);
        cr_assert_gt(last(ms, MON_RSS_BYTES), 0);
        cr_assert_geq(last(ms, MON_CTXSW_VOLUNTARY), 1.0, "the child slept in pause(): a voluntary switch");
        /* The newest row's two scrapes may still be in flight (pprof's
         * answer can land first, and a loaded machine answers late): let
         * the loop run until a row has both, within 2 s. */
        for (int i = 0; i < 200 && !(last(ms, MON_GOROUTINES) == 1056.0 && last(ms, MON_GO_THREADS_CREATED) == 56.0);
             i++)
                run_for(l, 10000);
        cr_assert_eq(last(ms, MON_GOROUTINES), 1056.0, "go_goroutines of the capture wins over pprof's 1053");
        cr_assert_eq(last(ms, MON_GO_THREADS_CREATED), 56.0);
        cr_assert(isnan(last(ms, MON_SCHED_THREADS)), "no trace: a gap");
        cr_assert(isnan(last(ms, MON_CG_CPU_SECONDS)), "gorral's own cgroup is not the service's CPU");
        for (int e = 0; e < MON_ERR__COUNT; e++)
                cr_assert_eq(mon_service_scrape_errors(ms)[e], 0, "error %s", mon_scrape_error_name(e));
        cr_assert_geq(monitor_stats(m)->samples, 3);
        /* The series keeps the trend columns only; the newest row has all. */
        cr_assert_geq(mon_series_column(MON_GOROUTINES), 0);
        cr_assert_eq(series_value(se, (unsigned)mon_series_column(MON_GOROUTINES), series_len(se) - 1), 1056.0);
        cr_assert_eq(mon_series_column(MON_THREADS_MAIN), -1, "the main process's share is not a trend");
        cr_assert_eq(last(ms, MON_THREADS_MAIN), 1.0, "but it is in the newest row");
        cr_assert_lt(series_bytes(se), 64 * 1024, "one service's series: %zu bytes", series_bytes(se));
        cr_assert_eq(monitor_stats(m)->duration_count, monitor_stats(m)->samples);

        /* Stopped: no more rows, no current sample; started again: a
         * reset row. */
        mon_service_stopped(ms);
        cr_assert(isnan(last(ms, MON_THREADS)), "a stopped service has no current sample");
        {
                uint64_t t = 1;

                (void)mon_service_sample(ms, &t);
                cr_assert_eq(t, 0);
        }
        {
                uint32_t n = series_len(se);

                run_for(l, 250000);
                cr_assert_eq(series_len(se), n, "a stopped service takes no rows");
        }
        {
                uint32_t n = series_len(se);

                mon_service_started(ms, pid, NULL);
                run_for(l, 250000); /* the next tick is 0.5 to 1.5 intervals away */
                cr_assert_gt(series_len(se), n);
                cr_assert_eq(series_flags(se, n), SERIES_RESET, "the first row after a start again");
        }
        reap(pid);
        mon_service_free(ms);
        monitor_free(m);
        http_server_free(srv);
        loop_free(l);
        free(b.metrics);
        free(b.pprof);
}

Test(monitor, refused_scrape_is_a_counted_gap) {
        struct loop *l = NULL;
        struct monitor *m = NULL;
        struct mon_service *ms = NULL;
        struct http_server *srv = NULL;
        struct config_service spec;
        char url[64];
        uint16_t port;
        pid_t pid;

        /* A port that was just free: nobody listens there. */
        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(http_server_new(l, "127.0.0.1:0", NULL, serve, NULL, &srv), 0);
        port = http_server_port(srv);
        srv = http_server_free(srv);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", port);
        cr_assert_eq(monitor_new(l, NULL, &m), 0);
        config_service_defaults(&spec);
        spec.name = (char *)"svc";
        spec.watch = true;
        spec.sample_interval_usec = 100000;
        spec.metrics_url = url;
        cr_assert_eq(mon_service_new(m, &spec, &ms), 0);
        pid = child();
        mon_service_started(ms, pid, NULL);
        run_for(l, 350000);
        cr_assert_geq(mon_service_scrape_errors(ms)[MON_ERR_CONNECT], 2, "connect errors: %llu",
                      (unsigned long long)mon_service_scrape_errors(ms)[MON_ERR_CONNECT]);
        cr_assert(isnan(last(ms, MON_GOROUTINES)), "a failed scrape is a gap, never 0");
        cr_assert_eq(last(ms, MON_THREADS), 1.0, "the /proc part of the row is there");
        reap(pid);
        /* The process is gone: its /proc files say so, the row has gaps. */
        run_for(l, 150000);
        cr_assert(isnan(last(ms, MON_THREADS)));
        mon_service_free(ms);
        monitor_free(m);
        loop_free(l);
}
