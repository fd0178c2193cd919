/* series.c: fixed-memory ring buffers of samples (see series.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/series.h"
#include "gorral/util.h"

struct series {
        uint32_t rows;      /* capacity */
        uint32_t len;       /* rows in use, <= rows */
        uint32_t head;      /* slot of the newest row (valid when len > 0) */
        unsigned columns;
        uint64_t dropped;
        uint64_t *times;    /* [rows] */
        uint8_t *flags;     /* [rows] */
        double **cols;      /* [columns], each NULL or [rows] */
};

int series_new(unsigned columns, uint32_t rows, struct series **ret) {
        struct series *s;

        if (columns == 0 || columns > SERIES_MAX_COLUMNS || rows == 0 || rows > SERIES_MAX_ROWS)
                return -EINVAL;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->rows = rows;
        s->columns = columns;
        s->times = calloc(rows, sizeof *s->times);
        s->flags = calloc(rows, sizeof *s->flags);
        s->cols = calloc(columns, sizeof *s->cols);
        if (!s->times || !s->flags || !s->cols) {
                series_free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

struct series *series_free(struct series *s) {
        if (!s)
                return NULL;
        if (s->cols)
                for (unsigned c = 0; c < s->columns; c++)
                        free(s->cols[c]);
        free(s->cols);
        free(s->times);
        free(s->flags);
        free(s);
        return NULL;
}

/* The slot of row i (0 oldest). */
static uint32_t slot(const struct series *s, uint32_t i) {
        uint32_t oldest = (s->head + s->rows - (s->len - 1)) % s->rows;

        return (oldest + i) % s->rows;
}

void series_begin(struct series *s, uint64_t t_usec, unsigned flags) {
        if (s->len > 0 && t_usec < s->times[s->head])
                t_usec = s->times[s->head];
        s->head = s->len == 0 ? 0 : (s->head + 1) % s->rows;
        if (s->len < s->rows)
                s->len++;
        s->times[s->head] = t_usec;
        s->flags[s->head] = (uint8_t)flags;
        for (unsigned c = 0; c < s->columns; c++)
                if (s->cols[c])
                        s->cols[c][s->head] = NAN;
}

int series_put(struct series *s, unsigned col, double v) {
        if (col >= s->columns || s->len == 0)
                return -EINVAL;
        if (!s->cols[col]) {
                if (isnan(v))
                        return 0;
                s->cols[col] = malloc((size_t)s->rows * sizeof(double));
                if (!s->cols[col]) {
                        s->dropped++;
                        return -ENOMEM;
                }
                for (uint32_t i = 0; i < s->rows; i++)
                        s->cols[col][i] = NAN;
        }
        s->cols[col][s->head] = v;
        return 0;
}

uint32_t series_len(const struct series *s) { return s->len; }
uint32_t series_capacity(const struct series *s) { return s->rows; }
unsigned series_columns(const struct series *s) { return s->columns; }

uint64_t series_time(const struct series *s, uint32_t i) {
        return i < s->len ? s->times[slot(s, i)] : 0;
}

unsigned series_flags(const struct series *s, uint32_t i) {
        return i < s->len ? s->flags[slot(s, i)] : 0;
}

double series_value(const struct series *s, unsigned col, uint32_t i) {
        if (col >= s->columns || i >= s->len || !s->cols[col])
                return NAN;
        return s->cols[col][slot(s, i)];
}

bool series_last(const struct series *s, unsigned col, double *ret) {
        double v;

        if (s->len == 0)
                return false;
        v = series_value(s, col, s->len - 1);
        if (isnan(v))
                return false;
        *ret = v;
        return true;
}

size_t series_bytes(const struct series *s) {
        size_t n = sizeof *s + (size_t)s->rows * (sizeof *s->times + sizeof *s->flags) +
                   s->columns * sizeof *s->cols;

        for (unsigned c = 0; c < s->columns; c++)
                if (s->cols[c])
                        n += (size_t)s->rows * sizeof(double);
        return n;
}

uint64_t series_dropped(const struct series *s) { return s->dropped; }
