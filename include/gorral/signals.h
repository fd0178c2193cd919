/* signals.h: which signals gorral handles and how (L2, pure).
 *
 * Blocked and read from the signalfd: every catchable signal below, plus
 * SIGCHLD. Left alone (so a fault in gorral still kills it and dumps
 * core): SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS.
 * Ignored in gorral (restored to default in the child): SIGPIPE, and
 * SIGTTIN/SIGTTOU so writing logs or touching the terminal from the
 * background never stops gorral (tini does the same).
 * Forwarded to the child (or its group with --group), after --rewrite:
 * HUP INT QUIT USR1 USR2 ALRM TERM CONT WINCH PWR TSTP URG IO XCPU XFSZ
 * VTALRM PROF STKFLT and the real-time signals. TERM and INT also mean
 * "shut down": no restart after the child exits, SIGKILL to the group
 * after the stop timeout. A received TERM waits --drain-delay, then sends
 * the service's --stop-signal (default TERM) to its whole process group,
 * unless --rewrite TERM:X says otherwise (X to the child, or to the group
 * with --group). */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define SIGNALS_MAX_REWRITES 64

struct signals_config {
        /* rewrite[FROM] = TO; 0: unchanged, -1: dropped (--rewrite X:0). */
        int rewrite[NSIG];
        bool group;                  /* forward to the process group */
        uint64_t drain_delay_usec;   /* before forwarding SIGTERM */
};

void signals_config_init(struct signals_config *c);
/* Parse "FROM:TO" (names or numbers; TO 0 drops FROM). 0 or -EINVAL. */
int signals_parse_rewrite(struct signals_config *c, const char *spec);

/* The set to block and read from the signalfd. */
void signals_handled_set(sigset_t *ret);
/* Is sig one gorral forwards? */
bool signals_forwarded(int sig);
/* The signal to send for a received one: after the rewrite table;
 * 0 means drop it. */
int signals_rewrite(const struct signals_config *c, int sig);
/* Does receiving sig start a shutdown? (TERM, INT) */
bool signals_is_shutdown(int sig);
/* Ignore SIGPIPE, SIGTTIN, SIGTTOU in gorral. 0 or -errno. */
int signals_ignore_in_gorral(void);
