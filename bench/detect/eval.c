/* eval.c: run the leak detector and the naive rule over the synthetic set
 * and print hits, delays, early fires and false alarms per detector.
 *
 *   eval DIR            read DIR/manifest.tsv and DIR/<name>.csv (synth's output)
 *   eval --synth        generate the same set in memory (no files)
 *   eval --real DIR     the real recordings named in DIR/real.tsv
 *   eval --file F.csv MIN_GROWTH   one series: its fire/resolve lines
 *   eval --diurnal-grid first-day diurnal fires by swing and max_window
 *   options: -v (one line per series), --max-window S, --only SHAPE,
 *            --set PARAM VALUE (a leak_params field), --seed-base N (with
 *            --synth: a second draw of the set, seeds N + i instead of
 *            1000 + i)
 *
 * The truth of a series (its leak episodes, resets, G) is recomputed from
 * the manifest's shape, kind, interval, noise, seed and length with the
 * generator's own code (shapes.h), and G is cross-checked with the
 * manifest's. Resets are passed to the detector at the manifest's restart
 * times (a running gorral knows when it restarted a service).
 *
 * Scoring, per leak episode (from its start to the next episode or the end):
 * the first fire is early when the leak had added less than G/4, in time
 * when its delay is at most max(300 s, 2G/R); no fire is a miss. A fire
 * outside every episode (or more than the allowed delay after a leak
 * stopped) is a false alarm. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gorral/csvseries.h"
#include "gorral/leak.h"
#include "shapes.h"

#define MAX_EVENTS 64

struct sample { double t, v; bool reset; };

struct run {
        struct sample *s;
        size_t n, cap;
};

static void add(void *ctx, double t, double v, bool reset) {
        struct run *r = ctx;

        if (r->n == r->cap) {
                r->cap = r->cap ? 2 * r->cap : 65536;
                r->s = realloc(r->s, r->cap * sizeof(*r->s));
                if (!r->s) {
                        perror("realloc");
                        exit(1);
                }
        }
        r->s[r->n++] = (struct sample) { t, v, reset };
}

struct ev { double t; int fire; };

struct score {
        const char *name;
        unsigned episodes, in_time, early, missed, late, healthy, fa_series, fa_fires, fa_healthy;
        double delays[4096], ratios[4096];
        unsigned nd;
        double worst_ratio, worst_delay, worst_allowed;
        unsigned resolves_expected, resolved;
        double resolve_delays[256];
        unsigned nres;
        char fa_names[4096];
        double samples, seconds;
};

static bool verbose;

/* Per shape and detector (0 leak, 1 naive), for the breakdown table. */
struct per_shape {
        unsigned series, fa, episodes, in_time, nd;
        double delays[256], allowed[256];
};
static struct per_shape per[2][SYNTH_NSHAPES];

/* Per interval (1, 5, 15 s) and detector: in time, episodes, healthy fired, healthy. */
static unsigned per_dt[2][3][4];

static unsigned *dt_stats(const struct score *sc, double dt) {
        unsigned d = dt < 2 ? 0 : dt < 10 ? 1 : 2;

        return per_dt[strcmp(sc->name, "leak") != 0][d];
}

static struct per_shape *shape_stats(const struct score *sc, const char *shape) {
        for (unsigned i = 0; i < SYNTH_NSHAPES; i++)
                if (!strcmp(synth_shapes[i], shape))
                        return &per[strcmp(sc->name, "leak") != 0][i];
        return NULL;
}

static double growth_at(const struct synth *s, unsigned e, double t) {
        double b = fmin(t, s->ep[e].stop);

        return b > s->ep[e].start ? s->ep[e].rate * (b - s->ep[e].start) : 0;
}

static void score_series(struct score *sc, const char *name, const struct synth *s,
                         const struct ev *evs, unsigned nev) {
        bool fa = false;
        unsigned fa_n = 0;
        char line[512];
        int off = 0;

        struct per_shape *ps = shape_stats(sc, s->shape);

        unsigned *pd = dt_stats(sc, s->dt);

        if (ps)
                ps->series++;
        pd[3] += s->healthy;
        off += snprintf(line + off, sizeof(line) - (size_t)off, "%-8s %-40s", sc->name, name);
        if (s->healthy)
                sc->healthy++;
        for (unsigned i = 0; i < nev; i++) {
                double t = evs[i].t;
                bool inep = false;

                if (!evs[i].fire)
                        continue;
                for (unsigned e = 0; e < s->nep; e++) {
                        double end = e + 1 < s->nep ? s->ep[e + 1].start : INFINITY;

                        if (isfinite(s->ep[e].stop))
                                end = fmin(end, s->ep[e].stop + synth_allowed(s, e));
                        if (t >= s->ep[e].start && t < end)
                                inep = true;
                }
                if (!inep) {
                        fa = true;
                        fa_n++;
                        off += snprintf(line + off, sizeof(line) - (size_t)off, " FA@%.0f", t);
                        if (off > 400)
                                off = 400;
                }
        }
        for (unsigned e = 0; e < s->nep; e++) {
                double end = e + 1 < s->nep ? s->ep[e + 1].start : INFINITY, allowed = synth_allowed(s, e);
                bool found = false;

                sc->episodes++;
                for (unsigned i = 0; i < nev; i++) {
                        double t = evs[i].t, d;

                        if (!evs[i].fire || t < s->ep[e].start || t >= end)
                                continue;
                        found = true;
                        d = t - s->ep[e].start;
                        if (growth_at(s, e, t) < s->g / 4) {
                                sc->early++;
                                off += snprintf(line + off, sizeof(line) - (size_t)off, " EARLY %.0f s (%.2f G)", d,
                                                growth_at(s, e, t) / s->g);
                        } else {
                                if (sc->nd < 4096) {
                                        sc->delays[sc->nd] = d;
                                        sc->ratios[sc->nd++] = d / allowed;
                                }
                                if (d / allowed > sc->worst_ratio) {
                                        sc->worst_ratio = d / allowed;
                                        sc->worst_delay = d;
                                        sc->worst_allowed = allowed;
                                }
                                if (ps && ps->nd < 256) {
                                        ps->delays[ps->nd] = d;
                                        ps->allowed[ps->nd++] = allowed;
                                }
                                if (d <= allowed) {
                                        pd[0]++;
                                        sc->in_time++;
                                        if (ps)
                                                ps->in_time++;
                                }
                                else
                                        sc->late++;
                                off += snprintf(line + off, sizeof(line) - (size_t)off, " %s %.0f/%.0f s",
                                                d <= allowed ? "hit" : "LATE", d, allowed);
                        }
                        break;
                }
                if (ps)
                        ps->episodes++;
                pd[1]++;
                if (!found) {
                        sc->missed++;
                        off += snprintf(line + off, sizeof(line) - (size_t)off, " MISS (allowed %.0f s)", allowed);
                }
                if (isfinite(s->ep[e].stop) && found) {
                        sc->resolves_expected++;
                        for (unsigned i = 0; i < nev; i++)
                                if (!evs[i].fire && evs[i].t >= s->ep[e].stop) {
                                        sc->resolved++;
                                        if (sc->nres < 256)
                                                sc->resolve_delays[sc->nres++] = evs[i].t - s->ep[e].stop;
                                        off += snprintf(line + off, sizeof(line) - (size_t)off,
                                                        " resolved +%.0f s", evs[i].t - s->ep[e].stop);
                                        break;
                                }
                }
                if (off > 400)
                        off = 400;
        }
        if (fa) {
                size_t l = strlen(sc->fa_names);

                sc->fa_series++;
                sc->fa_healthy += s->healthy;
                if (ps)
                        ps->fa++;
                pd[2] += s->healthy;
                sc->fa_fires += fa_n;
                if (l + strlen(name) + 3 < sizeof(sc->fa_names))
                        snprintf(sc->fa_names + l, sizeof(sc->fa_names) - l, "%s%s", l ? ", " : "", name);
        }
        if (verbose)
                printf("%s\n", line);
}

static struct leak_params params;

static unsigned run_leak(const struct run *r, const struct synth *s, struct ev *evs, struct score *sc) {
        struct leak_params p = params;
        struct leak *l = NULL;
        unsigned n = 0;
        struct timespec a, b;

        p.min_growth = s->min_growth;
        if (leak_new(&p, &l) < 0) {
                fprintf(stderr, "leak_new: %s\n", leak_params_invalid(&p));
                exit(2);
        }
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (size_t i = 0; i < r->n; i++) {
                enum leak_event e = leak_feed(l, r->s[i].t, r->s[i].v, r->s[i].reset);

                if (e != LEAK_NONE && n < MAX_EVENTS)
                        evs[n++] = (struct ev) { r->s[i].t, e == LEAK_FIRE };
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        sc->samples += (double)r->n;
        sc->seconds += (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        leak_free(l);
        return n;
}

static int cmpd(const void *x, const void *y) {
        double a = *(const double *)x, b = *(const double *)y;

        return a < b ? -1 : a > b;
}

/* The naive rule: value > 1.5 x baseline for 10 samples in a row, the
 * baseline the median of the first 10 minutes after a start or reset. */
static unsigned run_naive(const struct run *r, struct ev *evs, struct score *sc) {
        static double win[4096];
        unsigned n = 0, nw = 0, over = 0;
        double t0 = NAN, base = NAN;
        bool active = false;
        struct timespec a, b;

        clock_gettime(CLOCK_MONOTONIC, &a);
        for (size_t i = 0; i < r->n; i++) {
                double t = r->s[i].t, v = r->s[i].v;

                if (r->s[i].reset || isnan(t0)) {
                        if (active && n < MAX_EVENTS)
                                evs[n++] = (struct ev) { t, 0 };
                        t0 = t;
                        nw = 0;
                        base = NAN;
                        over = 0;
                        active = false;
                }
                if (isnan(base)) {
                        if (t - t0 < 600 && nw < 4096) {
                                win[nw++] = v;
                                continue;
                        }
                        qsort(win, nw, sizeof(double), cmpd);
                        base = nw ? win[nw / 2] : v;
                }
                if (v > 1.5 * base) {
                        if (++over == 10 && !active) {
                                active = true;
                                if (n < MAX_EVENTS)
                                        evs[n++] = (struct ev) { t, 1 };
                        }
                } else {
                        over = 0;
                        if (active) {
                                active = false;
                                if (n < MAX_EVENTS)
                                        evs[n++] = (struct ev) { t, 0 };
                        }
                }
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        sc->samples += (double)r->n;
        sc->seconds += (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        return n;
}

static double median(double *v, unsigned n) {
        if (n == 0)
                return NAN;
        qsort(v, n, sizeof(double), cmpd);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void report(struct score *sc) {
        double md = median(sc->delays, sc->nd), mr = median(sc->ratios, sc->nd);

        printf("| %s | %u / %u | %u | %u | %u | %.0f s (%.2f) | %.0f s of %.0f s (%.2f) | %u / %u | %u | %.3g |\n",
               sc->name, sc->in_time, sc->episodes, sc->late, sc->missed, sc->early, md, mr, sc->worst_delay,
               sc->worst_allowed, sc->worst_ratio, sc->fa_healthy, sc->healthy, sc->fa_series - sc->fa_healthy,
               sc->samples / sc->seconds);
}

struct csvctx { struct run *r; const struct synth *s; unsigned nres; };

static double parse_seconds, parse_bytes, parse_samples;

static int csv_cb(void *ctx, double t, double v) {
        struct csvctx *c = ctx;
        bool reset = false;

        while (c->nres < c->s->nres && c->s->res[c->nres] <= t) {
                c->nres++;
                reset = true;
        }
        add(c->r, t, v, reset);
        return 0;
}

static int load_csv(const char *dir, const char *name, const struct synth *s, struct run *r) {
        char path[4096];
        FILE *f;
        char *buf;
        long len;
        struct csvctx c = { r, s, 0 };
        struct csvseries_error err = { 0 };
        struct timespec ta, tb;
        int k;

        snprintf(path, sizeof(path), "%s/%s.csv", dir, name);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)len + 1);
        if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
                fclose(f);
                free(buf);
                return -EIO;
        }
        fclose(f);
        clock_gettime(CLOCK_MONOTONIC, &ta);
        k = csvseries_parse(buf, (size_t)len, CSVSERIES_MAX_SAMPLES, csv_cb, &c, &err);
        clock_gettime(CLOCK_MONOTONIC, &tb);
        parse_seconds += (double)(tb.tv_sec - ta.tv_sec) + (double)(tb.tv_nsec - ta.tv_nsec) / 1e9;
        parse_bytes += (double)len;
        if (k > 0)
                parse_samples += k;
        free(buf);
        if (k < 0)
                fprintf(stderr, "%s: line %zu: %s\n", path, err.line, err.what);
        return k;
}

/* A swing x max_window grid of first-day diurnal fires: goroutines around
 * 1000 (G 200), noise 0.2 G, 36 h from midnight, 4 seeds x 1/5/15 s. */
static void diurnal_grid(void) {
        static const double swings[] = { 1.25, 1.5, 1.75, 2, 2.5, 3 }, windows[] = { 3600, 7200, 14400, 21600 };
        static struct ev evs[MAX_EVENTS];

        printf("| night-to-day swing | max rise rate (G/h) |");
        for (unsigned w = 0; w < 4; w++)
                printf(" fired, max_window %.0f h |", windows[w] / 3600);
        printf("\n|---|---|---|---|---|---|\n");
        for (unsigned i = 0; i < sizeof(swings) / sizeof(swings[0]); i++) {
                double lo = 2 * 1000 / (1 + swings[i]);

                printf("| x%.2f | %.2f |", swings[i], M_PI * (swings[i] - 1) * lo / 86400 * 3600 / 200);
                for (unsigned w = 0; w < 4; w++) {
                        unsigned fired = 0, n = 0;

                        for (unsigned d = 0; d < 3; d++)
                                for (unsigned seed = 0; seed < 4; seed++) {
                                        struct synth sp;
                                        struct run r = { 0 };
                                        struct score sc = { .name = "grid" };
                                        struct leak_params keep = params;
                                        unsigned k;

                                        memset(&sp, 0, sizeof(sp));
                                        snprintf(sp.shape, sizeof(sp.shape), "diurnal");
                                        sp.kind = SK_GOROUTINES;
                                        sp.dt = (double[]) { 1, 5, 15 }[d];
                                        sp.noise = 0.2;
                                        sp.seed = 500 + seed;
                                        sp.dur = 36 * 3600;
                                        synth_setup(&sp);
                                        sp.base = 1000;
                                        sp.g = 200;
                                        sp.sigma = 40;
                                        sp.a1 = swings[i];
                                        sp.a2 = 0;
                                        synth_generate(&sp, add, &r);
                                        params.max_window_seconds = windows[w];
                                        k = run_leak(&r, &sp, evs, &sc);
                                        params = keep;
                                        for (unsigned e = 0; e < k; e++)
                                                if (evs[e].fire) {
                                                        fired++;
                                                        break;
                                                }
                                        n++;
                                        free(r.s);
                                }
                        printf(" %u / %u |", fired, n);
                }
                printf("\n");
        }
}

static int cmpd(const void *x, const void *y);

/* Real recordings: DIR/real.tsv names them (name kind healthy|leak start
 * rate_per_s); G is max(min_growth, 0.2 x the median before the leak). */
static int real_mode(const char *dir) {
        static struct score leak_sc = { .name = "leak" }, naive_sc = { .name = "naive" };
        static struct ev evs[MAX_EVENTS];
        char path[4096], line[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/real.tsv", dir);
        f = fopen(path, "re");
        if (!f) {
                perror(path);
                return 2;
        }
        while (fgets(line, sizeof(line), f)) {
                char name[128], kind[32], health[16];
                double start, rate, *v;
                struct synth s;
                struct run r = { 0 };
                size_t nb = 0;
                unsigned n;

                if (line[0] == '#' || sscanf(line, "%127s %31s %15s %lf %lf", name, kind, health, &start, &rate) != 5)
                        continue;
                memset(&s, 0, sizeof(s));
                s.kind = !strcmp(kind, "threads") ? SK_THREADS : !strcmp(kind, "rss_bytes") ? SK_RSS : SK_GOROUTINES;
                s.min_growth = synth_min_growth(s.kind);
                s.healthy = !strcmp(health, "healthy");
                if (load_csv(dir, name, &s, &r) < 0)
                        return 2;
                v = malloc(r.n * sizeof(double));
                for (size_t i = 0; i < r.n; i++)
                        if (s.healthy || r.s[i].t < start)
                                v[nb++] = r.s[i].v;
                qsort(v, nb, sizeof(double), cmpd);
                s.base = nb ? v[nb / 2] : 0;
                free(v);
                s.g = fmax(s.min_growth, 0.2 * s.base);
                if (!s.healthy) {
                        s.nep = 1;
                        s.ep[0] = (struct synth_ep) { start, INFINITY, rate };
                }
                n = run_leak(&r, &s, evs, &leak_sc);
                score_series(&leak_sc, name, &s, evs, n);
                n = run_naive(&r, evs, &naive_sc);
                score_series(&naive_sc, name, &s, evs, n);
                printf("- %s: %s, %zu samples, usual level %.0f, G %.0f%s\n", name, health, r.n, s.base, s.g,
                       s.healthy ? "" : "");
                if (!s.healthy)
                        printf("  leak from %.0f s at %.3g/s: allowed %.0f s\n", start, rate, synth_allowed(&s, 0));
                free(r.s);
        }
        fclose(f);
        printf("\n| detector | leaks in time | late | missed | early | median delay (of allowed) | worst delay / allowed | healthy series that fired | leak series with a fire outside the leak | samples/s |\n");
        printf("|---|---|---|---|---|---|---|---|---|---|\n");
        report(&leak_sc);
        report(&naive_sc);
        printf("\nleak false alarms: %s; naive false alarms: %s\n", leak_sc.fa_series ? leak_sc.fa_names : "none",
               naive_sc.fa_series ? naive_sc.fa_names : "none");
        return 0;
}

/* One file: print each event as `gorral detect --replay` would. */
static int file_mode(const char *path, double min_growth) {
        struct synth s;
        struct run r = { 0 };
        struct leak_params p = params;
        struct leak *l;
        char dir[4096], *slash, name[4096];
        size_t len;

        memset(&s, 0, sizeof(s));
        snprintf(dir, sizeof(dir), "%s", path);
        slash = strrchr(dir, '/');
        snprintf(name, sizeof(name), "%s", slash ? slash + 1 : dir);
        if (slash)
                *slash = 0;
        else
                snprintf(dir, sizeof(dir), ".");
        len = strlen(name);
        if (len > 4 && !strcmp(name + len - 4, ".csv"))
                name[len - 4] = 0;
        if (load_csv(dir, name, &s, &r) < 0)
                return 2;
        p.min_growth = min_growth;
        if (leak_new(&p, &l) < 0)
                return 2;
        for (size_t i = 0; i < r.n; i++) {
                enum leak_event e = leak_feed(l, r.s[i].t, r.s[i].v, false);
                struct leak_finding f;

                if (e == LEAK_NONE || !leak_finding(l, &f))
                        continue;
                printf("event=%s detector=leak at=%.3f began=%.0f rate_per_hour=%.6g growth=%.6g baseline=%.6g floor=%.6g window=%.0f\n",
                       e == LEAK_FIRE ? "fire" : "resolve", r.s[i].t, f.began, f.rate_per_hour, f.growth, f.baseline,
                       f.floor, f.window_seconds);
        }
        leak_free(l);
        free(r.s);
        return 0;
}

int main(int argc, char **argv) {
        static struct score leak_sc = { .name = "leak" }, naive_sc = { .name = "naive" };
        static struct ev evs[MAX_EVENTS];
        const char *dir = NULL, *only = NULL;
        bool synth_mode = false;
        uint64_t seed_base = 1000;
        FILE *man = NULL;
        char line[2048];
        unsigned series = 0;

        leak_params_default(&params, 50);
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "-v"))
                        verbose = true;
                else if (!strcmp(argv[i], "--real") && i + 1 < argc) {
                        return real_mode(argv[i + 1]);
                } else if (!strcmp(argv[i], "--file") && i + 2 < argc) {
                        return file_mode(argv[i + 1], atof(argv[i + 2]));
                } else if (!strcmp(argv[i], "--diurnal-grid")) {
                        diurnal_grid();
                        return 0;
                } else if (!strcmp(argv[i], "--synth"))
                        synth_mode = true;
                else if (!strcmp(argv[i], "--seed-base") && i + 1 < argc)
                        seed_base = strtoull(argv[++i], NULL, 10);
                else if (!strcmp(argv[i], "--max-window") && i + 1 < argc)
                        params.max_window_seconds = atof(argv[++i]);
                else if (!strcmp(argv[i], "--set") && i + 2 < argc) {
                        const char *k = argv[++i];
                        double v = atof(argv[++i]);

                        if (!strcmp(k, "min_snr")) params.min_snr = v;
                        else if (!strcmp(k, "max_step_snr")) params.max_step_snr = v;
                        else if (!strcmp(k, "min_trend")) params.min_trend = v;
                        else if (!strcmp(k, "min_linearity")) params.min_linearity = v;
                        else if (!strcmp(k, "warmup_linearity")) params.warmup_linearity = v;
                        else if (!strcmp(k, "new_territory")) params.new_territory = v;
                        else if (!strcmp(k, "bucket_seconds")) params.bucket_seconds = v;
                        else if (!strcmp(k, "warmup_seconds")) params.warmup_seconds = v;
                        else if (!strcmp(k, "resolve_ratio")) params.resolve_ratio = v;
                        else if (!strcmp(k, "min_rise")) params.min_rise = v;
                        else if (!strcmp(k, "early_rise")) params.early_rise = v;
                        else if (!strcmp(k, "max_window_seconds")) params.max_window_seconds = v;
                        else {
                                fprintf(stderr, "eval: unknown parameter %s\n", k);
                                return 2;
                        }
                } else if (!strcmp(argv[i], "--only") && i + 1 < argc)
                        only = argv[++i];
                else if (argv[i][0] != '-')
                        dir = argv[i];
                else {
                        fprintf(stderr, "usage: eval [-v] [--max-window S] [--only SHAPE] (--synth | DIR)\n");
                        return 2;
                }
        }
        if (!synth_mode && !dir) {
                fprintf(stderr, "usage: eval [-v] (--synth | DIR)\n");
                return 2;
        }
        if (!synth_mode) {
                snprintf(line, sizeof(line), "%s/manifest.tsv", dir);
                man = fopen(line, "re");
                if (!man) {
                        perror(line);
                        return 2;
                }
        }
        for (unsigned i = 0;; i++) {
                struct synth s;
                struct run r = { 0 };
                char name[128];
                unsigned n;

                if (synth_mode) {
                        if (!synth_set_seeded(i, seed_base, &s))
                                break;
                        snprintf(name, sizeof(name), "%03u-%s-%s-%gs-n%g", i, s.shape, synth_kind_name(s.kind), s.dt,
                                 s.noise);
                } else {
                        char shape[32], kind[32];
                        double g;

                        if (!fgets(line, sizeof(line), man))
                                break;
                        if (line[0] == '#')
                                continue;
                        memset(&s, 0, sizeof(s));
                        if (sscanf(line, "%127s %31s %31s %lf %lf %lu %lf %*s %lf", name, shape, kind, &s.dt, &s.noise,
                                   &s.seed, &s.dur, &g) != 8) {
                                fprintf(stderr, "manifest: bad line: %s", line);
                                return 2;
                        }
                        snprintf(s.shape, sizeof(s.shape), "%s", shape);
                        s.kind = !strcmp(kind, "threads") ? SK_THREADS : !strcmp(kind, "rss_bytes") ? SK_RSS : SK_GOROUTINES;
                        s.dur *= 3600;
                        if (synth_setup(&s) < 0 || fabs(s.g - g) > 1e-6 * g + 0.01) {
                                fprintf(stderr, "manifest: %s does not match the generator\n", name);
                                return 2;
                        }
                }
                if (only && strcmp(only, s.shape))
                        continue;
                if (synth_mode)
                        synth_generate(&s, add, &r);
                else if (load_csv(dir, name, &s, &r) < 0)
                        return 2;
                series++;
                n = run_leak(&r, &s, evs, &leak_sc);
                score_series(&leak_sc, name, &s, evs, n);
                n = run_naive(&r, evs, &naive_sc);
                score_series(&naive_sc, name, &s, evs, n);
                free(r.s);
        }
        if (man)
                fclose(man);
        printf("\n%u series, %u healthy, %u leak episodes; max_window %.0f s\n\n", series, leak_sc.healthy,
               leak_sc.episodes, params.max_window_seconds);
        printf("| detector | leaks in time | late | missed | early | median delay (of allowed) | worst delay / allowed | healthy series that fired | leak series with a fire outside the leak | samples/s |\n");
        printf("|---|---|---|---|---|---|---|---|---|---|\n");
        report(&leak_sc);
        report(&naive_sc);
        {
                /* Replay speed: a 24 h series at 1 s, flat with noise; the
                 * best of 7 runs (the cores are shared). */
                struct leak_params p = params;
                struct leak *l;
                struct timespec a, b;
                double sec = INFINITY;

                p.min_growth = 50;
                for (unsigned run = 0; run < 7; run++) {
                        uint64_t r = 42;
                        double x;

                        if (leak_new(&p, &l) < 0)
                                break;
                        clock_gettime(CLOCK_MONOTONIC, &a);
                        for (unsigned i = 0; i < 86400; i++)
                                leak_feed(l, i + 0.1 * synth_u(&r), 1000 + 20 * synth_u(&r), false);
                        clock_gettime(CLOCK_MONOTONIC, &b);
                        x = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
                        sec = x < sec ? x : sec;
                        leak_free(l);
                }
                if (isfinite(sec))
                        printf("\nreplay of a 24 h series at 1 s (86400 samples, best of 7): %.1f ms, %.0f ns per sample\n",
                               sec * 1e3, sec / 86400 * 1e9);
        }
        printf("\n| shape | series | leak: in time | leak: fired outside a leak | naive: in time | naive: fired outside a leak | median allowed | leak: median delay |\n");
        printf("|---|---|---|---|---|---|---|---|\n");
        for (unsigned i = 0; i < SYNTH_NSHAPES; i++) {
                struct per_shape *a0 = &per[0][i], *a1 = &per[1][i];
                char t0[32] = "-", t1[32] = "-", ma[32] = "-", md[32] = "-";

                if (a0->series == 0)
                        continue;
                if (a0->episodes) {
                        snprintf(t0, sizeof(t0), "%u / %u", a0->in_time, a0->episodes);
                        snprintf(t1, sizeof(t1), "%u / %u", a1->in_time, a1->episodes);
                }
                if (a0->nd) {
                        snprintf(ma, sizeof(ma), "%.0f s", median(a0->allowed, a0->nd));
                        snprintf(md, sizeof(md), "%.0f s", median(a0->delays, a0->nd));
                }
                printf("| %s | %u | %s | %u | %s | %u | %s | %s |\n", synth_shapes[i], a0->series, t0, a0->fa, t1, a1->fa,
                       ma, md);
        }
        printf("\n| interval | leak: in time | leak: healthy fired | naive: in time | naive: healthy fired |\n|---|---|---|---|---|\n");
        for (unsigned d = 0; d < 3; d++)
                printf("| %g s | %u / %u | %u / %u | %u / %u | %u / %u |\n", (double[]) { 1, 5, 15 }[d], per_dt[0][d][0],
                       per_dt[0][d][1], per_dt[0][d][2], per_dt[0][d][3], per_dt[1][d][0], per_dt[1][d][1], per_dt[1][d][2],
                       per_dt[1][d][3]);
        if (parse_seconds > 0)
                printf("\nCSV parse (csvseries_parse, callback into an array): %.3g samples/s, %.0f MB/s\n",
                       parse_samples / parse_seconds, parse_bytes / parse_seconds / 1e6);
        printf("\nleak: resolved %u of %u stopped leaks, median %.0f s after the stop\n", leak_sc.resolved,
               leak_sc.resolves_expected, median(leak_sc.resolve_delays, leak_sc.nres));
        printf("leak false alarms: %s\n", leak_sc.fa_series ? leak_sc.fa_names : "none");
        printf("naive false alarms: %s\n", naive_sc.fa_series ? naive_sc.fa_names : "none");
        return 0;
}
