/* users.h: user and group names to ids (L0), from the passwd and group
 * files of a root directory ("/" or an image's or a test's root), never
 * through getpwnam(3): glibc's NSS and musl differ, and a static binary
 * must answer the same. The parsers are pure over buffers.
 *
 * passwd lines: name:password:uid:gid:gecos:home:shell; group lines:
 * name:password:gid:member,member. Lines that do not parse (and NIS
 * "+"/"-" lines) are skipped, as the C libraries do. The first match
 * wins. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define USERS_MAX_GROUPS 256u

/* Find a passwd entry by name (name != NULL) or by uid. 0 with the ids,
 * -ENOENT when absent. ret_name (optional): the entry's name, malloc'd. */
int users_passwd_find(const char *buf, size_t n, const char *name, uid_t uid, uid_t *ret_uid, gid_t *ret_gid,
                      char **ret_name);
/* Find a group by name. 0 with *ret_gid, -ENOENT. */
int users_group_find(const char *buf, size_t n, const char *name, gid_t *ret_gid);
/* The groups a user belongs to: primary first, then every group whose
 * member list names user (deduplicated, at most USERS_MAX_GROUPS). 0 with
 * a malloc'd array, -ENOMEM. */
int users_group_list(const char *buf, size_t n, const char *user, gid_t primary, gid_t **ret, size_t *ret_n);

/* A decimal id: digits only, below 2^32-1 ((uid_t)-1 means "unchanged"
 * to setresuid). 0, -EINVAL (not a number), -ERANGE. */
int users_parse_id(const char *s, uint32_t *ret);

/* The files a resolution reads, loaded by the caller (config.c reads
 * ROOT/etc/passwd and ROOT/etc/group). A NULL buffer means the file
 * could not be read; *_err says why (-errno). */
struct users_db {
        const char *passwd;
        size_t passwd_len;
        int passwd_err;
        const char *group;
        size_t group_len;
        int group_err;
};

struct users_creds {
        bool has_uid;
        uid_t uid;
        bool has_gid;
        gid_t gid;
        gid_t *groups;          /* malloc'd supplementary groups */
        size_t n_groups;
        bool user_unknown_gid;  /* a numeric user not in passwd: gid 0 was taken */
};

/* Resolve user and group (either may be NULL) as Docker does: a number
 * needs no file; a name must be found; a user without a group takes its
 * passwd gid (0 when a numeric user has no entry; user_unknown_gid says
 * so); a user found in passwd gets its groups from the group file as
 * supplementary groups; a group without a user sets the gid and clears the
 * supplementary groups. 0 with *ret (free ret->groups), or -ENOENT /
 * -EINVAL / -ERANGE with a message in errbuf (which names the file), or
 * -ENOMEM. */
int users_resolve(const struct users_db *db, const char *root, const char *user, const char *group,
                  struct users_creds *ret, char *errbuf, size_t errlen);
