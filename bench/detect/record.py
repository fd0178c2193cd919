#!/usr/bin/env python3
"""Record a real goservice's go_goroutines (from /metrics) and OS threads
(/proc/PID/status) at 1 s into seconds,value CSVs, under a scenario:

  healthy   bursty load only: Poisson bursts of 200-2000 idle keep-alive
            connections (each holds a server goroutine) held 2-20 s
  goleak    the same load, and from LEAK_AT s (env, default 700: after
            the detector's 10-minute warm-up) one goroutine leaked every
            GO_EVERY s (/leak/goroutines?n=1)
  threadleak the same load, and from LEAK_AT s one locked OS thread leaked
            every TH_EVERY s (/leak/threads?n=1)

usage: record.py GOSERVICE SCENARIO SECONDS OUTPREFIX
Writes OUTPREFIX-goroutines.csv, OUTPREFIX-threads.csv and prints the
leak's start and rate (per second) as truth lines."""
import os, random, socket, subprocess, sys, threading, time, urllib.request

LEAK_AT = float(os.environ.get("LEAK_AT", "700"))
GO_EVERY = 3.0
TH_EVERY = 10.0

def main():
    binary, scenario, secs, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    p = subprocess.Popen([binary, "-listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    addr = None
    for line in p.stdout:
        if line.startswith("listening="):
            addr = line.strip().split("=", 1)[1]
            break
    host, port = addr.rsplit(":", 1)
    port = int(port)
    stop = threading.Event()
    rnd = random.Random(8)

    def burst(n, hold):
        socks = []
        for _ in range(n):
            try:
                s = socket.create_connection((host, port), timeout=2)
                s.sendall(b"GET /stats HTTP/1.1\r\nHost: x\r\n")  # incomplete: the server waits
                socks.append(s)
            except OSError:
                break
        time.sleep(hold)
        for s in socks:
            s.close()

    def load():
        while not stop.is_set():
            time.sleep(rnd.expovariate(1 / 30.0))
            threading.Thread(target=burst, args=(rnd.randint(200, 2000), rnd.uniform(2, 20)), daemon=True).start()

    def leak():
        path, every = ("/leak/goroutines?n=1", GO_EVERY) if scenario == "goleak" else ("/leak/threads?n=1", TH_EVERY)
        t0 = time.monotonic()
        while time.monotonic() - t0 < LEAK_AT and not stop.is_set():
            time.sleep(0.2)
        while not stop.is_set():
            urllib.request.urlopen("http://%s%s" % (addr, path)).read()
            time.sleep(every)

    threading.Thread(target=load, daemon=True).start()
    if scenario in ("goleak", "threadleak"):
        threading.Thread(target=leak, daemon=True).start()
    fg = open(out + "-goroutines.csv", "w")
    ft = open(out + "-threads.csv", "w")
    for f in (fg, ft):
        f.write("seconds,value\n")
    t0 = time.monotonic()
    n = 0
    while True:
        now = time.monotonic() - t0
        if now > secs:
            break
        try:
            body = urllib.request.urlopen("http://%s/metrics" % addr, timeout=2).read().decode()
            g = next(l.split()[1] for l in body.splitlines() if l.startswith("go_goroutines "))
            fg.write("%.3f,%s\n" % (now, g))
        except Exception:
            pass  # a missed scrape is an absent line
        try:
            th = next(l.split()[1] for l in open("/proc/%d/status" % p.pid) if l.startswith("Threads:"))
            ft.write("%.3f,%s\n" % (now, th))
        except Exception:
            pass
        n += 1
        time.sleep(max(0, t0 + n - time.monotonic()))
    stop.set()
    p.terminate()
    p.wait()
    if scenario == "goleak":
        print("truth goroutines leak start=%.0f rate=%.4f" % (LEAK_AT, 1 / GO_EVERY))
    elif scenario == "threadleak":
        print("truth threads leak start=%.0f rate=%.4f" % (LEAK_AT, 1 / TH_EVERY))

main()
