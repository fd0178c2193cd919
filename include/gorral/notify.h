/* notify.h: readiness and status from services over systemd's sd_notify
 * protocol (L1): the datagram parser and the receiving socket on the loop.
 *
 * A service finds the socket in $NOTIFY_SOCKET ("@name" is the abstract
 * namespace, "/path" a file) and sends datagrams of newline-separated
 * KEY=VALUE lines ("READY=1\nSTATUS=warming up"), as sd_notify(3) and
 * coreos/go-systemd's daemon.SdNotify do. gorral opens one socket per
 * service (see notify_socket_address() for why) and hands each datagram to
 * a callback with the sender's kernel-attached credentials and the parsed
 * message. The callback (the integrator) decides whether the sender may
 * speak for the service: its main pid, or a process of its group or
 * cgroup (notify_pid_in_pgid(), notify_pid_in_cgroup()).
 *
 *   notify_parse()          pure: one datagram -> struct notify_message
 *   notify_socket_address() the recommended address for a service
 *   notify_socket_new()     bind, SO_PASSCRED, watch on the loop
 *   notify_socket_env()     "NOTIFY_SOCKET=..." for the child's environment
 *   notify_socket_process() drain pending datagrams now (before an exit)
 *   notify_send()           the other direction: gorral's own READY=1,
 *                           STATUS=, WATCHDOG=1 to the systemd above it
 *
 * Bounds: a datagram is at most NOTIFY_DATAGRAM_MAX bytes (longer ones
 * are dropped and counted), at most NOTIFY_READS_PER_WAKEUP datagrams are
 * read per loop wakeup (a flooding service cannot starve timers or other
 * fds), and every fd passed along (SCM_RIGHTS) is closed at once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

struct loop;

/* systemd reads notifications into a buffer of a few KiB (its own
 * senders stay far below); 8 KiB leaves room for a long STATUS=. */
#define NOTIFY_DATAGRAM_MAX 8192
#define NOTIFY_READS_PER_WAKEUP 32
/* sockaddr_un.sun_path is 108 bytes; an abstract name uses all but the
 * leading NUL, a path needs its terminating NUL. */
#define NOTIFY_ADDRESS_MAX 107
/* Whether address is NOTIFY_SOCKET's syntax: "/path" or "@abstract", at
 * least one character after the first, at most NOTIFY_ADDRESS_MAX. */
bool notify_address_valid(const char *address);

/* Fields present (and valid) in a message: bits of notify_message.fields. */
enum {
        NOTIFY_READY            = 1u << 0,  /* READY=1 */
        NOTIFY_RELOADING        = 1u << 1,  /* RELOADING=1 */
        NOTIFY_STOPPING         = 1u << 2,  /* STOPPING=1 */
        NOTIFY_STATUS           = 1u << 3,  /* STATUS=text (may be empty: clears it) */
        NOTIFY_WATCHDOG         = 1u << 4,  /* WATCHDOG=1: a keep-alive ping */
        NOTIFY_WATCHDOG_TRIGGER = 1u << 5,  /* WATCHDOG=trigger: "treat me as hung now" */
        NOTIFY_WATCHDOG_USEC    = 1u << 6,  /* WATCHDOG_USEC=N: new interval (0: off) */
        NOTIFY_MAINPID          = 1u << 7,  /* MAINPID=N */
        NOTIFY_ERRNO            = 1u << 8,  /* ERRNO=N: why it failed, errno style */
        NOTIFY_EXTEND_TIMEOUT   = 1u << 9,  /* EXTEND_TIMEOUT_USEC=N */
        NOTIFY_MONOTONIC_USEC   = 1u << 10, /* MONOTONIC_USEC=N: sent with RELOADING=1 */
        NOTIFY_BARRIER          = 1u << 11, /* BARRIER=1: sd_notify_barrier(3); the fd it
                                             * passes is closed, which releases the sender */
};

/* Why a line was rejected (the first one is kept). */
struct notify_error {
        unsigned line;          /* 1-based line of the datagram */
        unsigned column;        /* 1-based byte column */
        const char *reason;     /* static text: "no '='", "bad value for READY", ... */
};

/* One parsed datagram. Pointers point into the parsed buffer (valid as
 * long as it is) and are not NUL-terminated: copy what you keep. For a
 * key given twice the first valid line wins, as in systemd. */
struct notify_message {
        unsigned fields;                /* NOTIFY_* bits */
        const char *status;             /* STATUS= value (valid UTF-8, no NUL) */
        size_t status_len;
        uint64_t watchdog_usec;
        uint64_t extend_timeout_usec;
        uint64_t monotonic_usec;
        pid_t main_pid;                 /* > 0 */
        int errno_value;                /* >= 0 */
        unsigned n_lines;               /* non-empty lines */
        unsigned n_unknown;             /* well-formed lines with a key we ignore */
        const char *first_unknown;      /* the first such key (FDSTORE, BUSERROR...) */
        size_t first_unknown_len;
        unsigned n_malformed;           /* lines rejected (ignored, never fatal) */
        struct notify_error first_error;
};

/* Parse one datagram of n bytes. Never fails on content: every malformed
 * line is counted (ret->first_error says where and why) and the other
 * lines still count, as systemd does. Returns 0, or -EINVAL for a NULL
 * buffer with n > 0 or a NULL ret; -EMSGSIZE when n > NOTIFY_DATAGRAM_MAX. */
int notify_parse(const char *buf, size_t n, struct notify_message *ret);

/* The sender, as the kernel attached it (SCM_CREDENTIALS; a sender
 * without CAP_SYS_ADMIN cannot forge its pid, root can). pid is in
 * gorral's pid namespace; 0 when the sender is outside it. */
struct notify_peer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
};

struct notify_socket;

/* Called once per accepted datagram. msg points into a buffer that is
 * reused after the callback returns. The callback may free the socket. */
typedef void (*notify_cb)(struct notify_socket *s, const struct notify_peer *peer,
                          const struct notify_message *msg, void *userdata);

/* Counters since the socket was opened. */
struct notify_stats {
        uint64_t received;        /* datagrams handed to the callback */
        uint64_t truncated;       /* longer than NOTIFY_DATAGRAM_MAX: dropped */
        uint64_t no_credentials;  /* no SCM_CREDENTIALS (cannot attribute): dropped */
        uint64_t fds_closed;      /* fds that came with datagrams, closed unread */
        uint64_t malformed_lines; /* summed over received datagrams */
        uint64_t errors;          /* recvmsg failures other than EAGAIN/EINTR */
};

/* The recommended address for service `name` of gorral process gorral_pid:
 * "@gorral/<pid>/<name>" in the abstract namespace.
 *
 * One socket per service: the socket a datagram arrives on names the
 * service, so credentials only need to confirm the sender belongs to it
 * (no global pid -> service search, and one service cannot speak for
 * another by guessing pids). Abstract, not a file: nothing to create,
 * clean up after a crash (it vanishes with its last fd), or chown so a
 * service running as another user can write to it, and it works on a
 * read-only root. The price is that any process of the network namespace
 * can send to it: hence the credentials check, and the pid in the name so
 * two gorral instances in one namespace do not collide. A service in
 * another network namespace cannot reach it: give such a service a path
 * ("/run/gorral/NAME.notify") instead; notify_socket_new() takes both.
 * 0, -EINVAL (empty name or one with '/'), -ENAMETOOLONG (over
 * NOTIFY_ADDRESS_MAX, or n too small). */
int notify_socket_address(char *buf, size_t n, pid_t gorral_pid, const char *name);

/* Open the socket for address ("@abstract" or "/path", as NOTIFY_SOCKET
 * spells it) and watch it on the loop. A path is replaced when a stale
 * socket file is there (never another kind of file) and made writable by
 * everyone (0666: credentials, not file modes, are the access control, as
 * for abstract names); it is unlinked by notify_socket_free(). AF_UNIX
 * SOCK_DGRAM, close-on-exec, non-blocking, SO_PASSCRED. 0 or -errno
 * (-EADDRINUSE when the name is taken, -ENAMETOOLONG, -EINVAL). */
int notify_socket_new(struct loop *l, const char *address, notify_cb cb, void *userdata,
                      struct notify_socket **ret);
/* Stop watching, close, unlink a path socket. NULL-safe; returns NULL. */
struct notify_socket *notify_socket_free(struct notify_socket *s);

/* Write "NOTIFY_SOCKET=<address>" into buf (NUL-terminated), for the
 * child's envp. 0 or -ENOBUFS. */
int notify_socket_env(const struct notify_socket *s, char *buf, size_t n);
const char *notify_socket_get_address(const struct notify_socket *s);
int notify_socket_fd(const struct notify_socket *s);
const struct notify_stats *notify_socket_stats(const struct notify_socket *s);

/* Read up to max pending datagrams now, outside the loop's schedule: call
 * it when the service's main process was reaped, before acting on the
 * exit, so its last STATUS=/ERRNO=/STOPPING=1 is not lost to the order in
 * which epoll reported the two fds. Returns the number of datagrams read
 * (accepted or dropped). */
int notify_socket_process(struct notify_socket *s, unsigned max);

/* May a sender speak for a service? Helpers for the callback.
 * 1 yes, 0 no, -ESRCH the process is gone (already reaped: messages
 * from short-lived helpers can arrive after they exit), -errno. */
int notify_pid_in_pgid(pid_t pid, pid_t pgid);
/* Is pid in cgroup_path or below it, in the hierarchy of controller ("":
 * the v2 unified line "0::"; "memory", "name=systemd" for v1)? Reads
 * <sysroot>/proc/<pid>/cgroup (sysroot NULL: "/"). cgroup_path is as
 * /proc/PID/cgroup writes it (relative to the hierarchy's root). */
int notify_pid_in_cgroup(const char *sysroot, pid_t pid, const char *controller, const char *cgroup_path);

/* Send one datagram (text, n bytes) to address in NOTIFY_SOCKET syntax:
 * gorral telling the systemd above it (its own $NOTIFY_SOCKET) READY=1,
 * STATUS=, WATCHDOG=1 or WATCHDOG=trigger, without libsystemd (the static
 * build has none). Never blocks: a full receive queue is -EAGAIN, dropped
 * (systemd reads promptly; a ping lost is the next one's job). The kernel
 * attaches our credentials (the receiver has SO_PASSCRED). 0, -EINVAL
 * (address), -EMSGSIZE, -ECONNREFUSED (nobody listens), -errno. */
int notify_send(const char *address, const char *text, size_t n);

/* The same over one socket kept open (the watchdog pings every few
 * seconds: one sendto(2) each, no socket(2)+close(2)). The address is
 * resolved once; the receiver may go and come back at the same address
 * (an unconnected socket follows it). open: 0 or -errno as above, with
 * ret->fd -1 on failure; send: as notify_send(); close: NULL-safe, twice
 * safe. */
struct notify_target {
        int fd;
        struct sockaddr_un sa;
        socklen_t len;
};
int notify_target_open(const char *address, struct notify_target *ret);
int notify_target_send(const struct notify_target *t, const char *text, size_t n);
void notify_target_close(struct notify_target *t);
