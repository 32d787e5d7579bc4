#!/usr/bin/env python3
"""The engine against PyTorch on the CPU, measured alternately on one machine.

For every case (a training step or evaluation of one MNIST model at one batch size) and every
round, runs the engine's `step_rate` bench and then `benches/pytorch/train_step.py` on the same
case, so both see the same machine load; prints per case the median images/s of each over the
rounds, every round's figures, the ratio, and the issue's target for it.

    TORCH_PYTHON=/work/torch-venv/bin/python python3 benches/compare_pytorch.py \
        [--rounds 3] [--threads 2] [--seconds 2] [--case train:cnn:64 ...] [--no-build]

TORCH_PYTHON: a python with torch installed (default: python3). To make one:
    python3 -m venv /work/torch-venv && /work/torch-venv/bin/pip install torch numpy
ENGINE_CPU_KERNEL=avx512|avx2|portable forces the engine's SIMD path (default: the widest).
Run it on a quiet machine: the load average is printed before and after.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "target" / "release" / "step_rate"
TORCH_SCRIPT = ROOT / "benches" / "pytorch" / "train_step.py"

# The bars: engine images/s at least this many times PyTorch's.
TARGETS = {"train:cnn:64": 2.0, "train:cnn:256": 2.0, "train:small:64": 2.0,
           "train:mlp:64": 1.5, "eval:cnn:1000": 3.0, "eval:small:1000": 3.0,
           "eval:mlp:1000": 3.0}
CASES = ["train:cnn:64", "train:cnn:256", "train:cnn:1024", "train:small:64", "train:mlp:64",
         "eval:cnn:1000", "eval:small:1000", "eval:mlp:1000"]


def machine():
    model, flags = "unknown CPU", ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("Flags:"):
                have = line.split(":", 1)[1].split()
                flags = " ".join(f for f in have if re.match(r"(avx|fma|amx)", f))
    except FileNotFoundError:
        pass
    return model, flags


def load():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def rate_of(output, case, who):
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "case" and parts[1] == case:
            return float(parts[2])
    sys.exit(f"{who} printed no figure for {case}; its output was:\n{output}")


def run(cmd, env, who):
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"{who} failed ({' '.join(map(str, cmd))}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=2.0, help="length of one timed window")
    p.add_argument("--case", action="append", help="<train|eval>:<model>:<batch>; repeatable")
    p.add_argument("--no-build", action="store_true", help="use the step_rate binary as built")
    args = p.parse_args()
    cases = args.case or CASES

    python = os.environ.get("TORCH_PYTHON", "python3")
    try:
        probe = subprocess.run([python, "-c", "import torch; print(torch.__version__)"],
                               capture_output=True, text=True)
        missing = probe.returncode != 0
    except FileNotFoundError:
        missing = True
    if missing:
        sys.exit(f"TORCH_PYTHON={python!r} cannot import torch. Install it outside the repo:\n"
                 "  python3 -m venv /work/torch-venv && /work/torch-venv/bin/pip install torch numpy\n"
                 "then run with TORCH_PYTHON=/work/torch-venv/bin/python")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "benches", "--bin", "step_rate"],
                       cwd=ROOT, check=True)

    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    model, flags = machine()
    print(f"CPU: {model}; {os.cpu_count()} logical CPUs; SIMD flags: {flags}")
    print(f"torch {probe.stdout.strip()} ({python}); {args.threads} threads each; "
          f"{args.rounds} rounds of {args.seconds} s windows; load average before: {load()}")
    common = ["--repeats", "3", "--seconds", str(args.seconds)]
    rates = {c: ([], []) for c in cases}
    header = None
    for r in range(args.rounds):
        for case in cases:
            out = run([str(ENGINE), *common, "--case", case], env, "the engine")
            header = out.splitlines()[0]
            rates[case][0].append(rate_of(out, case, "the engine"))
            out = run([python, str(TORCH_SCRIPT), "--threads", str(args.threads), *common,
                       "--case", case], env, "PyTorch")
            rates[case][1].append(rate_of(out, case, "PyTorch"))
            print(f"round {r + 1} {case}: engine {rates[case][0][-1]:.0f}, "
                  f"PyTorch {rates[case][1][-1]:.0f} images/s", flush=True)
    print(f"{header}; load average after: {load()}\n")
    print("| case | engine images/s (median; rounds) | PyTorch images/s (median; rounds) "
          "| engine / PyTorch | target |")
    print("| --- | --- | --- | --- | --- |")
    for case in cases:
        e, t = rates[case]
        me, mt = statistics.median(e), statistics.median(t)
        target = TARGETS.get(case)
        verdict = "" if target is None else f"{target}x: {'met' if me >= target * mt else 'NOT met'}"
        rounds = lambda v: " / ".join(f"{x:.0f}" for x in v)
        print(f"| {case} | {me:,.0f} ({rounds(e)}) | {mt:,.0f} ({rounds(t)}) | {me / mt:.2f}x | {verdict} |")


if __name__ == "__main__":
    main()
