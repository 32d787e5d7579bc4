#!/usr/bin/env python3
"""Validate every committed .ptx with ptxas (PyPI nvidia-cuda-nvcc-cu12==12.9.86) for sm_70,
sm_80 and sm_90. Prints registers, spills and memory per kernel; fails on any ptxas error or on
any spill (spill stores/loads or a stack frame used by spilling).

Usage: check_ptxas.py [FILE.ptx ...]     (default: kernels/ptx/*.ptx and kernels/tests/ptx/*.ptx)
The venv is $CUDA_TOOLS (default ~/cuda-tools); see install_cuda_tools.sh.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

KERNELS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCHS = ["sm_70", "sm_80", "sm_90"]


def find_ptxas():
    tools = os.environ.get("CUDA_TOOLS", os.path.join(os.path.expanduser("~"), "cuda-tools"))
    found = glob.glob(os.path.join(tools, "lib", "python3*", "site-packages", "nvidia",
                                   "cuda_nvcc", "bin", "ptxas"))
    if not found:
        sys.exit(f"check_ptxas: ptxas not found under {tools}; run install_cuda_tools.sh")
    return found[0]


FUNC_RE = re.compile(r"Compiling entry function '([^']+)' for '([^']+)'")
FUNC2_RE = re.compile(r"Function properties for (\S+)")
STACK_RE = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
USED_RE = re.compile(r"Used (\d+) registers(.*)")


def main():
    ptxas = find_ptxas()
    files = sys.argv[1:] or sorted(glob.glob(os.path.join(KERNELS, "ptx", "*.ptx"))) + sorted(
        glob.glob(os.path.join(KERNELS, "tests", "ptx", "*.ptx")))
    failures = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            rel = os.path.relpath(path, KERNELS)
            for arch in ARCHS:
                cmd = [ptxas, "-v", f"-arch={arch}", "-o", os.path.join(tmp, "out.cubin"), path]
                p = subprocess.run(cmd, capture_output=True, text=True)
                out = p.stdout + p.stderr
                if p.returncode != 0:
                    failures.append(f"{rel} [{arch}]: ptxas failed:\n{out.strip()}")
                    continue
                # ptxas -v reports, per function: "Compiling entry function 'F' for 'sm_XX'" (or
                # "Function properties for F"), then "N bytes stack frame, S bytes spill stores,
                # L bytes spill loads", then "Used R registers, ...".
                current = None
                info = {}
                for line in out.splitlines():
                    m = FUNC_RE.search(line) or FUNC2_RE.search(line)
                    if m:
                        current = m.group(1)
                        info.setdefault(current, {})
                        continue
                    if current is None:
                        continue
                    m = STACK_RE.search(line)
                    if m:
                        info[current].update(stack=int(m.group(1)), spill_st=int(m.group(2)),
                                             spill_ld=int(m.group(3)))
                    m = USED_RE.search(line)
                    if m:
                        info[current].update(regs=int(m.group(1)), mem=m.group(2).strip(", "))
                for func, d in info.items():
                    if "regs" not in d and "stack" not in d:
                        continue
                    rows.append((rel, arch, func, d.get("regs", "-"), d.get("stack", 0),
                                 d.get("spill_st", 0), d.get("spill_ld", 0), d.get("mem", "")))
                    if d.get("spill_st", 0) or d.get("spill_ld", 0):
                        failures.append(f"{rel} [{arch}] {func}: spills "
                                        f"({d['spill_st']} B stores, {d['spill_ld']} B loads)")
    w = max([len(r[0]) + len(r[2]) + 1 for r in rows] + [20])
    print(f"{'file:kernel':<{w}} {'arch':<6} {'regs':>4} {'stack':>5} {'spill':>9}  memory")
    for rel, arch, func, regs, stack, st, ld, mem in sorted(rows, key=lambda r: (r[0], r[2], r[1])):
        print(f"{rel + ':' + func:<{w}} {arch:<6} {regs:>4} {stack:>5} {f'{st}/{ld}':>9}  {mem}")
    for f in failures:
        print(f"check_ptxas: FAIL {f}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"check_ptxas: {len(files)} files x {len(ARCHS)} archs ok, no spills")


if __name__ == "__main__":
    main()
