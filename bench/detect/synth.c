/* synth.c: write the synthetic evaluation set (bench/detect/shapes.h) as
 * CSV series plus a manifest.
 *
 *   synth DIR        DIR/<name>.csv (seconds,value) and DIR/manifest.tsv
 *
 * Deterministic: the same binary writes the same files on any machine. The
 * manifest has one line per series: name, shape, kind, interval (s), noise
 * (in G), seed, hours, healthy|leak, G, base level, the leak episodes
 * (start:rate_per_s:stop, "-" when healthy), the restarts (seconds, "-"
 * when none), then a description. bench/detect/eval.c recomputes the truth
 * from the first seven fields and checks G. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shapes.h"

static void write_sample(void *ctx, double t, double v, bool reset) {
        (void)reset; /* restarts are in the manifest: the CSV grammar has no flag */
        fprintf(ctx, "%.3f,%.0f\n", t, v);
}

int main(int argc, char **argv) {
        char path[4096];
        FILE *man;
        unsigned n = 0;
        unsigned long long samples = 0;

        if (argc == 9 && !strcmp(argv[1], "--one")) {
                /* synth --one SHAPE KIND INTERVAL NOISE SEED HOURS FILE: one series */
                struct synth s = { 0 };
                FILE *f;

                snprintf(s.shape, sizeof(s.shape), "%s", argv[2]);
                s.kind = !strcmp(argv[3], "threads") ? SK_THREADS : !strcmp(argv[3], "rss_bytes") ? SK_RSS : SK_GOROUTINES;
                s.dt = atof(argv[4]);
                s.noise = atof(argv[5]);
                s.seed = strtoull(argv[6], NULL, 10);
                s.dur = atof(argv[7]) * 3600;
                if (synth_setup(&s) < 0 || s.dt <= 0 || s.dur <= 0) {
                        fprintf(stderr, "synth: bad series\n");
                        return 2;
                }
                f = fopen(argv[8], "we");
                if (!f) {
                        perror(argv[8]);
                        return 1;
                }
                fprintf(f, "seconds,%s\n", synth_kind_name(s.kind));
                synth_generate(&s, write_sample, f);
                if (fclose(f) != 0)
                        return 1;
                printf("%s: %s, G %.6g, base %.6g", argv[8], s.desc, s.g, s.base);
                for (unsigned e = 0; e < s.nep; e++)
                        printf(", leak from %.0f s at %.6g/s (allowed %.0f s)", s.ep[e].start, s.ep[e].rate,
                               synth_allowed(&s, e));
                printf("\n");
                return 0;
        }
        if (argc != 2) {
                fprintf(stderr, "usage: synth DIR | synth --one SHAPE KIND INTERVAL NOISE SEED HOURS FILE\n");
                return 2;
        }
        if (mkdir(argv[1], 0755) < 0 && errno != EEXIST) {
                perror(argv[1]);
                return 1;
        }
        snprintf(path, sizeof(path), "%s/manifest.tsv", argv[1]);
        man = fopen(path, "we");
        if (!man) {
                perror(path);
                return 1;
        }
        fprintf(man, "# name\tshape\tkind\tinterval_s\tnoise_G\tseed\thours\thealth\tG\tbase\tleaks(start:rate/s:stop)\trestarts\tdescription\n");
        for (unsigned i = 0;; i++) {
                struct synth s;
                char name[128];
                FILE *f;
                long size;

                if (!synth_set(i, &s))
                        break;
                snprintf(name, sizeof(name), "%03u-%s-%s-%gs-n%g", i, s.shape, synth_kind_name(s.kind), s.dt, s.noise);
                snprintf(path, sizeof(path), "%s/%s.csv", argv[1], name);
                f = fopen(path, "we");
                if (!f) {
                        perror(path);
                        return 1;
                }
                fprintf(f, "seconds,%s\n", synth_kind_name(s.kind));
                synth_generate(&s, write_sample, f);
                size = ftell(f);
                if (fclose(f) != 0) {
                        perror(path);
                        return 1;
                }
                fprintf(man, "%s\t%s\t%s\t%g\t%g\t%llu\t%g\t%s\t%.17g\t%.17g\t", name, s.shape, synth_kind_name(s.kind), s.dt,
                        s.noise, (unsigned long long)s.seed, s.dur / 3600, s.healthy ? "healthy" : "leak", s.g, s.base);
                if (s.nep == 0)
                        fprintf(man, "-");
                for (unsigned e = 0; e < s.nep; e++)
                        fprintf(man, "%s%.0f:%.6g:%.0f", e ? "," : "", s.ep[e].start, s.ep[e].rate,
                                isfinite(s.ep[e].stop) ? s.ep[e].stop : -1);
                fprintf(man, "\t");
                if (s.nres == 0)
                        fprintf(man, "-");
                for (unsigned r = 0; r < s.nres; r++)
                        fprintf(man, "%s%.0f", r ? "," : "", s.res[r]);
                fprintf(man, "\t%s\n", s.desc);
                samples += (unsigned long long)(s.dur / s.dt);
                n++;
                (void)size;
        }
        if (fclose(man) != 0)
                return 1;
        printf("synth: %u series, about %llu samples, in %s\n", n, samples, argv[1]);
        return 0;
}
