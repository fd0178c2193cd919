/* Fuzz the object path label decoder (a peer names the object it calls)
 * and its encoder: whatever decodes must encode back to the same label,
 * and whatever is encoded must decode to the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char in[256], name[256], label[3 * 256 + 2], back[256];
        size_t n = size < sizeof in - 1 ? size : sizeof in - 1;
        int r;

        memcpy(in, data, n);
        in[n] = '\0';
        /* A label from a peer: decodes, or is refused. */
        r = bus_label_unescape(in, name, sizeof name);
        if (r >= 0) {
                if (strlen(name) != (size_t)r)
                        abort();
                if (bus_label_escape(name, label, sizeof label) < 0)
                        abort();
                /* Hex case and escaped alphanumerics decode the same: the
                 * canonical form decodes to the same name. */
                if (bus_label_unescape(label, back, sizeof back) < 0 || strcmp(back, name) != 0)
                        abort();
        }
        /* A name: encodes, and the label decodes to it. */
        r = bus_label_escape(in, label, sizeof label);
        if (r < 0)
                abort();
        if (bus_label_unescape(label, back, sizeof back) < 0 || strcmp(back, in) != 0)
                abort();
        return 0;
}
