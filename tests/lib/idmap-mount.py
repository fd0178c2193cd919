#!/usr/bin/env python3
"""idmap-mount.py SRC DST HOSTID COUNT: attach at DST a bind mount of SRC
in which the files of uid/gid 0..COUNT-1 show as HOSTID..HOSTID+COUNT-1.

The systemd tier boots a container with --private-users=HOSTID:COUNT on an
overlayfs whose lower layer is the cached Debian root: nspawn's own
--private-users-ownership=map cannot idmap an overlayfs (it says "ID mapped
mounts are apparently not available"), but overlayfs takes idmapped lower
layers (Linux 5.19+), and the cache stays untouched. util-linux 2.38 has no
X-mount.idmap and newuidmap may be missing, so this does it with the new
mount API (open_tree, mount_setattr(MOUNT_ATTR_IDMAP), move_mount) and a
user namespace of its own child, whose maps it writes itself (as root).
Run it in a private mount namespace: the mount goes away with it.
Exit status 0, or 1 with the failing call on stderr."""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_open_tree, SYS_move_mount, SYS_mount_setattr = 428, 429, 442
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC = 1, 0o2000000
AT_EMPTY_PATH, AT_RECURSIVE, AT_FDCWD = 0x1000, 0x8000, -100
MOVE_MOUNT_F_EMPTY_PATH = 4
MOUNT_ATTR_IDMAP = 0x100000
class attr(ctypes.Structure):
    _fields_ = [("set", ctypes.c_uint64), ("clr", ctypes.c_uint64), ("prop", ctypes.c_uint64), ("userns", ctypes.c_uint64)]
def chk(r, what):
    if r < 0:
        e = ctypes.get_errno()
        sys.exit(f"idmap-mount: {what}: {os.strerror(e)}")
    return r
src, dst, base, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
CLONE_NEWUSER = 0x10000000
r, w = os.pipe()
r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    # The child only holds a user namespace for the parent to map and open.
    os.close(r); os.close(w2)
    if libc.unshare(CLONE_NEWUSER) < 0:
        os._exit(1)
    os.write(w, b"x")
    os.read(r2, 1)          # until the parent is done with our namespace
    os._exit(0)
os.close(w); os.close(r2)
if os.read(r, 1) != b"x":
    sys.exit("idmap-mount: unshare(CLONE_NEWUSER) failed")
for f in ("uid_map", "gid_map"):
    with open(f"/proc/{pid}/{f}", "w") as m:
        m.write(f"0 {base} {count}\n")
ns = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
os.close(w2); os.waitpid(pid, 0)
fd = chk(libc.syscall(SYS_open_tree, AT_FDCWD, src.encode(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC), "open_tree")
a = attr(MOUNT_ATTR_IDMAP, 0, 0, ns)
chk(libc.syscall(SYS_mount_setattr, fd, b"", AT_EMPTY_PATH, ctypes.byref(a), ctypes.c_size_t(ctypes.sizeof(a))), "mount_setattr")
chk(libc.syscall(SYS_move_mount, fd, b"", AT_FDCWD, dst.encode(), MOVE_MOUNT_F_EMPTY_PATH), "move_mount")
