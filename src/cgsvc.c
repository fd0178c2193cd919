/* cgsvc.c: per-service cgroups (see cgsvc.h for the layout and the
 * contracts). v2 is written here directly; v1 goes through cgroup-v1.h.
 *
 * Paths: every directory is kept without the sysroot (as the process
 * would see it) and joined with it only to touch the file system, so the
 * strings in notes and describe() match what `gorral limits` prints. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gorral/cgroup-v1.h"
#include "gorral/cgroup.h"
#include "gorral/cgsvc.h"
#include "gorral/spawn.h"
#include "gorral/util.h"

/* The v2 tree (pure v2 or hybrid tracking), cpu, memory, freezer. */
#define HIER_MAX 4
#define INSTANCE "gorral"
/* The leaf gorral moves itself into on v2 when the no-internal-process
 * rule refuses to enable controllers below its own cgroup. A service name
 * cannot start with '_'. */
#define SELF_LEAF "_gorral"
/* A leftover's processes get this long to exit after SIGKILL (start-up
 * only; they normally go in well under a millisecond). */
#define LEFTOVER_WAIT_USEC (1000 * 1000)
/* cgroup.procs of one cgroup: bounded read (about 140k pids). */
#define PROCS_MAX ((size_t)1 << 20)
/* Signal passes: each reads cgroup.procs again and signals the pids not
 * seen before (a frozen cgroup forks no more, so two passes normally do). */
#define SIGNAL_PASSES 16
/* Child cgroups a service may have made (delegation is not offered, but a
 * root service can mkdir): how deep kill and remove descend. */
#define TREE_DEPTH_MAX 8

enum hier_kind { HK_V2, HK_CPU, HK_MEMORY, HK_FREEZER };

struct hier {
        enum hier_kind kind;
        const char *controller; /* v1: libcgroup's name; v2: NULL */
        char *mount_point;
        char *own;              /* gorral's cgroup directory at start */
        char *inst;             /* own + "/" + instance */
        int inst_fd;            /* flock'd for gorral's lifetime */
        bool cpu, memory, freezer; /* v1 controllers of this hierarchy (co-mounts: several) */
        bool has_kill, has_freeze, has_events; /* v2 */
};

struct cgsvc_host {
        char *sysroot; /* NULL: "/" */
        bool enabled;
        struct hier h[HIER_MAX];
        size_t n;
        int i_v2, i_cpu, i_mem, i_frz; /* index into h, or -1 */
        bool v2_cpu, v2_mem, v2_pids;  /* enabled for the services on v2 */
        unsigned ctrls;
        char instance[32];
        bool moved; /* gorral sits in <own>/<instance>/_gorral (v2) */
        struct cgv1 *v1;
        char *describe;
        char **notes;
        size_t n_notes;
};

struct cgsvc {
        struct cgsvc_host *host;
        char *name, *subpath;
        char *dir[HIER_MAX];   /* per host hierarchy, no sysroot */
        int procs[HIER_MAX];   /* cgroup.procs fds, in hierarchy order */
        size_t n_procs;
        int events_fd;
        int v2_dir_fd;         /* its v2 directory, for clone3(CLONE_INTO_CGROUP); -1 none */
        bool destroyed;
};

/* ---- small helpers ---- */

static char *fsp(const struct cgsvc_host *h, const char *dir, const char *name) {
        char *p;

        if (asprintf(&p, "%s%s%s%s", h->sysroot ? h->sysroot : "", dir, name ? "/" : "", name ? name : "") < 0)
                return NULL;
        return p;
}

static char *join(const char *a, const char *b) {
        char *p;

        if (asprintf(&p, "%s%s%s", a, strcmp(a, "/") == 0 ? "" : "/", b) < 0)
                return NULL;
        return p;
}

static bool exists(const struct cgsvc_host *h, const char *dir, const char *name) {
        _cleanup_free_ char *p = fsp(h, dir, name);

        return p && access(p, F_OK) == 0;
}

static int write_str(const struct cgsvc_host *h, const char *dir, const char *name, const char *s) {
        _cleanup_free_ char *p = fsp(h, dir, name);
        _cleanup_close_ int fd = -1;

        if (!p)
                return -ENOMEM;
        /* O_TRUNC: what a shell's ">" does; cgroupfs ignores the size,
         * and a recorded tree (plain files) then holds exactly the value. */
        fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return write_all(fd, s, strlen(s));
}

static int add_note(struct cgsvc_host *h, const char *fmt, ...) _printf_(2, 3);
static int add_note(struct cgsvc_host *h, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_appendv(&h->notes, &h->n_notes, fmt, ap);
        va_end(ap);
        return r;
}

/* A path relative to the hierarchy's mount point, for libcgroup. */
static const char *rel_of(const struct hier *x, const char *dir) {
        size_t ml = strlen(x->mount_point);

        if (strcmp(x->mount_point, "/") == 0)
                return dir;
        return dir[ml] ? dir + ml : "/";
}

static int make_dir(struct cgsvc_host *h, const struct hier *x, const char *dir, char **ret_err) {
        if (x->kind != HK_V2)
                return cgv1_create(h->v1, x->controller, x->mount_point, rel_of(x, dir), NULL, 0, ret_err);

        _cleanup_free_ char *p = fsp(h, dir, NULL);

        if (!p)
                return -ENOMEM;
        if (mkdir(p, 0755) == 0)
                return 0;
        if (errno == EEXIST)
                return 1;
        int r = negative_errno();
        if (ret_err && asprintf(ret_err, "mkdir %s: %s", p, strerror(-r)) < 0)
                *ret_err = NULL;
        return r;
}

static int remove_dir(struct cgsvc_host *h, const struct hier *x, const char *dir) {
        if (x->kind != HK_V2)
                return cgv1_remove(h->v1, x->controller, x->mount_point, rel_of(x, dir));

        _cleanup_free_ char *p = fsp(h, dir, NULL);

        if (!p)
                return -ENOMEM;
        if (rmdir(p) == 0 || errno == ENOENT)
                return 0;
        return errno == ENOTEMPTY ? -EBUSY : negative_errno();
}

/* The pids listed in dir/cgroup.procs and in its descendants' (depth
 * bounded); calls fn for each. Returns the number of pids seen, or
 * -errno (a directory that vanished meanwhile counts as empty). */
static int for_each_pid(const struct cgsvc_host *h, const char *dir, unsigned depth,
                        int (*fn)(pid_t pid, void *ud), void *ud) {
        _cleanup_free_ char *p = fsp(h, dir, "cgroup.procs"), *buf = NULL, *d = NULL;
        _cleanup_closedir_ DIR *dd = NULL;
        size_t n, pos = 0;
        int count = 0, r;
        struct dirent *de;

        if (!p)
                return -ENOMEM;
        r = read_file(p, PROCS_MAX, &buf, &n);
        if (r == -ENOENT || r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        while (pos < n) {
                char *nl = memchr(buf + pos, '\n', n - pos);
                size_t len = nl ? (size_t)(nl - buf - pos) : n - pos;
                uint64_t v;

                /* 0: a process outside our pid namespace (v1 lists it so). */
                if (len > 0 && parse_u64_n(buf + pos, len, &v) == 0 && v > 0 && v <= INT32_MAX) {
                        count++;
                        if (fn) {
                                r = fn((pid_t)v, ud);
                                if (r < 0)
                                        return r;
                        }
                }
                pos += len + 1;
        }
        if (depth >= TREE_DEPTH_MAX)
                return count;
        d = fsp(h, dir, NULL);
        if (!d)
                return -ENOMEM;
        dd = opendir(d);
        if (!dd)
                return count;
        while ((de = readdir(dd))) {
                _cleanup_free_ char *sub = NULL;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                sub = join(dir, de->d_name);
                if (!sub)
                        return -ENOMEM;
                r = for_each_pid(h, sub, depth + 1, fn, ud);
                if (r < 0)
                        return r;
                count += r;
        }
        return count;
}

/* Remove dir and every cgroup below it, children first. 0, -EBUSY, -errno. */
static int remove_tree(struct cgsvc_host *h, const struct hier *x, const char *dir, unsigned depth) {
        _cleanup_free_ char *d = fsp(h, dir, NULL);
        _cleanup_closedir_ DIR *dd = NULL;
        struct dirent *de;
        int r;

        if (!d)
                return -ENOMEM;
        if (depth < TREE_DEPTH_MAX && (dd = opendir(d)))
                while ((de = readdir(dd))) {
                        _cleanup_free_ char *sub = NULL;

                        if (de->d_type != DT_DIR || de->d_name[0] == '.')
                                continue;
                        sub = join(dir, de->d_name);
                        if (!sub)
                                return -ENOMEM;
                        r = remove_tree(h, x, sub, depth + 1);
                        if (r < 0)
                                return r;
                }
        return remove_dir(h, x, dir);
}

static int kill_pid(pid_t pid, void *ud) {
        int sig = *(int *)ud, r = spawn_kill(pid, sig);

        return r == -ESRCH ? 0 : r;
}

static void sleep_usec(uint64_t us) {
        struct timespec ts = { .tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Freeze or thaw dir (v2 cgroup.freeze; v1 freezer.state). Best effort:
 * without a freezer the signal passes still converge, only slower. */
static void freeze(struct cgsvc_host *h, const struct hier *x, const char *dir, bool on) {
        if (x->kind == HK_V2 && x->has_freeze)
                (void)write_str(h, dir, "cgroup.freeze", on ? "1" : "0");
        else if (x->freezer)
                (void)write_str(h, dir, "freezer.state", on ? "FROZEN" : "THAWED");
}

/* Every descendant thawed too: a leftover may have been frozen by a gorral
 * that died mid-stop, and a frozen v1 task does not act on SIGKILL. */
static void thaw_tree(struct cgsvc_host *h, const struct hier *x, const char *dir, unsigned depth) {
        _cleanup_free_ char *d = fsp(h, dir, NULL);
        _cleanup_closedir_ DIR *dd = NULL;
        struct dirent *de;

        freeze(h, x, dir, false);
        if (!d || depth >= TREE_DEPTH_MAX || !(dd = opendir(d)))
                return;
        while ((de = readdir(dd))) {
                _cleanup_free_ char *sub = NULL;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                sub = join(dir, de->d_name);
                if (sub)
                        thaw_tree(h, x, sub, depth + 1);
        }
}

/* ---- leftovers ---- */

static bool instance_name(const char *s) {
        if (strncmp(s, INSTANCE, strlen(INSTANCE)) != 0)
                return false;
        s += strlen(INSTANCE);
        if (*s == '\0')
                return true;
        if (*s++ != '-' || !*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

/* Kill everything in a leftover subtree and remove it (start-up: waits,
 * bounded by the deadline). Under a sysroot nothing is signalled: a
 * recorded tree's pids are not ours. */
static int clean_leftover(struct cgsvc_host *h, const struct hier *x, const char *dir, uint64_t deadline) {
        int sig = SIGKILL, n = 0, r;

        if (!h->sysroot) {
                n = for_each_pid(h, dir, 0, NULL, NULL); /* what was there, for the note */
                if (n < 0)
                        return n;
                if (x->kind == HK_V2 && exists(h, dir, "cgroup.kill"))
                        (void)write_str(h, dir, "cgroup.kill", "1");
                for (;;) {
                        r = for_each_pid(h, dir, 0, kill_pid, &sig);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                thaw_tree(h, x, dir, 0);
                        if (r == 0 || now_usec() >= deadline)
                                break;
                        sleep_usec(1000);
                }
        }
        for (;;) {
                r = remove_tree(h, x, dir, 0);
                if (r != -EBUSY || h->sysroot || now_usec() >= deadline)
                        break;
                sleep_usec(1000); /* killed tasks still exiting */
        }
        if (r < 0)
                return add_note(h, "leftover %s of an earlier gorral (killed %d processes) could not be removed: %s",
                                dir, n, strerror(-r));
        return add_note(h, "removed leftover %s of an earlier gorral (killed %d processes)", dir, n);
}

static int clean_leftovers(struct cgsvc_host *h, const struct hier *x, uint64_t deadline) {
        _cleanup_free_ char *d = fsp(h, x->own, NULL);
        _cleanup_closedir_ DIR *dd = NULL;
        struct dirent *de;
        int r;

        if (!d)
                return -ENOMEM;
        dd = opendir(d);
        if (!dd)
                return 0;
        while ((de = readdir(dd))) {
                _cleanup_free_ char *dir = NULL, *p = NULL;
                _cleanup_close_ int fd = -1;

                if (de->d_type != DT_DIR || !instance_name(de->d_name))
                        continue;
                dir = join(x->own, de->d_name);
                p = fsp(h, dir, NULL);
                if (!dir || !p)
                        return -ENOMEM;
                fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                /* A live gorral holds the lock: not a leftover. */
                if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                        continue;
                r = clean_leftover(h, x, dir, deadline);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- discovery ---- */

static int add_hier(struct cgsvc_host *h, enum hier_kind kind, const char *controller, const struct cg_dir *d) {
        struct hier *x;

        for (size_t i = 0; i < h->n; i++)
                if (h->h[i].kind != HK_V2 && kind != HK_V2 && strcmp(h->h[i].mount_point, d->top) == 0)
                        return (int)i; /* co-mounted (cpu,memory on one hierarchy) */
        if (h->n >= HIER_MAX)
                return -ENOSPC;
        x = &h->h[h->n];
        *x = (struct hier){ .kind = kind, .controller = controller, .inst_fd = -1 };
        x->mount_point = strdup(d->top);
        x->own = strdup(d->dir);
        if (!x->mount_point || !x->own) {
                free(x->mount_point);
                free(x->own);
                return -ENOMEM;
        }
        return (int)h->n++;
}

static bool list_has(const char *list, const char *item) {
        size_t k = strlen(item);

        for (const char *p = list; (p = strstr(p, item)); p += k)
                if ((p == list || p[-1] == ' ') && (p[k] == '\0' || p[k] == ' ' || p[k] == '\n'))
                        return true;
        return false;
}

/* Which hierarchies exist for gorral, from mountinfo and /proc/self/cgroup.
 * 0; 1 with *reason when there is nothing to use; -ENOMEM. */
static int discover(struct cgsvc_host *h, char **reason) {
        _cleanup_free_ char *mi_path = fsp(h, "/proc/self/mountinfo", NULL), *cg_path = fsp(h, "/proc/self/cgroup", NULL);
        _cleanup_free_ char *mi = NULL, *cg = NULL;
        struct cg_mount *m = NULL;
        struct cg_member *mem = NULL;
        size_t nm = 0, nmem = 0, mi_n, cg_n;
        struct cg_dir d2 = {}, d = {};
        const char *bad;
        bool have_v2 = false;
        unsigned line = 0;
        int r;

        if (!mi_path || !cg_path)
                return -ENOMEM;
        r = read_file(mi_path, GR_READ_MAX, &mi, &mi_n);
        if (r >= 0)
                r = read_file(cg_path, GR_READ_MAX, &cg, &cg_n);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return asprintf(reason, "cannot read %s or %s: %s", mi_path, cg_path, strerror(-r)) < 0 ? -ENOMEM : 1;
        bad = mi_path;
        r = cg_parse_mountinfo(mi, mi_n, &m, &nm, &line);
        if (r >= 0) {
                bad = cg_path;
                r = cg_parse_proc_cgroup(cg, cg_n, &mem, &nmem, &line);
        }
        if (r == -ENOMEM)
                goto out;
        if (r < 0) {
                r = asprintf(reason, "%s: malformed line %u", bad, line) < 0 ? -ENOMEM : 1;
                goto out;
        }

        /* The v2 tree first: it is the service's main path and its events. */
        if (cg_resolve(m, nm, mem, nmem, NULL, &d2) == 0) {
                have_v2 = true;
                r = add_hier(h, HK_V2, NULL, &d2);
                if (r < 0)
                        goto out;
                h->i_v2 = r;
        }
        static const struct {
                enum hier_kind kind;
                const char *name;
        } v1[] = { { HK_CPU, "cpu" }, { HK_MEMORY, "memory" }, { HK_FREEZER, "freezer" } };
        for (size_t i = 0; i < ELEMENTSOF(v1); i++) {
                if (cg_resolve(m, nm, mem, nmem, v1[i].name, &d) < 0)
                        continue;
                if (d.v2) {
                        /* The controller lives on the v2 tree: enabled there. */
                        h->v2_cpu |= v1[i].kind == HK_CPU;
                        h->v2_mem |= v1[i].kind == HK_MEMORY;
                } else if (v1[i].kind != HK_FREEZER || !have_v2) {
                        /* A freezer only where no v2 tree can stop the service. */
                        r = add_hier(h, v1[i].kind, v1[i].name, &d);
                        if (r < 0) {
                                cg_dir_done(&d);
                                goto out;
                        }
                        if (v1[i].kind == HK_CPU)
                                h->i_cpu = r, h->h[r].cpu = true;
                        else if (v1[i].kind == HK_MEMORY)
                                h->i_mem = r, h->h[r].memory = true;
                        else
                                h->i_frz = r, h->h[r].freezer = true;
                }
                cg_dir_done(&d);
        }
        if (have_v2 && cg_resolve(m, nm, mem, nmem, "pids", &d) == 0) {
                h->v2_pids = d.v2;
                cg_dir_done(&d);
        }
        r = 0;
        if (h->n == 0)
                r = asprintf(reason, "no cgroup hierarchy in %s holds this process", mi_path) < 0 ? -ENOMEM : 1;
out:
        cg_dir_done(&d2);
        cg_mounts_free(m, nm);
        cg_members_free(mem, nmem);
        return r;
}

static void release_instance(struct cgsvc_host *h) {
        for (size_t i = 0; i < h->n; i++) {
                h->h[i].inst_fd = safe_close(h->h[i].inst_fd);
                free(h->h[i].inst);
                h->h[i].inst = NULL;
        }
}

static void drop_hier(struct cgsvc_host *h, size_t i) {
        int *idx[] = { &h->i_v2, &h->i_cpu, &h->i_mem, &h->i_frz };

        safe_close(h->h[i].inst_fd);
        free(h->h[i].mount_point);
        free(h->h[i].own);
        free(h->h[i].inst);
        memmove(&h->h[i], &h->h[i + 1], (h->n - i - 1) * sizeof h->h[0]);
        h->n--;
        for (size_t k = 0; k < ELEMENTSOF(idx); k++)
                if (*idx[k] == (int)i)
                        *idx[k] = -1;
                else if (*idx[k] > (int)i)
                        (*idx[k])--;
}

/* Make and lock <own>/<instance> in every hierarchy. A hierarchy where
 * that is refused (EACCES, EROFS, EPERM) is dropped with a note. 0; 1
 * when a live gorral holds the name (try another); -errno. */
static int take_instance(struct cgsvc_host *h, char **first_err) {
        for (size_t i = 0; i < h->n;) {
                struct hier *x = &h->h[i];
                _cleanup_free_ char *err = NULL, *p = NULL;
                int r;

                x->inst = join(x->own, h->instance);
                if (!x->inst)
                        return -ENOMEM;
                r = make_dir(h, x, x->inst, &err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        if (!*first_err && !(*first_err = strdup(err ? err : strerror(-r))))
                                return -ENOMEM;
                        r = add_note(h, "cannot use the %s hierarchy: %s", x->controller ? x->controller : "cgroup2",
                                     err ? err : strerror(-r));
                        if (r < 0)
                                return r;
                        drop_hier(h, i);
                        continue;
                }
                p = fsp(h, x->inst, NULL);
                if (!p)
                        return -ENOMEM;
                x->inst_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (x->inst_fd < 0)
                        return negative_errno();
                if (flock(x->inst_fd, LOCK_EX | LOCK_NB) < 0)
                        return errno == EWOULDBLOCK ? 1 : negative_errno();
                i++;
        }
        return 0;
}

static int enable_v2(struct cgsvc_host *h) {
        struct hier *x = &h->h[h->i_v2];
        _cleanup_free_ char *cp = fsp(h, x->own, "cgroup.controllers"), *avail = NULL, *leaf = NULL;
        char want[64] = "";
        size_t n;
        int r;

        x->has_kill = exists(h, x->inst, "cgroup.kill");
        x->has_freeze = exists(h, x->inst, "cgroup.freeze");
        x->has_events = exists(h, x->inst, "cgroup.events");
        if (!cp)
                return -ENOMEM;
        if (read_file(cp, 4096, &avail, &n) < 0)
                h->v2_cpu = h->v2_mem = h->v2_pids = false;
        else {
                h->v2_cpu &= list_has(avail, "cpu");
                h->v2_mem &= list_has(avail, "memory");
                h->v2_pids &= list_has(avail, "pids");
        }
        /* One write with every token: the kernel takes the list at once. */
        snprintf(want, sizeof want, "%s%s%s", h->v2_cpu ? "+cpu " : "", h->v2_mem ? "+memory " : "",
                 h->v2_pids ? "+pids " : "");
        if (!want[0])
                return 0;
        want[strlen(want) - 1] = '\0';

        r = write_str(h, x->own, "cgroup.subtree_control", want);
        if (r == -EBUSY) {
                /* <own> holds processes (gorral itself): v2 allows no
                 * controllers below a cgroup with processes, except at the
                 * root. Move gorral into a leaf of its own instance. */
                leaf = join(x->inst, SELF_LEAF);
                if (!leaf)
                        return -ENOMEM;
                r = make_dir(h, x, leaf, NULL);
                if (r >= 0)
                        r = write_str(h, leaf, "cgroup.procs", "0");
                if (r >= 0) {
                        h->moved = true;
                        r = write_str(h, x->own, "cgroup.subtree_control", want);
                }
        }
        if (r >= 0)
                r = write_str(h, x->inst, "cgroup.subtree_control", want);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                h->v2_cpu = h->v2_mem = h->v2_pids = false;
                return add_note(h, "cannot enable \"%s\" below %s: %s%s; services get no v2 limits", want, x->own,
                                strerror(-r),
                                r == -EBUSY ? " (it holds processes other than gorral)" : "");
        }
        return 0;
}

static int make_describe(struct cgsvc_host *h) {
        char v1s[64] = "";
        const char *v1b = h->v1 ? cgv1_backend(h->v1) : "";
        int k;

        for (size_t i = 0; i < h->n; i++)
                if (h->h[i].kind != HK_V2)
                        snprintf(v1s + strlen(v1s), sizeof v1s - strlen(v1s), "%s%s", v1s[0] ? " " : "",
                                 h->h[i].controller);
        if (h->i_v2 >= 0) {
                const struct hier *x = &h->h[h->i_v2];
                bool tracking = h->n > 1;

                k = asprintf(&h->describe, "%s%s%s%s%s%s (%s%s%s%s) in %s%s", v1s[0] ? "v1 via " : "",
                             v1s[0] ? v1b : "", v1s[0] ? " (" : "", v1s, v1s[0] ? ") + " : "",
                             tracking ? "cgroup2 tracking" : "v2", x->has_kill ? "cgroup.kill" : "freeze+kill",
                             h->v2_cpu ? " cpu" : "", h->v2_mem ? " memory" : "", h->v2_pids ? " pids" : "", x->inst,
                             h->moved ? ", gorral moved into " SELF_LEAF : "");
        } else
                k = asprintf(&h->describe, "v1 via %s (%s) in %s, no cgroup2 tree (%s)", v1b, v1s, h->h[0].inst,
                             h->i_frz >= 0 ? "freezer+kill" : "kill by pid");
        return k < 0 ? -ENOMEM : 0;
}

int cgsvc_host_open(const char *sysroot, struct cgsvc_host **ret, char **ret_reason) {
        struct cgsvc_host *h = calloc(1, sizeof *h);
        _cleanup_free_ char *why = NULL, *first_err = NULL;
        uint64_t deadline = now_usec() + LEFTOVER_WAIT_USEC;
        int r;

        if (!h)
                return -ENOMEM;
        h->i_v2 = h->i_cpu = h->i_mem = h->i_frz = -1;
        if (sysroot && sysroot[0] && strcmp(sysroot, "/") != 0) {
                size_t l = strlen(sysroot);

                while (l > 1 && sysroot[l - 1] == '/')
                        l--;
                h->sysroot = strndup(sysroot, l);
                if (!h->sysroot)
                        goto oom;
        }
        r = discover(h, &why);
        if (r < 0)
                goto fail;
        if (r > 0)
                goto disabled;
        for (size_t i = 0; i < h->n; i++)
                if (h->h[i].kind != HK_V2) {
                        char *note = NULL;

                        if (!h->v1) {
                                r = cgv1_open(h->sysroot, &h->v1, &note);
                                if (r < 0)
                                        goto fail;
                                if (note && add_note(h, "%s", note) < 0) {
                                        free(note);
                                        goto oom;
                                }
                                free(note);
                                note = NULL;
                        }
                        r = cgv1_check_controller(h->v1, h->h[i].controller, h->h[i].mount_point, &note);
                        if (r < 0)
                                goto fail;
                        if (note && add_note(h, "%s", note) < 0) {
                                free(note);
                                goto oom;
                        }
                        free(note);
                }
        for (size_t i = 0; i < h->n; i++) {
                r = clean_leftovers(h, &h->h[i], deadline);
                if (r < 0)
                        goto fail;
        }
        snprintf(h->instance, sizeof h->instance, INSTANCE);
        r = take_instance(h, &first_err);
        if (r == 1) {
                release_instance(h);
                snprintf(h->instance, sizeof h->instance, INSTANCE "-%ld", (long)getpid());
                r = take_instance(h, &first_err);
                if (r == 1)
                        r = -EBUSY;
        }
        if (r < 0)
                goto fail;
        if (h->n == 0) {
                if (asprintf(&why, "cannot create cgroups: %s", first_err ? first_err : "no usable hierarchy") < 0)
                        goto oom;
                goto disabled;
        }
        if (h->i_v2 >= 0 && (r = enable_v2(h)) < 0)
                goto fail;
        h->ctrls = (h->i_cpu >= 0 || h->v2_cpu ? CGSVC_CTRL_CPU : 0) | (h->i_mem >= 0 || h->v2_mem ? CGSVC_CTRL_MEMORY : 0);
        if (make_describe(h) < 0)
                goto oom;
        h->enabled = true;
        *ret = h;
        if (ret_reason)
                *ret_reason = NULL;
        return 0;

disabled:
        release_instance(h);
        /* The reason says it once: drop the per-hierarchy repeats. */
        for (size_t i = 0, k = 0, n = h->n_notes; i < n; i++) {
                if (strncmp(h->notes[i], "cannot use the ", 15) == 0) {
                        free(h->notes[i]);
                        h->n_notes--;
                } else
                        h->notes[k++] = h->notes[i];
        }
        if (asprintf(&h->describe, "disabled: %s", why) < 0)
                goto oom;
        if (ret_reason) {
                if (asprintf(ret_reason, "per-service cgroups disabled, services run in gorral's own cgroup: %s",
                             why) < 0)
                        goto oom;
        }
        *ret = h;
        return 0;
oom:
        r = -ENOMEM;
fail:
        if (r == -ENOMEM) {
                cgsvc_host_free(h);
                return r;
        }
        /* Anything else is the host's doing, not ours: disabled, with why. */
        free(why);
        if (asprintf(&why, "%s", strerror(-r)) < 0)
                why = NULL;
        if (!why) {
                cgsvc_host_free(h);
                return -ENOMEM;
        }
        goto disabled;
}

bool cgsvc_host_enabled(const struct cgsvc_host *h) {
        return h && h->enabled;
}

unsigned cgsvc_host_controllers(const struct cgsvc_host *h) {
        return h && h->enabled ? h->ctrls : 0;
}

const char *cgsvc_host_describe(const struct cgsvc_host *h) {
        return h ? h->describe : "none";
}

size_t cgsvc_host_notes(const struct cgsvc_host *h, const char *const **ret) {
        *ret = (const char *const *)h->notes;
        return h->n_notes;
}

struct cgsvc_host *cgsvc_host_free(struct cgsvc_host *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n; i++) {
                struct hier *x = &h->h[i];

                /* Empty unless services are left or gorral sits in
                 * _gorral; then the next start cleans it. */
                if (x->inst && x->inst_fd >= 0)
                        (void)remove_dir(h, x, x->inst);
                safe_close(x->inst_fd);
                free(x->mount_point);
                free(x->own);
                free(x->inst);
        }
        for (size_t i = 0; i < h->n_notes; i++)
                free(h->notes[i]);
        free(h->notes);
        cgv1_free(h->v1);
        free(h->describe);
        free(h->sysroot);
        free(h);
        return NULL;
}

/* ---- services ---- */

bool cgsvc_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > CGSVC_NAME_MAX || !isalnum((unsigned char)name[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
                        return false;
        return true;
}

static uint64_t period_of(const struct cgsvc_resources *res) {
        return res->cpu_period_us ? res->cpu_period_us : 100000;
}

/* Write res to the service's cgroup in hierarchy i. fresh: just made
 * (v1 quota is already -1 and memory unlimited). */
static int apply(struct cgsvc *c, size_t i, const struct cgsvc_resources *res, bool fresh, char **ret_err) {
        struct cgsvc_host *h = c->host;
        const struct hier *x = &h->h[i];
        const char *dir = c->dir[i];
        char q[32], p[32], m[32];
        int r;

        snprintf(q, sizeof q, "%llu", (unsigned long long)res->cpu_quota_us);
        snprintf(p, sizeof p, "%llu", (unsigned long long)period_of(res));
        snprintf(m, sizeof m, "%llu", (unsigned long long)res->memory_bytes);

        if (x->kind == HK_V2) {
                char cm[80];

                if (h->v2_cpu && (res->has_cpu || !fresh)) {
                        snprintf(cm, sizeof cm, "%s %s", res->has_cpu ? q : "max", p);
                        r = write_str(h, dir, "cpu.max", cm);
                        if (r < 0)
                                goto err_cpu;
                }
                if (h->v2_mem && (res->has_memory || !fresh)) {
                        r = write_str(h, dir, "memory.max", res->has_memory ? m : "max");
                        if (r < 0 && ret_err && asprintf(ret_err, "%s/memory.max = %s: %s", dir,
                                                         res->has_memory ? m : "max", strerror(-r)) < 0)
                                *ret_err = NULL;
                        return r < 0 ? r : 0;
                }
                return 0;
        err_cpu:
                if (ret_err && asprintf(ret_err, "%s/cpu.max: %s", dir, strerror(-r)) < 0)
                        *ret_err = NULL;
                return r;
        }
        if (x->cpu && (res->has_cpu || !fresh)) {
                const struct cgv1_value unset = { "cpu.cfs_quota_us", "-1" };
                const struct cgv1_value vals[] = { { "cpu.cfs_period_us", p }, { "cpu.cfs_quota_us", q } };

                /* The kernel checks quota/period against the parent on
                 * each write: drop the old quota before a new period. */
                r = fresh ? 0 : cgv1_set(h->v1, x->controller, x->mount_point, rel_of(x, dir), &unset, 1, ret_err);
                if (r >= 0 && res->has_cpu) {
                        r = cgv1_set(h->v1, x->controller, x->mount_point, rel_of(x, dir), vals, 2, ret_err);
                        /* v1 refuses a child quota above its parent's
                         * (EINVAL): the quota stays -1 and the parent's,
                         * lower, applies. */
                        if (r == -EINVAL) {
                                if (ret_err) {
                                        free(*ret_err);
                                        *ret_err = NULL;
                                }
                                r = 0;
                        }
                }
                if (r < 0)
                        return r;
        }
        if (x->memory && (res->has_memory || !fresh)) {
                const struct cgv1_value mv = { "memory.limit_in_bytes", res->has_memory ? m : "-1" };

                return cgv1_set(h->v1, x->controller, x->mount_point, rel_of(x, dir), &mv, 1, ret_err);
        }
        return 0;
}

static struct cgsvc *svc_free(struct cgsvc *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < HIER_MAX; i++) {
                free(c->dir[i]);
                if (i < c->n_procs)
                        safe_close(c->procs[i]);
        }
        safe_close(c->events_fd);
        safe_close(c->v2_dir_fd);
        free(c->name);
        free(c->subpath);
        free(c);
        return NULL;
}

int cgsvc_create(struct cgsvc_host *h, const char *service, const struct cgsvc_resources *res,
                 struct cgsvc **ret, char **ret_err) {
        static const struct cgsvc_resources none = {};
        struct cgsvc *c;
        bool made[HIER_MAX] = {};
        int r;

        if (!cgsvc_name_valid(service))
                return -EINVAL;
        if (!h || !h->enabled)
                return -ENOTSUP;
        if (!res)
                res = &none;
        if ((res->has_cpu && res->cpu_quota_us == 0) || (res->has_memory && res->memory_bytes == 0))
                return -EINVAL;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->host = h;
        c->events_fd = -1;
        c->v2_dir_fd = -1;
        c->name = strdup(service);
        r = c->name ? 0 : -ENOMEM;
        if (r >= 0 && asprintf(&c->subpath, "%s%s%s", h->moved ? "../" : h->instance, h->moved ? "" : "/", service) < 0)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < h->n; i++) {
                _cleanup_free_ char *pp = NULL;

                c->dir[i] = join(h->h[i].inst, service);
                if (!c->dir[i]) {
                        r = -ENOMEM;
                        break;
                }
                if (exists(h, c->dir[i], NULL)) {
                        /* A leftover of this name: take it over only empty. */
                        r = for_each_pid(h, c->dir[i], 0, NULL, NULL);
                        if (r > 0)
                                r = -EBUSY;
                        if (r < 0)
                                break;
                }
                r = make_dir(h, &h->h[i], c->dir[i], ret_err);
                if (r < 0)
                        break;
                made[i] = r == 0;
                r = apply(c, i, res, made[i], ret_err);
                if (r < 0)
                        break;
                pp = fsp(h, c->dir[i], "cgroup.procs");
                if (!pp) {
                        r = -ENOMEM;
                        break;
                }
                c->procs[c->n_procs] = open(pp, O_WRONLY | O_CLOEXEC | O_NOCTTY);
                if (c->procs[c->n_procs] < 0) {
                        r = negative_errno();
                        if (ret_err && asprintf(ret_err, "open %s: %s", pp, strerror(-r)) < 0)
                                *ret_err = NULL;
                        break;
                }
                c->n_procs++;
        }
        if (r >= 0 && h->i_v2 >= 0) {
                _cleanup_free_ char *dp = fsp(h, c->dir[h->i_v2], NULL);

                /* Not fatal: without it the child writes cgroup.procs. */
                if (dp)
                        c->v2_dir_fd = open(dp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (r >= 0 && h->i_v2 >= 0 && h->h[h->i_v2].has_events) {
                _cleanup_free_ char *ep = fsp(h, c->dir[h->i_v2], "cgroup.events");

                if (!ep)
                        r = -ENOMEM;
                else if ((c->events_fd = open(ep, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
                        r = negative_errno();
        }
        if (r < 0) {
                for (size_t i = 0; i < h->n; i++)
                        if (made[i])
                                (void)remove_dir(h, &h->h[i], c->dir[i]);
                svc_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int cgsvc_procs_fds(struct cgsvc *c, const int **ret_fds, size_t *ret_n) {
        if (c->destroyed)
                return -ESTALE;
        *ret_fds = c->procs;
        *ret_n = c->n_procs;
        return 0;
}

const char *cgsvc_subpath(const struct cgsvc *c) {
        return c->subpath;
}

const char *cgsvc_path(const struct cgsvc *c) {
        return c->dir[0];
}

int cgsvc_events_fd(const struct cgsvc *c) {
        return c->events_fd;
}

int cgsvc_v2_dir_fd(const struct cgsvc *c, size_t *ret_index) {
        if (c->destroyed || c->v2_dir_fd < 0 || c->host->i_v2 < 0)
                return -1;
        *ret_index = (size_t)c->host->i_v2;
        return c->v2_dir_fd;
}

int cgsvc_parse_events(const char *buf, size_t n, int *ret_populated, int *ret_frozen) {
        int populated = -1, frozen = -1;
        size_t pos = 0;

        while (pos < n) {
                const char *line = buf + pos, *nl = memchr(line, '\n', n - pos), *sp;
                size_t len = nl ? (size_t)(nl - line) : n - pos;
                uint64_t v;

                pos += len + 1;
                sp = memchr(line, ' ', len);
                if (!sp || sp == line || memchr(line, '\0', len) ||
                    parse_u64_n(sp + 1, len - (size_t)(sp + 1 - line), &v) < 0 || v > 1)
                        return -EBADMSG;
                if ((size_t)(sp - line) == 9 && memcmp(line, "populated", 9) == 0)
                        populated = (int)v;
                else if ((size_t)(sp - line) == 6 && memcmp(line, "frozen", 6) == 0)
                        frozen = (int)v;
        }
        if (populated < 0)
                return -EBADMSG;
        *ret_populated = populated;
        *ret_frozen = frozen;
        return 0;
}

static int kill_index(const struct cgsvc_host *h) {
        return h->i_v2 >= 0 ? h->i_v2 : h->i_frz >= 0 ? h->i_frz : 0;
}

int cgsvc_populated(struct cgsvc *c) {
        const struct cgsvc_host *h = c->host;
        int r;

        if (c->destroyed)
                return 0;
        if (c->events_fd >= 0) {
                char buf[256];
                ssize_t k = pread(c->events_fd, buf, sizeof buf, 0);
                int pop, frz;

                if (k < 0)
                        return errno == ENODEV ? 0 : negative_errno(); /* ENODEV: removed */
                r = cgsvc_parse_events(buf, (size_t)k, &pop, &frz);
                return r < 0 ? r : pop;
        }
        r = for_each_pid(h, c->dir[kill_index(h)], 0, NULL, NULL);
        return r < 0 ? r : r > 0;
}

struct sigpass {
        int sig;
        pid_t *seen;
        size_t n, cap;
        bool fresh; /* a pid not seen before in this pass */
};

static int signal_new(pid_t pid, void *ud) {
        struct sigpass *s = ud;
        int r;

        for (size_t i = 0; i < s->n; i++)
                if (s->seen[i] == pid)
                        return 0;
        r = GROW_ARRAY(s->seen, s->cap, s->n + 1, (size_t)1 << 22);
        if (r < 0)
                return r;
        s->seen[s->n++] = pid;
        s->fresh = true;
        r = spawn_kill(pid, s->sig);
        return r == -ESRCH ? 0 : r;
}

int cgsvc_signal(struct cgsvc *c, int sig) {
        struct cgsvc_host *h = c->host;
        int k = kill_index(h), r = 0;
        const struct hier *x = &h->h[k];
        struct sigpass s = { .sig = sig };

        if (h->sysroot)
                return -EPERM;
        if (c->destroyed)
                return 0;
        if (sig == SIGKILL && x->kind == HK_V2 && x->has_kill) {
                r = write_str(h, c->dir[k], "cgroup.kill", "1");
                return r == -ENOENT || r == -ENODEV ? 0 : r < 0 ? r : 0;
        }
        /* Frozen, the set of processes cannot grow under us (no forks);
         * signals stay pending and act at the thaw. */
        freeze(h, x, c->dir[k], true);
        for (unsigned pass = 0; pass < SIGNAL_PASSES; pass++) {
                s.fresh = false;
                r = for_each_pid(h, c->dir[k], 0, signal_new, &s);
                if (r < 0 || !s.fresh)
                        break;
        }
        freeze(h, x, c->dir[k], false);
        free(s.seen);
        return r < 0 ? r : (int)s.n;
}

int cgsvc_kill(struct cgsvc *c) {
        return cgsvc_signal(c, SIGKILL);
}

int cgsvc_update(struct cgsvc *c, const struct cgsvc_resources *res, char **ret_err) {
        if (c->destroyed)
                return -ESTALE;
        if ((res->has_cpu && res->cpu_quota_us == 0) || (res->has_memory && res->memory_bytes == 0))
                return -EINVAL;
        for (size_t i = 0; i < c->host->n; i++) {
                int r = apply(c, i, res, false, ret_err);

                if (r < 0)
                        return r;
        }
        return 0;
}

int cgsvc_destroy(struct cgsvc *c) {
        struct cgsvc_host *h = c->host;
        int r;

        if (c->destroyed)
                return 0;
        r = cgsvc_populated(c);
        if (r < 0)
                return r;
        if (r > 0)
                return -EBUSY;
        /* v1 hierarchies first, the v2 tree (events) last. */
        for (size_t j = h->n; j-- > 0;) {
                for (unsigned attempt = 0;; attempt++) {
                        r = remove_tree(h, &h->h[j], c->dir[j], 0);
                        /* Exiting tasks may stay listed for a moment: a
                         * few immediate retries, then the caller's timer. */
                        if (r != -EBUSY || attempt >= 3)
                                break;
                        sched_yield();
                }
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < c->n_procs; i++)
                c->procs[i] = safe_close(c->procs[i]);
        c->n_procs = 0;
        c->events_fd = safe_close(c->events_fd);
        c->destroyed = true;
        return 0;
}

struct cgsvc *cgsvc_free(struct cgsvc *c) {
        return svc_free(c);
}
