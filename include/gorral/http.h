/* http.h: HTTP/1.1 on the loop (L1), a client for the samplers and the
 * alerts and a small server for /metrics and /healthz. Parsing is llhttp's
 * (Node.js's parser, compiled in from Debian's node-llhttp); http.c is its
 * only includer. Nothing here blocks, logs or starts a thread: every
 * outcome is a result or a return value.
 *
 * URLs: "http://HOST[:PORT][/PATH][?QUERY]" only. HOST is a numeric IPv4
 * address, a bracketed IPv6 one ("[::1]") or "localhost" (taken as
 * 127.0.0.1 by hand: there is no DNS on the loop, getaddrinfo() is called
 * with AI_NUMERICHOST only). No https, no userinfo, no fragment.
 *
 * Client: one struct http_client per target, one keep-alive connection to
 * it, one request at a time, always to the URL given at _new (a sampler
 * scrapes one URL forever; an alert POSTs to one URL). Bounds, all per
 * client: connect timeout, total timeout (from the request to the last
 * body byte, a retry included), headers at most HTTP_HEADERS_MAX bytes,
 * body at most body_max. Reads are at most HTTP_READ_BUDGET bytes per
 * wakeup, so a peer sending an endless body at loopback speed still lets
 * the loop's timers and signals through between its reads.
 *
 * Server: GET and HEAD, Content-Length responses, keep-alive by HTTP/1.1
 * rules (Connection: close honoured, HTTP/1.0 always closes), at most
 * max_conns connections; one more is accepted, answered 503 and closed at
 * once (leaving it in the backlog would keep the listening socket readable
 * and the level-triggered loop spinning). A connection has
 * header_timeout_usec to send a complete request head once it started one
 * (or once it connected), idle_timeout_usec between keep-alive requests and
 * idle_timeout_usec to take a whole response: a slow reader holds only its
 * own connection, and not for longer than that. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

#define HTTP_HEADERS_MAX ((size_t)64 << 10)   /* a response's status line and headers */
#define HTTP_READ_BUDGET ((size_t)128 << 10)  /* bytes read per wakeup, per connection */
#define HTTP_CONTENT_TYPE_MAX 255             /* longer Content-Type values are cut */
#define HTTP_MESSAGE_MAX 256                  /* r->message, its NUL included */

/* A parsed URL. All strings malloc'd and NUL-terminated. */
struct http_url {
        char *host;        /* without brackets: "::1", "127.0.0.1", "localhost" */
        uint16_t port;     /* 80 when not given */
        bool ipv6;         /* the host was bracketed */
        char *path;        /* starts with '/'; "/" when the URL has none */
        char *query;       /* after '?', without it; NULL when there is no '?' */
};

/* Parse url (pure). 0, or -EPROTONOSUPPORT (a scheme other than http://,
 * https:// included), -EINVAL (no host, a bad port, userinfo, a fragment,
 * spaces or control bytes, an unbracketed IPv6 address), -ENOMEM. When
 * reterr_reason is not NULL it gets a static English reason on failure,
 * for the caller's error message. ret is written only on success. */
int http_url_parse(const char *url, struct http_url *ret, const char **reterr_reason);
/* Free the strings; NULL-safe, idempotent. */
void http_url_done(struct http_url *u);

enum http_error {
        HTTP_OK,
        HTTP_ERR_CONNECT,  /* connect() failed */
        HTTP_ERR_TIMEOUT,  /* connect or total timeout */
        HTTP_ERR_RESET,    /* the peer closed or reset the connection before the response ended */
        HTTP_ERR_PARSE,    /* not HTTP: llhttp rejected the response, or bytes after it */
        HTTP_ERR_TOO_BIG,  /* body over body_max, headers over HTTP_HEADERS_MAX */
        HTTP_ERR_STATUS,   /* a complete response, but not 2xx: status and body are given */
        HTTP_ERR_SYSTEM,   /* ENOMEM, EMFILE...: our side */
        _HTTP_ERROR_MAX,
};
/* "ok", "connect", "timeout", "reset", "parse", "too_big", "status",
 * "system": stable labels (gorral_service_scrape_errors_total{reason});
 * NULL for a value out of range. */
const char *http_error_name(enum http_error e);

struct http_result {
        enum http_error error;
        int status;                /* 0 when no status line was parsed */
        const char *content_type;  /* NUL-terminated, or NULL when none was sent */
        const char *body;          /* body_len bytes (NUL-terminated too); NULL with 0 on failure */
        size_t body_len;
        uint64_t duration_usec;    /* from _get/_post to the callback */
        bool reused;               /* answered on a connection kept from an earlier request */
        const char *message;       /* short and human, e.g. "connect to 127.0.0.1:9090: Connection refused" */
};
/* Everything r points to is valid only during the callback. */
struct http_client;
typedef void (*http_done_cb)(struct http_client *c, const struct http_result *r, void *userdata);

struct http_client_opts {
        uint64_t connect_timeout_usec;  /* 0: HTTP_CONNECT_TIMEOUT_USEC */
        uint64_t total_timeout_usec;    /* 0: HTTP_TOTAL_TIMEOUT_USEC */
        size_t body_max;                /* bytes; 0: HTTP_BODY_MAX */
};
#define HTTP_CONNECT_TIMEOUT_USEC (2 * UINT64_C(1000000))
#define HTTP_TOTAL_TIMEOUT_USEC (10 * UINT64_C(1000000))
#define HTTP_BODY_MAX ((size_t)8 << 20)

/* A client for url (http_url_parse() rules). unix_socket NULL: TCP to the
 * URL's host and port; else the path of a unix stream socket to connect to
 * instead (the URL still gives Host and the path, as curl --unix-socket).
 * Over a socket the host is only the Host header, so any name goes; over
 * TCP it must be numeric or localhost. opts NULL: the defaults. Nothing is
 * connected yet. 0, or the errors of http_url_parse(), -EADDRNOTAVAIL (TCP
 * to a host name other than localhost), -ENAMETOOLONG (unix_socket does
 * not fit sun_path), -ENOMEM. */
int http_client_new(struct loop *l, const char *url, const char *unix_socket,
                    const struct http_client_opts *opts, struct http_client **ret);
/* Cancel what is in flight without calling back, close, free. NULL-safe;
 * returns NULL. Safe from anywhere, the client's own callback included
 * (the free then happens when the callback returns; r stays valid until
 * then). */
struct http_client *http_client_free(struct http_client *c);

/* Start a GET (accept NULL: no Accept header) or a POST of n bytes of body
 * (content_type required, body at most body_max) to the URL's path and
 * query. Requests carry Host, User-Agent gorral/VERSION, Accept-Encoding:
 * identity and Connection: keep-alive. cb runs exactly once per request
 * accepted here, always later from the loop, never from inside these
 * calls. A request sent on a kept connection that turns out closed before
 * any byte of the response is sent again once on a fresh connection (a
 * POST too: the peer closed without answering, as Go's server does with
 * an idle connection it is dropping; an alert receiver may see it twice).
 * 0, or -EBUSY (a request is in flight), -EINVAL (CR or LF in a header
 * value, NULL cb or content_type), -E2BIG (body over body_max), -ENOMEM. */
int http_client_get(struct http_client *c, const char *accept, http_done_cb cb, void *userdata);
int http_client_post(struct http_client *c, const char *content_type, const void *body, size_t n,
                     http_done_cb cb, void *userdata);
bool http_client_busy(const struct http_client *c);
/* TCP or unix connections made so far (tests count keep-alive reuse). */
uint64_t http_client_n_connects(const struct http_client *c);

/* The server. */
struct http_request {
        const char *method;  /* "GET" or "HEAD" (others never reach a handler) */
        const char *path;    /* as sent, starts with '/', not percent-decoded */
        const char *query;   /* after '?', without it; NULL when there is none */
        bool head;           /* a HEAD: the body is measured, not sent */
};
/* The handler's answer. It starts as 200, "text/plain; charset=utf-8",
 * no body. body is malloc'd by the handler and taken over by the server
 * (freed once sent, or on any failure); content_type is copied. */
struct http_reply {
        int status;                 /* 100..599 */
        const char *content_type;
        char *body;
        size_t body_len;
};
/* 0: send the reply; -errno: the server answers 500 (and frees body). It
 * runs inside the loop: it must not block, nor free the server. */
typedef int (*http_handler)(void *userdata, const struct http_request *rq, struct http_reply *rp);

struct http_server_opts {
        size_t max_conns;              /* 0: HTTP_SERVER_MAX_CONNS */
        size_t request_max;            /* request line + headers, bytes; 0: HTTP_REQUEST_MAX */
        uint64_t header_timeout_usec;  /* 0: HTTP_HEADER_TIMEOUT_USEC */
        uint64_t idle_timeout_usec;    /* 0: HTTP_IDLE_TIMEOUT_USEC */
};
#define HTTP_SERVER_MAX_CONNS 16
#define HTTP_REQUEST_MAX ((size_t)8 << 10)
#define HTTP_HEADER_TIMEOUT_USEC (5 * UINT64_C(1000000))
#define HTTP_IDLE_TIMEOUT_USEC (30 * UINT64_C(1000000))

struct http_server;
/* Listen on listen: "IPV4:PORT", "[IPV6]:PORT", ":PORT" (every address:
 * one IPv6 socket with IPV6_V6ONLY off, so IPv4 too; 0.0.0.0 when the host
 * has no IPv6), "localhost:PORT" (127.0.0.1), or "unix:/PATH" (a socket
 * file left by a dead process, connect() refused, is replaced; a live one
 * gives -EADDRINUSE; a non-socket -EEXIST). PORT 0 picks a free port (see
 * http_server_port()). o NULL: defaults. 0, or -EINVAL (a bad address),
 * -errno of socket/bind/listen. */
int http_server_new(struct loop *l, const char *listen, const struct http_server_opts *o, http_handler h,
                    void *userdata, struct http_server **ret);
/* Is listen an address http_server_new() takes (pure: nothing is bound)?
 * 0, or its -EINVAL/-ENAMETOOLONG with a static reason in *reterr_reason
 * (may be NULL). For check-config and gorral run -c. */
int http_listen_check(const char *listen, const char **reterr_reason);
/* Close every connection and the socket (unlinking a unix socket file
 * that is still ours). NULL-safe; returns NULL. Not from a handler. */
struct http_server *http_server_free(struct http_server *s);
/* The bound TCP port; 0 for a unix socket. */
uint16_t http_server_port(const struct http_server *s);

struct http_server_stats {
        uint64_t accepted;        /* connections taken */
        uint64_t busy;            /* over max_conns: 503 and closed */
        uint64_t requests;        /* handler calls */
        uint64_t bad_requests;    /* 400, 405, 413, 431 answered */
        uint64_t timeouts;        /* closed by the header or idle timeout */
};
const struct http_server_stats *http_server_get_stats(const struct http_server *s);
size_t http_server_n_conns(const struct http_server *s);

/* For tests and fuzzing: the parsing cores without sockets or a loop.
 *
 * Feed chunks[0..n) as one server response to a GET (head: to a HEAD)
 * with this body_max (0: HTTP_BODY_MAX), then an end of stream when eof;
 * cb gets the result the client would give if all of it came in one read
 * (bytes after a complete response make it HTTP_ERR_PARSE; duration 0,
 * message the error's name, c NULL), exactly once. Returns 1 when the
 * response was complete before the chunks ran out or at eof, 0 when more
 * was needed (cb then got HTTP_ERR_RESET), or -ENOMEM. */
int http_response_feed(const void *const *chunks, const size_t *lens, size_t n, size_t body_max, bool head,
                       bool eof, http_done_cb cb, void *userdata);
/* Feed chunks[0..n) to one server connection (o NULL: defaults) whose
 * requests go to h; what it would send is returned in *ret_out (malloc'd,
 * *ret_out_len bytes and a NUL; NULL when nothing was sent), and *ret_closed tells whether it would close. 0 or
 * -ENOMEM. */
int http_server_feed(const struct http_server_opts *o, http_handler h, void *userdata,
                     const void *const *chunks, const size_t *lens, size_t n, char **ret_out, size_t *ret_out_len,
                     bool *ret_closed);
