#!/usr/bin/env python3
"""The `linreg bench` grid in PyTorch, with the lab's loops, for side-by-side numbers.

One script on purpose (past 500 lines): it is copied alone to machines that have PyTorch but not
this repository.

    python3 bench/pytorch_reference.py --json torch.json          # default grid, every device
    python3 bench/pytorch_reference.py --quick --device cpu --json torch.json
    linreg bench --compare torch.json                               # joins on shape and device

Modes (one row each):
  eager  section 5 of the lab: nn.Sequential(nn.Linear(d, 1)) + nn.MSELoss + torch.optim.SGD over
         slices of a per-epoch randperm copy of X and y (the fastest idiomatic eager loop; the
         lab's DataLoader is slower still).
  graph  GPU only: the same step (forward, loss, backward, SGD step) captured once in a CUDA
         graph and replayed per batch from static input buffers; a second graph takes the short
         last batch when the batch size does not divide the examples.

Timing is the same as `linreg bench`: per epoch, the SGD pass including its randperm and the
permuted copy (CUDA events on the GPU, perf_counter on the CPU), after warm-up epochs; the
per-epoch full-dataset loss is computed outside the timed region; data generation is excluded.
The median of the timed epochs is `epoch_seconds`, the key that --compare joins on (with
examples, features, batch_size and device). Rows that do not fit in memory, or would pass the
CPU time budget, are scaled down or skipped with a note, as in the C++ bench.

Runs without a GPU (CPU rows only, with a note) and exits with one clear line when PyTorch is
not installed or a flag is wrong.
"""

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

# Keep in sync with bench/grid.cpp (default_grid, quick_grid).
DEFAULT_GRID = [  # (examples, features, batch, problem epochs)
    (1000, 2, 10, 3),
    (100000, 2, 10, 1),
    (1000000, 16, 1024, 3),
    (1000000, 256, 4096, 3),
    (10000000, 256, 65536, 3),
]
QUICK_GRID = [
    (1000, 2, 10, 3),
    (100000, 2, 10, 1),
    (100000, 16, 1024, 3),
    (100000, 256, 4096, 3),
]
DEFAULT_THREADS = [1]  # torch's own default thread count, read in main()
SMALL_ROW_BYTES = 32 * 1024 * 1024  # rows below this time 4x the epochs (bench/runner.cpp)
TRUE_B = 4.2
NOISE = 0.01


def fail(message):
    print(f"pytorch_reference: error: {message}", file=sys.stderr)
    sys.exit(2)


def bytes_per_epoch(n, d):
    """Bytes of X and y an epoch must read: n*(d+1)*4 (float32)."""
    return n * (d + 1) * 4


def bench_lr(d, batch):
    """The lab's 0.03 unless d/batch would make minibatch SGD diverge (bench/runner.cpp)."""
    return min(0.03, 0.5 / (1.0 + d / max(batch, 1)))


def nice_floor(n):
    """Largest 1, 2, 2.5 or 5 x 10^k <= n (bench/runner.cpp nice_floor)."""
    if n < 10:
        return n
    decade = 1
    while decade <= n // 10:
        decade *= 10
    for c in (10 * decade, 5 * decade, 5 * decade // 2, 2 * decade, decade):
        if c <= n:
            return c
    return decade


def count_label(n):
    if n >= 1000000 and n % 100000 == 0:
        return f"{n // 1000000}M" if n % 1000000 == 0 else f"{n / 1e6:.1f}M"
    if n >= 10000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def problem_label(n, d, batch):
    return f"{count_label(n)}x{d} b{batch}"


def parse_count(text):
    mult = 1
    if text[-1:] in ("k", "K"):
        mult, text = 1000, text[:-1]
    elif text[-1:] in ("m", "M"):
        mult, text = 1000000, text[:-1]
    value = float(text) * mult
    if value < 1 or value != int(value):
        raise ValueError(text)
    return int(value)


def parse_rows(text, grid):
    """--rows: grid row numbers (1-based) or NxD:bB[:eE], as `linreg bench --rows`."""
    rows = []
    for item in text.split(","):
        item = item.strip()
        try:
            if item.isdigit():
                k = int(item)
                if not 1 <= k <= len(grid):
                    raise ValueError
                rows.append(grid[k - 1])
                continue
            parts = item.split(":")
            shape = parts[0].lower().split("x")
            if len(parts) not in (2, 3) or len(shape) != 2 or parts[1][:1] not in ("b", "B"):
                raise ValueError
            n, d, batch = parse_count(shape[0]), parse_count(shape[1]), parse_count(parts[1][1:])
            epochs = 3
            if len(parts) == 3:
                if parts[2][:1] not in ("e", "E"):
                    raise ValueError
                epochs = parse_count(parts[2][1:])
            if batch > n:
                raise ValueError
            rows.append((n, d, batch, epochs))
        except (ValueError, IndexError):
            fail(f"--rows: '{item}' is not a grid row number (1..{len(grid)}) or NxD:bB[:eE]")
    return rows


def true_w(d, torch):
    """The lab's [2, -3.4] for d = 2; otherwise w_j = 4j/d - 2 (host/core/config.cpp default_true_w)."""
    if d == 2:
        return torch.tensor([2.0, -3.4])
    return torch.arange(d, dtype=torch.float64).div(d).mul(4).sub(2).float()


def synthetic_data(torch, n, d, device, seed):
    """The lab's synthetic_data: X ~ N(0,1) (n, d), y = Xw + b + N(0, 0.01^2) as (n, 1)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    X = torch.randn(n, d, generator=gen, device=device)
    w = true_w(d, torch).to(device)
    y = X @ w + TRUE_B
    y += NOISE * torch.randn(n, generator=gen, device=device)
    return X, y.reshape(-1, 1)


def make_model(torch, d, lr, device, seed):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(d, 1)).to(device)
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)
    loss = torch.nn.MSELoss()
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    return net, loss, trainer


class Timer:
    """Wall time on the CPU, CUDA events on the GPU."""

    def __init__(self, torch, device):
        self.torch, self.cuda = torch, device.type == "cuda"

    def start(self):
        if self.cuda:
            self.begin = self.torch.cuda.Event(enable_timing=True)
            self.end = self.torch.cuda.Event(enable_timing=True)
            self.begin.record()
        else:
            self.t0 = time.perf_counter()

    def stop(self):
        if self.cuda:
            self.end.record()
            self.end.synchronize()
            return self.begin.elapsed_time(self.end) * 1e-3
        return time.perf_counter() - self.t0


def eager_steps(Xp, yp, batch, net, loss, trainer, first=0, count=None):
    """Section 5's step over consecutive slices of the permuted copy, from batch `first`."""
    n = Xp.shape[0]
    starts = range(first * batch, n, batch)
    if count is not None:
        starts = starts[:count]
    for i in starts:
        l = loss(net(Xp[i:i + batch]), yp[i:i + batch])
        trainer.zero_grad()
        l.backward()
        trainer.step()


def eager_epoch(torch, X, y, batch, net, loss, trainer):
    """One epoch of section 5's loop over slices of a per-epoch randperm copy."""
    perm = torch.randperm(X.shape[0], device=X.device)
    eager_steps(X[perm], y[perm], batch, net, loss, trainer)


class GraphStep:
    """The eager step captured in CUDA graphs: one for full batches, one for a short last batch."""

    def __init__(self, torch, d, batch, n, net, loss, trainer, device):
        self.torch, self.batch = torch, batch
        self.graphs = {}
        sizes = [batch] + ([n % batch] if n % batch else [])
        # Warm up on a side stream (as PyTorch's CUDA-graph recipe asks) so that the gradients
        # and the optimizer's state exist before capture; then capture each size with zero_grad
        # inside, so that every replay is a whole step.
        side = torch.cuda.Stream()
        for size in sizes:
            x = torch.zeros(size, d, device=device)
            y = torch.zeros(size, 1, device=device)
            side.wait_stream(torch.cuda.current_stream())  # after x and y are written
            with torch.cuda.stream(side):
                for _ in range(3):
                    trainer.zero_grad(set_to_none=False)
                    loss(net(x), y).backward()
                    trainer.step()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                trainer.zero_grad(set_to_none=False)
                static_loss = loss(net(x), y)
                static_loss.backward()
                trainer.step()
            self.graphs[size] = (graph, x, y, static_loss)
        torch.cuda.synchronize()

    def epoch(self, X, y):
        n = X.shape[0]
        perm = self.torch.randperm(n, device=X.device)
        Xp, yp = X[perm], y[perm]
        for i in range(0, n, self.batch):
            size = min(self.batch, n - i)
            graph, sx, sy, _ = self.graphs[size]
            sx.copy_(Xp[i:i + size])
            sy.copy_(yp[i:i + size])
            graph.replay()


def full_loss(torch, net, loss, X, y):
    with torch.no_grad():
        return float(loss(net(X), y))


def run_row(torch, args, problem, device, mode, threads, note_prefix=""):
    n_asked, d, batch, problem_epochs = problem
    row = {
        "examples": n_asked, "requested_examples": n_asked, "features": d, "batch_size": batch,
        "epochs": problem_epochs, "device": "gpu" if device.type == "cuda" else "cpu",
        "device_name": device_name(torch, device), "mode": mode, "threads": threads,
        "lr": bench_lr(d, batch), "warmup_epochs": args.warmup, "timed_epochs": 0,
        "epoch_seconds": None, "epoch_seconds_all": [], "samples_per_second": None,
        "problem_seconds": None, "final_loss": None, "skipped": False, "note": note_prefix,
    }

    def note(text):
        row["note"] = f"{row['note']}; {text}" if row["note"] else text

    torch.set_num_threads(threads if threads is not None else DEFAULT_THREADS[0])
    n = n_asked
    # Memory: X and y and their per-epoch permuted copy (generation's temporaries are n-sized).
    need = 2 * bytes_per_epoch(n, d) + 64 * 2**20
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info()
        usable, where = 0.9 * free, "device memory free"
    else:
        usable, where = 0.6 * host_available_memory(), "host memory available"
    if usable > 0 and need > usable:
        per_row = 2 * (d + 1) * 4
        scaled = nice_floor(int((usable - 64 * 2**20) / per_row))
        why = f"{need / 1e9:.2f} GB needed, {usable / 1e9:.2f} GB usable ({where})"
        if scaled < batch:
            row["skipped"] = True
            note(f"skipped: {why}")
            return row
        note(f"scaled from {count_label(n)} to {count_label(scaled)} examples: {why}")
        n = scaled
    row["examples"] = n

    lr = bench_lr(d, batch)
    timed = args.epochs * (4 if bytes_per_epoch(n, d) < SMALL_ROW_BYTES else 1)
    t_gen = time.perf_counter()
    X, y = synthetic_data(torch, n, d, device, args.seed)
    if device.type == "cuda":
        torch.cuda.synchronize()
    gen_seconds = time.perf_counter() - t_gen
    net, loss, trainer = make_model(torch, d, lr, device, args.seed)

    # CPU time budget: time the epoch's parts on this data (the permuted copy, a few warm eager
    # steps, one evaluation), predict the row, and take fewer epochs (down to --epochs), then
    # fewer examples, when it would run past --budget.
    if device.type == "cpu" and args.budget > 0:
        steps = math.ceil(n / batch)
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        Xp, yp = X[perm], y[perm]
        t_copy = time.perf_counter() - t0
        warm = min(steps, 3)
        eager_steps(Xp, yp, batch, net, loss, trainer, 0, warm)
        probe = min(steps - warm, 30)
        t0 = time.perf_counter()
        eager_steps(Xp, yp, batch, net, loss, trainer, warm, probe)
        per_step = (time.perf_counter() - t0) / probe if probe > 0 else 0.0
        del Xp, yp, perm
        t0 = time.perf_counter()
        full_loss(torch, net, loss, X, y)
        t_eval = time.perf_counter() - t0
        per_epoch = t_copy + per_step * steps + t_eval
        predicted = gen_seconds + (args.warmup + timed) * per_epoch
        if predicted > args.budget and timed > args.epochs:
            timed = args.epochs
            predicted = gen_seconds + (args.warmup + timed) * per_epoch
        if predicted > args.budget:
            per_example = predicted / n
            scaled = nice_floor(int(args.budget / per_example))
            why = (f"predicted {predicted:.0f} s at {count_label(n)} examples, over the CPU budget of "
                   f"{args.budget:g} s per row (--budget)")
            if scaled < batch:
                row["skipped"] = True
                note(f"skipped: {why}")
                return row
            note(f"scaled from {count_label(n)} to {count_label(scaled)} examples: {why}")
            n = scaled
            row["examples"] = n
            X, y = X[:n].clone(), y[:n].clone()
        net, loss, trainer = make_model(torch, d, lr, device, args.seed)

    graph = GraphStep(torch, d, batch, n, net, loss, trainer, device) if mode == "graph" else None
    if graph is not None:
        # Capture warmed the parameters up; start from the lab's initial point again.
        with torch.no_grad():
            torch.manual_seed(args.seed)
            net[0].weight.normal_(0, 0.01)
            net[0].bias.fill_(0)

    timer = Timer(torch, device)
    times = []
    for _ in range(args.warmup + timed):
        timer.start()
        if graph is None:
            eager_epoch(torch, X, y, batch, net, loss, trainer)
        else:
            graph.epoch(X, y)
        times.append(timer.stop())
        row["final_loss"] = full_loss(torch, net, loss, X, y)  # timed apart, as the lab prints it
    timed_times = times[args.warmup:]
    med = statistics.median(timed_times)
    row.update({
        "timed_epochs": len(timed_times), "epoch_seconds": med, "epoch_seconds_all": timed_times,
        "samples_per_second": n / med if med > 0 else None, "problem_seconds": med * problem_epochs,
    })
    if not math.isfinite(row["final_loss"]):
        note(f"diverged (lr {lr:g})")
        row["final_loss"] = None  # JSON has no NaN
    del X, y
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def host_available_memory():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def device_name(torch, device):
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()


def fmt(value, spec, scale=1.0):
    return "-" if value is None else format(value * scale, spec)


def print_table(rows, out=sys.stdout):
    head = ["problem", "device", "mode", "threads", "ms/epoch", "samples/s", "note"]
    cells = []
    for r in rows:
        problem = problem_label(r["requested_examples"], r["features"], r["batch_size"])
        if r["examples"] != r["requested_examples"]:
            problem += f" ({count_label(r['examples'])})"
        cells.append([problem, r["device"], r["mode"], "-" if r["threads"] is None else str(r["threads"]),
                      fmt(r["epoch_seconds"], ".4g", 1e3), fmt(r["samples_per_second"], ".3g"), r["note"]])
    width = [max(len(head[k]), *(len(c[k]) for c in cells)) if cells else len(head[k]) for k in range(len(head))]
    for line in [head] + cells:
        print("  ".join(v.ljust(width[k]) if k in (0, 1, 2, 6) else v.rjust(width[k])
                        for k, v in enumerate(line)).rstrip(), file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the small grid of `linreg bench --quick`")
    parser.add_argument("--device", default="all", choices=["all", "auto", "cpu", "gpu"],
                        help="all: the CPU and, when CUDA is available, the GPU; auto: the GPU if available")
    parser.add_argument("--modes", default="eager,graph",
                        help="comma list of eager,graph (graph runs on the GPU only)")
    parser.add_argument("--rows", default="", help="grid row numbers or NxD:bB[:eE], comma-separated")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per row, at least 5 (small rows 4x)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed warm-up epochs per row")
    parser.add_argument("--threads", default="",
                        help="CPU thread counts to try, comma list (default: 1 and all cores; the faster "
                             "figure is the one --compare uses)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds a CPU row may take (default 120, 15 with --quick)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", default="", help="write the rows to this JSON file (for linreg bench --compare)")
    args = parser.parse_args(argv)

    if args.epochs < 5:
        fail(f"--epochs must be at least 5 (got {args.epochs})")
    if args.warmup < 1:
        fail(f"--warmup must be at least 1 (got {args.warmup})")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("eager", "graph") for m in modes):
        fail(f"--modes: expected a comma list of eager,graph (got '{args.modes}')")
    if args.budget is None:
        args.budget = 15.0 if args.quick else 120.0
    if not args.budget > 0:
        fail("--budget must be a number of seconds > 0")
    grid = QUICK_GRID if args.quick else DEFAULT_GRID
    problems = parse_rows(args.rows, grid) if args.rows else grid
    if args.json:
        folder = os.path.dirname(os.path.abspath(args.json))
        if not os.path.isdir(folder):
            fail(f"--json {args.json}: folder '{folder}' does not exist")
    threads = None
    if args.threads:
        try:
            threads = sorted({int(t) for t in args.threads.split(",")})
        except ValueError:
            fail(f"--threads: expected a comma list of integers (got '{args.threads}')")
        if any(t < 1 for t in threads):
            fail("--threads: thread counts must be at least 1")

    try:
        import torch
    except ImportError as e:
        fail(f"PyTorch is not installed ({e}); the C++ bench (`linreg bench`) does not need it")

    DEFAULT_THREADS[0] = torch.get_num_threads()
    notes = []
    cuda = torch.cuda.is_available()
    devices = []
    if args.device in ("all", "cpu") or (args.device == "auto" and not cuda):
        devices.append(torch.device("cpu"))
    if args.device in ("all", "gpu", "auto"):
        if cuda:
            devices.append(torch.device("cuda", 0))
        elif args.device == "gpu":
            fail("--device gpu: torch.cuda.is_available() is False")
        else:
            notes.append("no CUDA device available to PyTorch: CPU rows only")
    if threads is None:
        threads = sorted({1, os.cpu_count() or 1})

    rows = []
    for problem in problems:
        for device in devices:
            for mode in modes:
                if mode == "graph" and device.type != "cuda":
                    continue
                for t in (threads if device.type == "cpu" else [None]):
                    label = problem_label(*problem[:3])
                    print(f"pytorch_reference: {label} on {device.type} ({mode}"
                          f"{'' if t is None else f', {t} threads'})", file=sys.stderr, flush=True)
                    try:
                        row = run_row(torch, args, problem, device, mode, t)
                    except (RuntimeError, MemoryError) as e:  # CUDA out of memory, capture failures
                        row = {"examples": problem[0], "requested_examples": problem[0], "features": problem[1],
                               "batch_size": problem[2], "epochs": problem[3],
                               "device": "gpu" if device.type == "cuda" else "cpu",
                               "device_name": device_name(torch, device), "mode": mode, "threads": t,
                               "epoch_seconds": None, "samples_per_second": None, "skipped": True,
                               "note": f"skipped: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
                        if device.type == "cuda":
                            torch.cuda.empty_cache()
                    rows.append(row)

    for n in notes:
        print(f"note: {n}")
    print(f"torch {torch.__version__}; cpu: {cpu_name()}"
          + (f"; gpu: {torch.cuda.get_device_name(0)}" if cuda else ""))
    print_table(rows)
    if args.json:
        doc = {
            "tool": "pytorch_reference",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "torch_version": torch.__version__,
            "python": platform.python_version(),
            "grid": "custom" if args.rows else ("quick" if args.quick else "default"),
            "device_names": {"cpu": cpu_name(), **({"gpu": torch.cuda.get_device_name(0)} if cuda else {})},
            "settings": {"warmup_epochs": args.warmup, "timed_epochs": args.epochs, "budget_seconds": args.budget,
                         "seed": args.seed, "loss": "mse"},
            "notes": notes,
            "rows": rows,
        }
        tmp = f"{args.json}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        os.replace(tmp, args.json)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
