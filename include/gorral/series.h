/* series.h: bounded time series for one service (L1, pure data, no I/O).
 *
 * A series set is a ring of rows. A row is one sample: its CLOCK_MONOTONIC
 * time, its flags, and one double per column (a column is one metric;
 * monitor.h names them). A value that was not sampled is a gap (NaN),
 * never 0: "the scrape failed" and "zero goroutines" stay apart.
 *
 * Memory is fixed at creation: the ring holds `rows` rows and the oldest
 * is overwritten. A column's storage (rows doubles) is allocated the first
 * time it gets a value, so the Go columns of a service that is never
 * scraped cost nothing; series_bytes() says what a set holds. Rows and
 * columns are bounded (SERIES_MAX_ROWS, SERIES_MAX_COLUMNS); a failed
 * allocation leaves that column empty (its values become gaps) and is
 * counted, never fatal.
 *
 * Indexes run from 0 (the oldest row kept) to series_len() - 1 (the
 * newest). The detectors of the next layer read only this interface. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIES_MAX_ROWS 100000u
#define SERIES_MAX_COLUMNS 128u

/* Row flags. */
#define SERIES_RESET 0x1u   /* the service (re)started since the previous row:
                             * its counters begin again from 0 here */

struct series;

/* 0 or -errno: -EINVAL for 0 or too many rows or columns, -ENOMEM. */
int series_new(unsigned columns, uint32_t rows, struct series **ret);
struct series *series_free(struct series *s); /* NULL-safe; returns NULL */

/* Begin a new row at time t_usec (monotonic; a time before the newest row's
 * is taken as equal to it), every column a gap until series_put(). */
void series_begin(struct series *s, uint64_t t_usec, unsigned flags);
/* Set column col of the newest row. A NaN value is a gap. 0, -EINVAL for a
 * bad column or no row begun, -ENOMEM when the column could not be
 * allocated (the value is dropped and counted). */
int series_put(struct series *s, unsigned col, double v);

uint32_t series_len(const struct series *s);
uint32_t series_capacity(const struct series *s);
unsigned series_columns(const struct series *s);
/* Time and flags of row i (0 oldest). i must be < series_len(). */
uint64_t series_time(const struct series *s, uint32_t i);
unsigned series_flags(const struct series *s, uint32_t i);
/* Value of column col at row i: NaN for a gap (or a column never set). */
double series_value(const struct series *s, unsigned col, uint32_t i);
/* The newest row's value of col: true with *ret set, false for a gap or
 * no row. */
bool series_last(const struct series *s, unsigned col, double *ret);
/* Bytes allocated by the set (header, times, flags and the columns in use). */
size_t series_bytes(const struct series *s);
/* Values dropped because a column could not be allocated. */
uint64_t series_dropped(const struct series *s);
