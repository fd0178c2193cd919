/* exitcodes.h: the one exit-code table (README "Exit codes").
 * A supervised child's status passes through unchanged (0-255); death by
 * signal N is 128+N. gorral's own codes sit where a shell puts its own. */
#pragma once

#define GR_EXIT_OK 0
#define GR_EXIT_USAGE 2       /* usage or configuration error; `limits` found an error */
#define GR_EXIT_UNAVAILABLE 69 /* control commands: no gorral answers on the socket (EX_UNAVAILABLE) */
#define GR_EXIT_SOFTWARE 70   /* internal bug (EX_SOFTWARE) */
#define GR_EXIT_SYSTEM 71     /* gorral itself failed: fork, epoll, signalfd (EX_OSERR) */
#define GR_EXIT_NOEXEC 126    /* the command exists but cannot be executed */
#define GR_EXIT_NOTFOUND 127  /* the command was not found */
#define GR_EXIT_SIGNAL_BASE 128
