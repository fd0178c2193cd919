/* alert.c: webhook and Alertmanager sinks on the loop. See alert.h.
 *
 * A sink holds its pending deliveries in one array in arrival order (at
 * most queue_max, so every lookup is a short linear scan): for a webhook
 * each item is one event, and only items[0] is ever in flight; for an
 * Alertmanager each item is one key with its newest state, serialised
 * once as its JSON object, and a POST carries every item due (a batch).
 * One timer drives the sink: the next due item, or the end of the backoff
 * while a failure streak lasts. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gorral/alert.h"
#include "gorral/http.h"
#include "gorral/json.h"
#include "gorral/log.h"
#include "gorral/loop.h"
#include "gorral/util.h"

#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })

static void *mfree(void *p) {
        free(p);
        return NULL;
}

struct item {
        char *key;
        char *body;              /* webhook: the finding's JSON; alertmanager: the alert object */
        size_t body_len;
        char *labels;            /* alertmanager: the labels object as serialised, to see a change */
        char *stale;             /* alertmanager: the resolution of a replaced label set, sent once */
        size_t stale_len;
        int64_t starts_at_usec;
        bool resolved;           /* this state carries endsAt */
        bool delivered;          /* alertmanager: the current label set reached the receiver */
        bool in_flight;          /* part of the POST in flight */
        bool stale_in_flight;
        bool dirty;              /* a newer state arrived while in flight */
        uint64_t due_usec;       /* alertmanager: monotonic time of the next send */
        unsigned attempts;       /* failed POSTs of this state */
};

struct alert_sink {
        struct loop *loop;
        enum alert_kind kind;
        char *name;
        char *url;
        char *generator_url;
        struct http_client *client;
        struct alert_sink_opts opt;
        struct loop_timer timer;

        struct item **items;
        size_t n_items, cap_items;

        bool in_flight;
        uint64_t retry_at_usec;  /* while failing: no POST before this */
        uint64_t failing_since_usec;
        bool drop_logged;        /* one "dropped" warning per failure streak */
        uint64_t rng;
        struct alert_sink_stats stats;
        char last_error[16];
};

/* ---- names, time, URLs ---- */

static int64_t realtime_now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *const kind_names[_ALERT_KIND_MAX] = {
        [ALERT_WEBHOOK] = "webhook",
        [ALERT_ALERTMANAGER] = "alertmanager",
};

const char *alert_kind_to_string(enum alert_kind k) {
        return (unsigned)k < _ALERT_KIND_MAX ? kind_names[k] : NULL;
}

int alert_kind_from_string(const char *s) {
        for (int k = 0; s && k < _ALERT_KIND_MAX; k++)
                if (strcmp(s, kind_names[k]) == 0)
                        return k;
        return -EINVAL;
}

#define AM_PATH "/api/v2/alerts"

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);

        return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Parse and check url; *ret (when not NULL) gets the URL to post to. */
static int url_resolve(enum alert_kind kind, const char *url, char **ret, const char **reterr_reason) {
        struct http_url u;
        const char *why = NULL;
        struct in_addr a4;
        struct in6_addr a6;
        char *out = NULL;
        int r;

        if ((unsigned)kind >= _ALERT_KIND_MAX || !url) {
                if (reterr_reason)
                        *reterr_reason = "no URL";
                return -EINVAL;
        }
        if (strncasecmp(url, "https://", 8) == 0) {
                if (reterr_reason)
                        *reterr_reason = ALERT_HTTPS_ADVICE;
                return -EPROTONOSUPPORT;
        }
        r = http_url_parse(url, &u, &why);
        if (r < 0) {
                if (reterr_reason)
                        *reterr_reason = why ? why : "not a URL";
                return r;
        }
        if (!(u.ipv6 ? inet_pton(AF_INET6, u.host, &a6) == 1
                     : strcasecmp(u.host, "localhost") == 0 || inet_pton(AF_INET, u.host, &a4) == 1)) {
                http_url_done(&u);
                if (reterr_reason)
                        *reterr_reason = "the host must be an IP address or localhost (no DNS lookups on the loop)";
                return -EADDRNOTAVAIL;
        }
        if (kind == ALERT_ALERTMANAGER && (ends_with(u.path, "/api/v1/alerts") || ends_with(u.path, "/api/v1/alerts/"))) {
                http_url_done(&u);
                if (reterr_reason)
                        *reterr_reason = "Alertmanager's API v1 is gone since 0.27: give its base URL, gorral posts to /api/v2/alerts";
                return -EINVAL;
        }
        if (ret) {
                const char *path = u.path, *add = "";
                size_t pn = strlen(path);
                int n;

                if (kind == ALERT_ALERTMANAGER && !ends_with(path, AM_PATH)) {
                        while (pn > 0 && path[pn - 1] == '/')
                                pn--;
                        add = AM_PATH;
                }
                n = asprintf(&out, "http://%s%s%s:%u%.*s%s%s%s", u.ipv6 ? "[" : "", u.host, u.ipv6 ? "]" : "",
                             u.port, (int)pn, path, add, u.query ? "?" : "", u.query ? u.query : "");
                if (n < 0) {
                        http_url_done(&u);
                        return -ENOMEM;
                }
                *ret = out;
        }
        http_url_done(&u);
        return 0;
}

int alert_url_check(enum alert_kind kind, const char *url, const char **reterr_reason) {
        return url_resolve(kind, url, NULL, reterr_reason);
}

/* ---- items ---- */

static void item_free(struct item *it) {
        if (!it)
                return;
        free(it->key);
        free(it->body);
        free(it->labels);
        free(it->stale);
        free(it);
}

static void remove_at(struct alert_sink *s, size_t i) {
        item_free(s->items[i]);
        memmove(s->items + i, s->items + i + 1, (s->n_items - i - 1) * sizeof *s->items);
        s->n_items--;
}

static ssize_t find_key(const struct alert_sink *s, const char *key) {
        for (size_t i = 0; i < s->n_items; i++)
                if (strcmp(s->items[i]->key, key) == 0)
                        return (ssize_t)i;
        return -1;
}

static void count_active(struct alert_sink *s) {
        size_t n = 0;

        if (s->kind == ALERT_ALERTMANAGER)
                for (size_t i = 0; i < s->n_items; i++)
                        n += !s->items[i]->resolved;
        s->stats.active = n;
        s->stats.pending = s->n_items;
}

/* ---- scheduling ---- */

static uint64_t rng_next(struct alert_sink *s) {
        /* xorshift64: jitter only, no need for more. */
        s->rng ^= s->rng << 13;
        s->rng ^= s->rng >> 7;
        s->rng ^= s->rng << 17;
        return s->rng;
}

/* The delay after the n-th failure in a row (n >= 1): initial, doubling,
 * at most max, then +-20%. */
static uint64_t backoff_usec(struct alert_sink *s, unsigned n) {
        uint64_t d = s->opt.backoff_initial_usec;

        for (unsigned i = 1; i < n && d < s->opt.backoff_max_usec; i++)
                d *= 2;
        if (d > s->opt.backoff_max_usec)
                d = s->opt.backoff_max_usec;
        /* [0.8, 1.2) of d, in thousandths. */
        return d / 1000 * (800 + rng_next(s) % 400) + d % 1000;
}

static void on_timer(struct loop *l, void *userdata);

static void schedule(struct alert_sink *s) {
        uint64_t at = UINT64_MAX, now = now_usec();

        loop_timer_disarm(s->loop, &s->timer);
        if (s->in_flight || s->n_items == 0)
                return;
        if (s->kind == ALERT_WEBHOOK)
                at = now;
        else
                for (size_t i = 0; i < s->n_items; i++) {
                        const struct item *it = s->items[i];
                        uint64_t due = it->stale ? now : it->due_usec;

                        if (due < at)
                                at = due;
                }
        if (s->stats.failing > 0 && s->retry_at_usec > at)
                at = s->retry_at_usec;
        if (loop_timer_arm(s->loop, &s->timer, at) < 0)
                /* No memory for the timer heap: the next alert_send()
                 * schedules again. */
                log_event(LOG_LEVEL_ERROR, "alert_timer", "sink", s->name, "msg", "cannot arm the timer, proceeding anyway",
                          NULL);
}

/* ---- outcomes ---- */

/* A status retrying cannot fix: the receiver refused what we said. */
static bool permanent_failure(const struct http_result *r) {
        return r->error == HTTP_ERR_STATUS && r->status >= 400 && r->status < 500 && r->status != 408 &&
               r->status != 429;
}

static void log_given_up(struct alert_sink *s, const struct item *it, const char *why) {
        log_event(LOG_LEVEL_WARN, "alert_given_up", "sink", s->name, "key", it->key, "event",
                  it->resolved ? "resolve" : "fire", "attempts", LF_INT(it->attempts), "reason", why, NULL);
}

static void delivered(struct alert_sink *s, const struct http_result *r) {
        uint64_t now = now_usec();
        size_t n_events = 0;

        s->stats.sent++;
        if (s->stats.failing > 0) {
                log_event(LOG_LEVEL_INFO, "alert_delivery_recovered", "sink", s->name, "url", s->url,
                          "failed_attempts", LF_INT(s->stats.failing), "down_ms",
                          LF_MS(now - s->failing_since_usec), NULL);
                s->stats.failing = 0;
        }
        s->drop_logged = false;
        (void)r;
        for (size_t i = 0; i < s->n_items;) {
                struct item *it = s->items[i];

                if (it->stale_in_flight) {
                        it->stale_in_flight = false;
                        it->stale = mfree(it->stale);
                        n_events++;
                }
                if (!it->in_flight) {
                        i++;
                        continue;
                }
                it->in_flight = false;
                n_events++;
                if (it->dirty) {
                        /* A newer state waits: it is due already. */
                        it->dirty = false;
                        i++;
                        continue;
                }
                if (s->kind == ALERT_WEBHOOK || it->resolved) {
                        remove_at(s, i);
                        continue;
                }
                it->delivered = true;
                it->attempts = 0;
                it->due_usec = now + s->opt.resend_interval_usec;
                i++;
        }
        s->stats.events_sent += n_events;
}

static void failed(struct alert_sink *s, const struct http_result *r) {
        uint64_t now = now_usec(), delay;
        bool permanent = permanent_failure(r);

        s->stats.failed++;
        s->stats.last_status = r->status;
        snprintf(s->last_error, sizeof s->last_error, "%s", http_error_name(r->error) ?: "system");
        s->stats.last_error = s->last_error;
        if (s->stats.failing++ == 0)
                s->failing_since_usec = now;
        delay = backoff_usec(s, s->stats.failing);
        s->retry_at_usec = now + delay;
        if (s->stats.failing == 1) {
                char body[201] = "";

                if (r->error == HTTP_ERR_STATUS && r->body)
                        snprintf(body, sizeof body, "%.*s", (int)(r->body_len < 200 ? r->body_len : 200), r->body);
                log_event(LOG_LEVEL_WARN, "alert_delivery_failed", "sink", s->name, "url", s->url, "error",
                          s->last_error, "status", LF_INT(r->status), "message", r->message ?: "", "response", body,
                          "retry_in_ms", LF_MS(delay), "msg", "retrying with backoff; one line when it recovers",
                          NULL);
        } else
                log_event(LOG_LEVEL_DEBUG, "alert_delivery_failed", "sink", s->name, "error", s->last_error, "status",
                          LF_INT(r->status), "attempt", LF_INT(s->stats.failing), "retry_in_ms", LF_MS(delay), NULL);
        for (size_t i = 0; i < s->n_items;) {
                struct item *it = s->items[i];

                it->stale_in_flight = false;
                if (!it->in_flight) {
                        i++;
                        continue;
                }
                it->in_flight = false;
                if (it->dirty) {
                        it->dirty = false;
                        i++;
                        continue;
                }
                it->attempts++;
                if (!permanent && it->attempts < s->opt.max_attempts) {
                        i++;
                        continue;
                }
                if (s->kind == ALERT_WEBHOOK || it->resolved) {
                        s->stats.given_up++;
                        log_given_up(s, it, permanent ? "refused by the receiver" : "too many failed attempts");
                        remove_at(s, i);
                        continue;
                }
                /* An active alert is not given up: its next re-send
                 * tries again (and carries its stale resolution along). */
                it->attempts = 0;
                it->due_usec = now + s->opt.resend_interval_usec;
                i++;
        }
}

static void on_posted(struct http_client *c, const struct http_result *r, void *userdata) {
        struct alert_sink *s = userdata;

        (void)c;
        s->in_flight = false;
        if (r->error == HTTP_OK)
                delivered(s, r);
        else
                failed(s, r);
        count_active(s);
        schedule(s);
}

/* ---- sending ---- */

static void post_failed_locally(struct alert_sink *s, int err);

/* Start the POST; a retry when the last one failed. */
static void post(struct alert_sink *s, const char *body, size_t len) {
        int r;

        if (s->stats.failing > 0)
                s->stats.retries++;
        r = http_client_post(s->client, "application/json", body, len, on_posted, s);
        if (r < 0) {
                post_failed_locally(s, r);
                return;
        }
        s->in_flight = true;
}

static void post_failed_locally(struct alert_sink *s, int err) {
        struct http_result r = { .error = HTTP_ERR_SYSTEM, .message = strerror(-err) };

        failed(s, &r);
        count_active(s);
        schedule(s);
}

static void send_webhook(struct alert_sink *s) {
        struct item *it = s->items[0];

        it->in_flight = true;
        post(s, it->body, it->body_len);
}

static void send_alertmanager(struct alert_sink *s) {
        uint64_t now = now_usec(), horizon = now + s->opt.resend_interval_usec / 2;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 2, n = 0;

        /* Sized for what is due (commas included), at most a batch. */
        for (size_t i = 0; i < s->n_items && cap < ALERT_BATCH_MAX + 2; i++) {
                const struct item *it = s->items[i];

                cap += (it->stale ? it->stale_len + 1 : 0) + (it->due_usec <= horizon ? it->body_len + 1 : 0);
        }
        if (cap > ALERT_BATCH_MAX + 2)
                cap = ALERT_BATCH_MAX + 2;
        buf = malloc(cap);
        if (!buf) {
                post_failed_locally(s, -ENOMEM);
                return;
        }
        buf[len++] = '[';
#define APPEND(p, k)                                                  \
        do {                                                          \
                if (n > 0)                                            \
                        buf[len++] = ',';                             \
                memcpy(buf + len, (p), (k));                          \
                len += (k);                                           \
                n++;                                                  \
        } while (0)
        for (size_t i = 0; i < s->n_items; i++) {
                struct item *it = s->items[i];
                size_t need = (it->stale ? it->stale_len + 1 : 0) + (it->due_usec <= horizon ? it->body_len + 1 : 0);

                if (need == 0)
                        continue;
                if (len + need + 1 > cap)
                        break; /* the next POST, right after this one */
                if (it->stale) {
                        APPEND(it->stale, it->stale_len);
                        it->stale_in_flight = true;
                }
                if (it->due_usec <= horizon) {
                        APPEND(it->body, it->body_len);
                        it->in_flight = true;
                        it->dirty = false;
                }
        }
#undef APPEND
        if (n == 0) {
                schedule(s);
                return;
        }
        buf[len++] = ']';
        post(s, buf, len);
}

static void on_timer(struct loop *l, void *userdata) {
        struct alert_sink *s = userdata;

        (void)l;
        if (s->in_flight || s->n_items == 0)
                return;
        if (s->kind == ALERT_WEBHOOK)
                send_webhook(s);
        else
                send_alertmanager(s);
}

/* ---- building what is sent ---- */

static bool label_name_ok(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';

                if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
                        return false;
        }
        return true;
}

/* Write pairs ("name=value", NULL-terminated) as an object; -EINVAL on a
 * malformed pair or a name given twice. *ret_has_alertname: one is
 * "alertname" with a value. */
static int write_pairs(struct json_writer *w, const char *const *pairs, bool *ret_has_alertname) {
        bool has = false;

        json_begin_object(w);
        for (size_t i = 0; pairs && pairs[i]; i++) {
                const char *eq = strchr(pairs[i], '=');
                size_t nl;

                if (!eq || !label_name_ok(pairs[i], (size_t)(eq - pairs[i])))
                        return -EINVAL;
                nl = (size_t)(eq - pairs[i]);
                for (size_t j = 0; j < i; j++)
                        if (strncmp(pairs[j], pairs[i], nl + 1) == 0)
                                return -EINVAL;
                if (eq[1] == '\0')
                        continue;
                if (nl == 9 && memcmp(pairs[i], "alertname", 9) == 0)
                        has = true;
                /* json_key wants a C string: the name is short. */
                char name[256];
                if (nl >= sizeof name)
                        return -EINVAL;
                memcpy(name, pairs[i], nl);
                name[nl] = '\0';
                json_member_string(w, name, eq + 1);
        }
        json_end_object(w);
        if (ret_has_alertname)
                *ret_has_alertname = has;
        return 0;
}

/* The alert object: labels (already serialised), annotations, times. */
static int am_object(const char *labels, const char *const *annotations, const char *generator_url,
                     int64_t starts_at_usec, int64_t ends_at_usec, char **ret, size_t *ret_len) {
        struct json_writer w;
        char t[UTC_MS_LEN];
        int r;

        json_writer_init(&w, ALERT_JSON_MAX);
        json_begin_object(&w);
        json_key(&w, "labels");
        json_raw(&w, labels, strlen(labels));
        json_key(&w, "annotations");
        r = write_pairs(&w, annotations, NULL);
        if (r < 0) {
                json_writer_done(&w);
                return r;
        }
        fmt_utc_ms(t, starts_at_usec);
        json_member_string(&w, "startsAt", t);
        if (ends_at_usec != 0) {
                fmt_utc_ms(t, ends_at_usec);
                json_member_string(&w, "endsAt", t);
        }
        if (generator_url && generator_url[0])
                json_member_string(&w, "generatorURL", generator_url);
        json_end_object(&w);
        r = json_writer_steal(&w, ret, ret_len);
        json_writer_done(&w);
        return r == -ENOBUFS ? -E2BIG : r;
}

/* Make room for one more item: drop the oldest not in flight (or, when
 * every item is in flight, the oldest: its outcome is then ignored). */
static void make_room(struct alert_sink *s) {
        size_t victim = 0;

        if (s->n_items < s->opt.queue_max)
                return;
        for (size_t i = 0; i < s->n_items; i++)
                if (!s->items[i]->in_flight) {
                        victim = i;
                        break;
                }
        s->stats.dropped++;
        if (!s->drop_logged) {
                log_event(LOG_LEVEL_WARN, "alert_dropped", "sink", s->name, "key", s->items[victim]->key, "queue_max",
                          LF_U64(s->opt.queue_max), "msg", "queue full: the oldest pending is dropped (one line per failure streak)",
                          NULL);
                s->drop_logged = true;
        }
        remove_at(s, victim);
}

static int append_item(struct alert_sink *s, struct item *it) {
        int r;

        make_room(s);
        r = GROW_ARRAY(s->items, s->cap_items, s->n_items + 1, ALERT_QUEUE_MAX);
        if (r < 0)
                return r;
        s->items[s->n_items++] = it;
        return 0;
}

static int send_webhook_event(struct alert_sink *s, const struct alert *a) {
        struct item *it;
        size_t n;
        int r;

        if (!a->json)
                return -EINVAL;
        n = strlen(a->json);
        if (n > ALERT_JSON_MAX)
                return -E2BIG;
        it = calloc(1, sizeof *it);
        if (!it)
                return -ENOMEM;
        it->key = strdup(a->key);
        it->body = strdup(a->json);
        it->body_len = n;
        it->resolved = a->ends_at_usec != 0;
        if (!it->key || !it->body) {
                item_free(it);
                return -ENOMEM;
        }
        r = append_item(s, it);
        if (r < 0)
                item_free(it);
        return r;
}

static int send_am_alert(struct alert_sink *s, const struct alert *a) {
        _cleanup_free_ char *labels = NULL, *body = NULL, *stale = NULL;
        size_t labels_len, body_len, stale_len = 0;
        const char *gen = a->generator_url ? a->generator_url : s->generator_url;
        int64_t ends = a->ends_at_usec, starts = a->starts_at_usec;
        struct json_writer w;
        bool has_alertname = false;
        struct item *it;
        ssize_t i;
        int r;

        json_writer_init(&w, ALERT_JSON_MAX);
        r = write_pairs(&w, a->labels, &has_alertname);
        if (r >= 0)
                r = json_writer_steal(&w, &labels, &labels_len);
        json_writer_done(&w);
        if (r < 0)
                return r == -ENOBUFS ? -E2BIG : r;
        if (!has_alertname)
                return -EINVAL;
        i = find_key(s, a->key);
        if (starts == 0)
                starts = i >= 0 ? s->items[i]->starts_at_usec : realtime_now_usec();
        /* Alertmanager refuses an end before the start. */
        if (ends != 0 && ends < starts)
                ends = starts;
        r = am_object(labels, a->annotations, gen, starts, ends, &body, &body_len);
        if (r < 0)
                return r;

        if (i >= 0) {
                it = s->items[i];
                if ((it->delivered || it->in_flight || it->resolved) && strcmp(it->labels, labels) != 0) {
                        /* The old label set is another alert to
                         * Alertmanager (or may be, with a POST of it in
                         * flight): end it, or it lingers until
                         * resolve_timeout. A pending resolution of it
                         * is that end already. */
                        if (it->resolved) {
                                stale = TAKE_PTR(it->body);
                                stale_len = it->body_len;
                        } else {
                                int64_t now_rt = realtime_now_usec();

                                r = am_object(it->labels, NULL, gen, it->starts_at_usec,
                                              now_rt > it->starts_at_usec ? now_rt : it->starts_at_usec, &stale,
                                              &stale_len);
                                if (r < 0)
                                        return r;
                        }
                        free(it->stale);
                        it->stale = TAKE_PTR(stale);
                        it->stale_len = stale_len;
                        it->stale_in_flight = false;
                        it->delivered = false;
                }
                /* An update of a firing alert that was delivered rides on
                 * its next re-send; a new state (fire again, resolution,
                 * new labels, or one never delivered) goes out now, and
                 * when a POST of the old one is in flight, its success
                 * does not count for the new one (dirty). */
                bool now_due = !(it->delivered && !it->resolved && ends == 0) || it->stale;

                if (now_due) {
                        it->due_usec = now_usec();
                        if (it->in_flight)
                                it->dirty = true;
                }
                if (it->resolved != (ends != 0))
                        it->attempts = 0;
                free(it->body);
                free(it->labels);
                it->body = TAKE_PTR(body);
                it->body_len = body_len;
                it->labels = TAKE_PTR(labels);
                it->starts_at_usec = starts;
                it->resolved = ends != 0;
                return 0;
        }
        it = calloc(1, sizeof *it);
        if (!it)
                return -ENOMEM;
        it->key = strdup(a->key);
        if (!it->key) {
                free(it);
                return -ENOMEM;
        }
        it->body = TAKE_PTR(body);
        it->body_len = body_len;
        it->labels = TAKE_PTR(labels);
        it->starts_at_usec = starts;
        it->resolved = ends != 0;
        it->due_usec = now_usec();
        r = append_item(s, it);
        if (r < 0)
                item_free(it);
        return r;
}

int alert_send(struct alert_sink *s, const struct alert *a) {
        int r;

        if (!s || !a || !a->key || !a->key[0])
                return -EINVAL;
        r = s->kind == ALERT_WEBHOOK ? send_webhook_event(s, a) : send_am_alert(s, a);
        if (r < 0)
                return r;
        count_active(s);
        schedule(s);
        return 0;
}

/* ---- the sink ---- */

int alert_sink_new(struct loop *l, enum alert_kind kind, const char *name, const char *url,
                   const struct alert_sink_opts *o, struct alert_sink **ret) {
        struct alert_sink_opts opt = o ? *o : (struct alert_sink_opts){ 0 };
        struct http_client_opts hopt = { 0 };
        struct alert_sink *s;
        char *post_url = NULL;
        int r;

        if (!l || !name || !name[0] || !ret || (unsigned)kind >= _ALERT_KIND_MAX)
                return -EINVAL;
        r = url_resolve(kind, url, &post_url, NULL);
        if (r < 0)
                return r;
        if (opt.resend_interval_usec == 0)
                opt.resend_interval_usec = ALERT_RESEND_DEFAULT_USEC;
        if (!opt.unchecked_intervals) {
                if (opt.resend_interval_usec < ALERT_RESEND_MIN_USEC || opt.resend_interval_usec > ALERT_RESEND_MAX_USEC) {
                        free(post_url);
                        return -ERANGE;
                }
                opt.backoff_initial_usec = 0;
                opt.backoff_max_usec = 0;
        }
        if (opt.backoff_initial_usec == 0)
                opt.backoff_initial_usec = ALERT_BACKOFF_INITIAL_USEC;
        if (opt.backoff_max_usec == 0)
                opt.backoff_max_usec = ALERT_BACKOFF_MAX_USEC;
        if (opt.backoff_max_usec < opt.backoff_initial_usec)
                opt.backoff_max_usec = opt.backoff_initial_usec;
        if (opt.max_attempts == 0)
                opt.max_attempts = ALERT_MAX_ATTEMPTS_DEFAULT;
        if (opt.queue_max == 0)
                opt.queue_max = ALERT_QUEUE_DEFAULT;
        if (opt.timeout_usec == 0)
                opt.timeout_usec = ALERT_TIMEOUT_DEFAULT_USEC;
        if (opt.queue_max > ALERT_QUEUE_MAX) {
                free(post_url);
                return -EINVAL;
        }

        s = calloc(1, sizeof *s);
        if (!s) {
                free(post_url);
                return -ENOMEM;
        }
        s->loop = l;
        s->kind = kind;
        s->url = post_url;
        s->name = strdup(name);
        s->generator_url = opt.generator_url ? strdup(opt.generator_url) : NULL;
        opt.generator_url = NULL;
        s->opt = opt;
        s->rng = (now_usec() ^ (uint64_t)(uintptr_t)s) | 1;
        loop_timer_init(&s->timer, on_timer, s);
        if (!s->name || (opt.generator_url && !s->generator_url)) {
                alert_sink_free(s);
                return -ENOMEM;
        }
        /* Connect within the total timeout, but never longer than 2 s: a
         * receiver on loopback or in the pod answers a SYN at once. */
        hopt.total_timeout_usec = opt.timeout_usec;
        hopt.connect_timeout_usec = opt.timeout_usec < HTTP_CONNECT_TIMEOUT_USEC ? opt.timeout_usec : 0;
        hopt.body_max = ALERT_BATCH_MAX + 2;
        r = http_client_new(l, s->url, NULL, &hopt, &s->client);
        if (r < 0) {
                alert_sink_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

struct alert_sink *alert_sink_free(struct alert_sink *s) {
        if (!s)
                return NULL;
        loop_timer_disarm(s->loop, &s->timer);
        http_client_free(s->client);
        for (size_t i = 0; i < s->n_items; i++)
                item_free(s->items[i]);
        free(s->items);
        free(s->name);
        free(s->url);
        free(s->generator_url);
        free(s);
        return NULL;
}

const struct alert_sink_stats *alert_sink_stats(const struct alert_sink *s) { return &s->stats; }
const char *alert_sink_name(const struct alert_sink *s) { return s->name; }
enum alert_kind alert_sink_kind(const struct alert_sink *s) { return s->kind; }
const char *alert_sink_url(const struct alert_sink *s) { return s->url; }
