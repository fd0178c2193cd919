/* Unit tests for src/alert.c: URL checks, the time format, and sinks
 * posting to a recording HTTP server in a forked child
 * (tests/helpers/hostile.c, hostile_record_serve(): every request comes
 * back to the test through a pipe): the webhook body, the Alertmanager
 * array and its fields, re-send timing with a short interval, resolution
 * with endsAt, retry with backoff while the receiver is down (a bound
 * socket that does not listen refuses connections) and once it comes up,
 * the queue bound, giving up, a label change. The real Alertmanager is
 * tests/integration/test_alert_am.sh. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gorral/alert.h"
#include "gorral/http.h"
#include "gorral/json.h"
#include "gorral/log.h"
#include "gorral/loop.h"
#include "gorral/util.h"

#define HOSTILE_NO_MAIN
#include "../helpers/hostile.c"

#define MS UINT64_C(1000)
#define SEC UINT64_C(1000000)

/* ---- pure parts ---- */

/* startsAt/endsAt: RFC 3339 UTC with milliseconds (fmt_utc_ms). */
Test(alert_time, rfc3339_utc_millis) {
        char b[UTC_MS_LEN];

        fmt_utc_ms(b, INT64_C(1796132731123456));
        cr_assert_str_eq(b, "2026-12-01T13:45:31.123Z");
        fmt_utc_ms(b, INT64_C(951868799999999));
        cr_assert_str_eq(b, "2000-02-29T23:59:59.999Z");
        fmt_utc_ms(b, 0);
        cr_assert_str_eq(b, "1970-01-01T00:00:00.000Z");
        fmt_utc_ms(b, -1000);
        cr_assert_str_eq(b, "1969-12-31T23:59:59.999Z");
}

Test(alert_url, check) {
        const char *why = NULL;

        cr_assert_eq(alert_url_check(ALERT_WEBHOOK, "http://127.0.0.1:8080/hook", &why), 0);
        cr_assert_eq(alert_url_check(ALERT_ALERTMANAGER, "http://localhost:9093", &why), 0);
        cr_assert_eq(alert_url_check(ALERT_ALERTMANAGER, "http://[::1]:9093/am/", &why), 0);
        cr_assert_eq(alert_url_check(ALERT_WEBHOOK, "https://hooks.example.com/x", &why), -EPROTONOSUPPORT);
        cr_assert_str_eq(why, ALERT_HTTPS_ADVICE);
        cr_assert(strstr(why, "relay") && strstr(why, "stunnel"));
        cr_assert_eq(alert_url_check(ALERT_ALERTMANAGER, "HTTPS://am:9093", &why), -EPROTONOSUPPORT);
        cr_assert_eq(alert_url_check(ALERT_WEBHOOK, "ftp://127.0.0.1/x", &why), -EPROTONOSUPPORT);
        cr_assert_eq(alert_url_check(ALERT_WEBHOOK, "http://alertmanager:9093", &why), -EADDRNOTAVAIL);
        cr_assert(strstr(why, "IP address"), "%s", why);
        cr_assert_eq(alert_url_check(ALERT_ALERTMANAGER, "http://127.0.0.1:9093/api/v1/alerts", &why), -EINVAL);
        cr_assert(strstr(why, "v1"), "%s", why);
        cr_assert_eq(alert_url_check(ALERT_WEBHOOK, "http://127.0.0.1:99999/", &why), -EINVAL);
        cr_assert_eq(alert_url_check(ALERT_WEBHOOK, NULL, &why), -EINVAL);
        cr_assert_eq(alert_kind_from_string("alertmanager"), ALERT_ALERTMANAGER);
        cr_assert_eq(alert_kind_from_string("webhook"), ALERT_WEBHOOK);
        cr_assert_eq(alert_kind_from_string("email"), -EINVAL);
        cr_assert_str_eq(alert_kind_to_string(ALERT_ALERTMANAGER), "alertmanager");
        cr_assert_null(alert_kind_to_string(_ALERT_KIND_MAX));
}

Test(alert_sink, construction) {
        struct loop *l;
        struct alert_sink *s;

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", "http://127.0.0.1:9093", NULL, &s), 0);
        cr_assert_str_eq(alert_sink_url(s), "http://127.0.0.1:9093/api/v2/alerts");
        cr_assert_str_eq(alert_sink_name(s), "am");
        alert_sink_free(s);
        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", "http://[::1]:9093/prefix/", NULL, &s), 0);
        cr_assert_str_eq(alert_sink_url(s), "http://[::1]:9093/prefix/api/v2/alerts");
        alert_sink_free(s);
        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", "http://127.0.0.1:9093/api/v2/alerts", NULL, &s), 0);
        cr_assert_str_eq(alert_sink_url(s), "http://127.0.0.1:9093/api/v2/alerts");
        alert_sink_free(s);
        cr_assert_eq(alert_sink_new(l, ALERT_WEBHOOK, "wh", "http://127.0.0.1:80/a/b?x=1", NULL, &s), 0);
        cr_assert_str_eq(alert_sink_url(s), "http://127.0.0.1:80/a/b?x=1");
        alert_sink_free(s);
        /* The resend interval: 30 s to 3 min from the configuration. */
        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", "http://127.0.0.1:9093",
                                    &(struct alert_sink_opts){ .resend_interval_usec = 10 * SEC }, &s),
                     -ERANGE);
        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", "http://127.0.0.1:9093",
                                    &(struct alert_sink_opts){ .resend_interval_usec = 181 * SEC }, &s),
                     -ERANGE);
        cr_assert_eq(alert_sink_new(l, ALERT_WEBHOOK, "wh", "https://127.0.0.1/", NULL, &s), -EPROTONOSUPPORT);
        cr_assert_eq(alert_sink_new(l, ALERT_WEBHOOK, "", "http://127.0.0.1/", NULL, &s), -EINVAL);
        cr_assert_eq(loop_n_watches(l), 0);
        loop_free(l);
}

/* ---- a recording receiver ---- */

struct req {
        char *text;              /* head and body, NUL-terminated */
        const char *body;        /* into text */
        uint64_t at_usec;        /* when the test read it */
};

struct recorder {
        pid_t pid;
        int lfd;                 /* bound; listening once up */
        uint16_t port;
        int rec;                 /* read end of the records pipe */
        struct req reqs[512];
        size_t n;
        char buf[(size_t)3 << 20];
        size_t have;
};

static void on_record(struct loop *l, int fd, uint32_t events, void *userdata) {
        struct recorder *rc = userdata;
        ssize_t n;

        (void)l;
        (void)events;
        n = read(fd, rc->buf + rc->have, sizeof rc->buf - rc->have);
        if (n <= 0)
                return;
        rc->have += (size_t)n;
        for (;;) {
                uint32_t len;
                struct req *q;

                if (rc->have < sizeof len)
                        return;
                memcpy(&len, rc->buf, sizeof len);
                if (rc->have < sizeof len + len)
                        return;
                cr_assert_lt(rc->n, ELEMENTSOF(rc->reqs));
                q = &rc->reqs[rc->n++];
                q->text = strndup(rc->buf + sizeof len, len);
                q->body = strstr(q->text, "\r\n\r\n") + 4;
                q->at_usec = now_usec();
                memmove(rc->buf, rc->buf + sizeof len + len, rc->have - sizeof len - len);
                rc->have -= sizeof len + len;
        }
}

/* Bind a port on loopback; connections are refused until recorder_up(). */
static void recorder_init(struct loop *l, struct recorder *rc) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof sa;
        int p[2];

        memset(rc, 0, offsetof(struct recorder, buf));
        rc->have = 0;
        rc->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert(rc->lfd >= 0);
        cr_assert_eq(bind(rc->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
        getsockname(rc->lfd, (struct sockaddr *)&sa, &sl);
        rc->port = ntohs(sa.sin_port);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        rc->rec = p[0];
        cr_assert_eq(loop_add_fd(l, p[0], EPOLLIN, on_record, rc), 0);
        rc->pid = -p[1]; /* the write end, until the child takes it */
}

static void recorder_up(struct recorder *rc, int status, int fail_first) {
        int wfd = -rc->pid;

        cr_assert_eq(listen(rc->lfd, 16), 0);
        rc->pid = fork();
        cr_assert(rc->pid >= 0);
        if (rc->pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                hostile_record_serve(rc->lfd, wfd, status, fail_first);
        }
        close(wfd);
        close(rc->lfd);
}

static void recorder_stop(struct loop *l, struct recorder *rc) {
        if (rc->pid > 0) {
                kill(rc->pid, SIGKILL);
                waitpid(rc->pid, NULL, 0);
        } else {
                close(-rc->pid);
                close(rc->lfd);
        }
        loop_del_fd(l, rc->rec);
        close(rc->rec);
        for (size_t i = 0; i < rc->n; i++)
                free(rc->reqs[i].text);
}

/* Run the loop until pred() or the limit; returns whether pred() held. */
static bool run_for(struct loop *l, uint64_t limit_usec, bool (*pred)(void *), void *arg) {
        uint64_t end = now_usec() + limit_usec;

        while (now_usec() < end) {
                if (pred && pred(arg))
                        return true;
                loop_run_once(l, 20);
        }
        return pred ? pred(arg) : true;
}

struct want {
        struct recorder *rc;
        size_t n;
};
static bool have_n(void *arg) {
        struct want *w = arg;
        return w->rc->n >= w->n;
}
#define WAIT_REQS(l, rc, k, limit) run_for((l), (limit), have_n, &(struct want){ (rc), (k) })

static int64_t realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct json_doc *parse_body(const struct req *q) {
        struct json_doc *d = NULL;
        struct json_error e;
        int r = json_parse(q->body, strlen(q->body), NULL, &d, &e);

        cr_assert_eq(r, 0, "body is not JSON (%s at %zu): %s", e.what, e.offset, q->body);
        return d;
}

struct sink_want {
        const struct alert_sink *s;
        const struct recorder *rc;
        uint64_t n;
};
/* Every request the receiver saw was answered and counted. */
static bool sent_all(void *arg) {
        struct sink_want *w = arg;
        return alert_sink_stats(w->s)->sent == w->rc->n;
}
static bool sent_n(void *arg) {
        struct sink_want *w = arg;
        return alert_sink_stats(w->s)->sent >= w->n;
}

static const char *const fire_labels[] = { "alertname=GoroutineLeak", "service=api", "detector=leak",
                                           "severity=warning", "empty=", NULL };
static const char *const fire_ann[] = { "summary=goroutines grow by 120/h", "description=floor from 40 to 95", NULL };

/* ---- webhook ---- */

Test(alert_webhook, body_as_is_then_resolution) {
        struct loop *l;
        struct recorder rc;
        struct alert_sink *s;
        char url[64];
        const char *fire = "{\"event\":\"fire\",\"detector\":\"leak\",\"service\":\"api\",\"value\":95}";
        const char *resolve = "{\"event\":\"resolve\",\"detector\":\"leak\",\"service\":\"api\"}";

        signal(SIGPIPE, SIG_IGN);
        cr_assert_eq(loop_new(&l), 0);
        recorder_init(l, &rc);
        recorder_up(&rc, 200, 0);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", rc.port);
        cr_assert_eq(alert_sink_new(l, ALERT_WEBHOOK, "wh", url, NULL, &s), 0);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .json = fire, .starts_at_usec = 1 }), 0);
        cr_assert_eq(rc.n, 0, "nothing is sent from within alert_send()");
        cr_assert(WAIT_REQS(l, &rc, 1, 3 * SEC));
        cr_assert(strncmp(rc.reqs[0].text, "POST /hook HTTP/1.1\r\n", 21) == 0, "%s", rc.reqs[0].text);
        cr_assert(strcasestr(rc.reqs[0].text, "\r\nContent-Type: application/json\r\n"), "%s", rc.reqs[0].text);
        cr_assert_str_eq(rc.reqs[0].body, fire);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .json = resolve, .starts_at_usec = 1,
                                                    .ends_at_usec = 2 }),
                     0);
        cr_assert(WAIT_REQS(l, &rc, 2, 3 * SEC));
        cr_assert_str_eq(rc.reqs[1].body, resolve);
        /* No re-send while a webhook finding lasts. */
        run_for(l, 300 * MS, NULL, NULL);
        cr_assert_eq(rc.n, 2);
        cr_assert_eq(alert_sink_stats(s)->sent, 2);
        cr_assert_eq(alert_sink_stats(s)->events_sent, 2);
        cr_assert_eq(alert_sink_stats(s)->failed, 0);
        cr_assert_eq(alert_sink_stats(s)->pending, 0);
        /* Refused at the door. */
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak" }), -EINVAL, "a webhook needs json");
        cr_assert_eq(alert_send(s, &(struct alert){ .json = "{}" }), -EINVAL, "a key is required");
        {
                char *big = malloc(ALERT_JSON_MAX + 2);

                memset(big, ' ', ALERT_JSON_MAX + 1);
                big[0] = '0';
                big[ALERT_JSON_MAX + 1] = '\0';
                cr_assert_eq(alert_send(s, &(struct alert){ .key = "k", .json = big }), -E2BIG);
                free(big);
        }
        alert_sink_free(s);
        recorder_stop(l, &rc);
        cr_assert_eq(loop_n_watches(l), 0);
        loop_free(l);
}

/* Down, then up: retried with backoff, and both events delivered in order. */
Test(alert_webhook, retried_until_the_receiver_comes_up) {
        struct loop *l;
        struct recorder rc;
        struct alert_sink *s;
        char url[64];
        const struct alert_sink_stats *st;
        uint64_t t0;

        signal(SIGPIPE, SIG_IGN);
        cr_assert_eq(loop_new(&l), 0);
        recorder_init(l, &rc);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", rc.port);
        cr_assert_eq(alert_sink_new(l, ALERT_WEBHOOK, "wh", url,
                                    &(struct alert_sink_opts){ .unchecked_intervals = true,
                                                               .backoff_initial_usec = 100 * MS,
                                                               .backoff_max_usec = 400 * MS },
                                    &s),
                     0);
        st = alert_sink_stats(s);
        t0 = now_usec();
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .json = "{\"n\":1}" }), 0);
        /* Attempts at about 0, 0.1, 0.3, 0.7, 1.1 s (+-20%). */
        run_for(l, 1200 * MS, NULL, NULL);
        cr_log_info("down 1.2 s: %llu failed, %llu retries", (unsigned long long)st->failed,
                    (unsigned long long)st->retries);
        cr_assert(st->failed >= 2 && st->failed <= 6, "failed %llu", (unsigned long long)st->failed);
        /* Every attempt after the first is a retry; one may be in flight. */
        cr_assert(st->retries == st->failed - 1 || st->retries == st->failed, "%llu retries, %llu failed",
                  (unsigned long long)st->retries, (unsigned long long)st->failed);
        cr_assert_eq(st->failing, st->failed);
        cr_assert_str_eq(st->last_error, "connect");
        cr_assert_eq(st->sent, 0);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .json = "{\"n\":2}", .ends_at_usec = 5 }), 0);
        recorder_up(&rc, 200, 0);
        cr_assert(WAIT_REQS(l, &rc, 2, 3 * SEC));
        cr_assert(run_for(l, SEC, sent_all, &(struct sink_want){ .s = s, .rc = &rc }));
        cr_log_info("delivered %.2f s after the first attempt", (double)(rc.reqs[0].at_usec - t0) / 1e6);
        cr_assert_str_eq(rc.reqs[0].body, "{\"n\":1}");
        cr_assert_str_eq(rc.reqs[1].body, "{\"n\":2}");
        cr_assert_eq(st->sent, 2);
        cr_assert_eq(st->failing, 0);
        cr_assert_geq(st->retries, 3);
        cr_assert_eq(st->given_up, 0);
        cr_assert_eq(st->pending, 0);
        alert_sink_free(s);
        recorder_stop(l, &rc);
        loop_free(l);
}

Test(alert_webhook, non_2xx_is_retried_and_4xx_given_up) {
        struct loop *l;
        struct recorder rc;
        struct alert_sink *s;
        char url[64];
        const struct alert_sink_stats *st;

        signal(SIGPIPE, SIG_IGN);
        cr_assert_eq(loop_new(&l), 0);
        recorder_init(l, &rc);
        recorder_up(&rc, 400, 2); /* 503, 503, then 400 for good */
        snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", rc.port);
        cr_assert_eq(alert_sink_new(l, ALERT_WEBHOOK, "wh", url,
                                    &(struct alert_sink_opts){ .unchecked_intervals = true,
                                                               .backoff_initial_usec = 50 * MS },
                                    &s),
                     0);
        st = alert_sink_stats(s);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "k", .json = "{}" }), 0);
        cr_assert(WAIT_REQS(l, &rc, 3, 3 * SEC));
        run_for(l, 400 * MS, NULL, NULL);
        cr_assert_eq(rc.n, 3, "a 400 is not retried: %zu requests", rc.n);
        cr_assert_eq(st->failed, 3);
        cr_assert_eq(st->given_up, 1);
        cr_assert_eq(st->last_status, 400);
        cr_assert_eq(st->pending, 0);
        alert_sink_free(s);
        recorder_stop(l, &rc);
        loop_free(l);
}

Test(alert_webhook, given_up_after_max_attempts) {
        struct loop *l;
        struct recorder rc;
        struct alert_sink *s;
        char url[64];
        const struct alert_sink_stats *st;

        cr_assert_eq(loop_new(&l), 0);
        recorder_init(l, &rc);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", rc.port);
        cr_assert_eq(alert_sink_new(l, ALERT_WEBHOOK, "wh", url,
                                    &(struct alert_sink_opts){ .unchecked_intervals = true, .max_attempts = 3,
                                                               .backoff_initial_usec = 20 * MS },
                                    &s),
                     0);
        st = alert_sink_stats(s);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "k", .json = "{}" }), 0);
        run_for(l, 600 * MS, NULL, NULL);
        cr_assert_eq(st->failed, 3);
        cr_assert_eq(st->given_up, 1);
        cr_assert_eq(st->pending, 0);
        alert_sink_free(s);
        recorder_stop(l, &rc);
        loop_free(l);
}

Test(alert_webhook, queue_bound_drops_the_oldest) {
        struct loop *l;
        struct recorder rc;
        struct alert_sink *s;
        char url[64], body[32];
        const struct alert_sink_stats *st;

        signal(SIGPIPE, SIG_IGN);
        cr_assert_eq(loop_new(&l), 0);
        recorder_init(l, &rc);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", rc.port);
        cr_assert_eq(alert_sink_new(l, ALERT_WEBHOOK, "wh", url,
                                    &(struct alert_sink_opts){ .unchecked_intervals = true, .queue_max = 4,
                                                               .backoff_initial_usec = 50 * MS,
                                                               .backoff_max_usec = 50 * MS },
                                    &s),
                     0);
        st = alert_sink_stats(s);
        for (int i = 0; i < 10; i++) {
                snprintf(body, sizeof body, "{\"n\":%d}", i);
                cr_assert_eq(alert_send(s, &(struct alert){ .key = "k", .json = body }), 0);
        }
        cr_assert_eq(st->dropped, 6);
        cr_assert_eq(st->pending, 4);
        run_for(l, 200 * MS, NULL, NULL);
        recorder_up(&rc, 200, 0);
        cr_assert(WAIT_REQS(l, &rc, 4, 3 * SEC));
        run_for(l, 200 * MS, NULL, NULL);
        cr_assert_eq(rc.n, 4);
        for (int i = 0; i < 4; i++) {
                snprintf(body, sizeof body, "{\"n\":%d}", i + 6);
                cr_assert_str_eq(rc.reqs[i].body, body, "the newest four, in order");
        }
        cr_assert_eq(st->dropped, 6);
        cr_assert_eq(st->pending, 0);
        alert_sink_free(s);
        recorder_stop(l, &rc);
        loop_free(l);
}

/* ---- alertmanager ---- */

static void check_am_alert(const struct json_value *a, const char *alertname, int64_t starts, int64_t ends) {
        const struct json_value *labels = json_get(a, "labels"), *ann = json_get(a, "annotations");
        char t[UTC_MS_LEN];

        cr_assert_not_null(labels);
        cr_assert_eq(labels->type, JSON_OBJECT);
        cr_assert_str_eq(json_get_string(labels, "alertname"), alertname);
        cr_assert_str_eq(json_get_string(labels, "service"), "api");
        cr_assert_str_eq(json_get_string(labels, "severity"), "warning");
        cr_assert_null(json_get(labels, "empty"), "an empty label is no label");
        cr_assert_not_null(ann);
        cr_assert_str_eq(json_get_string(ann, "summary"), "goroutines grow by 120/h");
        fmt_utc_ms(t, starts);
        cr_assert_str_eq(json_get_string(a, "startsAt"), t);
        if (ends) {
                fmt_utc_ms(t, ends);
                cr_assert_str_eq(json_get_string(a, "endsAt"), t);
        } else
                cr_assert_null(json_get(a, "endsAt"));
        cr_assert_str_eq(json_get_string(a, "generatorURL"), "http://127.0.0.1:9100/status");
}

Test(alert_am, array_resend_and_resolution) {
        struct loop *l;
        struct recorder rc;
        struct alert_sink *s;
        char url[64];
        const struct alert_sink_stats *st;
        const char *labels2[] = { "alertname=ThreadCeiling", "service=api", "severity=warning", NULL };
        int64_t starts = realtime_usec() - 5 * (int64_t)SEC, ends;
        struct json_doc *d;
        size_t n_before;
        uint64_t t_send;

        signal(SIGPIPE, SIG_IGN);
        cr_assert_eq(loop_new(&l), 0);
        recorder_init(l, &rc);
        recorder_up(&rc, 200, 0);
        snprintf(url, sizeof url, "http://127.0.0.1:%u", rc.port);
        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", url,
                                    &(struct alert_sink_opts){ .unchecked_intervals = true,
                                                               .resend_interval_usec = 300 * MS,
                                                               .generator_url = "http://127.0.0.1:9100/status" },
                                    &s),
                     0);
        st = alert_sink_stats(s);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .labels = fire_labels, .annotations = fire_ann,
                                                    .starts_at_usec = starts }),
                     0);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/threads", .labels = labels2, .annotations = fire_ann,
                                                    .starts_at_usec = starts }),
                     0);
        cr_assert_eq(st->active, 2);
        cr_assert(WAIT_REQS(l, &rc, 1, 3 * SEC));
        cr_assert(strncmp(rc.reqs[0].text, "POST /api/v2/alerts HTTP/1.1\r\n", 30) == 0, "%s", rc.reqs[0].text);
        cr_assert(strcasestr(rc.reqs[0].text, "\r\nContent-Type: application/json\r\n"));
        d = parse_body(&rc.reqs[0]);
        cr_assert_eq(d->root->type, JSON_ARRAY);
        cr_assert_eq(d->root->n_children, 2, "two alerts sent together share a POST: %s", rc.reqs[0].body);
        check_am_alert(d->root->child, "GoroutineLeak", starts, 0);
        cr_assert_str_eq(json_get_string(json_get(d->root->child->next, "labels"), "alertname"), "ThreadCeiling");
        json_doc_free(d);

        /* Re-sent every 300 ms while active, both in one POST. */
        cr_assert(WAIT_REQS(l, &rc, 5, 3 * SEC));
        for (size_t i = 1; i < 5; i++) {
                uint64_t gap = rc.reqs[i].at_usec - rc.reqs[i - 1].at_usec;

                cr_log_info("re-send %zu after %.3f s", i, (double)gap / 1e6);
                cr_assert(gap >= 250 * MS && gap < 800 * MS, "re-send %zu after %.3f s", i, (double)gap / 1e6);
                d = parse_body(&rc.reqs[i]);
                cr_assert_eq(d->root->n_children, 2);
                check_am_alert(d->root->child, "GoroutineLeak", starts, 0);
                json_doc_free(d);
        }

        /* An update of a firing alert rides on the next re-send. */
        n_before = rc.n;
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .labels = fire_labels, .annotations = fire_ann,
                                                    .starts_at_usec = starts }),
                     0);
        run_for(l, 100 * MS, NULL, NULL);
        cr_assert_leq(rc.n, n_before + 1);

        /* The resolution: at once, with endsAt, then the key is forgotten. */
        ends = realtime_usec();
        t_send = now_usec();
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .labels = fire_labels, .annotations = fire_ann,
                                                    .starts_at_usec = starts, .ends_at_usec = ends }),
                     0);
        cr_assert_eq(st->active, 1);
        n_before = rc.n;
        cr_assert(WAIT_REQS(l, &rc, n_before + 1, 3 * SEC));
        /* At once: the very next POST carries it (checked below), well
         * within a second even on a loaded machine (the re-send interval
         * here is 300 ms, too short to tell the two apart by the clock
         * under load; the order tells). */
        cr_assert_lt(rc.reqs[n_before].at_usec - t_send, 1000 * MS, "sent at once, not at the next re-send");
        d = parse_body(&rc.reqs[n_before]);
        {
                bool found = false;

                for (const struct json_value *a = d->root->child; a; a = a->next)
                        if (strcmp(json_get_string(json_get(a, "labels"), "alertname"), "GoroutineLeak") == 0) {
                                check_am_alert(a, "GoroutineLeak", starts, ends);
                                found = true;
                        }
                cr_assert(found, "%s", rc.reqs[n_before].body);
        }
        json_doc_free(d);
        /* Afterwards only ThreadCeiling is re-sent. */
        n_before = rc.n;
        cr_assert(WAIT_REQS(l, &rc, n_before + 2, 3 * SEC));
        for (size_t i = n_before; i < rc.n; i++) {
                d = parse_body(&rc.reqs[i]);
                cr_assert_eq(d->root->n_children, 1, "%s", rc.reqs[i].body);
                cr_assert_str_eq(json_get_string(json_get(d->root->child, "labels"), "alertname"), "ThreadCeiling");
                json_doc_free(d);
        }
        cr_assert_eq(st->active, 1);
        cr_assert_eq(st->pending, 1);
        cr_assert_eq(st->failed, 0);
        /* Every request the receiver saw was answered and counted (the
         * last answer may still be on its way). */
        cr_assert(run_for(l, SEC, sent_all, &(struct sink_want){ .s = s, .rc = &rc }), "sent %llu of %zu",
                  (unsigned long long)st->sent, rc.n);
        alert_sink_free(s);
        recorder_stop(l, &rc);
        loop_free(l);
}

/* Fire then resolve while Alertmanager is down: the resolution alone is
 * delivered once it is up, then nothing more. */
Test(alert_am, newest_state_wins_while_down) {
        struct loop *l;
        struct recorder rc;
        struct alert_sink *s;
        char url[64];
        const struct alert_sink_stats *st;
        int64_t starts = realtime_usec(), ends = starts + 2 * (int64_t)SEC;
        struct json_doc *d;

        signal(SIGPIPE, SIG_IGN);
        cr_assert_eq(loop_new(&l), 0);
        recorder_init(l, &rc);
        snprintf(url, sizeof url, "http://127.0.0.1:%u", rc.port);
        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", url,
                                    &(struct alert_sink_opts){ .unchecked_intervals = true,
                                                               .resend_interval_usec = 200 * MS,
                                                               .backoff_initial_usec = 100 * MS,
                                                               .backoff_max_usec = 200 * MS,
                                                               .generator_url = "http://127.0.0.1:9100/status" },
                                    &s),
                     0);
        st = alert_sink_stats(s);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .labels = fire_labels, .annotations = fire_ann,
                                                    .starts_at_usec = starts }),
                     0);
        run_for(l, 500 * MS, NULL, NULL);
        cr_assert_geq(st->failed, 2);
        cr_assert_eq(st->active, 1);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .labels = fire_labels, .annotations = fire_ann,
                                                    .starts_at_usec = starts, .ends_at_usec = ends }),
                     0);
        cr_assert_eq(st->active, 0);
        cr_assert_eq(st->pending, 1);
        recorder_up(&rc, 200, 0);
        cr_assert(WAIT_REQS(l, &rc, 1, 3 * SEC));
        run_for(l, 700 * MS, NULL, NULL);
        cr_assert_eq(rc.n, 1, "the resolution once, no re-send after it");
        d = parse_body(&rc.reqs[0]);
        cr_assert_eq(d->root->n_children, 1);
        check_am_alert(d->root->child, "GoroutineLeak", starts, ends);
        json_doc_free(d);
        cr_assert_eq(st->pending, 0);
        cr_assert_eq(st->sent, 1);
        cr_assert_geq(st->retries, 2);
        alert_sink_free(s);
        recorder_stop(l, &rc);
        loop_free(l);
}

Test(alert_am, label_change_resolves_the_old_set) {
        struct loop *l;
        struct recorder rc;
        struct alert_sink *s;
        char url[64];
        const char *crit[] = { "alertname=GoroutineLeak", "service=api", "severity=critical", NULL };
        int64_t starts = realtime_usec();
        struct json_doc *d;
        const struct json_value *a, *b;

        signal(SIGPIPE, SIG_IGN);
        cr_assert_eq(loop_new(&l), 0);
        recorder_init(l, &rc);
        recorder_up(&rc, 200, 0);
        snprintf(url, sizeof url, "http://127.0.0.1:%u", rc.port);
        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", url, NULL, &s), 0);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .labels = fire_labels, .starts_at_usec = starts }),
                     0);
        cr_assert(WAIT_REQS(l, &rc, 1, 3 * SEC));
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .labels = crit, .starts_at_usec = starts }), 0);
        cr_assert(WAIT_REQS(l, &rc, 2, 3 * SEC));
        d = parse_body(&rc.reqs[1]);
        cr_assert_eq(d->root->n_children, 2, "%s", rc.reqs[1].body);
        a = d->root->child;
        b = a->next;
        cr_assert_str_eq(json_get_string(json_get(a, "labels"), "severity"), "warning");
        cr_assert_not_null(json_get_string(a, "endsAt"), "the old label set ends");
        cr_assert_str_eq(json_get_string(json_get(b, "labels"), "severity"), "critical");
        cr_assert_null(json_get(b, "endsAt"));
        json_doc_free(d);
        cr_assert_eq(alert_sink_stats(s)->active, 1);
        alert_sink_free(s);
        recorder_stop(l, &rc);
        loop_free(l);
}

Test(alert_am, refused_alerts) {
        struct loop *l;
        struct alert_sink *s;
        const char *no_name[] = { "service=api", NULL };
        const char *bad_name[] = { "alertname=X", "bad-name=1", NULL };
        const char *no_eq[] = { "alertname=X", "service", NULL };
        const char *twice[] = { "alertname=X", "alertname=Y", NULL };
        const char *ok[] = { "alertname=X", NULL };
        const char *bad_ann[] = { "9lives=1", NULL };

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", "http://127.0.0.1:9", NULL, &s), 0);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "k", .labels = no_name }), -EINVAL, "alertname is required");
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "k", .labels = bad_name }), -EINVAL);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "k", .labels = no_eq }), -EINVAL);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "k", .labels = twice }), -EINVAL);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "k", .labels = ok, .annotations = bad_ann }), -EINVAL);
        cr_assert_eq(alert_sink_stats(s)->pending, 0);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "k", .labels = ok }), 0);
        cr_assert_eq(alert_sink_stats(s)->pending, 1);
        alert_sink_free(s);
        loop_free(l);
}

/* A queue of keys: over queue_max the oldest key goes. */
Test(alert_am, queue_bound_on_keys) {
        struct loop *l;
        struct alert_sink *s;
        const char *ok[] = { "alertname=X", NULL };
        char key[16];

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", "http://127.0.0.1:9",
                                    &(struct alert_sink_opts){ .queue_max = 8 }, &s),
                     0);
        for (int i = 0; i < 20; i++) {
                snprintf(key, sizeof key, "k%d", i);
                cr_assert_eq(alert_send(s, &(struct alert){ .key = key, .labels = ok }), 0);
                cr_assert_eq(alert_send(s, &(struct alert){ .key = key, .labels = ok }), 0, "an update is no new key");
        }
        cr_assert_eq(alert_sink_stats(s)->pending, 8);
        cr_assert_eq(alert_sink_stats(s)->dropped, 12);
        alert_sink_free(s);
        loop_free(l);
}

/* ---- a real Alertmanager ---- */

struct fetched {
        bool done;
        enum http_error error;
        int status;
        char *body;
};

static void on_fetched(struct http_client *c, const struct http_result *r, void *userdata) {
        struct fetched *f = userdata;

        (void)c;
        f->done = true;
        f->error = r->error;
        f->status = r->status;
        f->body = r->body ? strndup(r->body, r->body_len) : NULL;
}

static bool fetched_done(void *arg) { return ((struct fetched *)arg)->done; }

/* GET url on the loop; the body (malloc'd) or NULL when not a 200. */
static char *get(struct loop *l, const char *url) {
        struct http_client *c;
        struct fetched f = { 0 };

        cr_assert_eq(http_client_new(l, url, NULL, NULL, &c), 0);
        cr_assert_eq(http_client_get(c, "application/json", on_fetched, &f), 0);
        cr_assert(run_for(l, 5 * SEC, fetched_done, &f));
        http_client_free(c);
        if (f.error != HTTP_OK || f.status != 200) {
                free(f.body);
                return NULL;
        }
        return f.body;
}

static const char *find_program(const char *const *candidates) {
        for (size_t i = 0; candidates[i]; i++)
                if (access(candidates[i], X_OK) == 0)
                        return candidates[i];
        return NULL;
}

/* The alert named alertname in a GET /api/v2/alerts answer, or NULL. */
static const struct json_value *am_find(const struct json_doc *d, const char *alertname) {
        cr_assert_eq(d->root->type, JSON_ARRAY);
        for (const struct json_value *a = d->root->child; a; a = a->next) {
                const char *n = json_get_string(json_get(a, "labels"), "alertname");

                if (n && strcmp(n, alertname) == 0)
                        return a;
        }
        return NULL;
}

Test(alert_am_real, fire_then_resolve, .timeout = 60) {
        static const char *const candidates[] = { "/usr/bin/prometheus-alertmanager", "/usr/local/bin/alertmanager",
                                                  "/usr/bin/alertmanager", NULL };
        const char *am = find_program(candidates);
        char dir[] = "/tmp/test_alert_am.XXXXXX", path[128], base[64], url[128], listen_arg[64], cfg_arg[160],
             storage_arg[160];
        const char *labels[] = { "alertname=GorralTestLeak", "service=api", "detector=leak", "severity=warning", NULL };
        const char *ann[] = { "summary=goroutines grow by 120/h", "description=floor from 40 to 95 in 30 min", NULL };
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof sa;
        struct loop *l;
        struct alert_sink *s;
        int64_t starts = realtime_usec() - 60 * (int64_t)SEC, ends;
        char t[UTC_MS_LEN], *body = NULL;
        struct json_doc *d;
        const struct json_value *a;
        pid_t pid;
        int fd, st;

        if (!am)
                cr_skip_test("prometheus-alertmanager is not installed (`make deps` installs it)");
        signal(SIGPIPE, SIG_IGN);
        cr_assert_not_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/am.yml", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        cr_assert(fd >= 0);
        dprintf(fd, "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n");
        close(fd);
        /* A free port: taken from the kernel and released (the window
         * until Alertmanager binds it is small). */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        getsockname(fd, (struct sockaddr *)&sa, &sl);
        close(fd);
        snprintf(base, sizeof base, "http://127.0.0.1:%u", ntohs(sa.sin_port));
        snprintf(listen_arg, sizeof listen_arg, "--web.listen-address=127.0.0.1:%u", ntohs(sa.sin_port));
        snprintf(cfg_arg, sizeof cfg_arg, "--config.file=%s", path);
        snprintf(storage_arg, sizeof storage_arg, "--storage.path=%s/data", dir);
        pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
                char logp[128];
                int lfd;

                prctl(PR_SET_PDEATHSIG, SIGKILL);
                snprintf(logp, sizeof logp, "%s/am.log", dir);
                lfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                dup2(lfd, 1);
                dup2(lfd, 2);
                /* --cluster.listen-address= : no gossip, no other port. */
                execl(am, am, cfg_arg, storage_arg, listen_arg, "--cluster.listen-address=", (char *)NULL);
                _exit(127);
        }
        cr_assert_eq(loop_new(&l), 0);
        snprintf(url, sizeof url, "%s/-/ready", base);
        for (int i = 0; i < 100 && !(body = get(l, url)); i++)
                usleep(100 * 1000);
        cr_assert_not_null(body, "Alertmanager not ready at %s (see %s/am.log)", base, dir);
        free(body);

        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", base,
                                    &(struct alert_sink_opts){ .generator_url = "http://127.0.0.1:9100/status" }, &s),
                     0);
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .labels = labels, .annotations = ann,
                                                    .starts_at_usec = starts }),
                     0);
        cr_assert(run_for(l, 10 * SEC, sent_n, &(struct sink_want){ .s = s, .n = 1 }), "failed %llu (%s)",
                  (unsigned long long)alert_sink_stats(s)->failed, alert_sink_stats(s)->last_error);

        snprintf(url, sizeof url, "%s/api/v2/alerts", base);
        body = get(l, url);
        cr_assert_not_null(body);
        cr_log_info("active: %s", body);
        d = parse_body(&(struct req){ .body = body });
        a = am_find(d, "GorralTestLeak");
        cr_assert_not_null(a, "%s", body);
        cr_assert_str_eq(json_get_string(json_get(a, "status"), "state"), "active");
        cr_assert_str_eq(json_get_string(json_get(a, "labels"), "service"), "api");
        cr_assert_str_eq(json_get_string(json_get(a, "labels"), "severity"), "warning");
        cr_assert_str_eq(json_get_string(json_get(a, "annotations"), "summary"), "goroutines grow by 120/h");
        fmt_utc_ms(t, starts);
        cr_assert_str_eq(json_get_string(a, "startsAt"), t);
        cr_assert_str_eq(json_get_string(a, "generatorURL"), "http://127.0.0.1:9100/status");
        json_doc_free(d);
        free(body);

        ends = realtime_usec();
        cr_assert_eq(alert_send(s, &(struct alert){ .key = "api/leak", .labels = labels, .annotations = ann,
                                                    .starts_at_usec = starts, .ends_at_usec = ends }),
                     0);
        cr_assert(run_for(l, 10 * SEC, sent_n, &(struct sink_want){ .s = s, .n = 2 }));
        cr_assert_eq(alert_sink_stats(s)->pending, 0, "resolved and forgotten");
        /* Resolved: not among the active ones any more. */
        snprintf(url, sizeof url, "%s/api/v2/alerts?active=true", base);
        body = get(l, url);
        cr_assert_not_null(body);
        cr_log_info("after the resolution: %s", body);
        d = parse_body(&(struct req){ .body = body });
        a = am_find(d, "GorralTestLeak");
        if (a) {
                fmt_utc_ms(t, ends);
                cr_assert_str_eq(json_get_string(a, "endsAt"), t, "%s", body);
                cr_assert_str_neq(json_get_string(json_get(a, "status"), "state"), "active", "%s", body);
        }
        json_doc_free(d);
        free(body);
        cr_assert_eq(alert_sink_stats(s)->failed, 0);

        alert_sink_free(s);
        loop_free(l);
        kill(pid, SIGTERM);
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        snprintf(path, sizeof path, "rm -rf %s", dir);
        (void)!system(path);
}

/* More than ALERT_BATCH_MAX of alerts due together: several POSTs, each
 * within the bound, every alert in one of them. */
Test(alert_am, batches_split_at_the_bound) {
        struct loop *l;
        struct recorder rc;
        struct alert_sink *s;
        char url[64], key[16], name[32];
        size_t total = 0;
        char *desc = malloc(60001);

        signal(SIGPIPE, SIG_IGN);
        memcpy(desc, "description=", 12);
        memset(desc + 12, 'd', 60000 - 12);
        desc[60000] = '\0';
        cr_assert_eq(loop_new(&l), 0);
        recorder_init(l, &rc);
        recorder_up(&rc, 200, 0);
        snprintf(url, sizeof url, "http://127.0.0.1:%u", rc.port);
        cr_assert_eq(alert_sink_new(l, ALERT_ALERTMANAGER, "am", url, NULL, &s), 0);
        for (int i = 0; i < 20; i++) {
                const char *ann[] = { desc, NULL };
                const char *labels[] = { name, NULL };

                snprintf(key, sizeof key, "k%d", i);
                snprintf(name, sizeof name, "alertname=A%d", i);
                cr_assert_eq(alert_send(s, &(struct alert){ .key = key, .labels = labels, .annotations = ann }), 0);
        }
        cr_assert(run_for(l, 5 * SEC, sent_n, &(struct sink_want){ .s = s, .n = 2 }));
        cr_assert(run_for(l, SEC, sent_all, &(struct sink_want){ .s = s, .rc = &rc }));
        cr_assert_eq(rc.n, 2, "%zu POSTs", rc.n);
        for (size_t i = 0; i < rc.n; i++) {
                struct json_doc *d;
                struct json_limits lim = { .max_depth = 8, .max_nodes = 1000 };

                cr_assert_leq(strlen(rc.reqs[i].body), ALERT_BATCH_MAX + 2);
                cr_assert_eq(json_parse(rc.reqs[i].body, strlen(rc.reqs[i].body), &lim, &d, NULL), 0);
                total += d->root->n_children;
                /* No start given: the time of the first send, not 1970. */
                cr_assert(strncmp(json_get_string(d->root->child, "startsAt"), "1970", 4) != 0);
                json_doc_free(d);
        }
        cr_assert_eq(total, 20);
        cr_assert_eq(alert_sink_stats(s)->events_sent, 20);
        cr_assert_eq(alert_sink_stats(s)->active, 20);
        free(desc);
        alert_sink_free(s);
        recorder_stop(l, &rc);
        loop_free(l);
}
