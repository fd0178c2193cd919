/* cgsvc_drive: drives the cgsvc API on the real cgroups of this machine,
 * one command per stdin line, one answer line per command ("ok ..." or
 * "err ..."), for tests/integration/test_cgsvc.sh. Built by that script
 * from src/ (cgsvc.c, cgroup.c, cgroup-v1.c, spawn.c, util.c), with
 * libcgroup or with -DGORRAL_STATIC (direct writes).
 *
 *   open [SYSROOT]                 host_open: "ok enabled=1 describe=..." then "note ..." lines
 *   create NAME QUOTA PERIOD MEM   0 = not asked for
 *   spawn NAME CMD [ARGS...]       the child enters the cgroups before exec
 *   sh NAME SCRIPT...              spawn NAME /bin/sh -c "SCRIPT..." (the rest of the line)
 *   populated NAME | signal NAME SIG | kill NAME
 *   watch NAME                     add cgroup.events to an epoll set (EPOLLPRI)
 *   waitempty NAME MS              epoll_wait until populated 0: woke=, revents=
 *   destroy NAME                   retries -EBUSY for up to 1 s: tries=
 *   limits NAME                    cg_read_limits_sub() of the service
 *   update NAME QUOTA PERIOD MEM
 *   bench N                        create + spawn /bin/true + reap + destroy, N times: medians (us)
 *   free NAME | close | quit */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gorral/cgroup.h"
#include "gorral/cgsvc.h"
#include "gorral/spawn.h"
#include "gorral/util.h"

#define SVC_MAX 8

static struct cgsvc_host *host;
static struct {
        char name[CGSVC_NAME_MAX + 1];
        struct cgsvc *c;
} svcs[SVC_MAX];
static int ep = -1;
extern char **environ;

static struct cgsvc *find(const char *name) {
        for (int i = 0; i < SVC_MAX; i++)
                if (svcs[i].c && strcmp(svcs[i].name, name) == 0)
                        return svcs[i].c;
        return NULL;
}

static void reap(void) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

static void res_of(char **a, struct cgsvc_resources *r) {
        *r = (struct cgsvc_resources){};
        r->cpu_quota_us = strtoull(a[0], NULL, 10);
        r->cpu_period_us = strtoull(a[1], NULL, 10);
        r->has_cpu = r->cpu_quota_us > 0;
        r->memory_bytes = strtoull(a[2], NULL, 10);
        r->has_memory = r->memory_bytes > 0;
}

static int spawn_in(struct cgsvc *c, char **argv, pid_t *ret) {
        struct spawn_params p = { .argv = argv, .envp = environ };
        struct spawn_result res;
        int r = cgsvc_procs_fds(c, &p.cgroup_procs_fds, &p.n_cgroup_procs_fds);

        if (r < 0)
                return r;
        r = spawn_process(&p, &res);
        if (r < 0)
                return r;
        if (res.err)
                return -res.err;
        *ret = res.pid;
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static void bench(int n) {
        uint64_t *t_create = calloc((size_t)n, 8), *t_spawn = calloc((size_t)n, 8), *t_destroy = calloc((size_t)n, 8),
                 *t_all = calloc((size_t)n, 8);
        struct cgsvc_resources res = { .has_cpu = true, .cpu_quota_us = 50000, .cpu_period_us = 100000,
                                       .has_memory = true, .memory_bytes = 128 << 20 };
        char *argv[] = { "/bin/true", NULL };
        uint64_t *t_plain = calloc((size_t)n, 8);
        int tries_max = 0;

        /* The same spawn without cgroups, for the cost of entering them. */
        for (int i = 0; i < n; i++) {
                struct spawn_params p = { .argv = argv, .envp = environ };
                struct spawn_result sr;
                uint64_t t0 = now_usec();

                if (spawn_process(&p, &sr) < 0 || waitpid(sr.pid, NULL, 0) < 0) {
                        printf("err bench spawn\n");
                        return;
                }
                t_plain[i] = now_usec() - t0;
        }
        qsort(t_plain, (size_t)n, 8, cmp_u64);
        for (int i = 0; i < n; i++) {
                struct cgsvc *c = NULL;
                uint64_t t0 = now_usec(), t1, t2, t3;
                pid_t pid;
                int r, tries = 0;

                r = cgsvc_create(host, "bench", &res, &c, NULL);
                t1 = now_usec();
                if (r >= 0)
                        r = spawn_in(c, argv, &pid);
                if (r >= 0 && waitpid(pid, NULL, 0) < 0)
                        r = -errno;
                t2 = now_usec();
                while (r >= 0 && (r = cgsvc_destroy(c)) == -EBUSY && tries++ < 1000)
                        ;
                t3 = now_usec();
                cgsvc_free(c);
                if (r < 0) {
                        printf("err bench iteration %d: %s\n", i, strerror(-r));
                        return;
                }
                if (tries > tries_max)
                        tries_max = tries;
                t_create[i] = t1 - t0;
                t_spawn[i] = t2 - t1;
                t_destroy[i] = t3 - t2;
                t_all[i] = t3 - t0;
        }
        qsort(t_create, (size_t)n, 8, cmp_u64);
        qsort(t_spawn, (size_t)n, 8, cmp_u64);
        qsort(t_destroy, (size_t)n, 8, cmp_u64);
        qsort(t_all, (size_t)n, 8, cmp_u64);
        printf("ok n=%d create_us=%llu spawn_enter_exit_us=%llu destroy_us=%llu total_us=%llu total_p90_us=%llu "
               "destroy_busy_retries_max=%d spawn_plain_us=%llu\n",
               n, (unsigned long long)t_create[n / 2], (unsigned long long)t_spawn[n / 2],
               (unsigned long long)t_destroy[n / 2], (unsigned long long)t_all[n / 2],
               (unsigned long long)t_all[n * 9 / 10], tries_max, (unsigned long long)t_plain[n / 2]);
        free(t_plain), free(t_create), free(t_spawn), free(t_destroy), free(t_all);
}

static void command(int argc, char **a) {
        struct cgsvc *c = argc > 1 ? find(a[1]) : NULL;
        int r;

        if (strcmp(a[0], "open") == 0) {
                char *reason = NULL;
                const char *const *notes;
                size_t nn;

                r = cgsvc_host_open(argc > 1 ? a[1] : NULL, &host, &reason);
                if (r < 0) {
                        printf("err open: %s\n", strerror(-r));
                        return;
                }
                nn = cgsvc_host_notes(host, &notes);
                for (size_t i = 0; i < nn; i++)
                        printf("note %s\n", notes[i]);
                printf("ok enabled=%d ctrls=%u reason=%s describe=%s\n", cgsvc_host_enabled(host),
                       cgsvc_host_controllers(host), reason ? reason : "-", cgsvc_host_describe(host));
                free(reason);
        } else if (strcmp(a[0], "create") == 0 && argc == 5) {
                struct cgsvc_resources res;
                char *err = NULL;
                int slot = -1;

                for (int i = 0; i < SVC_MAX; i++)
                        if (!svcs[i].c) {
                                slot = i;
                                break;
                        }
                res_of(a + 2, &res);
                r = slot < 0 ? -ENOSPC : cgsvc_create(host, a[1], &res, &svcs[slot].c, &err);
                if (r < 0) {
                        printf("err create: %s: %s\n", strerror(-r), err ? err : "-");
                        free(err);
                        return;
                }
                snprintf(svcs[slot].name, sizeof svcs[slot].name, "%s", a[1]);
                const int *fds;
                size_t n;
                cgsvc_procs_fds(svcs[slot].c, &fds, &n);
                printf("ok path=%s subpath=%s events_fd=%d nfds=%zu\n", cgsvc_path(svcs[slot].c),
                       cgsvc_subpath(svcs[slot].c), cgsvc_events_fd(svcs[slot].c), n);
        } else if (!c) {
                if (strcmp(a[0], "bench") == 0 && argc == 2)
                        bench(atoi(a[1]));
                else if (strcmp(a[0], "close") == 0) {
                        host = cgsvc_host_free(host);
                        printf("ok\n");
                } else
                        printf("err no such service or command: %s\n", a[0]);
        } else if (strcmp(a[0], "spawn") == 0 && argc >= 3) {
                pid_t pid;

                r = spawn_in(c, a + 2, &pid);
                if (r < 0)
                        printf("err spawn: %s\n", strerror(-r));
                else
                        printf("ok pid=%ld\n", (long)pid);
        } else if (strcmp(a[0], "populated") == 0) {
                reap();
                printf("ok %d\n", cgsvc_populated(c));
        } else if (strcmp(a[0], "signal") == 0 && argc == 3) {
                int sig;

                if (parse_signal(a[2], &sig) < 0) {
                        printf("err bad signal\n");
                        return;
                }
                r = cgsvc_signal(c, sig);
                printf(r < 0 ? "err %d\n" : "ok n=%d\n", r);
        } else if (strcmp(a[0], "kill") == 0) {
                r = cgsvc_kill(c);
                printf(r < 0 ? "err %d\n" : "ok n=%d\n", r);
        } else if (strcmp(a[0], "watch") == 0) {
                struct epoll_event ev = { .events = EPOLLPRI };

                if (ep < 0)
                        ep = epoll_create1(EPOLL_CLOEXEC);
                if (cgsvc_events_fd(c) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, cgsvc_events_fd(c), &ev) < 0)
                        printf("err watch: %s\n", cgsvc_events_fd(c) < 0 ? "no events fd" : strerror(errno));
                else
                        printf("ok\n");
        } else if (strcmp(a[0], "waitempty") == 0 && argc == 3) {
                uint64_t deadline = now_usec() + strtoull(a[2], NULL, 10) * 1000, t0 = now_usec();
                unsigned revents = 0;
                int woke = 0, pop;

                /* Wait first: the fd stays ready from the kernel's
                 * notification until the file is read again, so a change
                 * that happened before this call is not lost. */
                for (;;) {
                        struct epoll_event ev;
                        uint64_t now = now_usec();
                        int k = now >= deadline ? 0 : epoll_wait(ep, &ev, 1, (int)((deadline - now) / 1000) + 1);

                        reap();
                        if (k > 0) {
                                woke++;
                                revents |= ev.events;
                        }
                        pop = cgsvc_populated(c);
                        if (pop != 1 || now_usec() >= deadline)
                                break;
                }
                printf("ok woke=%d revents=%s%s populated=%d ms=%llu\n", woke, revents & EPOLLPRI ? "PRI" : "",
                       revents & EPOLLERR ? "|ERR" : "", pop, (unsigned long long)((now_usec() - t0) / 1000));
        } else if (strcmp(a[0], "destroy") == 0) {
                uint64_t deadline = now_usec() + 1000000;
                int tries = 0;

                while ((r = cgsvc_destroy(c)) == -EBUSY && now_usec() < deadline) {
                        tries++;
                        reap();
                        usleep(1000);
                }
                printf(r < 0 ? "err destroy: %s tries=%d\n" : "ok%s tries=%d\n", r < 0 ? strerror(-r) : "", tries);
        } else if (strcmp(a[0], "limits") == 0) {
                struct cg_limits l;

                r = cg_read_limits_sub(NULL, 0, cgsvc_subpath(c), &l);
                if (r < 0) {
                        printf("err limits: %s\n", strerror(-r));
                        return;
                }
                printf("ok cpu=%llu/%llu mem=%llu cpu_file=%s mem_file=%s cpu_cgroup=%s\n",
                       (unsigned long long)(l.cpu_limited ? l.cpu_quota_us : 0),
                       (unsigned long long)(l.cpu_limited ? l.cpu_period_us : 0),
                       (unsigned long long)(l.mem_limited ? l.mem_bytes : 0), l.cpu_file ? l.cpu_file : "-",
                       l.mem_file ? l.mem_file : "-", l.cpu_cgroup ? l.cpu_cgroup : "-");
                cg_limits_done(&l);
        } else if (strcmp(a[0], "update") == 0 && argc == 5) {
                struct cgsvc_resources res;
                char *err = NULL;

                res_of(a + 2, &res);
                r = cgsvc_update(c, &res, &err);
                printf(r < 0 ? "err update: %s %s\n" : "ok%s%s\n", r < 0 ? strerror(-r) : "", err ? err : "");
                free(err);
        } else if (strcmp(a[0], "free") == 0) {
                for (int i = 0; i < SVC_MAX; i++)
                        if (svcs[i].c == c)
                                svcs[i].c = cgsvc_free(c);
                printf("ok\n");
        } else
                printf("err bad command\n");
}

int main(void) {
        char line[4096];

        setvbuf(stdout, NULL, _IOLBF, 0);
        signal(SIGPIPE, SIG_IGN);
        while (fgets(line, sizeof line, stdin)) {
                char *a[64];
                int argc = 0;

                /* "sh NAME SCRIPT": the rest of the line is one sh -c script. */
                if (strncmp(line, "sh ", 3) == 0) {
                        char *name = line + 3, *sp = strchr(name, ' ');

                        if (sp) {
                                *sp = '\0';
                                sp[strcspn(sp + 1, "\n") + 1] = '\0';
                                a[0] = "spawn", a[1] = name, a[2] = "/bin/sh", a[3] = "-c", a[4] = sp + 1, a[5] = NULL;
                                command(5, a);
                                continue;
                        }
                }

                for (char *t = strtok(line, " \t\n"); t && argc < 63; t = strtok(NULL, " \t\n"))
                        a[argc++] = t;
                a[argc] = NULL;
                if (argc == 0)
                        continue;
                if (strcmp(a[0], "quit") == 0)
                        break;
                command(argc, a);
                fflush(stdout);
        }
        for (int i = 0; i < SVC_MAX; i++)
                cgsvc_free(svcs[i].c);
        cgsvc_host_free(host);
        return 0;
}
