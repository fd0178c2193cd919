/* leak.h: trend (leak) detector over one scalar series (L1, pure: no I/O,
 * no clock, no log, no allocation after leak_new).
 *
 * Fed one sample at a time in time order (goroutines, threads, RSS or heap
 * bytes), it says when the series' floor starts a sustained rise that a busy
 * but healthy service does not show, and when that rise has stopped.
 *
 * How it decides. The floor of a bucket of bucket_seconds (60 s) is the mean
 * of its lowest quarter of samples (1 to 4 of them; the minimum at 15 s
 * sampling): bursts, spikes and short pile-ups raise the mean and the
 * maximum, a leak raises the lowest samples too, and the mean of several is
 * steadier than the one lowest (0.6 of its sd at 1 s sampling). Floors
 * are kept at several time scales, each a ring of the last 8 sub-window
 * floors: level 0 holds the buckets', level k+1 the mean of two level-k
 * entries when they agree within 3 sds of a difference, else the lower one
 * (a bucket that a pile-up filled is left out) (1, 2, 4 ... 2048 min
 * sub-windows). Each time a sub-window closes at a level, the windows of the
 * last 4..8 sub-windows ending there are tested (window lengths step by at
 * most 25%, so some window fits any leak rate). A window's base is its first
 * floor, or the median of the floors before it at that level when that is
 * higher (a first floor drawn low by noise makes a step look linear). A
 * window fires when
 *   - its floor rose by at least min_rise x G, G = max(min_growth,
 *     min_growth_ratio x the window's base), from its base to its last
 *     sub-window; or (an early fire) by early_rise x G (0.4) in a window up
 *     to max_window x early_rise long (the same rate, so no more diurnal
 *     swings fit), on stronger evidence: 4 sds of noise, no falling
 *     sub-window, tau >= 0.8, each half 0.7 of its linear share, the
 *     second 0.7 of the first;
 *   - the rise is min_snr times its noise: each level estimates its floors'
 *     sd from their second differences (which a linear trend does not raise),
 *     never below 0.65 x the level below's;
 *   - it is a trend: Kendall's tau over the floors >= min_trend, the floor
 *     rose in nearly every sub-window (all of 3, 3 of 4, 4 of 5, 5 of 6 or 7),
 *     and no sub-window rose more than its linear share plus max_step_snr sds
 *     or more than 60% of the rise (a step, a burst that filled a bucket),
 *     nor two in a row more than 80% and 1.5 times their share (a ramp
 *     that straddles two), and the
 *     last rose by at most twice its share or its share plus one sd (a
 *     leak keeps rising; a window that ends on a jump does not);
 *   - it is spread over the window: each half rose by at least
 *     min_linearity of its linear share (a step or a pile-up's ramp does not);
 *   - the floor is in new territory: above the highest floor held at that
 *     scale before the window by new_territory x G (quiet on repeated
 *     pile-ups, on the second day of a diurnal cycle, on a plateau after a
 *     leak resolved);
 *   - the window is at most max_window_seconds long (2 h). Longer windows
 *     find slower leaks and fire on the first half of a large diurnal cycle,
 *     which no trend test over one series tells from a leak of the same rate
 *     (bench/RESULTS.md section 11 has the figures).
 * Warm-up: windows that begin within warmup_seconds (600) of a start or a
 * reset are held to more: at least 5 sub-windows, and their second half
 * must have risen by warmup_linearity of their first (a warm-up flattens, a
 * leak does not). After the first start nothing is known of the level, and
 * such windows are not tested at all: a leak that begins in the first 10
 * minutes of monitoring is found once the warm-up is over (a slow one in
 * time; a fast one after 14-15 min, not its 300 s: letting 7-sub-window
 * windows fire there on 7 sds found it after 8-10 min, still late, and
 * fired on slow warm-ups, tau 3-5 min, that a few floors do not tell from
 * a leak under the process's own warm-up; RESULTS section 11). After a
 * reset the level the process held before (per scale; for a process that leaked, the
 * level before its growth) is kept as held territory: a restarted process
 * warms up to it quietly, and a leak that starts at once fires above it.
 * Levels 2 and up (windows of 16 min and more) skip the first third of the
 * warm-up, whose low floors would be the base of every long window.
 * While firing, the window twice as long as the one that fired is watched
 * at its own scale: when its rise falls below resolve_ratio x G (the floor
 * stopped rising, whether or not it falls), the finding resolves, its
 * plateau becomes held territory, and windows that begin before the fire
 * are not tested again (they hold the same growth). Early fires are
 * watched on the window four times as long, and only once it begins after
 * the growth did. A reset resolves a finding.
 *
 * Timing: a floor is known when its sub-window closes, so a fire comes about
 * m/(m-1) x G/R after the leak starts for a leak of R units/s (plus up to one
 * sub-window of alignment), or half that for an early fire (low noise, a
 * leak of G per max_window x early_rise or faster), never before ~0.4 G was
 * added; fast leaks fire on the 4-minute windows of level 0. After a reset
 * the early fire works in the warm-up too (the held level keeps a warm-up
 * quiet).
 *
 * Cost: O(1) per sample (a compare with the bucket's 4th lowest, an
 * insertion into those 4 when below); at a bucket close up to 5 window tests
 * per level closed, amortised over the bucket's samples (about 14 ns per
 * sample at 1 s). Memory: fixed at leak_new, the levels whose shortest
 * window fits max_window_seconds and one more (6 of the 12 at the defaults:
 * about 1.2 KiB). */
#pragma once

#include <stdbool.h>

#define LEAK_LEVELS 12u         /* 1 min .. 2048 min sub-windows */
#define LEAK_RING 8u            /* sub-windows kept per level */

struct leak_params {
        double min_growth;        /* G's floor, in the series' units: 50 goroutines,
                                   * 10 threads, 32 MiB. > 0 */
        double min_growth_ratio;  /* G's share of the window's first floor (0.2). [0, 10] */
        double bucket_seconds;    /* level-0 sub-window (60 s); at least ~3 samples
                                   * should fall in one. [1, 3600] */
        double max_window_seconds; /* longest window tested (7200 s). Longer windows
                                   * find slower leaks and fire on the first half of
                                   * large diurnal cycles (bench/RESULTS.md section 11).
                                   * >= 4 x bucket_seconds */
        double min_trend;         /* Kendall's tau of the window's floors (0.6). (0, 1] */
        double min_linearity;     /* share of the linear rise each half of a window
                                   * must show (0.5). [0, 1] */
        double warmup_seconds;    /* after a start or reset (600 s). >= 0 */
        double warmup_linearity;  /* a window starting in the warm-up: its second
                                   * half rose at least this share of its first
                                   * (0.7). [0, 1] */
        double new_territory;     /* margin above the highest floor held before, in
                                   * G (0.25). >= 0 */
        double resolve_ratio;     /* resolve when the window twice the fired one
                                   * rose < this x G
                                   * (0.25). (0, 1) */
        double min_snr;           /* the rise must also be this many sds of its own
                                   * noise (two floors'), the floors' sd estimated at
                                   * each scale from their second differences (3).
                                   * [0, 100] */
        double max_step_snr;      /* no single sub-window may rise more than its
                                   * linear share plus this many sds of noise: a
                                   * step is not a trend (2). [0, 100] */
        double min_rise;          /* the rise a window needs, in G (1). Less fires
                                   * sooner (0.5 with early_rise 1: median delay
                                   * 0.44 instead of 0.49 of max(300 s, 2G/R) on
                                   * the set) and more often on diurnal cycles (12
                                   * of 18 first days against 5). [0.25, 100] */
        double early_rise;        /* the least rise of an early fire, in units of
                                   * min_rise x G (0.4): windows up to this share of
                                   * max_window fire on this share of the rise, on
                                   * stronger evidence. 1: no early fires. [0.25, 1] */
};

enum leak_event {
        LEAK_NONE,
        LEAK_FIRE,
        LEAK_RESOLVE,
};

struct leak_finding {
        double began;             /* t the growth began (start of the fired window's
                                   * first sub-window), series seconds */
        double fired_at;          /* t of the sample that fired */
        double rate_per_hour;     /* floor growth, units per hour (the latest estimate
                                   * at the fired scale; >= 0) */
        double growth;            /* floor now - baseline, units */
        double baseline;          /* the floor before the growth, units */
        double floor;             /* the latest closed bucket's floor, units */
        double window_seconds;    /* length of the window that fired */
};

struct leak;

/* Defaults for a series whose G floor is min_growth (units of the series). */
void leak_params_default(struct leak_params *p, double min_growth);
/* NULL when p is valid, otherwise a static string naming the bad field. */
const char *leak_params_invalid(const struct leak_params *p);
/* 0, -EINVAL (leak_params_invalid() says why), -ENOMEM. */
int leak_new(const struct leak_params *p, struct leak **ret);
struct leak *leak_free(struct leak *l); /* NULL-safe; returns NULL */

/* Feed one sample. t: seconds, increasing (a t not above the previous
 * sample's is ignored: LEAK_NONE); v: NaN (or +-inf) is a gap; reset: the
 * process restarted just before this sample (resolves a finding, drops what
 * was learned). Returns the event this sample caused. */
enum leak_event leak_feed(struct leak *l, double t, double v, bool reset);
/* True while firing, and in the feed that returned LEAK_RESOLVE (until the
 * next feed), with *ret filled; false otherwise (*ret untouched). */
bool leak_finding(const struct leak *l, struct leak_finding *ret);
/* Seconds until the floor reaches limit at the finding's rate: 0 when it is
 * already there, NaN when the rate is not positive or limit is not a
 * positive number. */
double leak_eta_seconds(const struct leak_finding *f, double limit);
