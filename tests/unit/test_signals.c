/* Unit tests for src/signals.c: the handled set, who sent a signal (read
 * for real from a signalfd: kill(2) from another process, sigqueue(3),
 * the kernel's SIGPIPE for our own write, a kill(2) of our own), what is
 * forwarded, the --rewrite rules and their reasons, and the dispositions
 * found at start. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gorral/signals.h"

Test(signals, handled_set_has_faults_and_pipe_not_the_uncatchable) {
        static const int in[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS, SIGPIPE,
                                  SIGHUP,  SIGTERM, SIGCHLD, SIGWINCH };
        static const int out[] = { SIGKILL, SIGSTOP, SIGTTIN, SIGTTOU };
        sigset_t set;

        signals_handled_set(&set);
        for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
                cr_assert_eq(sigismember(&set, in[i]), 1, "%d handled", in[i]);
        for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
                cr_assert_eq(sigismember(&set, out[i]), 0, "%d not handled", out[i]);
        for (int sig = SIGSYS + 1; sig < SIGRTMIN; sig++)
                cr_assert(!signals_forwarded(sig), "reserved %d", sig);
        cr_assert(signals_forwarded(SIGRTMIN) && signals_forwarded(SIGRTMAX));
        cr_assert(!signals_forwarded(SIGCHLD));
}

static struct signalfd_siginfo si_of(int sig, int32_t code, uint32_t pid) {
        struct signalfd_siginfo si;

        memset(&si, 0, sizeof si);
        si.ssi_signo = (uint32_t)sig;
        si.ssi_code = code;
        si.ssi_pid = pid;
        return si;
}

Test(signals, who_sent_it_table) {
        uint32_t self = (uint32_t)getpid(), other = self + 1;
        struct {
                int sig;
                int32_t code;
                uint32_t pid;
                bool someone, forward;
        } t[] = {
                { SIGSEGV, SI_USER, other, true, true },   /* kill -SEGV */
                { SIGSEGV, SI_USER, 0, true, true },       /* from an ancestor PID namespace */
                { SIGABRT, SI_QUEUE, other, true, true },  /* sigqueue */
                { SIGBUS, SI_TKILL, other, true, true },   /* tgkill */
                { SIGBUS, 5 /* BUS_MCEERR_AO */, 0, false, false },
                { SIGSEGV, SEGV_MAPERR, 0, false, false },
                { SIGPIPE, SI_USER, self, false, false },  /* our own write to a closed pipe */
                { SIGPIPE, SI_USER, other, true, true },   /* kill -PIPE */
                { SIGHUP, SI_USER, self, false, false },   /* TIOCNOTTY */
                { SIGCONT, SI_USER, self, false, false },  /* TIOCNOTTY */
                { SIGHUP, SI_KERNEL, 0, false, true },     /* terminal hangup */
                { SIGWINCH, SI_KERNEL, 0, false, true },   /* terminal resize */
                { SIGTERM, SI_USER, other, true, true },
        };

        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                struct signalfd_siginfo si = si_of(t[i].sig, t[i].code, t[i].pid);

                cr_assert_eq(signals_sent_by_someone(&si), t[i].someone, "row %zu", i);
                cr_assert_eq(signals_to_forward(&si), t[i].forward, "row %zu", i);
        }
}

/* Block sig, let make() produce it, read it from a signalfd. */
static struct signalfd_siginfo read_one(int sig, void (*make)(int sig)) {
        struct signalfd_siginfo si;
        sigset_t set;
        int fd;

        sigemptyset(&set);
        sigaddset(&set, sig);
        cr_assert_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
        fd = signalfd(-1, &set, SFD_CLOEXEC);
        cr_assert_geq(fd, 0);
        make(sig);
        cr_assert_eq(read(fd, &si, sizeof si), (ssize_t)sizeof si);
        close(fd);
        return si;
}

static void from_child(int sig) {
        pid_t parent = getpid(), pid = fork();

        if (pid == 0)
                _exit(kill(parent, sig) == 0 ? 0 : 1);
        cr_assert_eq(waitpid(pid, NULL, 0), pid);
}

static void queued_from_child(int sig) {
        pid_t parent = getpid(), pid = fork();

        if (pid == 0)
                _exit(sigqueue(parent, sig, (union sigval){ .sival_int = 1 }) == 0 ? 0 : 1);
        cr_assert_eq(waitpid(pid, NULL, 0), pid);
}

static void from_self(int sig) {
        kill(getpid(), sig);
}

static void own_epipe(int sig) {
        int p[2];

        (void)sig;
        cr_assert_eq(pipe(p), 0);
        close(p[0]);
        cr_assert_eq(write(p[1], "x", 1), -1);
        cr_assert_eq(errno, EPIPE, "the write fails, the signal is only pending");
        close(p[1]);
}

Test(signals, real_senders_through_a_signalfd) {
        struct signalfd_siginfo si;

        si = read_one(SIGSEGV, from_child);
        cr_assert(signals_sent_by_someone(&si) && signals_to_forward(&si), "kill -SEGV from another process");
        si = read_one(SIGABRT, queued_from_child);
        cr_assert_eq(si.ssi_code, SI_QUEUE);
        cr_assert(signals_to_forward(&si), "sigqueue SIGABRT");
        si = read_one(SIGPIPE, own_epipe);
        cr_assert_eq(si.ssi_code, SI_USER);
        cr_assert_eq(si.ssi_pid, (uint32_t)getpid(), "the kernel's SIGPIPE names us as sender");
        cr_assert(!signals_to_forward(&si), "our own EPIPE's SIGPIPE is dropped");
        si = read_one(SIGUSR1, from_self);
        cr_assert(!signals_sent_by_someone(&si));
}

Test(signals, rewrite_rules_and_reasons) {
        struct signals_config c;
        const char *why = NULL;
        char spec[32];

        signals_config_init(&c);
        cr_assert_eq(signals_parse_rewrite(&c, "TSTP:STOP", &why), 0);
        cr_assert_eq(signals_rewrite(&c, SIGTSTP), SIGSTOP);
        cr_assert_eq(signals_parse_rewrite(&c, "SEGV:TERM", &why), 0, "a sent SEGV can be rewritten");
        cr_assert_eq(signals_parse_rewrite(&c, "USR1:0", &why), 0);
        cr_assert_eq(signals_rewrite(&c, SIGUSR1), 0);
        cr_assert_eq(signals_rewrite(&c, SIGHUP), SIGHUP);

        cr_assert_eq(signals_parse_rewrite(&c, "TERM", &why), -EINVAL);
        cr_assert(strstr(why, "FROM:TO"), "%s", why);
        cr_assert_eq(signals_parse_rewrite(&c, "NOPE:TERM", &why), -EINVAL);
        cr_assert(strstr(why, "FROM is not"), "%s", why);
        cr_assert_eq(signals_parse_rewrite(&c, "TERM:NOPE", &why), -EINVAL);
        cr_assert(strstr(why, "TO is not"), "%s", why);
        cr_assert_eq(signals_parse_rewrite(&c, "KILL:TERM", &why), -EINVAL);
        cr_assert(strstr(why, "cannot be caught"), "%s", why);
        cr_assert_eq(signals_parse_rewrite(&c, "TTOU:TERM", &why), -EINVAL);
        cr_assert(strstr(why, "ignores"), "%s", why);
        /* One rule for both sides: the C library's reserved signals. */
        for (int sig = SIGSYS + 1; sig < SIGRTMIN; sig++) {
                snprintf(spec, sizeof spec, "%d:TERM", sig);
                cr_assert_eq(signals_parse_rewrite(&c, spec, &why), -EINVAL, "%s", spec);
                cr_assert(strstr(why, "FROM is one of the C library's reserved"), "%s", why);
                snprintf(spec, sizeof spec, "TERM:%d", sig);
                cr_assert_eq(signals_parse_rewrite(&c, spec, &why), -EINVAL, "%s", spec);
                cr_assert(strstr(why, "TO is one of the C library's reserved"), "%s", why);
        }
        snprintf(spec, sizeof spec, "TERM:%d", SIGRTMIN);
        cr_assert_eq(signals_parse_rewrite(&c, spec, &why), 0);
        cr_assert_eq(signals_rewrite(&c, SIGTERM), SIGRTMIN);
}

Test(signals, ignored_at_start) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, dfl = { .sa_handler = SIG_DFL }, now;
        sigset_t set;

        /* Only the dispositions gorral changes are asked for: every other
         * one reaches the child through exec as it is (SIGHUP here). */
        cr_assert_eq(sigaction(SIGHUP, &ign, NULL), 0);
        cr_assert_eq(sigaction(SIGCHLD, &ign, NULL), 0);
        cr_assert_eq(sigaction(SIGTTIN, &ign, NULL), 0);
        cr_assert_eq(sigaction(SIGTTOU, &dfl, NULL), 0);
        signals_ignored_at_start(&set);
        cr_assert_eq(sigismember(&set, SIGHUP), 0);
        cr_assert_eq(sigismember(&set, SIGCHLD), 1);
        cr_assert_eq(sigismember(&set, SIGTTIN), 1);
        cr_assert_eq(sigismember(&set, SIGTTOU), 0);
        /* What gorral sets itself is not what the parent left: TTIN and
         * TTOU ignored, CHLD back to default (ignored, the kernel would
         * reap gorral's children unseen). */
        cr_assert_eq(signals_ignore_in_gorral(), 0);
        sigaction(SIGTTOU, NULL, &now);
        cr_assert(now.sa_handler == SIG_IGN);
        sigaction(SIGCHLD, NULL, &now);
        cr_assert(now.sa_handler == SIG_DFL);
        cr_assert_eq(sigismember(&set, SIGTTOU), 0, "computed before");

        /* And the child's undo: what the parent left, back. */
        signals_restore_in_child(&set);
        sigaction(SIGCHLD, NULL, &now);
        cr_assert(now.sa_handler == SIG_IGN);
        sigaction(SIGTTIN, NULL, &now);
        cr_assert(now.sa_handler == SIG_IGN);
        sigaction(SIGTTOU, NULL, &now);
        cr_assert(now.sa_handler == SIG_DFL);
        signals_restore_in_child(NULL);
        sigaction(SIGCHLD, NULL, &now);
        cr_assert(now.sa_handler == SIG_DFL);
        sigaction(SIGHUP, &dfl, NULL);
}
