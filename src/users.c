/* users.c: user and group names to ids from passwd/group buffers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/users.h"
#include "gorral/util.h"

int users_parse_id(const char *s, uint32_t *ret) {
        uint64_t u;
        int r = parse_u64(s, &u);

        if (r < 0)
                return r;
        if (u >= UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t)u;
        return 0;
}

/* Split the line [p, end) into at most max ':'-separated fields. Returns
 * the number of fields. */
static size_t split_fields(const char *p, const char *end, const char **f, size_t *fl, size_t max) {
        size_t k = 0;

        while (k < max) {
                const char *c = memchr(p, ':', (size_t)(end - p));

                f[k] = p;
                fl[k] = (size_t)((c ? c : end) - p);
                k++;
                if (!c)
                        break;
                p = c + 1;
        }
        return k;
}

static bool field_is(const char *f, size_t fl, const char *s) {
        return strlen(s) == fl && memcmp(f, s, fl) == 0;
}

/* Iterate the lines of buf: cb gets each line's fields; a return > 0
 * stops the walk with that value. */
typedef int (*line_cb)(const char **f, size_t *fl, size_t nf, void *userdata);
static int each_line(const char *buf, size_t n, line_cb cb, void *userdata) {
        const char *p = buf, *end = buf + n;

        while (p < end) {
                const char *eol = memchr(p, '\n', (size_t)(end - p));
                const char *le = eol ? eol : end;
                const char *f[8];
                size_t fl[8], nf;
                int r;

                if (le > p && *p != '#' && *p != '+' && *p != '-') {
                        nf = split_fields(p, le, f, fl, ELEMENTSOF(f));
                        r = cb(f, fl, nf, userdata);
                        if (r != 0)
                                return r;
                }
                p = eol ? eol + 1 : end;
        }
        return 0;
}

static bool field_id(const char *f, size_t fl, uint32_t *ret) {
        uint64_t u;

        if (parse_u64_n(f, fl, &u) < 0 || u >= UINT32_MAX)
                return false;
        *ret = (uint32_t)u;
        return true;
}

struct pw_find {
        const char *name;
        uid_t uid;
        uid_t ret_uid;
        gid_t ret_gid;
        const char *ret_name;
        size_t ret_name_len;
};

static int pw_cb(const char **f, size_t *fl, size_t nf, void *userdata) {
        struct pw_find *q = userdata;
        uint32_t uid, gid;

        if (nf < 4 || fl[0] == 0 || !field_id(f[2], fl[2], &uid) || !field_id(f[3], fl[3], &gid))
                return 0;
        if (q->name ? !field_is(f[0], fl[0], q->name) : uid != q->uid)
                return 0;
        q->ret_uid = uid;
        q->ret_gid = gid;
        q->ret_name = f[0];
        q->ret_name_len = fl[0];
        return 1;
}

int users_passwd_find(const char *buf, size_t n, const char *name, uid_t uid, uid_t *ret_uid, gid_t *ret_gid,
                      char **ret_name) {
        struct pw_find q = { .name = name, .uid = uid };

        if (each_line(buf, n, pw_cb, &q) <= 0)
                return -ENOENT;
        if (ret_name) {
                *ret_name = strndup(q.ret_name, q.ret_name_len);
                if (!*ret_name)
                        return -ENOMEM;
        }
        if (ret_uid)
                *ret_uid = q.ret_uid;
        if (ret_gid)
                *ret_gid = q.ret_gid;
        return 0;
}

struct gr_find {
        const char *name;
        gid_t ret_gid;
};

static int gr_cb(const char **f, size_t *fl, size_t nf, void *userdata) {
        struct gr_find *q = userdata;
        uint32_t gid;

        if (nf < 3 || fl[0] == 0 || !field_id(f[2], fl[2], &gid) || !field_is(f[0], fl[0], q->name))
                return 0;
        q->ret_gid = gid;
        return 1;
}

int users_group_find(const char *buf, size_t n, const char *name, gid_t *ret_gid) {
        struct gr_find q = { .name = name };

        if (each_line(buf, n, gr_cb, &q) <= 0)
                return -ENOENT;
        *ret_gid = q.ret_gid;
        return 0;
}

struct gr_list {
        const char *user;
        gid_t *v;
        size_t n;
        int err;
};

static int add_gid(struct gr_list *q, gid_t g) {
        for (size_t i = 0; i < q->n; i++)
                if (q->v[i] == g)
                        return 0;
        if (q->n >= USERS_MAX_GROUPS)
                return 0; /* bounded: the rest is dropped, as NGROUPS would */
        q->v[q->n++] = g;
        return 0;
}

static int grl_cb(const char **f, size_t *fl, size_t nf, void *userdata) {
        struct gr_list *q = userdata;
        uint32_t gid;
        const char *m, *end;

        if (nf < 4 || fl[0] == 0 || !field_id(f[2], fl[2], &gid))
                return 0;
        for (m = f[3], end = f[3] + fl[3]; m < end;) {
                const char *c = memchr(m, ',', (size_t)(end - m));
                const char *me = c ? c : end;

                if (field_is(m, (size_t)(me - m), q->user)) {
                        add_gid(q, gid);
                        break;
                }
                m = c ? c + 1 : end;
        }
        return 0;
}

int users_group_list(const char *buf, size_t n, const char *user, gid_t primary, gid_t **ret, size_t *ret_n) {
        struct gr_list q = { .user = user };

        q.v = malloc(USERS_MAX_GROUPS * sizeof *q.v);
        if (!q.v)
                return -ENOMEM;
        add_gid(&q, primary);
        if (buf)
                each_line(buf, n, grl_cb, &q);
        *ret = q.v;
        *ret_n = q.n;
        return 0;
}

static const char *root_prefix(const char *root) {
        /* "/" adds nothing: "/etc/passwd", not "//etc/passwd". */
        return !root || strcmp(root, "/") == 0 ? "" : root;
}

int users_resolve(const struct users_db *db, const char *root, const char *user, const char *group,
                  struct users_creds *ret, char *errbuf, size_t errlen) {
        struct users_creds c = { 0 };
        _cleanup_free_ char *pwname = NULL;
        const char *rp = root_prefix(root);
        uint32_t id;
        int r;

        if (user) {
                r = users_parse_id(user, &id);
                if (r == -ERANGE) {
                        snprintf(errbuf, errlen, "uid \"%s\" is out of range (expected 0 to 4294967294)", user);
                        return r;
                }
                if (r == 0) {
                        c.has_uid = true;
                        c.uid = id;
                        if (db->passwd && users_passwd_find(db->passwd, db->passwd_len, NULL, id, NULL, &c.gid,
                                                            &pwname) == 0)
                                c.has_gid = true;
                } else {
                        if (!db->passwd) {
                                snprintf(errbuf, errlen, "user \"%s\": cannot read %s/etc/passwd: %s (use a "
                                         "numeric uid where there is no passwd file)", user, rp,
                                         strerror(-db->passwd_err));
                                return -ENOENT;
                        }
                        r = users_passwd_find(db->passwd, db->passwd_len, user, 0, &c.uid, &c.gid, &pwname);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0) {
                                snprintf(errbuf, errlen, "user \"%s\" does not exist (not in %s/etc/passwd)", user,
                                         rp);
                                return -ENOENT;
                        }
                        c.has_uid = c.has_gid = true;
                }
                if (!c.has_gid) {
                        /* Docker's rule for a uid without an entry. */
                        c.has_gid = true;
                        c.gid = 0;
                        c.user_unknown_gid = true;
                }
        }
        if (group) {
                r = users_parse_id(group, &id);
                if (r == -ERANGE) {
                        snprintf(errbuf, errlen, "gid \"%s\" is out of range (expected 0 to 4294967294)", group);
                        return r;
                }
                if (r == 0)
                        c.gid = id;
                else {
                        if (!db->group) {
                                snprintf(errbuf, errlen, "group \"%s\": cannot read %s/etc/group: %s (use a "
                                         "numeric gid where there is no group file)", group, rp,
                                         strerror(-db->group_err));
                                return -ENOENT;
                        }
                        if (users_group_find(db->group, db->group_len, group, &c.gid) < 0) {
                                snprintf(errbuf, errlen, "group \"%s\" does not exist (not in %s/etc/group)", group,
                                         rp);
                                return -ENOENT;
                        }
                }
                c.has_gid = true;
                c.user_unknown_gid = false;
        }
        if (pwname) {
                r = users_group_list(db->group, db->group ? db->group_len : 0, pwname, c.gid, &c.groups,
                                     &c.n_groups);
                if (r < 0)
                        return r;
        }
        *ret = c;
        return 0;
}
