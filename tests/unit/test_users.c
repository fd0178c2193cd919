/* Unit tests for src/users.c: passwd/group parsing and Docker's
 * user/group resolution rules, on buffers (no NSS). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/users.h"

static const char passwd[] =
        "root:x:0:0:root:/root:/bin/sh\n"
        "# a comment\n"
        "+nis::::::\n"
        "broken:x:notanumber:1::/:/bin/sh\n"
        "short:x:5\n"
        "app:x:1000:1000:App:/home/app:/bin/sh\n"
        "web:x:1001:1001::/home/web:/bin/sh\n"
        "app:x:2222:2222:second app, ignored:/:/bin/sh\n"
        "nolf:x:3000:3000::/:/bin/sh";
static const char group[] =
        "root:x:0:\n"
        "app:x:1000:\n"
        "web:x:1001:app\n"
        "metrics:x:2000:web,app\n"
        "apps:x:2001:application\n"
        "bad:x:zz:app\n";

static const struct users_db db = { .passwd = passwd, .passwd_len = sizeof passwd - 1, .group = group, .group_len = sizeof group - 1 };
static const struct users_db nodb = { .passwd_err = -ENOENT, .group_err = -ENOENT };

Test(users, passwd_find) {
        uid_t u;
        gid_t g;
        char *name = NULL;

        cr_assert_eq(users_passwd_find(passwd, sizeof passwd - 1, "app", 0, &u, &g, &name), 0);
        cr_assert_eq(u, 1000);
        cr_assert_eq(g, 1000);
        cr_assert_str_eq(name, "app");
        free(name);
        cr_assert_eq(users_passwd_find(passwd, sizeof passwd - 1, NULL, 1001, &u, &g, &name), 0);
        cr_assert_str_eq(name, "web");
        free(name);
        cr_assert_eq(users_passwd_find(passwd, sizeof passwd - 1, "nolf", 0, &u, &g, NULL), 0);
        cr_assert_eq(u, 3000);
        cr_assert_eq(users_passwd_find(passwd, sizeof passwd - 1, "broken", 0, &u, &g, NULL), -ENOENT);
        cr_assert_eq(users_passwd_find(passwd, sizeof passwd - 1, "short", 0, &u, &g, NULL), -ENOENT);
        cr_assert_eq(users_passwd_find(passwd, sizeof passwd - 1, "+nis", 0, &u, &g, NULL), -ENOENT);
        cr_assert_eq(users_passwd_find(passwd, sizeof passwd - 1, "ap", 0, &u, &g, NULL), -ENOENT);
        cr_assert_eq(users_passwd_find(passwd, sizeof passwd - 1, NULL, 4242, &u, &g, NULL), -ENOENT);
        cr_assert_eq(users_passwd_find("", 0, "root", 0, &u, &g, NULL), -ENOENT);
}

Test(users, group_find_and_list) {
        gid_t g, *v;
        size_t n;

        cr_assert_eq(users_group_find(group, sizeof group - 1, "metrics", &g), 0);
        cr_assert_eq(g, 2000);
        cr_assert_eq(users_group_find(group, sizeof group - 1, "bad", &g), -ENOENT);
        cr_assert_eq(users_group_find(group, sizeof group - 1, "nope", &g), -ENOENT);
        cr_assert_eq(users_group_list(group, sizeof group - 1, "app", 1000, &v, &n), 0);
        /* primary, web, metrics; not "apps" (member "application"). */
        cr_assert_eq(n, 3);
        cr_assert_eq(v[0], 1000);
        cr_assert_eq(v[1], 1001);
        cr_assert_eq(v[2], 2000);
        free(v);
        cr_assert_eq(users_group_list(NULL, 0, "app", 7, &v, &n), 0);
        cr_assert_eq(n, 1);
        free(v);
}

Test(users, parse_id) {
        uint32_t id;

        cr_assert_eq(users_parse_id("0", &id), 0);
        cr_assert_eq(users_parse_id("4294967294", &id), 0);
        cr_assert_eq(id, 4294967294u);
        cr_assert_eq(users_parse_id("4294967295", &id), -ERANGE);
        cr_assert_eq(users_parse_id("-1", &id), -EINVAL);
        cr_assert_eq(users_parse_id("app", &id), -EINVAL);
        cr_assert_eq(users_parse_id("", &id), -EINVAL);
}

static struct users_creds resolve_ok(const struct users_db *d, const char *u, const char *g) {
        struct users_creds c;
        char err[256] = "";

        cr_assert_eq(users_resolve(d, "/r", u, g, &c, err, sizeof err), 0, "%s", err);
        return c;
}

Test(users, resolve_rules) {
        struct users_creds c;
        char err[256];

        c = resolve_ok(&db, "app", NULL);
        cr_assert(c.has_uid && c.uid == 1000 && c.has_gid && c.gid == 1000 && !c.user_unknown_gid);
        cr_assert_eq(c.n_groups, 3);
        free(c.groups);
        /* A number found in passwd behaves like its name. */
        c = resolve_ok(&db, "1001", NULL);
        cr_assert_eq(c.gid, 1001);
        cr_assert_eq(c.n_groups, 2);
        free(c.groups);
        /* A number with no entry, or no passwd at all: gid 0, flagged. */
        c = resolve_ok(&db, "4242", NULL);
        cr_assert(c.has_uid && c.uid == 4242 && c.has_gid && c.gid == 0 && c.user_unknown_gid);
        cr_assert_eq(c.n_groups, 0);
        c = resolve_ok(&nodb, "65534", "65534");
        cr_assert(c.uid == 65534 && c.gid == 65534 && !c.user_unknown_gid && c.n_groups == 0);
        /* An explicit group wins over the primary one. */
        c = resolve_ok(&db, "app", "metrics");
        cr_assert_eq(c.gid, 2000);
        cr_assert_eq(c.groups[0], 2000);
        free(c.groups);
        /* A group alone. */
        c = resolve_ok(&db, NULL, "web");
        cr_assert(!c.has_uid && c.has_gid && c.gid == 1001 && c.n_groups == 0);

        cr_assert_eq(users_resolve(&db, "/r", "nobody", NULL, &c, err, sizeof err), -ENOENT);
        cr_assert_str_eq(err, "user \"nobody\" does not exist (not in /r/etc/passwd)");
        cr_assert_eq(users_resolve(&db, "/", NULL, "wheel", &c, err, sizeof err), -ENOENT);
        cr_assert_str_eq(err, "group \"wheel\" does not exist (not in /etc/group)");
        cr_assert_eq(users_resolve(&nodb, "/r", "app", NULL, &c, err, sizeof err), -ENOENT);
        cr_assert(strstr(err, "cannot read /r/etc/passwd"), "%s", err);
        cr_assert_eq(users_resolve(&nodb, "/r", NULL, "app", &c, err, sizeof err), -ENOENT);
        cr_assert(strstr(err, "cannot read /r/etc/group"), "%s", err);
        cr_assert_eq(users_resolve(&db, "/r", "4294967295", NULL, &c, err, sizeof err), -ERANGE);
        cr_assert_eq(users_resolve(&db, "/r", NULL, "99999999999", &c, err, sizeof err), -ERANGE);
}
