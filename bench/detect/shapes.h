/* shapes.h: deterministic synthetic series for the leak detector (header
 * only, shared by bench/detect/synth.c and tests/unit/test_leak.c).
 *
 * A series is a spec: its kind (goroutines, threads, RSS bytes), its shape,
 * sampling interval, noise (in units of G), seed and length. synth_setup()
 * draws the shape's parameters from the seed; synth_generate() emits the
 * samples (t jittered by up to +-30% of the interval, gaps as absent
 * samples, resets at process restarts) through a callback. The same spec
 * and seed give the same series on every machine (own PRNG, libm only).
 *
 * Model, per process instance (a reset starts a new one):
 *   base level B (the usual level), warm-up from 0.1 B with time constant
 *   tau after each start, Gaussian noise sigma = noise x G, integer values
 *   for goroutines and threads, never below 0; then the shape's own part.
 * G = max(min_growth, 0.2 B): the growth the timing is measured in.
 * A leak episode adds rate x (time since it began, up to its stop) until
 * the next reset (a restart frees what leaked). */
#pragma once

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SYNTH_MAX_EP 4
#define SYNTH_MAX_RESETS 16
#define SYNTH_MAX_GAPS 16
#define SYNTH_MIB (1024.0 * 1024.0)

enum synth_kind { SK_GOROUTINES, SK_THREADS, SK_RSS };

struct synth_ep {
        double start, stop, rate; /* seconds, seconds (inf: never), units/s */
};

struct synth {
        /* inputs */
        char shape[32];
        enum synth_kind kind;
        double dt, noise, dur;    /* s, in G, s */
        uint64_t seed;
        /* drawn by synth_setup */
        double base, g, min_growth, tau, sigma;
        bool healthy;
        unsigned nep, nres, ngap;
        struct synth_ep ep[SYNTH_MAX_EP];
        double res[SYNTH_MAX_RESETS];
        double gap[SYNTH_MAX_GAPS][2];
        double drop;              /* probability a sample is missing */
        /* shape parameters */
        double a1, a2, a3, a4;
        char desc[160];
};

static inline uint64_t synth_next(uint64_t *s) {
        uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static inline double synth_u(uint64_t *s) {
        return (double)(synth_next(s) >> 11) * 0x1.0p-53;
}

static inline double synth_range(uint64_t *s, double lo, double hi) {
        return lo + (hi - lo) * synth_u(s);
}

static inline double synth_gauss(uint64_t *s) {
        double u = synth_u(s), w = synth_u(s);

        if (u < 1e-300)
                u = 1e-300;
        return sqrt(-2 * log(u)) * cos(2 * M_PI * w);
}

static inline const char *synth_kind_name(enum synth_kind k) {
        return k == SK_THREADS ? "threads" : k == SK_RSS ? "rss_bytes" : "goroutines";
}

static inline double synth_min_growth(enum synth_kind k) {
        return k == SK_THREADS ? 10 : k == SK_RSS ? 32 * SYNTH_MIB : 50;
}

/* The shapes, healthy first. */
static const char *const synth_shapes[] = {
        "flat", "sawtooth", "gc_sawtooth", "step", "warmup", "restarts", "bursts",
        "spike", "diurnal", "gaps",
        "leak_fast", "leak_slow", "leak_late", "leak_noisy", "leak_stops",
        "leak_after_restart", "leak_bursty", "leak_at_start",
};

static inline bool synth_shape_healthy(const char *shape) {
        return strncmp(shape, "leak_", 5) != 0;
}

/* Draw the parameters of spec s (shape, kind, dt, noise, dur, seed set).
 * Returns 0, -1 for an unknown shape. */
static inline int synth_setup(struct synth *s) {
        uint64_t r = s->seed * 0x2545f4914f6cdd1dull + 7;
        double B, G;

        s->min_growth = synth_min_growth(s->kind);
        switch (s->kind) {
        case SK_THREADS: B = synth_range(&r, 12, 60); break;
        case SK_RSS: B = synth_range(&r, 64, 768) * SYNTH_MIB; break;
        default: B = synth_range(&r, 100, 3000); break;
        }
        G = fmax(s->min_growth, 0.2 * B);
        s->base = B;
        s->g = G;
        s->sigma = s->noise * G;
        s->tau = synth_range(&r, 10, 60);
        s->healthy = synth_shape_healthy(s->shape);
        s->nep = s->nres = s->ngap = 0;
        s->drop = 0;
        s->a1 = s->a2 = s->a3 = s->a4 = 0;
        s->desc[0] = 0;

        if (!strcmp(s->shape, "flat")) {
                snprintf(s->desc, sizeof(s->desc), "flat, noise only");
        } else if (!strcmp(s->shape, "sawtooth")) {
                /* pile-ups: every a1 s, a ramp of a3 s up by a2, then a fast drain */
                s->a1 = synth_range(&r, 600, 1800);
                s->a2 = synth_range(&r, 1, 3) * G;
                s->a3 = synth_range(&r, 30, 150);
                snprintf(s->desc, sizeof(s->desc), "pile-up every %.0f s, +%.1f G over %.0f s, drains",
                         s->a1, s->a2 / G, s->a3);
        } else if (!strcmp(s->shape, "gc_sawtooth")) {
                /* heap-like: rises by a2 over a1 s then falls back (GC) */
                s->a1 = synth_range(&r, 20, 180);
                s->a2 = synth_range(&r, 0.5, 1.0) * B;
                snprintf(s->desc, sizeof(s->desc), "GC sawtooth, period %.0f s, +%.0f%% of B",
                         s->a1, s->a2 / B * 100);
        } else if (!strcmp(s->shape, "step")) {
                /* a1: when; a2: height; a3: ramp length */
                s->a1 = synth_range(&r, 0.2, 0.6) * s->dur;
                s->a2 = synth_range(&r, 1, 4) * G;
                s->a3 = synth_range(&r, 0, 60);
                snprintf(s->desc, sizeof(s->desc), "step +%.1f G over %.0f s at %.0f s, then flat",
                         s->a2 / G, s->a3, s->a1);
        } else if (!strcmp(s->shape, "warmup")) {
                s->tau = synth_range(&r, 60, 300);
                snprintf(s->desc, sizeof(s->desc), "warm-up from 0.1 B, tau %.0f s (%.1f G)", s->tau,
                         0.9 * B / G);
        } else if (!strcmp(s->shape, "restarts")) {
                double t = synth_range(&r, 1800, 3600);

                while (t < s->dur && s->nres < SYNTH_MAX_RESETS) {
                        s->res[s->nres++] = t;
                        t += synth_range(&r, 1800, 7200);
                }
                s->tau = synth_range(&r, 30, 240);
                snprintf(s->desc, sizeof(s->desc), "%u restarts, warm-up tau %.0f s", s->nres, s->tau);
        } else if (!strcmp(s->shape, "bursts")) {
                /* Poisson bursts: mean gap a1 s, size a2 (thousands), decay a3 s */
                s->a1 = synth_range(&r, 30, 300);
                s->a2 = s->kind == SK_GOROUTINES ? synth_range(&r, 1000, 5000) : synth_range(&r, 3, 10) * G;
                s->a3 = synth_range(&r, 2, 30);
                snprintf(s->desc, sizeof(s->desc), "Poisson bursts every %.0f s of +%.0f, decay %.0f s",
                         s->a1, s->a2, s->a3);
        } else if (!strcmp(s->shape, "spike")) {
                s->a1 = synth_range(&r, 0.3, 0.7) * s->dur;
                s->a2 = synth_range(&r, 10, 50) * B;
                s->a3 = synth_range(&r, 1, 30);
                snprintf(s->desc, sizeof(s->desc), "one spike x%.0f B for %.0f s", s->a2 / B, s->a3);
        } else if (!strcmp(s->shape, "diurnal")) {
                /* a1: day/night swing ratio; night level B/ (1 + (a1-1)/2) so
                 * the mean is B; starts at the trough (midnight) */
                s->a1 = synth_range(&r, 1.5, 3.0);
                s->a2 = synth_range(&r, 0, 1) < 0.5 ? 0 : synth_range(&r, 0, 86400);
                snprintf(s->desc, sizeof(s->desc), "diurnal swing x%.2f, phase %.0f s", s->a1, s->a2);
        } else if (!strcmp(s->shape, "gaps")) {
                double t = synth_range(&r, 600, 3600);

                while (t < s->dur && s->ngap < SYNTH_MAX_GAPS) {
                        double len = synth_range(&r, 0, 1) < 0.3 ? synth_range(&r, 3600, 10800)
                                                                 : synth_range(&r, 30, 1800);

                        s->gap[s->ngap][0] = t;
                        s->gap[s->ngap][1] = t + len;
                        s->ngap++;
                        t += len + synth_range(&r, 600, 7200);
                }
                s->drop = 0.05;
                snprintf(s->desc, sizeof(s->desc), "%u gaps of 30 s - 3 h, 5%% of samples dropped", s->ngap);
        } else if (!strcmp(s->shape, "leak_fast")) {
                s->ep[s->nep++] = (struct synth_ep) { synth_range(&r, 600, 3600), INFINITY,
                                                      2 * G / 300 * synth_range(&r, 1, 4) };
        } else if (!strcmp(s->shape, "leak_slow")) {
                double allowed = 3600 * synth_range(&r, 0.5, 6);

                s->ep[s->nep++] = (struct synth_ep) { synth_range(&r, 600, 1800), INFINITY, 2 * G / allowed };
        } else if (!strcmp(s->shape, "leak_late")) {
                double allowed = 60 * synth_range(&r, 5, 120);

                s->ep[s->nep++] = (struct synth_ep) { synth_range(&r, 0.4, 0.7) * s->dur, INFINITY,
                                                      2 * G / allowed };
        } else if (!strcmp(s->shape, "leak_noisy")) {
                double allowed = 60 * synth_range(&r, 10, 120);

                s->ep[s->nep++] = (struct synth_ep) { synth_range(&r, 1800, 3600), INFINITY, 2 * G / allowed };
        } else if (!strcmp(s->shape, "leak_stops")) {
                double allowed = 60 * synth_range(&r, 5, 60), st = synth_range(&r, 1200, 2400);

                s->ep[s->nep++] = (struct synth_ep) { st, st + synth_range(&r, 1.5, 4) * allowed, 2 * G / allowed };
        } else if (!strcmp(s->shape, "leak_after_restart")) {
                double allowed = 60 * synth_range(&r, 5, 60);

                s->res[s->nres++] = synth_range(&r, 0.3, 0.5) * s->dur;
                s->ep[s->nep++] = (struct synth_ep) { s->res[0], INFINITY, 2 * G / allowed };
        } else if (!strcmp(s->shape, "leak_at_start")) {
                /* from the process start, under its warm-up: half fast
                 * (2G/R 75-300 s, as leak_fast), half 20 min - 3 h */
                double allowed = synth_u(&r) < 0.5 ? synth_range(&r, 75, 300) : 60 * synth_range(&r, 20, 180);

                s->ep[s->nep++] = (struct synth_ep) { 0, INFINITY, 2 * G / allowed };
        } else if (!strcmp(s->shape, "leak_bursty")) {
                double allowed = 60 * synth_range(&r, 5, 120);

                s->a1 = synth_range(&r, 30, 300);
                s->a2 = synth_range(&r, 3, 10) * G;
                s->a3 = synth_range(&r, 2, 30);
                s->ep[s->nep++] = (struct synth_ep) { synth_range(&r, 1200, 3600), INFINITY, 2 * G / allowed };
        } else {
                return -1;
        }
        if (s->nep > 0) {
                int n = snprintf(s->desc, sizeof(s->desc), "leak %.3g/h (2G/R %.0f s) at %.0f s",
                                 s->ep[0].rate * 3600, 2 * G / s->ep[0].rate, s->ep[0].start);

                if (isfinite(s->ep[0].stop) && n > 0)
                        snprintf(s->desc + n, sizeof(s->desc) - (size_t)n, ", stops at %.0f s", s->ep[0].stop);
        }
        return 0;
}

/* How long a series of a shape runs, in hours. */
static inline double synth_hours(const char *shape) {
        static const struct { const char *shape; double h; } hours[] = {
                { "diurnal", 24 }, { "restarts", 8 }, { "gaps", 12 }, { "leak_fast", 2 },
                { "leak_slow", 16 }, { "leak_late", 8 }, { "leak_after_restart", 6 },
                { "leak_stops", 8 }, /* time after the stop to see it resolve */
        };

        for (size_t i = 0; i < sizeof(hours) / sizeof(hours[0]); i++)
                if (!strcmp(hours[i].shape, shape))
                        return hours[i].h;
        return synth_shape_healthy(shape) ? 6 : 4;
}

#define SYNTH_NSHAPES (sizeof(synth_shapes) / sizeof(synth_shapes[0]))
#define SYNTH_SET_SIZE (SYNTH_NSHAPES * 3 * 3 * 2)

/* The evaluation set: every shape at 1, 5 and 15 s, three noise levels, two
 * seeds, the kind rotating over goroutines, threads and RSS. Fills s for
 * index i, its seed seed_base + i (the set's own is 1000: another base
 * draws a second set of the same design, to check that a change was not
 * tuned to the first); false past the end. */
static inline bool synth_set_seeded(unsigned i, uint64_t seed_base, struct synth *s) {
        static const double dts[] = { 1, 5, 15 }, noises[] = { 0.05, 0.2, 0.5 };
        unsigned shape, dt, noise, seed;

        if (i >= SYNTH_SET_SIZE)
                return false;
        seed = i % 2;
        noise = (i / 2) % 3;
        dt = (i / 6) % 3;
        shape = i / 18;
        memset(s, 0, sizeof(*s));
        snprintf(s->shape, sizeof(s->shape), "%s", synth_shapes[shape]);
        s->kind = (enum synth_kind)((i / 2) % 3 == 0 ? (i / 6 + seed) % 3 : (i + shape) % 3);
        s->dt = dts[dt];
        s->noise = noises[noise];
        if (!strcmp(s->shape, "leak_noisy"))
                s->noise = noise == 0 ? 0.8 : noise == 1 ? 1.2 : 1.6;
        s->seed = seed_base + i;
        s->dur = synth_hours(s->shape) * 3600;
        return synth_setup(s) == 0;
}

static inline bool synth_set(unsigned i, struct synth *s) {
        return synth_set_seeded(i, 1000, s);
}

/* Allowed delay for episode i: max(300 s, 2G/R). */
static inline double synth_allowed(const struct synth *s, unsigned i) {
        return fmax(300, 2 * s->g / s->ep[i].rate);
}

typedef void (*synth_cb)(void *ctx, double t, double v, bool reset);

/* Emit the series. */
static inline void synth_generate(const struct synth *s, synth_cb cb, void *ctx) {
        uint64_t r = s->seed * 0x9e3779b97f4a7c15ull + 12345, rb = r ^ 0xabcdef;
        double B = s->base, inst = 0, next_burst = 0, burst = 0, last_bt = 0;
        unsigned nres = 0;
        bool pending_reset = false;

        if (!strcmp(s->shape, "bursts") || !strcmp(s->shape, "leak_bursty"))
                next_burst = -s->a1 * log(1 - synth_u(&rb));
        for (uint64_t i = 0;; i++) {
                double t0 = (double)i * s->dt, t = t0 + synth_range(&r, -0.3, 0.3) * s->dt, v, since, lvl;
                bool gap = false;

                if (t0 > s->dur)
                        break;
                if (t < 0)
                        t = 0.001;
                while (nres < s->nres && s->res[nres] <= t) {
                        inst = s->res[nres++];
                        pending_reset = true;
                }
                since = t - inst;
                lvl = B;
                if (!strcmp(s->shape, "diurnal")) {
                        double lo = 2 * B / (1 + s->a1);

                        lvl = lo + (s->a1 - 1) * lo * (1 - cos(2 * M_PI * (t + s->a2) / 86400)) / 2;
                }
                /* warm-up of each instance */
                lvl -= 0.9 * lvl * exp(-since / s->tau);
                v = lvl;
                if (!strcmp(s->shape, "sawtooth")) {
                        double ph = fmod(t, s->a1);

                        if (ph < s->a3)
                                v += s->a2 * ph / s->a3;
                        else if (ph < s->a3 + 10)
                                v += s->a2 * (1 - (ph - s->a3) / 10);
                } else if (!strcmp(s->shape, "gc_sawtooth")) {
                        v += s->a2 * fmod(t, s->a1) / s->a1;
                } else if (!strcmp(s->shape, "step")) {
                        if (t >= s->a1 + s->a3)
                                v += s->a2;
                        else if (t > s->a1)
                                v += s->a2 * (t - s->a1) / s->a3;
                } else if (!strcmp(s->shape, "spike")) {
                        if (t >= s->a1 && t < s->a1 + s->a3)
                                v += s->a2;
                }
                if (next_burst > 0) {
                        while (next_burst <= t) {
                                burst = burst * exp(-(next_burst - last_bt) / s->a3) + s->a2;
                                last_bt = next_burst;
                                next_burst += -s->a1 * log(1 - synth_u(&rb));
                        }
                        v += burst * exp(-(t - last_bt) / s->a3);
                }
                for (unsigned e = 0; e < s->nep; e++) {
                        double a = s->ep[e].start, b = fmin(t, s->ep[e].stop);

                        if (a < inst)
                                continue; /* began in an earlier instance: freed by the restart */
                        if (b > a)
                                v += s->ep[e].rate * (b - a);
                }
                v += s->sigma * synth_gauss(&r);
                if (s->kind != SK_RSS)
                        v = round(v);
                if (v < 0)
                        v = 0;
                for (unsigned g = 0; g < s->ngap; g++)
                        gap |= t >= s->gap[g][0] && t < s->gap[g][1];
                if (s->drop > 0 && synth_u(&r) < s->drop)
                        gap = true;
                if (gap)
                        continue;
                cb(ctx, t, v, pending_reset);
                pending_reset = false;
        }
}
