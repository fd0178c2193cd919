/* zcount [TIMEOUT_MS]: count zombie processes in /proc, polling until there
 * are none or the timeout passes; prints "zombies=N" and exits 0 when N is
 * 0. Test helper. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int count(void) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        int n = 0;

        if (!d)
                return -1;
        while ((e = readdir(d))) {
                char path[300], buf[512], *p;
                FILE *f;

                if (e->d_name[0] < '0' || e->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                if (fgets(buf, sizeof buf, f) && (p = strrchr(buf, ')')) && p[1] == ' ' && p[2] == 'Z')
                        n++;
                fclose(f);
        }
        closedir(d);
        return n;
}

int main(int argc, char **argv) {
        long timeout_ms = argc > 1 ? atol(argv[1]) : 5000;
        struct timespec ts = { 0, 10000000 };
        int n = count();

        for (long waited = 0; n != 0 && waited < timeout_ms; waited += 10) {
                nanosleep(&ts, NULL);
                n = count();
        }
        printf("zombies=%d\n", n);
        return n == 0 ? 0 : 1;
}
