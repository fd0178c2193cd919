/* cmd-ctl.c: the control socket's client commands: `gorral status`,
 * `start`, `stop`, `restart`, `reload`, `signal`. One request line out,
 * one response line back (protocol: README "Control socket"; server:
 * control.c). The client is a short-lived process, so it may block, but
 * never past --timeout in all. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "gorral/commands.h"
#include "gorral/control.h"
#include "gorral/exitcodes.h"
#include "gorral/json.h"
#include "gorral/util.h"

#define CTL_EXIT_REFUSED 1                     /* gorral answered no */
#define CTL_TIMEOUT_USEC (10 * UINT64_C(1000000))
#define CTL_RESPONSE_MAX (4 * CONTROL_MAX_RESPONSE)

struct ctl_args {
        const char *cmd;
        const char *path;                      /* --control */
        const char *name;
        const char *signal;
        uint64_t timeout_usec;
        bool json;
        bool watch;
        uint64_t interval_usec;                /* --watch: between redraws */
};

static void usage(FILE *f, const char *cmd) {
        if (strcmp(cmd, "status") == 0)
                fprintf(f, "Usage: gorral status [NAME] [--json] [--watch [--interval DURATION]]\n"
                           "                     [--control PATH] [--timeout DURATION]\n\n"
                           "Show the services of a running gorral: name, state, pid, uptime, restarts,\n"
                           "last exit status, cgroup, the GOMAXPROCS/GOMEMLIMIT it gave them, and for a\n"
                           "watched service its latest sample: OS threads, goroutines, RSS, throttled\n"
                           "CFS periods (\"-\": not known).\n"
                           "  --json        {\"services\": [{\"name\", \"state\", \"pid\", \"restarts\", \"last_exit\",\n"
                           "                \"uptime_seconds\", \"cgroup\", \"gomaxprocs\", \"gomemlimit\", ...}, ...]}\n"
                           "                (numbers are integers or null); a watched service adds\n"
                           "                \"go_version\", \"module\", \"sample_age_seconds\", \"sample\" (every\n"
                           "                value it has: threads, goroutines, cpu_throttled_periods, ...)\n"
                           "                and \"scrape_errors\" (by reason)\n"
                           "  --watch       redraw every --interval (default 2s) as top does; plain\n"
                           "                tables one after another when stdout is not a terminal.\n"
                           "                Ends on SIGINT, or when gorral goes away\n");
        else if (strcmp(cmd, "signal") == 0)
                fprintf(f, "Usage: gorral signal NAME SIGNAL [--control PATH] [--timeout DURATION]\n\n"
                           "Send SIGNAL (HUP, SIGUSR1, 10...) to service NAME's process (group).\n");
        else if (strcmp(cmd, "reload") == 0)
                fprintf(f, "Usage: gorral reload [--control PATH] [--timeout DURATION]\n\n"
                           "Make a running gorral read its configuration again (as SIGHUP does).\n");
        else
                fprintf(f, "Usage: gorral %s NAME [--control PATH] [--timeout DURATION]\n\n"
                           "%s service NAME of a running gorral; returns once gorral has begun it.\n",
                        cmd,
                        strcmp(cmd, "start") == 0  ? "Start" :
                        strcmp(cmd, "stop") == 0   ? "Stop (and do not restart)" :
                                                     "Restart");
        fprintf(f, "\nOptions:\n"
                   "  --control PATH       the control socket (default: $GORRAL_SOCKET, else\n"
                   "                       /run/gorral.sock for root, else $XDG_RUNTIME_DIR/gorral.sock)\n"
                   "  --timeout DURATION   give up after this long in all (default 10s)\n"
                   "  -h, --help, -V, --version\n\n"
                   "Exit status: 0 done; 1 gorral refused (unknown service, bad signal...);\n"
                   "2 usage error; 69 no gorral answers on the socket (none there, permission\n"
                   "denied, timeout); 71 a local failure or an unreadable answer.\n");
}

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
        fprintf(stderr, "gorral %s: ", cmd);
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\nTry 'gorral %s --help'.\n", cmd);
        return -GR_EXIT_USAGE;
}

/* Fills a; returns 0, 1 when --help/--version printed, or -exit code. */
static int parse_args(int argc, char **argv, struct ctl_args *a) {
        const char *pos[3];
        size_t n_pos = 0, want_min, want_max;
        bool opts = true;

        *a = (struct ctl_args){ .cmd = argv[0], .timeout_usec = CTL_TIMEOUT_USEC, .interval_usec = 2000000 };
        for (int i = 1; i < argc; i++) {
                const char *s = argv[i];
                const char *val = NULL;

                if (opts && strcmp(s, "--") == 0) {
                        opts = false;
                        continue;
                }
                if (!opts || s[0] != '-' || s[1] == 0) {
                        if (n_pos == ELEMENTSOF(pos))
                                return usage_error(a->cmd, "too many arguments ('%s')", s);
                        pos[n_pos++] = s;
                        continue;
                }
                if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
                        usage(stdout, a->cmd);
                        return 1;
                }
                if (strcmp(s, "--version") == 0 || strcmp(s, "-V") == 0) {
                        print_version();
                        return 1;
                }
                if (strcmp(s, "--json") == 0 && strcmp(a->cmd, "status") == 0) {
                        a->json = true;
                        continue;
                }
                if (strcmp(s, "--watch") == 0 && strcmp(a->cmd, "status") == 0) {
                        a->watch = true;
                        continue;
                }
                if (strcmp(a->cmd, "status") == 0 &&
                    (strcmp(s, "--interval") == 0 || strncmp(s, "--interval=", 11) == 0)) {
                        if (s[10] == '=')
                                val = s + 11;
                        else if (i + 1 >= argc)
                                return usage_error(a->cmd, "%s needs a value", s);
                        else
                                val = argv[++i];
                        if (parse_duration_usec(val, &a->interval_usec) < 0 || a->interval_usec < 100000 ||
                            a->interval_usec > 3600 * UINT64_C(1000000))
                                return usage_error(a->cmd, "invalid --interval '%s' (100ms to 1h)", val);
                        continue;
                }
                if (strncmp(s, "--control=", 10) == 0)
                        val = s + 10;
                else if (strncmp(s, "--timeout=", 10) == 0)
                        val = s + 10;
                else if (strcmp(s, "--control") == 0 || strcmp(s, "--timeout") == 0) {
                        if (i + 1 >= argc)
                                return usage_error(a->cmd, "%s needs a value", s);
                        val = argv[++i];
                } else
                        return usage_error(a->cmd, "unknown option '%s'", s);
                if (strncmp(s, "--control", 9) == 0) {
                        if (!*val)
                                return usage_error(a->cmd, "--control needs a path%s", "");
                        a->path = val;
                } else if (parse_duration_usec(val, &a->timeout_usec) < 0 || a->timeout_usec == 0)
                        return usage_error(a->cmd, "invalid --timeout '%s'", val);
        }
        if (strcmp(a->cmd, "status") == 0)
                want_min = 0, want_max = 1;
        else if (strcmp(a->cmd, "reload") == 0)
                want_min = 0, want_max = 0;
        else if (strcmp(a->cmd, "signal") == 0)
                want_min = 2, want_max = 2;
        else
                want_min = 1, want_max = 1;
        if (n_pos < want_min)
                return usage_error(a->cmd, "%s", want_min == 2 ? "needs NAME and SIGNAL" : "needs a service NAME");
        if (n_pos > want_max)
                return usage_error(a->cmd, "unexpected argument '%s'", pos[want_max]);
        if (n_pos > 0) {
                a->name = pos[0];
                if (strlen(a->name) > CONTROL_NAME_MAX)
                        return usage_error(a->cmd, "service name too long (over %s bytes)", "255");
        }
        if (n_pos > 1) {
                int sig;

                if (parse_signal(pos[1], &sig) < 0 || sig <= 0)
                        return usage_error(a->cmd, "invalid signal '%s'", pos[1]);
                a->signal = signal_to_name(sig);
        }
        return 0;
}

static uint64_t remaining_usec(uint64_t deadline) {
        uint64_t now = now_usec();

        return now < deadline ? deadline - now : 0;
}

static int set_timeouts(int fd, uint64_t usec) {
        struct timeval tv = { .tv_sec = (time_t)(usec / 1000000), .tv_usec = (suseconds_t)(usec % 1000000) };

        if (usec == 0)
                tv.tv_usec = 1; /* 0 would mean "no timeout" */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
                return negative_errno();
        return 0;
}

/* Send one request and read one response line. 0 with *ret (malloc'd,
 * without its '\n'), or an exit code > 0 with the reason printed. */
static int exchange(const struct ctl_args *a, const char *path, const char *req, size_t req_len, char **ret,
                    size_t *ret_len) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t deadline = now_usec() + a->timeout_usec;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0, off = 0;
        char *nl = NULL;

        if (strlen(path) >= sizeof sa.sun_path) {
                fprintf(stderr, "gorral %s: socket path too long: %s\n", a->cmd, path);
                return GR_EXIT_USAGE;
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || set_timeouts(fd, a->timeout_usec) < 0) {
                fprintf(stderr, "gorral %s: socket: %m\n", a->cmd);
                return GR_EXIT_SYSTEM;
        }
        /* SO_SNDTIMEO bounds a unix connect() waiting on a full backlog. */
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
                int e = errno;

                if (e == ENOENT || e == ECONNREFUSED)
                        fprintf(stderr, "gorral %s: no gorral is listening on %s\n", a->cmd, path);
                else if (e == EAGAIN || e == EINPROGRESS)
                        fprintf(stderr, "gorral %s: %s: timed out connecting\n", a->cmd, path);
                else
                        fprintf(stderr, "gorral %s: cannot connect to %s: %s\n", a->cmd, path, strerror(e));
                return GR_EXIT_UNAVAILABLE;
        }
        while (off < req_len) {
                ssize_t k;

                if (set_timeouts(fd, remaining_usec(deadline)) < 0)
                        return GR_EXIT_SYSTEM;
                k = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        /* Refused (busy, another uid) and closed before the
                         * request was read: the answer is still to be read. */
                        if (errno == EPIPE || errno == ECONNRESET)
                                break;
                        fprintf(stderr, "gorral %s: %s: %s\n", a->cmd, path,
                                errno == EAGAIN ? "timed out sending" : strerror(errno));
                        return GR_EXIT_UNAVAILABLE;
                }
                off += (size_t)k;
        }
        while (!nl) {
                ssize_t k;
                int r;

                if (len == CTL_RESPONSE_MAX) {
                        fprintf(stderr, "gorral %s: answer over %zu bytes\n", a->cmd, CTL_RESPONSE_MAX);
                        return GR_EXIT_SYSTEM;
                }
                /* Room for 64 KiB more and a NUL, never over the cap. */
                r = GROW_ARRAY(buf, cap, (len + 65536 < CTL_RESPONSE_MAX ? len + 65536 : CTL_RESPONSE_MAX) + 1,
                               CTL_RESPONSE_MAX + 1);
                if (r < 0) {
                        fprintf(stderr, "gorral %s: %s\n", a->cmd, strerror(-r));
                        return GR_EXIT_SYSTEM;
                }
                if (set_timeouts(fd, remaining_usec(deadline)) < 0)
                        return GR_EXIT_SYSTEM;
                k = recv(fd, buf + len, cap - 1 - len, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "gorral %s: %s: %s\n", a->cmd, path,
                                errno == EAGAIN ? "timed out waiting for the answer" : strerror(errno));
                        return GR_EXIT_UNAVAILABLE;
                }
                if (k == 0) {
                        fprintf(stderr, "gorral %s: %s: gorral closed the connection without an answer\n", a->cmd,
                                path);
                        return GR_EXIT_UNAVAILABLE;
                }
                nl = memchr(buf + len, '\n', (size_t)k);
                len += (size_t)k;
        }
        *nl = 0;
        *ret_len = (size_t)(nl - buf);
        *ret = buf;
        buf = NULL;
        return 0;
}

/* Cells of the status table. Each formats one member of a service
 * object; "-" for null or absent. New columns are one line in columns[]. */
typedef void (*cell_fn)(const struct json_value *v, char *buf, size_t n);

static void cell_text(const struct json_value *v, char *buf, size_t n) {
        size_t k = 0;

        if (!v || v->type != JSON_STRING || v->len == 0) {
                snprintf(buf, n, "-");
                return;
        }
        /* A name or a cgroup path goes to a terminal: no control bytes. */
        for (size_t i = 0; i < v->len && k + 1 < n; i++) {
                unsigned char c = (unsigned char)v->str[i];

                buf[k++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        }
        buf[k] = 0;
}

static void cell_int(const struct json_value *v, char *buf, size_t n) {
        if (v && v->type == JSON_INT)
                snprintf(buf, n, "%" PRId64, v->integer);
        else
                cell_text(v, buf, n);
}

static void cell_duration(const struct json_value *v, char *buf, size_t n) {
        int64_t s;

        if (!v || v->type != JSON_INT || v->integer < 0) {
                cell_text(v, buf, n);
                return;
        }
        s = v->integer;
        if (s < 60)
                snprintf(buf, n, "%" PRId64 "s", s);
        else if (s < 3600)
                snprintf(buf, n, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
        else if (s < 86400)
                snprintf(buf, n, "%" PRId64 "h%" PRId64 "m", s / 3600, s / 60 % 60);
        else
                snprintf(buf, n, "%" PRId64 "d%" PRId64 "h", s / 86400, s / 3600 % 24);
}

/* A number of a sample: integers as such, others with one decimal. */
static void cell_num(const struct json_value *v, char *buf, size_t n) {
        if (v && v->type == JSON_REAL)
                snprintf(buf, n, v->real == (double)(int64_t)v->real ? "%.0f" : "%.1f", v->real);
        else
                cell_int(v, buf, n);
}

static void cell_bytes(const struct json_value *v, char *buf, size_t n) {
        const char *unit;
        double d;

        if (v && v->type == JSON_REAL && v->real >= 1024)
                d = v->real;
        else if (!v || v->type != JSON_INT || v->integer < 1024) {
                cell_num(v, buf, n);
                return;
        } else
                d = (double)v->integer;
        d = bytes_scaled(d, &unit);
        if (d == (double)(int64_t)d)
                snprintf(buf, n, "%" PRId64 "%s", (int64_t)d, unit);
        else
                snprintf(buf, n, "%.1f%s", d, unit);
}

/* The active findings: "leak/goroutines,throttling", or "-". */
static void cell_findings(const struct json_value *v, char *buf, size_t n) {
        size_t k = 0;

        buf[0] = '\0';
        if (v && v->type == JSON_ARRAY)
                for (const struct json_value *f = v->child; f && k + 1 < n; f = f->next) {
                        const char *d = json_get_string(f, "detector"), *m = json_get_string(f, "metric");
                        int w;

                        if (!d)
                                continue;
                        w = snprintf(buf + k, n - k, "%s%s%s%s", k ? "," : "", d, m && !strcmp(d, "leak") ? "/" : "",
                                     m && !strcmp(d, "leak") ? m : "");
                        if (w < 0)
                                break;
                        k += (size_t)w;
                }
        if (k >= n)
                buf[n - 1] = '\0';
        if (!buf[0])
                snprintf(buf, n, "-");
}

static const struct column {
        const char *header;
        const char *key;
        cell_fn cell;
        const char *fallback;        /* the member shown when key's is null or missing */
} columns[] = {
        { "NAME", "name", cell_text, NULL },
        { "STATE", "state", cell_text, NULL },
        { "PID", "pid", cell_int, NULL },
        { "UPTIME", "uptime_seconds", cell_duration, NULL },
        { "RESTARTS", "restarts", cell_int, NULL },
        { "LAST-EXIT", "last_exit", cell_int, NULL },
        /* own, delegated (below a systemd unit's Delegate=yes cgroup),
         * scope (then CGROUP is the transient scope's unit), none. */
        { "CG-MODE", "cgroup_mode", cell_text, NULL },
        { "CGROUP", "cgroup", cell_text, "scope" },
        { "GOMAXPROCS", "gomaxprocs", cell_int, NULL },
        { "GOMEMLIMIT", "gomemlimit", cell_bytes, NULL },
        /* The latest sample (a member of "sample"). */
        { "THREADS", "sample.threads", cell_num, NULL },
        { "GOROUTINES", "sample.goroutines", cell_num, NULL },
        { "RSS", "sample.rss_bytes", cell_bytes, NULL },
        { "THROTTLED", "sample.cpu_throttled_periods", cell_num, NULL },
        { "FINDINGS", "findings", cell_findings, NULL },
};

/* A column's member: "sample.x" is x of the service's "sample" object. */
static const struct json_value *member_value(const struct json_value *s, const char *key) {
        if (strncmp(key, "sample.", 7) == 0) {
                const struct json_value *smp = json_get(s, "sample");

                return smp && smp->type == JSON_OBJECT ? json_get(smp, key + 7) : NULL;
        }
        return json_get(s, key);
}

static const struct json_value *column_value(const struct json_value *s, const struct column *c) {
        const struct json_value *v = member_value(s, c->key);

        if (c->fallback && (!v || v->type == JSON_NULL))
                v = member_value(s, c->fallback);
        return v;
}
#define CELL_MAX 256

/* Display width: UTF-8 continuation bytes take no column. */
static size_t text_width(const char *s) {
        size_t w = 0;

        for (; *s; s++)
                w += ((unsigned char)*s & 0xc0) != 0x80;
        return w;
}

static void print_cell(const char *cell, size_t width, bool last) {
        if (last)
                printf("%s\n", cell);
        else
                printf("%s%*s  ", cell, (int)(width - text_width(cell)), "");
}

static int print_table(const struct json_value *services) {
        size_t width[ELEMENTSOF(columns)];
        char cell[CELL_MAX];

        for (size_t c = 0; c < ELEMENTSOF(columns); c++)
                width[c] = strlen(columns[c].header);
        for (const struct json_value *s = services->child; s; s = s->next)
                for (size_t c = 0; c < ELEMENTSOF(columns); c++) {
                        size_t w;

                        columns[c].cell(column_value(s, &columns[c]), cell, sizeof cell);
                        w = text_width(cell);
                        if (w > width[c])
                                width[c] = w;
                }
        for (size_t c = 0; c < ELEMENTSOF(columns); c++)
                print_cell(columns[c].header, width[c], c + 1 == ELEMENTSOF(columns));
        for (const struct json_value *s = services->child; s; s = s->next)
                for (size_t c = 0; c < ELEMENTSOF(columns); c++) {
                        columns[c].cell(column_value(s, &columns[c]), cell, sizeof cell);
                        print_cell(cell, width[c], c + 1 == ELEMENTSOF(columns));
                }
        return 0;
}

/* Valid JSON, one service per line. */
static int print_json(const struct json_value *services) {
        struct json_writer w;

        printf("{\"services\": [");
        for (const struct json_value *s = services->child; s; s = s->next) {
                json_writer_init(&w, CTL_RESPONSE_MAX);
                json_value(&w, s);
                if (json_writer_error(&w) < 0) {
                        json_writer_done(&w);
                        return -ENOMEM;
                }
                printf("\n  %s%s", w.buf, s->next ? "," : "\n");
                json_writer_done(&w);
        }
        printf("]}\n");
        return 0;
}

/* One request, its answer read and checked: 0 with *ret_doc (the answer)
 * and *ret_services (for status), or the exit code. */
static int ask(const struct ctl_args *a, const char *path, const char *req, size_t req_len,
               struct json_doc **ret_doc, const struct json_value **ret_services) {
        _cleanup_free_ char *resp = NULL;
        struct json_doc *doc = NULL;
        struct json_limits lim = { .max_depth = 64 };
        struct json_error je = { 0 };
        const struct json_value *ok, *services;
        size_t resp_len;
        int r;

        r = exchange(a, path, req, req_len, &resp, &resp_len);
        if (r != 0)
                return r;
        lim.max_nodes = resp_len + 1;
        r = json_parse(resp, resp_len, &lim, &doc, &je);
        if (r < 0 || doc->root->type != JSON_OBJECT || !(ok = json_get(doc->root, "ok")) || ok->type != JSON_BOOL) {
                if (r < 0)
                        fprintf(stderr, "gorral %s: unreadable answer from %s: %s at byte %zu\n", a->cmd, path,
                                je.what ? je.what : strerror(-r), je.offset);
                else
                        fprintf(stderr, "gorral %s: unreadable answer from %s: no \"ok\"\n", a->cmd, path);
                json_doc_free(doc);
                return GR_EXIT_SYSTEM;
        }
        if (!ok->boolean) {
                const char *e = json_get_string(doc->root, "error");

                fprintf(stderr, "gorral %s: %s\n", a->cmd, e ? e : "refused");
                json_doc_free(doc);
                return CTL_EXIT_REFUSED;
        }
        services = json_get(doc->root, "services");
        if (strcmp(a->cmd, "status") == 0 && (!services || services->type != JSON_ARRAY)) {
                fprintf(stderr, "gorral %s: unreadable answer from %s: no \"services\" array\n", a->cmd, path);
                json_doc_free(doc);
                return GR_EXIT_SYSTEM;
        }
        *ret_doc = doc;
        *ret_services = services;
        return 0;
}

static int print_services(const struct ctl_args *a, const struct json_value *services) {
        int r = a->json ? print_json(services) : print_table(services);

        if (r < 0 || fflush(stdout) != 0) {
                fprintf(stderr, "gorral %s: cannot write the answer: %s\n", a->cmd, strerror(r < 0 ? -r : errno));
                return GR_EXIT_SYSTEM;
        }
        return GR_EXIT_OK;
}

/* gorral status --watch: the table again every interval. On a terminal
 * the screen is cleared and redrawn from the top, as top(1) does; into a
 * pipe or file the tables follow one another, each after a "# TIME" line,
 * so a log of them reads in order. */
static int watch(const struct ctl_args *a, const char *path, const char *req, size_t req_len) {
        bool tty = isatty(STDOUT_FILENO);

        for (;;) {
                _cleanup_(json_doc_freep) struct json_doc *doc = NULL;
                const struct json_value *services;
                struct timespec ts;
                struct utc_time t;
                int r = ask(a, path, req, req_len, &doc, &services);

                if (r != 0)
                        return r;
                clock_gettime(CLOCK_REALTIME, &ts);
                utc_from_epoch(ts.tv_sec, &t);
                if (tty)
                        fputs("\033[H\033[2J", stdout);
                printf("%s%02u:%02u:%02uZ, every %.1fs (%s)\n", tty ? "gorral status " : "# ", t.hour, t.minute,
                       t.second, (double)a->interval_usec / 1e6, path);
                r = print_services(a, services);
                if (r != GR_EXIT_OK)
                        return r;
                if (!tty)
                        putchar('\n');
                ts.tv_sec = (time_t)(a->interval_usec / 1000000);
                ts.tv_nsec = (long)(a->interval_usec % 1000000) * 1000;
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }
}

static int run(int argc, char **argv) {
        struct ctl_args a;
        struct json_writer w;
        _cleanup_free_ char *path = NULL, *req = NULL;
        _cleanup_(json_doc_freep) struct json_doc *doc = NULL;
        const struct json_value *services;
        size_t req_len;
        int r;

        r = parse_args(argc, argv, &a);
        if (r != 0)
                return r > 0 ? GR_EXIT_OK : -r;
        if (a.path)
                path = strdup(a.path);
        else {
                r = control_default_path(&path);
                if (r == -ENOENT) {
                        fprintf(stderr, "gorral %s: no control socket: set --control, GORRAL_SOCKET or "
                                        "XDG_RUNTIME_DIR\n", a.cmd);
                        return GR_EXIT_USAGE;
                }
        }
        if (!path) {
                fprintf(stderr, "gorral %s: out of memory\n", a.cmd);
                return GR_EXIT_SYSTEM;
        }

        json_writer_init(&w, CONTROL_MAX_REQUEST - 1);
        json_begin_object(&w);
        json_member_string(&w, "cmd", a.cmd);
        if (a.name)
                json_member_string(&w, "name", a.name);
        if (a.signal)
                json_member_string(&w, "signal", a.signal);
        json_end_object(&w);
        json_raw(&w, "\n", 1);
        r = json_writer_steal(&w, &req, &req_len);
        json_writer_done(&w);
        if (r < 0) {
                fprintf(stderr, "gorral %s: %s\n", a.cmd, strerror(-r));
                return GR_EXIT_SYSTEM;
        }
        if (a.watch)
                return watch(&a, path, req, req_len);
        r = ask(&a, path, req, req_len, &doc, &services);
        if (r != 0)
                return r;
        if (strcmp(a.cmd, "status") != 0)
                return GR_EXIT_OK;
        return print_services(&a, services);
}

int ctl_status_of(const char *cmd, const char *control_path, const char *name, uint64_t timeout_usec,
                  struct json_doc **ret_doc, const struct json_value **ret_service) {
        struct ctl_args a = { .cmd = cmd, .path = control_path, .name = name,
                              .timeout_usec = timeout_usec ? timeout_usec : CTL_TIMEOUT_USEC };
        struct ctl_args q;
        struct json_writer w;
        _cleanup_free_ char *path = NULL, *req = NULL;
        struct json_doc *doc = NULL;
        const struct json_value *services;
        size_t req_len;
        int r;

        q = a;
        q.cmd = "status";
        if (control_path)
                path = strdup(control_path);
        else if (control_default_path(&path) == -ENOENT) {
                fprintf(stderr, "gorral %s: no control socket: set --control, GORRAL_SOCKET or XDG_RUNTIME_DIR\n", cmd);
                return GR_EXIT_USAGE;
        }
        if (!path)
                return GR_EXIT_SYSTEM;
        json_writer_init(&w, CONTROL_MAX_REQUEST - 1);
        json_begin_object(&w);
        json_member_string(&w, "cmd", "status");
        json_member_string(&w, "name", name);
        json_end_object(&w);
        json_raw(&w, "\n", 1);
        r = json_writer_steal(&w, &req, &req_len);
        json_writer_done(&w);
        if (r < 0)
                return GR_EXIT_SYSTEM;
        r = ask(&q, path, req, req_len, &doc, &services);
        if (r != 0)
                return r;
        if (!services || services->type != JSON_ARRAY || !services->child || services->child->type != JSON_OBJECT) {
                fprintf(stderr, "gorral %s: no service '%s'\n", cmd, name);
                json_doc_free(doc);
                return CTL_EXIT_REFUSED;
        }
        *ret_doc = doc;
        *ret_service = services->child;
        return 0;
}

int cmd_status(int argc, char **argv) { return run(argc, argv); }
int cmd_start(int argc, char **argv) { return run(argc, argv); }
int cmd_stop(int argc, char **argv) { return run(argc, argv); }
int cmd_restart(int argc, char **argv) { return run(argc, argv); }
int cmd_reload(int argc, char **argv) { return run(argc, argv); }
int cmd_signal(int argc, char **argv) { return run(argc, argv); }
