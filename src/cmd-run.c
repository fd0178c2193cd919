/* cmd-run.c: `gorral run [OPTIONS] [--] CMD [ARGS...]`: the options, then
 * the supervisor. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gorral/bus.h"
#include "gorral/alert.h"
#include "gorral/commands.h"
#include "gorral/config.h"
#include "gorral/exitcodes.h"
#include "gorral/http.h"
#include "gorral/childenv.h"
#include "gorral/limits.h"
#include "gorral/log.h"
#include "gorral/service.h"
#include "gorral/supervisor.h"

static const char run_help[] =
        "Usage: gorral run [OPTIONS] [--] CMD [ARGS...]\n"
        "       gorral run -c FILE [OPTIONS]\n"
        "\n"
        "Run CMD as a supervised child: reap every zombie (as PID 1, or as a child\n"
        "subreaper otherwise), forward signals, restart by policy, set GOMAXPROCS and\n"
        "GOMEMLIMIT from the cgroup limits, and exit with the child's status.\n"
        "\n"
        "Services from a file:\n"
        "  -c, --config FILE        supervise the services of FILE (YAML: every key is\n"
        "                           in config/gorral.yaml; check it with `gorral\n"
        "                           check-config`): each starts when its depends_on\n"
        "                           conditions hold; SIGHUP re-reads FILE. With\n"
        "                           a critical service, gorral stops everything and exits\n"
        "                           with its status when it ends; otherwise gorral exits when\n"
        "                           every service has finished, with the status of the first\n"
        "                           service that failed (0 when none did).\n"
        "      --control PATH       the control socket (default: control.socket in FILE,\n"
        "                           $GORRAL_SOCKET, /run/gorral.sock as root, else\n"
        "                           $XDG_RUNTIME_DIR/gorral.sock)\n"
        "      --dbus BUS           own org.gorral.Supervisor1 on BUS: system, session,\n"
        "                           an address (unix:path=...), or no. Default: the\n"
        "                           system bus when root and it exists (a failure is\n"
        "                           logged); an explicit BUS that fails stops gorral\n"
        "      --scopes MODE        auto (default) | system | user | no: under systemd,\n"
        "                           where gorral's unit has no Delegate=yes, each service\n"
        "                           runs in a transient scope (StartTransientUnit) of the\n"
        "                           system manager (root) or the user manager\n"
        "Child:\n"
        "  -g, --group              forward signals to the child's whole process group\n"
        "      --setsid             start the child in a new session (default: a new\n"
        "                           process group, which gets the terminal if gorral had it)\n"
        "      --pdeathsig SIG      signal the child receives if gorral dies\n"
        "      --no-limits          do not set GOMAXPROCS/GOMEMLIMIT\n"
        "Signals:\n"
        "      --rewrite FROM:TO    forward FROM as TO (names or numbers; TO 0 drops FROM);\n"
        "                           repeatable\n"
        "      --drain-delay DUR    wait DUR after a SIGTERM before stopping the child (so\n"
        "                           endpoints drain first); a second SIGTERM or a SIGINT\n"
        "                           during the delay stops it at once\n"
        "      --stop-signal SIG    what a SIGTERM to gorral sends to the child's group, and\n"
        "                           what stops leftovers of an exited child (default TERM)\n"
        "      --stop-timeout DUR   SIGKILL the group DUR after the stop signal (default 10s)\n"
        "Restart:\n"
        "      --restart POLICY     no (default, like tini) | on-failure | always\n"
        "      --backoff-initial DUR  first restart delay (default 100ms); doubles after\n"
        "                           each failed start\n"
        "      --backoff-max DUR    cap of the doubling (default 30s; at most 1h)\n"
        "      --backoff-jitter PCT spread each delay by +-PCT percent (default 20), so a\n"
        "                           delay lies within [0.8, 1.2] x min(initial x 2^(n-1), max)\n"
        "      --restart-budget N   at most N restarts within the window, then give up and\n"
        "                           exit with the child's last status (default 5; 0:\n"
        "                           unlimited; at most 1000)\n"
        "      --restart-window DUR the budget's window (default 60s)\n"
        "      --start-grace DUR    an exit within DUR of the start is a failed start and\n"
        "                           doubles the next delay; a later exit resets it (default 1s)\n"
        "Exit:\n"
        "      --remap-exit FROM:TO exit with TO when the status would be FROM (0-255 each;\n"
        "                           e.g. 143:0); repeatable, for every code\n"
        "Watching (any of these turns the samplers on; a plain run makes no wakeup\n"
        "while idle):\n"
        "      --sample-interval DUR  sample /proc, the cgroup and the endpoints every DUR\n"
        "                           (default 5s; 100ms to 1h)\n"
        "      --metrics-url URL    scrape the child's Prometheus endpoint (http:// only;\n"
        "                           text 0.0.4 or OpenMetrics)\n"
        "      --pprof-url URL      fetch its goroutine profile (?debug=1) for the count\n"
        "      --metrics-socket PATH  fetch both URLs over this unix socket (the URL still\n"
        "                           gives Host and path, as curl --unix-socket)\n"
        "      --schedtrace DUR     add GODEBUG=schedtrace=MS and read the SCHED lines from\n"
        "                           the child's stderr (other lines pass through whole)\n"
        "      --gctrace            add GODEBUG=gctrace=1 and read the gc lines\n"
        "      --trace-passthrough  pass the trace lines on to stderr too\n"
        "      --metrics-listen ADDR  serve gorral's /metrics and /healthz on ADDR\n"
        "                           (127.0.0.1:9321, [::1]:9321, :9321 for every address)\n"
        "Detection (when watching; the config file's detect: keys, see gorral.yaml(5)):\n"
        "      --detect LIST        the detectors to run: leak,threads,throttling,memory,gc,\n"
        "                           oom,pressure,limit_change (default: all of them), or none\n"
        "      --detect-option D.KEY=VALUE  one detector option, e.g. leak.min_goroutines=100,\n"
        "                           throttling.above=0.3, threshold.metric=goroutines\n"
        "                           with threshold.above=5000; repeatable\n"
        "      --on-finding LIST    what every finding does besides the log line: restart,\n"
        "                           alertmanager, webhook, hook (the destinations below)\n"
        "      --alertmanager URL   post findings to this Alertmanager (API v2, http://)\n"
        "      --webhook URL        post each finding's JSON to URL (http://)\n"
        "      --hook 'CMD ARGS'    run CMD (split on spaces, no shell) with the finding's JSON\n"
        "                           on stdin and GORRAL_* variables; 10 s timeout\n"
        "      --state-dir DIR      keep the goroutine dumps of restarts for findings in\n"
        "                           DIR/dumps/main/ (the last 5); with -c, in place of the\n"
        "                           file's state_dir (a reload keeps it)\n"
        "Logging (stderr only; stdout belongs to the child):\n"
        "      --log-format FMT     logfmt (default) | json\n"
        "      --log-level LEVEL    debug | info (default) | warn | error\n"
        "  -h, --help               this text\n"
        "  -V, --version            gorral's version\n"
        "\n"
        "DUR is a number with a unit: 100ms, 1.5s, 2m, 1h (a bare number is seconds).\n"
        "\n"
        "Signals: HUP INT QUIT USR1 USR2 ALRM TERM CONT WINCH PWR TSTP URG IO XCPU XFSZ\n"
        "VTALRM PROF STKFLT and the real-time signals are forwarded. TERM and INT also\n"
        "mean shut down: nothing restarts after them, and the group gets SIGKILL after\n"
        "the stop timeout. PIPE and the fault signals SEGV BUS FPE ILL ABRT TRAP SYS are\n"
        "forwarded when another process sent them; a fault of gorral's own still ends\n"
        "it. gorral ignores TTIN and TTOU. The child gets every disposition back at its\n"
        "default, except the signals gorral's parent left ignored (`nohup gorral run`).\n"
        "gorral exits as soon as the child and the rest of its process group are gone.\n"
        "\n"
        "Exit status:\n"
        "  0-255    the child's exit status (after --remap-exit), also after giving up\n"
        "  128+N    the child was killed by signal N (143 = SIGTERM, 137 = SIGKILL)\n"
        "  126      CMD was found but could not be executed (EACCES, ENOEXEC, ...)\n"
        "  127      CMD was not found\n"
        "  2        usage error\n"
        "  70       internal error (gorral stopped everything)\n"
        "  71       gorral itself failed (epoll, signalfd, fork)\n"
        "\n"
        "GOMAXPROCS/GOMEMLIMIT policy options (computed again at every start):\n";

/* Options that take a value, in "--opt VALUE" or "--opt=VALUE" form. */
static const char *const valued[] = {
        "--pdeathsig", "--rewrite", "--drain-delay", "--stop-signal", "--stop-timeout", "--restart",
        "--backoff-initial", "--backoff-max", "--backoff-jitter", "--restart-budget", "--restart-window",
        "--start-grace", "--remap-exit", "--log-format", "--log-level", "-c", "--config", "--control",
        "--sample-interval", "--metrics-url", "--pprof-url", "--metrics-socket", "--schedtrace", "--metrics-listen",
        "--detect", "--detect-option", "--on-finding", "--alertmanager", "--webhook", "--hook", "--state-dir",
        "--dbus", "--scopes",
};

/* Options that take none. */
static const char *const flags[] = { "-g", "--group", "--setsid", "--no-limits", "--gctrace", "--trace-passthrough" };

static bool is_flag(const char *name) {
        for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
                if (strcmp(name, flags[i]) == 0)
                        return true;
        return false;
}

static bool takes_value(const char *name) {
        for (size_t i = 0; i < sizeof valued / sizeof valued[0]; i++)
                if (strcmp(name, valued[i]) == 0)
                        return true;
        return false;
}

/* A usage error that names the option, the value and, when known, why. */
static int bad_because(const char *opt, const char *value, const char *why) {
        if (!value)
                fprintf(stderr, "gorral run: %s needs a value (see gorral run --help)\n", opt);
        else
                fprintf(stderr, "gorral run: invalid value '%s' for %s%s%s (see gorral run --help)\n", value, opt,
                        why ? ": " : "", why ? why : "");
        return GR_EXIT_USAGE;
}

static int bad(const char *opt, const char *value) {
        return bad_because(opt, value, NULL);
}

static int duration(const char *opt, const char *v, uint64_t max_usec, uint64_t *ret) {
        uint64_t u;

        if (parse_duration_usec(v, &u) < 0 || u > max_usec)
                return bad(opt, v);
        *ret = u;
        return 0;
}

/* The destinations gorral run's options make (one of each kind). */
static struct config_sink run_sinks[3];
static size_t n_run_sinks;

static int run_sink(enum config_sink_kind kind, const char *name, const char *opt, const char *v) {
        struct config_sink *k = NULL;
        const char *why = NULL;

        for (size_t i = 0; i < n_run_sinks; i++)
                if (run_sinks[i].kind == kind)
                        k = &run_sinks[i];
        if (!k) {
                k = &run_sinks[n_run_sinks++];
                *k = (struct config_sink){ .name = (char *)name, .kind = kind, .resend_usec = ALERT_RESEND_DEFAULT_USEC,
                                           .timeout_usec = (kind == CONFIG_SINK_EXEC ? 10 : 5) * UINT64_C(1000000) };
        }
        if (kind == CONFIG_SINK_EXEC) {
                char **argv = NULL;
                size_t n = 0;

                for (const char *p = v; *p;) {
                        size_t len;

                        p += strspn(p, " \t");
                        len = strcspn(p, " \t");
                        if (!len)
                                break;
                        if (strv_appendf(&argv, &n, "%.*s", (int)len, p) < 0)
                                return GR_EXIT_SYSTEM;
                        p += len;
                }
                if (!n)
                        return bad_because(opt, v, "expected a command");
                strv_free(k->argv);
                k->argv = argv;
                return 0;
        }
        if (alert_url_check(kind == CONFIG_SINK_ALERTMANAGER ? ALERT_ALERTMANAGER : ALERT_WEBHOOK, v, &why) < 0)
                return bad_because(opt, v, why);
        free(k->url);
        if (!(k->url = strdup(v)))
                return GR_EXIT_SYSTEM;
        return 0;
}

static int on_finding(struct config_service *sc, const char *opt, const char *v) {
        struct config_actions a = { .given = true };
        const char *p = v;

        while (*p) {
                size_t len = strcspn(p, ",");
                char w[32];

                snprintf(w, sizeof w, "%.*s", (int)(len < sizeof w ? len : sizeof w - 1), p);
                if (!strcmp(w, "restart"))
                        a.restart = true;
                else if (!strcmp(w, "alertmanager") || !strcmp(w, "webhook") || !strcmp(w, "hook")) {
                        if (a.n_sinks < CONFIG_ACTION_SINKS)
                                snprintf(a.sink[a.n_sinks++], sizeof a.sink[0], "%s", w);
                } else if (strcmp(w, "log"))
                        return bad_because(opt, v, "expected log, restart, alertmanager, webhook or hook");
                p += len;
                if (*p == ',')
                        p++;
        }
        for (int d = 0; d < DETECTOR__COUNT; d++)
                sc->actions[d] = a;
        return 0;
}

static int detect_list(struct config_service *sc, const char *opt, const char *v) {
        bool want[DETECTOR__COUNT] = { false };
        const char *p = v;

        if (!strcmp(v, "none")) {
                for (int d = 0; d < DETECTOR__COUNT; d++)
                        sc->detect.enabled[d] = false;
                return 0;
        }
        while (*p) {
                size_t len = strcspn(p, ",");
                char w[32];
                int d;

                snprintf(w, sizeof w, "%.*s", (int)(len < sizeof w ? len : sizeof w - 1), p);
                d = detector_from_name(w);
                if (d < 0)
                        return bad_because(opt, v, "expected detector names: leak, threads, throttling, memory, gc, "
                                                   "oom, pressure, limit_change, threshold, or none");
                want[d] = true;
                p += len;
                if (*p == ',')
                        p++;
        }
        memcpy(sc->detect.enabled, want, sizeof want);
        return 0;
}

/* --detect-option leak.min_goroutines=100 */
static int detect_option(struct config_service *sc, const char *opt, const char *v) {
        const char *dot = strchr(v, '.'), *eq = dot ? strchr(dot, '=') : NULL;
        char det[32], key[64], err[192];
        int d, r;

        if (!dot || !eq || dot == v || eq == dot + 1)
                return bad_because(opt, v, "expected DETECTOR.KEY=VALUE");
        snprintf(det, sizeof det, "%.*s", (int)(dot - v), v);
        snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
        d = detector_from_name(det);
        if (d < 0)
                return bad_because(opt, v, "not a detector");
        if (d == DETECTOR_THRESHOLD && !strcmp(key, "metric") && detect_config_add_threshold(&sc->detect) < 0)
                return bad_because(opt, v, "too many thresholds");
        r = detect_config_set(&sc->detect, (enum detector)d, key, eq + 1, err, sizeof err);
        if (r == -ENOENT)
                return bad_because(opt, v, "the detector has no such option");
        if (r < 0)
                return bad_because(opt, v, err);
        return 0;
}

/* One long or short option; value is its argument when it takes one.
 * Returns 0 or an exit status. */
static int apply(struct supervisor_options *so, struct config_service *sc, const char *name, const char *v) {
        const char *why = NULL;
        uint64_t u;
        int r, sig;

        if (!strcmp(name, "-g") || !strcmp(name, "--group"))
                sc->group = true;
        else if (!strcmp(name, "--setsid"))
                sc->setsid = true;
        else if (!strcmp(name, "--no-limits"))
                so->no_limits = true;
        else if (!strcmp(name, "--pdeathsig")) {
                if (parse_signal(v, &sig) < 0)
                        return bad(name, v);
                sc->pdeathsig = sig;
        } else if (!strcmp(name, "--rewrite")) {
                if (signals_parse_rewrite(&so->signals, v, &why) < 0)
                        return bad_because(name, v, why);
        } else if (!strcmp(name, "--drain-delay"))
                return duration(name, v, SERVICE_BACKOFF_MAX_USEC, &so->signals.drain_delay_usec);
        else if (!strcmp(name, "--stop-signal")) {
                if (parse_signal(v, &sig) < 0 || sig == SIGCHLD)
                        return bad(name, v);
                sc->stop_signal = sig;
        } else if (!strcmp(name, "--stop-timeout"))
                return duration(name, v, SERVICE_BACKOFF_MAX_USEC, &sc->stop_timeout_usec);
        else if (!strcmp(name, "--restart")) {
                r = service_restart_from_string(v);
                if (r < 0)
                        return bad(name, v);
                sc->restart = r;
        } else if (!strcmp(name, "--backoff-initial"))
                return duration(name, v, SERVICE_BACKOFF_MAX_USEC, &sc->backoff_initial_usec);
        else if (!strcmp(name, "--backoff-max"))
                return duration(name, v, SERVICE_BACKOFF_MAX_USEC, &sc->backoff_max_usec);
        else if (!strcmp(name, "--backoff-jitter")) {
                if (parse_u64(v, &u) < 0 || u > 100)
                        return bad(name, v);
                sc->jitter_pct = (unsigned)u;
        } else if (!strcmp(name, "--restart-budget")) {
                if (parse_u64(v, &u) < 0 || u > SERVICE_BUDGET_MAX)
                        return bad(name, v);
                sc->restart_budget = (unsigned)u;
        } else if (!strcmp(name, "--restart-window"))
                return duration(name, v, 24ULL * 3600 * 1000000, &sc->restart_window_usec);
        else if (!strcmp(name, "--start-grace"))
                return duration(name, v, SERVICE_BACKOFF_MAX_USEC, &sc->start_grace_usec);
        else if (!strcmp(name, "--remap-exit")) {
                if (supervisor_parse_remap(so, v, &why) < 0)
                        return bad_because(name, v, why);
        } else if (!strcmp(name, "-c") || !strcmp(name, "--config"))
                so->config_path = v;
        else if (!strcmp(name, "--control"))
                so->control_path = v;
        else if (!strcmp(name, "--dbus")) {
                if (bus_parse_kind(v, &so->dbus_kind) < 0)
                        return bad_because(name, v, "expected system, session, no or an address (unix:path=...)");
                so->dbus_address = v;
        } else if (!strcmp(name, "--scopes")) {
                if (bus_parse_scopes(v, &so->scopes) < 0)
                        return bad_because(name, v, "expected auto, system, user or no");
        }
        else if (!strcmp(name, "--sample-interval")) {
                sc->watch = true;
                if (parse_duration_usec(v, &u) < 0 || u < CONFIG_MIN_SAMPLE_USEC || u > CONFIG_MAX_SAMPLE_USEC)
                        return bad_because(name, v, "expected a duration from 100ms to 1h");
                sc->sample_interval_usec = u;
        } else if (!strcmp(name, "--metrics-url") || !strcmp(name, "--pprof-url")) {
                struct http_url url = { 0 };
                char **dst = name[2] == 'm' ? &sc->metrics_url : &sc->pprof_url;

                sc->watch = true;
                r = http_url_parse(v, &url, &why);
                http_url_done(&url);
                if (r < 0)
                        return bad_because(name, v, why);
                free(*dst);
                if (!(*dst = strdup(v)))
                        return GR_EXIT_SYSTEM;
        } else if (!strcmp(name, "--metrics-socket")) {
                if (!*v || strlen(v) > 107)
                        return bad_because(name, v, "expected a socket path of 1 to 107 bytes");
                free(sc->scrape_socket);
                if (!(sc->scrape_socket = strdup(v)))
                        return GR_EXIT_SYSTEM;
        } else if (!strcmp(name, "--schedtrace")) {
                sc->watch = true;
                if (parse_duration_usec(v, &u) < 0 || u < 1000 || u > CONFIG_MAX_SAMPLE_USEC)
                        return bad_because(name, v, "expected a duration from 1ms to 1h");
                sc->schedtrace_usec = u - u % 1000;
        } else if (!strcmp(name, "--gctrace"))
                sc->watch = sc->gctrace = true;
        else if (!strcmp(name, "--trace-passthrough"))
                sc->trace_passthrough = true;
        else if (!strcmp(name, "--metrics-listen")) {
                sc->watch = true;
                so->metrics_listen = v;
        } else if (!strcmp(name, "--detect"))
                return detect_list(sc, name, v);
        else if (!strcmp(name, "--detect-option"))
                return detect_option(sc, name, v);
        else if (!strcmp(name, "--on-finding"))
                return on_finding(sc, name, v);
        else if (!strcmp(name, "--alertmanager"))
                return run_sink(CONFIG_SINK_ALERTMANAGER, "alertmanager", name, v);
        else if (!strcmp(name, "--webhook"))
                return run_sink(CONFIG_SINK_WEBHOOK, "webhook", name, v);
        else if (!strcmp(name, "--hook"))
                return run_sink(CONFIG_SINK_EXEC, "hook", name, v);
        else if (!strcmp(name, "--state-dir"))
                so->state_dir = v;
        else if (!strcmp(name, "--log-format")) {
                r = log_format_from_string(v);
                if (r < 0)
                        return bad(name, v);
                log_set_format((enum log_format)r);
        } else if (!strcmp(name, "--log-level")) {
                r = log_level_from_string(v);
                if (r < 0)
                        return bad(name, v);
                log_set_level((enum log_level)r);
        } else {
                fprintf(stderr, "gorral run: unknown option '%s' (see gorral run --help)\n", name);
                return GR_EXIT_USAGE;
        }
        return 0;
}

extern char **environ;

/* gorral run -c FILE: every error of the file stops gorral before anything
 * starts (exit 2), as `gorral check-config` reports them. */
static int run_file(struct supervisor_options *so) {
        struct config_context ctx = { .environ = environ, .root = "/" };
        struct config_diags diags = { 0 };
        struct config *c = NULL;
        struct supervisor *s = NULL;
        _cleanup_free_ char *control = NULL, *listen = NULL;
        int r;

        config_context_host(&ctx, environ);
        r = config_load(so->config_path, &ctx, &c, &diags);
        config_diags_print(stderr, &diags);
        config_diags_done(&diags);
        if (r < 0) {
                if (r == -ENOMEM)
                        return GR_EXIT_SYSTEM;
                fprintf(stderr, "gorral run: %s: not starting (see the errors above)\n", so->config_path);
                config_free(c);
                return GR_EXIT_USAGE;
        }
        if (c->log_level >= 0)
                log_set_level((enum log_level)c->log_level);
        if (c->log_format >= 0)
                log_set_format((enum log_format)c->log_format);
        if (c->drain_delay_usec && !so->signals.drain_delay_usec)
                so->signals.drain_delay_usec = c->drain_delay_usec;
        /* The file's remap_exit and rewrite, under what the command line
         * gave (the command line wins). */
        for (size_t i = 0; i < c->n_remap_exit; i++) {
                int from = c->remap_exit[i].from, to = c->remap_exit[i].to;

                /* The loader checked both are 0-255; an entry the command
                 * line changed is the command line's. */
                if (from >= 0 && from <= 255 && to >= 0 && to <= 255 && so->remap_exit[from] == from)
                        so->remap_exit[from] = (uint8_t)to;
        }
        for (size_t i = 0; i < c->n_rewrite; i++) {
                int from = c->rewrite[i].from;

                if (from > 0 && from < NSIG && so->signals.rewrite[from] == 0)
                        so->signals.rewrite[from] = c->rewrite[i].to ? c->rewrite[i].to : -1;
        }
        so->output_prefix = so->output_prefix || c->output_prefix;
        if (!so->metrics_listen && c->metrics_listen) {
                listen = strdup(c->metrics_listen);
                if (!listen) {
                        config_free(c);
                        return GR_EXIT_SYSTEM;
                }
                so->metrics_listen = listen;
        }
        if (!so->control_path && c->control_socket) {
                control = strdup(c->control_socket);
                if (!control) {
                        config_free(c);
                        return GR_EXIT_SYSTEM;
                }
                so->control_path = control;
        }
        /* Read by supervisor_new() (copied): c may go after it. */
        so->sinks = c->sinks;
        so->n_sinks = c->n_sinks;
        /* --state-dir wins over the file's state_dir, also at a reload. */
        so->state_dir_fixed = so->state_dir != NULL;
        if (!so->state_dir)
                so->state_dir = c->state_dir;
        r = supervisor_new(so, &s);
        if (r < 0) {
                config_free(c);
                return GR_EXIT_SYSTEM;
        }
        for (size_t i = 0; i < c->n_services; i++) {
                r = supervisor_add_service(s, &c->services[i]);
                if (r < 0) {
                        log_error_errno(r, "cannot set up service %s", c->services[i].name);
                        supervisor_free(s);
                        config_free(c);
                        return GR_EXIT_SYSTEM;
                }
        }
        /* The units hold copies of their settings: the parsed file (its
         * node tree, env files, every string) goes before the services
         * start, and on glibc its freed pages go back to the kernel (a
         * long-running supervisor should not keep the peak of a parse). */
        c = config_free(c);
#ifdef __GLIBC__
        (void)malloc_trim(0);
#endif
        r = supervisor_run(s);
        supervisor_exit(s);
        return r;
}

/* The strings the options malloc'd into the one service (the rest of it
 * points into argv or at literals). */
static void run_service_done(struct config_service *sc) {
        free(sc->metrics_url);
        free(sc->pprof_url);
        free(sc->scrape_socket);
}

int cmd_run(int argc, char **argv) {
        struct supervisor_options so;
        _cleanup_(run_service_done) struct config_service sc;
        struct supervisor *s = NULL;
        int i, r;

        supervisor_options_init(&so);
        config_service_defaults(&sc);
        /* One command: it is the service, and gorral's status is its. */
        sc.name = (char *)"main";
        sc.critical = true;
        for (i = 1; i < argc; i++) {
                const char *a = argv[i], *v = NULL;
                char name[64];
                const char *eq;

                if (!strcmp(a, "--")) {
                        i++;
                        break;
                }
                if (a[0] != '-' || a[1] == '\0')
                        break;
                if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                        fputs(run_help, stdout);
                        fputs(limits_options_help, stdout);
                        return GR_EXIT_OK;
                }
                if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
                        print_version();
                        return GR_EXIT_OK;
                }
                r = limits_options_parse(&so.limits, a, i + 1 < argc ? argv[i + 1] : NULL);
                if (r < 0) {
                        eq = strchr(a, '=');
                        if (eq) {
                                snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
                                return bad(name, eq + 1);
                        }
                        return bad(a, limits_option_takes_value(a) == 1 && i + 1 < argc ? argv[i + 1] : NULL);
                }
                if (r > 0) {
                        if (limits_option_takes_value(a) == 1)
                                i++;
                        continue;
                }
                /* Our own: split "--opt=value". */
                eq = a[1] == '-' ? strchr(a, '=') : NULL;
                if (eq) {
                        if ((size_t)(eq - a) >= sizeof name)
                                return apply(&so, &sc, a, NULL);
                        memcpy(name, a, (size_t)(eq - a));
                        name[eq - a] = '\0';
                        v = eq + 1;
                } else {
                        snprintf(name, sizeof name, "%s", a);
                        if (takes_value(name)) {
                                if (i + 1 >= argc)
                                        return bad(name, NULL);
                                v = argv[++i];
                        }
                }
                if (v && is_flag(name)) {
                        fprintf(stderr, "gorral run: %s takes no value (got '%s')\n", name, v);
                        return GR_EXIT_USAGE;
                }
                r = apply(&so, &sc, name, v);
                if (r != 0)
                        return r;
        }
        if (so.config_path) {
                if (i < argc) {
                        fprintf(stderr, "gorral run: -c FILE and a command exclude each other ('%s')\n", argv[i]);
                        return GR_EXIT_USAGE;
                }
                return run_file(&so);
        }
        if (i >= argc) {
                fprintf(stderr, "gorral run: no command given (usage: gorral run [OPTIONS] [--] CMD [ARGS...])\n");
                return GR_EXIT_USAGE;
        }
        if (sc.backoff_max_usec < sc.backoff_initial_usec)
                sc.backoff_max_usec = sc.backoff_initial_usec;
        sc.argv = argv + i;
        /* The policy options given on the command line are the service's. */
        sc.rounding = so.limits.rounding;
        sc.min_procs = so.limits.min_procs;
        sc.min_procs_set = so.limits.min_procs_set;
        sc.mem_ratio_ppm = so.limits.mem_ratio_ppm;

        /* --strict: a malformed limit file refuses the start, as with
         * `gorral exec --strict`, before anything is set up. */
        if (so.limits.strict && !so.no_limits) {
                struct limits_state ls;

                r = limits_gather(&so.limits, sc.argv[0], &ls);
                if (r >= 0) {
                        unsigned nerr = ls.n_errors;

                        if (nerr > 0)
                                limits_log(&ls, sc.name);
                        limits_state_done(&ls);
                        if (nerr > 0) {
                                log_msg(LOG_LEVEL_ERROR, 0, "--strict: %u malformed limit file(s), not starting '%s'",
                                        nerr, sc.argv[0]);
                                return GR_EXIT_USAGE;
                        }
                }
        }

        /* --on-finding names the destinations the options made. */
        for (int d = 0; d < DETECTOR__COUNT; d++)
                for (unsigned k = 0; k < sc.actions[d].n_sinks; k++) {
                        bool made = false;

                        for (size_t j = 0; j < n_run_sinks; j++)
                                made |= !strcmp(run_sinks[j].name, sc.actions[d].sink[k]);
                        if (!made) {
                                fprintf(stderr, "gorral run: --on-finding %s: give --%s too\n", sc.actions[d].sink[k],
                                        sc.actions[d].sink[k]);
                                return GR_EXIT_USAGE;
                        }
                }
        {
                char err[192];

                if (detect_config_check(&sc.detect, err, sizeof err) < 0) {
                        fprintf(stderr, "gorral run: --detect-option: %s\n", err);
                        return GR_EXIT_USAGE;
                }
        }
        so.sinks = run_sinks;
        so.n_sinks = n_run_sinks;
        r = supervisor_new(&so, &s);
        for (size_t j = 0; j < n_run_sinks; j++) {
                free(run_sinks[j].url);
                strv_free(run_sinks[j].argv);
        }
        if (r < 0)
                return GR_EXIT_SYSTEM;
        r = supervisor_add_service(s, &sc);
        if (r < 0) {
                log_error_errno(r, "cannot set up the service");
                supervisor_free(s);
                return GR_EXIT_SYSTEM;
        }
        r = supervisor_run(s);
        supervisor_exit(s);
        return r;
}
