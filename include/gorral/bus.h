/* bus.h: gorral on D-Bus (L3), the only module that knows sd-bus.
 *
 * libsystemd is not linked: a container entrypoint must not map it and
 * its libraries at every start. bus_lib_load() dlopen()s libsystemd.so.0
 * the first time a bus is wanted and resolves the sd_bus_* functions used
 * here into one table. The static (musl) build has none of this: every
 * call says -EOPNOTSUPP and bus_lib_describe() says so.
 *
 * The API (README "D-Bus API", packaging/dbus/org.gorral.Supervisor1.xml):
 * the name org.gorral.Supervisor1, the object /org/gorral/Supervisor1
 * (interface org.gorral.Supervisor1 and the object manager) and one object
 * per service at /org/gorral/Supervisor1/service/<label> (bus_label_escape
 * of its name), interface org.gorral.Service1. Methods are the control
 * socket's commands (struct bus_ops.command is control_ops.command).
 *
 * On the one loop: the connection's fd and events go to loop_add_fd /
 * loop_mod_fd, its timeout to a loop timer, and each wakeup runs
 * sd_bus_process() until it has nothing to do, at most BUS_BUDGET times.
 * Nothing blocks: the name is requested asynchronously, and the caller of
 * a mutating method is checked with an asynchronous
 * GetConnectionUnixUser (sd_bus_query_sender_creds() would be a
 * synchronous call to the bus daemon on dbus-daemon, which attaches no
 * credentials to messages).
 *
 * Changes: the supervisor calls bus_changed() after anything that may
 * change a service (settle(), each sample row). The bus then, once per
 * loop iteration (a zero timer), takes a view of every service and diffs
 * it against the last one: PropertiesChanged for the properties that
 * differ, InterfacesAdded/Removed for services a reload added or removed,
 * FindingRaised/FindingResolved for findings that appeared or went.
 * Sampled values therefore change at most once per sample.
 *
 * Bounds: BUS_MAX_SERVICES views (the supervisor's own limit), at most
 * BUS_MAX_FINDINGS findings per service, strings truncated to the view's
 * buffers, at most BUS_MAX_PENDING mutating calls or dumps waiting for an
 * answer at once (more are refused with org.gorral.Supervisor1.Error.Busy). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;
struct bus;

#define BUS_NAME "org.gorral.Supervisor1"
#define BUS_PATH "/org/gorral/Supervisor1"
#define BUS_SERVICE_PREFIX "/org/gorral/Supervisor1/service"
#define BUS_IFACE "org.gorral.Supervisor1"
#define BUS_SERVICE_IFACE "org.gorral.Service1"
#define BUS_ERROR_NO_SUCH_SERVICE "org.gorral.Supervisor1.Error.NoSuchService"
#define BUS_ERROR_FAILED "org.gorral.Supervisor1.Error.Failed"
#define BUS_ERROR_BUSY "org.gorral.Supervisor1.Error.Busy"

#define BUS_BUDGET 64              /* sd_bus_process() calls per wakeup */
#define BUS_MAX_SERVICES 256
#define BUS_MAX_FINDINGS 16
#define BUS_MAX_PENDING 32
#define BUS_SERVICE_NAME_MAX 64    /* CGSVC_NAME_MAX */
#define BUS_DUMPS_KEEP 5           /* Dump's files kept per service (STATE/dumps/NAME/...-dbus.txt) */
#define BUS_UNKNOWN UINT64_MAX     /* a sampled value not known (not watched, not sampled yet) */

/* Which bus: --dbus system|session|no|ADDRESS (an ADDRESS has a ':',
 * "unix:path=/run/x"). */
enum bus_kind {
        BUS_KIND_DEFAULT,          /* system, when root and the system bus socket exists; else none */
        BUS_KIND_NONE,
        BUS_KIND_SYSTEM,
        BUS_KIND_SESSION,
        BUS_KIND_ADDRESS,
};
/* Pure. 0, or -EINVAL (a word that is none of them and has no ':'). */
int bus_parse_kind(const char *s, enum bus_kind *ret);
const char *bus_kind_name(enum bus_kind k);

/* One finding of a service, as the bus shows it. */
struct bus_finding_view {
        char detector[32];
        char summary[256];          /* DETECT_SUMMARY_MAX */
};

/* A service as the bus shows it, filled by the supervisor (bus_ops). */
struct bus_service_view {
        char name[65];
        char state[32];            /* service_state_to_string(), or "dependency-failed" */
        char sub_state[32];        /* "ready", "held" (stopped by an operator), "removing", "" */
        uint32_t main_pid;         /* 0: none */
        uint32_t restarts;
        uint64_t threads, goroutines, rss_bytes;   /* BUS_UNKNOWN when not known */
        char cgroup_mode[16];      /* "delegated", "scope", "own", "none" */
        char pprof_url[256];       /* "" none: Dump answers Failed */
        char scrape_socket[108];
        size_t n_findings;
        struct bus_finding_view findings[BUS_MAX_FINDINGS];
};

/* Properties of org.gorral.Service1, as bits for the diff. */
enum {
        BUS_PROP_STATE = 1u << 0,
        BUS_PROP_SUB_STATE = 1u << 1,
        BUS_PROP_MAIN_PID = 1u << 2,
        BUS_PROP_RESTARTS = 1u << 3,
        BUS_PROP_THREADS = 1u << 4,
        BUS_PROP_GOROUTINES = 1u << 5,
        BUS_PROP_RSS = 1u << 6,
        BUS_PROP_FINDINGS = 1u << 7,
        BUS_PROP_CGROUP_MODE = 1u << 8,
};
/* Pure: the properties that differ between two views of one service. */
unsigned bus_view_diff(const struct bus_service_view *a, const struct bus_service_view *b);
/* Pure: is a finding of detector in v? */
bool bus_view_has_finding(const struct bus_service_view *v, const char *detector);

/* Pure: the D-Bus object path label of s, as systemd's sd_bus_path_encode
 * makes it: [A-Za-z0-9] kept (a leading digit escaped), every other byte
 * "_xx" (lowercase hex), the empty string "_". At most 3*strlen(s)+1 bytes
 * plus the NUL: -ENOBUFS when n is too small, else the length. */
int bus_label_escape(const char *s, char *buf, size_t n);
/* Pure, its inverse: -EINVAL for a label that is not one. */
int bus_label_unescape(const char *label, char *buf, size_t n);

struct bus_ops {
        /* Fill views[0..max) with the services in order; the count. */
        size_t (*services)(void *userdata, struct bus_service_view *views, size_t max);
        /* As control_ops.command ("start", "stop", "restart", "reload",
         * "signal"); -ENOENT for an unknown service. */
        int (*command)(void *userdata, const char *cmd, const char *name, const char *arg, char *err,
                       size_t err_size);
        /* Where Dump saves its grouped dumps (STATE/dumps/NAME/), or NULL:
         * then Dump answers Failed. */
        const char *(*state_dir)(void *userdata);
};

struct bus_options {
        enum bus_kind kind;
        const char *address;       /* BUS_KIND_ADDRESS */
        const char *version;       /* the Version property */
};

/* Load libsystemd (once). 0, or -EOPNOTSUPP (static build), -ENOENT (no
 * libsystemd.so.0, or a symbol missing: *ret_err says which). */
int bus_lib_load(const char **ret_err);
/* For --version: "yes (libsystemd, loaded at run time)" or "no (static build)". */
const char *bus_lib_describe(void);

/* Connect and request the name (asynchronously: losing it is logged and
 * the bus closed). BUS_KIND_NONE, or DEFAULT where it does not apply: 0
 * with *ret NULL. 0 with *ret set; -errno with *ret_err (malloc'd) saying
 * what failed: for DEFAULT the caller logs it and goes on, for an
 * explicit kind it is an error at start. */
int bus_open(struct loop *l, const struct bus_options *o, const struct bus_ops *ops, void *userdata,
             struct bus **ret, char **ret_err);
/* Something may have changed: diff and emit on the next loop iteration.
 * NULL-safe. */
void bus_changed(struct bus *b);
/* Flush what is queued (bounded), close. NULL-safe; returns NULL. */
struct bus *bus_free(struct bus *b);
/* "system", "session" or the address, for the log. */
const char *bus_describe(const struct bus *b);

/* ---- Transient scopes: per-service cgroups where systemd owns the tree ----
 *
 * Under systemd, the cgroup tree is systemd's: where gorral's unit has no
 * Delegate=yes, each service becomes a transient scope instead of a cgroup
 * gorral makes itself. The decision, once at start, asynchronously (the
 * services start when it is made, at most BUS_SCOPES_DECIDE_USEC later):
 * GetUnitByPID(gorral) on the manager, the unit's Id, then its Delegate
 * property (org.freedesktop.systemd1.Service or .Scope; other unit kinds
 * have none). Delegate=yes: "delegated" (gorral makes its cgroups below its
 * own, cgsvc.h). No Delegate: "scope". Where systemd is not running
 * (/run/systemd/system is missing) nothing is asked: "own".
 *
 * A scope per start of a service: right after the spawn,
 * StartTransientUnit("gorral-NAME-PID.scope", "fail", PIDs=[pid],
 * CPUQuotaPerSecUSec, MemoryMax, Slice (gorral's own unit's: the services
 * go beside it), Description, CollectMode=inactive-or-failed)
 * with sd_bus_call_async, its JobRemoved followed by unit name. The child
 * runs in gorral's cgroup until systemd moved it (a few ms); its GOMAXPROCS
 * and GOMEMLIMIT count its `resources` as the scope's level
 * (limits_options.pending_*) on top of gorral's own limits. The
 * scope ends by itself once its processes are gone. */

enum bus_cgroup_mode {
        BUS_CGROUP_NONE,           /* gorral's own cgroup */
        BUS_CGROUP_OWN,            /* cgsvc.h below gorral's own cgroup (no systemd) */
        BUS_CGROUP_DELEGATED,      /* the same, under a systemd unit with Delegate=yes */
        BUS_CGROUP_SCOPE,          /* a transient scope per service */
};
/* "none", "own", "delegated", "scope". */
const char *bus_cgroup_mode_name(enum bus_cgroup_mode m);

/* --scopes auto|system|user|no. auto: the system manager as root (the
 * user manager otherwise) when /run/systemd/system exists. system / user:
 * that manager, and a failure to reach it is an error at start; gorral in
 * no unit of it (GetUnitByPID fails) gets scopes too. */
enum bus_scopes_kind {
        BUS_SCOPES_AUTO,
        BUS_SCOPES_NO,
        BUS_SCOPES_SYSTEM,
        BUS_SCOPES_USER,
};
int bus_parse_scopes(const char *s, enum bus_scopes_kind *ret);   /* pure; 0 or -EINVAL */

#define BUS_SCOPES_DECIDE_USEC (3 * UINT64_C(1000000))
#define BUS_SCOPES_PENDING 64      /* scopes whose job is followed at once */

struct bus_scopes;
struct bus_scopes_ops {
        /* The decision, exactly once, from the loop. why: a sentence for the log. */
        void (*decided)(void *userdata, enum bus_cgroup_mode mode, const char *why);
        /* A scope's job finished: ok (result "done"), or not and why. */
        void (*scope_done)(void *userdata, const char *service, pid_t pid, const char *unit, bool ok,
                           const char *why);
};

/* 0 with *ret NULL and *ret_why (malloc'd) when scopes do not apply
 * (kind no; auto without systemd or without libsystemd): the caller goes
 * on with its own cgroups at once. 0 with *ret set: the decision comes
 * through ops->decided. -errno with *ret_why for an explicit kind whose
 * manager cannot be reached. */
int bus_scopes_open(struct loop *l, enum bus_scopes_kind kind, const struct bus_scopes_ops *ops, void *userdata,
                    struct bus_scopes **ret, char **ret_why);
/* Ask for a scope for pid (asynchronously; the outcome comes through
 * ops->scope_done and the log). cpu_quota_per_sec_usec: 0 none (1 CPU is
 * 1000000); memory_max: 0 none. The unit's name goes to unit (at least
 * BUS_SCOPE_UNIT_MAX bytes). 0, or -errno (then no scope). */
#define BUS_SCOPE_UNIT_MAX 96
int bus_scope_start(struct bus_scopes *sc, const char *service, pid_t pid, uint64_t cpu_quota_per_sec_usec,
                    uint64_t memory_max, char *unit);
/* Pure: the scope's unit name, "gorral-NAME-PID.scope". -ENOBUFS. */
int bus_scope_unit_name(const char *service, pid_t pid, char *buf, size_t n);
/* The manager ("system", "user"). */
const char *bus_scopes_describe(const struct bus_scopes *sc);
struct bus_scopes *bus_scopes_free(struct bus_scopes *sc);   /* NULL-safe; returns NULL */
