/* signals.h: which signals gorral handles and how (L2, pure but for the
 * disposition queries).
 *
 * Blocked and read from the signalfd: every signal but KILL, STOP, TTIN
 * and TTOU, the C library's reserved real-time signals, and nothing else.
 * That includes the fault signals (SEGV BUS ILL FPE ABRT TRAP SYS) and
 * PIPE: a supervisor must not die of a signal someone sent it. Blocking
 * them costs nothing when gorral itself faults: the kernel delivers a
 * synchronous fault with force_sig_fault(), which unblocks the signal and
 * resets it to SIG_DFL first (so gorral still dies and dumps core), and
 * abort() unblocks SIGABRT itself (glibc and musl). A fault signal read
 * from the signalfd is therefore one that was sent (si_code <= 0), or an
 * advisory one from the kernel (SIGBUS BUS_MCEERR_AO): the first kind is
 * forwarded, the second dropped. A signal the kernel raises on gorral's
 * own behalf arrives as SI_USER from gorral's own pid: the SIGPIPE of a
 * write to a closed pipe (that write returns EPIPE, handled where it
 * happens), SIGXFSZ, and the SIGHUP and SIGCONT of giving up the terminal
 * (TIOCNOTTY): those are dropped.
 * Ignored in gorral (restored to default in the child unless they were
 * ignored when gorral started): SIGTTIN and SIGTTOU, so writing logs or
 * touching the terminal from the background never stops gorral (tini does
 * the same).
 * Forwarded to the child (or its group with --group), after --rewrite:
 * HUP INT QUIT USR1 USR2 ALRM TERM CONT WINCH PWR TSTP URG IO XCPU XFSZ
 * VTALRM PROF STKFLT PIPE, the fault signals when sent, and the real-time
 * signals. TERM and INT also mean "shut down": no restart after the child
 * exits, SIGKILL to the group after the stop timeout. A received TERM
 * waits --drain-delay, then sends the service's --stop-signal (default
 * TERM) to its whole process group, unless --rewrite TERM:X says otherwise
 * (X to the child, or to the group with --group). */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct signalfd_siginfo;

struct signals_config {
        /* rewrite[FROM] = TO; 0: unchanged, -1: dropped (--rewrite X:0). */
        int rewrite[NSIG];
        bool group;                  /* forward to the process group */
        uint64_t drain_delay_usec;   /* before forwarding SIGTERM */
};

void signals_config_init(struct signals_config *c);
/* Parse "FROM:TO" (names or numbers; TO 0 drops FROM). FROM must be a
 * signal gorral receives (signals_forwarded()); neither may be one of the
 * C library's reserved real-time signals (32-33 with glibc, 32-34 with
 * musl). 0, or -EINVAL with *reterr_reason set to a sentence for the
 * usage error (static storage, valid until the next call). */
int signals_parse_rewrite(struct signals_config *c, const char *spec, const char **reterr_reason);

/* The one rule for a rewrite FROM:TO (the command line's and the
 * configuration file's): NULL when allowed, else why not (a sentence,
 * static storage). to 0 means "drop FROM"; out-of-range values say which
 * side is not a signal. */
const char *signals_rewrite_refusal(int from, int to);

/* The set to block and read from the signalfd. */
void signals_handled_set(sigset_t *ret);
/* Is sig one gorral forwards (when it comes from outside)? */
bool signals_forwarded(int sig);
/* Is sig a synchronous fault signal (SEGV BUS ILL FPE ABRT TRAP SYS)? */
bool signals_is_fault(int sig);
/* Was si sent by another process (kill(2), sigqueue(3), tgkill(2), ...:
 * si_code <= 0), rather than raised by the kernel (si_code > 0) or on
 * gorral's own behalf (SI_USER from gorral's own pid)? */
bool signals_sent_by_someone(const struct signalfd_siginfo *si);
/* Should a signal read from the signalfd go on to the child (before
 * --rewrite)? false for what the kernel raised on gorral's own behalf and
 * for a fault signal nobody sent; true for everything else (including
 * the kernel's SIGWINCH and terminal-hangup SIGHUP). */
bool signals_to_forward(const struct signalfd_siginfo *si);
/* The signal to send for a received one: after the rewrite table;
 * 0 means drop it. */
int signals_rewrite(const struct signals_config *c, int sig);
/* Does receiving sig start a shutdown? (TERM, INT) */
bool signals_is_shutdown(int sig);
/* Of the signals gorral sets a disposition for (TTIN, TTOU, CHLD), those
 * at SIG_IGN now: call it before signals_ignore_in_gorral(), and the
 * result is what gorral's parent left ignored there, which the child
 * keeps (as across exec). Every other signal keeps gorral's parent's
 * disposition by itself, through exec. */
void signals_ignored_at_start(sigset_t *ret);
/* In gorral: ignore SIGTTIN and SIGTTOU, and SIGCHLD back to SIG_DFL (an
 * ignored SIGCHLD makes the kernel reap children unseen). 0 or -errno. */
int signals_ignore_in_gorral(void);
/* In a child before exec (async-signal-safe: sigaction and the raw
 * rt_sigaction only): undo signals_ignore_in_gorral(), keeping SIG_IGN for
 * what is in keep_ignored (may be NULL), and reset signals 32-34 (glibc
 * and musl reserve them; a sigset_t cannot hold them) in both builds. */
void signals_restore_in_child(const sigset_t *keep_ignored);
