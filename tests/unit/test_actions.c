/* Unit tests for src/actions.c's dump files: where actions_save_dump()
 * writes, that it never writes over a file, and that the findings' dumps
 * and D-Bus's Dump are each kept to their own count in one directory. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gorral/actions.h"

static char dir[] = "/tmp/gorral-test-actions.XXXXXX";

static void setup(void) { cr_assert_not_null(mkdtemp(dir)); }

static void teardown(void) {
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        (void)!system(cmd);
}

/* Files of STATE/dumps/api ending in suffix and not in other. */
static unsigned count(const char *suffix, const char *other) {
        char path[256];
        unsigned n = 0;
        struct dirent *e;
        DIR *d;

        snprintf(path, sizeof path, "%s/dumps/api", dir);
        d = opendir(path);
        cr_assert_not_null(d, "%s", path);
        while ((e = readdir(d))) {
                size_t k = strlen(e->d_name), s = strlen(suffix), o = other ? strlen(other) : 0;

                if (k >= s && !strcmp(e->d_name + k - s, suffix) && !(other && k >= o && !strcmp(e->d_name + k - o, other)))
                        n++;
        }
        closedir(d);
        return n;
}

static char *save(const char *tag, int64_t wall_usec, unsigned keep, const char *suffix, const char *other) {
        char *path = NULL;

        cr_assert_eq(actions_save_dump(dir, "api", tag, wall_usec, "goroutine 1 [running]:\n", 23, keep, suffix, other,
                                       &path),
                     0);
        cr_assert_not_null(path);
        return path;
}

Test(actions, dumps_are_named_by_time_and_tag, .init = setup, .fini = teardown) {
        char want[256], *path = save("leak", 1796164707553000LL, 3, ".txt", ACTIONS_DBUS_DUMP_SUFFIX);
        struct stat st;

        snprintf(want, sizeof want, "%s/dumps/api/20261201T223827.553Z-leak.txt", dir);
        cr_assert_str_eq(path, want);
        cr_assert_eq(stat(path, &st), 0);
        cr_assert_eq(st.st_mode & 0777, 0600);
        cr_assert_eq(st.st_size, 23);
        free(path);
        /* the same name again: refused, the first file kept */
        path = NULL;
        cr_assert_eq(actions_save_dump(dir, "api", "leak", 1796164707553000LL, "x", 1, 3, ".txt",
                                       ACTIONS_DBUS_DUMP_SUFFIX, &path),
                     -EEXIST);
        cr_assert_null(path);
        cr_assert_eq(stat(want, &st), 0);
        cr_assert_eq(st.st_size, 23);
}

Test(actions, findings_and_dbus_dumps_keep_their_own_counts, .init = setup, .fini = teardown) {
        int64_t t = 1796164707000000LL;

        /* five D-Bus dumps, then findings' dumps: the D-Bus files must not
         * take the findings' places (they did while every ".txt" counted) */
        for (int i = 0; i < 5; i++)
                free(save("dbus", t += 1000, 5, ACTIONS_DBUS_DUMP_SUFFIX, NULL));
        for (int i = 0; i < 4; i++)
                free(save(i % 2 ? "threads" : "leak", t += 1000, 3, ".txt", ACTIONS_DBUS_DUMP_SUFFIX));
        cr_assert_eq(count(".txt", ACTIONS_DBUS_DUMP_SUFFIX), 3);
        cr_assert_eq(count(ACTIONS_DBUS_DUMP_SUFFIX, NULL), 5);
        /* one more D-Bus dump: the oldest D-Bus file goes, no finding's */
        free(save("dbus", t += 1000, 5, ACTIONS_DBUS_DUMP_SUFFIX, NULL));
        cr_assert_eq(count(ACTIONS_DBUS_DUMP_SUFFIX, NULL), 5);
        cr_assert_eq(count(".txt", ACTIONS_DBUS_DUMP_SUFFIX), 3);
        /* the newest findings' dumps are the ones kept */
        cr_assert_eq(count("-leak.txt", NULL) + count("-threads.txt", NULL), 3);
        {
                char path[256];
                struct stat st;

                snprintf(path, sizeof path, "%s/dumps/api/20261201T223827.006Z-leak.txt", dir);
                cr_assert_neq(stat(path, &st), 0, "the oldest finding's dump is still there");
                snprintf(path, sizeof path, "%s/dumps/api/20261201T223827.009Z-threads.txt", dir);
                cr_assert_eq(stat(path, &st), 0, "the newest finding's dump is gone");
        }
}
