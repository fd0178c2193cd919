/* main.c: the command line. The only file that calls exit(). */
#include <stdio.h>
#include <string.h>

#include "gorral/commands.h"
#include "gorral/exitcodes.h"
#include "gorral/log.h"

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
        const char *summary;
} commands[] = {
        { "limits", cmd_limits, "show the cgroup limits found and the GOMAXPROCS/GOMEMLIMIT gorral would set" },
        { "env", cmd_env, "print GOMAXPROCS/GOMEMLIMIT for eval or an init container" },
        { "exec", cmd_exec, "set GOMAXPROCS/GOMEMLIMIT and exec a command (no gorral process remains)" },
        { "inspect", cmd_inspect, "show a Go binary's version, module and build settings" },
        { "run", cmd_run, "supervise a command, or the services of a file (-c): PID 1, signals, restart" },
        { "check-config", cmd_check_config, "validate a configuration file (every error as FILE:LINE:COLUMN)" },
        { "status", cmd_status, "show the services of a running gorral (--json)" },
        { "start", cmd_start, "start a service of a running gorral" },
        { "stop", cmd_stop, "stop a service of a running gorral" },
        { "restart", cmd_restart, "restart a service of a running gorral" },
        { "reload", cmd_reload, "make a running gorral read its configuration again" },
        { "signal", cmd_signal, "send a signal to a service of a running gorral" },
        { "detect", cmd_detect, "run a detector over a recorded series (--replay FILE), in simulated time" },
        { "dump", cmd_dump, "group a saved goroutine dump (--file: debug=2/1, SIGQUIT, panic) by stack" },
};

static void usage(FILE *f) {
        fprintf(f, "Usage: gorral COMMAND [OPTIONS] [-- CMD ARGS...]\n\n"
                   "A container-aware process supervisor for Go services.\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
        fprintf(f, "\n`gorral COMMAND --help` shows each command's options; -V or --version, alone or\n"
                   "after any command, prints gorral's version.\n"
                   "Environment: GORRAL_LOG_LEVEL (debug|info|warn|error), GORRAL_LOG_FORMAT (logfmt|json),\n"
                   "             GORRAL_SYSROOT (read /proc and /sys under this directory),\n"
                   "             GORRAL_SOCKET (the control socket of status, start, stop...).\n");
}

int main(int argc, char **argv) {
        const char *e;

        if ((e = getenv("GORRAL_LOG_LEVEL")) && log_level_from_string(e) >= 0)
                log_set_level((enum log_level)log_level_from_string(e));
        if ((e = getenv("GORRAL_LOG_FORMAT")) && log_format_from_string(e) >= 0)
                log_set_format((enum log_format)log_format_from_string(e));

        if (argc < 2) {
                usage(stderr);
                exit(GR_EXIT_USAGE);
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
                usage(stdout);
                exit(GR_EXIT_OK);
        }
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "version") == 0) {
                print_version();
                exit(GR_EXIT_OK);
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(argv[1], commands[i].name) == 0)
                        exit(commands[i].fn(argc - 1, argv + 1));
        fprintf(stderr, "gorral: unknown command '%s'\n", argv[1]);
        usage(stderr);
        exit(GR_EXIT_USAGE);
}
