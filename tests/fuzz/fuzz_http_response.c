/* Fuzz the client's response parsing (http_response_feed): the input,
 * after a 4-byte header (flags and a split seed), is fed as a server's
 * response cut at up to 7 pseudo-random points. The callback runs exactly
 * once, its result is self-consistent (bounded body, NUL-terminated, no
 * body on failure, a short content type), and the verdict is the same
 * as when the whole input is fed in one piece. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
        int n;
        enum http_error error;
        int status;
        char ct[HTTP_CONTENT_TYPE_MAX + 1];
        bool has_ct;
        char *body;
        size_t body_len;
        size_t body_max;
};

static void on_result(struct http_client *c, const struct http_result *r, void *ud) {
        struct seen *s = ud;

        if (c || s->n++ != 0)
                abort();
        if ((unsigned)r->error >= _HTTP_ERROR_MAX || !http_error_name(r->error) || !r->message)
                abort();
        if (r->status < 0 || r->status > 999)
                abort();
        if (r->error == HTTP_OK && (r->status < 200 || r->status > 299))
                abort();
        if (r->error == HTTP_OK || r->error == HTTP_ERR_STATUS) {
                if (!r->body || r->body[r->body_len] != 0 || r->body_len > s->body_max)
                        abort();
        } else if (r->body || r->body_len)
                abort();
        if (r->content_type && strlen(r->content_type) > HTTP_CONTENT_TYPE_MAX)
                abort();
        s->error = r->error;
        s->status = r->status;
        s->has_ct = r->content_type != NULL;
        if (r->content_type)
                strcpy(s->ct, r->content_type);
        s->body_len = r->body_len;
        if (r->body) {
                s->body = malloc(r->body_len + 1);
                if (!s->body)
                        abort();
                memcpy(s->body, r->body, r->body_len + 1);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const void *chunks[8];
        size_t lens[8], n = 0, cuts[7], nc, at = 0;
        struct seen a = { 0 }, b = { 0 };
        bool head, eof;
        size_t body_max;
        uint32_t seed;
        int ra, rb;

        if (size < 4)
                return 0;
        head = data[0] & 1;
        eof = data[0] & 2;
        body_max = (data[0] & 4) ? 64 : 0;  /* a small cap, or the default */
        seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16;
        data += 4;
        size -= 4;
        a.body_max = b.body_max = body_max ? body_max : HTTP_BODY_MAX;

        /* Up to 7 sorted cut points. */
        nc = seed % 8;
        for (size_t i = 0; i < nc; i++) {
                seed = seed * 1103515245u + 12345u;
                cuts[i] = size ? (seed >> 8) % (size + 1) : 0;
        }
        for (size_t i = 1; i < nc; i++)
                for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
                        size_t t = cuts[j];
                        cuts[j] = cuts[j - 1];
                        cuts[j - 1] = t;
                }
        for (size_t i = 0; i < nc; i++) {
                chunks[n] = data + at;
                lens[n++] = cuts[i] - at;
                at = cuts[i];
        }
        chunks[n] = data + at;
        lens[n++] = size - at;

        ra = http_response_feed(chunks, lens, n, body_max, head, eof, on_result, &a);
        if (ra == -ENOMEM)
                return 0;
        if (ra < 0 || ra > 1 || a.n != 1)
                abort();
        chunks[0] = data;
        lens[0] = size;
        rb = http_response_feed(chunks, lens, 1, body_max, head, eof, on_result, &b);
        if (rb < 0 || b.n != 1)
                abort();
        /* The head-size bound counts bytes per read: near it, a split may
         * change the verdict. Far below it, nothing may. */
        if (size < HTTP_HEADERS_MAX / 2) {
                if (ra != rb || a.error != b.error || a.status != b.status || a.has_ct != b.has_ct ||
                    (a.has_ct && strcmp(a.ct, b.ct) != 0) || a.body_len != b.body_len ||
                    (a.body == NULL) != (b.body == NULL) || (a.body && memcmp(a.body, b.body, a.body_len) != 0))
                        abort();
        }
        free(a.body);
        free(b.body);
        return 0;
}
