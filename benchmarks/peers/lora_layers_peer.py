"""PyTorch CPU eager peer of benchmarks/Peft.Net.Benchmarks/LoraLayerBenchmarks.cs.

One training step (forward + backward) through 4 x [512 -> 1376 -> 512] linear layers with frozen float32 bases,
rank 8, M = 1024 rows, written as PEFT computes it (PEFT is not installed here): LoRA
`base(x) + B(A(x)) * scaling`, and DoRA with the dense B·A norm and the base-output reuse of PR #2122
(variants.py / dora.py). Steps of the two alternate so machine noise hits both alike; prints medians and the ratio.

Run: /usr/bin/python3 benchmarks/peers/lora_layers_peer.py [steps] [threads]
"""
import sys
import time

import torch
import torch.nn.functional as F

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads())
torch.manual_seed(0)
BLOCKS, MODEL, HIDDEN, RANK, ROWS, SCALING = 4, 512, 1376, 8, 1024, 2.0


def make_layer(k, n, dora):
    w = torch.randn(n, k) / k ** 0.5
    a = (torch.rand(RANK, k) * 2 - 1) / k ** 0.5
    b = torch.randn(n, RANK) * 0.02
    a.requires_grad_(True)
    b.requires_grad_(True)
    m = torch.linalg.norm(w + SCALING * b.detach() @ a.detach(), dim=1).requires_grad_(True) if dora else None
    return w, a, b, m


def forward(layer, x):
    w, a, b, m = layer
    result = F.linear(x, w)
    lora = F.linear(F.linear(x, a), b)
    if m is None:
        return result + lora * SCALING
    eye = torch.eye(a.shape[1], dtype=x.dtype)
    lora_weight = F.linear(F.linear(eye, a), b).T            # PEFT forms B·A through an identity
    norm = torch.linalg.norm(w + SCALING * lora_weight.detach(), dim=1).detach()
    scale = (m / norm).view(1, -1)
    return result + (scale - 1) * result + scale * lora * SCALING


def stack(dora):
    layers = []
    for _ in range(BLOCKS):
        layers += [make_layer(MODEL, HIDDEN, dora), make_layer(HIDDEN, MODEL, dora)]
    return layers


def step(layers, x, g):
    y = x
    for layer in layers:
        y = forward(layer, y)
    y.backward(g)
    for _, a, b, m in layers:
        a.grad = b.grad = None
        if m is not None:
            m.grad = None


x, g = torch.randn(ROWS, MODEL), torch.randn(ROWS, MODEL)
lora, dora = stack(False), stack(True)
for _ in range(2):
    step(lora, x, g)
    step(dora, x, g)
tl, td = [], []
for _ in range(steps):
    t0 = time.perf_counter(); step(lora, x, g); tl.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); step(dora, x, g); td.append(time.perf_counter() - t0)
tl.sort(); td.sort()
ml, md = tl[len(tl) // 2], td[len(td) // 2]
print(f"torch {torch.__version__} threads={torch.get_num_threads()}: LoRA step median {ml * 1e3:.1f} ms, "
      f"DoRA step median {md * 1e3:.1f} ms, DoRA/LoRA {md / ml:.2f}")
