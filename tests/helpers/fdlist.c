/* fdlist: print what a child inherited, on one line:
 *   fds=0,1,2 sigblk=HEX sigign=HEX pgid_is_pid=0|1 sid_is_pid=0|1
 * Test helper. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        char fds[4096] = "", line[256], blk[32] = "?", ign[32] = "?";
        int self = d ? dirfd(d) : -1, nums[1024], n = 0;
        FILE *f;

        if (!d)
                return 1;
        while ((e = readdir(d)) && n < 1024)
                if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && atoi(e->d_name) != self)
                        nums[n++] = atoi(e->d_name);
        closedir(d);
        for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                        if (nums[j] < nums[i]) {
                                int t = nums[i];
                                nums[i] = nums[j];
                                nums[j] = t;
                        }
        for (int i = 0; i < n; i++) {
                char b[16];
                snprintf(b, sizeof b, "%s%d", i ? "," : "", nums[i]);
                strcat(fds, b);
        }
        f = fopen("/proc/self/status", "re");
        while (f && fgets(line, sizeof line, f)) {
                if (!strncmp(line, "SigBlk:", 7))
                        sscanf(line + 7, "%31s", blk);
                if (!strncmp(line, "SigIgn:", 7))
                        sscanf(line + 7, "%31s", ign);
        }
        if (f)
                fclose(f);
        printf("fds=%s sigblk=%s sigign=%s pgid_is_pid=%d sid_is_pid=%d\n", fds, blk, ign,
               getpgrp() == getpid(), getsid(0) == getpid());
        return 0;
}
