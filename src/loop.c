/* loop.c: epoll + signalfd + one timerfd. See loop.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "gorral/loop.h"
#include "gorral/util.h"

/* Bounds: timers are a few per service; fds are indexed by number, so
 * the fd table grows to the highest watched fd (RLIMIT_NOFILE bounds it). */
#define LOOP_MAX_TIMERS 65536
#define LOOP_EVENTS 16

/* One watched fd. The epoll data points here, so dispatch is O(1). A
 * watch deleted while events for it may still sit in the current batch is
 * marked dead and freed after the batch, never while a pointer to it can
 * be read. */
struct watch {
        int fd;
        uint32_t events;
        loop_fd_cb cb;
        void *userdata;
        bool dead;
        struct watch *next_dead;
};

struct loop {
        int epoll_fd, signal_fd, timer_fd;
        loop_signal_cb signal_cb;
        void *signal_userdata;
        /* Sentinels the epoll data of the signalfd and timerfd point to. */
        struct watch signal_watch, timer_watch;

        struct watch **by_fd;       /* fd -> watch, NULL when not watched */
        size_t cap_by_fd;
        size_t n_watches;
        struct watch *dead;         /* deleted during a batch, freed after it */

        struct loop_timer **heap;
        size_t n_heap, cap_heap;
        uint64_t timerfd_armed_usec;  /* what the timerfd is set to; UINT64_MAX: disarmed */

        bool quit;
        int quit_code;
};

int loop_new(struct loop **ret) {
        struct loop *l = calloc(1, sizeof *l);
        int r;

        if (!l)
                return -ENOMEM;
        l->signal_fd = -1;
        l->timerfd_armed_usec = UINT64_MAX;
        l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epoll_fd < 0)
                goto fail;
        l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (l->timer_fd < 0)
                goto fail;
        l->timer_watch.fd = l->timer_fd;
        if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, l->timer_fd,
                      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = &l->timer_watch }) < 0)
                goto fail;
        *ret = l;
        return 0;
fail:
        r = negative_errno();
        loop_free(l);
        return r;
}

static void free_dead(struct loop *l) {
        while (l->dead) {
                struct watch *w = l->dead;

                l->dead = w->next_dead;
                free(w);
        }
}

struct loop *loop_free(struct loop *l) {
        if (!l)
                return NULL;
        safe_close(l->epoll_fd);
        safe_close(l->timer_fd);
        safe_close(l->signal_fd);
        for (size_t i = 0; i < l->n_heap; i++)
                l->heap[i]->heap_index = LOOP_TIMER_IDLE;
        free(l->heap);
        for (size_t i = 0; i < l->cap_by_fd; i++)
                free(l->by_fd[i]);
        free(l->by_fd);
        free_dead(l);
        free(l);
        return NULL;
}

static struct watch *find_watch(const struct loop *l, int fd) {
        return fd >= 0 && (size_t)fd < l->cap_by_fd ? l->by_fd[fd] : NULL;
}

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *userdata) {
        struct watch *w;

        if (fd < 0 || !cb)
                return -EINVAL;
        if (find_watch(l, fd) || fd == l->timer_fd || fd == l->signal_fd)
                return -EEXIST;
        if ((size_t)fd >= l->cap_by_fd) {
                size_t nc = l->cap_by_fd ? l->cap_by_fd : 64;
                struct watch **n;

                while (nc <= (size_t)fd)
                        nc *= 2;
                n = realloc(l->by_fd, nc * sizeof *n);
                if (!n)
                        return -ENOMEM;
                memset(n + l->cap_by_fd, 0, (nc - l->cap_by_fd) * sizeof *n);
                l->by_fd = n;
                l->cap_by_fd = nc;
        }
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        *w = (struct watch){ .fd = fd, .events = events, .cb = cb, .userdata = userdata };
        if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &(struct epoll_event){ .events = events, .data.ptr = w }) < 0) {
                int r = negative_errno();
                free(w);
                return r;
        }
        l->by_fd[fd] = w;
        l->n_watches++;
        return 0;
}

int loop_mod_fd(struct loop *l, int fd, uint32_t events) {
        struct watch *w = find_watch(l, fd);

        if (!w)
                return -ENOENT;
        if (w->events == events)
                return 0;
        if (epoll_ctl(l->epoll_fd, EPOLL_CTL_MOD, fd, &(struct epoll_event){ .events = events, .data.ptr = w }) < 0)
                return negative_errno();
        w->events = events;
        return 0;
}

int loop_del_fd(struct loop *l, int fd) {
        struct watch *w = find_watch(l, fd);

        if (!w)
                return -ENOENT;
        /* The fd may already be closed by its owner: EBADF is fine, the
         * kernel dropped it from the interest list then. */
        (void)epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
        l->by_fd[fd] = NULL;
        l->n_watches--;
        w->dead = true;
        w->next_dead = l->dead;
        l->dead = w;
        return 0;
}

size_t loop_n_watches(const struct loop *l) {
        return l->n_watches;
}

int loop_set_signals(struct loop *l, const sigset_t *mask, loop_signal_cb cb, void *userdata,
                     sigset_t *ret_oldmask) {
        sigset_t old;
        int fd;

        if (l->signal_fd >= 0)
                return -EBUSY;
        /* Block first: a signal arriving between signalfd() and the block
         * would otherwise take its default action. */
        if (sigprocmask(SIG_BLOCK, mask, &old) < 0)
                return negative_errno();
        fd = signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0) {
                int r = negative_errno();
                sigprocmask(SIG_SETMASK, &old, NULL);
                return r;
        }
        l->signal_watch.fd = fd;
        if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd,
                      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = &l->signal_watch }) < 0) {
                int r = negative_errno();
                safe_close(fd);
                sigprocmask(SIG_SETMASK, &old, NULL);
                return r;
        }
        l->signal_fd = fd;
        l->signal_cb = cb;
        l->signal_userdata = userdata;
        if (ret_oldmask)
                *ret_oldmask = old;
        return 0;
}

/* Min-heap on deadline_usec. */
static void heap_swap(struct loop *l, size_t a, size_t b) {
        struct loop_timer *t = l->heap[a];

        l->heap[a] = l->heap[b];
        l->heap[b] = t;
        l->heap[a]->heap_index = a;
        l->heap[b]->heap_index = b;
}

static void heap_up(struct loop *l, size_t i) {
        while (i > 0) {
                size_t p = (i - 1) / 2;

                if (l->heap[p]->deadline_usec <= l->heap[i]->deadline_usec)
                        break;
                heap_swap(l, i, p);
                i = p;
        }
}

static void heap_down(struct loop *l, size_t i) {
        for (;;) {
                size_t c = 2 * i + 1, m = i;

                if (c < l->n_heap && l->heap[c]->deadline_usec < l->heap[m]->deadline_usec)
                        m = c;
                if (c + 1 < l->n_heap && l->heap[c + 1]->deadline_usec < l->heap[m]->deadline_usec)
                        m = c + 1;
                if (m == i)
                        return;
                heap_swap(l, i, m);
                i = m;
        }
}

void loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *userdata) {
        t->deadline_usec = 0;
        t->cb = cb;
        t->userdata = userdata;
        t->heap_index = LOOP_TIMER_IDLE;
}

void loop_timer_disarm(struct loop *l, struct loop_timer *t) {
        size_t i = t->heap_index;

        if (i == LOOP_TIMER_IDLE || i >= l->n_heap || l->heap[i] != t)
                return;
        t->heap_index = LOOP_TIMER_IDLE;
        if (i == --l->n_heap)
                return;
        l->heap[i] = l->heap[l->n_heap];
        l->heap[i]->heap_index = i;
        heap_down(l, i);
        heap_up(l, i);
}

int loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t deadline_usec) {
        int r;

        if (!t->cb)
                return -EINVAL;
        if (t->heap_index != LOOP_TIMER_IDLE) {
                size_t i = t->heap_index;

                t->deadline_usec = deadline_usec;
                heap_down(l, i);
                heap_up(l, t->heap_index);
                return 0;
        }
        r = GROW_ARRAY(l->heap, l->cap_heap, l->n_heap + 1, LOOP_MAX_TIMERS);
        if (r < 0)
                return r;
        t->deadline_usec = deadline_usec;
        t->heap_index = l->n_heap;
        l->heap[l->n_heap++] = t;
        heap_up(l, t->heap_index);
        return 0;
}

int loop_timer_arm_in(struct loop *l, struct loop_timer *t, uint64_t delay_usec) {
        uint64_t now = now_usec();

        return loop_timer_arm(l, t, delay_usec > UINT64_MAX - now ? UINT64_MAX - 1 : now + delay_usec);
}

uint64_t loop_next_deadline(const struct loop *l) {
        return l->n_heap ? l->heap[0]->deadline_usec : UINT64_MAX;
}

/* Point the one timerfd at the earliest deadline; a syscall only when
 * that deadline changed. */
static int sync_timerfd(struct loop *l) {
        uint64_t next = loop_next_deadline(l);
        struct itimerspec its = { 0 };

        if (next == l->timerfd_armed_usec)
                return 0;
        if (next != UINT64_MAX) {
                /* it_value 0 would disarm: a deadline at 0 means "now". */
                uint64_t v = next ? next : 1;
                its.it_value.tv_sec = (time_t)(v / 1000000);
                its.it_value.tv_nsec = (long)(v % 1000000) * 1000;
        }
        if (timerfd_settime(l->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                return negative_errno();
        l->timerfd_armed_usec = next;
        return 0;
}

static void run_timers(struct loop *l) {
        uint64_t buf;
        uint64_t now = now_usec();
        /* Bound the pass: a callback that re-arms itself for "now" runs again
         * on the next iteration, not forever in this one. */
        size_t budget = l->n_heap;

        /* Clear readiness; EAGAIN when it did not fire (early wakeup). */
        (void)!read(l->timer_fd, &buf, sizeof buf);
        /* The kernel's timerfd expiry is now consumed; force a re-arm. */
        l->timerfd_armed_usec = UINT64_MAX - 1;
        while (budget-- > 0 && l->n_heap > 0 && l->heap[0]->deadline_usec <= now && !l->quit) {
                struct loop_timer *t = l->heap[0];

                loop_timer_disarm(l, t);
                t->cb(l, t->userdata);
        }
}

static void read_signals(struct loop *l) {
        struct signalfd_siginfo si[8];

        for (;;) {
                ssize_t n = read(l->signal_fd, si, sizeof si);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return; /* EAGAIN: drained */
                }
                if (n == 0 || (size_t)n % sizeof si[0] != 0)
                        return;
                for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++)
                        if (l->signal_cb)
                                l->signal_cb(l, &si[i], l->signal_userdata);
                if ((size_t)n < sizeof si)
                        return;
        }
}

int loop_run_once(struct loop *l, int timeout_ms) {
        struct epoll_event ev[LOOP_EVENTS];
        int n, r;

        r = sync_timerfd(l);
        if (r < 0)
                return r;
        n = epoll_wait(l->epoll_fd, ev, LOOP_EVENTS, timeout_ms);
        if (n < 0)
                return errno == EINTR ? 0 : negative_errno();
        for (int i = 0; i < n && !l->quit; i++) {
                struct watch *w = ev[i].data.ptr;

                if (w == &l->signal_watch)
                        read_signals(l);
                else if (w == &l->timer_watch)
                        run_timers(l);
                else if (!w->dead)
                        /* A callback may delete any watch, this one
                         * included: deleted ones stay allocated (dead)
                         * until the batch is over. */
                        w->cb(l, w->fd, ev[i].events, w->userdata);
        }
        free_dead(l);
        return n;
}

int loop_run(struct loop *l) {
        while (!l->quit) {
                int r = loop_run_once(l, -1);

                if (r < 0)
                        return r;
        }
        return l->quit_code;
}

void loop_quit(struct loop *l, int code) {
        if (l->quit)
                return;
        l->quit = true;
        l->quit_code = code;
}

bool loop_quitting(const struct loop *l) { return l->quit; }
