/* cmd-dump.c: `gorral dump --file FILE [--json] [--max-groups N]
 * [--max-frames N]`: a saved goroutine dump (pprof debug=2 or debug=1,
 * SIGQUIT output, a pasted panic) grouped by stack. The live form (`gorral
 * dump NAME`, asking a running gorral) is not here yet: without --file
 * this is a usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "gorral/commands.h"
#include "gorral/exitcodes.h"
#include "gorral/godump.h"
#include "gorral/json.h"
#include "gorral/util.h"

#define DUMP_DEFAULT_FRAMES 12
#define DUMP_JSON_MAX ((size_t)256 << 20)      /* the JSON of a 64 MiB dump fits well below */

static void usage(FILE *f) {
        fprintf(f, "Usage: gorral dump --file FILE [--json] [--max-groups N] [--max-frames N]\n\n"
                   "Group the goroutines of a saved dump by stack: /debug/pprof/goroutine?debug=2\n"
                   "or ?debug=1 (goroutine, goroutineleak), the stderr of a Go program killed by\n"
                   "SIGQUIT (any GOTRACEBACK level), or a panic / fatal error trace, Go 1.19 to\n"
                   "current (Go 1.27's labels in goroutine headers included). Groups are keyed by\n"
                   "function, file and line per frame plus the creator (no arguments, offsets or\n"
                   "ids), the largest first, each with its states, longest wait and the first\n"
                   "frame that is not the standard library.\n\n"
                   "Options:\n"
                   "  -f, --file FILE     the dump (- for stdin), at most 64 MiB\n"
                   "      --json          one JSON object instead of text\n"
                   "  -n, --max-groups N  show the N largest groups (default: all)\n"
                   "      --max-frames N  frames per group in the text (default %d, 0: all)\n"
                   "  -h, --help          this text\n\n"
                   "Exit status: 0 grouped, 2 usage error, unreadable file or not a goroutine dump.\n",
                DUMP_DEFAULT_FRAMES);
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
        enum { OPT_JSON = 0x100, OPT_MAX_FRAMES };
        static const struct option opts[] = {
                { "file", required_argument, NULL, 'f' },
                { "json", no_argument, NULL, OPT_JSON },
                { "max-groups", required_argument, NULL, 'n' },
                { "max-frames", required_argument, NULL, OPT_MAX_FRAMES },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        _cleanup_(godump_freep) struct godump *d = NULL;
        _cleanup_free_ char *buf = NULL, *out = NULL;
        const char *file = NULL;
        unsigned max_groups = 0, max_frames = DUMP_DEFAULT_FRAMES;
        bool json = false;
        size_t len = 0, out_len = 0;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+f:n:hV", opts, NULL)) >= 0)
                switch (c) {
                case 'f':
                        file = optarg;
                        break;
                case OPT_JSON:
                        json = true;
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
                        printf("gorral %s\n", GORRAL_VERSION);
                        return GR_EXIT_OK;
                default:
                        usage(stderr);
                        return GR_EXIT_USAGE;
                }
        if (!file) {
                if (optind < argc)
                        fprintf(stderr, "gorral dump: '%s': asking a running gorral is not supported yet; "
                                        "--file FILE is required\n", argv[optind]);
                else
                        fprintf(stderr, "gorral dump: --file FILE is required\n");
                usage(stderr);
                return GR_EXIT_USAGE;
        }
        if (optind < argc) {
                fprintf(stderr, "gorral dump: unexpected argument '%s'\n", argv[optind]);
                return GR_EXIT_USAGE;
        }
        r = read_file(strcmp(file, "-") == 0 ? "/dev/stdin" : file, GODUMP_MAX_INPUT, &buf, &len);
        if (r == -EFBIG) {
                fprintf(stderr, "gorral dump: '%s': larger than %zu MiB\n", file, GODUMP_MAX_INPUT >> 20);
                return GR_EXIT_USAGE;
        }
        if (r < 0) {
                fprintf(stderr, "gorral dump: '%s': %s\n", file, strerror(-r));
                return GR_EXIT_USAGE;
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
