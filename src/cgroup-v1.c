/* cgroup-v1.c: cgroup v1 directories through libcgroup 2.0.2 or by direct
 * writes (see cgroup-v1.h).
 *
 * Which libcgroup calls, and why only these (measured against 2.0.2 on
 * this kind of hybrid host, and read in its src/api.c):
 *   - cgroup_init(): builds the mount table from /proc/cgroups and
 *     /proc/mounts under a write lock it always releases. Called once per
 *     cgv1_open(); a second call rebuilds the table (harmless).
 *   - cgroup_new_cgroup() + cgroup_add_controller() + cgroup_add_value_*()
 *     + cgroup_create_cgroup(cg, 1): mkdir -p (EEXIST is not an error, so
 *     the same call also rewrites the values of an existing cgroup) and one
 *     write per value in the order added. ignore_ownership = 1: we create
 *     as the owner of the tree; a chown to libcgroup's default uid/gid 0
 *     would break a delegated subtree owned by another user.
 *   - cgroup_delete_cgroup_ext(cg, CGFLAG_DELETE_EMPTY_ONLY): the function
 *     cgroup_delete_cgroup() calls, with the flag that makes it a plain
 *     rmdir. Without it (cgroup_delete_cgroup(cg, 0)) libcgroup first moves
 *     every task still listed into the parent, one `tasks` write per
 *     thread: a process still alive would escape the service's stop
 *     boundary into gorral's own cgroup. The caller only removes empty
 *     cgroups; EBUSY comes back as ECGNONEMPTY.
 *   - cgroup_get_subsys_mount_point(): which mount libcgroup will write to
 *     (it takes the first of each controller in /proc/mounts).
 *   - NEVER cgroup_attach_task_pid(): with a NULL cgroup it dereferences
 *     NULL inside a loop that holds cg_mount_table_lock (a read lock), and
 *     its other error returns in that loop leave the lock held, so the next
 *     cgroup_init() (write lock) would hang gorral's one thread forever; it
 *     also writes `tasks`, which moves one thread, not a Go process's
 *     threads, and is not safe between vfork and exec. The child enters by
 *     writing "0" to cgroup.procs (spawn.h).
 * Cost: each mkdir and each value write first re-reads /proc/mounts
 * (cg_test_mounted_fs), so a service's create takes about twice as long
 * as direct writes (~0.6 ms against ~0.3 ms here): once per start.
 * libcgroup's own errors are mapped to -errno: ECGOTHER carries errno in
 * cgroup_get_last_errno(); its mkdir reports EPERM as ECGROUPNOTOWNER and
 * every other failure (EROFS, EACCES) as ECGROUPNOTALLOWED. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef GORRAL_STATIC
#include <libcgroup.h>
#endif

#include "gorral/cgroup-v1.h"
#include "gorral/util.h"

struct cgv1 {
        char *sysroot;     /* NULL: the real root */
        bool libcgroup;    /* cgroup_init() succeeded and no sysroot */
        /* Controllers whose libcgroup mount point differs from mountinfo's
         * go through direct writes (cgv1_check_controller). */
        char **direct;
        size_t n_direct;
};

#ifndef GORRAL_STATIC
/* The BSS: wholly anonymous pages from the first page after edata to the
 * last before end (end(3)); edata's own page may hold file-backed data. */
extern char edata[], end[];

static bool bss_range(uintptr_t *ret_start, size_t *ret_pages, size_t *ret_pg) {
        long pg = sysconf(_SC_PAGESIZE);
        uintptr_t a, z;

        if (pg <= 0)
                return false;
        a = ((uintptr_t)edata + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
        z = (uintptr_t)end & ~((uintptr_t)pg - 1);
        if (z <= a)
                return false;
        *ret_start = a, *ret_pages = (z - a) / (size_t)pg, *ret_pg = (size_t)pg;
        return true;
}

/* Which BSS pages are resident (one byte per page, bit 0), or NULL. */
static unsigned char *bss_resident(void) {
        uintptr_t a;
        size_t n, pg;
        unsigned char *v;

        if (!bss_range(&a, &n, &pg) || !(v = malloc(n)))
                return NULL;
        if (mincore((void *)a, n * pg, v) < 0) {
                free(v);
                return NULL;
        }
        return v;
}

/* A whole page, across globals: in the ASan build the redzones between
 * them are poisoned, so this read must not be instrumented (it only looks
 * for a non-zero word; memcmp would be intercepted and checked). */
__attribute__((no_sanitize_address)) static bool page_is_zero(const void *page, size_t pg) {
        const unsigned long *w = page;

        for (size_t i = 0; i < pg / sizeof *w; i++)
                if (w[i] != 0)
                        return false;
        return true;
}

/* cgroup_init() starts by clearing libcgroup's mount table, a static array
 * of 100 entries of two FILENAME_MAX buffers each (820 KiB of BSS in
 * 2.0.2), with one memset: every page of it becomes resident although a
 * host fills a dozen entries, and that was a quarter of gorral's RSS with
 * 50 services. Give back the BSS pages the call faulted in and left all
 * zero: MADV_DONTNEED on private anonymous memory makes the next access
 * read a fresh zero page, which is what they hold, so only the RSS
 * changes. No thread can write them meanwhile (gorral has one). */
static void bss_release_zeroed(const unsigned char *before) {
        _cleanup_free_ unsigned char *after = bss_resident();
        uintptr_t a;
        size_t n, pg, run = 0;

        if (!before || !after || !bss_range(&a, &n, &pg))
                return;
        for (size_t i = 0; i <= n; i++) {
                bool drop = i < n && !(before[i] & 1) && (after[i] & 1) && page_is_zero((const void *)(a + i * pg), pg);

                if (drop) {
                        run++;
                        continue;
                }
                if (run)
                        (void)madvise((void *)(a + (i - run) * pg), run * pg, MADV_DONTNEED);
                run = 0;
        }
}
#endif

const char *cgv1_backend(const struct cgv1 *b) {
        return b && b->libcgroup ? "libcgroup 2.0.2" : "direct writes";
}

struct cgv1 *cgv1_free(struct cgv1 *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n_direct; i++)
                free(b->direct[i]);
        free(b->direct);
        free(b->sysroot);
        free(b);
        return NULL;
}

int cgv1_open(const char *sysroot, struct cgv1 **ret, char **ret_note) {
        struct cgv1 *b = calloc(1, sizeof *b);
        char *note = NULL;

        if (!b)
                return -ENOMEM;
        if (sysroot && sysroot[0] && strcmp(sysroot, "/") != 0) {
                b->sysroot = strdup(sysroot);
                if (!b->sysroot) {
                        free(b);
                        return -ENOMEM;
                }
        }
#ifndef GORRAL_STATIC
        if (!b->sysroot) {
                _cleanup_free_ unsigned char *resident = bss_resident();
                int r = cgroup_init();

                bss_release_zeroed(resident);

                if (r == 0)
                        b->libcgroup = true;
                else if (asprintf(&note, "libcgroup: cgroup_init() failed: %s (%d); writing v1 cgroups directly",
                                  cgroup_strerror(r), r) < 0)
                        note = NULL;
        } else if (asprintf(&note, "libcgroup reads the real /proc/mounts: direct writes under sysroot %s",
                            b->sysroot) < 0)
                note = NULL;
#endif
        *ret = b;
        if (ret_note)
                *ret_note = note;
        else
                free(note);
        return 0;
}

static bool is_direct(const struct cgv1 *b, const char *controller) {
        if (!b->libcgroup)
                return true;
        for (size_t i = 0; i < b->n_direct; i++)
                if (strcmp(b->direct[i], controller) == 0)
                        return true;
        return false;
}

int cgv1_check_controller(struct cgv1 *b, const char *controller, const char *mount_point, char **ret_note) {
#ifndef GORRAL_STATIC
        char *mp = NULL, **v;
        int r;

        if (!b->libcgroup)
                return 0;
        r = cgroup_get_subsys_mount_point(controller, &mp);
        if (r == 0 && strcmp(mp, mount_point) == 0) {
                free(mp);
                return 0;
        }
        v = realloc(b->direct, (b->n_direct + 1) * sizeof *v);
        if (!v) {
                free(mp);
                return -ENOMEM;
        }
        b->direct = v;
        b->direct[b->n_direct] = strdup(controller);
        if (!b->direct[b->n_direct]) {
                free(mp);
                return -ENOMEM;
        }
        b->n_direct++;
        if (ret_note && asprintf(ret_note, "libcgroup finds %s %s%s, mountinfo %s: writing %s directly", controller,
                                 r == 0 ? "at " : "nowhere", r == 0 ? mp : "", mount_point, controller) < 0)
                *ret_note = NULL;
        free(mp);
        return 1;
#else
        (void)b, (void)controller, (void)mount_point, (void)ret_note;
        return 0;
#endif
}

static char *fs_path(const struct cgv1 *b, const char *mount_point, const char *rel, const char *name) {
        char *p;

        if (asprintf(&p, "%s%s%s%s%s", b->sysroot ? b->sysroot : "", mount_point, rel, name ? "/" : "",
                     name ? name : "") < 0)
                return NULL;
        return p;
}

static int set_err(char **ret_err, const char *fmt, const char *a, const char *b, int r) {
        if (ret_err && asprintf(ret_err, fmt, a, b, strerror(-r)) < 0)
                *ret_err = NULL;
        return r;
}

static int direct_set(const struct cgv1 *b, const char *mount_point, const char *rel, const struct cgv1_value *vals,
                      size_t n, char **ret_err) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = fs_path(b, mount_point, rel, vals[i].name);
                _cleanup_close_ int fd = -1;
                int r;

                if (!p)
                        return -ENOMEM;
                fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY); /* as cgsvc.c write_str() */
                if (fd < 0)
                        return set_err(ret_err, "open %s (value %s): %s", p, vals[i].value, negative_errno());
                r = write_all(fd, vals[i].value, strlen(vals[i].value));
                if (r < 0)
                        return set_err(ret_err, "write %s = \"%s\": %s", p, vals[i].value, r);
        }
        return 0;
}

#ifndef GORRAL_STATIC
static int lc_errno(int r) {
        int e;

        switch (r) {
        case 0: return 0;
        case ECGOTHER:
                e = cgroup_get_last_errno();
                return e > 0 ? -e : -EIO;
        case ECGROUPNOTOWNER: return -EPERM;
        case ECGROUPNOTALLOWED: return -EACCES;
        case ECGNONEMPTY: return -EBUSY;
        case ECGROUPVALUENOTEXIST:
        case ECGROUPNOTMOUNTED:
        case ECGROUPSUBSYSNOTMOUNTED:
        case ECGROUPNOTEXIST: return -ENOENT;
        default: return -EIO;
        }
}

static void lc_cgroup_free(struct cgroup *cg) {
        cgroup_free(&cg);
}
DEFINE_CLEANUP_FUNC(struct cgroup *, lc_cgroup_free);

/* One cgroup_create_cgroup() call: mkdir -p, then the values in order. */
static int lc_create(const char *controller, const char *rel, const char *parent_dir, const struct cgv1_value *vals,
                     size_t n, char **ret_err) {
        _cleanup_(lc_cgroup_freep) struct cgroup *cg = NULL;
        struct cgroup_controller *ctl;
        int r;

        cg = cgroup_new_cgroup(rel);
        if (!cg)
                return -ENOMEM;
        ctl = cgroup_add_controller(cg, controller);
        if (!ctl)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = cgroup_add_value_string(ctl, vals[i].name, vals[i].value);
                if (r != 0)
                        return set_err(ret_err, "cgroup_add_value_string(%s, %s): %s", vals[i].name, vals[i].value,
                                       lc_errno(r));
        }
        r = cgroup_create_cgroup(cg, 1);
        if (r != 0) {
                int e = lc_errno(r);

                /* Its mkdir folds EROFS, EACCES, ENOENT into one code: ask
                 * the file system about the parent for the real cause. */
                if (r == ECGROUPNOTALLOWED && parent_dir && access(parent_dir, W_OK) < 0)
                        e = negative_errno();

                if (ret_err && asprintf(ret_err, "cgroup_create_cgroup(%s:%s): %s (%s)", controller, rel,
                                        cgroup_strerror(r), strerror(-e)) < 0)
                        *ret_err = NULL;
                return e;
        }
        return 0;
}
#endif

int cgv1_create(struct cgv1 *b, const char *controller, const char *mount_point, const char *rel,
                const struct cgv1_value *vals, size_t n, char **ret_err) {
        _cleanup_free_ char *dir = fs_path(b, mount_point, rel, NULL);
        struct stat st;
        bool existed;
        int r;

        if (!dir)
                return -ENOMEM;
        existed = stat(dir, &st) == 0;
#ifndef GORRAL_STATIC
        if (!is_direct(b, controller)) {
                _cleanup_free_ char *parent = strdup(dir);
                char *slash = parent ? strrchr(parent, '/') : NULL;

                if (slash && slash != parent)
                        *slash = '\0';
                r = lc_create(controller, rel, slash ? parent : NULL, vals, n, ret_err);
                return r < 0 ? r : existed;
        }
#endif
        (void)is_direct, (void)controller;
        if (!existed && mkdir(dir, 0755) < 0 && errno != EEXIST)
                return set_err(ret_err, "mkdir %s%s: %s", dir, "", negative_errno());
        r = direct_set(b, mount_point, rel, vals, n, ret_err);
        return r < 0 ? r : existed;
}

int cgv1_set(struct cgv1 *b, const char *controller, const char *mount_point, const char *rel,
             const struct cgv1_value *vals, size_t n, char **ret_err) {
#ifndef GORRAL_STATIC
        /* cgroup_create_cgroup() on an existing cgroup is a mkdir that
         * meets EEXIST and then the writes: the one call that works for
         * both (cgroup_modify_cgroup would first need cgroup_get_cgroup,
         * which reads every file of every hierarchy). */
        if (!is_direct(b, controller))
                return lc_create(controller, rel, NULL, vals, n, ret_err);
#endif
        (void)controller;
        return direct_set(b, mount_point, rel, vals, n, ret_err);
}

int cgv1_remove(struct cgv1 *b, const char *controller, const char *mount_point, const char *rel) {
        _cleanup_free_ char *dir = NULL;

#ifndef GORRAL_STATIC
        if (!is_direct(b, controller)) {
                _cleanup_(lc_cgroup_freep) struct cgroup *cg = cgroup_new_cgroup(rel);
                int r;

                if (!cg || !cgroup_add_controller(cg, controller))
                        return -ENOMEM;
                r = lc_errno(cgroup_delete_cgroup_ext(cg, CGFLAG_DELETE_EMPTY_ONLY));
                /* ECGOTHER + EBUSY: rmdir found child cgroups. */
                return r == -ENOTEMPTY ? -EBUSY : r;
        }
#endif
        (void)controller;
        dir = fs_path(b, mount_point, rel, NULL);
        if (!dir)
                return -ENOMEM;
        if (rmdir(dir) < 0) {
                if (errno == ENOENT)
                        return 0;
                return errno == ENOTEMPTY ? -EBUSY : negative_errno();
        }
        return 0;
}
