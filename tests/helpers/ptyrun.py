#!/usr/bin/env python3
"""ptyrun.py [--send TEXT] [--timeout SEC] -- CMD [ARGS...]

Run CMD as the leader of a new session whose controlling terminal is a new
pty (what a terminal emulator, `docker run -t` or sshd gives a shell), type
TEXT into it (backslash escapes such as \\n are understood), and copy
everything the terminal shows to stdout. Exits with CMD's exit status
(128+N when killed by signal N), or 124 when CMD has not finished within
SEC seconds (default 10): then the session is killed. Test helper.
"""
import os
import pty
import select
import signal
import sys
import time


def main():
    args = sys.argv[1:]
    send, timeout = b"", 10.0
    while args and args[0] != "--":
        if args[0] == "--send":
            send = args[1].encode().decode("unicode_escape").encode("latin-1")
            args = args[2:]
        elif args[0] == "--timeout":
            timeout = float(args[1])
            args = args[2:]
        else:
            sys.exit("ptyrun: unknown option " + args[0])
    cmd = args[1:]
    if not cmd:
        sys.exit(__doc__)
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    # The line discipline keeps typed input until someone reads it.
    if send:
        os.write(fd, send)
    out = bytearray()
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if not ready:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: every holder of the terminal is gone
            break
        if not data:
            break
        out += data
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
    sys.stdout.flush()
    if timed_out:
        sys.exit(124)
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


if __name__ == "__main__":
    main()
