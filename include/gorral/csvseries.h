/* csvseries.h: the replay input of `gorral detect --replay` (L0, a pure
 * parser over (buf, len): no I/O, no log, no allocation).
 *
 * Grammar, one sample per line:
 *     SECONDS,VALUE
 * SECONDS from the series' start, strictly increasing (equal or smaller is
 * an error); both are decimal numbers: an optional sign, digits with an
 * optional fraction, an optional exponent (1.5e3); no hex, inf or nan (a
 * missing sample is an absent line, never a special value). Spaces and
 * tabs around a field are allowed. The first non-blank line is a header,
 * and skipped, when its first field is not a number. Blank lines, CRLF line
 * ends and a last line without LF are accepted. Anything else is an error
 * naming the 1-based line and what was wrong ("value 'abc' is not a
 * number"). */
#pragma once

#include <stddef.h>

#define CSVSERIES_MAX_SAMPLES ((size_t)10000000)

struct csvseries_error {
        size_t line;              /* 1-based; 0 when the error is not a line's */
        char what[128];           /* what was wrong, without the line number */
};

/* Called per sample in order. A negative return stops the parse and is
 * returned by csvseries_parse. */
typedef int (*csvseries_cb)(void *ctx, double t, double v);

/* Parse buf[0..len). Returns the number of samples (>= 0) or: -EINVAL for a
 * bad line (*reterr filled), -E2BIG past max_samples samples (*reterr names
 * the line), or the callback's negative return. reterr may be NULL; max_samples is
 * capped at CSVSERIES_MAX_SAMPLES. */
int csvseries_parse(const char *buf, size_t len, size_t max_samples, csvseries_cb cb, void *ctx,
                    struct csvseries_error *reterr);
