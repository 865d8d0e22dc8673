#!/usr/bin/env python3
"""Start-up cost of a CUDA build of linreg against a CPU-only build, side by side.

The CUDA build keeps every CUDA library in its GPU module, loaded only when the GPU is used, so
on a CPU run it should cost what the CPU-only build costs. This measures that: each command is
run alternately with both binaries, `--repeats` times each, and the median wall time and the
median peak resident memory are compared. (Wall time includes GNU time's own few milliseconds,
the same for both.)

    python3 bench/startup_bench.py --cuda build/linreg --cpu build-cpuonly/linreg [--repeats 21]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = [
    ["--version"],
    ["train", "--device", "cpu", "--quiet"],   # the lab's problem on the CPU
    ["train", "--quiet"],                      # --device auto: probes for a driver first
]


def run_once(argv):
    """Wall seconds and peak RSS (MiB) of one run, with output discarded.

    The peak RSS comes from GNU time (Debian's `time` package) when it is installed: a child of
    this Python process would have Python's own pages counted in its peak (the kernel records the
    high-water mark of the image it replaced at exec), a child of the small `time` process has
    only that program's few. Without GNU time the memory column is left empty.
    """
    gnu_time = "/usr/bin/time"
    use_time = os.access(gnu_time, os.X_OK)
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
        cmd = [gnu_time, "-f", "%M", "-o", out.name] + argv if use_time else argv
        start = time.perf_counter()
        status = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        report = out.read()
    if status != 0:
        sys.exit(f"startup_bench: {' '.join(argv)} failed (status {status})")
    rss = float(report.split()[-1]) / 1024.0 if use_time and report.strip() else float("nan")
    return wall, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cuda", required=True, help="linreg of a CUDA build (its module beside it)")
    ap.add_argument("--cpu", required=True, help="linreg of a CPU-only build")
    ap.add_argument("--repeats", type=int, default=21)
    args = ap.parse_args()
    if args.repeats < 1:
        sys.exit("startup_bench: --repeats must be at least 1")
    for path in (args.cuda, args.cpu):
        if not os.access(path, os.X_OK):
            sys.exit(f"startup_bench: {path} is not an executable")

    print(f"{'command':<32} {'CUDA build':>22} {'CPU-only build':>22} {'ratio':>14}")
    print(f"{'':<32} {'ms':>10} {'MiB':>11} {'ms':>10} {'MiB':>11} {'time':>6} {'mem':>7}")
    for cmd in COMMANDS:
        samples = {"cuda": [], "cpu": []}
        for _ in range(args.repeats):  # alternate, so that drift on a busy machine hits both
            samples["cuda"].append(run_once([args.cuda] + cmd))
            samples["cpu"].append(run_once([args.cpu] + cmd))
        med = {k: (statistics.median(w for w, _ in v) * 1e3, statistics.median(m for _, m in v))
               for k, v in samples.items()}
        (tc, mc), (tp, mp) = med["cuda"], med["cpu"]
        print(f"{'linreg ' + ' '.join(cmd):<32} {tc:>10.1f} {mc:>11.1f} {tp:>10.1f} {mp:>11.1f} "
              f"{tc / tp:>6.2f} {mc / mp:>7.2f}")


if __name__ == "__main__":
    main()
