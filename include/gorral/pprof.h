/* pprof.h: Go's net/http/pprof text profiles (L1, pure over buffers: no
 * I/O, no logging).
 *
 * /debug/pprof/goroutine?debug=1 (and threadcreate, goroutineleak, any
 * count profile) starts with one line, written by runtime/pprof's
 * printCountProfile as "%s profile: total %d\n":
 *     goroutine profile: total 1053
 * then groups of identical stacks, "COUNT @ PC PC...\n" followed by
 * "#\tPC\tFUNC+OFF\tFILE:LINE" lines and a blank line. The grouping is
 * for later; here only the total is read, from the first line alone, so
 * an 8 MiB body costs one line.
 *
 * ?debug=2 (and a SIGQUIT dump) has no total: it is one block per
 * goroutine, "goroutine 1 [IO wait]:" (or "[chan receive, 1 minutes]:",
 * "[running]:") then its frames, blocks separated by a blank line.
 * pprof_parse_goroutine_total() says -ENOMSG for such a body; a caller
 * that fetched debug=2 anyway counts its headers with
 * pprof_count_goroutines(). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The N of "NAME profile: total N\n", the first line of buf[0..n), for
 * the profile NAME (e.g. "goroutine", "threadcreate"). 0 with *ret_total;
 * -ENOMSG when the body is a debug=2 goroutine dump (it starts with
 * "goroutine " and a digit); -EBADMSG for anything else (another
 * profile's name, a count that is not a decimal uint64, a first line
 * without its LF, a NUL byte, an empty body). */
int pprof_parse_profile_total(const char *buf, size_t n, const char *name, uint64_t *ret_total);

static inline int pprof_parse_goroutine_total(const char *buf, size_t n, uint64_t *ret_total) {
        return pprof_parse_profile_total(buf, n, "goroutine", ret_total);
}

/* The number of "goroutine ID [" headers at the start of a line in a
 * debug=2 body or a SIGQUIT dump. 0 with *ret_count (possibly 0); never
 * fails on content, -EINVAL only for buf NULL with n > 0. */
int pprof_count_goroutines(const char *buf, size_t n, uint64_t *ret_count);
