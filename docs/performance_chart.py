#!/usr/bin/env python3
"""Draws docs/performance.svg: one bar per measured ratio in docs/performance.md (Peft.Net / peer, higher is faster).

The rows below are copied from the tables of docs/performance.md after each measuring session; run
`python3 docs/performance_chart.py` to redraw the chart. Plain Python, no packages.
"""
from pathlib import Path

TITLE = "Peft.Net vs PyTorch 1.13 + OpenBLAS (2 threads): ratio, higher is faster"
ROWS = [  # (label, ratio, group)
    ("train step LoRA", 5.85, "train"),
    ("train step DoRA", 5.85, "train"),
    ("train step QLoRA", 5.42, "train"),
    ("GEMM 1024³", 1.70, "gemm"),
    ("GEMM attn x·Wᵀ", 1.87, "gemm"),
    ("GEMM MLP up x·Wᵀ", 1.88, "gemm"),
    ("GEMM LM head dX", 1.65, "gemm"),
    ("GEMM LoRA x·Aᵀ", 2.56, "gemm"),
    ("GEMM LoRA dB", 1.48, "gemm"),
    ("attention fwd+bwd", 6.86, "other"),
    ("NF4 dequant vs copy", 1.97, "other"),
]
COLORS = {"train": "#2f7d4f", "gemm": "#3b6ea5", "other": "#8a5a9e"}


def main() -> None:
    width, left, bar_height, gap, top = 720, 200, 22, 12, 44
    scale = (width - left - 70) / max(r[1] for r in ROWS)
    height = top + len(ROWS) * (bar_height + gap) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{TITLE}</text>']
    for i, (label, ratio, group) in enumerate(ROWS):
        y = top + i * (bar_height + gap)
        w = ratio * scale
        out.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{label}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{COLORS[group]}"/>')
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}">{ratio:.2f}×</text>')
    one = left + scale
    bottom = top + len(ROWS) * (bar_height + gap)
    out.append(f'<line x1="{one:.1f}" y1="{top - 6}" x2="{one:.1f}" y2="{bottom}" stroke="#c0392b" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{one:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#c0392b">1.0 = peer</text>')
    out.append("</svg>")
    Path(__file__).with_name("performance.svg").write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
