/* sdnotify.c: gorral's own sd_notify to the manager above it. See sdnotify.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gorral/log.h"
#include "gorral/loop.h"
#include "gorral/notify.h"
#include "gorral/sdnotify.h"
#include "gorral/util.h"

struct sdnotify {
        struct loop *loop;
        struct notify_target target;
        char address[NOTIFY_ADDRESS_MAX + 1];
        sdnotify_health_cb health;
        void *userdata;
        struct loop_timer watchdog;
        bool healthy;                /* as of the last tick: a change is logged */
        bool mainpid_sent;
        bool ready_due;              /* READY=1 waits for the next update with up */
        bool stopping_sent;
        char status[256];            /* the STATUS= last sent */
        struct sdnotify_stats stats;
};

int sdnotify_parse_env(const char *notify_socket, const char *watchdog_usec, const char *watchdog_pid, pid_t self,
                       struct sdnotify_env *ret) {
        uint64_t usec = 0, pid = 0;

        *ret = (struct sdnotify_env){ 0 };
        if (notify_socket && *notify_socket) {
                if (notify_address_valid(notify_socket))
                        ret->socket = notify_socket;
                else
                        ret->ignored = "NOTIFY_SOCKET is neither /path nor @name (or is too long)";
        }
        if (!watchdog_usec || !*watchdog_usec)
                return 0;
        if (parse_u64(watchdog_usec, &usec) < 0 || usec == 0) {
                ret->ignored = "WATCHDOG_USEC is not a positive number of microseconds";
                return 0;
        }
        if (watchdog_pid && *watchdog_pid) {
                if (parse_u64(watchdog_pid, &pid) < 0 || pid == 0 || pid > INT32_MAX) {
                        ret->ignored = "WATCHDOG_PID is not a pid";
                        return 0;
                }
                if ((pid_t)pid != self) {
                        ret->ignored = "WATCHDOG_PID names another process";
                        return 0;
                }
        }
        if (!ret->socket) {
                ret->ignored = ret->ignored ? ret->ignored : "WATCHDOG_USEC without NOTIFY_SOCKET";
                return 0;
        }
        ret->watchdog_usec = usec;
        return 0;
}

int sdnotify_status_text(char *buf, size_t n, const struct sdnotify_summary *s) {
        const char *phase = s->stopping ? "stopping: " : !s->up ? "starting: " : "";
        char failed[32] = "";

        if (s->failed)
                snprintf(failed, sizeof failed, ", %u failed", s->failed);
        return snprintf(buf, n, "%s%u/%u running%s, %u finding%s", phase, s->running, s->services, failed,
                        s->findings, s->findings == 1 ? "" : "s");
}

static void send_text(struct sdnotify *n, const char *text) {
        int r = notify_target_send(&n->target, text, strlen(text));

        if (r < 0) {
                /* A manager that is gone or busy: said once per burst of
                 * failures, at debug level after the first. */
                log_msg(n->stats.errors++ ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, r, "cannot notify the service manager at %s",
                        n->address);
                return;
        }
        n->stats.sent++;
}

static void watchdog_tick(struct loop *l, void *userdata) {
        struct sdnotify *n = userdata;
        char why[256] = "";
        bool ok = !n->health || n->health(n->userdata, why, sizeof why);

        if (ok != n->healthy) {
                if (ok)
                        log_event(LOG_LEVEL_INFO, "watchdog", "msg", "pinging the service manager again", NULL);
                else
                        log_event(LOG_LEVEL_ERROR, "watchdog", "msg", "not pinging the service manager", "reason", why, NULL);
                n->healthy = ok;
        }
        if (ok) {
                send_text(n, "WATCHDOG=1");
                n->stats.pings++;
        } else
                n->stats.pings_held++;
        (void)loop_timer_arm_in(l, &n->watchdog, n->stats.watchdog_usec / 2);
}

int sdnotify_new(struct loop *l, const struct sdnotify_env *env, sdnotify_health_cb health, void *userdata,
                 struct sdnotify **ret) {
        struct sdnotify *n;
        int r;

        *ret = NULL;
        if (!env->socket)
                return 0;
        n = calloc(1, sizeof *n);
        if (!n)
                return -ENOMEM;
        n->loop = l;
        n->health = health;
        n->userdata = userdata;
        n->healthy = true;
        n->ready_due = true;
        snprintf(n->address, sizeof n->address, "%s", env->socket);
        loop_timer_init(&n->watchdog, watchdog_tick, n);
        r = notify_target_open(env->socket, &n->target);
        if (r < 0) {
                free(n);
                return r;
        }
        n->stats.watchdog_usec = env->watchdog_usec;
        if (env->watchdog_usec) {
                /* The first ping at once: the interval runs from our
                 * start, and the start took some of it already. */
                r = loop_timer_arm_in(l, &n->watchdog, 0);
                if (r < 0) {
                        sdnotify_free(n);
                        return r;
                }
        }
        *ret = n;
        return 0;
}

struct sdnotify *sdnotify_free(struct sdnotify *n) {
        if (!n)
                return NULL;
        loop_timer_disarm(n->loop, &n->watchdog);
        notify_target_close(&n->target);
        free(n);
        return NULL;
}

void sdnotify_update(struct sdnotify *n, const struct sdnotify_summary *s) {
        char status[sizeof n->status], text[512];
        int k = 0;

        if (!n)
                return;
        sdnotify_status_text(status, sizeof status, s);
        if (n->ready_due && s->up && !s->stopping) {
                k = snprintf(text, sizeof text, "READY=1\nSTATUS=%s", status);
                if (!n->mainpid_sent) {
                        snprintf(text + k, sizeof text - (size_t)k, "\nMAINPID=%ld", (long)getpid());
                        n->mainpid_sent = true;
                }
                n->ready_due = false;
                n->stats.ready_sent = true;
        } else if (strcmp(status, n->status) != 0)
                snprintf(text, sizeof text, "STATUS=%s", status);
        else
                return;
        memcpy(n->status, status, sizeof status);
        send_text(n, text);
}

void sdnotify_reloading(struct sdnotify *n) {
        char text[128];

        if (!n)
                return;
        /* MONOTONIC_USEC: CLOCK_MONOTONIC (now_usec()), which systemd
         * compares with the time of its own reload request. */
        snprintf(text, sizeof text, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
                 (unsigned long long)now_usec());
        snprintf(n->status, sizeof n->status, "reloading");
        n->ready_due = true;
        send_text(n, text);
}

void sdnotify_reload_failed(struct sdnotify *n, const char *why) {
        char text[512];

        if (!n)
                return;
        snprintf(n->status, sizeof n->status, "reload failed: %s", why ? why : "see the log");
        snprintf(text, sizeof text, "READY=1\nSTATUS=%s", n->status);
        n->ready_due = false;
        send_text(n, text);
}

void sdnotify_stopping(struct sdnotify *n) {
        if (!n || n->stopping_sent)
                return;
        n->stopping_sent = true;
        n->ready_due = false;
        snprintf(n->status, sizeof n->status, "stopping");
        send_text(n, "STOPPING=1\nSTATUS=stopping");
}

const struct sdnotify_stats *sdnotify_stats(const struct sdnotify *n) {
        return n ? &n->stats : NULL;
}
