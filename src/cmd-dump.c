/* cmd-dump.c: `gorral dump --file FILE [--json] [--max-groups N]
 * [--max-frames N]`: a saved goroutine dump (pprof debug=2 or debug=1,
 * SIGQUIT output, a pasted panic) grouped by stack; and `gorral dump NAME`:
 * the same for a service of a running gorral now. The client asks gorral
 * (control socket) where the service's goroutine profile is, then fetches
 * its debug=2 page itself: the supervisor never holds a dump of many MiB
 * for a client, and the grouping costs the client's CPU, not PID 1's. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "gorral/actions.h"
#include "gorral/commands.h"
#include "gorral/http.h"
#include "gorral/loop.h"
#include "gorral/exitcodes.h"
#include "gorral/godump.h"
#include "gorral/json.h"
#include "gorral/util.h"

#define DUMP_DEFAULT_FRAMES 12
#define DUMP_JSON_MAX ((size_t)256 << 20)      /* the JSON of a 64 MiB dump fits well below */

static void usage(FILE *f) {
        fprintf(f, "Usage: gorral dump NAME [--control SOCKET] [--json] [--max-groups N] [--max-frames N]\n"
                   "       gorral dump --file FILE [--json] [--max-groups N] [--max-frames N]\n\n"
                   "NAME: ask the running gorral for service NAME's goroutines now (its\n"
                   "pprof_url's /debug/pprof/goroutine?debug=2, fetched by this command).\n"
                   "Group the goroutines of a saved dump by stack: /debug/pprof/goroutine?debug=2\n"
                   "or ?debug=1 (goroutine, goroutineleak), the stderr of a Go program killed by\n"
                   "SIGQUIT (any GOTRACEBACK level), or a panic / fatal error trace, Go 1.19 to\n"
                   "current (Go 1.27's labels in goroutine headers included). Groups are keyed by\n"
                   "function, file and line per frame plus the creator (no arguments, offsets or\n"
                   "ids), the largest first, each with its states, longest wait and the first\n"
                   "frame that is not the standard library.\n\n"
                   "Options:\n"
                   "  -f, --file FILE     the dump (- for stdin), at most 64 MiB\n"
                   "      --control PATH  the control socket of the running gorral (NAME)\n"
                   "      --json          one JSON object instead of text\n"
                   "  -n, --max-groups N  show the N largest groups (default: all)\n"
                   "      --max-frames N  frames per group in the text (default %d, 0: all)\n"
                   "  -h, --help          this text\n"
                   "  -V, --version       gorral's version\n\n"
                   "Exit status: 0 grouped, 2 usage error, unreadable file or not a goroutine dump.\n",
                DUMP_DEFAULT_FRAMES);
}

struct fetch {
        struct loop *loop;
        char *body;
        size_t len;
        int status;
        char message[256];
};

static void fetched(struct http_client *c _unused_, const struct http_result *r, void *userdata) {
        struct fetch *f = userdata;

        f->status = r->error == HTTP_OK ? r->status : -1;
        snprintf(f->message, sizeof f->message, "%s", r->message ? r->message : http_error_name(r->error));
        if (f->status == 200 && (f->body = malloc(r->body_len + 1))) {
                memcpy(f->body, r->body, r->body_len);
                f->body[r->body_len] = '\0';
                f->len = r->body_len;
        }
        loop_quit(f->loop, 0);
}

/* The debug=2 page of service name of the gorral at control (NULL: the
 * default socket). 0 with *ret, or an exit status after saying why. */
static int fetch_live(const char *control, const char *name, char **ret, size_t *ret_len) {
        _cleanup_(json_doc_freep) struct json_doc *doc = NULL;
        const struct json_value *svc;
        _cleanup_free_ char *url = NULL;
        const char *pprof, *sock;
        struct http_client_opts o = { .total_timeout_usec = 30 * UINT64_C(1000000), .body_max = GODUMP_MAX_INPUT };
        struct http_client *c = NULL;
        struct fetch f = { 0 };
        int r;

        r = ctl_status_of("dump", control, name, 0, &doc, &svc);
        if (r != 0)
                return r;
        pprof = json_get_string(svc, "pprof_url");
        sock = json_get_string(svc, "scrape_socket");
        if (!pprof) {
                fprintf(stderr, "gorral dump: service '%s' has no pprof_url: nothing to ask for its goroutines\n",
                        name);
                return GR_EXIT_USAGE;
        }
        url = actions_profile_url(pprof, "goroutine", "debug=2");
        if (!url) {
                fprintf(stderr, "gorral dump: service '%s': pprof_url %s does not end in /goroutine\n", name, pprof);
                return GR_EXIT_USAGE;
        }
        r = loop_new(&f.loop);
        if (r == 0)
                r = http_client_new(f.loop, url, sock, &o, &c);
        if (r == 0)
                r = http_client_get(c, NULL, fetched, &f);
        if (r == 0)
                r = loop_run(f.loop);
        http_client_free(c);
        loop_free(f.loop);
        if (r < 0) {
                fprintf(stderr, "gorral dump: %s: %s\n", url, strerror(-r));
                return GR_EXIT_SYSTEM;
        }
        if (f.status != 200 || !f.body) {
                if (f.status > 0)
                        fprintf(stderr, "gorral dump: %s answered %d\n", url, f.status);
                else
                        fprintf(stderr, "gorral dump: %s: %s\n", url, f.message);
                free(f.body);
                return GR_EXIT_UNAVAILABLE;
        }
        *ret = f.body;
        *ret_len = f.len;
        return 0;
}

static int parse_count(const char *opt, const char *s, unsigned *ret) {
        uint32_t v;

        if (parse_u32(s, &v) < 0) {
                fprintf(stderr, "gorral dump: %s: '%s' is not a count\n", opt, s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int cmd_dump(int argc, char **argv) {
        enum { OPT_JSON = 0x100, OPT_MAX_FRAMES, OPT_CONTROL };
        static const struct option opts[] = {
                { "file", required_argument, NULL, 'f' },
                { "control", required_argument, NULL, OPT_CONTROL },
                { "json", no_argument, NULL, OPT_JSON },
                { "max-groups", required_argument, NULL, 'n' },
                { "max-frames", required_argument, NULL, OPT_MAX_FRAMES },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        _cleanup_(godump_freep) struct godump *d = NULL;
        _cleanup_free_ char *buf = NULL, *out = NULL;
        const char *file = NULL, *control = NULL, *name = NULL;
        unsigned max_groups = 0, max_frames = DUMP_DEFAULT_FRAMES;
        bool json = false;
        size_t len = 0, out_len = 0;
        int c, r;

        /* getopt's own messages differ between glibc and musl: say it ourselves. */
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":f:n:hV", opts, NULL)) >= 0)
                switch (c) {
                case 'f':
                        file = optarg;
                        break;
                case OPT_JSON:
                        json = true;
                        break;
                case OPT_CONTROL:
                        control = optarg;
                        break;
                case 'n':
                        if (parse_count("--max-groups", optarg, &max_groups) < 0)
                                return GR_EXIT_USAGE;
                        break;
                case OPT_MAX_FRAMES:
                        if (parse_count("--max-frames", optarg, &max_frames) < 0)
                                return GR_EXIT_USAGE;
                        break;
                case 'h':
                        usage(stdout);
                        return GR_EXIT_OK;
                case 'V':
                        print_version();
                        return GR_EXIT_OK;
                case ':':
                        fprintf(stderr, "gorral dump: option '%s' needs a value\n", argv[optind - 1]);
                        return GR_EXIT_USAGE;
                default:
                        fprintf(stderr, "gorral dump: unknown option '%s'\n", argv[optind - 1]);
                        usage(stderr);
                        return GR_EXIT_USAGE;
                }
        if (optind < argc)
                name = argv[optind++];
        if (optind < argc) {
                fprintf(stderr, "gorral dump: unexpected argument '%s'\n", argv[optind]);
                return GR_EXIT_USAGE;
        }
        if (!file == !name) {
                fprintf(stderr, "gorral dump: give a service NAME or --file FILE (one of them)\n");
                usage(stderr);
                return GR_EXIT_USAGE;
        }
        if (name) {
                r = fetch_live(control, name, &buf, &len);
                if (r != 0)
                        return r;
                file = name;
        } else {
                r = read_file(strcmp(file, "-") == 0 ? "/dev/stdin" : file, GODUMP_MAX_INPUT, &buf, &len);
                if (r == -EFBIG) {
                        fprintf(stderr, "gorral dump: '%s': larger than %zu MiB\n", file, GODUMP_MAX_INPUT >> 20);
                        return GR_EXIT_USAGE;
                }
                if (r < 0) {
                        fprintf(stderr, "gorral dump: '%s': %s\n", file, strerror(-r));
                        return GR_EXIT_USAGE;
                }
        }
        r = godump_parse(buf, len, &d);
        if (r == -EBADMSG) {
                fprintf(stderr, "gorral dump: '%s': not a goroutine dump (no goroutine header, no count "
                                "profile record)\n", file);
                return GR_EXIT_USAGE;
        }
        if (r < 0) {
                fprintf(stderr, "gorral dump: '%s': %s\n", file, strerror(-r));
                return GR_EXIT_SOFTWARE;
        }
        if (json) {
                struct json_writer w;

                json_writer_init(&w, DUMP_JSON_MAX);
                godump_write_json(&w, d, max_groups);
                r = json_writer_steal(&w, &out, &out_len);
                json_writer_done(&w);
        } else
                r = godump_write_text(d, max_groups, max_frames, &out, &out_len);
        if (r < 0) {
                fprintf(stderr, "gorral dump: '%s': %s\n", file, strerror(-r));
                return GR_EXIT_SOFTWARE;
        }
        fwrite(out, 1, out_len, stdout);
        if (json)
                fputc('\n', stdout);
        if (fflush(stdout) != 0) {
                fprintf(stderr, "gorral dump: writing the output: %s\n", strerror(errno));
                return GR_EXIT_SOFTWARE;
        }
        return GR_EXIT_OK;
}
