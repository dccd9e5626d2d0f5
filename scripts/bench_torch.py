#!/usr/bin/env python3
"""PyTorch mirror of scoreflow's networks, for throughput comparison with the burn versions.

Mirrors, in plain torch.nn (no diffusers), module for module and parameter for parameter:

  unet-cifar10  UNet2DConfig::ddpm_cifar10()  crates/models/src/unet/  (35,746,307 parameters)
  unet-small    UNet2DConfig::small_mnist()   crates/models/src/unet/  (1×28×28 inputs)
  mlp-2d        MlpConfig::new(2)             crates/models/src/mlp.rs (281,090 parameters)

Workloads: `forward` (eval, no_grad) and `train-step` (MSE against a fixed target, backward,
AdamW with burn's AdamWConfig defaults, zero_grad). Modes: fp32 (TF32 off), tf32, bf16
(autocast around forward + loss), compile (torch.compile, fp32 with TF32 off); compile-tf32 and
compile-bf16 combine the two. One JSON object per (network, workload, mode) goes to stdout, a
table to stderr.

Install (outside the repository):

  python3 -m venv /work/torch-venv && /work/torch-venv/bin/pip install torch numpy

Examples:

  /work/torch-venv/bin/python scripts/bench_torch.py --network all --device cpu --threads 2
  /work/torch-venv/bin/python scripts/bench_torch.py --network unet-cifar10 --device cuda \\
      --mode fp32 tf32 bf16 compile --steps 20 --json bench-out/torch-h100.json
"""

import argparse
import contextlib
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

MAX_PERIOD = 10_000.0


# ---------------------------------------------------------------- UNet (diffusers UNet2DModel layout)

@dataclass
class UNetConfig:
    block_out_channels: tuple
    down_attn: tuple  # per level: AttnDownBlock2D?
    up_attn: tuple  # per level, coarsest first: AttnUpBlock2D?
    in_channels: int
    out_channels: int
    sample_size: int
    layers_per_block: int
    norm_num_groups: int
    norm_eps: float
    flip_sin_to_cos: bool
    freq_shift: float
    downsample_padding: int
    dropout: float = 0.0
    attention_head_dim: int = None  # None: one head over all channels
    attn_norm_num_groups: int = None  # mid-block attention; None: norm_num_groups


DDPM_CIFAR10 = UNetConfig((128, 256, 256, 256), (False, True, False, False),
                          (False, False, True, False), 3, 3, 32, 2, 32, 1e-6, False, 1.0, 0)
SMALL_MNIST = UNetConfig((32, 64, 64), (False, True, False), (False, True, False),
                         1, 1, 28, 1, 8, 1e-5, True, 0.0, 1)


def sinusoidal(t, freqs, flip_sin_to_cos):
    # Kept in f32 even under autocast, as the Rust code does: t·ω reaches ~1000.
    args = t.float()[:, None] * freqs[None, :]
    s, c = torch.sin(args), torch.cos(args)
    return torch.cat([c, s] if flip_sin_to_cos else [s, c], dim=1)


def sin_freqs(dim, freq_shift):
    half = dim // 2
    return torch.exp(-math.log(MAX_PERIOD) * torch.arange(half, dtype=torch.float32) / (half - freq_shift))


class Timesteps(nn.Module):
    def __init__(self, dim, flip_sin_to_cos, freq_shift):
        super().__init__()
        assert dim % 2 == 0
        self.flip = flip_sin_to_cos
        # A non-persistent buffer: follows .to(device) without counting as a parameter.
        self.register_buffer("freqs", sin_freqs(dim, freq_shift), persistent=False)

    def forward(self, t):
        return sinusoidal(t, self.freqs, self.flip)


class TimestepEmbedding(nn.Module):
    def __init__(self, in_dim, dim):
        super().__init__()
        self.linear_1, self.linear_2 = nn.Linear(in_dim, dim), nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, groups, eps, dropout, scale=1.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.scale = scale

    def forward(self, x, temb_act):
        h = self.conv1(F.silu(self.norm1(x))) + self.time_emb_proj(temb_act)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        y = (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h
        return y if self.scale == 1.0 else y / self.scale


class Attention(nn.Module):
    def __init__(self, channels, head_dim, groups, eps, rescale=1.0):
        super().__init__()
        head_dim = head_dim or channels
        self.heads = max(channels // head_dim, 1)
        inner = self.heads * head_dim
        self.group_norm = nn.GroupNorm(groups, channels, eps=eps)
        self.to_q, self.to_k, self.to_v = (nn.Linear(channels, inner) for _ in range(3))
        self.to_out = nn.ModuleList([nn.Linear(inner, channels)])  # diffusers' key: to_out.0
        self.rescale = rescale

    def forward(self, x):
        b, c, h, w = x.shape
        tok = self.group_norm(x).reshape(b, c, h * w).transpose(1, 2)
        split = lambda z: z.reshape(b, h * w, self.heads, -1).transpose(1, 2)
        a = F.scaled_dot_product_attention(split(self.to_q(tok)), split(self.to_k(tok)), split(self.to_v(tok)))
        out = self.to_out[0](a.transpose(1, 2).reshape(b, h * w, -1)).transpose(1, 2).reshape(b, c, h, w)
        y = out + x
        return y if self.rescale == 1.0 else y / self.rescale


class Downsample2D(nn.Module):
    def __init__(self, channels, padding):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:  # original DDPM: one zero row/column at the bottom/right only
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, rn, attn, downsample_padding):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(cin if i == 0 else cout, cout, *rn) for i in range(layers))
        self.attentions = nn.ModuleList(Attention(cout, *attn) for _ in range(layers)) if attn else nn.ModuleList()
        self.downsamplers = nn.ModuleList(
            [] if downsample_padding is None else [Downsample2D(cout, downsample_padding)])

    def forward(self, x, temb_act, skips):
        for i, resnet in enumerate(self.resnets):
            x = resnet(x, temb_act)
            if len(self.attentions):
                x = self.attentions[i](x)
            skips.append(x)
        for down in self.downsamplers:
            x = down(x)
            skips.append(x)
        return x


class UNetMidBlock2D(nn.Module):
    def __init__(self, channels, rn, attn):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(channels, channels, *rn) for _ in range(2)])
        self.attentions = nn.ModuleList([Attention(channels, *attn)])

    def forward(self, x, temb_act):
        return self.resnets[1](self.attentions[0](self.resnets[0](x, temb_act)), temb_act)


class UpBlock2D(nn.Module):
    def __init__(self, cin, cprev, cout, layers, rn, attn, upsample):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock2D((cprev if i == 0 else cout) + (cin if i == layers - 1 else cout), cout, *rn)
            for i in range(layers))
        self.attentions = nn.ModuleList(Attention(cout, *attn) for _ in range(layers)) if attn else nn.ModuleList()
        self.upsamplers = nn.ModuleList([Upsample2D(cout)] if upsample else [])

    def forward(self, x, temb_act, skips):
        for i, resnet in enumerate(self.resnets):
            x = resnet(torch.cat([x, skips.pop()], dim=1), temb_act)
            if len(self.attentions):
                x = self.attentions[i](x)
        for up in self.upsamplers:
            x = up(x)
        return x


class UNet2D(nn.Module):
    def __init__(self, cfg: UNetConfig):
        super().__init__()
        ch, n, temb = cfg.block_out_channels, len(cfg.block_out_channels), 4 * cfg.block_out_channels[0]
        rn = (temb, cfg.norm_num_groups, cfg.norm_eps, cfg.dropout)
        attn = (cfg.attention_head_dim, cfg.norm_num_groups, cfg.norm_eps)
        self.conv_in = nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)
        self.time_proj = Timesteps(ch[0], cfg.flip_sin_to_cos, cfg.freq_shift)
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        self.down_blocks = nn.ModuleList(
            DownBlock2D(ch[max(i - 1, 0)], ch[i], cfg.layers_per_block, rn, attn if cfg.down_attn[i] else None,
                        None if i == n - 1 else cfg.downsample_padding)
            for i in range(n))
        mid_attn = (cfg.attention_head_dim, cfg.attn_norm_num_groups or cfg.norm_num_groups, cfg.norm_eps)
        self.mid_block = UNetMidBlock2D(ch[-1], rn, mid_attn)
        rev = ch[::-1]  # channel bookkeeping of diffusers' UNet2DModel.__init__
        self.up_blocks = nn.ModuleList(
            UpBlock2D(rev[min(i + 1, n - 1)], rev[max(i - 1, 0)], rev[i], cfg.layers_per_block + 1, rn,
                      attn if cfg.up_attn[i] else None, i != n - 1)
            for i in range(n))
        self.conv_norm_out = nn.GroupNorm(cfg.norm_num_groups, ch[0], eps=cfg.norm_eps)
        self.conv_out = nn.Conv2d(ch[0], cfg.out_channels, 3, padding=1)

    def forward(self, x, t):
        temb_act = F.silu(self.time_embedding(self.time_proj(t)))  # once, as the Rust code does
        h = self.conv_in(x)
        skips = [h]
        for block in self.down_blocks:
            h = block(h, temb_act, skips)
        h = self.mid_block(h, temb_act)
        for block in self.up_blocks:
            h = block(h, temb_act, skips)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


# ---------------------------------------------------------------- residual MLP (mlp.rs)

class Mlp(nn.Module):
    def __init__(self, data_dim=2, hidden=256, depth=3, time_features=64, time_scale=1000.0):
        super().__init__()
        self.input = nn.Linear(data_dim, hidden)
        self.time_embedding = TimestepEmbedding(time_features, hidden)
        self.layers = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(depth))
        self.output = nn.Linear(hidden, data_dim)
        self.time_scale = time_scale
        self.register_buffer("freqs", sin_freqs(time_features, 0.0), persistent=False)

    def forward(self, x, t):
        e = self.time_embedding(sinusoidal(t.float() * self.time_scale, self.freqs, True))
        h = self.input(x)
        for layer in self.layers:
            h = h + layer(F.silu(h + e))
        return self.output(F.silu(h))


# ---------------------------------------------------------------- benchmark

# name: (builder, sample shape, t range (integer timesteps?), default batch, expected params)
NETWORKS = {
    "unet-cifar10": (lambda: UNet2D(DDPM_CIFAR10), (3, 32, 32), True, 8, 35_746_307),
    "unet-small": (lambda: UNet2D(SMALL_MNIST), (1, 28, 28), True, 32, None),
    # 2·256+256 + (64·256+256) + (256·256+256) + 3·(256·256+256) + 256·2+2
    "mlp-2d": (lambda: Mlp(), (2,), False, 1024, 281_090),
}
MODES = ["fp32", "tf32", "bf16", "compile", "compile-tf32", "compile-bf16"]


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def time_it(fn, warmup, steps, device):
    for _ in range(warmup):
        fn()
    sync(device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    return times, peak


def bench_network(name, args, threads):
    build, shape, integer_t, default_batch, expected = NETWORKS[name]
    batch = args.batch or default_batch
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn((batch, *shape), generator=gen).to(args.device)
    t = (torch.randint(0, 1000, (batch,), generator=gen).float() if integer_t
         else torch.rand(batch, generator=gen)).to(args.device)
    target = torch.randn((batch, *shape), generator=gen).to(args.device)  # out shape == in shape here
    results = []
    for mode in args.mode:
        tf32 = "tf32" in mode
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        autocast = (lambda: torch.autocast(args.device, dtype=torch.bfloat16)) if "bf16" in mode \
            else contextlib.nullcontext
        torch.manual_seed(args.seed)
        model = build().to(args.device)
        params = sum(p.numel() for p in model.parameters())
        if expected is not None:
            assert params == expected, f"{name}: {params} parameters, expected {expected}"
        fmodel = torch.compile(model) if mode.startswith("compile") else model
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-5, weight_decay=1e-4)

        def forward():
            with torch.no_grad(), autocast():
                fmodel(x, t)

        def train_step():
            with autocast():
                loss = F.mse_loss(fmodel(x, t).float(), target)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        for workload in args.workload:
            model.train(workload == "train-step")
            times, peak = time_it(forward if workload == "forward" else train_step,
                                  args.warmup, args.steps, args.device)
            med = statistics.median(times)
            r = dict(framework="pytorch", version=torch.__version__, network=name, workload=workload,
                     mode=mode, device=args.device, threads=threads, batch=batch, params=params,
                     median_s=med, min_s=min(times), images_per_s=batch / med,
                     peak_mem_mib=None if peak is None else round(peak, 1),
                     steps=args.steps, warmup=args.warmup)
            print(json.dumps(r), flush=True)
            results.append(r)
        del model, fmodel, opt
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--network", required=True, choices=[*NETWORKS, "all"])
    p.add_argument("--batch", type=int, help="default: 8 (unet-cifar10), 32 (unet-small), 1024 (mlp-2d)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own)")
    p.add_argument("--mode", nargs="+", choices=MODES, default=["fp32"])
    p.add_argument("--workload", nargs="+", choices=["forward", "train-step"], default=["forward", "train-step"])
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="OUT", help="also write all results to OUT as a JSON array")
    args = p.parse_args()
    if args.steps < 1:
        p.error("--steps must be at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()

    results = []
    for name in NETWORKS if args.network == "all" else [args.network]:
        results += bench_network(name, args, threads)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)

    dev = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu, {threads} threads"
    print(f"\ntorch {torch.__version__} on {dev} (warmup {args.warmup}, steps {args.steps})", file=sys.stderr)
    print(f"{'network':<13} {'workload':<10} {'mode':<12} {'batch':>5} {'params':>11} "
          f"{'median ms':>10} {'min ms':>9} {'img/s':>10} {'peak MiB':>9}", file=sys.stderr)
    for r in results:
        mem = "-" if r["peak_mem_mib"] is None else f"{r['peak_mem_mib']:.0f}"
        print(f"{r['network']:<13} {r['workload']:<10} {r['mode']:<12} {r['batch']:>5} {r['params']:>11,} "
              f"{r['median_s'] * 1e3:>10.2f} {r['min_s'] * 1e3:>9.2f} {r['images_per_s']:>10.1f} {mem:>9}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
