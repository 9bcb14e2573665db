"""PyTorch CPU eager peer of `peft bench train`.

A randomly initialised Hugging Face-style Llama (embed_tokens, RMSNorm, rotary q/k/v/o attention with grouped-query
heads written as HF's eager attention does it, SiLU-gated MLP, final norm, lm_head) written in plain PyTorch 1.13
(transformers/peft are not installed), with the method on every linear layer but the head:
  lora  : y = W·x + (alpha/r)·B·A·x                       (W frozen, A/B trained; PEFT's LoraLayer)
  dora  : y = s ⊙ (W·x + (alpha/r)·B·A·x), s = m / sg(‖W + (alpha/r)·B·A‖_row)   (PEFT's DoraLinearLayer, dropout 0)
  qlora : LoRA over a frozen base kept as 4-bit NF4 codes (one uint8 per code, absmax per 64-block) that is
          dequantized with a table lookup at every forward. This approximates bitsandbytes' CPU path (which is not
          available here): it measures LoRA plus an on-the-fly dequantization of every base weight per step.
Times forward + backward + AdamW step on the adapter parameters after one warm-up step, with
torch.set_num_threads(2), and prints tokens/s (batch·seq / step time).

Run: /usr/bin/python3 benchmarks/peers/train_peer.py [--dim 512 --layers 4 --heads 8 --kv-heads 8 --ffn 1376
     --vocab 4096 --seq 256 --batch 4 --rank 8 --alpha 16 --method lora|dora|qlora --steps 5] [--json]
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F

NF4 = torch.tensor([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                    0.24611230731010437, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                    0.7229568362236023, 1.0])


class RMSNorm(torch.nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class AdaptedLinear(torch.nn.Module):
    """A frozen base linear with a LoRA / DoRA / NF4-base LoRA adapter."""

    def __init__(self, fan_in, fan_out, method, rank, alpha):
        super().__init__()
        base = torch.nn.Linear(fan_in, fan_out, bias=False)
        self.method = method
        self.scaling = alpha / rank
        if method == "qlora":
            w = base.weight.detach().reshape(-1, 64)
            absmax = w.abs().amax(dim=1, keepdim=True)
            codes = (w / absmax).unsqueeze(-1).sub(NF4).abs().argmin(-1).to(torch.uint8)
            self.register_buffer("codes", codes)
            self.register_buffer("absmax", absmax)
            self.shape = (fan_out, fan_in)
        else:
            self.register_buffer("weight", base.weight.detach().clone())
        self.lora_A = torch.nn.Parameter(torch.empty(rank, fan_in))
        torch.nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.lora_B = torch.nn.Parameter(torch.zeros(fan_out, rank))
        if method == "dora":
            self.magnitude = torch.nn.Parameter(self.weight.norm(dim=1))

    def base_weight(self):
        if self.method == "qlora":
            return (NF4[self.codes.long()] * self.absmax).reshape(self.shape)
        return self.weight

    def forward(self, x):
        w = self.base_weight()
        y = F.linear(x, w)
        lora = F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scaling
        if self.method != "dora":
            return y + lora
        norm = (w + self.scaling * (self.lora_B @ self.lora_A).detach()).norm(dim=1).detach()
        s = self.magnitude / norm
        return y + (s - 1) * y + s * lora


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        d, hd = a.dim, a.dim // a.heads
        lin = lambda i, o: AdaptedLinear(i, o, a.method, a.rank, a.alpha)  # noqa: E731
        self.heads, self.kv_heads, self.head_dim = a.heads, a.kv_heads, hd
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(d), RMSNorm(d)
        self.q_proj, self.k_proj, self.v_proj = lin(d, a.heads * hd), lin(d, a.kv_heads * hd), lin(d, a.kv_heads * hd)
        self.o_proj = lin(a.heads * hd, d)
        self.gate_proj, self.up_proj, self.down_proj = lin(d, a.ffn), lin(d, a.ffn), lin(a.ffn, d)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv_heads
        if rep > 1:
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + mask
        attn = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, t, -1)
        x = x + self.o_proj(attn)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(a.vocab, a.dim)
        self.layers = torch.nn.ModuleList(Layer(a) for _ in range(a.layers))
        self.norm = RMSNorm(a.dim)
        self.lm_head = torch.nn.Linear(a.dim, a.vocab, bias=False)
        hd = a.dim // a.heads
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        freqs = torch.outer(torch.arange(a.seq).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.cos, self.sin = emb.cos(), emb.sin()
        self.mask = torch.full((a.seq, a.seq), float("-inf")).triu(1)

    def loss(self, ids):
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin, self.mask)
        logits = self.lm_head(self.norm(x))
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def main():
    p = argparse.ArgumentParser()
    for name, default in [("dim", 512), ("layers", 4), ("heads", 8), ("kv-heads", 8), ("ffn", 1376), ("vocab", 4096),
                          ("seq", 256), ("batch", 4), ("rank", 8), ("steps", 5), ("threads", 2)]:
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--alpha", type=float, default=16)
    p.add_argument("--method", choices=["lora", "dora", "qlora"], default="lora")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Llama(a)
    for name, param in model.named_parameters():
        param.requires_grad = "lora_" in name or "magnitude" in name
    trainable = [q for q in model.parameters() if q.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=2e-4)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq))

    def step():
        optimizer.zero_grad(set_to_none=True)
        model.loss(ids).backward()
        optimizer.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    step_ms = (time.perf_counter() - start) * 1e3 / a.steps
    result = {
        "tokens_per_s": a.batch * a.seq / (step_ms / 1e3),
        "step_ms": step_ms,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "trainable_params": sum(q.numel() for q in trainable),
        "method": a.method,
        "threads": torch.get_num_threads(),
    }
    if a.json:
        print(json.dumps(result))
    else:
        print(f"torch {torch.__version__} {a.method}: {result['tokens_per_s']:.0f} tokens/s, {step_ms:.1f} ms/step, "
              f"peak {result['peak_mb']:.0f} MB (max RSS), {result['trainable_params']} trainable parameters")


if __name__ == "__main__":
    main()
