/* cmd-inspect.c: `gorral inspect [--json] BINARY`: the Go build info of a
 * binary, and what it means for GOMAXPROCS (a Go >= 1.25 runtime sizes it
 * from the cgroup itself; older ones take the CPU count). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gorral/buildinfo.h"
#include "gorral/commands.h"
#include "gorral/exitcodes.h"
#include "gorral/childenv.h"
#include "gorral/limits.h"
#include "gorral/util.h"

#define INSPECT_EXIT_FAILED 1 /* not ELF, not Go, unreadable */

static void usage(FILE *f) {
        fprintf(f, "Usage: gorral inspect [--json] BINARY\n\n"
                   "Show a Go binary's version, main package and module, build settings and\n"
                   "dependencies (from its .go.buildinfo, as `go version -m` does), whether its\n"
                   "runtime sizes GOMAXPROCS from the cgroup by itself (Go >= 1.25), and what\n"
                   "gorral exec/run would therefore do with GOMAXPROCS on this host.\n\n"
                   "Options:\n"
                   "  --json         one JSON object: file, go_version, path, module, module_version,\n"
                   "                 settings (object), deps, runtime_sizes_gomaxprocs (true/false/null)\n"
                   "  -h, --help     this text\n"
                   "  -V, --version  gorral's version\n\n"
                   "Exit status: 0 a Go binary, 1 not ELF / not Go / unreadable, 2 usage error.\n");
}

/* What gorral does with GOMAXPROCS for such a binary, as a rule. */
static const char *gomaxprocs_rule(int sizes) {
        if (sizes > 0)
                return "leaves GOMAXPROCS unset: the runtime sizes it from its cgroup and keeps it updated "
                       "(exported only when an ancestor cgroup's quota is tighter than the leaf's)";
        if (sizes == 0)
                return "exports GOMAXPROCS from the cgroup CPU quota when it is below the CPU count: this "
                       "runtime uses the CPU count";
        return "exports GOMAXPROCS from the cgroup CPU quota when it is below the CPU count: a Go version "
               "it does not understand counts as an older runtime";
}

/* The decision limits_gather() makes for this binary here (-errno when
 * the cgroups could not be read: then only the rule is shown). */
static int host_decision(const char *file, char *buf, size_t n) {
        struct limits_options o;
        struct limits_state s;
        _cleanup_free_ char *exe = NULL;
        int r;

        limits_options_init(&o);
        /* A bare name would be looked up on PATH: name this file. */
        exe = strchr(file, '/') ? strdup(file) : path_join(".", file);
        if (!exe)
                return -ENOMEM;
        r = limits_gather(&o, exe, &s);
        if (r < 0)
                return r;
        if (s.d.set_gomaxprocs)
                snprintf(buf, n, "GOMAXPROCS=%u: %s", s.d.gomaxprocs, s.d.gomaxprocs_reason);
        else
                snprintf(buf, n, "GOMAXPROCS not set: %s", s.d.gomaxprocs_reason);
        limits_state_done(&s);
        return 0;
}

static void print_text(const char *file, const struct go_buildinfo *b, int sizes, const struct go_module *deps,
                       size_t ndeps, const char *here) {
        printf("file:          %s\n", file);
        printf("go version:    %s\n", b->go_version);
        printf("path:          %s\n", b->path ? b->path : "-");
        if (b->main_module)
                printf("main module:   %s %s\n", b->main_module, b->main_version ? b->main_version : "");
        else
                printf("main module:   - (no mod line: built in GOPATH mode or from files)\n");
        /* Settings as Go wrote them (quoted where Go quotes), one per line,
         * so they compare with `go version -m` directly. */
        for (const char *l = b->modinfo; l && *l;) {
                const char *nl = strchr(l, '\n');
                int ll = nl ? (int)(nl - l) : (int)strlen(l);

                if (ll >= 6 && strncmp(l, "build\t", 6) == 0)
                        printf("build:         %.*s\n", ll - 6, l + 6);
                l = nl ? nl + 1 : NULL;
        }
        for (size_t i = 0; i < ndeps; i++) {
                printf("dep:           %s %s", deps[i].path, deps[i].version);
                if (deps[i].replace_path)
                        printf(" => %s %s", deps[i].replace_path, deps[i].replace_version);
                putchar('\n');
        }
        printf("format:        ELF%u %s-endian, %u-byte pointers, %s\n", b->elf_class,
               b->big_endian ? "big" : "little", b->ptr_size,
               b->inline_strings ? "inline build info (Go >= 1.18)" : "pointer build info (Go < 1.18)");
        if (sizes > 0)
                printf("cgroup-aware:  yes: %s sizes GOMAXPROCS from its cgroup CPU limit itself\n", b->go_version);
        else if (sizes == 0) {
                unsigned ma, mi, pa;

                if (go_version_parse(b->go_version, &ma, &mi, &pa) >= 0 && ma == 1 && mi >= 25)
                        printf("cgroup-aware:  no: containermaxprocs=0 in its DefaultGODEBUG\n");
                else
                        printf("cgroup-aware:  no: %s < go1.25 sizes GOMAXPROCS from the CPU count only\n",
                               b->go_version);
        } else
                printf("cgroup-aware:  unknown: version \"%s\" not understood\n", b->go_version);
        printf("gorral:        %s\n", gomaxprocs_rule(sizes));
        if (here)
                printf("here:          %s\n", here);
}

static void print_json(const char *file, const struct go_buildinfo *b, int sizes, const struct go_build_setting *st,
                       size_t nst, const struct go_module *deps, size_t ndeps, const char *here) {
        printf("{\"file\":");
        json_fputs(stdout, file);
        printf(",\"go_version\":");
        json_fputs(stdout, b->go_version);
        printf(",\"path\":");
        json_fputs(stdout, b->path);
        printf(",\"module\":");
        json_fputs(stdout, b->main_module);
        printf(",\"module_version\":");
        json_fputs(stdout, b->main_version);
        printf(",\"settings\":{");
        for (size_t i = 0; i < nst; i++) {
                if (i)
                        putchar(',');
                json_fputs(stdout, st[i].key);
                putchar(':');
                json_fputs(stdout, st[i].value);
        }
        printf("},\"deps\":[");
        for (size_t i = 0; i < ndeps; i++) {
                printf("%s{\"path\":", i ? "," : "");
                json_fputs(stdout, deps[i].path);
                printf(",\"version\":");
                json_fputs(stdout, deps[i].version);
                printf(",\"sum\":");
                json_fputs(stdout, deps[i].sum);
                printf(",\"replace_path\":");
                json_fputs(stdout, deps[i].replace_path);
                printf(",\"replace_version\":");
                json_fputs(stdout, deps[i].replace_version);
                putchar('}');
        }
        printf("],\"elf_class\":%u,\"big_endian\":%s,\"ptr_size\":%u,\"inline_build_info\":%s", b->elf_class,
               b->big_endian ? "true" : "false", b->ptr_size, b->inline_strings ? "true" : "false");
        printf(",\"runtime_sizes_gomaxprocs\":%s", sizes > 0 ? "true" : sizes == 0 ? "false" : "null");
        printf(",\"gomaxprocs_rule\":");
        json_fputs(stdout, gomaxprocs_rule(sizes));
        printf(",\"gomaxprocs_here\":");
        json_fputs(stdout, here);
        printf("}\n");
}

int cmd_inspect(int argc, char **argv) {
        _cleanup_(buildinfo_done) struct go_buildinfo b = {};
        struct go_build_setting *st = NULL;
        struct go_module *deps = NULL;
        size_t nst = 0, ndeps = 0;
        const char *file = NULL;
        bool json = false, opts_done = false;
        char here[1024];
        bool have_here;
        int r, sizes;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (!opts_done && strcmp(a, "--") == 0)
                        opts_done = true;
                else if (!opts_done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
                        usage(stdout);
                        return GR_EXIT_OK;
                } else if (!opts_done && (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0)) {
                        print_version();
                        return GR_EXIT_OK;
                } else if (!opts_done && strcmp(a, "--json") == 0)
                        json = true;
                else if (!opts_done && a[0] == '-' && a[1] != 0) {
                        fprintf(stderr, "gorral inspect: unknown option '%s'\n", a);
                        usage(stderr);
                        return GR_EXIT_USAGE;
                } else if (file) {
                        fprintf(stderr, "gorral inspect: one BINARY only ('%s' and '%s')\n", file, a);
                        return GR_EXIT_USAGE;
                } else
                        file = a;
        }
        if (!file) {
                fprintf(stderr, "gorral inspect: missing BINARY\n");
                usage(stderr);
                return GR_EXIT_USAGE;
        }

        r = buildinfo_read(file, &b);
        switch (r) {
        case 0:
                break;
        case -ENOEXEC:
                fprintf(stderr, "gorral inspect: %s: not an ELF file\n", file);
                return INSPECT_EXIT_FAILED;
        case -ENOMSG:
                fprintf(stderr, "gorral inspect: %s: not a Go binary (no .go.buildinfo)\n", file);
                return INSPECT_EXIT_FAILED;
        case -EBADMSG:
                fprintf(stderr, "gorral inspect: %s: Go build info is truncated or inconsistent\n", file);
                return INSPECT_EXIT_FAILED;
        case -EFBIG:
                fprintf(stderr, "gorral inspect: %s: larger than 1 GiB, refusing to read it\n", file);
                return INSPECT_EXIT_FAILED;
        case -EINVAL:
                fprintf(stderr, "gorral inspect: %s: not a regular file\n", file);
                return INSPECT_EXIT_FAILED;
        default:
                fprintf(stderr, "gorral inspect: %s: %s\n", file, strerror(-r));
                return INSPECT_EXIT_FAILED;
        }

        /* A malformed settings or dep line (Go would refuse the whole build
         * info) still leaves the version: show what is sound. */
        if (buildinfo_settings(&b, &st, &nst) < 0) {
                fprintf(stderr, "gorral inspect: %s: malformed build setting line, settings not shown\n", file);
                st = NULL;
                nst = 0;
        }
        if (buildinfo_deps(&b, &deps, &ndeps) < 0) {
                fprintf(stderr, "gorral inspect: %s: malformed dep line, dependencies not shown\n", file);
                deps = NULL;
                ndeps = 0;
        }
        sizes = buildinfo_runtime_sizes_gomaxprocs(&b);
        have_here = host_decision(file, here, sizeof here) >= 0;

        if (json)
                print_json(file, &b, sizes, st, nst, deps, ndeps, have_here ? here : NULL);
        else
                print_text(file, &b, sizes, deps, ndeps, have_here ? here : NULL);
        buildinfo_settings_free(st, nst);
        buildinfo_deps_free(deps, ndeps);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "gorral inspect: writing the output failed: %s\n", strerror(errno));
                return INSPECT_EXIT_FAILED;
        }
        return GR_EXIT_OK;
}
