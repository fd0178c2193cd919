/* Fuzz promtext_parse in both formats (the first byte picks it) and
 * promtext_go_extract over the same bytes: no crash, no read outside the
 * input (libFuzzer's buffer has no slack), every sample's strings inside
 * the input or the parser's scratch with sane lengths, and on failure a
 * position inside the input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/promtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
        const char *buf;
        size_t n;
        unsigned last_line;
};

static bool inside(const struct ctx *c, const char *p, size_t len) {
        return p >= c->buf && len <= c->n && p <= c->buf + c->n - len;
}

static int check(const struct promtext_sample *s, void *userdata) {
        struct ctx *c = userdata;

        if (!inside(c, s->name, s->name_len) || s->name_len == 0 || !inside(c, s->family, s->family_len))
                abort();
        if (s->n_labels > PROMTEXT_LABELS_MAX || s->type < 0 || s->type >= _PROMTEXT_TYPE_MAX)
                abort();
        if (s->line <= c->last_line)
                abort(); /* one sample per line, in order */
        c->last_line = s->line;
        for (size_t i = 0; i < s->n_labels; i++) {
                const struct promtext_label *l = &s->labels[i];
                volatile char sink = 0;

                if (!inside(c, l->name, l->name_len) || l->name_len == 0 || l->value_len > PROMTEXT_LINE_MAX)
                        abort();
                /* Touch every byte of the value (ASan checks the scratch). */
                for (size_t j = 0; j < l->value_len; j++)
                        sink ^= l->value[j];
                (void)sink;
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        enum promtext_format fmt;
        struct promtext_error e = { 0 };
        struct go_metrics m;
        struct ctx c;
        size_t lines = 1;
        int r;

        if (size < 1)
                return 0;
        fmt = data[0] & 1 ? PROMTEXT_OPENMETRICS : PROMTEXT_TEXT;
        data++;
        size--;
        c = (struct ctx){ (const char *)data, size, 0 };
        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        r = promtext_parse((const char *)data, size, fmt, check, &c, &e);
        if (r != 0 && r != -EBADMSG && r != -ENOMEM)
                abort();
        if (r == -EBADMSG && (e.line < 1 || e.line > lines || e.column < 1 || e.column > PROMTEXT_LINE_MAX + 1 ||
                              !memchr(e.message, '\0', sizeof e.message) || !e.message[0]))
                abort();
        if (promtext_go_extract((const char *)data, size, fmt, &m, NULL) != r)
                abort();
        if (r == 0 && (m.present & GO_METRICS_HAS_VERSION) && !memchr(m.go_version, '\0', sizeof m.go_version))
                abort();
        return 0;
}
