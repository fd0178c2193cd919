/* version.c: what --version prints, for gorral and every command (one
 * place, so that they cannot differ): the version and whether this build
 * has D-Bus. Outside main.c so that the commands, which the unit tests
 * link, have it too. */
#include <stdio.h>

#include "gorral/bus.h"
#include "gorral/commands.h"

void print_version(void) {
        printf("gorral %s\nD-Bus: %s\n", GORRAL_VERSION, bus_lib_describe());
}
