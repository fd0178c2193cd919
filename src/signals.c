/* signals.c: the signal tables. See signals.h. */
#include <errno.h>
#include <string.h>

#include "gorral/signals.h"
#include "gorral/util.h"

/* Synchronous faults and what gorral must never catch or forward. */
static bool never_handled(int sig) {
        switch (sig) {
        case SIGKILL: case SIGSTOP:
        case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGABRT: case SIGTRAP: case SIGSYS:
        case SIGPIPE: case SIGTTIN: case SIGTTOU:
                return true;
        default:
                return false;
        }
}

bool signals_forwarded(int sig) {
        if (sig <= 0 || sig >= NSIG || sig == SIGCHLD || never_handled(sig))
                return false;
        /* Below SIGRTMIN but above the classic range: the C library's own
         * reserved real-time signals (glibc uses 32 and 33). */
        if (sig > SIGSYS && sig < SIGRTMIN)
                return false;
        return true;
}

void signals_handled_set(sigset_t *ret) {
        sigemptyset(ret);
        for (int sig = 1; sig < NSIG; sig++)
                if (signals_forwarded(sig))
                        sigaddset(ret, sig);
        sigaddset(ret, SIGCHLD);
}

void signals_config_init(struct signals_config *c) {
        memset(c, 0, sizeof *c);
}

int signals_parse_rewrite(struct signals_config *c, const char *spec) {
        const char *colon = strchr(spec, ':');
        char from_s[32];
        int from, to;
        size_t n;

        if (!colon)
                return -EINVAL;
        n = (size_t)(colon - spec);
        if (n == 0 || n >= sizeof from_s)
                return -EINVAL;
        memcpy(from_s, spec, n);
        from_s[n] = '\0';
        if (parse_signal(from_s, &from) < 0 || !signals_forwarded(from))
                return -EINVAL;
        if (strcmp(colon + 1, "0") == 0)
                to = -1;
        else if (parse_signal(colon + 1, &to) < 0)
                return -EINVAL;
        c->rewrite[from] = to;
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

int signals_ignore_in_gorral(void) {
        struct sigaction sa = { .sa_handler = SIG_IGN };

        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGPIPE, &sa, NULL) < 0 || sigaction(SIGTTIN, &sa, NULL) < 0 ||
            sigaction(SIGTTOU, &sa, NULL) < 0)
                return negative_errno();
        return 0;
}
