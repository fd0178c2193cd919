/* probe.h: readiness probes (L2) on the loop, never blocking it.
 *
 *   tcp   "HOST:PORT": a non-blocking connect completes (the kernel
 *         finished the handshake; what the service does with the
 *         connection afterwards, a reset included, does not count, as for
 *         a Kubernetes tcpSocket probe)
 *   exec  an argv exits 0; the process is started by the caller's
 *         ops->spawn (spawn_process() plus a watch of the one reaper) and
 *         its exit is handed back with probe_exec_exited()
 *
 * A probe tries at once, then every interval (between attempt starts;
 * at once when an attempt outlasted it), each attempt bounded by its own
 * timeout, until one passes or the overall timeout ends: then ops->done()
 * runs exactly once, and the probe does nothing more until it is freed.
 * A hung exec attempt is SIGKILLed (its whole process group) at its
 * timeout, and the next attempt starts only after its exit came back, so
 * at most one attempt is ever in flight. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct loop;
struct probe;

/* Where a tcp probe connects. "localhost" is two addresses (127.0.0.1,
 * then ::1), tried in turn within one attempt. */
#define PROBE_TCP_ADDRS_MAX 2
#define PROBE_TCP_TARGET_MAX 64   /* longest "HOST:PORT" accepted */
struct probe_tcp_target {
        struct sockaddr_storage addr[PROBE_TCP_ADDRS_MAX];
        socklen_t addr_len[PROBE_TCP_ADDRS_MAX];
        unsigned n_addrs;
        uint16_t port;
};

/* Parse "127.0.0.1:8080", "[::1]:8080", "localhost:8080" or ":8080"
 * (empty host: localhost). Pure. Host names other than localhost are
 * refused, not resolved: getaddrinfo() blocks (DNS, NSS modules, a
 * different resolver in the musl build) and would stall every service on
 * the one loop for seconds, and a readiness check of a local service
 * should not depend on DNS. localhost is loopback by definition (RFC
 * 6761), so it needs no lookup. 0, -EINVAL (malformed, port not 1-65535,
 * an IPv6 address without brackets, a zone id), -EADDRNOTAVAIL (a host
 * name). */
int probe_parse_tcp_target(const char *s, struct probe_tcp_target *ret);

struct probe_timing {
        uint64_t interval_usec;        /* between attempt starts; > 0 */
        uint64_t timeout_usec;         /* overall; > 0: fail when nothing passed by then */
        uint64_t attempt_timeout_usec; /* per attempt; 0: the interval */
};

struct probe_ops {
        /* The verdict, once. why: "connected to 127.0.0.1:8080 (attempt
         * 3 after 2.0s)" or "not ready within 10.0s (10 attempts); last:
         * connect 127.0.0.1:8080: Connection refused". Never called from
         * within probe_*_start(); the probe is not touched after it
         * returns, so it may free the probe. */
        void (*done)(void *userdata, bool ok, const char *why);
        /* exec probes: start argv with envp in a process group of its own
         * (spawn_process() does), watch its pid with the reaper, and route
         * its exit to probe_exec_exited(). 0 with *ret_pid, or -errno (a
         * failed attempt). */
        int (*spawn)(void *userdata, char *const *argv, char *const *envp, pid_t *ret_pid);
        /* exec probes, optional: probe_free() left attempt pid running
         * (already sent SIGKILL) and unreaped: its exit is the caller's
         * now (reaper_unwatch() makes it an orphan the reaper collects). */
        void (*forget)(void *userdata, pid_t pid);
};

/* Start a tcp probe of target ("HOST:PORT", see probe_parse_tcp_target).
 * ops and userdata must outlive the probe. 0 or -errno (-EINVAL for bad
 * timing or ops, the parser's errors). */
int probe_tcp_start(struct loop *l, const char *target, const struct probe_timing *t,
                    const struct probe_ops *ops, void *userdata, struct probe **ret);

/* Start an exec probe. argv and envp are borrowed: they must outlive the
 * probe. ops->spawn is required. 0 or -errno. */
int probe_exec_start(struct loop *l, char *const *argv, char *const *envp, const struct probe_timing *t,
                     const struct probe_ops *ops, void *userdata, struct probe **ret);

/* The reaper saw pid exit with the raw wait status. 0 when pid is this
 * probe's attempt, -ESRCH otherwise (nothing done). May call ops->done(). */
int probe_exec_exited(struct probe *p, pid_t pid, int status);

/* Cancel: close a connect in flight, SIGKILL an exec attempt's group (see
 * ops->forget). NULL-safe; returns NULL. Safe from ops->done(). */
struct probe *probe_free(struct probe *p);

/* Attempts started so far. */
unsigned probe_attempts(const struct probe *p);
/* The pid of the exec attempt in flight (0: none). */
pid_t probe_exec_pid(const struct probe *p);
