#!/usr/bin/env python3
"""spin_cpu.py BIN SPIN_US GAP_MS [SECONDS]

One client sends PINGs for SECONDS (default 2), GAP_MS apart (0: back to
back), to a fresh cairn-server started with `--io-idle-spin-us SPIN_US`:
prints how many PINGs it got through and the server's CPU time. What the
idle spin costs and buys at a light load (ARCHITECTURE.md, threading
model): back to back the spinning server keeps a core busy and answers
sooner; with gaps longer than the spin its CPU is what it was without.
"""
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

binary, spin, gap = sys.argv[1], sys.argv[2], float(sys.argv[3])
secs = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
data = tempfile.mkdtemp(prefix="spin-cpu-")
port = 30000 + random.randrange(5000)
server = subprocess.Popen(
    [binary, "--port", str(port), "--dir", data, "--io-idle-spin-us", spin],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
try:
    for _ in range(200):
        try:
            conn = socket.create_connection(("127.0.0.1", port))
            break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit("server did not start")

    def cpu_ms():
        ticks = 0
        for t in os.listdir(f"/proc/{server.pid}/task"):
            with open(f"/proc/{server.pid}/task/{t}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        return ticks * 1000 // os.sysconf("SC_CLK_TCK")

    before, start, n = cpu_ms(), time.time(), 0
    while time.time() - start < secs:
        conn.sendall(b"PING\r\n")
        conn.recv(64)
        n += 1
        if gap:
            time.sleep(gap / 1000)
    print(f"spin={spin}us gap={gap}ms pings={n} server_cpu_ms={cpu_ms() - before}")
finally:
    server.kill()
    server.wait()
    subprocess.run(["rm", "-rf", data])
