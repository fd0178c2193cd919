/* alert.h: delivering findings over HTTP (L2, on the loop, never blocking):
 * a sink is one destination, a webhook or an Alertmanager, with its own
 * http_client (http.h: one keep-alive connection, one POST at a time), a
 * bounded set of pending deliveries, one backoff and its counters.
 *
 *   webhook       every event is one POST of the finding's JSON as it is
 *                 (Content-Type: application/json), in the order sent: a
 *                 fire and then its resolution are both delivered, in order,
 *                 even when the receiver was down in between. Nothing is
 *                 re-sent while a finding lasts.
 *   alertmanager  POST BASE/api/v2/alerts with a JSON array of
 *                 {"labels", "annotations", "startsAt", "endsAt"?,
 *                 "generatorURL"?}. Alertmanager resolves an alert with no
 *                 endsAt by itself resolve_timeout (5 min by default) after
 *                 it last heard of it, so an active alert is re-sent every
 *                 resend_interval (60 s by default, 30 s to 3 min as its
 *                 client guide asks) until it is resolved; the resolution
 *                 carries endsAt = the resolution time and is sent once
 *                 (retried until delivered or given up), then the key is
 *                 forgotten. Only the newest state of a key is kept: a fire
 *                 then its resolution while Alertmanager is down delivers
 *                 the resolution alone. Alerts due within half an interval
 *                 of each other go in one POST, so a sink's re-sends settle
 *                 into one POST per interval.
 *
 * A failed delivery (connect refused, timeout, reset, a non-2xx status) is
 * retried after 1 s, doubling to at most 60 s, each delay jittered by
 * +-20% (so several gorrals restarted together do not hammer a receiver in
 * step), until it is delivered, a newer state of its key replaces it
 * (Alertmanager), or it failed max_attempts times: a webhook event and an
 * Alertmanager resolution are then given up (counted; an undelivered
 * resolution still ends in Alertmanager by resolve_timeout), an active
 * Alertmanager alert waits for its next re-send. A 4xx status other than
 * 408 and 429 is the receiver refusing what was sent, which no retry
 * changes: that event is given up at once (an active alert, again, waits
 * for its re-send). The backoff is the
 * sink's, not the event's: one receiver is down for every event at once.
 * One warning is logged when a sink starts failing and one line when it
 * delivers again (with the count of failed attempts), not one per attempt.
 *
 * Bounds, per sink: queue_max pending events (webhook) or keys
 * (Alertmanager), 256 by default; one more pushes the oldest out, counted
 * as dropped. A webhook body (the finding's JSON) and one alert's JSON
 * object are at most ALERT_JSON_MAX bytes (alert_send() refuses larger);
 * one Alertmanager POST carries at most ALERT_BATCH_MAX bytes of alerts,
 * more go in the next POST right after.
 *
 * Plain http:// only, with a numeric host or localhost (the loop's client:
 * no TLS and no DNS on the loop). ALERT_HTTPS_ADVICE is the sentence the
 * configuration error and the README give for https:// receivers. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct alert_sink;

#define ALERT_HTTPS_ADVICE                                                                       \
        "gorral posts alerts over plain HTTP only: for an https:// receiver, post to a relay "   \
        "on loopback that forwards over TLS (a local Alertmanager that forwards to the remote " \
        "one, or stunnel in client mode)"

enum alert_kind {
        ALERT_WEBHOOK,
        ALERT_ALERTMANAGER,
        _ALERT_KIND_MAX,
        _ALERT_KIND_INVALID = -EINVAL,
};
/* "webhook", "alertmanager"; NULL out of range. */
const char *alert_kind_to_string(enum alert_kind k);
/* The enum value, or -EINVAL. */
int alert_kind_from_string(const char *s);

#define ALERT_RESEND_DEFAULT_USEC (60 * UINT64_C(1000000))
#define ALERT_RESEND_MIN_USEC (30 * UINT64_C(1000000))    /* Alertmanager's client guide */
#define ALERT_RESEND_MAX_USEC (180 * UINT64_C(1000000))
#define ALERT_BACKOFF_INITIAL_USEC (1 * UINT64_C(1000000))
#define ALERT_BACKOFF_MAX_USEC (60 * UINT64_C(1000000))
#define ALERT_MAX_ATTEMPTS_DEFAULT 10                     /* about 4 minutes of retries */
#define ALERT_QUEUE_DEFAULT 256
#define ALERT_QUEUE_MAX 65536
#define ALERT_TIMEOUT_DEFAULT_USEC (10 * UINT64_C(1000000))  /* one POST, connect included */
#define ALERT_JSON_MAX ((size_t)64 << 10)
#define ALERT_BATCH_MAX ((size_t)1 << 20)

/* Every field 0 (or NULL, false) means its default. */
struct alert_sink_opts {
        uint64_t resend_interval_usec;   /* alertmanager: ALERT_RESEND_MIN_USEC..MAX */
        unsigned max_attempts;           /* failed POSTs of one event before it is given up */
        size_t queue_max;                /* 1..ALERT_QUEUE_MAX */
        uint64_t timeout_usec;           /* a POST's total timeout */
        const char *generator_url;       /* alertmanager: generatorURL of alerts that set none (copied) */
        /* Tests only, never from the configuration: take a resend
         * interval below ALERT_RESEND_MIN_USEC, and these backoff bounds
         * instead of 1 s and 60 s. */
        bool unchecked_intervals;
        uint64_t backoff_initial_usec;
        uint64_t backoff_max_usec;
};

/* One event: everything is borrowed for the call (the sink copies what
 * it keeps). */
struct alert {
        /* Identity, e.g. "SERVICE/DETECTOR[/METRIC]": a later send with the
         * same key is a newer state of the same finding (an update, its
         * resolution, a fire again after a resolution). */
        const char *key;
        /* NULL-terminated "name=value" pairs. Names are Prometheus label
         * names ([a-zA-Z_][a-zA-Z0-9_]*), values UTF-8; a pair with an
         * empty value is left out (as Prometheus treats it: no label).
         * Alertmanager needs labels with alertname among them; they are
         * the alert's identity there, so keep them fixed for a key (put
         * values in annotations): when they change anyway, the old label
         * set is resolved. NULL: none (webhook). */
        const char *const *labels;
        const char *const *annotations;  /* same rules (summary, description, ...) */
        const char *generator_url;       /* NULL: the sink's opts.generator_url, or none */
        /* The finding as JSON: the webhook's body (required there, at most
         * ALERT_JSON_MAX bytes, sent as it is; the caller vouches it is
         * JSON); unused by Alertmanager. */
        const char *json;
        int64_t starts_at_usec;          /* CLOCK_REALTIME, since the epoch; 0: the key's first send */
        int64_t ends_at_usec;            /* 0 while active; else the resolution time */
};

/* Is url a receiver of this kind alert_sink_new() takes (pure)? 0, or
 * -EPROTONOSUPPORT (https://: *reterr_reason is then ALERT_HTTPS_ADVICE;
 * another scheme), -EINVAL, -EADDRNOTAVAIL (a host name other than
 * localhost), with a static English reason in *reterr_reason (may be
 * NULL). For check-config and gorral run's option parser. */
int alert_url_check(enum alert_kind kind, const char *url, const char **reterr_reason);

/* A sink named name (for logs and the {sink} label; copied) posting to url:
 * the webhook's URL as given; for alertmanager the base URL
 * ("http://127.0.0.1:9093", with a path prefix if Alertmanager has one),
 * to which /api/v2/alerts is added unless url already ends in it. o NULL:
 * defaults. Nothing is sent until alert_send(). 0, alert_url_check()'s
 * errors, -ERANGE (a resend interval out of bounds), -EINVAL, -ENOMEM. */
int alert_sink_new(struct loop *l, enum alert_kind kind, const char *name, const char *url,
                   const struct alert_sink_opts *o, struct alert_sink **ret);
/* Drop what is pending (in flight included, without a callback) and free.
 * NULL-safe; returns NULL. Not from inside another sink's call. */
struct alert_sink *alert_sink_free(struct alert_sink *s);

/* Queue an event; never blocks, never sends from within the call (the
 * POST starts from the loop, so the sends of one loop iteration share a
 * POST). 0, -EINVAL (no key; a malformed label or annotation; alertmanager
 * without alertname; webhook without json), -E2BIG (over ALERT_JSON_MAX),
 * -ENOMEM. A full queue is not an error: the oldest pending is dropped. */
int alert_send(struct alert_sink *s, const struct alert *a);

struct alert_sink_stats {
        uint64_t sent;          /* POSTs answered 2xx */
        uint64_t failed;        /* POSTs that failed: no connection, timeout, reset, not 2xx */
        uint64_t retries;       /* POSTs that followed a failed one (a subset of sent + failed) */
        uint64_t events_sent;   /* alerts (alertmanager: each re-send too) or events delivered */
        uint64_t dropped;       /* pending events pushed out of a full queue */
        uint64_t given_up;      /* events abandoned after max_attempts failures */
        size_t active;          /* alertmanager: keys firing now; webhook: 0 */
        size_t pending;         /* events (webhook) or keys (alertmanager) held */
        unsigned failing;       /* failed POSTs in the current streak; 0 when the last one succeeded */
        int last_status;        /* HTTP status of the last failure (0: none was received) */
        const char *last_error; /* http_error_name() of the last failure, or NULL */
};
const struct alert_sink_stats *alert_sink_stats(const struct alert_sink *s);
const char *alert_sink_name(const struct alert_sink *s);
enum alert_kind alert_sink_kind(const struct alert_sink *s);
/* The URL posted to (alertmanager: with /api/v2/alerts). */
const char *alert_sink_url(const struct alert_sink *s);
