/* Fuzz the goroutine dump parser: no crash, no read outside the input;
 * on success the groups account for every goroutine, stay in their
 * bounds, and both writers produce output (the JSON one valid JSON that
 * json_parse reads back); on failure the output is untouched. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/godump.h"
#include "gorral/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct godump *d = (struct godump *)0x1;
        struct json_writer w;
        struct json_doc *doc = NULL;
        struct json_limits lim = { .max_depth = 16, .max_nodes = (size_t)1 << 22 };
        char *text = NULL, *js = NULL;
        size_t len = 0, jlen = 0;
        uint64_t sum;
        int r;

        r = godump_parse((const char *)data, size, &d);
        if (r < 0) {
                if ((r != -EBADMSG && r != -ENOMEM) || d != (struct godump *)0x1)
                        abort();
                return 0;
        }
        sum = d->other_goroutines;
        if (d->n_groups > GODUMP_MAX_GROUPS || d->lines_skipped > d->lines)
                abort();
        for (size_t i = 0; i < d->n_groups; i++) {
                const struct godump_group *g = &d->groups[i];
                const struct godump_frame *c = godump_group_culprit(g);
                uint64_t st = g->states_other;

                sum += g->count;
                if (g->count == 0 || g->n_frames > GODUMP_MAX_FRAMES || g->n_ids > GODUMP_EXAMPLE_IDS ||
                    g->n_states > GODUMP_MAX_STATES || (i > 0 && d->groups[i - 1].count < g->count))
                        abort();
                for (size_t k = 0; k < g->n_frames; k++)
                        if (!g->frames[k].func)
                                abort();
                for (size_t s = 0; s < g->n_states; s++)
                        st += g->states[s].count;
                if (d->format == GODUMP_TRACEBACK && st != g->count)
                        abort();
                if (c && c != &g->creator && (c < g->frames || c >= g->frames + g->n_frames))
                        abort();
                if (g->labels_mixed && g->n_labels)
                        abort();
        }
        if (sum != d->goroutines)
                abort();
        if (godump_write_text(d, 0, 0, &text, &len) < 0 || strlen(text) != len)
                abort();
        json_writer_init(&w, (size_t)1 << 28);
        godump_write_json(&w, d, 0);
        if (json_writer_steal(&w, &js, &jlen) < 0)
                abort();
        json_writer_done(&w);
        if (json_parse(js, jlen, &lim, &doc, NULL) != 0)
                abort();
        json_doc_free(doc);
        free(js);
        free(text);
        godump_free(d);
        return 0;
}
