"""PyTorch peer of AdamWBenchmarks: torch.optim.AdamW.step() on one float32 tensor of N elements (CPU, eager).

Run: /usr/bin/python3 benchmarks/peers/adamw_step.py [N] [threads]
"""
import sys
import time

import torch

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 20
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads())
p = torch.randn(n, requires_grad=True)
p.grad = torch.randn(n)
opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.01)
for _ in range(10):
    opt.step()
times = []
for _ in range(50):
    t0 = time.perf_counter()
    opt.step()
    times.append(time.perf_counter() - t0)
times.sort()
print(f"torch {torch.__version__} AdamW.step N={n} threads={torch.get_num_threads()}: median {times[len(times) // 2] * 1e6:.0f} us, min {times[0] * 1e6:.0f} us")
