/* cmd-config.c: `gorral check-config [--json] [--root DIR] FILE`: load the
 * configuration as `gorral run -c FILE` would, print "configuration OK"
 * or every error as FILE:LINE:COLUMN: message. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gorral/commands.h"
#include "gorral/config.h"
#include "gorral/exitcodes.h"
#include "gorral/util.h"

extern char **environ;

static const char check_help[] =
        "Usage: gorral check-config [--json] [--root DIR] FILE\n"
        "\n"
        "Validate a configuration file for `gorral run -c FILE`: its YAML, every key\n"
        "and value, depends_on, users and groups, env files and ${VAR} references\n"
        "(from this environment). Prints \"FILE: configuration OK (N services)\", or\n"
        "every problem as FILE:LINE:COLUMN: message, one per line.\n"
        "\n"
        "      --json       one JSON object on stdout instead\n"
        "      --root DIR   resolve user and group names in DIR/etc/passwd and\n"
        "                   DIR/etc/group (default /)\n"
        "  -h, --help       this text\n"
        "  -V, --version    gorral's version\n"
        "\n"
        "Exit status: 0 valid (warnings allowed), 2 errors or usage error, 71 out of\n"
        "memory.\n";

static void print_json(const char *file, const struct config *c, const struct config_diags *d) {
        fputs("{\"file\":", stdout);
        json_fputs(stdout, file);
        printf(",\"ok\":%s,\"services\":", c ? "true" : "false");
        if (c) {
                fputc('[', stdout);
                for (size_t i = 0; i < c->n_services; i++) {
                        if (i)
                                fputc(',', stdout);
                        json_fputs(stdout, c->services[i].name);
                }
                fputc(']', stdout);
        } else
                fputs("null", stdout);
        fputs(",\"diagnostics\":[", stdout);
        for (size_t i = 0; i < d->n; i++) {
                printf("%s{\"file\":", i ? "," : "");
                json_fputs(stdout, d->v[i].file);
                printf(",\"line\":%u,\"column\":%u,\"severity\":\"%s\",\"message\":", d->v[i].line, d->v[i].column,
                       d->v[i].warning ? "warning" : "error");
                json_fputs(stdout, d->v[i].message);
                fputc('}', stdout);
        }
        fputs("]}\n", stdout);
}

int cmd_check_config(int argc, char **argv) {
        struct config_context ctx = { .environ = environ, .root = "/" };
        struct config_diags d = { 0 };
        struct config *c = NULL;
        const char *file = NULL;
        bool json = false;
        int r;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                        fputs(check_help, stdout);
                        return GR_EXIT_OK;
                }
                if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
                        print_version();
                        return GR_EXIT_OK;
                }
                if (!strcmp(a, "--json"))
                        json = true;
                else if (!strcmp(a, "--root") && i + 1 < argc)
                        ctx.root = argv[++i];
                else if (!strncmp(a, "--root=", 7))
                        ctx.root = a + 7;
                else if (!strcmp(a, "--") && i + 1 < argc && !file)
                        file = argv[++i];
                else if (a[0] == '-' && a[1]) {
                        fprintf(stderr, "gorral check-config: unknown option '%s' (see gorral check-config --help)\n",
                                a);
                        return GR_EXIT_USAGE;
                } else if (!file)
                        file = a;
                else {
                        fprintf(stderr, "gorral check-config: one FILE only (usage: gorral check-config [--json] "
                                "FILE)\n");
                        return GR_EXIT_USAGE;
                }
        }
        if (!file) {
                fprintf(stderr, "gorral check-config: no file given (usage: gorral check-config [--json] FILE)\n");
                return GR_EXIT_USAGE;
        }
        /* What this host has, for the "more than the host has" warnings. */
        {
                const char *root = ctx.root;

                config_context_host(&ctx, ctx.environ);
                ctx.root = root;
        }

        r = config_load(file, &ctx, &c, &d);
        if (r == -ENOMEM) {
                fprintf(stderr, "gorral check-config: out of memory\n");
                config_diags_done(&d);
                return GR_EXIT_SYSTEM;
        }
        if (json)
                print_json(file, c, &d);
        else {
                config_diags_print(stderr, &d);
                if (c)
                        printf("%s: configuration OK (%zu service%s)\n", file, c->n_services,
                               c->n_services == 1 ? "" : "s");
        }
        config_free(c);
        config_diags_done(&d);
        return r == 0 ? GR_EXIT_OK : GR_EXIT_USAGE;
}
