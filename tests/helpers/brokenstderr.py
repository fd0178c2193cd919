#!/usr/bin/env python3
"""brokenstderr.py GORRAL SIGREC RECORD: run `GORRAL run --log-level debug --
SIGREC RECORD` with stderr a pipe nobody reads, so every log line gorral
writes fails with EPIPE and raises a SIGPIPE for gorral itself. Then send
gorral USR1, PIPE and TERM, one at a time, each confirmed by the recorder.
Prints "rc=N pipes=P lines=L last=SIG": gorral must exit 0 having forwarded
exactly the one SIGPIPE that was sent (P 1), not its own. Test helper.
"""
import os
import signal
import subprocess
import sys
import time


def records(path):
    try:
        with open(path) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def main():
    gorral, sigrec, rec = sys.argv[1:4]
    r, w = os.pipe()
    os.close(r)
    # Popen restores SIGPIPE to its default in the child: without its own
    # handling gorral would die of its first log line.
    p = subprocess.Popen([gorral, "run", "--no-limits", "--log-level", "debug", "--", sigrec, rec], stderr=w)
    os.close(w)
    for _ in range(200):
        if os.path.exists(rec + ".ready") and os.path.getsize(rec + ".ready") > 0:
            break
        time.sleep(0.05)
    for sig in (signal.SIGUSR1, signal.SIGPIPE, signal.SIGTERM):
        n = len(records(rec))
        if p.poll() is not None:
            break
        os.kill(p.pid, sig)
        for _ in range(100):
            if len(records(rec)) > n or p.poll() is not None:
                break
            time.sleep(0.02)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    got = records(rec)
    rc = rc if rc >= 0 else 128 - rc
    print("rc=%d pipes=%d lines=%d last=%s" % (rc, got.count("PIPE"), len(got), got[-1] if got else "none"))


if __name__ == "__main__":
    main()
