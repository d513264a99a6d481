#!/usr/bin/env python3
"""Build small example Model Graphs by real gradient training (CPU, a few minutes).

    python examples/make_zoo.py                 # -> examples/zoo/   (zoo 1)
    python examples/make_zoo.py --zoo 2         # -> examples/zoo2/  (zoo 2: other seeds, tasks, shape)

Every model is a tiny Vision Transformer on sklearn's bundled 8x8 digits (2x2 patches -> 16 tokens
+ a class token, hidden 48, 3 blocks, 4 heads, MLP 96). Roots are pre-trained from scratch; children
are fine-tuned from their parent on a different task with a re-initialised head, either fully
(AdamW + weight decay) or with LoRA (rank 4 on the q/k/v/o attention projections, merged into the
weights as W + (alpha/r) * B @ A before saving). Every tensor is stored as F32 with names such as
`blocks.0.attn.q.weight`. Needs torch (CPU) and scikit-learn: pip install -r tools/requirements-zoo.txt.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time

try:
    import numpy as np
    import sklearn.datasets
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as missing:
    package = {"sklearn": "scikit-learn"}.get(missing.name, missing.name)
    sys.exit(f"make_zoo.py needs {package}: pip install -r tools/requirements-zoo.txt (torch's CPU build is enough)")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import st  # noqa: E402

DIM, DEPTH, HEADS, MLP = 48, 3, 4, 96
LORA_R, LORA_ALPHA = 4, 8

# ----------------------------------------------------------------------------------------------
# Data: sklearn digits (1797 images, 8x8, values 0..16) and task transforms.


def load_digits():
    d = sklearn.datasets.load_digits()
    x = torch.tensor(d.images, dtype=torch.float32) / 16.0  # (N, 8, 8)
    y = torch.tensor(d.target, dtype=torch.long)
    return x, y


PRIMES = {2, 3, 5, 7}
LOOPS = {0: 1, 1: 0, 2: 0, 3: 0, 4: 1, 5: 0, 6: 1, 7: 0, 8: 2, 9: 1}


def make_task(name, x, y):
    """Return (images, labels, n_classes) for a task over the digits."""
    if name == "digits10":
        return x, y, 10
    if name == "digit_rot40":  # pretext: digit x rotation (0/90/180/270) -> 40 classes
        xs = [torch.rot90(x, k, dims=(1, 2)) for k in range(4)]
        ys = [y * 4 + k for k in range(4)]
        return torch.cat(xs), torch.cat(ys), 40
    if name == "digit_flip20":  # pretext: digit x horizontally flipped -> 20 classes
        return torch.cat([x, torch.flip(x, dims=(2,))]), torch.cat([y * 2, y * 2 + 1]), 20
    if name == "parity":
        return x, y % 2, 2
    if name == "ge5":
        return x, (y >= 5).long(), 2
    if name == "mod3":
        return x, y % 3, 3
    if name == "prime":
        return x, torch.tensor([int(int(v) in PRIMES) for v in y]), 2
    if name == "loops":
        return x, torch.tensor([LOOPS[int(v)] for v in y]), 3
    if name == "rot90":
        return torch.rot90(x, 1, dims=(1, 2)), y, 10
    if name == "hflip":
        return torch.flip(x, dims=(2,)), y, 10
    if name == "transpose":
        return x.transpose(1, 2).contiguous(), y, 10
    if name == "invert":
        return 1.0 - x, y, 10
    if name == "sub04":
        m = y < 5
        return x[m], y[m], 5
    if name == "sub59":
        m = y >= 5
        return x[m], y[m] - 5, 5
    if name == "rot90_parity":
        return torch.rot90(x, 1, dims=(1, 2)), y % 2, 2
    if name == "invert_mod3":
        return 1.0 - x, y % 3, 3
    raise ValueError(name)


def augment(xb, g):
    """Random +-1 pixel shifts (zero padded) and light Gaussian noise."""
    n = xb.shape[0]
    pad = F.pad(xb, (1, 1, 1, 1))
    dx = torch.randint(0, 3, (n,), generator=g)
    dy = torch.randint(0, 3, (n,), generator=g)
    ar = torch.arange(8)
    rows = (dy[:, None] + ar)[:, :, None]
    cols = (dx[:, None] + ar)[:, None, :]
    out = pad[torch.arange(n)[:, None, None], rows, cols]
    return out + 0.05 * torch.randn(out.shape, generator=g)


# ----------------------------------------------------------------------------------------------
# Model


class LoRALinear(nn.Module):
    """y = base(x) + (alpha/r) * x A^T B^T with A:(r,in), B:(out,r); base frozen."""

    def __init__(self, base: nn.Linear, r, alpha, g):
        super().__init__()
        self.base = base
        self.scale = alpha / r
        self.A = nn.Parameter(torch.empty(r, base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        bound = 1.0 / math.sqrt(base.in_features)
        with torch.no_grad():
            self.A.uniform_(-bound, bound, generator=g)
        for p in self.base.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        return self.base(x) + self.scale * (x @ self.A.t() @ self.B.t())

    def merged(self):
        with torch.no_grad():
            self.base.weight += self.scale * (self.B @ self.A)
        return self.base


class Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(DIM, DIM) for _ in range(4))

    def forward(self, x):
        b, t, _ = x.shape
        hd = DIM // HEADS
        q = self.q(x).view(b, t, HEADS, hd).transpose(1, 2)
        k = self.k(x).view(b, t, HEADS, hd).transpose(1, 2)
        v = self.v(x).view(b, t, HEADS, hd).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
        return self.o((a @ v).transpose(1, 2).reshape(b, t, DIM))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(DIM, MLP), nn.Linear(MLP, DIM)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.attn, self.norm2, self.mlp = nn.LayerNorm(DIM), Attn(), nn.LayerNorm(DIM), Mlp()

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.patch_embed = nn.Linear(4, DIM)
        self.cls_token = nn.Parameter(torch.zeros(1, DIM))
        self.pos_embed = nn.Parameter(torch.zeros(17, DIM))
        self.blocks = nn.ModuleList(Block() for _ in range(DEPTH))
        self.norm = nn.LayerNorm(DIM)
        self.head = nn.Linear(DIM, n_classes)

    def forward(self, img):  # img: (B, 8, 8)
        b = img.shape[0]
        p = img.view(b, 4, 2, 4, 2).permute(0, 1, 3, 2, 4).reshape(b, 16, 4)
        x = torch.cat([self.cls_token.expand(b, 1, DIM), self.patch_embed(p)], 1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


def init_vit(m, g):
    """ViT-style init: N(0, 0.02) truncated at 2 sigma for weights, zero biases, unit LayerNorm."""
    for name, p in m.named_parameters():
        with torch.no_grad():
            if p.dim() >= 2 or name in ("cls_token", "pos_embed"):
                t = torch.randn(p.shape, generator=g) * 0.02
                p.copy_(t.clamp(-0.04, 0.04))
            elif name.endswith("weight"):  # LayerNorm
                p.fill_(1.0)
            else:
                p.zero_()


def new_head(n_classes, g):
    h = nn.Linear(DIM, n_classes)
    with torch.no_grad():
        h.weight.copy_((torch.randn(h.weight.shape, generator=g) * 0.02).clamp(-0.04, 0.04))
        h.bias.zero_()
    return h


# ----------------------------------------------------------------------------------------------
# Training


def lr_at(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * t))


def train(model, params, task, x, y, steps, lr, wd, seed, aug, batch=128, warmup=100):
    g = torch.Generator().manual_seed(seed)
    xt, yt, _ = make_task(task, x, y)
    n = xt.shape[0]
    perm = torch.randperm(n, generator=g)
    n_val = n // 5
    val, tr = perm[:n_val], perm[n_val:]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.999))
    model.train()
    for step in range(steps):
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step, steps, lr, warmup)
        idx = tr[torch.randint(0, tr.numel(), (batch,), generator=g)]
        xb, yb = xt[idx], yt[idx]
        if aug:
            xb = augment(xb, g)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xt[val]).argmax(1) == yt[val]).float().mean().item()
    return loss.item(), acc


def state_numpy(model):
    return {k: v.detach().cpu().numpy().astype(np.float32).copy() for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------------------------
# Zoo specifications: (model_id, parent_id or None, recipe, task, seed)
# recipe: "pretrain" (from scratch), "full" (full fine-tune), "lora" (LoRA r=4 on q/k/v/o, merged)

ZOO1 = [
    ("vit-a", None, "pretrain", "digits10", 11),
    ("vit-a-parity", "vit-a", "full", "parity", 12),
    ("vit-a-rot90", "vit-a", "full", "rot90", 13),
    ("vit-a-mod3-lora", "vit-a", "lora", "mod3", 14),
    ("vit-a-parity-sub04", "vit-a-parity", "full", "sub04", 15),
    ("vit-a-parity-hflip-lora", "vit-a-parity", "lora", "hflip", 16),
    ("vit-a-rot90-ge5", "vit-a-rot90", "full", "ge5", 17),
    ("vit-a-mod3-lora-invert", "vit-a-mod3-lora", "full", "invert", 18),
    ("vit-b", None, "pretrain", "digit_rot40", 21),
    ("vit-b-digits10", "vit-b", "full", "digits10", 22),
    ("vit-b-prime-lora", "vit-b", "lora", "prime", 23),
    ("vit-b-digits10-loops", "vit-b-digits10", "full", "loops", 24),
    ("vit-b-digits10-transpose-lora", "vit-b-digits10", "lora", "transpose", 25),
    ("vit-b-prime-lora-sub59", "vit-b-prime-lora", "full", "sub59", 26),
]
ZOO1_SHARDED = "vit-a-rot90"

ZOO2 = [
    ("net-p", None, "pretrain", "digit_flip20", 101),
    ("net-p-sub59", "net-p", "full", "sub59", 102),
    ("net-p-sub59-mod3", "net-p-sub59", "full", "mod3", 103),
    ("net-p-sub59-mod3-parity-lora", "net-p-sub59-mod3", "lora", "parity", 104),
    ("net-p-transpose-lora", "net-p", "lora", "transpose", 105),
    ("net-q", None, "pretrain", "digits10", 201),
    ("net-q-loops", "net-q", "full", "loops", 202),
    ("net-q-invert", "net-q", "full", "invert", 203),
    ("net-q-ge5-lora", "net-q", "lora", "ge5", 204),
    ("net-q-prime", "net-q", "full", "prime", 205),
    ("net-q-invert-rot90_parity", "net-q-invert", "full", "rot90_parity", 206),
    ("net-q-invert-invert_mod3-lora", "net-q-invert", "lora", "invert_mod3", 207),
]
ZOO2_SHARDED = None

RECIPES = {
    # steps, peak lr, weight decay, augmentation
    "pretrain": dict(steps=4000, lr=1e-3, wd=0.05, aug=True, warmup=200),
    "full": dict(steps=1200, lr=5e-4, wd=0.1, aug=True, warmup=60),
    "lora": dict(steps=1200, lr=5e-4, wd=0.01, aug=True, warmup=60),
}


def build(spec, x, y, log):
    weights, info = {}, {}
    for mid, parent, recipe, task, seed in spec:
        t0 = time.time()
        torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed)
        n_classes = make_task(task, x[:1], y[:1])[2]
        r = RECIPES[recipe]
        if recipe == "pretrain":
            model = ViT(n_classes)
            init_vit(model, g)
            params = list(model.parameters())
        else:
            pstate = weights[parent]
            old_classes = pstate["head.weight"].shape[0]
            model = ViT(old_classes)
            model.load_state_dict({k: torch.tensor(v) for k, v in pstate.items()})
            model.head = new_head(n_classes, g)
            if recipe == "full":
                params = list(model.parameters())
            else:
                for p in model.parameters():
                    p.requires_grad_(False)
                for blk in model.blocks:
                    for nm in ("q", "k", "v", "o"):
                        setattr(blk.attn, nm, LoRALinear(getattr(blk.attn, nm), LORA_R, LORA_ALPHA, g))
                for p in model.head.parameters():
                    p.requires_grad_(True)
                params = [p for p in model.parameters() if p.requires_grad]
        loss, acc = train(model, params, task, x, y, r["steps"], r["lr"], r["wd"], seed, r["aug"],
                          warmup=r["warmup"])
        if recipe == "lora":
            for blk in model.blocks:
                for nm in ("q", "k", "v", "o"):
                    setattr(blk.attn, nm, getattr(blk.attn, nm).merged())
        weights[mid] = state_numpy(model)
        info[mid] = dict(parent=parent, recipe=recipe, task=task, seed=seed, n_classes=n_classes,
                         final_loss=round(loss, 4), val_acc=round(acc, 4))
        log(f"{mid:34s} {recipe:8s} {task:13s} seed={seed:3d} loss={loss:.3f} val_acc={acc:.3f} "
            f"({time.time() - t0:.0f}s)")
    return weights, info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo", type=int, default=1, choices=(1, 2))
    ap.add_argument("--out", help="output folder (default examples/zoo or examples/zoo2)")
    args = ap.parse_args()
    spec, sharded = (ZOO1, ZOO1_SHARDED) if args.zoo == 1 else (ZOO2, ZOO2_SHARDED)
    out = args.out or os.path.join(HERE, "zoo" if args.zoo == 1 else "zoo2")
    try:  # before minutes of training, not after
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        sys.exit(f"make_zoo.py: {e}")

    torch.set_num_threads(1)  # bitwise reproducible run to run on CPU
    torch.use_deterministic_algorithms(True)
    x, y = load_digits()
    weights, info = build(spec, x, y, lambda s: print(s, flush=True))

    try:
        write_zoo(out, spec, sharded, weights, info)
    except OSError as e:
        sys.exit(f"make_zoo.py: {e}")
    print(f"wrote {len(weights)} models to {out}")


def write_zoo(out, spec, sharded, weights, info):
    os.makedirs(out, exist_ok=True)
    for mid in weights:
        d = os.path.join(out, mid)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        meta = {"format": "pt"}
        if mid == sharded:
            st.write_sharded(d, weights[mid], n_shards=2)
        else:
            st.write(os.path.join(d, "model.safetensors"), weights[mid], metadata=meta)
    truth = {"edges": [[p, m] for m, p, *_ in spec if p is not None],
             "roots": [m for m, p, *_ in spec if p is None]}
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    with open(os.path.join(out, "training_log.json"), "w") as f:
        json.dump({"torch": torch.__version__, "dim": DIM, "depth": DEPTH, "heads": HEADS, "mlp": MLP,
                   "lora_r": LORA_R, "lora_alpha": LORA_ALPHA, "recipes": RECIPES, "models": info}, f, indent=1)


if __name__ == "__main__":
    main()
