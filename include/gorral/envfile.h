/* envfile.h: the env_file format and ${VAR} interpolation (L0, pure over
 * buffers; no I/O, no logging).
 *
 * env_file: one KEY=VALUE per line; blank lines and lines whose first
 * non-blank character is '#' are skipped; KEY is [A-Za-z_][A-Za-z0-9_]*;
 * VALUE is taken as written (no shell expansion, no ${VAR}), with
 * surrounding blanks trimmed, unless it is quoted: '...' is literal,
 * "..." knows the escapes \" \\ \n \t \$; after the closing quote only
 * blanks or a '#' comment may follow. A '#' inside an unquoted value is
 * part of the value. CRLF line ends are accepted. A later KEY overrides
 * an earlier one (the caller keeps the last).
 *
 * Interpolation (the config file's string values): ${VAR} and
 * ${VAR:-default} (default when VAR is unset or empty), ${VAR-default}
 * (default only when unset); $$ is one '$'; any other '$' is literal. An
 * unset ${VAR} without a default is an error naming it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "gorral/util.h"  /* strv_free(), env_lookup() */

#define ENVFILE_MAX_VARS 4096u

struct envfile_error {
        unsigned line, column;  /* 1-based; column counts characters */
        char message[256];
};

/* Parse an env file. On success 0 with *ret_vars a NULL-terminated
 * malloc'd array of "KEY=VALUE" strings in file order (free with
 * strv_free) and *ret_n its length. -EINVAL with *reterr filled
 * for the first malformed line, -E2BIG past ENVFILE_MAX_VARS (also with
 * *reterr), -ENOMEM. */
int envfile_parse(const char *buf, size_t n, char ***ret_vars, size_t *ret_n, struct envfile_error *reterr);

/* Is s[0..n) a variable name ([A-Za-z_][A-Za-z0-9_]*)? */
bool env_name_valid(const char *s, size_t n);

/* Interpolate s[0..n) against envp. 0 with a malloc'd *ret; -EINVAL
 * with reterr_offset (the byte offset of the offending '$' in s) and a
 * message in errbuf ("variable ${X} is not set ..."); -ENOMEM. */
int env_interpolate(const char *s, size_t n, char *const *envp, char **ret, size_t *reterr_offset, char *errbuf,
                    size_t errlen);
