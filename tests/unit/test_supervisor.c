/* Unit tests for the pure parts of src/supervisor.c: the --remap-exit
 * table (every one of the 256 codes, the last rule wins, the reasons a
 * spec is refused). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gorral/supervisor.h"

Test(supervisor, remap_identity_then_every_code) {
        struct supervisor_options o;
        const char *why = NULL;
        char spec[16];

        supervisor_options_init(&o);
        for (int c = 0; c < 256; c++)
                cr_assert_eq(supervisor_remap_exit(&o, c), c);
        for (int c = 0; c < 256; c++) {
                snprintf(spec, sizeof spec, "%d:%d", c, 255 - c);
                cr_assert_eq(supervisor_parse_remap(&o, spec, &why), 0, "%s", spec);
        }
        for (int c = 0; c < 256; c++)
                cr_assert_eq(supervisor_remap_exit(&o, c), 255 - c);
        cr_assert_eq(supervisor_parse_remap(&o, "7:1", &why), 0);
        cr_assert_eq(supervisor_remap_exit(&o, 7), 1, "the last rule for a code wins");
        cr_assert_eq(supervisor_remap_exit(&o, -1), -1, "out of range: unchanged");
}

Test(supervisor, remap_refusals_say_why) {
        struct supervisor_options o;
        const char *why = NULL;

        supervisor_options_init(&o);
        cr_assert_eq(supervisor_parse_remap(&o, "7", &why), -EINVAL);
        cr_assert(strstr(why, "FROM:TO"), "%s", why);
        cr_assert_eq(supervisor_parse_remap(&o, "256:0", &why), -EINVAL);
        cr_assert(strstr(why, "FROM"), "%s", why);
        cr_assert_eq(supervisor_parse_remap(&o, ":0", &why), -EINVAL);
        cr_assert(strstr(why, "FROM"), "%s", why);
        cr_assert_eq(supervisor_parse_remap(&o, "1:-1", &why), -EINVAL);
        cr_assert(strstr(why, "TO"), "%s", why);
        cr_assert_eq(supervisor_parse_remap(&o, "1:", &why), -EINVAL);
        cr_assert(strstr(why, "TO"), "%s", why);
        for (int c = 0; c < 256; c++)
                cr_assert_eq(supervisor_remap_exit(&o, c), c, "a refused spec changes nothing");
}
