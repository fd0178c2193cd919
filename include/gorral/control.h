/* control.h: the control socket (L3), the server side of `gorral status`,
 * `start`, `stop`, `restart`, `reload` and `signal`. The client side is
 * cmd-ctl.c; the protocol is in the README ("Control socket").
 *
 * A unix stream socket, mode 0600 from its first instant (bound under
 * umask 0177), on the one loop. Protocol: one JSON object per line each
 * way, requests answered in order, several per connection. Every peer is
 * checked with SO_PEERCRED: root and gorral's own euid only.
 *
 * Nothing a client does can stall the loop or grow without bound:
 * - at most max_clients connections; one more is answered "busy" and
 *   closed at once (leaving it in the backlog would keep the listening
 *   socket readable and the loop spinning);
 * - a request line is at most max_request_bytes; a longer one is answered
 *   with an error and the connection closed: 10 MiB sent costs one buffer;
 * - one request is handled at a time per client: the next is read only
 *   once the previous response is out, so a client that does not read
 *   holds one response (at most max_response_bytes) and no more;
 * - all I/O is non-blocking; output waits for EPOLLOUT;
 * - a client has idle_usec to send a complete request (from its connect
 *   or its last response) and to take its response; then it is closed;
 * - at most CONTROL_BUDGET requests are handled per wakeup; the rest wait
 *   for the next loop iteration, behind signals and timers.
 * Accept failing for want of fds (EMFILE, ENFILE) pauses the listening
 * socket for 100 ms rather than spinning on it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct control;
struct json_writer;
struct loop;

/* The callbacks run inside the loop while a client is being answered:
 * they must not block and must not free the control (defer that to a
 * timer, e.g. when a reload moves the socket). */
struct control_ops {
        /* Write the value of "services" (one array) for every service, or
         * the one named (name NULL: all). 0, or -ENOENT when no service has
         * that name (then what was written is discarded), or -errno. */
        int (*status)(void *userdata, const char *name, struct json_writer *w);
        /* cmd: "start", "stop", "restart" (name set, arg NULL), "reload"
         * (name and arg NULL), "signal" (name set, arg the signal's name as
         * signal_to_name() gives it, already checked by parse_signal()).
         * 0 done (or begun: stop returns once the signal is sent), or
         * -errno with a message for the user in err (e.g. "no service
         * 'x'"); an empty err makes the answer strerror(-r). */
        int (*command)(void *userdata, const char *cmd, const char *name, const char *arg, char *err,
                       size_t err_size);
};

struct control_options {
        size_t max_clients;          /* connections at once */
        size_t max_request_bytes;    /* one request line, its '\n' included */
        size_t max_response_bytes;   /* one response line, its '\n' included */
        uint64_t idle_usec;          /* to send a request / to take a response */
};
#define CONTROL_MAX_CLIENTS 8
#define CONTROL_MAX_REQUEST ((size_t)64 << 10)
#define CONTROL_MAX_RESPONSE ((size_t)1 << 20)
#define CONTROL_IDLE_USEC (10 * UINT64_C(1000000))
#define CONTROL_BUDGET 16           /* requests handled per client per wakeup */
#define CONTROL_NAME_MAX 255        /* bytes in a service name in a request */
void control_options_init(struct control_options *o);

/* What happened so far; for tests, logs and later /metrics. */
struct control_stats {
        uint64_t accepted;           /* connections taken as clients */
        uint64_t refused;            /* another uid */
        uint64_t busy;               /* over max_clients */
        uint64_t requests;           /* lines answered */
        uint64_t bytes_read;
        uint64_t closed_idle;        /* no request, or the response not taken, in time */
        uint64_t closed_too_long;    /* a request over max_request_bytes */
};

/* Listen on path (o NULL: the defaults above). A socket file left by a
 * dead gorral (connect() refused) is replaced; a live one gives
 * -EADDRINUSE; a path that is not a socket gives -EEXIST; a path longer
 * than sun_path holds gives -ENAMETOOLONG. 0 with *ret set, or -errno. */
int control_new(struct loop *l, const char *path, const struct control_ops *ops, void *userdata,
                const struct control_options *o, struct control **ret);
/* Close every client and the socket; unlink the socket file when it is
 * still the one this control made. NULL-safe, returns NULL. */
struct control *control_free(struct control *c);

const char *control_path(const struct control *c);
size_t control_n_clients(const struct control *c);
const struct control_stats *control_get_stats(const struct control *c);

/* The socket path when nothing names one: $GORRAL_SOCKET when set and not
 * empty, else /run/gorral.sock for root, else $XDG_RUNTIME_DIR/gorral.sock
 * (an absolute XDG_RUNTIME_DIR only). 0 with *ret malloc'd, -ENOENT when
 * none applies, -ENOMEM. */
int control_default_path(char **ret);
