#!/usr/bin/python3
"""PyTorch peer of `peft bench gemm`: times torch.mm(A[m,k], B[k,n]) in float32 on the CPU and prints one JSON
object with the same keys (m, n, k, threads, ms, gflops, ...). Best of N runs after a warm-up.

Usage: /usr/bin/python3 gemm_peer.py [--m 1024 --n 1024 --k 1024] [--threads 2] [--trans-a] [--trans-b] [--repeats 0]
"""
import argparse
import json
import statistics
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=1024)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--k", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--trans-a", action="store_true", help="A stored (k, m), multiplied as A.t() (a weight gradient)")
    parser.add_argument("--trans-b", action="store_true", help="B stored (n, k), multiplied as B.t() (a linear layer)")
    parser.add_argument("--repeats", type=int, default=0, help="timed runs (0: as many as fit in about 2 s, at least 5)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    a = (torch.rand(args.k, args.m) * 2 - 1).t() if args.trans_a else torch.rand(args.m, args.k) * 2 - 1
    b = (torch.rand(args.n, args.k) * 2 - 1).t() if args.trans_b else torch.rand(args.k, args.n) * 2 - 1
    c = torch.empty(args.m, args.n)

    start = time.perf_counter()
    warm_ups = 0
    while warm_ups < 3 or time.perf_counter() - start < 0.3:
        torch.mm(a, b, out=c)
        warm_ups += 1
    warm_ms = (time.perf_counter() - start) * 1e3 / warm_ups
    repeats = args.repeats or int(min(1000, max(5, 2000 / max(warm_ms, 1e-3))))

    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append((time.perf_counter() - t0) * 1e3)
    best, median = min(times), statistics.median(times)
    flops = 2.0 * args.m * args.n * args.k
    print(json.dumps({
        "benchmark": "gemm", "peer": f"torch {torch.__version__} torch.mm",
        "m": args.m, "n": args.n, "k": args.k, "trans_a": args.trans_a, "trans_b": args.trans_b, "threads": torch.get_num_threads(),
        "runs": repeats, "ms": round(best, 4), "ms_median": round(median, 4),
        "gflops": round(flops / (best * 1e6), 2), "gflops_median": round(flops / (median * 1e6), 2),
    }))


if __name__ == "__main__":
    main()
