"""PyTorch CPU eager peer of benchmarks/Peft.Net.Benchmarks/AttentionBenchmarks.cs.

Causal attention at B=4, H=8, T=256, D=64 written the way Hugging Face's eager Llama attention does it
(repeat_kv, matmul, additive mask, softmax, matmul): PyTorch 1.13 has no fused scaled_dot_product_attention.
Prints the median time of forward and of forward+backward for Hkv = 8 and Hkv = 2.

Run: /usr/bin/python3 benchmarks/peers/attention_peer.py [threads, default 2]
"""
import math
import statistics
import sys
import time

import torch

B, H, T, D = 4, 8, 256, 64


def repeat_kv(x, n_rep):
    b, hkv, t, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, hkv, n_rep, t, d).reshape(b, hkv * n_rep, t, d)


def attention(q, k, v, mask):
    n_rep = q.shape[1] // k.shape[1]
    k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + mask
    return torch.matmul(torch.softmax(scores, dim=-1), v)


def median_ms(fn, repeats=20, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)  # the peer runs on as many threads as we do
    torch.manual_seed(0)
    mask = torch.full((T, T), float("-inf")).triu(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, B={B} H={H} T={T} D={D} causal")
    for hkv in (8, 2):
        q = torch.randn(B, H, T, D, requires_grad=True)
        k = torch.randn(B, hkv, T, D, requires_grad=True)
        v = torch.randn(B, hkv, T, D, requires_grad=True)
        dout = torch.randn(B, H, T, D)

        def forward():
            with torch.no_grad():
                attention(q, k, v, mask)

        def forward_backward():
            q.grad = k.grad = v.grad = None
            attention(q, k, v, mask).backward(dout)

        print(f"Hkv={hkv}: forward {median_ms(forward):.2f} ms, forward+backward {median_ms(forward_backward):.2f} ms")


if __name__ == "__main__":
    main()
