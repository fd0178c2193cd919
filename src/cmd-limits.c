/* cmd-limits.c: `gorral limits`, `gorral env` and `gorral exec`: the
 * GOMAXPROCS/GOMEMLIMIT policy from the outside, with no process left
 * behind (automaxprocs/automemlimit without a code change). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gorral/buildinfo.h"
#include "gorral/cgroup.h"
#include "gorral/commands.h"
#include "gorral/exitcodes.h"
#include "gorral/childenv.h"
#include "gorral/goenv.h"
#include "gorral/limits.h"
#include "gorral/log.h"
#include "gorral/spawn.h"
#include "gorral/util.h"

enum env_format { ENV_FORMAT_SHELL, ENV_FORMAT_DOTENV, ENV_FORMAT_JSON };

/* What the three commands parse. */
struct cmd_args {
        struct limits_options o;
        bool json;
        enum env_format format;
        char **cmd; /* after "--" (or the first non-option for exec) */
        int n_cmd;
};

enum { PARSE_CONTINUE = -1 }; /* >= 0: exit with this status */

static void print_help(const char *name) {
        if (strcmp(name, "limits") == 0)
                printf("Usage: gorral limits [--json] [POLICY OPTIONS] [-- CMD [ARGS...]]\n\n"
                       "Show the cgroup layout, every CPU and memory limit with the file it came from,\n"
                       "the affinity CPUs, and the GOMAXPROCS/GOMEMLIMIT gorral would set, and why.\n"
                       "With -- CMD, CMD's Go build info is read too (Go >= 1.25 sizes GOMAXPROCS itself).\n\n"
                       "  --json                 one JSON object on stdout\n"
                       "Exit status: 0, or 2 when a limit file is malformed (or an inherited GOMEMLIMIT\n"
                       "would make Go exit at start), or on a usage error.\n\n");
        else if (strcmp(name, "env") == 0)
                printf("Usage: gorral env [--format shell|dotenv|json] [POLICY OPTIONS] [-- CMD]\n\n"
                       "Print only the variables gorral would set (none when Go's defaults are right or\n"
                       "they are already in the environment):\n"
                       "  shell   export GOMAXPROCS=2      (for eval \"$(gorral env)\"; the default)\n"
                       "  dotenv  GOMAXPROCS=2             (docker --env-file, systemd EnvironmentFile)\n"
                       "  json    {\"GOMAXPROCS\": \"2\"}\n"
                       "Exit status: 0, or 2 on a usage error. Errors are reported on stderr and the\n"
                       "affected variable is left out.\n\n");
        else
                printf("Usage: gorral exec [POLICY OPTIONS] [--strict] -- CMD [ARGS...]\n\n"
                       "Set GOMAXPROCS/GOMEMLIMIT in the environment and replace gorral by CMD (execvp):\n"
                       "no gorral process remains. Each decision is logged on stderr.\n"
                       "Fail-open: when a limit file is malformed, the affected variable is left unset,\n"
                       "an error is logged and CMD still starts; with --strict gorral exits 2 instead.\n"
                       "Exit status: CMD's own; 127 CMD not found; 126 CMD not executable; 2 usage error\n"
                       "or --strict refusal.\n\n");
        printf("  -h, --help             this text\n"
               "  -V, --version          gorral's version\n");
        fputs(limits_options_help, stdout);
        printf("\nEnvironment: GORRAL_SYSROOT, GORRAL_LOG_LEVEL, GORRAL_LOG_FORMAT.\n");
}

static int usage_error(const char *name, const char *fmt, const char *arg) {
        fprintf(stderr, "gorral %s: ", name);
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\nTry 'gorral %s --help'.\n", name);
        return GR_EXIT_USAGE;
}

/* Shared argv walk: command options, then policy options, then "--" CMD.
 * exec also takes the first non-option word as the start of CMD. */
static int parse_args(int argc, char **argv, struct cmd_args *a) {
        const char *name = argv[0];
        bool is_limits = strcmp(name, "limits") == 0, is_env = strcmp(name, "env") == 0,
             is_exec = strcmp(name, "exec") == 0;
        int i;

        limits_options_init(&a->o);
        a->json = false;
        a->format = ENV_FORMAT_SHELL;
        a->cmd = NULL;
        a->n_cmd = 0;

        for (i = 1; i < argc; i++) {
                const char *arg = argv[i];
                int r;

                if (strcmp(arg, "--") == 0) {
                        i++;
                        break;
                }
                if (arg[0] != '-' || arg[1] == '\0') {
                        if (is_exec)
                                break;
                        return usage_error(name, "unexpected argument '%s' (a command goes after --)", arg);
                }
                if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
                        print_help(name);
                        return GR_EXIT_OK;
                }
                if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
                        print_version();
                        return GR_EXIT_OK;
                }
                if (is_limits && strcmp(arg, "--json") == 0) {
                        a->json = true;
                        continue;
                }
                if (is_env && (strcmp(arg, "--format") == 0 || strncmp(arg, "--format=", 9) == 0)) {
                        const char *v = arg[8] == '=' ? arg + 9 : (i + 1 < argc ? argv[++i] : NULL);

                        if (!v)
                                return usage_error(name, "%s needs a value: shell, dotenv or json", arg);
                        if (strcmp(v, "shell") == 0)
                                a->format = ENV_FORMAT_SHELL;
                        else if (strcmp(v, "dotenv") == 0)
                                a->format = ENV_FORMAT_DOTENV;
                        else if (strcmp(v, "json") == 0)
                                a->format = ENV_FORMAT_JSON;
                        else
                                return usage_error(name, "unknown format '%s' (shell, dotenv or json)", v);
                        continue;
                }
                r = limits_option_takes_value(arg);
                if (r < 0)
                        return usage_error(name, "unknown option '%s'", arg);
                if (r == 1 && i + 1 >= argc)
                        return usage_error(name, "option '%s' needs a value", arg);
                r = limits_options_parse(&a->o, arg, r == 1 ? argv[i + 1] : NULL);
                if (r < 0) {
                        const char *eq = strchr(arg, '=');

                        /* The option by its name alone, then the value. */
                        fprintf(stderr, "gorral %s: invalid value '%s' for %.*s\nTry 'gorral %s --help'.\n", name,
                                eq ? eq + 1 : argv[i + 1], eq ? (int)(eq - arg) : (int)strlen(arg), arg, name);
                        return GR_EXIT_USAGE;
                }
                if (limits_option_takes_value(arg) == 1)
                        i++;
        }
        if (i < argc) {
                a->cmd = argv + i;
                a->n_cmd = argc - i;
        }
        if (is_exec && a->n_cmd == 0)
                return usage_error(name, "%s", "no command given (gorral exec [OPTIONS] -- CMD ARGS...)");
        if (is_env && a->n_cmd > 1)
                return usage_error(name, "%s", "env takes at most one command after -- (to read its build info)");
        return PARSE_CONTINUE;
}

/* ---- output helpers ---- */

static void json_u64_or_null(FILE *f, bool known, uint64_t v) {
        if (known)
                fprintf(f, "%" PRIu64, v);
        else
                fputs("null", f);
}

/* quota/period as a JSON number or text: exact to 6 decimals. */
static const char *cores(uint64_t q, uint64_t p, char buf[static 48]) {
        int len;

        if (p == 0)
                return "0";
        len = snprintf(buf, 48, "%" PRIu64 ".%06" PRIu64, q / p,
                       (uint64_t)((unsigned __int128)(q % p) * 1000000u / p));
        while (len > 0 && buf[len - 1] == '0')
                buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '.')
                buf[--len] = '\0';
        return buf;
}

/* "268435456 (256 MiB)" */
static const char *human_bytes(uint64_t v, char buf[static 64]) {
        const char *unit;
        double d = bytes_scaled((double)v, &unit);

        if (!unit)
                snprintf(buf, 64, "%" PRIu64 " bytes", v);
        else
                snprintf(buf, 64, "%" PRIu64 " bytes (%.*f %s)", v, d == (double)(uint64_t)d ? 0 : 1, d, unit);
        return buf;
}

static bool go_sizes_known(const struct limits_state *s) {
        return s->have_go && s->d.go_sizes_gomaxprocs >= 0;
}

/* ---- gorral limits ---- */

static void print_limits_json(const struct limits_state *s, const char *exe) {
        const struct cg_limits *cg = &s->cg;
        const struct limits_decision *d = &s->d;
        char b[48];
        FILE *f = stdout;

        fputs("{\n  \"cgroup\": {\"version\": ", f);
        json_fputs(f, cg_layout_to_string(cg->layout));
        fputs(", \"cpu_path\": ", f);
        json_fputs(f, cg->cpu_cgroup);
        fputs(", \"memory_path\": ", f);
        json_fputs(f, cg->memory_cgroup);
        fputs("},\n", f);

        fputs("  \"cpu\": {\"limit_cores\": ", f);
        if (cg->cpu_limited && !cg->cpu_error && cg->cpu_period_us)
                fputs(cores(cg->cpu_quota_us, cg->cpu_period_us, b), f);
        else
                fputs("null", f);
        fputs(", \"quota_us\": ", f);
        json_u64_or_null(f, cg->cpu_limited && !cg->cpu_error, cg->cpu_quota_us);
        fputs(", \"period_us\": ", f);
        json_u64_or_null(f, cg->cpu_limited && !cg->cpu_error, cg->cpu_period_us);
        fputs(", \"file\": ", f);
        json_fputs(f, cg->cpu_limited ? cg->cpu_file : NULL);
        fputs(", \"leaf_limit_cores\": ", f);
        if (cg->cpu_leaf_limited && !cg->cpu_error && cg->cpu_leaf_period_us)
                fputs(cores(cg->cpu_leaf_quota_us, cg->cpu_leaf_period_us, b), f);
        else
                fputs("null", f);
        fputs(", \"cpuset_cpus\": ", f);
        json_u64_or_null(f, cg->cpuset_cpus > 0, cg->cpuset_cpus);
        fputs(", \"cpuset_file\": ", f);
        json_fputs(f, cg->cpuset_cpus > 0 ? cg->cpuset_file : NULL);
        fprintf(f, ", \"affinity_cpus\": %u, \"error\": %s},\n", d->affinity_cpus, cg->cpu_error ? "true" : "false");

        fputs("  \"memory\": {\"limit_bytes\": ", f);
        json_u64_or_null(f, cg->mem_limited && !cg->mem_error, cg->mem_bytes);
        fputs(", \"limit_file\": ", f);
        json_fputs(f, cg->mem_limited ? cg->mem_file : NULL);
        fputs(", \"high_bytes\": ", f);
        json_u64_or_null(f, cg->high_limited && !cg->mem_error, cg->high_bytes);
        fputs(", \"high_file\": ", f);
        json_fputs(f, cg->high_limited ? cg->high_file : NULL);
        fputs(", \"budget_bytes\": ", f);
        json_u64_or_null(f, d->mem_budget_known, d->mem_budget);
        fprintf(f, ", \"error\": %s},\n", cg->mem_error ? "true" : "false");

        fputs("  \"go\": ", f);
        if (exe) {
                fputs("{\"command\": ", f);
                json_fputs(f, exe);
                fputs(", \"binary\": ", f);
                json_fputs(f, s->exe_path);
                fputs(", \"version\": ", f);
                json_fputs(f, s->have_go ? s->go.go_version : NULL);
                fputs(", \"runtime_sizes_gomaxprocs\": ", f);
                fputs(go_sizes_known(s) ? (d->go_sizes_gomaxprocs ? "true" : "false") : "null", f);
                fputs(", \"runtime_gomaxprocs\": ", f);
                json_u64_or_null(f, d->go_sizes_gomaxprocs == 1, d->go_runtime_gomaxprocs);
                fputs(", \"error\": ", f);
                json_fputs(f, s->have_go ? NULL : !s->exe_path ? "not found on PATH" : strerror(-s->go_err));
                fputs("},\n", f);
        } else
                fputs("null,\n", f);

        fputs("  \"environment\": {\"GOMAXPROCS\": ", f);
        json_fputs(f, s->env_gomaxprocs);
        fputs(", \"GOMEMLIMIT\": ", f);
        json_fputs(f, s->env_gomemlimit);
        fputs("},\n", f);

        fputs("  \"gomaxprocs\": ", f);
        json_u64_or_null(f, d->set_gomaxprocs, d->gomaxprocs);
        fputs(",\n  \"gomaxprocs_target\": ", f);
        json_u64_or_null(f, d->gomaxprocs_known, d->gomaxprocs);
        fputs(",\n  \"gomaxprocs_reason\": ", f);
        json_fputs(f, d->gomaxprocs_reason);
        fputs(",\n  \"gomemlimit\": ", f);
        json_u64_or_null(f, d->set_gomemlimit, d->gomemlimit);
        fputs(",\n  \"gomemlimit_target\": ", f);
        json_u64_or_null(f, d->gomemlimit_known, d->gomemlimit);
        fputs(",\n  \"gomemlimit_reason\": ", f);
        json_fputs(f, d->gomemlimit_reason);

        fputs(",\n  \"warnings\": [", f);
        for (unsigned i = 0; i < d->n_warnings; i++) {
                fputs(i ? ", " : "", f);
                json_fputs(f, d->warnings[i]);
        }
        fputs("],\n  \"notes\": [", f);
        for (size_t i = 0; i < cg->n_notes; i++) {
                fputs(i ? ", " : "", f);
                json_fputs(f, cg->notes[i]);
        }
        fputs("],\n  \"errors\": [", f);
        for (size_t i = 0; i < cg->n_errors; i++) {
                fputs(i ? ",\n    " : "\n    ", f);
                fputs("{\"file\": ", f);
                json_fputs(f, cg->errors[i].file);
                fputs(", \"message\": ", f);
                json_fputs(f, cg->errors[i].message);
                fputs("}", f);
        }
        if (d->gomemlimit_env_fatal) {
                fputs(cg->n_errors ? ",\n    " : "\n    ", f);
                fputs("{\"file\": null, \"message\": ", f);
                json_fputs(f, "GOMEMLIMIT in the environment is malformed: Go exits 2 at start");
                fputs("}", f);
        }
        fputs(cg->n_errors || d->gomemlimit_env_fatal ? "\n  ]\n}\n" : "]\n}\n", f);
}

static void print_limits_human(const struct limits_state *s, const struct limits_options *o, const char *exe) {
        const struct cg_limits *cg = &s->cg;
        const struct limits_decision *d = &s->d;
        char b[48], h[64];

        printf("cgroup layout:   %s", cg_layout_to_string(cg->layout));
        switch (cg->layout) {
        case CG_LAYOUT_V1: printf(" (cgroup v1 controllers)\n"); break;
        case CG_LAYOUT_V2: printf(" (unified cgroup v2)\n"); break;
        case CG_LAYOUT_HYBRID: printf(" (v1 controllers plus a cgroup2 mount)\n"); break;
        default: printf(" (no cgroup filesystem found: no limits known)\n"); break;
        }
        printf("cpu cgroup:      %s\n", cg->cpu_cgroup ? cg->cpu_cgroup : "(none)");
        printf("memory cgroup:   %s\n", cg->memory_cgroup ? cg->memory_cgroup : "(none)");

        printf("\nCPU\n");
        if (cg->cpu_error)
                printf("  quota:         malformed (see errors)\n");
        else if (cg->cpu_limited) {
                printf("  quota:         %" PRIu64 "/%" PRIu64 " us = %s cores\n", cg->cpu_quota_us,
                       cg->cpu_period_us, cores(cg->cpu_quota_us, cg->cpu_period_us, b));
                printf("                 from %s\n", cg->cpu_file ? cg->cpu_file : "?");
                if (!cg->cpu_leaf_limited)
                        printf("  leaf cgroup:   no quota (the limit above belongs to an ancestor)\n");
                else if (cg->cpu_leaf_quota_us != cg->cpu_quota_us || cg->cpu_leaf_period_us != cg->cpu_period_us)
                        printf("  leaf cgroup:   %s cores (an ancestor is tighter)\n",
                               cores(cg->cpu_leaf_quota_us, cg->cpu_leaf_period_us, b));
        } else
                printf("  quota:         none (no CPU limit)\n");
        if (cg->cpuset_cpus)
                printf("  cpuset:        %u CPUs (%s)\n", cg->cpuset_cpus, cg->cpuset_file ? cg->cpuset_file : "?");
        else
                printf("  cpuset:        unknown\n");
        printf("  affinity:      %u CPUs%s\n", d->affinity_cpus,
               o->cpus_override ? " (--cpus)" : " (sched_getaffinity)");

        printf("\nMemory\n");
        if (cg->mem_error)
                printf("  limit:         malformed (see errors)\n");
        else {
                if (cg->mem_limited)
                        printf("  limit:         %s\n                 from %s\n", human_bytes(cg->mem_bytes, h),
                               cg->mem_file ? cg->mem_file : "?");
                else
                        printf("  limit:         none\n");
                if (cg->high_limited)
                        printf("  memory.high:   %s\n                 from %s\n", human_bytes(cg->high_bytes, h),
                               cg->high_file ? cg->high_file : "?");
                else
                        printf("  memory.high:   none\n");
        }

        if (exe) {
                printf("\nCommand\n  binary:        %s\n", s->exe_path ? s->exe_path : "(not found on PATH)");
                if (s->have_go)
                        printf("  Go:            %s%s\n", s->go.go_version ? s->go.go_version : "version unknown",
                               d->go_sizes_gomaxprocs == 1   ? " (its runtime sizes GOMAXPROCS from the cgroup)"
                               : d->go_sizes_gomaxprocs == 0 ? " (its runtime does not read the CPU quota)"
                                                             : "");
                else if (s->exe_path)
                        printf("  Go:            no Go build info (%s): treated as unknown\n", strerror(-s->go_err));
        }

        printf("\nEnvironment\n");
        printf("  GOMAXPROCS:    %s\n", s->env_gomaxprocs ? s->env_gomaxprocs : "(not set)");
        printf("  GOMEMLIMIT:    %s\n", s->env_gomemlimit ? s->env_gomemlimit : "(not set)");

        printf("\nDecision\n");
        if (d->set_gomaxprocs)
                printf("  GOMAXPROCS=%u\n", d->gomaxprocs);
        else
                printf("  GOMAXPROCS     not set by gorral\n");
        printf("    why: %s\n", d->gomaxprocs_reason);
        if (d->set_gomemlimit)
                printf("  GOMEMLIMIT=%" PRIu64 "\n", d->gomemlimit);
        else
                printf("  GOMEMLIMIT     not set by gorral\n");
        printf("    why: %s\n", d->gomemlimit_reason);

        if (cg->n_notes) {
                printf("\nNotes\n");
                for (size_t i = 0; i < cg->n_notes; i++)
                        printf("  %s\n", cg->notes[i]);
        }
        if (d->n_warnings) {
                printf("\nWarnings\n");
                for (unsigned i = 0; i < d->n_warnings; i++)
                        printf("  %s\n", d->warnings[i]);
        }
        if (cg->n_errors) {
                printf("\nErrors\n");
                for (size_t i = 0; i < cg->n_errors; i++)
                        printf("  %s: %s\n", cg->errors[i].file ? cg->errors[i].file : "?",
                               cg->errors[i].message ? cg->errors[i].message : "?");
        }
}

int cmd_limits(int argc, char **argv) {
        struct cmd_args a;
        struct limits_state s;
        int r = parse_args(argc, argv, &a);
        unsigned n_errors;

        if (r != PARSE_CONTINUE)
                return r;
        r = limits_gather(&a.o, a.n_cmd ? a.cmd[0] : NULL, &s);
        if (r < 0) {
                log_error_errno(r, "Failed to read the limits");
                return GR_EXIT_SYSTEM;
        }
        if (a.json)
                print_limits_json(&s, a.n_cmd ? a.cmd[0] : NULL);
        else
                print_limits_human(&s, &a.o, a.n_cmd ? a.cmd[0] : NULL);
        fflush(stdout);
        n_errors = s.n_errors;
        limits_state_done(&s);
        return n_errors ? GR_EXIT_USAGE : GR_EXIT_OK;
}

/* ---- gorral env ---- */

/* Values are digits only today, but quote as if they were not: the
 * output is meant for eval. */
static void shell_quote(FILE *f, const char *s) {
        fputc('\'', f);
        for (; *s; s++) {
                if (*s == '\'')
                        fputs("'\\''", f);
                else
                        fputc(*s, f);
        }
        fputc('\'', f);
}

static void print_var(enum env_format fmt, bool *first, const char *name, const char *value) {
        switch (fmt) {
        case ENV_FORMAT_SHELL:
                printf("export %s=", name);
                shell_quote(stdout, value);
                putchar('\n');
                break;
        case ENV_FORMAT_DOTENV:
                printf("%s=%s\n", name, value);
                break;
        case ENV_FORMAT_JSON:
                fputs(*first ? "{" : ", ", stdout);
                json_fputs(stdout, name);
                fputs(": ", stdout);
                json_fputs(stdout, value);
                break;
        }
        *first = false;
}

int cmd_env(int argc, char **argv) {
        struct cmd_args a;
        struct limits_state s;
        int r = parse_args(argc, argv, &a);
        bool first = true;
        char v[24];

        if (r != PARSE_CONTINUE)
                return r;
        r = limits_gather(&a.o, a.n_cmd ? a.cmd[0] : NULL, &s);
        if (r < 0) {
                log_error_errno(r, "Failed to read the limits");
                return GR_EXIT_SYSTEM;
        }
        /* stdout carries only the variables; the explanation goes to the
         * log (stderr) as it does for exec. */
        limits_log(&s, NULL);
        if (s.d.set_gomaxprocs) {
                snprintf(v, sizeof v, "%u", s.d.gomaxprocs);
                print_var(a.format, &first, "GOMAXPROCS", v);
        }
        if (s.d.set_gomemlimit) {
                snprintf(v, sizeof v, "%" PRIu64, s.d.gomemlimit);
                print_var(a.format, &first, "GOMEMLIMIT", v);
        }
        if (a.format == ENV_FORMAT_JSON)
                fputs(first ? "{}\n" : "}\n", stdout);
        fflush(stdout);
        limits_state_done(&s);
        return GR_EXIT_OK;
}

/* ---- gorral exec ---- */

int cmd_exec(int argc, char **argv) {
        struct cmd_args a;
        char **env = NULL;
        unsigned n_errors = 0;
        int r = parse_args(argc, argv, &a);

        if (r != PARSE_CONTINUE)
                return r;
        r = limits_prepare_env(&a.o, a.cmd[0], &env, &n_errors);
        if (r < 0) {
                log_error_errno(r, "Failed to prepare the environment");
                return GR_EXIT_SYSTEM;
        }
        if (n_errors > 0) {
                if (a.o.strict) {
                        log_event(LOG_LEVEL_ERROR, "exec-refused", "errors", LF_U64(n_errors), "reason",
                                  "--strict and the limits could not be read cleanly (see errors above)", NULL);
                        free(env);
                        return GR_EXIT_USAGE;
                }
                log_event(LOG_LEVEL_WARN, "exec-degraded", "errors", LF_U64(n_errors), "reason",
                          "the affected variables are left unset; starting anyway (use --strict to refuse)", NULL);
        }
        /* Everything gorral opened is O_CLOEXEC; stdio is flushed so
         * nothing buffered is lost across exec. */
        fflush(NULL);
        {
                /* The same search as the build-info reader and the
                 * supervisor: the file inspected is the file executed. */
                _cleanup_free_ char *exe = NULL;

                r = spawn_resolve(a.cmd[0], env_lookup(env, "PATH", 4), &exe);
                if (r >= 0) {
                        execve(exe, a.cmd, env);
                        r = -errno;
                }
                r = -r;
        }
        free(env);
        fprintf(stderr, "gorral exec: cannot execute '%s': %s%s\n", a.cmd[0], strerror(r),
                r == ENOENT ? " (not found; check the name and $PATH)" : "");
        return r == ENOENT || r == ENOTDIR ? GR_EXIT_NOTFOUND : GR_EXIT_NOEXEC;
}
