#!/usr/bin/env python3
"""Writes the benchmark inputs: a manifest with N services x 4 destinations (VRRP-owned
VIPs, so apply touches only IPVS), the same manifest with one weight changed, and the
equivalent `ipvsadm -R` rules. Usage: gen.py N OUTDIR"""
import os
import sys

n, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
vips = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range((n + 99) // 100)]


def manifest(changed):
    lines = ["version: 1", "cluster: bench", "nodes:",
             "  d1: {roles: [director], addresses: [10.0.200.2/8], interface: eth0}",
             "vrrp:", "  VI_BENCH:", "    vrid: 1", "    members: {d1: {priority: 100}}",
             "    vips: [" + ", ".join(vips) + "]", "services:"]
    for i in range(n):
        vip, port = vips[i // 100], 1000 + i % 100
        w0 = 2 if changed and i == n // 2 else 1
        b = ", ".join(f"r{j}: {{address: 10.1.{(i * 4 + j) // 250 % 250}.{(i * 4 + j) % 250 + 1}, weight: {w0 if j == 0 else 1}}}"
                      for j in range(4))
        lines.append(f"  s{i}: {{vip: {vip}, port: {port}, scheduler: wlc, backends: {{{b}}}}}")
    return "\n".join(lines) + "\n"


with open(f"{out}/big.yaml", "w") as f:
    f.write(manifest(False))
with open(f"{out}/big-one-weight.yaml", "w") as f:
    f.write(manifest(True))
with open(f"{out}/big.rules", "w") as f:
    for i in range(n):
        svc = f"-t {vips[i // 100]}:{1000 + i % 100}"
        f.write(f"-A {svc} -s wlc\n")
        for j in range(4):
            f.write(f"-a {svc} -r 10.1.{(i * 4 + j) // 250 % 250}.{(i * 4 + j) % 250 + 1}:{1000 + i % 100} -g -w 1\n")
