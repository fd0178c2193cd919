/* The reference PID 1 for the reaping benchmark: the least a reaper can do.
 *
 *   reaper CMD ARGS...
 *
 * Forks CMD, then blocks in waitpid(-1) reaping everything until CMD itself
 * has exited, and exits with its status. No signal forwarding, no polling. */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        pid_t main_pid, pid;
        int status;

        if (argc < 2) {
                fprintf(stderr, "usage: reaper CMD ARGS...\n");
                return 2;
        }
        main_pid = fork();
        if (main_pid < 0)
                return 1;
        if (main_pid == 0) {
                execv(argv[1], &argv[1]);
                _exit(127);
        }
        for (;;) {
                pid = waitpid(-1, &status, 0);
                if (pid < 0 && errno != EINTR)
                        return 1;
                if (pid == main_pid)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
}
