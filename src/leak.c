/* leak.c: trend (leak) detector over one scalar series; the map and the
 * rules are in include/gorral/leak.h. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/leak.h"

#define MIN_M 4u                /* shortest window, in sub-windows */
#define MAX_STEP_SHARE 0.6      /* of a window's rise, in one sub-window */
#define MAX_STEP2_SHARE 0.8     /* ... in two in a row */
/* A gap longer than this many buckets is not filled bucket by bucket: the
 * rings are folded into what was held and start again at the next sample. */
#define GAP_FILL_MAX 64u
/* The floors' noise, from their second differences (a linear trend has
 * none): the larger of the median |d2| of a level's ring (recent; it ignores
 * the odd step) and a long running mean of |d2| (stable; each update clipped
 * at 4x the mean so one step does not inflate it). For Gaussian noise of sd
 * s the median is 0.674 x sqrt(6) x s and the mean sqrt(6) x sqrt(2/pi) x s. */
#define NOISE_MEDIAN 1.652
#define NOISE_MEAN 1.954
#define NOISE_N 32u             /* running mean over about this many updates */
#define NOISE_MIN_N 8u          /* updates before the running mean is used */
#define NOISE_LEVEL_RATIO 0.65
#define NOISE_MIN_D2 3u         /* fewer in the ring: take the level below's (noisier) */
#define NOISE_MIN_G 0.05        /* the least noise assumed, in G */
/* A bucket's floor is the mean of its lowest samples, one per LOW_DIV and
 * 1 to LOW_K of them: at 1 s sampling the 4 lowest of 60 (an sd of 0.28 of
 * the samples' for Gaussian noise, against 0.46 for the one lowest), at 5 s
 * the 3 lowest of 12 (0.41 against 0.57), at 15 s the lowest of 4. A burst
 * or a pile-up that does not fill three quarters of a bucket does not raise
 * it. (The 8 lowest found no more leaks on the set, at 4 ns more per
 * sample; one per 6 samples or 3 did about as well, one per 2 fired more.) */
#define LOW_K 4u
#define LOW_DIV 4u
/* A sub-window's floor at level k+1 is the mean of its two level-k floors
 * when they differ by less than UP_AGREE sds of a difference, else the
 * lower of them: averaging halves the variance where nothing happened (in
 * heavy noise, 8 more leaks in time over three draws of the set), taking
 * the lower keeps a bucket that a pile-up or a burst filled out of the
 * floors above it. */
#define UP_AGREE 3
/* A window whose rise is under min_rise x G but at least early_rise x G (and
 * its length's share of max_window: the same rate, G per max_window, so no
 * more diurnal swings fit) fires on stronger evidence: EARLY_SNR sds of
 * noise, no falling sub-window, tau >= EARLY_TREND, each half at least
 * EARLY_LIN of its linear share and the second at least EARLY_LIN of the
 * first (a leak does not slow down; the end of a slow warm-up and a
 * diurnal cycle past its steepest point do). */
#define EARLY_SNR 4
#define EARLY_TREND 0.8
#define EARLY_LIN 0.7
struct level {
        double ring[LEAK_RING];   /* sub-window floors, NaN = no sample */
        uint64_t newest;          /* index of the newest entry (entry i covers
                                   * [origin + i x span, + span)) */
        unsigned count;           /* entries in the ring, <= LEAK_RING */
        double acc;               /* min of the level-below entries pending */
        unsigned acc_n;           /* 0 or 1 level-below entries pending */
        double held;              /* highest floor that left the ring (NaN: none) */
        double noise;             /* running mean of |second differences| outside the
                                   * warm-up, each clipped at 4x the mean (NaN: none) */
        unsigned noise_n;         /* updates of noise, saturating */
        double sd;                /* level_noise(), once asked after the last close (NaN: not yet) */
};

struct leak {
        struct leak_params p;
        bool started;             /* a sample since the start or reset */
        bool have_last;
        double last_t;
        double origin;            /* bucket 0 starts here */
        double learn_from;        /* start or reset time (warm-up) */
        double quiet_before;      /* windows that begin before this are not tested
                                   * (the growth of a resolved finding; -inf: none) */
        uint64_t bucket;          /* current level-0 bucket index */
        double bucket_end;        /* ... and the time it ends */
        double low[LOW_K];        /* its lowest samples so far, ascending */
        unsigned bn;              /* its samples so far */
        double floor;             /* the latest closed bucket's floor */
        unsigned n_levels;        /* levels kept: those whose shortest window fits max_window, and one more
                                   * (a fire resolves on the next level) */

        bool firing;
        bool fired;               /* a finding since the start or reset */
        double prior[LEAK_LEVELS];      /* per level, held before the last reset (NaN: none) */
        double fire_prior[LEAK_LEVELS]; /* per level, held before the fired window */
        bool resolved;            /* the last feed resolved: finding still readable */
        unsigned fire_level, fire_m;
        bool fire_early;          /* the fire was an early one (see EARLY_SNR) */
        struct leak_finding f;
        struct level lv[];        /* n_levels */
};

static double span(const struct leak *l, unsigned k) {
        return l->p.bucket_seconds * (double)(UINT64_C(1) << k);
}

/* Entry j of the last m of level k, j = 0 the oldest of them. */
static double ent(const struct level *lv, unsigned m, unsigned j) {
        uint64_t idx = lv->newest - (m - 1 - j);

        return lv->ring[idx % LEAK_RING];
}

void leak_params_default(struct leak_params *p, double min_growth) {
        *p = (struct leak_params) {
                .min_growth = min_growth,
                .min_growth_ratio = 0.2,
                .bucket_seconds = 60,
                .max_window_seconds = 2 * 3600,
                .min_trend = 0.6,
                .min_linearity = 0.5,
                .warmup_seconds = 600,
                .warmup_linearity = 0.7,
                .new_territory = 0.25,
                .resolve_ratio = 0.25,
                .min_snr = 3,
                .max_step_snr = 2,
                .min_rise = 1,
                .early_rise = 0.4,
        };
}

static bool in(double x, double lo, double hi) {
        return isfinite(x) && x >= lo && x <= hi;
}

const char *leak_params_invalid(const struct leak_params *p) {
        if (!p)
                return "no parameters";
        if (!isfinite(p->min_growth) || p->min_growth <= 0)
                return "min_growth must be a positive number";
        if (!in(p->min_growth_ratio, 0, 10))
                return "min_growth_ratio must be in [0, 10]";
        if (!in(p->bucket_seconds, 1, 3600))
                return "bucket_seconds must be in [1, 3600]";
        if (!isfinite(p->max_window_seconds) || p->max_window_seconds < MIN_M * p->bucket_seconds)
                return "max_window_seconds must be at least 4 x bucket_seconds";
        if (!in(p->min_trend, 0, 1) || p->min_trend == 0)
                return "min_trend must be in (0, 1]";
        if (!in(p->min_linearity, 0, 1))
                return "min_linearity must be in [0, 1]";
        if (!in(p->warmup_seconds, 0, 1e9))
                return "warmup_seconds must be a number >= 0";
        if (!in(p->warmup_linearity, 0, 1))
                return "warmup_linearity must be in [0, 1]";
        if (!in(p->new_territory, 0, 1e3))
                return "new_territory must be a number >= 0";
        if (!in(p->resolve_ratio, 0, 1) || p->resolve_ratio == 0 || p->resolve_ratio == 1)
                return "resolve_ratio must be in (0, 1)";
        if (!in(p->min_snr, 0, 100))
                return "min_snr must be in [0, 100]";
        if (!in(p->max_step_snr, 0, 100))
                return "max_step_snr must be in [0, 100]";
        if (!in(p->min_rise, 0.25, 100))
                return "min_rise must be in [0.25, 100]";
        if (!in(p->early_rise, 0.25, 1))
                return "early_rise must be in [0.25, 1]";
        return NULL;
}

static double fmax_nan(double a, double b) {
        if (isnan(a))
                return b;
        if (isnan(b))
                return a;
        return a > b ? a : b;
}

static void levels_clear(struct leak *l) {
        for (unsigned k = 0; k < l->n_levels; k++)
                l->lv[k] = (struct level) { .acc = NAN, .held = NAN, .noise = NAN, .sd = NAN };
}

/* The highest floor level k held, of sub-windows that ended by time
 * before (NaN: none). */
static double held_at(const struct leak *l, unsigned k, double before) {
        const struct level *lv = &l->lv[k];
        double h = lv->held;

        for (unsigned j = 0; j < lv->count; j++)
                if (l->origin + (double)(lv->newest - j + 1) * span(l, k) <= before)
                        h = fmax_nan(h, ent(lv, lv->count, lv->count - 1 - j));
        return h;
}

/* Forget everything learned (start or reset), but the level the process
 * held before, per level (a floor over a longer sub-window is lower):
 * a restarted process warms up to it again, and only a floor above it is
 * new territory. That level is what was held before the growth when the
 * process leaked (for a fire in the warm-up, the level before that), else
 * the highest floor held; a level with no sub-window keeps the level
 * below's (higher, so stricter). */
static void relearn(struct leak *l) {
        double prior[LEAK_LEVELS];

        for (unsigned k = 0; k < l->n_levels; k++) {
                double h = l->started ? held_at(l, k, INFINITY) : NAN;

                if (l->fired)
                        h = !isnan(l->fire_prior[k]) ? l->fire_prior[k] : !isnan(l->prior[k]) ? l->prior[k] : h;
                else if (isnan(h))
                        h = l->prior[k];
                if (isnan(h) && k > 0)
                        h = prior[k - 1];
                prior[k] = h;
        }
        memcpy(l->prior, prior, l->n_levels * sizeof(prior[0]));
        l->started = false;
        l->fired = false;
        l->quiet_before = -INFINITY;
        l->bn = 0;
        l->floor = NAN;
        levels_clear(l);
        for (unsigned k = 0; k < l->n_levels; k++)
                l->lv[k].held = prior[k];
}

int leak_new(const struct leak_params *p, struct leak **ret) {
        struct leak *l;

        if (leak_params_invalid(p))
                return -EINVAL;
        unsigned n = 0;

        /* Level k's windows are MIN_M..LEAK_RING sub-windows of 2^k
         * buckets: a level whose shortest window is over max_window never
         * fires, and only the next one above a firing level is read (to
         * resolve). The default 2 h window at 1 min buckets needs 6 of the
         * 12. */
        while (n < LEAK_LEVELS && MIN_M * ldexp(p->bucket_seconds, (int)n) <= p->max_window_seconds)
                n++;
        n = n + 1 < LEAK_LEVELS ? n + 1 : LEAK_LEVELS;
        l = calloc(1, sizeof(*l) + n * sizeof(l->lv[0]));
        if (!l)
                return -ENOMEM;
        l->n_levels = n;
        l->p = *p;
        for (unsigned k = 0; k < LEAK_LEVELS; k++)
                l->prior[k] = l->fire_prior[k] = NAN;
        relearn(l);
        *ret = l;
        return 0;
}

struct leak *leak_free(struct leak *l) {
        free(l);
        return NULL;
}

static double growth_needed(const struct leak *l, double floor) {
        double g = l->p.min_growth_ratio * floor;

        return g > l->p.min_growth ? g : l->p.min_growth;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

/* The sd of level k's floors (see NOISE_MEDIAN); +inf when not known.
 * Kept in lv->sd until the level's next close: most windows fail on their
 * rise before they need it. */
static double level_noise(struct leak *l, unsigned k) {
        struct level *lv = &l->lv[k];
        double d[LEAK_RING], med, below;
        unsigned n = 0;

        if (!isnan(lv->sd))
                return lv->sd;
        for (unsigned j = 2; j < lv->count; j++) {
                double x = ent(lv, lv->count, j) - 2 * ent(lv, lv->count, j - 1) + ent(lv, lv->count, j - 2);

                if (!isnan(x))
                        d[n++] = fabs(x);
        }
        below = k > 0 ? level_noise(l, k - 1) : INFINITY;
        if (n < NOISE_MIN_D2)
                return lv->sd = below;
        qsort(d, n, sizeof(d[0]), cmp_double);
        med = (n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2) / NOISE_MEDIAN;
        if (lv->noise_n >= NOISE_MIN_N && lv->noise / NOISE_MEAN > med)
                med = lv->noise / NOISE_MEAN;
        /* A few floors make a rough estimate; a floor over twice the
         * samples is not much steadier than the level below's (for Gaussian
         * noise the mean of two has 0.71 of its sd, the lower of two ~0.85),
         * so that bounds it. */
        if (k > 0 && med < NOISE_LEVEL_RATIO * below)
                med = NOISE_LEVEL_RATIO * below;
        return lv->sd = med;
}

/* The median of level k's floors before its last m (NaN: fewer than 2). */
static double median_before(const struct level *lv, unsigned m) {
        double d[LEAK_RING];
        unsigned n = 0;

        for (unsigned j = m; j < lv->count; j++) {
                double x = ent(lv, lv->count, lv->count - 1 - j);
                unsigned i = n;

                if (isnan(x))
                        continue;
                while (i > 0 && d[i - 1] > x) {
                        d[i] = d[i - 1];
                        i--;
                }
                d[i] = x;
                n++;
        }
        if (n < 2)
                return NAN;
        return n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
}

/* Level k's noise for UP_AGREE: its running mean once it has enough
 * updates (no sort, at every close), else level_noise(). */
static double agree_noise(struct leak *l, unsigned k) {
        const struct level *lv = &l->lv[k];

        if (lv->noise_n >= NOISE_MIN_N)
                return lv->noise / NOISE_MEAN;
        return level_noise(l, k);
}

/* Does the window of the last m sub-windows of level k begin in the warm-up? */
static bool window_warm(const struct leak *l, unsigned k, unsigned m) {
        return l->origin + (double)(l->lv[k].newest + 1 - m) * span(l, k) < l->learn_from + l->p.warmup_seconds;
}

/* Does the window of the last m sub-windows of level k show a leak? */
static bool window_leaks(struct leak *l, unsigned k, unsigned m, bool *early_ret) {
        const struct level *lv = &l->lv[k];
        double f[LEAK_RING], first, last, rise, g, held, share, noise;
        unsigned missing = 0, falls = 0, h;
        int s = 0, pairs = 0;
        bool warm, early = false;

        if (lv->count < m || m * span(l, k) > l->p.max_window_seconds ||
            l->origin + (double)(lv->newest + 1 - m) * span(l, k) < l->quiet_before)
                return false;
        warm = window_warm(l, k, m);
        /* In the warm-up a 4-sub-window window cannot tell a leak from a
         * warm-up with a time constant of a few minutes: wait for 5. */
        if (warm && (m < MIN_M + 1 || isnan(l->prior[0])))
                return false;
        for (unsigned j = 0; j < m; j++) {
                f[j] = ent(lv, m, j);
                missing += isnan(f[j]);
        }
        if (isnan(f[0]) || isnan(f[m - 1]) || missing > m / 4)
                return false;
        if (f[m - 1] - f[0] < l->p.early_rise * l->p.min_rise * growth_needed(l, f[0]))
                return false; /* (the cheap test first: a higher base only needs more) */
        /* The window's base is no lower than the median of the floors
         * before it at this level: a first floor drawn low by noise adds its
         * deviation to the rise and to the first half, and a step over two
         * sub-windows then looks like three rising floors. */
        f[0] = fmax(f[0], median_before(lv, m));
        rise = f[m - 1] - f[0];
        g = growth_needed(l, f[0]);
        if (rise < l->p.min_rise * g) {
                /* An early fire (see EARLY_SNR): the rise a window of this
                 * length needs at the rate of min_rise x G per max_window. */
                double r = fmax(l->p.early_rise, fmin(1, m * span(l, k) / l->p.max_window_seconds));

                if (r >= 1 || rise < r * l->p.min_rise * g)
                        return false;
                early = true;
        }
        /* Above the floors' noise: rise has the noise of two floors. */
        /* Flat integer floors (threads) have no noise at all: then any
         * wiggle would be a step. Below 5% of G the noise does not matter. */
        noise = fmax(level_noise(l, k), NOISE_MIN_G * g);
        if (rise < (early ? EARLY_SNR : l->p.min_snr) * M_SQRT2 * noise)
                return false;
        /* Not a step: no increment far above its linear share; and rising
         * in nearly every sub-window (all of 3, 3 of 4, 4 of 5, 5 of 6, 5 of 7). */
        for (unsigned j = 1; j < m; j++) {
                if (isnan(f[j]) || isnan(f[j - 1]))
                        continue;
                if (f[j] - f[j - 1] > rise / (m - 1) + l->p.max_step_snr * M_SQRT2 * noise)
                        return false;
                /* ... nor, however noisy the floors, most of the rise. */
                if (f[j] - f[j - 1] > MAX_STEP_SHARE * rise && f[j] - f[j - 1] > 2 * rise / (m - 1))
                        return false;
                falls += f[j] <= f[j - 1];
                /* ... nor two in a row most of it, and 1.5 times their
                 * share: a step whose ramp straddles two sub-windows
                 * (windows of 5 and more). */
                if (j >= 2 && !isnan(f[j - 2]) && f[j] - f[j - 2] > MAX_STEP2_SHARE * rise &&
                    f[j] - f[j - 2] > 3 * rise / (m - 1))
                        return false;
        }
        if (falls > (early ? 0 : (m - 2) / 3))
                return false;
        /* Not ending on a jump: a leak keeps rising, so its last sub-window
         * rose by about its share; a window that ends on a step, a
         * pile-up's bucket or a high draw of noise does not. */
        if (!isnan(f[m - 2]) && f[m - 1] - f[m - 2] > 2 * rise / (m - 1) &&
            f[m - 1] - f[m - 2] > rise / (m - 1) + M_SQRT2 * noise)
                return false;

        /* New territory: above every floor this level held before the window. */
        held = lv->held;
        for (unsigned j = m; j < lv->count; j++)
                held = fmax_nan(held, ent(lv, lv->count, lv->count - 1 - j));
        if (!isnan(held) && f[m - 1] < held + l->p.new_territory * g)
                return false;

        /* Kendall's tau over the floors present. */
        for (unsigned i = 0; i < m; i++)
                for (unsigned j = i + 1; j < m; j++) {
                        if (isnan(f[i]) || isnan(f[j]))
                                continue;
                        pairs++;
                        s += (f[j] > f[i]) - (f[j] < f[i]);
                }
        if (pairs == 0 || s < (early ? EARLY_TREND : l->p.min_trend) * pairs)
                return false;

        /* Spread over the window, not a step or a pile-up's ramp: each half
         * (the middle sub-window left out when m is even) rose by its
         * share. In the warm-up, which flattens, the second half must also
         * have risen nearly as much as the first. */
        h = (m - 1) / 2;
        if (isnan(f[h]) || isnan(f[m - 1 - h]))
                return false;
        first = f[h] - f[0];
        last = f[m - 1] - f[m - 1 - h];
        share = rise * h / (m - 1);
        if (first < l->p.min_linearity * share || last < l->p.min_linearity * share)
                return false;
        if (early && (first < EARLY_LIN * share || last < EARLY_LIN * share || last < EARLY_LIN * first))
                return false;
        if (warm && last < l->p.warmup_linearity * first)
                return false;
        *early_ret = early;
        return true;
}

static void update_finding(struct leak *l, const struct level *lv) {
        unsigned m = l->fire_m;
        double a = ent(lv, m, 0), b = ent(lv, m, m - 1);
        double dt = (double)(m - 1) * span(l, l->fire_level);

        if (!isnan(a) && !isnan(b))
                l->f.rate_per_hour = b > a ? (b - a) / dt * 3600 : 0;
        if (!isnan(l->floor)) {
                l->f.floor = l->floor;
                l->f.growth = l->floor - l->f.baseline;
        }
}

/* A sub-window of level k closed with floor v: push it, test, cascade. */
static enum leak_event level_push(struct leak *l, unsigned k, double v, double t) {
        struct level *lv = &l->lv[k];
        enum leak_event ev = LEAK_NONE, up;

        if (lv->count == LEAK_RING)
                lv->held = fmax_nan(lv->held, lv->ring[(lv->newest + 1) % LEAK_RING]);
        /* Level k entry i covers level-0 buckets [i << k, (i + 1) << k). */
        lv->newest = l->bucket >> k;
        lv->ring[lv->newest % LEAK_RING] = v;
        if (lv->count < LEAK_RING)
                lv->count++;
        if (lv->count >= 3 && l->origin + (double)(lv->newest - 2) * span(l, k) >= l->learn_from + l->p.warmup_seconds) {
                double d2 = fabs(ent(lv, 3, 2) - 2 * ent(lv, 3, 1) + ent(lv, 3, 0));

                if (!isnan(d2)) {
                        if (lv->noise_n == 0)
                                lv->noise = d2;
                        else if (lv->noise_n < NOISE_MIN_N)
                                /* a plain mean first: clipping against an
                                 * estimate from two or three values would pin
                                 * it wherever it started */
                                lv->noise += (d2 - lv->noise) / (lv->noise_n + 1);
                        else
                                lv->noise += (fmin(d2, 4 * lv->noise) - lv->noise) /
                                             (lv->noise_n < NOISE_N ? lv->noise_n + 1 : NOISE_N);
                        if (lv->noise_n < NOISE_N)
                                lv->noise_n++;
                }
        }

        lv->sd = NAN;
        if (l->firing) {
                /* Resolve on the window twice as long as the one that fired
                 * (four times for an early fire, which saw 0.4-1 G): a leak
                 * that fired on a lucky noise draw rises by ~G over it, so
                 * noise alone does not resolve it. */
                unsigned m = l->fire_m, rk = l->fire_level + 1 + l->fire_early;

                if (rk >= l->n_levels)
                        rk = l->n_levels - 1;

                if (k == l->fire_level || k == 0)
                        update_finding(l, &l->lv[l->fire_level]);
                /* (once it begins after the growth did: before, its
                 * floors, the lowest of long sub-windows, lag the growth) */
                if (k == rk && lv->count >= m && l->origin + (double)(lv->newest + 1 - m) * span(l, k) >= l->f.began) {
                        double a = ent(lv, m, 0), b = ent(lv, m, m - 1);

                        if (!isnan(a) && !isnan(b) && b - a < l->p.resolve_ratio * growth_needed(l, a)) {
                                l->firing = false;
                                l->resolved = true;
                                ev = LEAK_RESOLVE;
                                /* The plateau it reached is held now: a later
                                 * fire needs new territory above it, not the
                                 * old growth seen again by a longer window. */
                                for (unsigned j = 0; j < l->n_levels; j++)
                                        l->lv[j].held = fmax_nan(l->lv[j].held, b);
                                /* ... nor a window that holds the start of
                                 * that growth: it is the same one. */
                                l->quiet_before = l->f.fired_at;
                        }
                }
        } else if (!l->firing) {
                for (unsigned m = MIN_M; m <= LEAK_RING; m++) {
                        bool early = false;

                        if (!window_leaks(l, k, m, &early))
                                continue;
                        l->firing = true;
                        l->fired = true;
                        /* The level held before the growth, for the next
                         * instance; none for a fire in the warm-up. */
                        for (unsigned j = 0; j < l->n_levels; j++)
                                l->fire_prior[j] = window_warm(l, k, m) ? NAN :
                                        held_at(l, j, l->origin + (double)(lv->newest + 1 - m) * span(l, k));
                        l->fire_level = k;
                        l->fire_m = m;
                        l->fire_early = early;
                        l->f = (struct leak_finding) {
                                .began = l->origin + (double)(lv->newest + 1 - m) * span(l, k),
                                .fired_at = t,
                                .baseline = ent(lv, m, 0),
                                .window_seconds = m * span(l, k),
                        };
                        update_finding(l, lv);
                        ev = LEAK_FIRE;
                        break;
                }
        }

        if (k + 1 < l->n_levels) {
                double first_half = lv->acc;

                lv->acc = isnan(lv->acc) ? v : (isnan(v) || lv->acc <= v ? lv->acc : v);
                if (++lv->acc_n == 2) {
                        double w = lv->acc;

                        /* Two floors that agree are averaged (steadier than
                         * the lower); one that a pile-up or a burst raised is
                         * left out. */
                        if (!isnan(first_half) && !isnan(v) &&
                            fabs(first_half - v) < UP_AGREE * M_SQRT2 * agree_noise(l, k))
                                w = (first_half + v) / 2;

                        /* Levels 2 and up (windows of 16 min and more) do not
                         * see the first third of the warm-up: its start (the
                         * first floors, far below the level) would be the base
                         * of every long window that begins there. Levels 0 and
                         * 1 catch a leak that starts with the process. */
                        if (k == 1 && l->origin + (double)(lv->newest - 1) * span(l, 1) <
                                              l->learn_from + l->p.warmup_seconds / 3)
                                w = NAN;

                        lv->acc = NAN;
                        lv->acc_n = 0;
                        up = level_push(l, k + 1, w, t);
                        if (up != LEAK_NONE)
                                ev = up;
                }
        }
        return ev;
}

static void bucket_add(struct leak *l, double v) {
        unsigned i = l->bn < LOW_K ? l->bn : LOW_K;

        l->bn++;
        if (i == LOW_K) {
                if (v >= l->low[LOW_K - 1])
                        return;
                i--;
        }
        while (i > 0 && l->low[i - 1] > v) {
                l->low[i] = l->low[i - 1];
                i--;
        }
        l->low[i] = v;
}

/* The bucket's floor: the mean of its lowest samples, one per LOW_DIV
 * (1 to LOW_K of them); NaN when it had none. */
static double bucket_floor(const struct leak *l) {
        unsigned k = l->bn / LOW_DIV;
        double sum = 0;

        if (l->bn == 0)
                return NAN;
        k = k < 1 ? 1 : k > LOW_K ? LOW_K : k;
        for (unsigned i = 0; i < k; i++)
                sum += l->low[i];
        return sum / k;
}

/* Close the current bucket. */
static enum leak_event bucket_close(struct leak *l, double t) {
        double v = bucket_floor(l);

        if (!isnan(v))
                l->floor = v;
        return level_push(l, 0, v, t);
}

/* Fold the rings into what was held and start bucketing again at t. */
static void restart_buckets(struct leak *l, double t) {
        for (unsigned k = 0; k < l->n_levels; k++) {
                struct level *lv = &l->lv[k];
                double held = lv->held;

                for (unsigned j = 0; j < lv->count; j++)
                        held = fmax_nan(held, lv->ring[j]);
                *lv = (struct level) { .acc = NAN, .held = held, .noise = lv->noise, .noise_n = lv->noise_n,
                                       .sd = NAN };
        }
        l->origin = t;
        l->bucket = 0;
        l->bn = 0;
}

enum leak_event leak_feed(struct leak *l, double t, double v, bool reset) {
        enum leak_event ev = LEAK_NONE, e;
        uint64_t b;
        double q;

        l->resolved = false;
        if (!isfinite(t) || (l->have_last && t <= l->last_t))
                return LEAK_NONE;
        l->have_last = true;
        l->last_t = t;
        if (reset) {
                if (l->firing) {
                        l->firing = false;
                        l->resolved = true;
                        ev = LEAK_RESOLVE;
                }
                relearn(l);
        }
        if (!isfinite(v))
                return ev;
        if (!l->started) {
                l->started = true;
                l->origin = t;
                l->learn_from = t;
                l->bucket = 0;
                l->bucket_end = t + l->p.bucket_seconds;
                l->bn = 0;
                bucket_add(l, v);
                return ev;
        }

        if (t < l->bucket_end) {
                /* the same bucket: no division (most samples) */
                bucket_add(l, v);
                return ev;
        }
        q = (t - l->origin) / l->p.bucket_seconds;
        /* (a quotient past 2^53 would not convert: that is a long gap too) */
        b = q < 0x1p53 ? (uint64_t)q : UINT64_MAX;
        if (b != l->bucket) {
                if (b - l->bucket > GAP_FILL_MAX) {
                        e = bucket_close(l, t);
                        if (e != LEAK_NONE)
                                ev = e;
                        restart_buckets(l, t);
                        b = 0;
                } else {
                        while (l->bucket < b) {
                                e = bucket_close(l, t);
                                if (e != LEAK_NONE)
                                        ev = e;
                                l->bucket++;
                                l->bn = 0;
                        }
                }
        }
        l->bucket_end = l->origin + (double)(l->bucket + 1) * l->p.bucket_seconds;
        bucket_add(l, v);
        return ev;
}

bool leak_finding(const struct leak *l, struct leak_finding *ret) {
        if (!l->firing && !l->resolved)
                return false;
        *ret = l->f;
        return true;
}

double leak_eta_seconds(const struct leak_finding *f, double limit) {
        if (!f || !isfinite(limit) || limit <= 0 || !isfinite(f->rate_per_hour) || f->rate_per_hour <= 0)
                return NAN;
        if (f->floor >= limit)
                return 0;
        return (limit - f->floor) / f->rate_per_hour * 3600;
}
