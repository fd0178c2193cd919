/* commands.h: one entry point per subcommand. Each returns the process exit
 * status; only main.c calls exit(). argv[0] is the subcommand name. */
#pragma once

#include <stdint.h>

/* version.c: what --version prints, for every command: gorral's version and
 * whether this build has D-Bus ("D-Bus: yes (libsystemd, loaded at run
 * time)" or "D-Bus: no (static build)"). */
void print_version(void);

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
/* For other clients (gorral dump NAME): the status object of one service
 * from the control socket (control_path NULL: the default; timeout 0:
 * 10 s). 0 with *ret_doc (json_doc_free) and *ret_service in it, or an
 * exit status after printing why (cmd names the command in messages). */
struct json_doc;
struct json_value;
int ctl_status_of(const char *cmd, const char *control_path, const char *name, uint64_t timeout_usec,
                  struct json_doc **ret_doc, const struct json_value **ret_service);
/* cmd-dump.c: `gorral dump --file FILE`: a saved goroutine dump grouped by stack. */
int cmd_dump(int argc, char **argv);
/* cmd-detect.c: `gorral detect --replay FILE`: a detector over a recorded series. */
int cmd_detect(int argc, char **argv);
