/* commands.h: one entry point per subcommand. Each returns the process exit
 * status; only main.c calls exit(). argv[0] is the subcommand name. */
#pragma once

int cmd_limits(int argc, char **argv);
int cmd_env(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
/* cmd-ctl.c: clients of a running gorral's control socket. */
int cmd_status(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_signal(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
/* cmd-dump.c: `gorral dump --file FILE`: a saved goroutine dump grouped by stack. */
int cmd_dump(int argc, char **argv);
