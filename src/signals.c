/* signals.c: the signal tables. See signals.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gorral/signals.h"
#include "gorral/util.h"

bool signals_is_fault(int sig) {
        switch (sig) {
        case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGABRT: case SIGTRAP: case SIGSYS:
                return true;
        default:
                return false;
        }
}

/* The C library's own real-time signals, below SIGRTMIN but above the
 * classic range (glibc reserves 32 and 33, musl 32 to 34): sigaction()
 * and sigaddset() refuse them, and a child's C library relies on them. */
#define LIBC_RESERVED_MAX 34

static bool reserved(int sig) {
        return sig > SIGSYS && sig < SIGRTMIN;
}

/* Why sig cannot be received, hence neither forwarded nor rewritten; NULL
 * when it can. */
static const char *why_not_received(int sig) {
        switch (sig) {
        case SIGKILL: case SIGSTOP:
                return "KILL and STOP cannot be caught";
        case SIGTTIN: case SIGTTOU:
                return "gorral ignores TTIN and TTOU, so it never receives them";
        case SIGCHLD:
                return "CHLD tells gorral to reap and is never forwarded";
        default:
                return NULL;
        }
}

bool signals_forwarded(int sig) {
        return sig > 0 && sig < NSIG && !reserved(sig) && !why_not_received(sig);
}

void signals_handled_set(sigset_t *ret) {
        sigemptyset(ret);
        for (int sig = 1; sig < NSIG; sig++)
                if (signals_forwarded(sig))
                        sigaddset(ret, sig);
        sigaddset(ret, SIGCHLD);
}

bool signals_sent_by_someone(const struct signalfd_siginfo *si) {
        /* si_code <= 0 (SI_USER 0, SI_QUEUE -1, SI_TKILL -6, ...) is what
         * kill(2) and friends produce; the kernel refuses rt_sigqueueinfo()
         * with si_code >= 0 towards another process, so it cannot be
         * forged. The kernel's own SEND_SIG_NOINFO (EPIPE's SIGPIPE,
         * SIGXFSZ, TIOCNOTTY's SIGHUP) is SI_USER too, but from the pid
         * of the process it acts for: ours. Sent from an ancestor PID
         * namespace, ssi_pid is 0, never our pid. */
        return (int32_t)si->ssi_code <= 0 && si->ssi_pid != (uint32_t)getpid();
}

bool signals_to_forward(const struct signalfd_siginfo *si) {
        if (signals_sent_by_someone(si))
                return true;
        if ((int32_t)si->ssi_code <= 0)
                return false; /* on gorral's own behalf */
        /* From the kernel: SIGWINCH, a terminal hangup's SIGHUP, SIGXCPU,
         * SIGIO go on; a fault signal here was not forced (a forced one
         * would have killed gorral), so it is advisory and about gorral,
         * not the child. */
        return !signals_is_fault((int)si->ssi_signo);
}

void signals_config_init(struct signals_config *c) {
        memset(c, 0, sizeof *c);
}

static const char *reserved_reason(const char *which) {
        static char buf[128];

        snprintf(buf, sizeof buf, "%s is one of the C library's reserved real-time signals (%d-%d)", which,
                 SIGSYS + 1, SIGRTMIN - 1);
        return buf;
}

const char *signals_rewrite_refusal(int from, int to) {
        if (from <= 0 || from >= NSIG)
                return "FROM is not a signal name or number";
        if (reserved(from))
                return reserved_reason("FROM");
        if (why_not_received(from))
                return why_not_received(from);
        if (to < 0 || to >= NSIG)
                return "TO is not a signal name or number (or 0 to drop FROM)";
        if (reserved(to))
                return reserved_reason("TO");
        return NULL;
}

int signals_parse_rewrite(struct signals_config *c, const char *spec, const char **reterr_reason) {
        const char *colon = strchr(spec, ':'), *why;
        char from_s[32];
        int from, to;
        size_t n;

        if (!colon || colon == spec || !colon[1]) {
                *reterr_reason = "expected FROM:TO (signal names or numbers; TO 0 drops FROM)";
                return -EINVAL;
        }
        n = (size_t)(colon - spec);
        if (n < sizeof from_s) {
                memcpy(from_s, spec, n);
                from_s[n] = '\0';
        }
        if (n >= sizeof from_s || parse_signal(from_s, &from) < 0)
                from = 0;
        if (strcmp(colon + 1, "0") == 0)
                to = 0;
        else if (parse_signal(colon + 1, &to) < 0)
                to = -1;
        why = signals_rewrite_refusal(from, to);
        if (why) {
                *reterr_reason = why;
                return -EINVAL;
        }
        c->rewrite[from] = to ? to : -1;
        return 0;
}

int signals_rewrite(const struct signals_config *c, int sig) {
        if (sig <= 0 || sig >= NSIG)
                return 0;
        if (c->rewrite[sig] < 0)
                return 0;
        return c->rewrite[sig] ? c->rewrite[sig] : sig;
}

bool signals_is_shutdown(int sig) {
        return sig == SIGTERM || sig == SIGINT;
}

/* The only dispositions gorral sets in itself (signals_ignore_in_gorral).
 * gorral is exec'd, so it starts with every signal at SIG_DFL or SIG_IGN;
 * it blocks the rest and reads them from a signalfd, and an exec keeps an
 * ignored disposition and resets a caught one. So these three are all a
 * child needs undone: querying and resetting all 64 cost 62 system calls
 * in gorral and 62 more in each child between vfork and exec. */
static const int changed_in_gorral[] = { SIGTTIN, SIGTTOU, SIGCHLD };

void signals_ignored_at_start(sigset_t *ret) {
        sigemptyset(ret);
        for (size_t i = 0; i < ELEMENTSOF(changed_in_gorral); i++) {
                struct sigaction sa;

                if (sigaction(changed_in_gorral[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
                        sigaddset(ret, changed_in_gorral[i]);
        }
}

int signals_ignore_in_gorral(void) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, dfl = { .sa_handler = SIG_DFL };

        sigemptyset(&ign.sa_mask);
        sigemptyset(&dfl.sa_mask);
        /* SIGCHLD left ignored by gorral's parent (a Python or shell
         * parent may) would make the kernel reap every child at once:
         * gorral would never learn an exit status, and wait forever. */
        if (sigaction(SIGTTIN, &ign, NULL) < 0 || sigaction(SIGTTOU, &ign, NULL) < 0 ||
            sigaction(SIGCHLD, &dfl, NULL) < 0)
                return negative_errno();
        return 0;
}

/* The C library refuses sigaction() on the real-time signals it reserves
 * for itself, yet a parent may have left them ignored and an ignored
 * disposition survives exec. Reset them with the raw system call; the
 * kernel's struct has an 8-byte mask. */
static void reset_reserved(int sig) {
        struct {
                void (*handler)(int);
                unsigned long flags;
                void (*restorer)(void);
                uint64_t mask;
        } ksa = { .handler = SIG_DFL };

        (void)syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof ksa.mask);
}

void signals_restore_in_child(const sigset_t *keep_ignored) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, dfl = { .sa_handler = SIG_DFL };

        for (size_t i = 0; i < ELEMENTSOF(changed_in_gorral); i++) {
                int sig = changed_in_gorral[i];

                (void)sigaction(sig, keep_ignored && sigismember(keep_ignored, sig) == 1 ? &ign : &dfl, NULL);
        }
        /* 32-34: reserved by glibc (32, 33) or musl (32-34). Both builds
         * reset all three, whatever their own C library reserves, so they
         * agree on what a child inherits. */
        for (int sig = SIGSYS + 1; sig <= LIBC_RESERVED_MAX; sig++)
                reset_reserved(sig);
}
