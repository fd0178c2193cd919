/* service.h: one supervised service (L2): its lifecycle as a table
 * state x event -> handler (every cell filled), the restart policy,
 * exponential backoff with a cap and jitter, and the restart budget.
 *
 * The service touches the world only through struct service_ops (spawn,
 * kill, timer, clock, randomness), so the table is unit-tested without
 * processes. struct service is lifecycle state only: the supervisor's
 * unit around it owns the timer, the reaper watch, the settings and the
 * names the config gave (service_config's name and argv are borrowed from
 * it).
 * Each service has one timer: its meaning depends on the state (start
 * grace, stop timeout, backoff). */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


enum service_restart {
        SERVICE_RESTART_NO,          /* like tini: run once */
        SERVICE_RESTART_ON_FAILURE,  /* exit code != 0 or killed by a signal */
        SERVICE_RESTART_ALWAYS,
        _SERVICE_RESTART_MAX,
        _SERVICE_RESTART_INVALID = -EINVAL,
};

enum service_state {
        SERVICE_IDLE,          /* not started yet */
        SERVICE_STARTING,      /* main process alive, within the start grace */
        SERVICE_RUNNING,       /* main process alive, past the start grace */
        SERVICE_STOPPING,      /* main alive, stop signal sent, SIGKILL at the stop timeout */
        SERVICE_KILLING,       /* main alive, SIGKILL sent to the group */
        SERVICE_CLEANUP,       /* main gone, the rest of its group got the stop signal */
        SERVICE_CLEANUP_KILL,  /* main gone, the rest of its group got SIGKILL */
        SERVICE_BACKOFF,       /* waiting to restart */
        SERVICE_DONE,          /* finished, not restarting */
        SERVICE_FAILED,        /* gave up: restart budget exhausted */
        _SERVICE_STATE_MAX,
        _SERVICE_STATE_INVALID = -EINVAL,
};

enum service_event {
        SERVICE_EV_START,        /* start now */
        SERVICE_EV_EXIT,         /* the main process was reaped (data.status) */
        SERVICE_EV_TIMEOUT,      /* the service's timer fired */
        SERVICE_EV_STOP,         /* stop: data.signal to send (0: only "do not restart") */
        SERVICE_EV_GROUP_EMPTY,  /* no process of its group is left */
        SERVICE_EV_RESTART,      /* restart it (a finding's action): stop it with its stop
                                  * signal, then start again whatever the restart policy,
                                  * counted against the budget like any restart */
        _SERVICE_EVENT_MAX,
        _SERVICE_EVENT_INVALID = -EINVAL,
};

struct service_event_data {
        int status;   /* EXIT: raw wait status */
        int signal;   /* STOP: signal to send now; 0 none. RESTART: instead of the stop signal (0: it) */
        bool group;   /* STOP: to the whole process group (else the main pid) */
};

/* Bounds (clamped by the option parser, documented in --help). */
#define SERVICE_BUDGET_MAX 1000u
#define SERVICE_BACKOFF_MAX_USEC (3600ULL * 1000000ULL)

struct service_config {
        const char *name;
        char **argv;
        enum service_restart restart;
        int stop_signal;               /* default SIGTERM */
        uint64_t stop_timeout_usec;    /* default 10 s */
        uint64_t backoff_initial_usec; /* default 100 ms */
        uint64_t backoff_max_usec;     /* default 30 s */
        unsigned jitter_pct;           /* +-percent, default 20 */
        unsigned restart_budget;       /* restarts allowed within the window; 0 unlimited */
        uint64_t restart_window_usec;  /* default 60 s */
        uint64_t start_grace_usec;     /* default 1 s */
};

struct service;

struct service_ops {
        /* Start the main process; see spawn_process(). */
        int (*spawn)(struct service *s, pid_t *ret_pid, int *ret_exec_errno);
        /* kill(target, sig): target is a pid or -pgid. 0 or -errno. */
        int (*kill)(struct service *s, pid_t target, int sig);
        /* Is any process of the group pgid left? */
        bool (*group_alive)(struct service *s, pid_t pgid);
        int (*timer_arm)(struct service *s, uint64_t delay_usec);
        void (*timer_disarm)(struct service *s);
        uint64_t (*now_usec)(struct service *s);
        uint32_t (*random)(struct service *s);
        /* An impossible state: stop everything (the supervisor's panic). */
        void (*panic)(struct service *s, const char *why);
};

struct service {
        struct service_config cfg;
        const struct service_ops *ops;
        void *userdata;                /* the ops' context (the supervisor's unit) */

        enum service_state state;
        pid_t pid;                     /* main process; 0 when none */
        pid_t pgid;                    /* its group (= pid); kept after it exits */
        int exec_errno;                /* of the last spawn */
        bool stop_requested;           /* never restart again */
        bool restart_requested;        /* SERVICE_EV_RESTART: restart after this stop, whatever the policy */
        bool have_status;
        int last_status;               /* raw wait status of the last exit */
        int exit_code;                 /* shell style: code, 128+N, 126/127, or GR_EXIT_SYSTEM */
        uint64_t started_usec;         /* monotonic, of the last spawn */
        unsigned failures;             /* consecutive failed starts: the backoff exponent */
        unsigned starts;               /* total spawns */
        uint64_t *restart_ring;        /* monotonic times of the last restarts */
        unsigned ring_len, ring_head;
};

/* Set up s (cfg copied by value; argv and name are borrowed). 0 or -errno. */
int service_init(struct service *s, const struct service_config *cfg, const struct service_ops *ops, void *userdata);
void service_done(struct service *s);
/* Change only the restart policy, backoff, budget, start grace and stop
 * settings of a live service (a reload that changed nothing else): the
 * state, the process and the restart history stay. 0 or -ENOMEM. */
int service_set_policy(struct service *s, const struct service_config *cfg);

/* Feed one event through the table. Never fails: errors are logged and
 * turned into state changes (a failed spawn is a failed start). */
void service_dispatch(struct service *s, enum service_event ev, const struct service_event_data *data);

/* Finished for good (DONE or FAILED)? */
bool service_is_terminal(const struct service *s);
/* Is a main process alive? */
bool service_has_main(const struct service *s);

/* The pure policy pieces, exported for tests. */
/* Delay before restart number `failures` (>= 1): initial * 2^(failures-1),
 * capped at max, then +-jitter_pct% drawn from rnd (uniform over 2^32). */
uint64_t service_backoff_usec(uint64_t initial_usec, uint64_t max_usec, unsigned jitter_pct,
                              unsigned failures, uint32_t rnd);
/* Would a restart at now stay within the budget (given the restart times
 * recorded so far)? */
bool service_budget_allows(const struct service *s, uint64_t now);
/* Should the exit with this wait status be restarted under the policy? */
bool service_policy_restarts(enum service_restart policy, int exit_code);
/* Raw wait status to the shell's code: WEXITSTATUS or 128+signal. */
int service_exit_code(int status);

const char *service_state_to_string(enum service_state s);
const char *service_event_to_string(enum service_event e);
const char *service_restart_to_string(enum service_restart r);
int service_restart_from_string(const char *s);
