/* bus.c: gorral on D-Bus; see bus.h. The only includer of sd-bus.h, and
 * only in the dynamic build: libsystemd.so.0 is dlopen()ed on first use. */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "gorral/bus.h"
#include "gorral/util.h"

/* ---- pure parts (both builds) ---- */

int bus_parse_kind(const char *s, enum bus_kind *ret) {
        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "system") == 0)
                *ret = BUS_KIND_SYSTEM;
        else if (strcmp(s, "session") == 0 || strcmp(s, "user") == 0)
                *ret = BUS_KIND_SESSION;
        else if (strcmp(s, "no") == 0 || strcmp(s, "none") == 0 || strcmp(s, "off") == 0)
                *ret = BUS_KIND_NONE;
        else if (strcmp(s, "auto") == 0 || strcmp(s, "default") == 0)
                *ret = BUS_KIND_DEFAULT;
        else if (strchr(s, ':'))
                *ret = BUS_KIND_ADDRESS;
        else
                return -EINVAL;
        return 0;
}

const char *bus_kind_name(enum bus_kind k) {
        switch (k) {
        case BUS_KIND_DEFAULT: return "default";
        case BUS_KIND_NONE: return "no";
        case BUS_KIND_SYSTEM: return "system";
        case BUS_KIND_SESSION: return "session";
        case BUS_KIND_ADDRESS: return "address";
        }
        return "?";
}

unsigned bus_view_diff(const struct bus_service_view *a, const struct bus_service_view *b) {
        unsigned d = 0;

        if (strcmp(a->state, b->state) != 0)
                d |= BUS_PROP_STATE;
        if (strcmp(a->sub_state, b->sub_state) != 0)
                d |= BUS_PROP_SUB_STATE;
        if (a->main_pid != b->main_pid)
                d |= BUS_PROP_MAIN_PID;
        if (a->restarts != b->restarts)
                d |= BUS_PROP_RESTARTS;
        if (a->threads != b->threads)
                d |= BUS_PROP_THREADS;
        if (a->goroutines != b->goroutines)
                d |= BUS_PROP_GOROUTINES;
        if (a->rss_bytes != b->rss_bytes)
                d |= BUS_PROP_RSS;
        if (strcmp(a->cgroup_mode, b->cgroup_mode) != 0)
                d |= BUS_PROP_CGROUP_MODE;
        /* Findings (as) lists detector names: a new summary alone is not a
         * change of the property (FindingRaised carries summaries). */
        if (a->n_findings != b->n_findings)
                d |= BUS_PROP_FINDINGS;
        else
                for (size_t i = 0; i < a->n_findings; i++)
                        if (strcmp(a->findings[i].detector, b->findings[i].detector) != 0) {
                                d |= BUS_PROP_FINDINGS;
                                break;
                        }
        return d;
}

bool bus_view_has_finding(const struct bus_service_view *v, const char *detector) {
        for (size_t i = 0; i < v->n_findings && i < BUS_MAX_FINDINGS; i++)
                if (strcmp(v->findings[i].detector, detector) == 0)
                        return true;
        return false;
}

static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int bus_label_escape(const char *s, char *buf, size_t n) {
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;

        if (!*s) {
                if (n < 2)
                        return -ENOBUFS;
                memcpy(buf, "_", 2);
                return 1;
        }
        for (size_t i = 0; s[i]; i++) {
                unsigned char c = (unsigned char)s[i];

                if (is_alpha((char)c) || (i > 0 && is_digit((char)c))) {
                        if (o + 1 >= n)
                                return -ENOBUFS;
                        buf[o++] = (char)c;
                } else {
                        if (o + 3 >= n)
                                return -ENOBUFS;
                        buf[o++] = '_';
                        buf[o++] = hex[c >> 4];
                        buf[o++] = hex[c & 15];
                }
        }
        buf[o] = '\0';
        return (int)o;
}

int bus_label_unescape(const char *label, char *buf, size_t n) {
        size_t o = 0;

        if (strcmp(label, "_") == 0) {
                if (n < 1)
                        return -ENOBUFS;
                buf[0] = '\0';
                return 0;
        }
        if (!*label)
                return -EINVAL;
        for (size_t i = 0; label[i]; i++) {
                char c = label[i];

                if (o + 1 >= n)
                        return -ENOBUFS;
                if (c == '_') {
                        int h, l;

                        if (!label[i + 1] || !label[i + 2])
                                return -EINVAL;
                        h = hex_digit(label[i + 1]);
                        l = hex_digit(label[i + 2]);
                        if (h < 0 || l < 0 || (h == 0 && l == 0))
                                return -EINVAL;
                        buf[o++] = (char)(h << 4 | l);
                        i += 2;
                } else if (is_alpha(c) || is_digit(c))
                        buf[o++] = c;
                else
                        return -EINVAL;
        }
        buf[o] = '\0';
        return (int)o;
}

const char *bus_cgroup_mode_name(enum bus_cgroup_mode m) {
        switch (m) {
        case BUS_CGROUP_NONE: return "none";
        case BUS_CGROUP_OWN: return "own";
        case BUS_CGROUP_DELEGATED: return "delegated";
        case BUS_CGROUP_SCOPE: return "scope";
        }
        return "none";
}

int bus_parse_scopes(const char *s, enum bus_scopes_kind *ret) {
        if (!s)
                return -EINVAL;
        if (strcmp(s, "auto") == 0)
                *ret = BUS_SCOPES_AUTO;
        else if (strcmp(s, "no") == 0 || strcmp(s, "off") == 0)
                *ret = BUS_SCOPES_NO;
        else if (strcmp(s, "system") == 0)
                *ret = BUS_SCOPES_SYSTEM;
        else if (strcmp(s, "user") == 0)
                *ret = BUS_SCOPES_USER;
        else
                return -EINVAL;
        return 0;
}

/* Service names are [A-Za-z0-9_-] (cgsvc_name_valid()): every byte is
 * allowed in a unit name as it is. */
int bus_scope_unit_name(const char *service, pid_t pid, char *buf, size_t n) {
        int r = snprintf(buf, n, "gorral-%s-%d.scope", service, (int)pid);

        return r < 0 || (size_t)r >= n ? -ENOBUFS : r;
}

#ifdef GORRAL_STATIC

/* The static build has no libsystemd: no bus, said in --version. */
int bus_lib_load(const char **ret_err) {
        if (ret_err)
                *ret_err = "the static build has no D-Bus support";
        return -EOPNOTSUPP;
}

const char *bus_lib_describe(void) {
        return "no (static build)";
}

int bus_open(struct loop *l, const struct bus_options *o, const struct bus_ops *ops, void *userdata,
             struct bus **ret, char **ret_err) {
        (void)l, (void)ops, (void)userdata;
        *ret = NULL;
        if (ret_err)
                *ret_err = NULL;
        if (o->kind == BUS_KIND_NONE)
                return 0;
        if (ret_err)
                *ret_err = strdup("the static build has no D-Bus support (use the dynamic build)");
        return -EOPNOTSUPP;
}

void bus_changed(struct bus *b) {
        (void)b;
}

struct bus *bus_free(struct bus *b) {
        (void)b;
        return NULL;
}

const char *bus_describe(const struct bus *b) {
        (void)b;
        return "none";
}

int bus_scopes_open(struct loop *l, enum bus_scopes_kind kind, const struct bus_scopes_ops *ops, void *userdata,
                    struct bus_scopes **ret, char **ret_why) {
        (void)l, (void)ops, (void)userdata;
        *ret = NULL;
        *ret_why = strdup(kind == BUS_SCOPES_NO ? "--scopes no" : "the static build cannot talk to systemd");
        return kind == BUS_SCOPES_SYSTEM || kind == BUS_SCOPES_USER ? -EOPNOTSUPP : 0;
}

int bus_scope_start(struct bus_scopes *sc, const char *service, pid_t pid, uint64_t cpu_quota_per_sec_usec,
                    uint64_t memory_max, char *unit) {
        (void)sc, (void)service, (void)pid, (void)cpu_quota_per_sec_usec, (void)memory_max, (void)unit;
        return -EOPNOTSUPP;
}

const char *bus_scopes_describe(const struct bus_scopes *sc) {
        (void)sc;
        return "none";
}

struct bus_scopes *bus_scopes_free(struct bus_scopes *sc) {
        (void)sc;
        return NULL;
}

#else /* !GORRAL_STATIC */

/* SD_BUS_VTABLE_START() takes the address of libsystemd's
 * sd_bus_object_vtable_format, which a binary that does not link
 * libsystemd cannot have at link time: the vtables point at a placeholder
 * here, and bus_lib_load() puts the library's address in their first
 * entries (sd-bus compares it to tell the vtable has argument names). */
#define sd_bus_object_vtable_format gorral_vtable_format_placeholder
#include <systemd/sd-bus.h>

const unsigned gorral_vtable_format_placeholder = 242;
static const unsigned *sd_vtable_format;   /* libsystemd's, once loaded */

#include "gorral/actions.h"
#include "gorral/godump.h"
#include "gorral/http.h"
#include "gorral/log.h"
#include "gorral/loop.h"

/* Every sd-bus function used, resolved once from libsystemd.so.0. The
 * types come from sd-bus.h, so a prototype mismatch is a compile error. */
#define SD_FUNCS(X)                                   \
        X(sd_bus_new)                                 \
        X(sd_bus_set_address)                         \
        X(sd_bus_set_bus_client)                      \
        X(sd_bus_set_description)                     \
        X(sd_bus_start)                               \
        X(sd_bus_open_system)                         \
        X(sd_bus_open_user)                           \
        X(sd_bus_close_unref)                         \
        X(sd_bus_get_fd)                              \
        X(sd_bus_get_events)                          \
        X(sd_bus_get_timeout)                         \
        X(sd_bus_process)                             \
        X(sd_bus_request_name_async)                  \
        X(sd_bus_add_object_vtable)                   \
        X(sd_bus_add_fallback_vtable)                 \
        X(sd_bus_add_node_enumerator)                 \
        X(sd_bus_add_object_manager)                  \
        X(sd_bus_emit_properties_changed_strv)        \
        X(sd_bus_emit_signal)                         \
        X(sd_bus_emit_object_added)                   \
        X(sd_bus_emit_object_removed)                 \
        X(sd_bus_call_method_async)                   \
        X(sd_bus_call_async)                          \
        X(sd_bus_match_signal_async)                  \
        X(sd_bus_message_new_method_call)             \
        X(sd_bus_message_new_method_return)           \
        X(sd_bus_message_read)                        \
        X(sd_bus_message_read_basic)                  \
        X(sd_bus_message_skip)                        \
        X(sd_bus_message_enter_container)             \
        X(sd_bus_message_exit_container)              \
        X(sd_bus_message_append)                      \
        X(sd_bus_message_append_strv)                 \
        X(sd_bus_message_open_container)              \
        X(sd_bus_message_close_container)             \
        X(sd_bus_message_ref)                         \
        X(sd_bus_message_unref)                       \
        X(sd_bus_message_get_sender)                  \
        X(sd_bus_message_get_path)                    \
        X(sd_bus_message_get_bus)                     \
        X(sd_bus_message_get_error)                   \
        X(sd_bus_message_is_method_error)             \
        X(sd_bus_reply_method_return)                 \
        X(sd_bus_reply_method_errorf)                 \
        X(sd_bus_error_setf)                          \
        X(sd_bus_error_free)                          \
        X(sd_bus_send)                                \
        X(sd_bus_error_has_name)                      \
        X(sd_bus_slot_unref)

static struct {
#define X(f) typeof(f) *f;
        SD_FUNCS(X)
#undef X
} sd;
static int sd_loaded;            /* 0 not tried, 1 loaded, -errno failed */
static char sd_error[160];

int bus_lib_load(const char **ret_err) {
        void *h;

        if (sd_loaded == 0) {
                /* RTLD_LOCAL: its symbols serve only this table. Never
                 * dlclose()d: sd-bus keeps static state and atexit work. */
                h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
                if (!h) {
                        snprintf(sd_error, sizeof sd_error, "cannot load libsystemd.so.0 (D-Bus needs it): %s",
                                 dlerror());
                        sd_loaded = -ENOENT;
                } else {
                        sd_loaded = 1;
#define X(f)                                                                                                  \
        if (sd_loaded == 1) {                                                                                 \
                sd.f = (typeof(f) *)dlsym(h, #f);                                                             \
                if (!sd.f) {                                                                                  \
                        snprintf(sd_error, sizeof sd_error, "libsystemd.so.0 has no %s (systemd too old?)", #f); \
                        sd_loaded = -ENOENT;                                                                  \
                }                                                                                             \
        }
                        SD_FUNCS(X)
#undef X
                        if (sd_loaded == 1) {
                                const unsigned *fmt = dlsym(h, "sd_bus_object_vtable_format");

                                if (!fmt) {
                                        snprintf(sd_error, sizeof sd_error,
                                                 "libsystemd.so.0 has no sd_bus_object_vtable_format (systemd too old?)");
                                        sd_loaded = -ENOENT;
                                } else
                                        sd_vtable_format = fmt;
                        }
                }
        }
        if (ret_err)
                *ret_err = sd_loaded < 0 ? sd_error : NULL;
        return sd_loaded < 0 ? sd_loaded : 0;
}

const char *bus_lib_describe(void) {
        return "yes (libsystemd, loaded at run time)";
}

struct pending;

/* One connection on the loop: the API's, and the one to systemd's manager
 * for scopes. */
struct conn {
        struct loop *loop;
        sd_bus *bus;
        int fd;
        uint32_t watched;             /* epoll events registered */
        /* sd_bus_get_timeout(), "process again" after the budget, or the
         * close after a failure (never from inside sd_bus_process()). */
        struct loop_timer io_timer;
        bool dead;
        char what[160];               /* "D-Bus (system)", for the log */
        void (*closing)(void *userdata);  /* before the close: drop what refers to it */
        void *userdata;
};

struct bus {
        struct loop *loop;
        struct conn c;
        struct loop_timer diff_timer; /* bus_changed(): diff once per iteration */
        const struct bus_ops *ops;
        void *userdata;
        char *describe;
        char *version;
        bool dirty, diffing;
        bool primed;                  /* the first view is taken (silently) */
        struct bus_service_view *views; /* the last view, the one the objects show */
        size_t n_views, cap_views;
        struct bus_service_view *scratch;
        size_t cap_scratch;
        unsigned findings_total;
        struct pending *pending;      /* calls waiting for their caller's uid, or a dump */
        size_t n_pending;
};

/* A mutating call on its way: first the caller's uid (asynchronously),
 * then the command, or the dump's fetch. */
struct pending {
        struct bus *b;
        sd_bus_message *call;
        sd_bus_slot *slot;
        struct http_client *http;
        char cmd[16];                 /* "start", "stop", "restart", "reload", "signal", "dump" */
        char name[BUS_SERVICE_NAME_MAX + 1];
        char arg[32];
        char *state_dir;
        struct pending *next;
};

static void conn_update_io(struct conn *c);

static void conn_kill(struct conn *c, int r, const char *why) {
        if (c->dead)
                return;
        log_msg(LOG_LEVEL_WARN, r, "%s: %s; gorral goes on without it", c->what, why);
        c->dead = true;
        (void)loop_timer_arm_in(c->loop, &c->io_timer, 0);
}

static void pending_free(struct pending *p) {
        struct bus *b = p->b;

        for (struct pending **q = &b->pending; *q; q = &(*q)->next)
                if (*q == p) {
                        *q = p->next;
                        b->n_pending--;
                        break;
                }
        if (p->slot)
                sd.sd_bus_slot_unref(p->slot);
        http_client_free(p->http);
        if (p->call)
                sd.sd_bus_message_unref(p->call);
        free(p->state_dir);
        free(p);
}

static void pending_free_all(struct bus *b) {
        while (b->pending)
                pending_free(b->pending);
}

/* ---- views ---- */

static struct bus_service_view *view_find(struct bus_service_view *v, size_t n, const char *name, size_t hint) {
        if (hint < n && strcmp(v[hint].name, name) == 0)
                return &v[hint];
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].name, name) == 0)
                        return &v[i];
        return NULL;
}

static int service_path(const char *name, char *buf, size_t n) {
        char label[3 * BUS_SERVICE_NAME_MAX + 2];
        int r = bus_label_escape(name, label, sizeof label);

        if (r < 0)
                return r;
        r = snprintf(buf, n, "%s/%s", BUS_SERVICE_PREFIX, label);
        return r < 0 || (size_t)r >= n ? -ENOBUFS : 0;
}
#define SERVICE_PATH_MAX (sizeof BUS_SERVICE_PREFIX + 3 * BUS_SERVICE_NAME_MAX + 2)

/* Take a new view and say what changed. The objects answer from b->views,
 * so removals are emitted while the old view is in place and additions
 * and changes once the new one is. */
static void bus_diff(struct bus *b) {
        struct bus_service_view *old;
        size_t n, n_old;
        unsigned total = 0;
        bool set_changed = false;
        char path[SERVICE_PATH_MAX];

        b->dirty = false;
        if (!b->c.bus || b->c.dead || b->diffing)
                return;
        b->diffing = true;
        for (;;) {
                n = b->ops->services(b->userdata, b->scratch, b->cap_scratch);
                if (n <= b->cap_scratch)
                        break;
                if (n > BUS_MAX_SERVICES)
                        n = BUS_MAX_SERVICES;
                struct bus_service_view *v = realloc(b->scratch, n * sizeof *v);

                if (!v) {
                        log_msg(LOG_LEVEL_WARN, -ENOMEM, "D-Bus: cannot take a view of the services");
                        b->diffing = false;
                        return;
                }
                b->scratch = v;
                b->cap_scratch = n;
                if (n == BUS_MAX_SERVICES) {
                        n = b->ops->services(b->userdata, b->scratch, b->cap_scratch);
                        if (n > b->cap_scratch)
                                n = b->cap_scratch;
                        break;
                }
        }

        if (!b->primed) {
                /* The first view: what the objects show from the start,
                 * nothing to announce. */
                struct bus_service_view *t = b->views;
                size_t c = b->cap_views;

                b->views = b->scratch;
                b->n_views = n;
                b->cap_views = b->cap_scratch;
                b->scratch = t;
                b->cap_scratch = c;
                for (size_t i = 0; i < n; i++)
                        b->findings_total += (unsigned)b->views[i].n_findings;
                b->primed = true;
                b->diffing = false;
                return;
        }

        /* Gone: their findings resolve, then the objects go. */
        for (size_t i = 0; i < b->n_views; i++) {
                const struct bus_service_view *o = &b->views[i];

                if (view_find(b->scratch, n, o->name, i))
                        continue;
                set_changed = true;
                for (size_t k = 0; k < o->n_findings; k++)
                        (void)sd.sd_bus_emit_signal(b->c.bus, BUS_PATH, BUS_IFACE, "FindingResolved", "ss", o->name,
                                                    o->findings[k].detector);
                if (service_path(o->name, path, sizeof path) == 0)
                        (void)sd.sd_bus_emit_object_removed(b->c.bus, path);
        }

        /* Swap: the new view is the one the objects show from here on. */
        old = b->views;
        n_old = b->n_views;
        b->views = b->scratch;
        b->n_views = n;
        b->scratch = old;
        {
                size_t c = b->cap_views;

                b->cap_views = b->cap_scratch;
                b->cap_scratch = c;
        }

        for (size_t i = 0; i < n; i++) {
                const struct bus_service_view *v = &b->views[i];
                const struct bus_service_view *o = view_find(old, n_old, v->name, i);
                unsigned d;
                const char *props[12];
                size_t np = 0;

                total += (unsigned)v->n_findings;
                if (service_path(v->name, path, sizeof path) < 0)
                        continue;
                if (!o) {
                        set_changed = true;
                        (void)sd.sd_bus_emit_object_added(b->c.bus, path);
                        for (size_t k = 0; k < v->n_findings; k++)
                                (void)sd.sd_bus_emit_signal(b->c.bus, BUS_PATH, BUS_IFACE, "FindingRaised", "sss",
                                                            v->name, v->findings[k].detector, v->findings[k].summary);
                        continue;
                }
                d = bus_view_diff(o, v);
                if (d & BUS_PROP_STATE)
                        props[np++] = "State";
                if (d & BUS_PROP_SUB_STATE)
                        props[np++] = "SubState";
                if (d & BUS_PROP_MAIN_PID)
                        props[np++] = "MainPID";
                if (d & BUS_PROP_RESTARTS)
                        props[np++] = "Restarts";
                if (d & BUS_PROP_THREADS)
                        props[np++] = "Threads";
                if (d & BUS_PROP_GOROUTINES)
                        props[np++] = "Goroutines";
                if (d & BUS_PROP_RSS)
                        props[np++] = "RSS";
                if (d & BUS_PROP_FINDINGS)
                        props[np++] = "Findings";
                if (d & BUS_PROP_CGROUP_MODE)
                        props[np++] = "CgroupMode";
                props[np] = NULL;
                if (np)
                        (void)sd.sd_bus_emit_properties_changed_strv(b->c.bus, path, BUS_SERVICE_IFACE, (char **)props);
                for (size_t k = 0; k < o->n_findings; k++)
                        if (!bus_view_has_finding(v, o->findings[k].detector))
                                (void)sd.sd_bus_emit_signal(b->c.bus, BUS_PATH, BUS_IFACE, "FindingResolved", "ss",
                                                            v->name, o->findings[k].detector);
                for (size_t k = 0; k < v->n_findings; k++)
                        if (!bus_view_has_finding(o, v->findings[k].detector))
                                (void)sd.sd_bus_emit_signal(b->c.bus, BUS_PATH, BUS_IFACE, "FindingRaised", "sss",
                                                            v->name, v->findings[k].detector, v->findings[k].summary);
        }
        {
                const char *props[3];
                size_t np = 0;

                if (set_changed)
                        props[np++] = "Services";
                if (total != b->findings_total)
                        props[np++] = "Findings";
                props[np] = NULL;
                b->findings_total = total;
                if (np)
                        (void)sd.sd_bus_emit_properties_changed_strv(b->c.bus, BUS_PATH, BUS_IFACE, (char **)props);
        }
        b->diffing = false;
        conn_update_io(&b->c);
}

/* A property or method wants the view of now. */
static void bus_fresh(struct bus *b) {
        if (b->dirty && !b->diffing)
                bus_diff(b);
}

static void diff_timer_cb(struct loop *l _unused_, void *userdata) {
        bus_diff(userdata);
}

void bus_changed(struct bus *b) {
        if (!b || !b->c.bus || b->c.dead)
                return;
        if (!b->dirty) {
                b->dirty = true;
                (void)loop_timer_arm_in(b->loop, &b->diff_timer, 0);
        }
}

/* ---- the loop ---- */

static void conn_process(struct conn *c) {
        int r = 0;

        for (unsigned i = 0; i < BUS_BUDGET && c->bus && !c->dead; i++) {
                r = sd.sd_bus_process(c->bus, NULL);
                if (r < 0) {
                        conn_kill(c, r, "the connection failed");
                        return;
                }
                if (r == 0)
                        break;
        }
        if (r > 0 && !c->dead) {
                /* Budget spent with work left: again after the others. */
                (void)loop_timer_arm_in(c->loop, &c->io_timer, 0);
                return;
        }
        conn_update_io(c);
}

static void conn_close(struct conn *c) {
        if (c->closing)
                c->closing(c->userdata);
        if (c->fd >= 0)
                (void)loop_del_fd(c->loop, c->fd);
        c->fd = -1;
        if (c->loop)
                loop_timer_disarm(c->loop, &c->io_timer);
        if (c->bus)
                sd.sd_bus_close_unref(c->bus);
        c->bus = NULL;
}

static void conn_io_timer_cb(struct loop *l _unused_, void *userdata) {
        struct conn *c = userdata;

        if (c->dead) {
                conn_close(c);
                return;
        }
        conn_process(c);
}

static void conn_on_fd(struct loop *l _unused_, int fd _unused_, uint32_t events _unused_, void *userdata) {
        conn_process(userdata);
}

/* Follow what sd-bus wants: its fd's events and its next timeout. */
static void conn_update_io(struct conn *c) {
        uint32_t ev = 0;
        uint64_t t;
        int r;

        if (!c->bus || c->dead)
                return;
        r = sd.sd_bus_get_events(c->bus);
        if (r < 0) {
                conn_kill(c, r, "the connection is closed");
                return;
        }
        if (r & POLLIN)
                ev |= EPOLLIN;
        if (r & POLLOUT)
                ev |= EPOLLOUT;
        if (ev != c->watched) {
                if (loop_mod_fd(c->loop, c->fd, ev) == 0)
                        c->watched = ev;
        }
        if (loop_timer_armed(&c->io_timer))
                return;         /* a "process again" is due anyway */
        if (sd.sd_bus_get_timeout(c->bus, &t) >= 0 && t != UINT64_MAX)
                (void)loop_timer_arm(c->loop, &c->io_timer, t);
}

static void conn_init(struct conn *c, struct loop *l, void (*closing)(void *), void *userdata) {
        c->loop = l;
        c->fd = -1;
        c->closing = closing;
        c->userdata = userdata;
        loop_timer_init(&c->io_timer, conn_io_timer_cb, c);
}

/* c->bus is connected: watch it. 0 or -errno. */
static int conn_attach(struct conn *c) {
        int r;

        c->fd = sd.sd_bus_get_fd(c->bus);
        r = c->fd < 0 ? c->fd : loop_add_fd(c->loop, c->fd, EPOLLIN, conn_on_fd, c);
        if (r < 0) {
                c->fd = -1;
                return r;
        }
        c->watched = EPOLLIN;
        conn_update_io(c);
        return 0;
}

/* ---- answers ---- */

static bool service_known(struct bus *b, const char *name) {
        bus_fresh(b);
        return view_find(b->views, b->n_views, name, 0) != NULL;
}

static int reply_errno(sd_bus_message *m, const char *name, int r, const char *err) {
        if (r == -ENOENT)
                return sd.sd_bus_reply_method_errorf(m, BUS_ERROR_NO_SUCH_SERVICE, "no service '%s'", name ? name : "");
        if (r == -EINVAL && err && *err)
                return sd.sd_bus_reply_method_errorf(m, SD_BUS_ERROR_INVALID_ARGS, "%s", err);
        return sd.sd_bus_reply_method_errorf(m, BUS_ERROR_FAILED, "%s", err && *err ? err : strerror(-r));
}

static void dump_done(struct http_client *c _unused_, const struct http_result *r, void *userdata);

static int dump_begin(struct pending *p, char *err, size_t err_size) {
        struct bus *b = p->b;
        struct http_client_opts o = { .total_timeout_usec = 10 * UINT64_C(1000000), .body_max = (size_t)32 << 20 };
        _cleanup_free_ char *url = NULL;
        const struct bus_service_view *v;
        int r;

        bus_fresh(b);
        v = view_find(b->views, b->n_views, p->name, 0);
        if (!v)
                return -ENOENT;
        if (!v->pprof_url[0]) {
                snprintf(err, err_size, "service '%s' has no pprof_url: its goroutines cannot be fetched", p->name);
                return -ENOTSUP;
        }
        if (!b->ops->state_dir || !b->ops->state_dir(b->userdata)) {
                snprintf(err, err_size, "no state directory (state_dir): the dump would have nowhere to go");
                return -ENOTSUP;
        }
        p->state_dir = strdup(b->ops->state_dir(b->userdata));
        url = actions_profile_url(v->pprof_url, "goroutine", "debug=2");
        if (!p->state_dir)
                return -ENOMEM;
        if (!url) {
                snprintf(err, err_size, "pprof_url %s does not end in /goroutine", v->pprof_url);
                return -ENOTSUP;
        }
        r = http_client_new(b->loop, url, v->scrape_socket[0] ? v->scrape_socket : NULL, &o, &p->http);
        if (r >= 0)
                r = http_client_get(p->http, "text/plain", dump_done, p);
        if (r < 0)
                snprintf(err, err_size, "cannot fetch %s: %s", url, strerror(-r));
        return r;
}

/* The page fetched: grouped, written as text next to the findings' dumps
 * (STATE/dumps/NAME/...-dbus.txt), the path answered. */
static void dump_done(struct http_client *c _unused_, const struct http_result *r, void *userdata) {
        struct pending *p = userdata;
        _cleanup_(godump_freep) struct godump *d = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len = 0;
        int e;

        if (r->error != HTTP_OK || r->status != 200) {
                (void)sd.sd_bus_reply_method_errorf(p->call, BUS_ERROR_FAILED, "service '%s': %s", p->name,
                                                    r->message ? r->message : "the goroutine profile did not answer 200");
                goto done;
        }
        e = godump_parse(r->body, r->body_len, &d);
        if (e >= 0)
                e = godump_write_text(d, 0, 0, &text, &len);
        if (e < 0) {
                (void)sd.sd_bus_reply_method_errorf(p->call, BUS_ERROR_FAILED,
                                                    "service '%s': the goroutine dump could not be read: %s", p->name,
                                                    strerror(-e));
                goto done;
        }
        e = actions_save_dump(p->state_dir, p->name, "dbus", actions_wall_usec((double)now_usec() / 1e6), text, len,
                              BUS_DUMPS_KEEP, ACTIONS_DBUS_DUMP_SUFFIX, NULL, &path);
        if (e < 0) {
                (void)sd.sd_bus_reply_method_errorf(p->call, BUS_ERROR_FAILED, "cannot write under %s/dumps/%s: %s",
                                                    p->state_dir, p->name, strerror(-e));
                goto done;
        }
        log_event(LOG_LEVEL_INFO, "dbus_dump", "service", p->name, "file", path, NULL);
        (void)sd.sd_bus_reply_method_return(p->call, "s", path);
done:
        p->http = NULL;        /* freed by http when this returns */
        http_client_free(c);
        {
                struct bus *b = p->b;

                pending_free(p);
                conn_update_io(&b->c);
        }
}

/* The caller is allowed: do it. */
static void pending_run(struct pending *p) {
        struct bus *b = p->b;
        char err[512] = "";
        int r;

        if (strcmp(p->cmd, "dump") == 0) {
                r = dump_begin(p, err, sizeof err);
                if (r >= 0)
                        return;        /* answered by dump_done() */
                (void)reply_errno(p->call, p->name, r, err);
                pending_free(p);
                return;
        }
        log_event(LOG_LEVEL_INFO, "dbus", "command", p->cmd, LOG_OPT(p->name[0], "service"), p->name,
                  LOG_OPT(p->arg[0], "signal"), p->arg, NULL);
        r = b->ops->command(b->userdata, p->cmd, p->name[0] ? p->name : NULL, p->arg[0] ? p->arg : NULL, err,
                            sizeof err);
        if (r < 0)
                (void)reply_errno(p->call, p->name, r, err);
        else
                (void)sd.sd_bus_reply_method_return(p->call, NULL);
        pending_free(p);
}

static int on_caller_uid(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        struct pending *p = userdata;
        const sd_bus_error *e = sd.sd_bus_message_get_error(m);
        uint32_t uid;

        p->slot = sd.sd_bus_slot_unref(p->slot);
        if (e || sd.sd_bus_message_read(m, "u", &uid) < 0) {
                (void)sd.sd_bus_reply_method_errorf(p->call, SD_BUS_ERROR_ACCESS_DENIED,
                                                    "cannot tell who is calling: %s", e && e->message ? e->message : "?");
                pending_free(p);
                return 0;
        }
        if (uid != 0 && uid != (uint32_t)geteuid()) {
                (void)sd.sd_bus_reply_method_errorf(p->call, SD_BUS_ERROR_ACCESS_DENIED,
                                                    "only root may call %s (the caller is uid %u)",
                                                    p->cmd, (unsigned)uid);
                pending_free(p);
                return 0;
        }
        pending_run(p);
        return 0;
}

/* A mutating method: check the arguments, then ask the bus daemon who the
 * caller is (asynchronously) and go on in on_caller_uid(). */
static int begin_mutating(sd_bus_message *m, struct bus *b, const char *cmd, const char *name, const char *arg,
                          sd_bus_error *ret_error) {
        const char *sender = sd.sd_bus_message_get_sender(m);
        struct pending *p;
        int r;

        if (name && strlen(name) > BUS_SERVICE_NAME_MAX)
                return sd.sd_bus_error_setf(ret_error, SD_BUS_ERROR_INVALID_ARGS, "a service name of %zu bytes",
                                            strlen(name));
        if (name && !service_known(b, name))
                return sd.sd_bus_error_setf(ret_error, BUS_ERROR_NO_SUCH_SERVICE, "no service '%s'", name);
        if (arg) {
                int sig;

                if (parse_signal(arg, &sig) < 0)
                        return sd.sd_bus_error_setf(ret_error, SD_BUS_ERROR_INVALID_ARGS, "invalid signal '%.64s'",
                                                    arg);
                arg = signal_to_name(sig);
        }
        if (!sender)
                return sd.sd_bus_error_setf(ret_error, SD_BUS_ERROR_ACCESS_DENIED, "a call without a sender");
        if (b->n_pending >= BUS_MAX_PENDING)
                return sd.sd_bus_error_setf(ret_error, BUS_ERROR_BUSY, "%zu calls are still being answered",
                                            b->n_pending);
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->b = b;
        p->call = sd.sd_bus_message_ref(m);
        snprintf(p->cmd, sizeof p->cmd, "%s", cmd);
        snprintf(p->name, sizeof p->name, "%s", name ? name : "");
        snprintf(p->arg, sizeof p->arg, "%s", arg ? arg : "");
        p->next = b->pending;
        b->pending = p;
        b->n_pending++;
        r = sd.sd_bus_call_method_async(b->c.bus, &p->slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "GetConnectionUnixUser", on_caller_uid, p, "s",
                                        sender);
        if (r < 0) {
                pending_free(p);
                return r;
        }
        return 1;
}

/* ---- org.gorral.Supervisor1 ---- */

static int m_list(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        struct bus *b = userdata;
        sd_bus_message *reply = NULL;
        int r;

        bus_fresh(b);
        r = sd.sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd.sd_bus_message_open_container(reply, 'a', "(ssuu)");
        for (size_t i = 0; r >= 0 && i < b->n_views; i++)
                r = sd.sd_bus_message_append(reply, "(ssuu)", b->views[i].name, b->views[i].state,
                                             b->views[i].main_pid, b->views[i].restarts);
        if (r >= 0)
                r = sd.sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd.sd_bus_send(NULL, reply, NULL);
        sd.sd_bus_message_unref(reply);
        return r < 0 ? r : 1;
}

static int m_start(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name;
        int r = sd.sd_bus_message_read(m, "s", &name);

        return r < 0 ? r : begin_mutating(m, userdata, "start", name, NULL, ret_error);
}

static int m_stop(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name;
        int r = sd.sd_bus_message_read(m, "s", &name);

        return r < 0 ? r : begin_mutating(m, userdata, "stop", name, NULL, ret_error);
}

static int m_restart(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name;
        int r = sd.sd_bus_message_read(m, "s", &name);

        return r < 0 ? r : begin_mutating(m, userdata, "restart", name, NULL, ret_error);
}

static int m_reload(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        return begin_mutating(m, userdata, "reload", NULL, NULL, ret_error);
}

static int m_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name, *sig;
        int r = sd.sd_bus_message_read(m, "ss", &name, &sig);

        return r < 0 ? r : begin_mutating(m, userdata, "signal", name, sig, ret_error);
}

static int m_dump(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name;
        int r = sd.sd_bus_message_read(m, "s", &name);

        return r < 0 ? r : begin_mutating(m, userdata, "dump", name, NULL, ret_error);
}

static int p_version(sd_bus *bus _unused_, const char *path _unused_, const char *iface _unused_,
                     const char *prop _unused_, sd_bus_message *reply, void *userdata, sd_bus_error *e _unused_) {
        struct bus *b = userdata;

        return sd.sd_bus_message_append(reply, "s", b->version);
}

static int p_services(sd_bus *bus _unused_, const char *path _unused_, const char *iface _unused_,
                      const char *prop _unused_, sd_bus_message *reply, void *userdata, sd_bus_error *e _unused_) {
        struct bus *b = userdata;
        char p[SERVICE_PATH_MAX];
        int r;

        bus_fresh(b);
        r = sd.sd_bus_message_open_container(reply, 'a', "o");
        for (size_t i = 0; r >= 0 && i < b->n_views; i++)
                if (service_path(b->views[i].name, p, sizeof p) == 0)
                        r = sd.sd_bus_message_append(reply, "o", p);
        return r < 0 ? r : sd.sd_bus_message_close_container(reply);
}

static int p_findings_total(sd_bus *bus _unused_, const char *path _unused_, const char *iface _unused_,
                            const char *prop _unused_, sd_bus_message *reply, void *userdata,
                            sd_bus_error *e _unused_) {
        struct bus *b = userdata;
        uint32_t n = 0;

        bus_fresh(b);
        for (size_t i = 0; i < b->n_views; i++)
                n += (uint32_t)b->views[i].n_findings;
        return sd.sd_bus_message_append(reply, "u", n);
}

/* Every method is SD_BUS_VTABLE_UNPRIVILEGED: without it sd-bus checks
 * CAP_SYS_ADMIN itself with a synchronous call to the bus daemon, and
 * would refuse even the reads. The mutating ones are checked by
 * begin_mutating() (the caller's uid, asynchronously) and by the bus
 * policy (packaging/dbus/org.gorral.Supervisor1.conf). */
static sd_bus_vtable supervisor_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", p_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Services", "ao", p_services, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Findings", "u", p_findings_total, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("ListServices", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ssuu)", services), m_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartService", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, m_start,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StopService", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, m_stop,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RestartService", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, m_restart,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, m_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Signal", SD_BUS_ARGS("s", name, "s", signal), SD_BUS_NO_RESULT, m_signal,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Dump", SD_BUS_ARGS("s", name), SD_BUS_RESULT("s", path), m_dump,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("FindingRaised", SD_BUS_ARGS("s", service, "s", detector, "s", summary), 0),
        SD_BUS_SIGNAL_WITH_ARGS("FindingResolved", SD_BUS_ARGS("s", service, "s", detector), 0),
        SD_BUS_VTABLE_END,
};

/* ---- org.gorral.Service1, one object per service ---- */

/* The object's userdata is the bus: the view is found again by the path
 * at each call (the views move when a new one is taken). */
static const struct bus_service_view *view_of_path(struct bus *b, const char *path) {
        char name[BUS_SERVICE_NAME_MAX + 1];
        const char *label;

        if (strncmp(path, BUS_SERVICE_PREFIX "/", sizeof BUS_SERVICE_PREFIX) != 0)
                return NULL;
        label = path + sizeof BUS_SERVICE_PREFIX;
        if (strchr(label, '/') || bus_label_unescape(label, name, sizeof name) < 0)
                return NULL;
        bus_fresh(b);
        return view_find(b->views, b->n_views, name, 0);
}

static int service_find(sd_bus *bus _unused_, const char *path, const char *iface _unused_, void *userdata,
                        void **ret_found, sd_bus_error *e _unused_) {
        struct bus *b = userdata;

        if (!view_of_path(b, path))
                return 0;
        *ret_found = b;
        return 1;
}

static int service_enumerate(sd_bus *bus _unused_, const char *prefix _unused_, void *userdata, char ***ret_nodes,
                             sd_bus_error *e _unused_) {
        struct bus *b = userdata;
        char **v;
        size_t k = 0;

        bus_fresh(b);
        v = calloc(b->n_views + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < b->n_views; i++) {
                char p[SERVICE_PATH_MAX];

                if (service_path(b->views[i].name, p, sizeof p) < 0)
                        continue;
                v[k] = strdup(p);
                if (!v[k]) {
                        strv_free(v);
                        return -ENOMEM;
                }
                k++;
        }
        *ret_nodes = v;
        return 0;
}

#define SERVICE_PROP_FN(fn, body)                                                                                 \
        static int fn(sd_bus *bus _unused_, const char *path, const char *iface _unused_, const char *prop _unused_, \
                      sd_bus_message *reply, void *userdata, sd_bus_error *e) {                                  \
                const struct bus_service_view *v = view_of_path(userdata, path);                                 \
                if (!v)                                                                                          \
                        return sd.sd_bus_error_setf(e, SD_BUS_ERROR_UNKNOWN_OBJECT, "no service at %s", path);  \
                body;                                                                                            \
        }

SERVICE_PROP_FN(sp_name, return sd.sd_bus_message_append(reply, "s", v->name))
SERVICE_PROP_FN(sp_state, return sd.sd_bus_message_append(reply, "s", v->state))
SERVICE_PROP_FN(sp_sub_state, return sd.sd_bus_message_append(reply, "s", v->sub_state))
SERVICE_PROP_FN(sp_main_pid, return sd.sd_bus_message_append(reply, "u", v->main_pid))
SERVICE_PROP_FN(sp_restarts, return sd.sd_bus_message_append(reply, "u", v->restarts))
SERVICE_PROP_FN(sp_threads, return sd.sd_bus_message_append(reply, "t", v->threads))
SERVICE_PROP_FN(sp_goroutines, return sd.sd_bus_message_append(reply, "t", v->goroutines))
SERVICE_PROP_FN(sp_rss, return sd.sd_bus_message_append(reply, "t", v->rss_bytes))
SERVICE_PROP_FN(sp_cgroup_mode, return sd.sd_bus_message_append(reply, "s", v->cgroup_mode))
SERVICE_PROP_FN(sp_findings, {
        int r = sd.sd_bus_message_open_container(reply, 'a', "s");

        for (size_t i = 0; r >= 0 && i < v->n_findings; i++)
                r = sd.sd_bus_message_append(reply, "s", v->findings[i].detector);
        return r < 0 ? r : sd.sd_bus_message_close_container(reply);
})

static int service_method(sd_bus_message *m, void *userdata, sd_bus_error *ret_error, const char *cmd) {
        const struct bus_service_view *v = view_of_path(userdata, sd.sd_bus_message_get_path(m));

        if (!v)
                return sd.sd_bus_error_setf(ret_error, BUS_ERROR_NO_SUCH_SERVICE, "no such service");
        return begin_mutating(m, userdata, cmd, v->name, NULL, ret_error);
}

static int sm_start(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        return service_method(m, userdata, ret_error, "start");
}

static int sm_stop(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        return service_method(m, userdata, ret_error, "stop");
}

static int sm_restart(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        return service_method(m, userdata, ret_error, "restart");
}

static sd_bus_vtable service_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", sp_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", sp_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SubState", "s", sp_sub_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MainPID", "u", sp_main_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Restarts", "u", sp_restarts, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Threads", "t", sp_threads, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Goroutines", "t", sp_goroutines, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RSS", "t", sp_rss, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Findings", "as", sp_findings, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CgroupMode", "s", sp_cgroup_mode, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Start", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, sm_start, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, sm_stop, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Restart", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, sm_restart, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* ---- open / close ---- */

static int on_name(sd_bus_message *m, void *userdata, sd_bus_error *ret_error _unused_) {
        struct bus *b = userdata;
        const sd_bus_error *e = sd.sd_bus_message_get_error(m);

        if (e) {
                log_event(LOG_LEVEL_ERROR, "dbus", "bus", b->describe, "name", BUS_NAME, "error", e->name,
                          "msg", e->message ? e->message : "cannot own the name (the bus policy: "
                                                           "packaging/dbus/" BUS_NAME ".conf)", NULL);
                conn_kill(&b->c, -EACCES, "the name " BUS_NAME " is not ours");
                return 0;
        }
        log_event(LOG_LEVEL_INFO, "dbus", "bus", b->describe, "name", BUS_NAME, "object", BUS_PATH, NULL);
        return 0;
}

static int connect_bus(const struct bus_options *o, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        switch (o->kind) {
        case BUS_KIND_DEFAULT:
        case BUS_KIND_SYSTEM:
                return sd.sd_bus_open_system(ret);
        case BUS_KIND_SESSION:
                return sd.sd_bus_open_user(ret);
        case BUS_KIND_ADDRESS:
                r = sd.sd_bus_new(&bus);
                if (r < 0)
                        return r;
                r = sd.sd_bus_set_address(bus, o->address);
                if (r >= 0)
                        r = sd.sd_bus_set_bus_client(bus, 1);
                if (r >= 0)
                        r = sd.sd_bus_start(bus);
                if (r < 0) {
                        sd.sd_bus_close_unref(bus);
                        return r;
                }
                *ret = bus;
                return 0;
        case BUS_KIND_NONE:
                break;
        }
        return -EINVAL;
}

/* The default: the system bus when root and its socket is there. */
static bool default_applies(void) {
        const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");

        if (geteuid() != 0)
                return false;
        return (a && *a) || access("/run/dbus/system_bus_socket", F_OK) == 0;
}

static void bus_closing(void *userdata);

int bus_open(struct loop *l, const struct bus_options *o, const struct bus_ops *ops, void *userdata,
             struct bus **ret, char **ret_err) {
        struct bus *b;
        const char *lib_err;
        int r;

        *ret = NULL;
        *ret_err = NULL;
        if (o->kind == BUS_KIND_NONE || (o->kind == BUS_KIND_DEFAULT && !default_applies()))
                return 0;
        r = bus_lib_load(&lib_err);
        if (r < 0) {
                *ret_err = strdup(lib_err);
                return r;
        }
        supervisor_vtable[0].x.start.vtable_format_reference = sd_vtable_format;
        service_vtable[0].x.start.vtable_format_reference = sd_vtable_format;
        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->loop = l;
        b->ops = ops;
        b->userdata = userdata;
        conn_init(&b->c, l, bus_closing, b);
        loop_timer_init(&b->diff_timer, diff_timer_cb, b);
        b->describe = strdup(o->kind == BUS_KIND_ADDRESS ? o->address : o->kind == BUS_KIND_SESSION ? "session" : "system");
        b->version = strdup(o->version ? o->version : "");
        if (!b->describe || !b->version) {
                r = -ENOMEM;
                goto fail;
        }
        snprintf(b->c.what, sizeof b->c.what, "D-Bus (%s)", b->describe);
        r = connect_bus(o, &b->c.bus);
        if (r < 0) {
                if (asprintf(ret_err, "cannot connect to the %s bus: %s", b->describe, strerror(-r)) < 0)
                        *ret_err = NULL;
                goto fail;
        }
        (void)sd.sd_bus_set_description(b->c.bus, "gorral");
        r = sd.sd_bus_add_object_vtable(b->c.bus, NULL, BUS_PATH, BUS_IFACE, supervisor_vtable, b);
        if (r >= 0)
                r = sd.sd_bus_add_fallback_vtable(b->c.bus, NULL, BUS_SERVICE_PREFIX, BUS_SERVICE_IFACE, service_vtable,
                                                  service_find, b);
        if (r >= 0)
                r = sd.sd_bus_add_node_enumerator(b->c.bus, NULL, BUS_SERVICE_PREFIX, service_enumerate, b);
        if (r >= 0)
                r = sd.sd_bus_add_object_manager(b->c.bus, NULL, BUS_PATH);
        if (r >= 0)
                r = sd.sd_bus_request_name_async(b->c.bus, NULL, BUS_NAME, 0, on_name, b);
        if (r < 0) {
                if (asprintf(ret_err, "cannot set up the objects on the %s bus: %s", b->describe, strerror(-r)) < 0)
                        *ret_err = NULL;
                goto fail;
        }
        r = conn_attach(&b->c);
        if (r < 0) {
                if (asprintf(ret_err, "cannot watch the %s bus: %s", b->describe, strerror(-r)) < 0)
                        *ret_err = NULL;
                goto fail;
        }
        /* The first view: what the objects show before any change. */
        b->dirty = true;
        bus_diff(b);
        conn_update_io(&b->c);
        *ret = b;
        return 0;
fail:
        bus_free(b);
        return r;
}

static void bus_closing(void *userdata) {
        struct bus *b = userdata;

        pending_free_all(b);
        loop_timer_disarm(b->loop, &b->diff_timer);
}

struct bus *bus_free(struct bus *b) {
        if (!b)
                return NULL;
        conn_close(&b->c);
        free(b->views);
        free(b->scratch);
        free(b->describe);
        free(b->version);
        free(b);
        return NULL;
}

const char *bus_describe(const struct bus *b) {
        return b ? b->describe : "none";
}

/* ---- transient scopes ---- */

struct bus_scopes;

struct scope_job {
        struct bus_scopes *sc;
        bool used;
        char unit[BUS_SCOPE_UNIT_MAX];
        char service[BUS_SERVICE_NAME_MAX + 1];
        pid_t pid;
        sd_bus_slot *slot;            /* the StartTransientUnit call */
};

struct bus_scopes {
        struct conn c;
        const struct bus_scopes_ops *ops;
        void *userdata;
        bool explicit_kind;           /* --scopes system|user */
        bool decided;
        struct loop_timer decide_timer;
        sd_bus_slot *decide_slot;     /* the step of the decision in flight */
        char manager[8];              /* "system", "user" */
        char unit_id[256];            /* gorral's own unit */
        char unit_path[512];          /* its object */
        char unit_iface[48];          /* org.freedesktop.systemd1.Service or .Scope */
        char slice[256];              /* its slice: the scopes go beside it ("": the manager's default) */
        struct scope_job jobs[BUS_SCOPES_PENDING];
};

const char *bus_scopes_describe(const struct bus_scopes *sc) {
        return sc ? sc->manager : "none";
}

static void scopes_decide(struct bus_scopes *sc, enum bus_cgroup_mode mode, const char *fmt, ...) _printf_(3, 4);
static void scopes_decide(struct bus_scopes *sc, enum bus_cgroup_mode mode, const char *fmt, ...) {
        char why[512];
        va_list ap;

        if (sc->decided)
                return;
        sc->decided = true;
        loop_timer_disarm(sc->c.loop, &sc->decide_timer);
        if (sc->decide_slot)
                sc->decide_slot = sd.sd_bus_slot_unref(sc->decide_slot);
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        sc->ops->decided(sc->userdata, mode, why);
        conn_update_io(&sc->c);
}

static void decide_timer_cb(struct loop *l _unused_, void *userdata) {
        struct bus_scopes *sc = userdata;

        scopes_decide(sc, BUS_CGROUP_OWN, "the %s manager did not answer within %llu s: gorral makes its own cgroups",
                      sc->manager, (unsigned long long)(BUS_SCOPES_DECIDE_USEC / 1000000));
}

/* The scopes go into gorral's own slice (Slice= of its unit), so that
 * what the admin set there (a slice's CPU or memory budget, its
 * accounting) holds the services too. */
static int on_slice(sd_bus_message *m, void *userdata, sd_bus_error *e _unused_) {
        struct bus_scopes *sc = userdata;
        const sd_bus_error *err = sd.sd_bus_message_get_error(m);
        const char *slice = NULL;

        sc->decide_slot = sd.sd_bus_slot_unref(sc->decide_slot);
        if (!err && sd.sd_bus_message_read(m, "v", "s", &slice) >= 0 && slice && *slice)
                snprintf(sc->slice, sizeof sc->slice, "%s", slice);
        if (sc->slice[0])
                scopes_decide(sc, BUS_CGROUP_SCOPE, "%s has no Delegate=yes: a transient scope per service, in %s",
                              sc->unit_id, sc->slice);
        else
                scopes_decide(sc, BUS_CGROUP_SCOPE, "%s has no Delegate=yes: a transient scope per service", sc->unit_id);
        return 0;
}

static int on_delegate(sd_bus_message *m, void *userdata, sd_bus_error *e _unused_) {
        struct bus_scopes *sc = userdata;
        const sd_bus_error *err = sd.sd_bus_message_get_error(m);
        int delegate = 0, r;

        sc->decide_slot = sd.sd_bus_slot_unref(sc->decide_slot);
        if (err || sd.sd_bus_message_read(m, "v", "b", &delegate) < 0)
                scopes_decide(sc, BUS_CGROUP_SCOPE, "the Delegate of %s cannot be read (%s): a transient scope per service",
                              sc->unit_id, err && err->message ? err->message : "?");
        else if (delegate)
                scopes_decide(sc, BUS_CGROUP_DELEGATED,
                              "%s has Delegate=yes: gorral makes the services' cgroups below its own", sc->unit_id);
        else {
                r = sd.sd_bus_call_method_async(sc->c.bus, &sc->decide_slot, "org.freedesktop.systemd1", sc->unit_path,
                                                "org.freedesktop.DBus.Properties", "Get", on_slice, sc, "ss",
                                                sc->unit_iface, "Slice");
                if (r < 0)
                        scopes_decide(sc, BUS_CGROUP_SCOPE, "%s has no Delegate=yes: a transient scope per service",
                                      sc->unit_id);
        }
        return 0;
}

static int on_unit_id(sd_bus_message *m, void *userdata, sd_bus_error *e _unused_) {
        struct bus_scopes *sc = userdata;
        const sd_bus_error *err = sd.sd_bus_message_get_error(m);
        const char *id = NULL, *iface = NULL, *dot;
        int r;

        sc->decide_slot = sd.sd_bus_slot_unref(sc->decide_slot);
        if (err || sd.sd_bus_message_read(m, "v", "s", &id) < 0 || !id) {
                scopes_decide(sc, BUS_CGROUP_SCOPE, "gorral's unit has no readable Id (%s): a transient scope per service",
                              err && err->message ? err->message : "?");
                return 0;
        }
        snprintf(sc->unit_id, sizeof sc->unit_id, "%s", id);
        dot = strrchr(id, '.');
        if (dot && strcmp(dot, ".service") == 0)
                iface = "org.freedesktop.systemd1.Service";
        else if (dot && strcmp(dot, ".scope") == 0)
                iface = "org.freedesktop.systemd1.Scope";
        if (!iface) {
                scopes_decide(sc, BUS_CGROUP_SCOPE, "gorral runs in %s, which delegates nothing: a transient scope per service",
                              sc->unit_id);
                return 0;
        }
        snprintf(sc->unit_iface, sizeof sc->unit_iface, "%s", iface);
        r = sd.sd_bus_call_method_async(sc->c.bus, &sc->decide_slot, "org.freedesktop.systemd1", sc->unit_path,
                                        "org.freedesktop.DBus.Properties", "Get", on_delegate, sc, "ss", iface,
                                        "Delegate");
        if (r < 0)
                scopes_decide(sc, BUS_CGROUP_OWN, "cannot ask the %s manager (%s): gorral makes its own cgroups",
                              sc->manager, strerror(-r));
        return 0;
}

static int on_unit_by_pid(sd_bus_message *m, void *userdata, sd_bus_error *e _unused_) {
        struct bus_scopes *sc = userdata;
        const sd_bus_error *err = sd.sd_bus_message_get_error(m);
        const char *path = NULL;
        int r;

        sc->decide_slot = sd.sd_bus_slot_unref(sc->decide_slot);
        if (err || sd.sd_bus_message_read(m, "o", &path) < 0 || !path) {
                /* In no unit of a manager that runs: systemd still owns the
                 * tree (gorral started from a shell, a test's manager). */
                if (sc->explicit_kind || (err && sd.sd_bus_error_has_name(err, "org.freedesktop.systemd1.NoUnitForPID")))
                        scopes_decide(sc, BUS_CGROUP_SCOPE, "gorral is in no unit of the %s manager (%s): a transient scope per service",
                                      sc->manager, err && err->message ? err->message : "?");
                else
                        scopes_decide(sc, BUS_CGROUP_OWN, "the %s manager does not say gorral's unit (%s): gorral makes its own cgroups",
                                      sc->manager, err && err->message ? err->message : "?");
                return 0;
        }
        snprintf(sc->unit_path, sizeof sc->unit_path, "%s", path);
        r = sd.sd_bus_call_method_async(sc->c.bus, &sc->decide_slot, "org.freedesktop.systemd1", sc->unit_path,
                                        "org.freedesktop.DBus.Properties", "Get", on_unit_id, sc, "ss",
                                        "org.freedesktop.systemd1.Unit", "Id");
        if (r < 0)
                scopes_decide(sc, BUS_CGROUP_OWN, "cannot ask the %s manager (%s): gorral makes its own cgroups",
                              sc->manager, strerror(-r));
        return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *e _unused_) {
        struct bus_scopes *sc = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        if (sd.sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        for (size_t i = 0; i < BUS_SCOPES_PENDING; i++) {
                struct scope_job *j = &sc->jobs[i];

                if (!j->used || strcmp(j->unit, unit) != 0)
                        continue;
                {
                        struct scope_job done = *j;

                        j->slot = NULL;        /* the reply, if still due, finds no job */
                        if (done.slot)
                                sd.sd_bus_slot_unref(done.slot);
                        memset(j, 0, sizeof *j);
                        j->sc = sc;
                        sc->ops->scope_done(sc->userdata, done.service, done.pid, done.unit,
                                            strcmp(result, "done") == 0, result);
                }
                break;
        }
        return 0;
}

static int on_scope_reply(sd_bus_message *m, void *userdata, sd_bus_error *e _unused_) {
        struct scope_job *j = userdata;
        struct bus_scopes *sc = j->sc;
        const sd_bus_error *err = sd.sd_bus_message_get_error(m);
        struct scope_job done;

        if (!j->used)
                return 0;
        j->slot = sd.sd_bus_slot_unref(j->slot);
        if (!err)
                return 0;      /* JobRemoved tells the rest */
        done = *j;
        memset(j, 0, sizeof *j);
        j->sc = sc;
        sc->ops->scope_done(sc->userdata, done.service, done.pid, done.unit, false,
                            err->message ? err->message : err->name);
        return 0;
}

int bus_scope_start(struct bus_scopes *sc, const char *service, pid_t pid, uint64_t cpu_quota_per_sec_usec,
                    uint64_t memory_max, char *unit) {
        sd_bus_message *m = NULL;
        struct scope_job *j = NULL;
        char desc[128];
        int r;

        if (!sc || !sc->c.bus || sc->c.dead)
                return -ENOTCONN;
        r = bus_scope_unit_name(service, pid, unit, BUS_SCOPE_UNIT_MAX);
        if (r < 0)
                return r;
        for (size_t i = 0; i < BUS_SCOPES_PENDING && !j; i++)
                if (!sc->jobs[i].used)
                        j = &sc->jobs[i];
        if (!j)
                return -EBUSY;     /* 64 scopes still being made: this start runs without one */
        snprintf(desc, sizeof desc, "gorral service %s", service);
        r = sd.sd_bus_message_new_method_call(sc->c.bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                              "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r >= 0)
                r = sd.sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = sd.sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd.sd_bus_message_append(m, "(sv)", "Description", "s", desc);
        if (r >= 0)
                r = sd.sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, (uint32_t)pid);
        if (r >= 0 && cpu_quota_per_sec_usec)
                r = sd.sd_bus_message_append(m, "(sv)", "CPUQuotaPerSecUSec", "t", cpu_quota_per_sec_usec);
        if (r >= 0 && memory_max)
                r = sd.sd_bus_message_append(m, "(sv)", "MemoryMax", "t", memory_max);
        if (r >= 0 && sc->slice[0])
                r = sd.sd_bus_message_append(m, "(sv)", "Slice", "s", sc->slice);
        /* A failed scope is collected too, not left for `systemctl reset-failed`. */
        if (r >= 0)
                r = sd.sd_bus_message_append(m, "(sv)", "CollectMode", "s", "inactive-or-failed");
        if (r >= 0)
                r = sd.sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd.sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r >= 0)
                r = sd.sd_bus_call_async(sc->c.bus, &j->slot, m, on_scope_reply, j, 0);
        sd.sd_bus_message_unref(m);
        if (r < 0)
                return r;
        j->used = true;
        j->pid = pid;
        snprintf(j->unit, sizeof j->unit, "%s", unit);
        snprintf(j->service, sizeof j->service, "%s", service);
        conn_update_io(&sc->c);
        return 0;
}

static void scopes_closing(void *userdata) {
        struct bus_scopes *sc = userdata;

        for (size_t i = 0; i < BUS_SCOPES_PENDING; i++)
                if (sc->jobs[i].slot)
                        sc->jobs[i].slot = sd.sd_bus_slot_unref(sc->jobs[i].slot);
        if (sc->decide_slot)
                sc->decide_slot = sd.sd_bus_slot_unref(sc->decide_slot);
}

/* The manager's bus: the system bus, or systemd's private socket where
 * no dbus-daemon runs; the user bus. */
static int connect_manager(bool user, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        if (user)
                return sd.sd_bus_open_user(ret);
        r = sd.sd_bus_open_system(ret);
        if (r >= 0 || access("/run/systemd/private", F_OK) < 0)
                return r;
        r = sd.sd_bus_new(&bus);
        if (r >= 0)
                r = sd.sd_bus_set_address(bus, "unix:path=/run/systemd/private");
        if (r >= 0)
                r = sd.sd_bus_start(bus);
        if (r < 0) {
                if (bus)
                        sd.sd_bus_close_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

int bus_scopes_open(struct loop *l, enum bus_scopes_kind kind, const struct bus_scopes_ops *ops, void *userdata,
                    struct bus_scopes **ret, char **ret_why) {
        struct bus_scopes *sc;
        const char *lib_err;
        bool user;
        int r;

        *ret = NULL;
        *ret_why = NULL;
        if (kind == BUS_SCOPES_NO) {
                *ret_why = strdup("--scopes no");
                return 0;
        }
        if (kind == BUS_SCOPES_AUTO && access("/run/systemd/system", F_OK) < 0) {
                *ret_why = strdup("systemd is not running (no /run/systemd/system)");
                return 0;
        }
        user = kind == BUS_SCOPES_USER || (kind == BUS_SCOPES_AUTO && geteuid() != 0);
        r = bus_lib_load(&lib_err);
        if (r < 0) {
                *ret_why = strdup(lib_err);
                return kind == BUS_SCOPES_AUTO ? 0 : r;
        }
        sc = calloc(1, sizeof *sc);
        if (!sc)
                return -ENOMEM;
        sc->ops = ops;
        sc->userdata = userdata;
        sc->explicit_kind = kind != BUS_SCOPES_AUTO;
        snprintf(sc->manager, sizeof sc->manager, "%s", user ? "user" : "system");
        snprintf(sc->c.what, sizeof sc->c.what, "the systemd %s manager's bus", sc->manager);
        conn_init(&sc->c, l, scopes_closing, sc);
        for (size_t i = 0; i < BUS_SCOPES_PENDING; i++)
                sc->jobs[i].sc = sc;
        loop_timer_init(&sc->decide_timer, decide_timer_cb, sc);
        r = connect_manager(user, &sc->c.bus);
        if (r < 0) {
                if (asprintf(ret_why, "cannot connect to the systemd %s manager: %s", sc->manager, strerror(-r)) < 0)
                        *ret_why = NULL;
                bus_scopes_free(sc);
                return kind == BUS_SCOPES_AUTO ? 0 : r;
        }
        (void)sd.sd_bus_set_description(sc->c.bus, "gorral-scopes");
        r = sd.sd_bus_match_signal_async(sc->c.bus, NULL, NULL, "/org/freedesktop/systemd1",
                                         "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, NULL, sc);
        if (r >= 0)
                r = sd.sd_bus_call_method_async(sc->c.bus, &sc->decide_slot, "org.freedesktop.systemd1",
                                                "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                                "GetUnitByPID", on_unit_by_pid, sc, "u", (uint32_t)getpid());
        if (r >= 0)
                r = conn_attach(&sc->c);
        if (r >= 0)
                r = loop_timer_arm_in(l, &sc->decide_timer, BUS_SCOPES_DECIDE_USEC);
        if (r < 0) {
                if (asprintf(ret_why, "cannot ask the systemd %s manager: %s", sc->manager, strerror(-r)) < 0)
                        *ret_why = NULL;
                bus_scopes_free(sc);
                return kind == BUS_SCOPES_AUTO ? 0 : r;
        }
        *ret = sc;
        return 0;
}

struct bus_scopes *bus_scopes_free(struct bus_scopes *sc) {
        if (!sc)
                return NULL;
        conn_close(&sc->c);
        if (sc->c.loop)
                loop_timer_disarm(sc->c.loop, &sc->decide_timer);
        free(sc);
        return NULL;
}

#endif /* !GORRAL_STATIC */
