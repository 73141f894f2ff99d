#!/usr/bin/env python3
"""Turns criterion's estimates into BENCHMARKS.md tables and docs/*.svg charts.

criterion 0.8 without gnuplot (its plotters backend) writes no line chart
for a parameterised group, so this draws one per group: median time per
element (per event for `backends`, per call for `wait`) against N, log-log.

usage: python3 benches/process/report.py CRITERION_DIR [SVG_OUT_DIR]
  CRITERION_DIR  e.g. $CARGO_TARGET_DIR/criterion
Prints markdown tables (medians and ratios) to stdout.
"""
import json
import math
import os
import sys

COLORS = {"select": "#d62728", "poll": "#ff7f0e", "epoll": "#1f77b4", "mio": "#2ca02c",
          "raw_epoll": "#17becf", "raw_poll": "#bcbd22", "raw_select": "#8c564b"}
ORDER = ["select", "poll", "epoll", "mio", "raw_epoll", "raw_poll", "raw_select"]


def load(root):
    """{group: {member: {param: (median ns per element, elements)}}}"""
    out = {}
    for dirpath, _, files in os.walk(root):
        if "benchmark.json" in files and os.path.basename(dirpath) == "new":
            b = json.load(open(os.path.join(dirpath, "benchmark.json")))
            e = json.load(open(os.path.join(dirpath, "estimates.json")))
            elems = (b.get("throughput") or {}).get("Elements", 1)
            med = e["median"]["point_estimate"] / elems
            param = b.get("value_str") or ""
            member = b.get("function_id")
            if member is None:  # BenchmarkId::from_parameter: the value names the member
                member, param = param, ""
            out.setdefault(b["group_id"], {}).setdefault(member, {})[param] = med
    return out


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def num(p):
    try:
        return float(p)
    except ValueError:
        return None


def table(group, members):
    params = sorted({p for m in members.values() for p in m}, key=lambda p: (num(p) is None, num(p) or 0, p))
    names = [n for n in ORDER if n in members] + sorted(set(members) - set(ORDER))
    print(f"\n#### {group} (median per element)\n")
    print("| N | " + " | ".join(names) + " | epoll/raw_epoll | epoll/mio | poll/raw_poll | select/raw_select |")
    print("|---" * (len(names) + 5) + "|")
    for p in params:
        row = [fmt(members[n][p]) if p in members[n] else "—" for n in names]

        def ratio(a, b):
            if p in members.get(a, {}) and p in members.get(b, {}):
                return f"{members[a][p] / members[b][p]:.2f}"
            return "—"
        print(f"| {p or '-'} | " + " | ".join(row) + f" | {ratio('epoll', 'raw_epoll')} | {ratio('epoll', 'mio')}"
              f" | {ratio('poll', 'raw_poll')} | {ratio('select', 'raw_select')} |")


def svg(group, members, path):
    pts = {n: sorted((num(p), v) for p, v in m.items() if num(p)) for n, m in members.items()}
    pts = {n: v for n, v in pts.items() if v}
    if not pts or all(len(v) < 2 for v in pts.values()):
        return False
    xs = [x for v in pts.values() for x, _ in v]
    ys = [y for v in pts.values() for _, y in v]
    x0, x1 = math.log10(min(xs)), math.log10(max(xs))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    if y1 == y0:
        y1 += 1
    W, H, L, R, T, B = 640, 400, 70, 130, 30, 50
    sx = lambda x: L + (math.log10(x) - x0) / max(x1 - x0, 1e-9) * (W - L - R)
    sy = lambda y: H - B - (math.log10(y) - y0) / (y1 - y0) * (H - T - B)
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="13">{group}: median time per {"event" if group.startswith("backends") else "call"} vs N (log-log)</text>']
    for d in range(y0, y1 + 1):
        y = sy(10 ** d)
        s.append(f'<line x1="{L}" x2="{W - R}" y1="{y}" y2="{y}" stroke="#ddd"/>')
        s.append(f'<text x="{L - 5}" y="{y + 4}" text-anchor="end">{fmt(10 ** d)}</text>')
    for x in sorted(set(xs)):
        s.append(f'<line x1="{sx(x)}" x2="{sx(x)}" y1="{T}" y2="{H - B}" stroke="#eee"/>')
        s.append(f'<text x="{sx(x)}" y="{H - B + 15}" text-anchor="middle">{int(x)}</text>')
    s.append(f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">N (registered fds / socket pairs)</text>')
    names = [n for n in ORDER if n in pts] + sorted(set(pts) - set(ORDER))
    for i, n in enumerate(names):
        c = COLORS.get(n, "#000")
        dash = ' stroke-dasharray="5,3"' if n.startswith("raw_") else ""
        d = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts[n])
        s.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="2"{dash}/>')
        for x, y in pts[n]:
            s.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{c}"/>')
        ly = T + 15 + i * 16
        s.append(f'<line x1="{W - R + 10}" x2="{W - R + 30}" y1="{ly}" y2="{ly}" stroke="{c}" stroke-width="2"{dash}/>')
        s.append(f'<text x="{W - R + 35}" y="{ly + 4}">{n}</text>')
    s.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(s) + "\n")
    return True


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    data = load(sys.argv[1])
    out = sys.argv[2] if len(sys.argv) > 2 else None
    for group in sorted(data):
        table(group, data[group])
        if out and (group.startswith("backends") or group.startswith("wait")):
            os.makedirs(out, exist_ok=True)
            if svg(group, data[group], os.path.join(out, f"{group}.svg")):
                print(f"\n(chart: {out}/{group}.svg)")


if __name__ == "__main__":
    main()
