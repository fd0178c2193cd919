/* actions.c: what findings do (actions.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gorral/actions.h"
#include "gorral/alert.h"
#include "gorral/config.h"
#include "gorral/godump.h"
#include "gorral/hook.h"
#include "gorral/http.h"
#include "gorral/json.h"
#include "gorral/log.h"
#include "gorral/util.h"

#define DUMP_BODY_MAX ((size_t)32 << 20)       /* a debug=2 page of ~100k goroutines */
#define DUMP_TIMEOUT_USEC (20 * UINT64_C(1000000))
#define PROOF_GROUPS 5                           /* leak-profile groups put into a finding */
#define SUMMARY_GROUPS 5                         /* groups logged after a dump */
#define LOOP_RESTARTS 3                          /* restarts for findings ... */
#define LOOP_WINDOW_USEC (3600 * UINT64_C(1000000))  /* ... within this: a restart loop */
#define FINDING_JSON_MAX ((size_t)48 << 10)

struct sink {
        struct config_sink cfg;      /* owned copy (name, url, argv) */
        struct alert_sink *alert;
        struct hook *hook;
};

struct actions {
        struct loop *loop;
        struct sink *sinks;
        size_t n_sinks;
        char *state_dir;
        char **envp;
        const struct actions_ops *ops;
        void *userdata;
};

struct actions_service {
        struct actions *a;
        char *name;
        struct detect *det;
        const struct config_actions *act;       /* [DETECTOR__COUNT], the spec's (it outlives us) */
        char *pprof_url, *socket;
        unsigned keep;
        const struct actions_service_ops *ops;
        void *userdata;
        uint64_t fires[DETECTOR__COUNT];
        uint64_t restarts;
        uint64_t restart_usec[LOOP_RESTARTS];   /* ring of the last restarts' times */
        /* One fetch at a time: the leak proof of a fire waiting for it, or
         * the dump a restart waits for. */
        struct http_client *client;
        bool fetching_proof, fetching_dump;
        struct detect_finding *pending;         /* the finding the fetch is for (allocated at the first) */
        bool restart_after_proof;
        bool resolved_during_proof;             /* and its resolution, which came meanwhile */
        bool sigquit;                           /* dump.sigquit */
        bool restart_asked;                     /* this process's restart is under way: once per process */
        bool awaiting_sigquit;                  /* stopped with SIGQUIT: its stderr holds the dump */
        struct detect_finding *resolution;      /* (allocated at the first) */
};

/* ---- time ---- */

int64_t actions_wall_usec(double t) {
        struct timespec r, m;
        double mono;

        clock_gettime(CLOCK_REALTIME, &r);
        clock_gettime(CLOCK_MONOTONIC, &m);
        mono = (double)m.tv_sec + (double)m.tv_nsec / 1e9;
        return (int64_t)r.tv_sec * 1000000 + r.tv_nsec / 1000 - (int64_t)((mono - t) * 1e6);
}

/* ---- destinations ---- */

static void sink_done(struct sink *k) {
        k->alert = alert_sink_free(k->alert);
        k->hook = hook_free(k->hook);
        free(k->cfg.name);
        free(k->cfg.url);
        strv_free(k->cfg.argv);
}

static bool sink_same(const struct config_sink *x, const struct config_sink *y) {
        return !strcmp(x->name, y->name) && x->kind == y->kind && !strcmp(x->url ? x->url : "", y->url ? y->url : "") &&
               strv_eq(x->argv, y->argv) && x->timeout_usec == y->timeout_usec && x->resend_usec == y->resend_usec;
}

static int hook_spawn_cb(void *userdata, const struct hook_spawn *sp, pid_t *ret_pid) {
        struct actions *a = userdata;

        return a->ops->hook_spawn(a->userdata, sp, ret_pid);
}

static void hook_forget_cb(void *userdata, pid_t pid) {
        struct actions *a = userdata;

        if (a->ops->hook_forget)
                a->ops->hook_forget(a->userdata, pid);
}

static const struct hook_ops hook_ops = { .spawn = hook_spawn_cb, .forget = hook_forget_cb };

static int sink_make(struct actions *a, const struct config_sink *c, struct sink *k) {
        int r;

        *k = (struct sink){ .cfg = *c };
        k->cfg.name = strdup(c->name);
        k->cfg.url = c->url ? strdup(c->url) : NULL;
        k->cfg.argv = NULL;
        if (!k->cfg.name || (c->url && !k->cfg.url) || strv_copy(c->argv, &k->cfg.argv) < 0) {
                sink_done(k);
                return -ENOMEM;
        }
        if (c->kind == CONFIG_SINK_EXEC) {
                struct hook_opts o = { .timeout_usec = c->timeout_usec };

                r = hook_new(a->loop, c->name, c->argv, a->envp, &o, &hook_ops, a, &k->hook);
        } else {
                struct alert_sink_opts o = { .resend_interval_usec = c->resend_usec, .timeout_usec = c->timeout_usec };

                r = alert_sink_new(a->loop, c->kind == CONFIG_SINK_ALERTMANAGER ? ALERT_ALERTMANAGER : ALERT_WEBHOOK,
                                   c->name, c->url, &o, &k->alert);
        }
        if (r < 0) {
                log_msg(LOG_LEVEL_ERROR, r, "alerts.%s: cannot set up this destination", c->name);
                sink_done(k);
        }
        return r;
}

int actions_new(struct loop *l, const struct config_sink *sinks, size_t n_sinks, const char *state_dir,
                char *const *envp, const struct actions_ops *ops, void *userdata, struct actions **ret) {
        struct actions *a = calloc(1, sizeof *a);
        int r;

        if (!a)
                return -ENOMEM;
        a->loop = l;
        a->ops = ops;
        a->userdata = userdata;
        if (strv_copy(envp, &a->envp) < 0) {
                free(a);
                return -ENOMEM;
        }
        r = actions_update(a, sinks, n_sinks, state_dir);
        if (r < 0) {
                actions_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

struct actions *actions_free(struct actions *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < a->n_sinks; i++)
                sink_done(&a->sinks[i]);
        free(a->sinks);
        free(a->state_dir);
        strv_free(a->envp);
        free(a);
        return NULL;
}

int actions_update(struct actions *a, const struct config_sink *sinks, size_t n_sinks, const char *state_dir) {
        struct sink *v = n_sinks ? calloc(n_sinks, sizeof *v) : NULL;
        bool *kept = a->n_sinks ? calloc(a->n_sinks, sizeof *kept) : NULL;
        char *dir = state_dir ? strdup(state_dir) : NULL;
        int r = 0;

        if ((n_sinks && !v) || (a->n_sinks && !kept) || (state_dir && !dir)) {
                free(v);
                free(kept);
                free(dir);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_sinks && r == 0; i++) {
                for (size_t j = 0; j < a->n_sinks; j++)
                        if (!kept[j] && sink_same(&a->sinks[j].cfg, &sinks[i])) {
                                v[i] = a->sinks[j];
                                kept[j] = true;
                                break;
                        }
                if (!v[i].cfg.name)
                        r = sink_make(a, &sinks[i], &v[i]);
        }
        if (r < 0) {
                /* Undo: the new ones go, the kept ones stay where they were. */
                for (size_t i = 0; i < n_sinks; i++) {
                        bool was_kept = false;

                        for (size_t j = 0; j < a->n_sinks; j++)
                                was_kept |= kept[j] && a->sinks[j].cfg.name == v[i].cfg.name;
                        if (!was_kept && v[i].cfg.name)
                                sink_done(&v[i]);
                }
                free(v);
                free(kept);
                free(dir);
                return r;
        }
        for (size_t j = 0; j < a->n_sinks; j++)
                if (!kept[j])
                        sink_done(&a->sinks[j]);
        free(a->sinks);
        free(kept);
        a->sinks = v;
        a->n_sinks = n_sinks;
        free(a->state_dir);
        a->state_dir = dir;
        return 0;
}

int actions_hook_exited(struct actions *a, pid_t pid, int status) {
        for (size_t i = 0; i < a->n_sinks; i++)
                if (a->sinks[i].hook && hook_exited(a->sinks[i].hook, pid, status) == 0)
                        return 0;
        return -ESRCH;
}

const char *actions_state_dir(const struct actions *a) {
        return a->state_dir;
}

size_t actions_n_sinks(const struct actions *a) {
        return a->n_sinks;
}

void actions_sink_view(const struct actions *a, size_t i, struct actions_sink_view *ret) {
        const struct sink *k = &a->sinks[i];

        *ret = (struct actions_sink_view){ .name = k->cfg.name };
        if (k->hook) {
                const struct hook_stats *st = hook_get_stats(k->hook);

                ret->kind = "exec";
                ret->delivered = st->ok;
                ret->failed = st->failed;
                ret->dropped = st->dropped;
        } else if (k->alert) {
                const struct alert_sink_stats *st = alert_sink_stats(k->alert);

                ret->kind = alert_kind_to_string(alert_sink_kind(k->alert));
                ret->delivered = st->sent;
                ret->failed = st->failed;
                ret->dropped = st->dropped;
                ret->given_up = st->given_up;
        }
}

static struct sink *sink_find(struct actions *a, const char *name) {
        for (size_t i = 0; i < a->n_sinks; i++)
                if (!strcmp(a->sinks[i].cfg.name, name))
                        return &a->sinks[i];
        return NULL;
}

/* ---- a service ---- */

int actions_service_new(struct actions *a, const struct config_service *spec, const struct actions_service_ops *ops,
                        void *userdata, struct actions_service **ret) {
        struct actions_service *as;
        bool any = false;
        int r;

        *ret = NULL;
        for (int d = 0; d < DETECTOR__COUNT; d++)
                any |= spec->detect.enabled[d];
        if (!any)
                return 0;
        as = calloc(1, sizeof *as);
        if (!as)
                return -ENOMEM;
        as->a = a;
        as->ops = ops;
        as->userdata = userdata;
        as->keep = spec->dump_keep ? spec->dump_keep : 5;
        as->sigquit = spec->dump_sigquit;
        as->act = spec->actions;
        as->name = strdup(spec->name);
        as->pprof_url = spec->pprof_url ? strdup(spec->pprof_url) : NULL;
        as->socket = spec->scrape_socket ? strdup(spec->scrape_socket) : NULL;
        if (!as->name || (spec->pprof_url && !as->pprof_url) || (spec->scrape_socket && !as->socket)) {
                actions_service_free(as);
                return -ENOMEM;
        }
        r = detect_new(&spec->detect, &as->det);
        if (r < 0) {
                actions_service_free(as);
                return r;
        }
        *ret = as;
        return 0;
}

struct actions_service *actions_service_free(struct actions_service *as) {
        if (!as)
                return NULL;
        http_client_free(as->client);
        detect_free(as->det);
        free(as->pending);
        free(as->resolution);
        free(as->name);
        free(as->pprof_url);
        free(as->socket);
        free(as);
        return NULL;
}

const struct detect *actions_service_detect(const struct actions_service *as) {
        return as->det;
}

uint64_t actions_service_fires(const struct actions_service *as, enum detector d) {
        return (unsigned)d < DETECTOR__COUNT ? as->fires[d] : 0;
}

uint64_t actions_service_restarts(const struct actions_service *as) {
        return as->restarts;
}

void actions_service_started(struct actions_service *as, const struct detect_context *ctx) {
        detect_set_context(as->det, ctx);
}

/* ---- a finding as JSON, labels and variables ---- */

static void member_real(struct json_writer *w, const char *k, double v) {
        json_key(w, k);
        if (isnan(v))
                json_null(w);
        else
                json_real(w, v);
}

static void member_time(struct json_writer *w, const char *k, double t) {
        char buf[UTC_MS_LEN];

        fmt_utc_ms(buf, actions_wall_usec(t));
        json_member_string(w, k, buf);
}

static void write_finding(struct json_writer *w, const struct actions_service *as, const struct detect_finding *f,
                          const struct godump *proof, int proof_status) {
        json_begin_object(w);
        json_member_string(w, "service", as->name);
        json_member_string(w, "detector", detector_name(f->detector));
        json_member_string(w, "metric", f->metric_name);
        json_member_string(w, "event", f->active ? "fire" : "resolve");
        json_member_string(w, "severity", detect_severity_name(f->severity));
        json_member_string(w, "summary", f->summary);
        json_member_string(w, "cause", f->cause[0] ? f->cause : NULL);
        member_time(w, "since", f->since);
        member_time(w, "at", f->at);
        member_real(w, "value", f->value);
        member_real(w, "threshold", f->threshold);
        member_real(w, "limit", f->limit);
        member_real(w, "rate_per_hour", f->rate_per_hour);
        member_real(w, "growth", f->growth);
        member_real(w, "baseline", f->baseline);
        member_real(w, "eta_seconds", f->eta_seconds);
        json_member_uint(w, "fires", as->fires[f->detector]);
        json_member_uint(w, "restarts_for_findings", as->restarts);
        if (f->detector == DETECTOR_LEAK && proof_status) {
                json_key(w, "proof");
                json_begin_object(w);
                json_member_string(w, "profile", "goroutineleak");
                json_member_bool(w, "supported", proof_status == 200);
                if (proof) {
                        json_member_uint(w, "leaked", proof->profile_total);
                        json_key(w, "dump");
                        godump_write_json(w, proof, PROOF_GROUPS);
                }
                json_end_object(w);
        }
        json_end_object(w);
}

/* "GorralLeak", "GorralLimitChange". */
static void alert_name(enum detector d, char *buf, size_t n) {
        const char *s = detector_name(d);
        size_t o = (size_t)snprintf(buf, n, "Gorral");
        bool up = true;

        for (; *s && o + 1 < n; s++) {
                if (*s == '_') {
                        up = true;
                        continue;
                }
                buf[o++] = up && *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
                up = false;
        }
        buf[o] = '\0';
}

static void fmt_value(char *buf, size_t n, double v) {
        if (isnan(v))
                buf[0] = '\0';
        else
                snprintf(buf, n, "%.6g", v);
}

static void deliver(struct actions_service *as, const struct detect_finding *f, const char *json, size_t len) {
        const struct config_actions *act = &as->act[f->detector];
        char key[160], an[48], val[32], sev[16];
        char l_alert[64], l_service[96], l_detector[64], l_metric[64], l_severity[40];
        char a_summary[DETECT_SUMMARY_MAX + 16], a_desc[DETECT_CAUSE_MAX + 16], a_value[48];
        char e_service[96], e_detector[64], e_event[32], e_severity[40], e_summary[DETECT_SUMMARY_MAX + 24];
        char e_metric[64], e_value[48], e_cause[DETECT_CAUSE_MAX + 24];

        if (act->n_sinks == 0)
                return;
        snprintf(key, sizeof key, "%s/%s/%s", as->name, detector_name(f->detector), f->metric_name ? f->metric_name : "");
        alert_name(f->detector, an, sizeof an);
        fmt_value(val, sizeof val, f->value);
        snprintf(sev, sizeof sev, "%s", detect_severity_name(f->severity));
        snprintf(l_alert, sizeof l_alert, "alertname=%s", an);
        snprintf(l_service, sizeof l_service, "service=%s", as->name);
        snprintf(l_detector, sizeof l_detector, "detector=%s", detector_name(f->detector));
        snprintf(l_metric, sizeof l_metric, "metric=%s", f->metric_name ? f->metric_name : "");
        snprintf(l_severity, sizeof l_severity, "severity=%s", sev);
        snprintf(a_summary, sizeof a_summary, "summary=%s", f->summary);
        snprintf(a_desc, sizeof a_desc, "description=%s", f->cause);
        snprintf(a_value, sizeof a_value, "value=%s", val);
        snprintf(e_service, sizeof e_service, "GORRAL_SERVICE=%s", as->name);
        snprintf(e_detector, sizeof e_detector, "GORRAL_DETECTOR=%s", detector_name(f->detector));
        snprintf(e_event, sizeof e_event, "GORRAL_EVENT=%s", f->active ? "fire" : "resolve");
        snprintf(e_severity, sizeof e_severity, "GORRAL_SEVERITY=%s", sev);
        snprintf(e_summary, sizeof e_summary, "GORRAL_SUMMARY=%s", f->summary);
        snprintf(e_metric, sizeof e_metric, "GORRAL_METRIC=%s", f->metric_name ? f->metric_name : "");
        snprintf(e_value, sizeof e_value, "GORRAL_VALUE=%s", val);
        snprintf(e_cause, sizeof e_cause, "GORRAL_CAUSE=%s", f->cause);

        const char *labels[] = { l_alert, l_service, l_detector, l_metric, l_severity, NULL };
        const char *annotations[] = { a_summary, a_desc, a_value, NULL };
        const char *env[] = { e_service, e_detector, e_event, e_severity, e_summary, e_metric, e_value, e_cause, NULL };
        struct alert al = {
                .key = key, .labels = labels, .annotations = annotations, .json = json,
                .starts_at_usec = actions_wall_usec(f->since),
                .ends_at_usec = f->active ? 0 : actions_wall_usec(f->at),
        };

        for (unsigned i = 0; i < act->n_sinks; i++) {
                struct sink *k = sink_find(as->a, act->sink[i]);
                int r = 0;

                if (!k)
                        continue;     /* a reload removed it; config_parse checks the names */
                if (k->alert)
                        r = alert_send(k->alert, &al);
                else if (k->hook)
                        r = hook_run(k->hook, json, len, env);
                if (r < 0)
                        log_msg(LOG_LEVEL_WARN, r, "service %s: finding %s not handed to alerts.%s", as->name,
                                detector_name(f->detector), k->cfg.name);
        }
}

static void log_finding(const struct actions_service *as, const struct detect_finding *f, const struct godump *proof,
                        int proof_status) {
        char value[32], rate[32], growth[32], eta[32], leaked[32];

        fmt_value(value, sizeof value, f->value);
        fmt_value(rate, sizeof rate, f->rate_per_hour);
        fmt_value(growth, sizeof growth, f->growth);
        fmt_value(eta, sizeof eta, f->eta_seconds);
        snprintf(leaked, sizeof leaked, "%s",
                 proof ? "" : proof_status == 404 ? "unsupported" : proof_status ? "unavailable" : "");
        if (proof)
                snprintf(leaked, sizeof leaked, "%llu", (unsigned long long)proof->profile_total);
        log_event(f->active ? (f->severity == DETECT_CRITICAL ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN) : LOG_LEVEL_INFO,
                  f->active ? "finding" : "finding_resolved", "service", as->name, "detector",
                  detector_name(f->detector), LOG_OPT(f->metric_name, "metric"), f->metric_name, "severity",
                  detect_severity_name(f->severity), "summary", f->summary, LOG_OPT(value[0], "value"), value,
                  LOG_OPT(rate[0], "rate_per_hour"), rate, LOG_OPT(growth[0], "growth"), growth,
                  LOG_OPT(eta[0], "eta_seconds"), eta, LOG_OPT(f->cause[0], "cause"), f->cause,
                  LOG_OPT(leaked[0], "leak_profile"), leaked, NULL);
}

/* Log it, and hand it to the detector's destinations. */
static void dispatch(struct actions_service *as, const struct detect_finding *f, const struct godump *proof,
                     int proof_status) {
        struct json_writer w;
        _cleanup_free_ char *json = NULL;
        size_t len = 0;

        log_finding(as, f, proof, proof_status);
        if (as->act[f->detector].n_sinks == 0)
                return;
        json_writer_init(&w, FINDING_JSON_MAX);
        write_finding(&w, as, f, proof, proof_status);
        if (json_writer_steal(&w, &json, &len) < 0) {
                /* Too big with the proof's stacks: without them. */
                json_writer_done(&w);
                json_writer_init(&w, FINDING_JSON_MAX);
                write_finding(&w, as, f, NULL, proof_status);
                if (json_writer_steal(&w, &json, &len) < 0) {
                        json_writer_done(&w);
                        log_msg(LOG_LEVEL_WARN, -ENOMEM, "service %s: finding not sent", as->name);
                        return;
                }
        }
        json_writer_done(&w);
        deliver(as, f, json, len);
}

/* ---- dumps ---- */

/* "http://h:p/debug/pprof/goroutine?debug=1" with the path's last part
 * swapped for leaf and the query for query: NULL when the URL does not end
 * in /goroutine (then there is no profile next to it to ask). */
char *actions_profile_url(const char *url, const char *leaf, const char *query) {
        size_t n = strcspn(url, "?#");
        static const char tail[] = "/goroutine";
        char *out;

        if (n < sizeof tail - 1 || memcmp(url + n - (sizeof tail - 1), tail, sizeof tail - 1) != 0)
                return NULL;
        if (asprintf(&out, "%.*s/%s?%s", (int)(n - (sizeof tail - 1)), url, leaf, query) < 0)
                return NULL;
        return out;
}

static int mkdir_p(const char *path, mode_t mode) {
        char buf[PATH_MAX];
        size_t n = strlen(path);

        if (n >= sizeof buf)
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int name_cmp(const void *x, const void *y) {
        return strcmp(*(char *const *)x, *(char *const *)y);
}

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);

        return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Keep the newest keep files of dir whose names end in suffix and not in
 * other (names sort by time). */
static void prune(const char *dir, unsigned keep, const char *suffix, const char *other) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        char *names[CONFIG_DUMP_KEEP_MAX * 2 + 16];
        size_t n = 0;
        struct dirent *e;

        if (!d)
                return;
        while ((e = readdir(d)) && n < ELEMENTSOF(names))
                if (e->d_name[0] != '.' && ends_with(e->d_name, suffix) && !(other && ends_with(e->d_name, other)) &&
                    (names[n] = strdup(e->d_name)))
                        n++;
        qsort(names, n, sizeof *names, name_cmp);
        for (size_t i = 0; i < n; i++) {
                if (i + keep < n)
                        (void)unlinkat(dirfd(d), names[i], 0);
                free(names[i]);
        }
}

int actions_save_dump(const char *state_dir, const char *service, const char *tag, int64_t wall_usec,
                      const char *body, size_t n, unsigned keep, const char *keep_suffix, const char *other_suffix,
                      char **ret) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        _cleanup_close_ int fd = -1;
        struct utc_time u;
        int r;

        *ret = NULL;
        if (asprintf(&dir, "%s/dumps/%s", state_dir, service) < 0)
                return -ENOMEM;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        utc_from_epoch(wall_usec / 1000000, &u);
        if (asprintf(&path, "%s/%04d%02u%02uT%02u%02u%02u.%03dZ-%s.txt", dir, u.year, u.month, u.day, u.hour, u.minute,
                     u.second, (int)(wall_usec / 1000 % 1000), tag) < 0)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        r = write_all(fd, body, n);
        if (r < 0)
                return r;
        prune(dir, keep, keep_suffix, other_suffix);
        *ret = path;
        path = NULL;
        return 0;
}

/* Save body under STATE/dumps/SERVICE/ as the finding's; the newest keep
 * dumps of the service stay. *ret the path (malloc'd) or NULL. */
static int save_dump(struct actions_service *as, const struct detect_finding *f, const char *body, size_t n,
                     char **ret) {
        *ret = NULL;
        if (!as->a->state_dir)
                return 0;
        return actions_save_dump(as->a->state_dir, as->name, detector_name(f->detector), actions_wall_usec(f->at),
                                 body, n, as->keep, ".txt", ACTIONS_DBUS_DUMP_SUFFIX, ret);
}

static void log_dump(const struct actions_service *as, const struct godump *d, const char *file) {
        char goroutines[24], groups[24], top[320] = "";

        snprintf(goroutines, sizeof goroutines, "%llu", (unsigned long long)d->goroutines);
        snprintf(groups, sizeof groups, "%zu", d->n_groups);
        if (d->n_groups) {
                const struct godump_group *g = &d->groups[0];
                const struct godump_frame *c = godump_group_culprit(g);
                char h[96];

                godump_group_header(g, h, sizeof h);
                snprintf(top, sizeof top, "%llu %s %s", (unsigned long long)g->count, c ? c->func : "?", h);
        }
        log_event(LOG_LEVEL_WARN, "dump", "service", as->name, "goroutines", goroutines, "groups", groups,
                  LOG_OPT(file, "file"), file, "top", top, NULL);
        for (size_t i = 0; i < d->n_groups && i < SUMMARY_GROUPS; i++) {
                const struct godump_group *g = &d->groups[i];
                const struct godump_frame *c = godump_group_culprit(g);
                char rank[8], count[24], h[96], frames[512] = "", creator[256] = "";
                size_t o = 0;

                snprintf(rank, sizeof rank, "%zu", i + 1);
                snprintf(count, sizeof count, "%llu", (unsigned long long)g->count);
                godump_group_header(g, h, sizeof h);
                for (size_t k = 0; k < g->n_frames && k < 4 && o < sizeof frames; k++) {
                        int w = snprintf(frames + o, sizeof frames - o, "%s%s (%s:%u)", k ? " < " : "",
                                         g->frames[k].func, g->frames[k].file ? g->frames[k].file : "?",
                                         g->frames[k].line);
                        if (w < 0)
                                break;
                        o += (size_t)w;
                }
                if (g->creator.func)
                        snprintf(creator, sizeof creator, "%s (%s:%u)", g->creator.func,
                                 g->creator.file ? g->creator.file : "?", g->creator.line);
                log_event(LOG_LEVEL_WARN, "dump_group", "service", as->name, "rank", rank, "count", count, "state", h,
                          "culprit", c ? c->func : "", "frames", frames, LOG_OPT(creator[0], "created_by"), creator,
                          NULL);
        }
}

/* Count a restart for a finding; say so when they come again and again. */
static void count_restart(struct actions_service *as, const struct detect_finding *f) {
        uint64_t now = now_usec(), oldest;

        as->restart_usec[as->restarts % LOOP_RESTARTS] = now;
        as->restarts++;
        oldest = as->restart_usec[as->restarts % LOOP_RESTARTS];
        if (as->restarts >= LOOP_RESTARTS && now - oldest < LOOP_WINDOW_USEC) {
                char n[24];

                snprintf(n, sizeof n, "%llu", (unsigned long long)as->restarts);
                log_event(LOG_LEVEL_ERROR, "restart_loop", "service", as->name, "detector", detector_name(f->detector),
                          "restarts_for_findings", n,
                          "msg", "restarted for findings again and again: the cause is in the service's code or its "
                                 "limits, and a restart only buys time (see the dumps)", NULL);
        }
}

static void note_restart(struct actions_service *as, const struct detect_finding *f) {
        as->restart_asked = true;
        count_restart(as, f);
        as->ops->restart(as->userdata, f);
}

/* Group, save and log a dump taken for finding f. */
static void keep_dump(struct actions_service *as, const struct detect_finding *f, const char *body, size_t n) {
        _cleanup_(godump_freep) struct godump *d = NULL;
        _cleanup_free_ char *file = NULL;
        int e = godump_parse(body, n, &d);

        if (e < 0) {
                log_msg(LOG_LEVEL_WARN, e, "service %s: the goroutine dump could not be read", as->name);
                return;
        }
        e = save_dump(as, f, body, n, &file);
        if (e < 0)
                log_msg(LOG_LEVEL_WARN, e, "service %s: cannot save the goroutine dump under %s", as->name,
                        as->a->state_dir);
        log_dump(as, d, file);
}

void actions_service_captured(struct actions_service *as, const char *buf, size_t n) {
        if (!as->awaiting_sigquit)
                return;
        as->awaiting_sigquit = false;
        if (n == 0) {
                log_event(LOG_LEVEL_WARN, "dump_failed", "service", as->name, "msg",
                          "nothing on stderr after SIGQUIT (GOTRACEBACK=none, or stderr redirected by the service)",
                          NULL);
                return;
        }
        keep_dump(as, as->pending, buf, n);
}

static void dump_done(struct http_client *c _unused_, const struct http_result *r, void *userdata) {
        struct actions_service *as = userdata;
        struct detect_finding f = *as->pending;

        as->fetching_dump = false;
        if (r->error != HTTP_OK || r->status != 200)
                log_event(LOG_LEVEL_WARN, "dump_failed", "service", as->name, "msg",
                          r->message ? r->message : "the goroutine profile did not answer 200", NULL);
        else
                keep_dump(as, &f, r->body, r->body_len);
        as->client = http_client_free(as->client);
        note_restart(as, &f);
}

static void begin_restart(struct actions_service *as, const struct detect_finding *f) {
        _cleanup_free_ char *url = NULL;
        struct http_client_opts o = { .total_timeout_usec = DUMP_TIMEOUT_USEC, .body_max = DUMP_BODY_MAX };
        int r;

        /* One restart at a time, and once per process (two findings in one
         * row); a SIGQUIT capture under way is a restart asked. */
        if (as->fetching_dump || as->restart_asked)
                return;
        /* The finding a dump is for is kept while it comes: allocated at
         * the first, since most services never need it (616 bytes). */
        if (!as->pending && !(as->pending = malloc(sizeof *as->pending))) {
                note_restart(as, f);
                return;
        }
        if (as->fetching_proof) {
                /* After the leak proof in flight (one fetch at a time). */
                as->restart_after_proof = true;
                return;
        }
        /* A hung service (its watchdog) will not answer a debug=2 page:
         * its stacks come with the SIGABRT, on its stderr. */
        if (as->pprof_url && !as->client && f->detector != DETECTOR_WATCHDOG)
                url = actions_profile_url(as->pprof_url, "goroutine", "debug=2");
        if (!url && (as->sigquit || f->detector == DETECTOR_WATCHDOG) && as->ops->sigquit &&
            as->ops->sigquit(as->userdata, f)) {
                /* Go prints every goroutine on SIGQUIT and exits 2: the
                 * dump comes with its exit (actions_service_captured). */
                *as->pending = *f;
                as->awaiting_sigquit = true;
                as->restart_asked = true;
                count_restart(as, f);
                return;
        }
        if (!url) {
                log_event(LOG_LEVEL_INFO, "dump_skipped", "service", as->name, "msg",
                          as->pprof_url ? "pprof_url does not end in /goroutine: no debug=2 page to ask"
                                        : "no pprof_url (and no dump.sigquit): restarting without a goroutine dump",
                          NULL);
                note_restart(as, f);
                return;
        }
        r = http_client_new(as->a->loop, url, as->socket, &o, &as->client);
        if (r == 0)
                r = http_client_get(as->client, NULL, dump_done, as);
        if (r < 0) {
                as->client = http_client_free(as->client);
                log_msg(LOG_LEVEL_WARN, r, "service %s: cannot ask for a goroutine dump", as->name);
                note_restart(as, f);
                return;
        }
        *as->pending = *f;
        as->fetching_dump = true;
}

/* ---- the leak proof ---- */

static void proof_done(struct http_client *c _unused_, const struct http_result *r, void *userdata) {
        struct actions_service *as = userdata;
        struct detect_finding f = *as->pending;
        _cleanup_(godump_freep) struct godump *d = NULL;
        bool restart = as->restart_after_proof;
        int status = r->error == HTTP_OK ? r->status : -1;

        as->fetching_proof = false;
        as->restart_after_proof = false;
        as->client = http_client_free(as->client);
        if (status == 200 && godump_parse(r->body, r->body_len, &d) < 0)
                status = -1;
        /* The finding may have resolved while the fetch ran: it is said
         * as it was when it fired, then its resolution (already logged)
         * stands. */
        dispatch(as, &f, d, status);
        if (as->resolved_during_proof) {
                as->resolved_during_proof = false;
                dispatch(as, as->resolution, NULL, 0);
                restart = false;      /* the trouble is over: nothing to restart for */
        }
        if (restart)
                begin_restart(as, &f);
}

static bool begin_proof(struct actions_service *as, const struct detect_finding *f, bool restart) {
        _cleanup_free_ char *url = NULL;
        struct http_client_opts o = { .total_timeout_usec = DUMP_TIMEOUT_USEC, .body_max = DUMP_BODY_MAX };

        if (!as->pprof_url || as->client || f->detector != DETECTOR_LEAK || f->metric_name == NULL ||
            strcmp(f->metric_name, "goroutines") != 0)
                return false;
        if (!as->pending && !(as->pending = malloc(sizeof *as->pending)))
                return false;
        url = actions_profile_url(as->pprof_url, "goroutineleak", "debug=1");
        if (!url || http_client_new(as->a->loop, url, as->socket, &o, &as->client) < 0)
                return false;
        if (http_client_get(as->client, NULL, proof_done, as) < 0) {
                as->client = http_client_free(as->client);
                return false;
        }
        *as->pending = *f;
        as->fetching_proof = true;
        as->resolved_during_proof = false;
        as->restart_after_proof = restart;
        return true;
}

/* ---- events ---- */

static void on_finding(void *userdata, const struct detect_finding *f) {
        struct actions_service *as = userdata;
        bool restart;

        if (f->active)
                as->fires[f->detector]++;
        restart = f->active && as->act[f->detector].restart;
        if (f->active && f->detector == DETECTOR_LEAK && begin_proof(as, f, restart))
                return;
        if (!f->active && as->fetching_proof && as->pending->slot == f->slot) {
                /* Resolved before its proof came back: the fire goes out
                 * first, then this. */
                if (!as->resolution)
                        as->resolution = malloc(sizeof *as->resolution);
                if (as->resolution) {
                        *as->resolution = *f;
                        as->resolved_during_proof = true;
                        return;
                }
        }
        dispatch(as, f, NULL, 0);
        if (restart)
                begin_restart(as, f);
}

void actions_service_row(struct actions_service *as, const double *v, uint64_t t_usec, bool reset) {
        struct detect_sample s = { .t = (double)t_usec / 1e6, .reset = reset, .v = v };

        detect_feed(as->det, &s, on_finding, as);
}

void actions_service_watchdog(struct actions_service *as, double interval) {
        detect_watchdog_missed(as->det, (double)now_usec() / 1e6, interval, on_finding, as);
}

void actions_service_stopped(struct actions_service *as) {
        as->restart_asked = false;
        detect_stopped(as->det, (double)now_usec() / 1e6, on_finding, as);
}
