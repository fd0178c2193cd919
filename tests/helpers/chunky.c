/* chunky TAG LINES LONG PARTIAL: write output the way real services do,
 * for the output.prefix tests:
 *   - LINES lines "TAG out NNNNNN abcdefghij" on stdout and
 *     "TAG err NNNNNN ABCDEFGHIJ" on stderr, each cut into writes of 1 to 7
 *     bytes (a fixed pseudo-random sequence), stdout and stderr alternating
 *     piece by piece, so lines of several processes interleave at the pipes;
 *   - then, when LONG > 0, one stdout line of LONG bytes ('a' + i % 26)
 *     written 1000 bytes at a time;
 *   - then PARTIAL on stdout without a newline (when not empty), and exit.
 * Test helper. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned rng = 12345;

static size_t piece(void) {
        rng = rng * 1103515245u + 12345u;
        return 1 + (rng >> 16) % 7;
}

static void put(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k <= 0)
                        exit(1);
                p += k;
                n -= (size_t)k;
        }
}

int main(int argc, char **argv) {
        char out[64], err[64];
        long lines, longlen;

        if (argc != 5) {
                fprintf(stderr, "usage: chunky TAG LINES LONG PARTIAL\n");
                return 2;
        }
        lines = atol(argv[2]);
        longlen = atol(argv[3]);
        for (const char *t = argv[1]; *t; t++)
                rng = rng * 31 + (unsigned char)*t;
        for (long i = 0; i < lines; i++) {
                int no = snprintf(out, sizeof out, "%s out %06ld abcdefghij\n", argv[1], i);
                int ne = snprintf(err, sizeof err, "%s err %06ld ABCDEFGHIJ\n", argv[1], i);
                size_t oo = 0, oe = 0;

                while (oo < (size_t)no || oe < (size_t)ne) {
                        size_t k;

                        if (oo < (size_t)no) {
                                k = piece();
                                if (k > (size_t)no - oo)
                                        k = (size_t)no - oo;
                                put(1, out + oo, k);
                                oo += k;
                        }
                        if (oe < (size_t)ne) {
                                k = piece();
                                if (k > (size_t)ne - oe)
                                        k = (size_t)ne - oe;
                                put(2, err + oe, k);
                                oe += k;
                        }
                }
        }
        if (longlen > 0) {
                char buf[1000];

                for (long off = 0; off < longlen;) {
                        size_t k = longlen - off < (long)sizeof buf ? (size_t)(longlen - off) : sizeof buf;

                        for (size_t j = 0; j < k; j++)
                                buf[j] = (char)('a' + (off + (long)j) % 26);
                        put(1, buf, k);
                        off += (long)k;
                }
                put(1, "\n", 1);
        }
        if (argv[4][0])
                put(1, argv[4], strlen(argv[4]));
        return 0;
}
