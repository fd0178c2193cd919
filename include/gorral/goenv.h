/* goenv.h: Go's own grammar for GOMAXPROCS and GOMEMLIMIT (L1, pure),
 * re-derived from the Go 1.19 runtime, the strictest reader gorral
 * supports: a value valid here is valid for every Go >= 1.19. */
#pragma once

#include <stdint.h>

/* 1 valid (value in *ret when not NULL), 0 ignored by Go (GOMAXPROCS: Go
 * silently uses NumCPU) or fatal to Go (GOMEMLIMIT: "malformed
 * GOMEMLIMIT", exit 2). "" and "off" are valid GOMEMLIMITs (no limit,
 * INT64_MAX). */
int go_gomaxprocs_valid(const char *s, unsigned *ret);
int go_gomemlimit_valid(const char *s, uint64_t *ret);
