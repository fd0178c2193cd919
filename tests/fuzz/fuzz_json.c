/* Fuzz json_parse: it must never crash or overrun; whatever it accepts
 * must re-encode (json_value) to text it accepts again, with the same
 * encoding (a fixed point), and every string must be a C string of its
 * stated length. The limits are the control server's request limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_strings(const struct json_value *v) {
        if (v->type == JSON_STRING && strlen(v->str) != v->len)
                abort();
        if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
                size_t n = 0;

                for (const struct json_value *c = v->child; c; c = c->next, n++) {
                        if ((v->type == JSON_OBJECT) != (c->key != NULL))
                                abort();
                        check_strings(c);
                }
                if (n != v->n_children)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct json_limits lim = { .max_depth = 8, .max_nodes = 1024 };
        struct json_error e = { 0 };
        struct json_doc *d = NULL, *d2 = NULL;
        struct json_writer w, w2;

        if (json_parse((const char *)data, size, &lim, &d, &e) < 0) {
                if (e.offset > size || !e.what)
                        abort();
                return 0;
        }
        check_strings(d->root);
        json_writer_init(&w, 1 << 22);
        json_value(&w, d->root);
        if (json_writer_error(&w) < 0)
                abort();
        if (json_parse(w.buf, w.len, &lim, &d2, &e) < 0)
                abort();
        json_writer_init(&w2, 1 << 22);
        json_value(&w2, d2->root);
        if (json_writer_error(&w2) < 0 || w2.len != w.len || memcmp(w.buf, w2.buf, w.len) != 0)
                abort();
        json_writer_done(&w);
        json_writer_done(&w2);
        json_doc_free(d);
        json_doc_free(d2);
        return 0;
}
