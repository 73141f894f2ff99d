#!/usr/bin/env python3
"""Many cores: the `echo_multi` example under each balance mode against a C
server with the same three modes (benches/process/c/multi_echo.c), in one
run, interleaved rounds (BENCHMARKS.md, "Round 3, session 3").

Servers, two loops each (--loops 2), loop i pinned to CPU i (--pin):
  c-reuseport, c-exclusive, c-handoff     multi_echo.c --balance MODE
  sp-reuseport, sp-exclusive, sp-handoff  examples/echo_multi --balance MODE
                                          --backend BACKEND (default epoll)
exclusive re-adds its listener every --rearm K accepts (default 16) on
both sides. A fresh server is started for every run and stopped with
SIGINT, and its report (one line per loop) read.

First, the single-loop saturation rate S: echo_load ping-pong with 50
connections for T seconds against each side's one-loop server
(--loops 1 --balance reuseport), median of 3; S is the C server's.
Then each round, for each mode, for both servers (order rotated):
  churn  echo_load --churn R for T s: per-loop accepted, max/min share
  50%    echo_load --rate 0.5*S --connections 50 for T s: p99, p99.9
  80%    the same at 0.8*S, and server CPU (every thread, schedstat) per
         million messages echoed
The tables give medians over rounds (and ranges): absolute figures for
each server, and sockpoll ÷ C of the same round and mode.

The client (echo_load, one thread) runs beside the servers on the same two
CPUs: these are 2-core figures, absolute numbers are this machine's only.

usage: python3 benches/process/multi_compare.py [--target-dir DIR] [--rounds R]
         [--seconds T] [--churn R] [--rearm K] [--backend B] [--modes a,b,c]
         [--json FILE]
  DIR: --target-dir, else $CARGO_TARGET_DIR, else target (build first:
  cargo build --release --examples). multi_echo.c is compiled with
  `cc -O2 -pthread` into DIR/c/; without a C compiler only sockpoll runs.
"""
import functools
import json
import os
import re
import signal
import subprocess
import sys
import time

from compare_common import cell, compile_c, cpu_ns, med, opt, start

PROG = "multi_compare"
opt = functools.partial(opt, PROG)

target = opt("--target-dir", os.environ.get("CARGO_TARGET_DIR", "target"))
rounds = opt("--rounds", 5, int)
secs = opt("--seconds", 3.0, float)
churn_rate = opt("--churn", 2000, int)
rearm = opt("--rearm", 16, int)
backend = opt("--backend", "epoll")
modes = opt("--modes", ["reuseport", "exclusive", "handoff"], lambda v: v.split(","))
json_out = opt("--json", None)
for m in modes:
    if m not in ("reuseport", "exclusive", "handoff"):
        sys.exit(f"{PROG}: unknown mode {m!r}")
examples = os.path.join(target, "release", "examples")
cdir = os.path.join(target, "c")
logdir = os.path.join(cdir, "logs")
os.makedirs(logdir, exist_ok=True)

have_c = compile_c(PROG, cdir, [("multi_echo", ["-pthread"])])
echo_load = os.path.join(examples, "echo_load")
echo_multi = os.path.join(examples, "echo_multi")
for b in (echo_load, echo_multi):
    if not os.path.exists(b):
        sys.exit(f"{PROG}: no {b}: cargo build --release --examples (or --target-dir)")
SIDES = (["c"] if have_c else []) + ["sp"]


def command(side, mode, loops=2):
    args = ["--loops", str(loops), "--balance", mode, "--pin", "--rearm", str(rearm)]
    if side == "c":
        return [os.path.join(cdir, "multi_echo")] + args + ["127.0.0.1:0"]
    return [echo_multi] + args + ["--backend", backend, "127.0.0.1:0"]


def serve(side, mode, loops, load_args):
    """Starts a server, runs echo_load --json LOAD_ARGS against it, reads
    the server's CPU time, stops it with SIGINT; the load's JSON, the
    per-loop accepted counts and the CPU ns."""
    name = f"{side}-{mode}-{loops}"
    server = start(PROG, logdir, name, command(side, mode, loops), cpus=None)
    p, err = server["proc"], server["err"]
    time.sleep(0.1)  # the loops reach their waits
    cpu0 = cpu_ns(p.pid)
    out = subprocess.run([echo_load, "--json"] + load_args + [server["addr"]],
                         capture_output=True, text=True, timeout=secs + 60)
    cpu = cpu_ns(p.pid) - cpu0
    p.send_signal(signal.SIGINT)
    rest, _ = p.communicate(timeout=10)
    if p.returncode != 0 or out.returncode != 0:
        err.seek(0)
        sys.exit(f"{PROG}: {name}: server exit {p.returncode}, load exit {out.returncode}: "
                 f"{out.stdout}{out.stderr}{err.read()[-500:]}")
    accepted = [int(re.search(r"accepted=(\d+)", l).group(1))
                for l in rest.splitlines() if l.startswith("loop=")]
    return json.loads(out.stdout.strip().splitlines()[-1]), accepted, cpu


def share(accepted):
    lo, hi = min(accepted), max(accepted)
    return hi / lo if lo else float("inf")


# Single-loop saturation: closed-loop ping-pong, 50 connections.
sat = {}
for side in SIDES:
    rates = [serve(side, "reuseport", 1, ["--connections", "50", "--seconds", str(secs)])[0]["msgs_per_s"]
             for _ in range(3)]
    sat[side] = med(rates)
    print(f"{PROG}: single-loop saturation, {side}: {sat[side]:.0f} msgs/s (runs {[round(r) for r in rates]})",
          flush=True)
S = sat.get("c", sat["sp"])
loads = {"50%": 0.5 * S, "80%": 0.8 * S}

runs = []
for rnd in range(rounds):
    for mode in modes:
        order = SIDES[rnd % len(SIDES):] + SIDES[:rnd % len(SIDES)]
        for side in order:
            j, acc, _ = serve(side, mode, 2, ["--churn", str(churn_rate), "--seconds", str(secs)])
            runs.append(dict(round=rnd, mode=mode, side=side, kind="churn", accepted=acc,
                             share=share(acc), errors=j["errors"], connects=j["connects"]))
            for label, rate in loads.items():
                j, acc, cpu = serve(side, mode, 2, ["--rate", f"{rate:.0f}", "--connections", "50",
                                                    "--seconds", str(secs)])
                runs.append(dict(round=rnd, mode=mode, side=side, kind=label, accepted=acc, p99=j["p99_us"],
                                 p999=j["p999_us"], msgs=j["messages"], achieved=j["msgs_per_s"],
                                 cpu_ns=cpu, errors=j["errors"],
                                 cpu_per_m=cpu / 1e9 / max(j["messages"], 1) * 1e6))
        print(f"{PROG}: round {rnd + 1}/{rounds}, {mode} done", flush=True)


def pick(mode, side, kind, key):
    return [r[key] for r in runs if r["mode"] == mode and r["side"] == side and r["kind"] == kind]


def ratios(mode, kind, key):
    out = []
    for rnd in range(rounds):
        a = [r[key] for r in runs if (r["round"], r["mode"], r["side"], r["kind"]) == (rnd, mode, "sp", kind)]
        b = [r[key] for r in runs if (r["round"], r["mode"], r["side"], r["kind"]) == (rnd, mode, "c", kind)]
        if a and b and b[0]:
            out.append(a[0] / b[0])
    return out


print(f"\nsingle-loop saturation S = {S:.0f} msgs/s ({'C' if 'c' in sat else 'sockpoll'}); "
      f"offered 50% = {loads['50%']:.0f}, 80% = {loads['80%']:.0f} msgs/s; churn {churn_rate}/s; "
      f"{rounds} rounds of {secs} s; backend {backend}; rearm {rearm}\n")
print("accept share under churn, max/min per loop (medians, range):\n")
print("| mode | C | sockpoll |")
print("|---|---|---|")
for mode in modes:
    print(f"| {mode} | {cell(pick(mode, 'c', 'churn', 'share'))} | {cell(pick(mode, 'sp', 'churn', 'share'))} |")
for label in loads:
    print(f"\nlatency at {label} of S (µs from intended send; medians, range):\n")
    print("| mode | C p99 | sockpoll p99 | ÷ C | C p99.9 | sockpoll p99.9 | ÷ C |")
    print("|---|---|---|---|---|---|---|")
    for mode in modes:
        print(f"| {mode} | {cell(pick(mode, 'c', label, 'p99'), '{:.0f}')} | "
              f"{cell(pick(mode, 'sp', label, 'p99'), '{:.0f}')} | {cell(ratios(mode, label, 'p99'))} | "
              f"{cell(pick(mode, 'c', label, 'p999'), '{:.0f}')} | "
              f"{cell(pick(mode, 'sp', label, 'p999'), '{:.0f}')} | {cell(ratios(mode, label, 'p999'))} |")
print("\nserver CPU-seconds per million messages at 80% of S (medians, range):\n")
print("| mode | C | sockpoll | ÷ C |")
print("|---|---|---|---|")
for mode in modes:
    print(f"| {mode} | {cell(pick(mode, 'c', '80%', 'cpu_per_m'))} | "
          f"{cell(pick(mode, 'sp', '80%', 'cpu_per_m'))} | {cell(ratios(mode, '80%', 'cpu_per_m'))} |")
bad = [r for r in runs if r["errors"]]
if bad:
    print(f"\n{PROG}: {len(bad)} runs saw load errors: {bad[:3]}")
if json_out:
    with open(json_out, "w") as f:
        json.dump(dict(saturation=sat, loads=loads, runs=runs), f, indent=1)
