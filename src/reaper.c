/* reaper.c: the one reaper. See reaper.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "gorral/log.h"
#include "gorral/reaper.h"

/* One watch per live supervised main process; the bound only guards
 * against a runaway caller. */
#define REAPER_MAX_WATCHES 65536

void reaper_init(struct reaper *r) {
        *r = (struct reaper){ 0 };
}

void reaper_done(struct reaper *r) {
        free(r->watches);
        r->watches = NULL;
        r->n_watches = r->cap_watches = 0;
}

static struct reaper_watch *find(struct reaper *r, pid_t pid) {
        for (size_t i = 0; i < r->n_watches; i++)
                if (r->watches[i].pid == pid)
                        return &r->watches[i];
        return NULL;
}

int reaper_watch(struct reaper *r, pid_t pid, reaper_cb cb, void *userdata) {
        int k;

        if (pid <= 0 || !cb)
                return -EINVAL;
        if (find(r, pid))
                return -EEXIST;
        k = GROW_ARRAY(r->watches, r->cap_watches, r->n_watches + 1, REAPER_MAX_WATCHES);
        if (k < 0)
                return k;
        r->watches[r->n_watches++] = (struct reaper_watch){ .pid = pid, .cb = cb, .userdata = userdata };
        r->no_children = false;
        return 0;
}

void reaper_unwatch(struct reaper *r, pid_t pid) {
        struct reaper_watch *w = find(r, pid);

        if (w)
                *w = r->watches[--r->n_watches];
}

int reaper_reap(struct reaper *r) {
        int n = 0, orphans = 0;
        int err = 0;

        for (;;) {
                struct reaper_watch *w;
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG);

                if (pid == 0)
                        break;
                if (pid < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ECHILD)
                                r->no_children = true;
                        else
                                err = -errno;
                        break;
                }
                n++;
                w = find(r, pid);
                if (w) {
                        struct reaper_watch copy = *w;

                        /* Drop the watch before the callback: it may start a
                         * new process and add a watch. */
                        *w = r->watches[--r->n_watches];
                        copy.cb(pid, status, copy.userdata);
                } else {
                        orphans++;
                        r->orphans_reaped++;
                }
        }
        if (orphans > 0)
                log_event(LOG_LEVEL_DEBUG, "orphans", "reaped", LF_INT(orphans),
                          "total", LF_U64(r->orphans_reaped), NULL);
        return n == 0 && err < 0 ? err : n;
}

bool reaper_has_children(void) {
        siginfo_t si;

        memset(&si, 0, sizeof si);
        /* WNOWAIT|WNOHANG on any state: -1/ECHILD means none at all; a live
         * child that has not changed state still returns 0 (not ECHILD). */
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return errno != ECHILD;
        return true;
}
