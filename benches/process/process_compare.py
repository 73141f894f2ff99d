#!/usr/bin/env python3
"""Process-level comparison of the echo_<backend> examples, driven by
examples/echo_load (BENCHMARKS.md, "Process level").

Each server runs pinned `taskset -c 1`, echo_load pinned `taskset -c 0`.
For every C x M it reads the server's CPU time (utime+stime ticks from
/proc/PID/stat, and ns on CPU from /proc/PID/schedstat) before and after,
and with --strace it attaches `strace -c -f -p PID` for extra runs at C=1
and C=50 to count syscalls per message.

usage: python3 benches/process/process_compare.py [--seconds T] [--strace] [--servers epoll,poll,select]
  (build first: cargo build --release --examples; uses $CARGO_TARGET_DIR or target/)
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

args = sys.argv[1:]
secs = 5.0
if "--seconds" in args:
    secs = float(args[args.index("--seconds") + 1])
servers = ["epoll", "poll", "select"]
if "--servers" in args:
    servers = args[args.index("--servers") + 1].split(",")
do_strace = "--strace" in args
target = os.environ.get("CARGO_TARGET_DIR", "target")
bindir = os.path.join(target, "release", "examples")
TCK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    ticks = int(rest[11]) + int(rest[12])
    ns = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            ns += int(f.read().split()[0])
    return ticks, ns


def start(name):
    p = subprocess.Popen(["taskset", "-c", "1", os.path.join(bindir, f"echo_{name}"), "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    addr = re.search(r"listening on (\S+)", line).group(1)
    return p, addr


def load(addr, c, m, t):
    out = subprocess.run(["taskset", "-c", "0", os.path.join(bindir, "echo_load"), "--connections", str(c),
                          "--size", str(m), "--seconds", str(t), "--json", addr],
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


rows = []
for name in servers:
    p, addr = start(name)
    for c in (1, 50, 500):
        for m in (64, 4096):
            t0, n0 = cpu(p.pid)
            r = load(addr, c, m, secs)
            t1, n1 = cpu(p.pid)
            msgs = max(r["messages"], 1)
            rows.append(dict(server=name, c=c, m=m, msgs_s=r["msgs_per_s"], p50=r["p50_us"], p99=r["p99_us"],
                             errors=r["errors"], cpu_ns_msg=(n1 - n0) / msgs,
                             tick_ns_msg=(t1 - t0) * 1e9 / TCK / msgs))
            print(json.dumps(rows[-1]), flush=True)
    if do_strace:
        for c in (1, 50):
            s = subprocess.Popen(["strace", "-c", "-f", "-q", "-p", str(p.pid), "-o", f"/tmp/strace_{name}_{c}.txt"])
            time.sleep(0.5)
            r = load(addr, c, 64, secs)
            s.send_signal(signal.SIGINT)
            s.wait()
            calls = {}
            with open(f"/tmp/strace_{name}_{c}.txt") as f:
                for line in f:
                    parts = line.split()
                    # % time, seconds, usecs/call, calls, [errors,] syscall
                    if len(parts) >= 5 and parts[3].isdigit() and parts[-1] != "total":
                        calls[parts[-1]] = int(parts[3])
            total = sum(calls.values())
            msgs = max(r["messages"], 1)
            per = {k: round(v / msgs, 3) for k, v in sorted(calls.items(), key=lambda kv: -kv[1])[:6]}
            print(json.dumps(dict(server=name, c=c, strace_msgs=msgs, syscalls_per_msg=round(total / msgs, 3),
                                  by_call=per)), flush=True)
    p.send_signal(signal.SIGTERM)
    p.wait()

print("\n| server | C | size | msgs/s | p50 µs | p99 µs | server CPU ns/msg | vs epoll |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    base = next((x for x in rows if x["server"] == "epoll" and x["c"] == r["c"] and x["m"] == r["m"]), None)
    ratio = r["cpu_ns_msg"] / base["cpu_ns_msg"] if base else float("nan")
    print(f"| {r['server']} | {r['c']} | {r['m']} | {r['msgs_s']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
          f"{r['cpu_ns_msg']:.0f} | {ratio:.2f} |")
