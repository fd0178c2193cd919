/* reaper.h: the one reaper (L2): the only caller of wait*().
 *
 * On every SIGCHLD the supervisor calls reaper_reap(), which drains
 * waitpid(-1, WNOHANG) until 0 or ECHILD. A pid someone watches goes to its
 * callback (once, then the watch is dropped); any other pid is an orphan
 * (a re-parented descendant: gorral is PID 1 or a child subreaper),
 * counted and logged at debug. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* status is the raw wait status (WIFEXITED()...). */
typedef void (*reaper_cb)(pid_t pid, int status, void *userdata);

struct reaper_watch {
        pid_t pid;
        reaper_cb cb;
        void *userdata;
};

struct reaper {
        struct reaper_watch *watches;
        size_t n_watches, cap_watches;
        uint64_t orphans_reaped;   /* total since start */
        bool no_children;          /* the last drain ended in ECHILD */
};

void reaper_init(struct reaper *r);
void reaper_done(struct reaper *r);

/* Route pid's exit to cb. 0 or -errno (-ENOMEM, -EEXIST). */
int reaper_watch(struct reaper *r, pid_t pid, reaper_cb cb, void *userdata);
void reaper_unwatch(struct reaper *r, pid_t pid);

/* Drain every exited child. Returns the number reaped (>= 0); sets
 * r->no_children when the kernel says we have none left. Never fails:
 * waitpid errors other than ECHILD/EINTR end the drain (-errno returned
 * only when nothing was reaped). */
int reaper_reap(struct reaper *r);

/* Do we have any child at all (live or zombie)? Uses waitid(WNOWAIT) so
 * nothing is consumed. */
bool reaper_has_children(void);
