/* http.c: HTTP/1.1 client and server on the loop, parsing by llhttp. See
 * http.h. The only includer of llhttp.h.
 *
 * Both sides run llhttp in the same way: bytes go in as they are read,
 * the callbacks copy only what we keep (the client: status, Content-Type,
 * body; the server: the request target), and on_message_complete pauses
 * the parser, so llhttp_execute() returns HPE_PAUSED with error_pos just
 * past the message: whatever follows is either garbage (client) or the
 * next pipelined request (server). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <llhttp.h>

#include "gorral/http.h"
#include "gorral/loop.h"
#include "gorral/util.h"

#define READ_CHUNK ((size_t)16 << 10)      /* one recv() */
#define ACCEPT_BUDGET 16                   /* connections taken per wakeup */
#define SERVER_BUDGET 8                    /* requests answered per connection per wakeup */
#define LISTEN_BACKLOG 64
#define ACCEPT_PAUSE_USEC (100 * UINT64_C(1000))
#define CONTENT_TYPE_REPLY_MAX 256         /* a handler's content type */

/* ---- URLs ---------------------------------------------------------- */

static int url_fail(const char **reterr_reason, const char *why, int r) {
        if (reterr_reason)
                *reterr_reason = why;
        return r;
}

static bool host_char(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
               ch == '-';
}

static bool ipv6_char(char ch) {
        return (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') || (ch >= '0' && ch <= '9') || ch == ':' ||
               ch == '.';
}

/* "1".."65535", at most five digits (port 0 is the server's business). */
static int parse_port(const char *s, size_t n, bool allow_zero, uint16_t *ret) {
        uint64_t v;

        if (n == 0 || n > 5 || parse_u64_n(s, n, &v) < 0 || v > 65535 || (v == 0 && !allow_zero))
                return -EINVAL;
        *ret = (uint16_t)v;
        return 0;
}

int http_url_parse(const char *url, struct http_url *ret, const char **reterr_reason) {
        const char *p, *auth_end, *host, *host_end, *port = NULL, *q;
        size_t auth_len;
        struct http_url u = { .port = 80 };

        if (!url || !*url)
                return url_fail(reterr_reason, "empty URL", -EINVAL);
        for (p = url; *p; p++)
                if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                        return url_fail(reterr_reason,
                                        "spaces, control bytes and non-ASCII bytes are not allowed in a URL "
                                        "(percent-encode them)",
                                        -EINVAL);
        if (strncasecmp(url, "http://", 7) != 0) {
                if (strncasecmp(url, "https://", 8) == 0)
                        return url_fail(reterr_reason,
                                        "https is not supported: gorral speaks plain HTTP/1.1 "
                                        "(scrape over loopback or a unix socket)",
                                        -EPROTONOSUPPORT);
                if (strstr(url, "://"))
                        return url_fail(reterr_reason, "only http:// URLs are supported", -EPROTONOSUPPORT);
                return url_fail(reterr_reason, "not a URL: it must start with http://", -EINVAL);
        }
        if (strchr(url, '#'))
                return url_fail(reterr_reason, "a URL to fetch has no fragment (#...)", -EINVAL);
        p = url + 7;
        auth_len = strcspn(p, "/?");
        auth_end = p + auth_len;
        if (memchr(p, '@', auth_len))
                return url_fail(reterr_reason, "user:password@ in a URL is not supported", -EINVAL);
        if (*p == '[') {
                host = p + 1;
                host_end = memchr(host, ']', (size_t)(auth_end - host));
                if (!host_end || host_end == host)
                        return url_fail(reterr_reason, "an IPv6 address needs its closing ']'", -EINVAL);
                for (q = host; q < host_end; q++)
                        if (!ipv6_char(*q))
                                return url_fail(reterr_reason, "bad character in an IPv6 address (zones are not supported)",
                                                -EINVAL);
                u.ipv6 = true;
                q = host_end + 1;
                if (q < auth_end && *q != ':')
                        return url_fail(reterr_reason, "junk after the IPv6 address", -EINVAL);
                if (q < auth_end)
                        port = q + 1;
        } else {
                host = p;
                host_end = memchr(p, ':', auth_len);
                if (host_end) {
                        port = host_end + 1;
                        if (memchr(port, ':', (size_t)(auth_end - port)))
                                return url_fail(reterr_reason, "an IPv6 address must be in brackets: http://[::1]:PORT/",
                                                -EINVAL);
                } else
                        host_end = auth_end;
                if (host_end == host)
                        return url_fail(reterr_reason, "no host in the URL", -EINVAL);
                for (q = host; q < host_end; q++)
                        if (!host_char(*q))
                                return url_fail(reterr_reason, "bad character in the host", -EINVAL);
        }
        if (port && parse_port(port, (size_t)(auth_end - port), false, &u.port) < 0)
                return url_fail(reterr_reason, "the port must be a number from 1 to 65535", -EINVAL);

        u.host = strndup(host, (size_t)(host_end - host));
        q = strchr(auth_end, '?');
        if (*auth_end == '/')
                u.path = strndup(auth_end, q ? (size_t)(q - auth_end) : strlen(auth_end));
        else
                u.path = strdup("/");
        if (q)
                u.query = strdup(q + 1);
        if (!u.host || !u.path || (q && !u.query)) {
                http_url_done(&u);
                return url_fail(reterr_reason, "out of memory", -ENOMEM);
        }
        *ret = u;
        return 0;
}

void http_url_done(struct http_url *u) {
        if (!u)
                return;
        free(u->host);
        free(u->path);
        free(u->query);
        u->host = u->path = u->query = NULL;
}

const char *http_error_name(enum http_error e) {
        static const char *const names[_HTTP_ERROR_MAX] = {
                [HTTP_OK] = "ok",           [HTTP_ERR_CONNECT] = "connect", [HTTP_ERR_TIMEOUT] = "timeout",
                [HTTP_ERR_RESET] = "reset", [HTTP_ERR_PARSE] = "parse",     [HTTP_ERR_TOO_BIG] = "too_big",
                [HTTP_ERR_STATUS] = "status", [HTTP_ERR_SYSTEM] = "system",
        };

        return (unsigned)e < _HTTP_ERROR_MAX ? names[e] : NULL;
}

/* A malloc'd formatted string and its length. */
static char *alloc_printf(size_t *ret_len, const char *fmt, ...) _printf_(2, 3);
static char *alloc_printf(size_t *ret_len, const char *fmt, ...) {
        va_list ap;
        char *s;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0 || !(s = malloc((size_t)n + 1)))
                return NULL;
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
        *ret_len = (size_t)n;
        return s;
}

static bool header_value_ok(const char *s) {
        for (; *s; s++)
                if (*s == '\r' || *s == '\n' || *s == '\0')
                        return false;
        return true;
}

/* ---- the response parser -------------------------------------------- */

struct resp {
        llhttp_t p;
        size_t body_max;
        bool head;                   /* the request was a HEAD: no body follows */
        int status;
        char ct[HTTP_CONTENT_TYPE_MAX + 1];
        size_t ct_len;
        bool has_ct, in_ct;
        char field[16];              /* enough for "content-type" */
        size_t field_len;
        bool field_long;
        char *body;                  /* body_len bytes + NUL, reused from one response to the next */
        size_t body_len, body_cap;
        size_t head_bytes;           /* fed while the headers were not complete */
        size_t got;                  /* bytes fed, in all */
        bool headers_done, complete, keep_alive, too_big, oom;
};

static int resp_on_message_begin(llhttp_t *p) {
        struct resp *r = p->data;

        r->status = 0;
        r->ct_len = 0;
        r->has_ct = r->in_ct = false;
        r->field_len = 0;
        r->field_long = false;
        r->body_len = 0;
        r->headers_done = false;
        return 0;
}

static int resp_on_header_field(llhttp_t *p, const char *at, size_t n) {
        struct resp *r = p->data;

        if (r->field_long || n > sizeof r->field - r->field_len)
                r->field_long = true;
        else {
                memcpy(r->field + r->field_len, at, n);
                r->field_len += n;
        }
        return 0;
}

static int resp_on_header_field_complete(llhttp_t *p) {
        struct resp *r = p->data;

        /* The last Content-Type wins, as in Go's client. */
        r->in_ct = !r->field_long && r->field_len == 12 && strncasecmp(r->field, "content-type", 12) == 0;
        if (r->in_ct) {
                r->has_ct = true;
                r->ct_len = 0;
        }
        r->field_len = 0;
        r->field_long = false;
        return 0;
}

static int resp_on_header_value(llhttp_t *p, const char *at, size_t n) {
        struct resp *r = p->data;
        size_t room = HTTP_CONTENT_TYPE_MAX - r->ct_len;

        if (r->in_ct) {
                if (n > room)
                        n = room;  /* cut: a media type is far shorter */
                memcpy(r->ct + r->ct_len, at, n);
                r->ct_len += n;
        }
        return 0;
}

static int resp_on_header_value_complete(llhttp_t *p) {
        ((struct resp *)p->data)->in_ct = false;
        return 0;
}

static int resp_on_headers_complete(llhttp_t *p) {
        struct resp *r = p->data;

        r->status = llhttp_get_status_code(p);
        r->headers_done = true;
        /* 1: no body follows, whatever Content-Length says (a HEAD). */
        return r->head ? 1 : 0;
}

static int resp_on_body(llhttp_t *p, const char *at, size_t n) {
        struct resp *r = p->data;

        if (n > r->body_max - r->body_len) {
                r->too_big = true;
                return -1;
        }
        if (r->body_len + n + 1 > r->body_cap) {
                size_t nc = r->body_cap ? r->body_cap : 4096;
                char *b;

                while (nc < r->body_len + n + 1)
                        nc *= 2;
                if (nc > r->body_max + 1)
                        nc = r->body_max + 1;
                b = realloc(r->body, nc);
                if (!b) {
                        r->oom = true;
                        return -1;
                }
                r->body = b;
                r->body_cap = nc;
        }
        memcpy(r->body + r->body_len, at, n);
        r->body_len += n;
        return 0;
}

static int resp_on_message_complete(llhttp_t *p) {
        struct resp *r = p->data;

        /* An interim 1xx (not 101, which llhttp reports as an upgrade):
         * the real response follows on the same connection. */
        if (r->status >= 100 && r->status < 200)
                return 0;
        r->complete = true;
        r->keep_alive = llhttp_should_keep_alive(p);
        return HPE_PAUSED;
}

static const llhttp_settings_t resp_settings = {
        .on_message_begin = resp_on_message_begin,
        .on_header_field = resp_on_header_field,
        .on_header_field_complete = resp_on_header_field_complete,
        .on_header_value = resp_on_header_value,
        .on_header_value_complete = resp_on_header_value_complete,
        .on_headers_complete = resp_on_headers_complete,
        .on_body = resp_on_body,
        .on_message_complete = resp_on_message_complete,
};

/* Ready for a new response; keeps the body buffer. */
static void resp_begin(struct resp *r, size_t body_max, bool head) {
        llhttp_init(&r->p, HTTP_RESPONSE, &resp_settings);
        r->p.data = r;
        r->body_max = body_max;
        r->head = head;
        r->status = 0;
        r->ct_len = 0;
        r->has_ct = r->in_ct = false;
        r->field_len = 0;
        r->field_long = false;
        r->body_len = 0;
        r->head_bytes = r->got = 0;
        r->headers_done = r->complete = r->keep_alive = r->too_big = r->oom = false;
}

static void resp_done(struct resp *r) {
        free(r->body);
        r->body = NULL;
        r->body_cap = r->body_len = 0;
}

/* Feed n bytes. 0: more is needed; 1: the response is complete
 * (*ret_extra bytes followed it); -EPROTO not HTTP; -EFBIG over a bound;
 * -ENOMEM. */
static int resp_feed(struct resp *r, const char *buf, size_t n, size_t *ret_extra) {
        llhttp_errno_t e;

        if (n == 0)
                return 0;
        r->got += n;
        e = llhttp_execute(&r->p, buf, n);
        if (!r->headers_done) {
                r->head_bytes += n;
                if (r->head_bytes > HTTP_HEADERS_MAX) {
                        r->too_big = true;
                        return -EFBIG;
                }
        }
        if (e == HPE_OK)
                return 0;
        if (e == HPE_PAUSED && r->complete) {
                const char *pos = llhttp_get_error_pos(&r->p);

                *ret_extra = pos && pos >= buf && pos <= buf + n ? n - (size_t)(pos - buf) : 0;
                return 1;
        }
        if (r->oom)
                return -ENOMEM;
        if (r->too_big)
                return -EFBIG;
        return -EPROTO;
}

/* The peer closed. 1: that ended the response (a body up to EOF);
 * 0: the response was cut short (or never began: r->got == 0). */
static int resp_eof(struct resp *r) {
        llhttp_errno_t e;

        if (r->complete)
                return 1;
        if (r->got == 0)
                return 0;
        e = llhttp_finish(&r->p);
        if (e == HPE_PAUSED && r->complete) {
                r->keep_alive = false;
                return 1;
        }
        return 0;
}

static const char *resp_parse_reason(const struct resp *r) {
        const char *why = llhttp_get_error_reason(&r->p);

        return why && *why ? why : llhttp_errno_name(llhttp_get_errno(&r->p));
}

/* Fill *res from r for error e; ct_buf (HTTP_CONTENT_TYPE_MAX + 1) gets
 * a copy of the content type. */
static void resp_result(struct resp *r, enum http_error e, char *ct_buf, struct http_result *res) {
        *res = (struct http_result){ .error = e, .status = r->status };
        if (r->has_ct) {
                memcpy(ct_buf, r->ct, r->ct_len);
                ct_buf[r->ct_len] = 0;
                res->content_type = ct_buf;
        }
        if (e == HTTP_OK || e == HTTP_ERR_STATUS) {
                if (r->body) {
                        r->body[r->body_len] = 0;
                        res->body = r->body;
                } else
                        res->body = "";
                res->body_len = r->body_len;
        }
}

static enum http_error status_error(int status) {
        return status >= 200 && status < 300 ? HTTP_OK : HTTP_ERR_STATUS;
}

int http_response_feed(const void *const *chunks, const size_t *lens, size_t n, size_t body_max, bool head,
                       bool eof, http_done_cb cb, void *userdata) {
        struct resp r = { 0 };
        struct http_result res;
        char ct[HTTP_CONTENT_TYPE_MAX + 1];
        enum http_error e = HTTP_ERR_RESET;
        int k = 0, ret = 0;

        resp_begin(&r, body_max ? body_max : HTTP_BODY_MAX, head);
        for (size_t i = 0; i < n && k == 0; i++) {
                size_t extra = 0;

                k = resp_feed(&r, chunks[i], lens[i], &extra);
                /* Bytes after the response, in this chunk or a later one:
                 * the same verdict however the input is split. */
                for (size_t j = i + 1; k == 1 && j < n; j++)
                        extra += lens[j];
                if (k == 1)
                        e = extra > 0 ? HTTP_ERR_PARSE : status_error(r.status);
        }
        if (k == 0 && eof && resp_eof(&r) == 1) {
                k = 1;
                e = status_error(r.status);
        }
        if (k == -ENOMEM) {
                resp_done(&r);
                return -ENOMEM;
        }
        if (k == -EFBIG)
                e = HTTP_ERR_TOO_BIG;
        else if (k == -EPROTO)
                e = HTTP_ERR_PARSE;
        else if (k == 1)
                ret = 1;
        resp_result(&r, e, ct, &res);
        res.message = http_error_name(e);
        cb(NULL, &res, userdata);
        resp_done(&r);
        return ret;
}

/* ---- the client ----------------------------------------------------- */

enum client_state {
        C_IDLE,         /* no request; fd >= 0 is a kept connection */
        C_CONNECTING,
        C_SENDING,
        C_RECEIVING,
};

struct http_client {
        struct loop *loop;
        struct http_url url;
        struct http_client_opts opt;
        struct sockaddr_storage addr;
        socklen_t addr_len;
        char peer[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];  /* for messages */
        char *host_header;
        int fd;
        uint32_t events;
        enum client_state state;
        char *req;                   /* the request being sent */
        size_t req_len, req_off;
        struct resp resp;
        http_done_cb cb;             /* non-NULL: a request is in flight */
        void *userdata;
        uint64_t start_usec;
        bool reused, retried;
        bool in_api;                 /* inside _get/_post: results are deferred */
        bool deferred;               /* a result waits for the defer timer */
        bool dead;                   /* freed from its callback */
        unsigned in_cb;
        enum http_error error;
        char msg[HTTP_MESSAGE_MAX];
        uint64_t n_connects;
        struct loop_timer connect_timer, total_timer, defer_timer;
};

static void client_close_conn(struct http_client *c) {
        if (c->fd < 0)
                return;
        loop_del_fd(c->loop, c->fd);
        c->fd = safe_close(c->fd);
        c->events = 0;
}

static void client_set_events(struct http_client *c, uint32_t events) {
        if (c->fd < 0 || c->events == events)
                return;
        if (loop_mod_fd(c->loop, c->fd, events) >= 0)
                c->events = events;
}

static void client_deliver(struct http_client *c) {
        struct http_result r;
        char ct[HTTP_CONTENT_TYPE_MAX + 1], msg[HTTP_MESSAGE_MAX];
        http_done_cb cb = c->cb;
        void *ud = c->userdata;

        c->deferred = false;
        if (!cb)
                return;
        resp_result(&c->resp, c->error, ct, &r);
        memcpy(msg, c->msg, sizeof msg);
        r.message = msg;
        r.reused = c->reused;
        r.duration_usec = now_usec() - c->start_usec;
        c->cb = NULL;
        c->userdata = NULL;
        c->in_cb++;
        cb(c, &r, ud);
        c->in_cb--;
        if (c->dead && c->in_cb == 0) {
                resp_done(&c->resp);
                http_url_done(&c->url);
                free(c->host_header);
                free(c);
        }
}

static void client_finish(struct http_client *c, enum http_error e, bool keep, const char *fmt, ...) _printf_(4, 5);
static void client_finish(struct http_client *c, enum http_error e, bool keep, const char *fmt, ...) {
        va_list ap;

        loop_timer_disarm(c->loop, &c->connect_timer);
        loop_timer_disarm(c->loop, &c->total_timer);
        if (keep && c->fd >= 0) {
                c->state = C_IDLE;
                /* Watched while idle, so a peer closing a kept
                 * connection is seen and the fd goes at once. */
                client_set_events(c, EPOLLIN | EPOLLRDHUP);
        } else {
                client_close_conn(c);
                c->state = C_IDLE;
        }
        free(c->req);
        c->req = NULL;
        c->error = e;
        va_start(ap, fmt);
        vsnprintf(c->msg, sizeof c->msg, fmt, ap);
        va_end(ap);
        if (c->in_api)
                c->deferred = true;
        else
                client_deliver(c);
}

static void client_send(struct http_client *c);
static void client_connect(struct http_client *c);

static bool client_can_retry(const struct http_client *c) {
        return c->reused && !c->retried && c->resp.got == 0;
}

static void client_retry(struct http_client *c) {
        client_close_conn(c);
        c->retried = true;
        c->reused = false;
        c->req_off = 0;
        resp_begin(&c->resp, c->opt.body_max, false);
        client_connect(c);
}


static void on_client_fd(struct loop *l, int fd, uint32_t events, void *userdata);

static void client_connect(struct http_client *c) {
        int fd, r, e;

        fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                client_finish(c, HTTP_ERR_SYSTEM, false, "socket for %s: %s", c->peer, strerror(errno));
                return;
        }
        c->n_connects++;
        r = connect(fd, (struct sockaddr *)&c->addr, c->addr_len);
        if (r < 0 && errno != EINPROGRESS) {
                /* Loopback and unix sockets fail at once (refused, no
                 * such file; EAGAIN: a unix listener's backlog is full). */
                e = errno;
                safe_close(fd);
                client_finish(c, HTTP_ERR_CONNECT, false, "connect to %s: %s", c->peer, strerror(e));
                return;
        }
        e = loop_add_fd(c->loop, fd, EPOLLOUT, on_client_fd, c);
        if (e < 0) {
                safe_close(fd);
                client_finish(c, HTTP_ERR_SYSTEM, false, "watching a socket for %s: %s", c->peer, strerror(-e));
                return;
        }
        c->fd = fd;
        c->events = EPOLLOUT;
        if (r == 0) {
                c->state = C_SENDING;
                client_send(c);
                return;
        }
        c->state = C_CONNECTING;
        e = loop_timer_arm_in(c->loop, &c->connect_timer, c->opt.connect_timeout_usec);
        if (e < 0)
                client_finish(c, HTTP_ERR_SYSTEM, false, "arming a timer for %s: %s", c->peer, strerror(-e));
}

/* The connection went away (EOF, reset, EPIPE) with the response not
 * complete. err 0: an orderly EOF. */
static void client_peer_gone(struct http_client *c, int err) {
        if (client_can_retry(c)) {
                client_retry(c);
                return;
        }
        if (c->resp.got == 0)
                client_finish(c, HTTP_ERR_RESET, false, "%s closed the connection before responding%s%s", c->peer,
                              err ? ": " : "", err ? strerror(err) : "");
        else
                client_finish(c, HTTP_ERR_RESET, false, "%s closed the connection after %zu bytes of the response%s%s",
                              c->peer, c->resp.got, err ? ": " : "", err ? strerror(err) : "");
}

static void client_send(struct http_client *c) {
        while (c->req_off < c->req_len) {
                ssize_t k = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                client_set_events(c, EPOLLOUT);
                                return;
                        }
                        client_peer_gone(c, errno);
                        return;
                }
                c->req_off += (size_t)k;
        }
        c->state = C_RECEIVING;
        client_set_events(c, EPOLLIN | EPOLLRDHUP);
}

static void client_response_complete(struct http_client *c, size_t extra) {
        struct resp *r = &c->resp;
        enum http_error e = status_error(r->status);
        /* Bytes after the response on a connection that carries one
         * request at a time: the peer is confused, do not reuse it. */
        bool keep = r->keep_alive && extra == 0;

        if (e == HTTP_OK)
                client_finish(c, e, keep, "HTTP %d from %s, %zu bytes", r->status, c->peer, r->body_len);
        else
                client_finish(c, e, keep, "HTTP %d from %s", r->status, c->peer);
}

static void client_recv(struct http_client *c) {
        char buf[READ_CHUNK];
        size_t budget = HTTP_READ_BUDGET;

        while (budget > 0) {
                ssize_t k = recv(c->fd, buf, sizeof buf < budget ? sizeof buf : budget, MSG_DONTWAIT);
                size_t extra = 0;
                int r;

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        client_peer_gone(c, errno);
                        return;
                }
                if (k == 0) {
                        if (resp_eof(&c->resp) == 1)
                                client_response_complete(c, 0);
                        else if (c->resp.too_big)
                                client_finish(c, HTTP_ERR_TOO_BIG, false, "response headers from %s over %zu bytes",
                                              c->peer, HTTP_HEADERS_MAX);
                        else
                                client_peer_gone(c, 0);
                        return;
                }
                budget -= (size_t)k;
                r = resp_feed(&c->resp, buf, (size_t)k, &extra);
                if (r == 0)
                        continue;
                if (r == 1)
                        client_response_complete(c, extra);
                else if (r == -EFBIG && c->resp.headers_done)
                        client_finish(c, HTTP_ERR_TOO_BIG, false, "response body from %s over %zu bytes", c->peer,
                                      c->resp.body_max);
                else if (r == -EFBIG)
                        client_finish(c, HTTP_ERR_TOO_BIG, false, "response headers from %s over %zu bytes", c->peer,
                                      HTTP_HEADERS_MAX);
                else if (r == -EPROTO)
                        client_finish(c, HTTP_ERR_PARSE, false, "bad HTTP response from %s: %s", c->peer,
                                      resp_parse_reason(&c->resp));
                else
                        client_finish(c, HTTP_ERR_SYSTEM, false, "reading the response from %s: %s", c->peer,
                                      strerror(-r));
                return;
        }
        /* Budget spent with more to read: level-triggered epoll brings us
         * back after the other ready fds and the timers. */
}

static void on_client_fd(struct loop *l, int fd, uint32_t events, void *userdata) {
        struct http_client *c = userdata;
        int err = 0;
        socklen_t sl = sizeof err;

        (void)l;
        (void)events;
        switch (c->state) {
        case C_CONNECTING:
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
                        err = errno;
                if (err) {
                        client_finish(c, HTTP_ERR_CONNECT, false, "connect to %s: %s", c->peer, strerror(err));
                        return;
                }
                loop_timer_disarm(c->loop, &c->connect_timer);
                c->state = C_SENDING;
                client_send(c);
                return;
        case C_SENDING:
                client_send(c);
                return;
        case C_RECEIVING:
                client_recv(c);
                return;
        case C_IDLE:
                /* A kept connection is readable: the peer closed it (or
                 * sent junk nobody asked for). Either way it is done. */
                client_close_conn(c);
                return;
        }
}

static void on_connect_timeout(struct loop *l, void *userdata) {
        struct http_client *c = userdata;

        (void)l;
        client_finish(c, HTTP_ERR_TIMEOUT, false, "connect to %s: timed out after %.3g s", c->peer,
                      (double)c->opt.connect_timeout_usec / 1e6);
}

static void on_total_timeout(struct loop *l, void *userdata) {
        struct http_client *c = userdata;

        (void)l;
        if (c->state == C_CONNECTING)
                client_finish(c, HTTP_ERR_TIMEOUT, false, "connect to %s: timed out after %.3g s (the request's whole time)",
                              c->peer, (double)c->opt.total_timeout_usec / 1e6);
        else
                client_finish(c, HTTP_ERR_TIMEOUT, false, "no complete response from %s in %.3g s (%zu bytes received)",
                              c->peer, (double)c->opt.total_timeout_usec / 1e6, c->resp.got);
}

static void on_defer(struct loop *l, void *userdata) {
        (void)l;
        client_deliver(userdata);
}

/* "localhost" by hand; anything else must be numeric: no DNS on the loop. */
static int resolve_numeric(const struct http_url *u, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
        struct addrinfo *ai = NULL;
        const char *host = u->host;
        char port[8];

        if (!u->ipv6 && strcasecmp(host, "localhost") == 0)
                host = "127.0.0.1";
        hints.ai_family = u->ipv6 ? AF_INET6 : AF_INET;
        snprintf(port, sizeof port, "%u", u->port);
        if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
                return -EADDRNOTAVAIL;
        if (ai->ai_addrlen > sizeof *ret) {
                freeaddrinfo(ai);
                return -EADDRNOTAVAIL;
        }
        memcpy(ret, ai->ai_addr, ai->ai_addrlen);
        *ret_len = (socklen_t)ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}

int http_client_new(struct loop *l, const char *url, const char *unix_socket,
                    const struct http_client_opts *opts, struct http_client **ret) {
        struct http_client *c;
        size_t n;
        int r;

        if (!l || !ret)
                return -EINVAL;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->loop = l;
        c->fd = -1;
        if (opts)
                c->opt = *opts;
        if (!c->opt.connect_timeout_usec)
                c->opt.connect_timeout_usec = HTTP_CONNECT_TIMEOUT_USEC;
        if (!c->opt.total_timeout_usec)
                c->opt.total_timeout_usec = HTTP_TOTAL_TIMEOUT_USEC;
        if (!c->opt.body_max)
                c->opt.body_max = HTTP_BODY_MAX;
        loop_timer_init(&c->connect_timer, on_connect_timeout, c);
        loop_timer_init(&c->total_timer, on_total_timeout, c);
        loop_timer_init(&c->defer_timer, on_defer, c);

        r = http_url_parse(url, &c->url, NULL);
        if (r < 0)
                goto fail;
        if (unix_socket) {
                struct sockaddr_un *sa = (struct sockaddr_un *)&c->addr;

                n = strlen(unix_socket);
                if (n == 0) {
                        r = -EINVAL;
                        goto fail;
                }
                if (n >= sizeof sa->sun_path) {
                        r = -ENAMETOOLONG;
                        goto fail;
                }
                sa->sun_family = AF_UNIX;
                memcpy(sa->sun_path, unix_socket, n + 1);
                c->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
                snprintf(c->peer, sizeof c->peer, "unix:%s", unix_socket);
        } else {
                r = resolve_numeric(&c->url, &c->addr, &c->addr_len);
                if (r < 0)
                        goto fail;
                snprintf(c->peer, sizeof c->peer, c->url.ipv6 ? "[%s]:%u" : "%s:%u", c->url.host, c->url.port);
        }
        /* The port is left out when it is the default, as browsers do. */
        if (c->url.port == 80)
                c->host_header = alloc_printf(&n, c->url.ipv6 ? "[%s]" : "%s", c->url.host);
        else
                c->host_header = alloc_printf(&n, c->url.ipv6 ? "[%s]:%u" : "%s:%u", c->url.host, c->url.port);
        if (!c->host_header) {
                r = -ENOMEM;
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        http_url_done(&c->url);
        free(c);
        return r;
}

struct http_client *http_client_free(struct http_client *c) {
        if (!c || c->dead)
                return NULL;
        loop_timer_disarm(c->loop, &c->connect_timer);
        loop_timer_disarm(c->loop, &c->total_timer);
        loop_timer_disarm(c->loop, &c->defer_timer);
        client_close_conn(c);
        free(c->req);
        c->req = NULL;
        c->cb = NULL;
        if (c->in_cb) {
                /* client_deliver() frees it when the callback returns. */
                c->dead = true;
                return NULL;
        }
        resp_done(&c->resp);
        http_url_done(&c->url);
        free(c->host_header);
        free(c);
        return NULL;
}

bool http_client_busy(const struct http_client *c) { return c->cb != NULL; }
uint64_t http_client_n_connects(const struct http_client *c) { return c->n_connects; }

static int client_start(struct http_client *c, char *req, size_t req_len, http_done_cb cb, void *userdata) {
        int r;

        c->req = req;
        c->req_len = req_len;
        c->req_off = 0;
        c->cb = cb;
        c->userdata = userdata;
        c->start_usec = now_usec();
        c->retried = false;
        c->error = HTTP_OK;
        c->msg[0] = 0;
        resp_begin(&c->resp, c->opt.body_max, false);

        r = loop_timer_arm_in(c->loop, &c->total_timer, c->opt.total_timeout_usec);
        if (r < 0) {
                free(c->req);
                c->req = NULL;
                c->cb = NULL;
                return r;
        }
        c->in_api = true;
        if (c->fd >= 0) {
                c->reused = true;
                c->state = C_SENDING;
                client_send(c);
        } else {
                c->reused = false;
                client_connect(c);
        }
        c->in_api = false;
        if (c->deferred) {
                r = loop_timer_arm(c->loop, &c->defer_timer, 0);
                if (r < 0) {
                        /* Not accepted after all: no callback. */
                        c->deferred = false;
                        c->cb = NULL;
                        return r;
                }
        }
        return 0;
}

static const char *request_target_sep(const struct http_client *c) { return c->url.query ? "?" : ""; }

int http_client_get(struct http_client *c, const char *accept, http_done_cb cb, void *userdata) {
        char *req;
        size_t n;

        if (!c || !cb)
                return -EINVAL;
        if (c->cb || c->deferred)
                return -EBUSY;
        if (accept && !header_value_ok(accept))
                return -EINVAL;
        req = alloc_printf(&n,
                           "GET %s%s%s HTTP/1.1\r\n"
                           "Host: %s\r\n"
                           "User-Agent: gorral/" GORRAL_VERSION "\r\n"
                           "%s%s%s"
                           "Accept-Encoding: identity\r\n"
                           "Connection: keep-alive\r\n"
                           "\r\n",
                           c->url.path, request_target_sep(c), c->url.query ? c->url.query : "", c->host_header,
                           accept ? "Accept: " : "", accept ? accept : "", accept ? "\r\n" : "");
        if (!req)
                return -ENOMEM;
        return client_start(c, req, n, cb, userdata);
}

int http_client_post(struct http_client *c, const char *content_type, const void *body, size_t n,
                     http_done_cb cb, void *userdata) {
        char *head, *req;
        size_t hn;

        if (!c || !cb || !content_type || (!body && n > 0))
                return -EINVAL;
        if (c->cb || c->deferred)
                return -EBUSY;
        if (!header_value_ok(content_type))
                return -EINVAL;
        if (n > c->opt.body_max)
                return -E2BIG;
        head = alloc_printf(&hn,
                            "POST %s%s%s HTTP/1.1\r\n"
                            "Host: %s\r\n"
                            "User-Agent: gorral/" GORRAL_VERSION "\r\n"
                            "Content-Type: %s\r\n"
                            "Content-Length: %zu\r\n"
                            "Accept-Encoding: identity\r\n"
                            "Connection: keep-alive\r\n"
                            "\r\n",
                            c->url.path, request_target_sep(c), c->url.query ? c->url.query : "", c->host_header,
                            content_type, n);
        if (!head)
                return -ENOMEM;
        req = realloc(head, hn + n);
        if (!req) {
                free(head);
                return -ENOMEM;
        }
        if (n)
                memcpy(req + hn, body, n);
        return client_start(c, req, hn + n, cb, userdata);
}

/* ---- the server ----------------------------------------------------- */

struct conn {
        struct http_server *s;
        int fd;                      /* -1: http_server_feed()'s sink */
        uint32_t events;
        llhttp_t p;
        char *url;                   /* the request target, NUL-terminated; request_max + 1 bytes */
        size_t url_len;
        size_t spans;                /* bytes of target, names and values of this request */
        size_t raw_head;             /* bytes fed while its head was not complete */
        size_t body_bytes;
        bool started, headers_done, complete, bad_method, too_big_head, too_big_body;
        bool keep;                   /* keep-alive after this response */
        bool writing, closing;
        char head[768];              /* the response's status line and headers */
        size_t head_len, head_off;
        char *body;                  /* the response body (NULL for HEAD) */
        size_t body_len, body_off;
        char *pending;               /* bytes read past a request while its answer was going out */
        size_t pending_len;
        unsigned budget;             /* requests left in this wakeup */
        struct loop_timer timer;     /* header, idle or write deadline */
        struct loop_timer resume;    /* the budget ran out with requests pending */
        struct conn *prev, *next;
        char **sink;                 /* http_server_feed(): the output */
        size_t *sink_len;
};

struct http_server {
        struct loop *loop;
        int fd;
        char *unix_path;
        dev_t dev;
        ino_t ino;
        uint16_t port;
        struct http_server_opts opt;
        http_handler handler;
        void *userdata;
        struct conn *conns;
        size_t n_conns;
        struct loop_timer accept_pause;
        struct http_server_stats stats;
};

static const char *status_reason(int status) {
        switch (status) {
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 413: return "Content Too Large";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
        }
}

/* An IMF-fixdate ("Tue, 01 Dec 2026 10:44:11 GMT"), which RFC 9110 asks
 * an origin server with a clock to send. */
static void http_date(char *buf, size_t n) {
        static const char days[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
        static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        int64_t secs = (int64_t)time(NULL);
        struct utc_time t;

        utc_from_epoch(secs, &t);
        snprintf(buf, n, "%s, %02u %s %04d %02u:%02u:%02u GMT", days[(secs / 86400) % 7],
                 t.day, months[(t.month - 1) % 12], t.year, t.hour, t.minute, t.second);
}

static void conn_free(struct conn *k) {
        struct http_server *s = k->s;

        if (s->loop) {
                loop_timer_disarm(s->loop, &k->timer);
                loop_timer_disarm(s->loop, &k->resume);
        }
        if (k->fd >= 0) {
                loop_del_fd(s->loop, k->fd);
                safe_close(k->fd);
        }
        if (k->prev)
                k->prev->next = k->next;
        else if (s->conns == k)
                s->conns = k->next;
        if (k->next)
                k->next->prev = k->prev;
        if (k->fd >= 0 || s->loop)
                s->n_conns--;
        free(k->url);
        free(k->body);
        free(k->pending);
        free(k);
}

static void conn_set_events(struct conn *k, uint32_t events) {
        if (k->fd < 0 || k->events == events)
                return;
        if (loop_mod_fd(k->s->loop, k->fd, events) >= 0)
                k->events = events;
}

static void conn_arm(struct conn *k, uint64_t usec) {
        if (k->s->loop)
                (void)loop_timer_arm_in(k->s->loop, &k->timer, usec);
}

static int req_on_message_begin(llhttp_t *p) {
        struct conn *k = p->data;

        k->url_len = 0;
        k->spans = 0;
        k->body_bytes = 0;
        k->headers_done = k->complete = false;
        return 0;
}

static int req_span(struct conn *k, size_t n) {
        k->spans += n;
        if (k->spans > k->s->opt.request_max) {
                k->too_big_head = true;
                return -1;
        }
        return 0;
}

static int req_on_url(llhttp_t *p, const char *at, size_t n) {
        struct conn *k = p->data;

        if (req_span(k, n) < 0)
                return -1;
        memcpy(k->url + k->url_len, at, n);  /* url_len <= spans <= request_max */
        k->url_len += n;
        return 0;
}

static int req_on_header_span(llhttp_t *p, const char *at, size_t n) {
        (void)at;
        return req_span(p->data, n);
}

static int req_on_headers_complete(llhttp_t *p) {
        struct conn *k = p->data;
        uint8_t m = llhttp_get_method(p);

        k->headers_done = true;
        if (m != HTTP_GET && m != HTTP_HEAD) {
                /* Its body (if any) is never read: 405, then close. */
                k->bad_method = true;
                return HPE_PAUSED;
        }
        return 0;
}

static int req_on_body(llhttp_t *p, const char *at, size_t n) {
        struct conn *k = p->data;

        (void)at;
        k->body_bytes += n;
        if (k->body_bytes > k->s->opt.request_max) {
                k->too_big_body = true;
                return -1;
        }
        return 0;
}

static int req_on_message_complete(llhttp_t *p) {
        struct conn *k = p->data;

        k->complete = true;
        /* HTTP/1.0 closes, even with "Connection: keep-alive". */
        k->keep = llhttp_should_keep_alive(p) && llhttp_get_http_major(p) == 1 && llhttp_get_http_minor(p) >= 1;
        return HPE_PAUSED;
}

static const llhttp_settings_t req_settings = {
        .on_message_begin = req_on_message_begin,
        .on_url = req_on_url,
        .on_header_field = req_on_header_span,
        .on_header_value = req_on_header_span,
        .on_headers_complete = req_on_headers_complete,
        .on_body = req_on_body,
        .on_message_complete = req_on_message_complete,
};

/* Queue a response: body (malloc'd, taken; NULL for none) with
 * Content-Length body_len; only the head goes out when head_only. */
static void conn_queue(struct conn *k, int status, const char *ctype, char *body, size_t body_len, bool head_only,
                       const char *extra) {
        char date[40];
        int n;

        http_date(date, sizeof date);
        n = snprintf(k->head, sizeof k->head,
                     "HTTP/1.1 %d %s\r\n"
                     "Date: %s\r\n"
                     "Server: gorral/" GORRAL_VERSION "\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "%s%s"
                     "\r\n",
                     status, status_reason(status), date, ctype, body_len, extra ? extra : "",
                     k->keep ? "" : "Connection: close\r\n");
        /* ctype is at most CONTENT_TYPE_REPLY_MAX: the head always fits. */
        k->head_len = n > 0 && (size_t)n < sizeof k->head ? (size_t)n : 0;
        k->head_off = 0;
        free(k->body);
        k->body = NULL;
        if (head_only)
                free(body);
        else
                k->body = body;
        k->body_len = k->body ? body_len : 0;
        k->body_off = 0;
        k->writing = true;
        k->closing = !k->keep;
        k->complete = false;
}

static void conn_queue_error(struct conn *k, int status, const char *text) {
        size_t n = strlen(text);
        char *b = malloc(n);

        if (b)
                memcpy(b, text, n);
        k->keep = false;
        k->s->stats.bad_requests++;
        conn_queue(k, status, "text/plain; charset=utf-8", b, b ? n : 0, false,
                   status == 405 ? "Allow: GET, HEAD\r\n" : NULL);
}

static void conn_handle(struct conn *k) {
        struct http_server *s = k->s;
        struct http_request rq = { 0 };
        struct http_reply rp = { .status = 200, .content_type = "text/plain; charset=utf-8" };
        char *q;
        int r;

        k->url[k->url_len] = 0;
        if (k->url[0] != '/') {
                /* "*" and absolute forms are for proxies and OPTIONS. */
                conn_queue_error(k, 400, "bad request target\n");
                return;
        }
        rq.head = llhttp_get_method(&k->p) == HTTP_HEAD;
        rq.method = rq.head ? "HEAD" : "GET";
        rq.path = k->url;
        q = strchr(k->url, '?');
        if (q) {
                *q = 0;
                rq.query = q + 1;
        }
        s->stats.requests++;
        r = s->handler(s->userdata, &rq, &rp);
        if (r >= 0 && (rp.status < 100 || rp.status > 599 || !rp.content_type ||
                       strlen(rp.content_type) > CONTENT_TYPE_REPLY_MAX || !header_value_ok(rp.content_type)))
                r = -EINVAL;
        if (r < 0) {
                char *b = strdup("internal error\n");

                free(rp.body);
                conn_queue(k, 500, "text/plain; charset=utf-8", b, b ? strlen(b) : 0, rq.head, NULL);
                return;
        }
        conn_queue(k, rp.status, rp.content_type, rp.body, rp.body ? rp.body_len : 0, rq.head, NULL);
}

/* Send what is queued. 0: all out; 1: the socket is full; -errno. */
static int conn_flush(struct conn *k) {
        if (k->fd < 0) {
                /* http_server_feed(): append to the sink. */
                size_t add = (k->head_len - k->head_off) + (k->body_len - k->body_off);
                char *o = realloc(*k->sink, *k->sink_len + add + 1);

                if (!o)
                        return -ENOMEM;
                memcpy(o + *k->sink_len, k->head + k->head_off, k->head_len - k->head_off);
                *k->sink_len += k->head_len - k->head_off;
                if (k->body)
                        memcpy(o + *k->sink_len, k->body + k->body_off, k->body_len - k->body_off);
                *k->sink_len += k->body_len - k->body_off;
                o[*k->sink_len] = 0;
                *k->sink = o;
                k->head_off = k->head_len;
                k->body_off = k->body_len;
        }
        while (k->head_off < k->head_len || k->body_off < k->body_len) {
                struct iovec iov[2];
                struct msghdr mh = { .msg_iov = iov };
                ssize_t n;

                if (k->head_off < k->head_len)
                        iov[mh.msg_iovlen++] = (struct iovec){ k->head + k->head_off, k->head_len - k->head_off };
                if (k->body_off < k->body_len)
                        iov[mh.msg_iovlen++] = (struct iovec){ k->body + k->body_off, k->body_len - k->body_off };
                n = sendmsg(k->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 1;
                        return negative_errno();
                }
                if ((size_t)n <= k->head_len - k->head_off)
                        k->head_off += (size_t)n;
                else {
                        k->body_off += (size_t)n - (k->head_len - k->head_off);
                        k->head_off = k->head_len;
                }
        }
        free(k->body);
        k->body = NULL;
        k->body_len = k->body_off = 0;
        k->head_len = k->head_off = 0;
        return 0;
}

/* After a response is out: close, or wait for the next request. false
 * when k is gone. */
static bool conn_written(struct conn *k) {
        k->writing = false;
        if (k->closing) {
                conn_free(k);
                return false;
        }
        llhttp_resume(&k->p);
        k->started = false;
        k->raw_head = 0;
        conn_set_events(k, EPOLLIN | EPOLLRDHUP);
        conn_arm(k, k->s->opt.idle_timeout_usec);
        return true;
}

/* Write, when something is queued. false when k is gone. */
static bool conn_write(struct conn *k) {
        int r = conn_flush(k);

        if (r < 0) {
                conn_free(k);
                return false;
        }
        if (r > 0) {
                conn_set_events(k, EPOLLOUT);
                return true;
        }
        return conn_written(k);
}

static int conn_stash(struct conn *k, const char *buf, size_t n) {
        char *p = realloc(k->pending, k->pending_len + n);

        if (!p)
                return -ENOMEM;
        memcpy(p + k->pending_len, buf, n);
        k->pending = p;
        k->pending_len += n;
        return 0;
}

static void on_conn_resume(struct loop *l, void *userdata);

/* Parse buf and answer what it completes. false when k is gone. */
static bool conn_feed(struct conn *k, const char *buf, size_t n) {
        struct http_server *s = k->s;

        while (n > 0) {
                llhttp_errno_t e;

                if (k->writing || (k->budget == 0 && s->loop)) {
                        /* Parse the rest once this answer is out (or
                         * on the next turn of the loop). */
                        if (conn_stash(k, buf, n) < 0) {
                                conn_free(k);
                                return false;
                        }
                        if (!k->writing) {
                                conn_set_events(k, 0);
                                (void)loop_timer_arm_in(s->loop, &k->resume, 0);
                        }
                        return true;
                }
                if (!k->started) {
                        k->started = true;
                        conn_arm(k, s->opt.header_timeout_usec);
                }
                e = llhttp_execute(&k->p, buf, n);
                if (!k->headers_done) {
                        k->raw_head += n;
                        if (e == HPE_OK && k->raw_head > s->opt.request_max)
                                k->too_big_head = true;
                }
                if (e == HPE_OK && !k->too_big_head)
                        return true;
                if (e == HPE_PAUSED && (k->complete || k->bad_method)) {
                        const char *pos = llhttp_get_error_pos(&k->p);
                        size_t used = pos && pos >= buf && pos <= buf + n ? (size_t)(pos - buf) : n;

                        buf += used;
                        n -= used;
                        if (k->bad_method) {
                                conn_queue_error(k, 405, "method not allowed: only GET and HEAD\n");
                                n = 0;
                        } else {
                                if (k->budget > 0)
                                        k->budget--;
                                /* The head is in: the header timer becomes
                                 * the time to take the answer. */
                                conn_arm(k, s->opt.idle_timeout_usec);
                                conn_handle(k);
                        }
                } else if (k->too_big_head)
                        conn_queue_error(k, 431, "request head too large\n");
                else if (k->too_big_body)
                        conn_queue_error(k, 413, "request body too large\n");
                else
                        conn_queue_error(k, 400, "bad request\n");
                if (k->closing)
                        n = 0;  /* nothing after an error is read */
                if (!conn_write(k))
                        return false;
        }
        return true;
}

/* Feed what was stashed. false when k is gone. */
static bool conn_feed_pending(struct conn *k) {
        char *p = k->pending;
        size_t n = k->pending_len;
        bool alive;

        if (!p)
                return true;
        k->pending = NULL;
        k->pending_len = 0;
        alive = conn_feed(k, p, n);
        free(p);
        return alive;
}

static void conn_read(struct conn *k) {
        char buf[READ_CHUNK];
        size_t budget = HTTP_READ_BUDGET;

        while (budget > 0 && !k->writing && k->budget > 0) {
                ssize_t n = recv(k->fd, buf, sizeof buf, MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        conn_free(k);
                        return;
                }
                if (n == 0) {
                        /* EOF: a half-close after a complete request
                         * would still be answered, but we are not
                         * mid-answer here, so nothing is owed. */
                        conn_free(k);
                        return;
                }
                budget -= (size_t)n;
                if (!conn_feed(k, buf, (size_t)n))
                        return;
        }
}

static void on_conn(struct loop *l, int fd, uint32_t events, void *userdata) {
        struct conn *k = userdata;

        (void)l;
        (void)fd;
        k->budget = SERVER_BUDGET;
        if (k->writing) {
                if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLOUT)) {
                        conn_free(k);
                        return;
                }
                if (!conn_write(k) || k->writing)
                        return;
        }
        /* Bytes read earlier go first, then the socket. */
        if (k->pending && (!conn_feed_pending(k) || k->writing || k->pending))
                return;
        conn_read(k);
}

static void on_conn_resume(struct loop *l, void *userdata) {
        struct conn *k = userdata;

        (void)l;
        if (k->writing)
                return; /* on_conn goes on once the answer is out */
        k->budget = SERVER_BUDGET;
        conn_set_events(k, EPOLLIN | EPOLLRDHUP);
        conn_feed_pending(k);
}

static void on_conn_timer(struct loop *l, void *userdata) {
        struct conn *k = userdata;

        (void)l;
        k->s->stats.timeouts++;
        if (k->started && !k->writing) {
                static const char r408[] = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

                /* Best effort: the connection is being dropped anyway. */
                (void)!send(k->fd, r408, sizeof r408 - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        conn_free(k);
}

static struct conn *conn_new(struct http_server *s, int fd) {
        struct conn *k = calloc(1, sizeof *k);

        if (!k || !(k->url = malloc(s->opt.request_max + 1))) {
                free(k);
                return NULL;
        }
        k->s = s;
        k->fd = fd;
        k->budget = SERVER_BUDGET;
        llhttp_init(&k->p, HTTP_REQUEST, &req_settings);
        k->p.data = k;
        loop_timer_init(&k->timer, on_conn_timer, k);
        loop_timer_init(&k->resume, on_conn_resume, k);
        k->next = s->conns;
        if (s->conns)
                s->conns->prev = k;
        s->conns = k;
        return k;
}

static void take_conn(struct http_server *s, int fd) {
        struct conn *k;

        if (s->n_conns >= s->opt.max_conns) {
                static const char r503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

                s->stats.busy++;
                (void)!send(fd, r503, sizeof r503 - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
                safe_close(fd);
                return;
        }
        k = conn_new(s, fd);
        if (!k) {
                safe_close(fd);
                return;
        }
        s->n_conns++;
        if (loop_add_fd(s->loop, fd, EPOLLIN | EPOLLRDHUP, on_conn, k) < 0) {
                k->fd = -1;
                safe_close(fd);
                conn_free(k);
                return;
        }
        k->events = EPOLLIN | EPOLLRDHUP;
        s->stats.accepted++;
        /* A new connection has the header timeout for its first request. */
        k->started = true;
        conn_arm(k, s->opt.header_timeout_usec);
}

static void on_accept_pause(struct loop *l, void *userdata) {
        struct http_server *s = userdata;

        (void)loop_mod_fd(l, s->fd, EPOLLIN);
}

static void on_listen(struct loop *l, int fd, uint32_t events, void *userdata) {
        struct http_server *s = userdata;

        (void)events;
        for (int i = 0; i < ACCEPT_BUDGET; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                /* Out of fds: stop listening for a while
                                 * rather than spin on a readable socket. */
                                (void)loop_mod_fd(l, fd, 0);
                                (void)loop_timer_arm_in(l, &s->accept_pause, ACCEPT_PAUSE_USEC);
                        }
                        return; /* EAGAIN, ECONNABORTED, EINTR... */
                }
                take_conn(s, cfd);
        }
}

/* "unix:/path": replace a dead process's socket file, never a live one. */
static int unix_prepare(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        int fd, r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        memcpy(sa.sun_path, path, strlen(path) + 1);
        r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
        r = r < 0 ? errno : 0;
        safe_close(fd);
        if (r == ECONNREFUSED)
                return unlink(path) < 0 && errno != ENOENT ? negative_errno() : 0;
        return -EADDRINUSE;
}

/* The listen address grammar of http_server_new(), pure: sa/sl filled,
 * *dual for ":PORT" (one IPv6 socket for IPv4 too). */
static int listen_parse(const char *listen_addr, struct sockaddr_storage *sa, socklen_t *sl, bool *dual,
                        const char **reason) {
        const char *colon = strrchr(listen_addr, ':');
        struct http_url u = { 0 };
        uint16_t port;

        *dual = false;
        if (strncmp(listen_addr, "unix:", 5) == 0) {
                struct sockaddr_un *su = (struct sockaddr_un *)sa;
                const char *path = listen_addr + 5;
                size_t n = strlen(path);

                if (n == 0 || n >= sizeof su->sun_path) {
                        *reason = n ? "the socket path does not fit sun_path (107 bytes)" : "no socket path";
                        return n ? -ENAMETOOLONG : -EINVAL;
                }
                memset(sa, 0, sizeof *sa);
                su->sun_family = AF_UNIX;
                memcpy(su->sun_path, path, n + 1);
                *sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
                return 0;
        }
        if (!colon || parse_port(colon + 1, strlen(colon + 1), true, &port) < 0) {
                *reason = "the port is not a number from 0 to 65535";
                return -EINVAL;
        }
        memset(sa, 0, sizeof *sa);
        if (colon == listen_addr) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;

                s6->sin6_family = AF_INET6;
                s6->sin6_addr = in6addr_any;
                s6->sin6_port = htons(port);
                *sl = sizeof *s6;
                *dual = true;
                return 0;
        }
        *reason = "not HOST:PORT with a numeric host (or localhost)";
        if (listen_addr[0] == '[') {
                if (colon[-1] != ']' || colon - listen_addr < 3)
                        return -EINVAL;
                u.host = strndup(listen_addr + 1, (size_t)(colon - listen_addr - 2));
                u.ipv6 = true;
        } else
                u.host = strndup(listen_addr, (size_t)(colon - listen_addr));
        if (!u.host)
                return -ENOMEM;
        u.port = port;
        {
                int r = resolve_numeric(&u, sa, sl);

                free(u.host);
                return r < 0 ? -EINVAL : 0;
        }
}

int http_listen_check(const char *listen_addr, const char **reterr_reason) {
        struct sockaddr_storage sa;
        socklen_t sl;
        bool dual;
        const char *why = NULL;
        int r = listen_parse(listen_addr, &sa, &sl, &dual, &why);

        if (r < 0 && reterr_reason)
                *reterr_reason = why;
        return r;
}

int http_server_new(struct loop *l, const char *listen_addr, const struct http_server_opts *o, http_handler h,
                    void *userdata, struct http_server **ret) {
        struct sockaddr_storage sa;
        socklen_t sl = 0;
        struct http_server *s;
        const char *why = NULL;
        bool dual = false;
        int r, one = 1, zero = 0;

        if (!l || !listen_addr || !h || !ret)
                return -EINVAL;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->loop = l;
        s->fd = -1;
        s->handler = h;
        s->userdata = userdata;
        if (o)
                s->opt = *o;
        if (!s->opt.max_conns)
                s->opt.max_conns = HTTP_SERVER_MAX_CONNS;
        if (!s->opt.request_max)
                s->opt.request_max = HTTP_REQUEST_MAX;
        if (!s->opt.header_timeout_usec)
                s->opt.header_timeout_usec = HTTP_HEADER_TIMEOUT_USEC;
        if (!s->opt.idle_timeout_usec)
                s->opt.idle_timeout_usec = HTTP_IDLE_TIMEOUT_USEC;
        loop_timer_init(&s->accept_pause, on_accept_pause, s);

        r = listen_parse(listen_addr, &sa, &sl, &dual, &why);
        if (r < 0)
                goto fail;
        if (sa.ss_family == AF_UNIX) {
                s->unix_path = strdup(listen_addr + 5);
                if (!s->unix_path) {
                        r = -ENOMEM;
                        goto fail;
                }
                r = unix_prepare(s->unix_path);
                if (r < 0)
                        goto fail;
        }
        s->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0 && dual && errno == EAFNOSUPPORT) {
                /* No IPv6 on this host: every IPv4 address, then. */
                struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
                uint16_t port = ((struct sockaddr_in6 *)&sa)->sin6_port;

                memset(&sa, 0, sizeof sa);
                s4->sin_family = AF_INET;
                s4->sin_addr.s_addr = htonl(INADDR_ANY);
                s4->sin_port = port;
                sl = sizeof *s4;
                dual = false;
                s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        }
        if (s->fd < 0) {
                r = negative_errno();
                goto fail;
        }
        if (sa.ss_family != AF_UNIX)
                (void)setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (dual)
                (void)setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (bind(s->fd, (struct sockaddr *)&sa, sl) < 0 || listen(s->fd, LISTEN_BACKLOG) < 0) {
                r = negative_errno();
                goto fail;
        }
        if (s->unix_path) {
                struct stat st;

                if (stat(s->unix_path, &st) >= 0) {
                        s->dev = st.st_dev;
                        s->ino = st.st_ino;
                }
        } else {
                struct sockaddr_storage got;
                socklen_t gl = sizeof got;

                if (getsockname(s->fd, (struct sockaddr *)&got, &gl) < 0) {
                        r = negative_errno();
                        goto fail;
                }
                s->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                          : ((struct sockaddr_in *)&got)->sin_port);
        }
        r = loop_add_fd(l, s->fd, EPOLLIN, on_listen, s);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        if (s->fd >= 0 && s->unix_path && s->ino) {
                unlink(s->unix_path);
                s->ino = 0;
        }
        safe_close(s->fd);
        s->fd = -1;
        free(s->unix_path);
        free(s);
        return r;
}

struct http_server *http_server_free(struct http_server *s) {
        if (!s)
                return NULL;
        while (s->conns)
                conn_free(s->conns);
        loop_timer_disarm(s->loop, &s->accept_pause);
        if (s->fd >= 0) {
                loop_del_fd(s->loop, s->fd);
                safe_close(s->fd);
        }
        if (s->unix_path) {
                struct stat st;

                /* Only the file we made: a newer gorral may own the path. */
                if (s->ino && stat(s->unix_path, &st) >= 0 && st.st_dev == s->dev && st.st_ino == s->ino)
                        unlink(s->unix_path);
                free(s->unix_path);
        }
        free(s);
        return NULL;
}

uint16_t http_server_port(const struct http_server *s) { return s->port; }
const struct http_server_stats *http_server_get_stats(const struct http_server *s) { return &s->stats; }
size_t http_server_n_conns(const struct http_server *s) { return s->n_conns; }

int http_server_feed(const struct http_server_opts *o, http_handler h, void *userdata,
                     const void *const *chunks, const size_t *lens, size_t n, char **ret_out, size_t *ret_out_len,
                     bool *ret_closed) {
        struct http_server s = { .fd = -1, .handler = h, .userdata = userdata };
        struct conn *k;
        char *out = NULL;
        size_t out_len = 0;
        bool alive = true;

        if (o)
                s.opt = *o;
        if (!s.opt.request_max)
                s.opt.request_max = HTTP_REQUEST_MAX;
        s.opt.max_conns = 1;
        k = conn_new(&s, -1);
        if (!k)
                return -ENOMEM;
        k->sink = &out;
        k->sink_len = &out_len;
        for (size_t i = 0; i < n && alive; i++)
                alive = conn_feed(k, chunks[i], lens[i]);
        if (alive)
                conn_free(k);
        *ret_out = out;
        *ret_out_len = out_len;
        if (ret_closed)
                *ret_closed = !alive;
        return 0;
}
