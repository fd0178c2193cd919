/* Shared helpers for the gorral benchmark programs (bench/ only). */
#ifndef GORRAL_BENCH_H
#define GORRAL_BENCH_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

/* Fixed-width records so a reader can count them from the file size alone. */
#define REC_LEN 23 /* "S " + 20 digits + "\n" */

#endif
