/* buildinfo.h: the Go build information of an ELF binary (.go.buildinfo),
 * parsed in C as `go version -m` does (L1). Pure parser over a buffer plus
 * a thin file reader. Nothing here logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct go_buildinfo {
        char *go_version; /* "go1.19.8" */
        char *path;       /* main package path ("path\t..."), or NULL */
        char *main_module; /* "mod\t<path>\t<version>", module path, or NULL */
        char *main_version;
        char *modinfo;    /* the raw tab-separated text between the sentinels */
        bool big_endian;
        unsigned ptr_size;
        /* Refinements (added after the first contract): */
        bool inline_strings; /* Go >= 1.18 layout (flags & 2); false: pre-1.18 pointers */
        unsigned elf_class;  /* 32 or 64 */
};

/* One "build\tKEY=VALUE" line, Go-unquoted. */
struct go_build_setting {
        char *key;
        char *value;
};

/* One "mod" or "dep" line; replace_* from a following "=>" line. */
struct go_module {
        char *path;
        char *version;
        char *sum;          /* "" when absent */
        char *replace_path; /* NULL when not replaced */
        char *replace_version;
};

/* -ENOEXEC: not an ELF file; -ENOMSG: ELF without Go build info;
 * -EBADMSG: a truncated or inconsistent build info. */
int buildinfo_parse(const void *buf, size_t n, struct go_buildinfo *ret);
/* Reads only the ELF headers, the section name table and the build info
 * itself (pread, O_CLOEXEC), never the whole file. -EFBIG above 1 GiB,
 * -EINVAL not a regular file, or the open(2) error. */
int buildinfo_read(const char *path, struct go_buildinfo *ret);
void buildinfo_done(struct go_buildinfo *b);

/* "go1.19.8" -> 1, 19, 8; "go1.25rc1" -> 1, 25, 0. -EINVAL otherwise. */
int go_version_parse(const char *v, unsigned *ret_major, unsigned *ret_minor, unsigned *ret_patch);

/* The value of a "build\tKEY=VALUE" setting (malloc'd), -ENOENT if absent. */
int buildinfo_setting(const struct go_buildinfo *b, const char *key, char **ret);

/* Every build setting in order (keys and values Go-unquoted); a line Go
 * itself would reject gives -EBADMSG. Free with buildinfo_settings_free. */
int buildinfo_settings(const struct go_buildinfo *b, struct go_build_setting **ret, size_t *ret_n);
void buildinfo_settings_free(struct go_build_setting *s, size_t n);

/* The "dep" lines (with their "=>" replacements), in order. */
int buildinfo_deps(const struct go_buildinfo *b, struct go_module **ret, size_t *ret_n);
void buildinfo_deps_free(struct go_module *m, size_t n);

/* Unquote a Go string literal ("..." with escapes, or `...`) of n bytes
 * (malloc'd, NUL-terminated). -EINVAL when it is not a valid literal or
 * contains a NUL. */
int go_unquote(const char *s, size_t n, char **ret);

/* Does this binary's runtime size GOMAXPROCS from the cgroup by itself
 * (Go >= 1.25 with containermaxprocs not turned off in DefaultGODEBUG)?
 * 1 yes, 0 no, -errno unknown. */
int buildinfo_runtime_sizes_gomaxprocs(const struct go_buildinfo *b);
