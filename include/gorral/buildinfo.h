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
};

/* -ENOEXEC: not an ELF file; -ENOMSG: ELF without Go build info;
 * -EBADMSG: a truncated or inconsistent build info. */
int buildinfo_parse(const void *buf, size_t n, struct go_buildinfo *ret);
int buildinfo_read(const char *path, struct go_buildinfo *ret);
void buildinfo_done(struct go_buildinfo *b);

/* "go1.19.8" -> 1, 19, 8; "go1.25rc1" -> 1, 25, 0. -EINVAL otherwise. */
int go_version_parse(const char *v, unsigned *ret_major, unsigned *ret_minor, unsigned *ret_patch);

/* The value of a "build\tKEY=VALUE" setting (malloc'd), -ENOENT if absent. */
int buildinfo_setting(const struct go_buildinfo *b, const char *key, char **ret);

/* Does this binary's runtime size GOMAXPROCS from the cgroup by itself
 * (Go >= 1.25 with containermaxprocs not turned off in DefaultGODEBUG)?
 * 1 yes, 0 no, -errno unknown. */
int buildinfo_runtime_sizes_gomaxprocs(const struct go_buildinfo *b);
