#!/usr/bin/env python3
"""Start-up cost of a CUDA build of linreg against a CPU-only build, side by side.

The CUDA build keeps every CUDA library in its GPU module, loaded only when the GPU is used, so
on a CPU run it should cost what the CPU-only build costs. This measures that: each command is
run alternately with both binaries, `--repeats` times each, and the median wall time and the
median peak resident memory (from wait4's rusage) are compared.

    python3 bench/startup_bench.py --cuda build/linreg --cpu build-cpuonly/linreg [--repeats 21]
"""
import argparse
import os
import statistics
import sys
import time

COMMANDS = [
    ["--version"],
    ["train", "--device", "cpu", "--quiet"],   # the lab's problem on the CPU
    ["train", "--quiet"],                      # --device auto: probes for a driver first
]


def run_once(argv):
    """Wall seconds and peak RSS (MiB) of one run, with output discarded."""
    # posix_spawn (vfork + exec), not fork: a forked child would start with this Python
    # process's pages counted in its peak RSS.
    devnull = os.open(os.devnull, os.O_WRONLY)
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status, usage = os.wait4(pid, 0)
    os.close(devnull)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"startup_bench: {' '.join(argv)} failed (status {status})")
    return wall, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


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
