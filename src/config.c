/* config.c: PLACEHOLDER until the loader lands (config branch). */
#include <errno.h>
#include <stdlib.h>

#include "gorral/config.h"

int config_load(const char *path, const struct config_context *ctx, struct config **ret, struct config_diags *diags) {
        (void)path; (void)ctx; (void)ret; (void)diags;
        return -ENOTSUP;
}
struct config *config_free(struct config *c) { free(c); return NULL; }
void config_diags_done(struct config_diags *d) { (void)d; }
int config_service_equal(const struct config_service *a, const struct config_service *b, bool *ret_only) {
        (void)a; (void)b; *ret_only = false; return 0;
}
void config_diags_print(FILE *f, const struct config_diags *d) { (void)f; (void)d; }
