/* Fuzz the server's request handling (http_server_feed): the input, after
 * a 3-byte split seed, is fed to one connection cut at up to 7
 * pseudo-random points. The handler only ever sees GET or HEAD with a
 * target starting with '/'; what the server sends is a sequence of
 * HTTP/1.1 responses; and the requests the handler saw, the number of
 * responses and whether the connection closed do not depend on the cuts. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct calls {
        char log[4096];
        size_t len;
        unsigned n;
};

static int handler(void *ud, const struct http_request *rq, struct http_reply *rp) {
        struct calls *c = ud;
        size_t k;

        if (strcmp(rq->method, rq->head ? "HEAD" : "GET") != 0 || rq->path[0] != '/')
                abort();
        c->n++;
        k = strlen(rq->path) + (rq->query ? strlen(rq->query) + 1 : 0) + 1;
        if (c->len + k < sizeof c->log) {
                c->len += (size_t)snprintf(c->log + c->len, sizeof c->log - c->len, "%s%s%s\n", rq->path,
                                           rq->query ? "?" : "", rq->query ? rq->query : "");
        }
        if (strcmp(rq->path, "/fail") == 0)
                return -EIO;
        if (strcmp(rq->path, "/") == 0) {
                rp->status = 404;
                return 0;
        }
        rp->body = strdup(rq->path);
        rp->body_len = strlen(rq->path);
        return 0;
}

/* Every response the feed produces carries this line; a body here is a
 * request path, which cannot hold CR or LF. */
static unsigned count_responses(const char *out, size_t n) {
        static const char mark[] = "\r\nServer: gorral/";
        unsigned k = 0;

        for (size_t i = 0; i + sizeof mark - 1 <= n; i++)
                if (memcmp(out + i, mark, sizeof mark - 1) == 0)
                        k++;
        return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const void *chunks[8];
        size_t lens[8], n = 0, cuts[7], nc, at = 0, na, nb;
        struct calls a = { 0 }, b = { 0 };
        char *oa = NULL, *ob = NULL;
        bool ca, cb;
        uint32_t seed;

        if (size < 3)
                return 0;
        seed = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16;
        data += 3;
        size -= 3;
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

        if (http_server_feed(NULL, handler, &a, chunks, lens, n, &oa, &na, &ca) < 0)
                return 0;
        chunks[0] = data;
        lens[0] = size;
        if (http_server_feed(NULL, handler, &b, chunks, lens, 1, &ob, &nb, &cb) < 0) {
                free(oa);
                return 0;
        }
        if (na > 0 && memcmp(oa, "HTTP/1.1 ", 9) != 0)
                abort();
        /* Every handler call is answered; errors add one more at most. */
        if (count_responses(oa, na) < a.n || count_responses(oa, na) > a.n + 1)
                abort();
        /* Head sizes are checked per read near request_max (8 KiB). */
        if (size < 4096) {
                if (a.n != b.n || a.len != b.len || memcmp(a.log, b.log, a.len) != 0 || ca != cb ||
                    count_responses(oa, na) != count_responses(ob, nb))
                        abort();
        }
        free(oa);
        free(ob);
        return 0;
}
