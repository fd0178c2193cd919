/* loop.h: the one event loop (L1). One thread, one epoll instance, one
 * signalfd, one timerfd on CLOCK_MONOTONIC. The only caller of epoll_*.
 *
 * The loop sleeps in epoll_wait() with no timeout: the timerfd is armed
 * (absolute, monotonic) for the earliest pending timer, so an idle loop
 * makes no wakeups at all. Timers are caller-owned structs kept in a
 * binary min-heap (O(log n) arm/disarm, O(1) earliest). */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct signalfd_siginfo;

typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *userdata);
typedef void (*loop_timer_cb)(struct loop *l, void *userdata);
/* Called once per signal read from the signalfd. */
typedef void (*loop_signal_cb)(struct loop *l, const struct signalfd_siginfo *si, void *userdata);

/* A timer, embedded in its owner. Zero-initialise, then loop_timer_init(). */
struct loop_timer {
        uint64_t deadline_usec;  /* CLOCK_MONOTONIC */
        loop_timer_cb cb;
        void *userdata;
        size_t heap_index;       /* LOOP_TIMER_IDLE when not armed */
};
#define LOOP_TIMER_IDLE ((size_t)-1)

/* Returns 0 or -errno. */
int loop_new(struct loop **ret);
/* NULL-safe; disarms nothing in the owners (they must not outlive it). */
struct loop *loop_free(struct loop *l);

/* Watch fd for events (EPOLLIN...). One watch per fd; dispatch is O(1)
 * (the epoll data points at the watch) and the number of watches is
 * bounded only by the fd limit. 0 or -errno (-EEXIST already watched). */
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *userdata);
/* Change the events of a watch (EPOLLOUT while a socket has output
 * queued). 0, -ENOENT when fd is not watched, or -errno. */
int loop_mod_fd(struct loop *l, int fd, uint32_t events);
/* Stop watching fd; safe from any callback, its own included: no callback
 * of a deleted watch runs afterwards, even for events already read. 0, or
 * -ENOENT when fd is not watched. Call it before close(fd). */
int loop_del_fd(struct loop *l, int fd);
/* The number of fd watches (not counting the signalfd and timerfd). */
size_t loop_n_watches(const struct loop *l);

/* Block the signals in mask (the old mask goes to *ret_oldmask when not
 * NULL) and deliver them through a signalfd. Call once. 0 or -errno. */
int loop_set_signals(struct loop *l, const sigset_t *mask, loop_signal_cb cb, void *userdata,
                     sigset_t *ret_oldmask);

void loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *userdata);
/* Arm (or re-arm) t for an absolute CLOCK_MONOTONIC deadline. 0 or -errno
 * (-ENOMEM when the heap cannot grow). */
int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t deadline_usec);
/* Arm relative to now. */
int loop_timer_arm_in(struct loop *l, struct loop_timer *t, uint64_t delay_usec);
/* Disarm; a no-op when not armed. */
void loop_timer_disarm(struct loop *l, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t) { return t->heap_index != LOOP_TIMER_IDLE; }
/* Earliest armed deadline, or UINT64_MAX. */
uint64_t loop_next_deadline(const struct loop *l);

/* Run until loop_quit(). Returns the code given to loop_quit(), or -errno
 * when epoll itself fails (nothing else makes it return). */
int loop_run(struct loop *l);
/* Run one iteration, waiting at most timeout_ms (-1: until an event).
 * Returns the number of events handled, or -errno. For tests. */
int loop_run_once(struct loop *l, int timeout_ms);
void loop_quit(struct loop *l, int code);
bool loop_quitting(const struct loop *l);
