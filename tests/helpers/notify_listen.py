#!/usr/bin/env python3
"""notify_listen.py SOCKET: be the service manager's end of sd_notify.

Binds SOCKET ("/path" or "@abstract") as AF_UNIX SOCK_DGRAM with
SO_PASSCRED and prints one line per datagram, flushed at once:
    MONO_USEC PID UID GID LINE|LINE|...
MONO_USEC is CLOCK_MONOTONIC when it arrived (comparable with
MONOTONIC_USEC=), PID/UID/GID are what the kernel attached
(SCM_CREDENTIALS). Prints "listening" to stderr once bound. Runs until
killed."""
import os
import socket
import struct
import sys
import time

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
addr = "\0" + path[1:] if path.startswith("@") else path
if not path.startswith("@") and os.path.exists(path):
    os.unlink(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(addr)
print("listening", file=sys.stderr, flush=True)
SCM_CREDENTIALS = 2
while True:
    data, anc, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(12))
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    pid = uid = gid = -1
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == SCM_CREDENTIALS:
            pid, uid, gid = struct.unpack("iII", payload[:12])
    text = data.decode("utf-8", "replace").replace("\n", "|")
    print(f"{now} {pid} {uid} {gid} {text}", flush=True)
