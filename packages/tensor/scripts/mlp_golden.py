#!/usr/bin/env python3
"""Writes src/fixtures/mlp-adamw.json: PyTorch reference values for nn and optim.

- "mlp": a 2-layer MLP (8 -> 32 -> 4, tanh) trained full-batch on a small synthetic
  classification set with AdamW (lr 1e-2, weight decay 1e-2, default betas), cross-entropy,
  grad-norm clipping and a linear-warmup + cosine schedule (via LambdaLR). It records the
  initial weights, the data, each step's loss, gradient norm and lr, and the final weights.
- "optimizers": single-tensor runs of SGD, Adam and AdamW over fixed gradients, with the
  parameter after every step.
- "clip": clip_grad_norm_ on fixed gradients, with the total norm and the clipped gradients.

The schedule below must stay the same as cosineWithWarmup in src/optim/schedules.ts.

Run from anywhere: python3 packages/tensor/scripts/mlp_golden.py
"""

import json
import math
import os

import torch

D_IN, D_HIDDEN, N_CLASSES, N_SAMPLES = 8, 32, 4, 64
STEPS, WARMUP, MIN_LR_RATIO, MAX_NORM = 50, 5, 0.1, 0.5
LR, WEIGHT_DECAY = 1e-2, 1e-2


def flat(t):
    """A float32 tensor as a flat list of floats (exact: every float32 is a double)."""
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def cosine_with_warmup(step):
    if step < WARMUP:
        return step / WARMUP
    progress = min(1.0, (step - WARMUP) / (STEPS - WARMUP))
    return MIN_LR_RATIO + (1 - MIN_LR_RATIO) * 0.5 * (1 + math.cos(math.pi * progress))


def state_dict_json(model):
    return {k: {"shape": list(v.shape), "data": flat(v)} for k, v in model.state_dict().items()}


def mlp_case():
    torch.manual_seed(1234)
    x = torch.randn(N_SAMPLES, D_IN)
    teacher = torch.randn(D_IN, N_CLASSES)
    y = (x @ teacher + 0.5 * torch.randn(N_SAMPLES, N_CLASSES)).argmax(dim=1)

    model = torch.nn.Sequential(torch.nn.Linear(D_IN, D_HIDDEN), torch.nn.Tanh(), torch.nn.Linear(D_HIDDEN, N_CLASSES))
    initial = state_dict_json(model)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_with_warmup)
    losses, norms, lrs = [], [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        losses.append(loss.item())
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM).item())
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    with torch.no_grad():
        final_loss = torch.nn.functional.cross_entropy(model(x), y).item()
    return {
        "config": {
            "dIn": D_IN, "dHidden": D_HIDDEN, "nClasses": N_CLASSES, "steps": STEPS, "warmupSteps": WARMUP,
            "minLrRatio": MIN_LR_RATIO, "maxNorm": MAX_NORM, "lr": LR, "weightDecay": WEIGHT_DECAY,
        },
        "x": flat(x),
        "y": [int(v) for v in y.tolist()],
        "initial": initial,
        "losses": losses,
        "gradNorms": norms,
        "lrs": lrs,
        "finalLoss": final_loss,
        "final": state_dict_json(model),
    }


def optimizer_cases():
    torch.manual_seed(99)
    shape = (2, 3)
    p0 = torch.randn(shape)
    grads = [torch.randn(shape) for _ in range(4)]
    configs = [
        ("SGD", {"lr": 0.1}, lambda ps, o: torch.optim.SGD(ps, lr=o["lr"])),
        ("SGD", {"lr": 0.1, "momentum": 0.9}, lambda ps, o: torch.optim.SGD(ps, lr=o["lr"], momentum=o["momentum"])),
        ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weightDecay": 0.1},
         lambda ps, o: torch.optim.SGD(ps, lr=o["lr"], momentum=o["momentum"], dampening=o["dampening"], weight_decay=o["weightDecay"])),
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weightDecay": 0.01},
         lambda ps, o: torch.optim.SGD(ps, lr=o["lr"], momentum=o["momentum"], nesterov=True, weight_decay=o["weightDecay"])),
        ("Adam", {"lr": 1e-2}, lambda ps, o: torch.optim.Adam(ps, lr=o["lr"])),
        ("Adam", {"lr": 3e-2, "betas": [0.8, 0.99], "eps": 1e-6, "weightDecay": 0.1},
         lambda ps, o: torch.optim.Adam(ps, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weightDecay"])),
        ("Adam", {"lr": 1e-2, "amsgrad": True}, lambda ps, o: torch.optim.Adam(ps, lr=o["lr"], amsgrad=True)),
        ("AdamW", {"lr": 1e-2}, lambda ps, o: torch.optim.AdamW(ps, lr=o["lr"])),
        ("AdamW", {"lr": 5e-2, "weightDecay": 0.5, "amsgrad": True},
         lambda ps, o: torch.optim.AdamW(ps, lr=o["lr"], weight_decay=o["weightDecay"], amsgrad=True)),
    ]
    cases = []
    for name, options, make in configs:
        p = p0.clone().requires_grad_(True)
        opt = make([p], options)
        after = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            after.append(flat(p))
        cases.append({"optimizer": name, "options": options, "after": after})
    return {"shape": list(shape), "initial": flat(p0), "grads": [flat(g) for g in grads], "cases": cases}


def clip_cases():
    torch.manual_seed(7)
    grads = [torch.randn(3, 4), torch.randn(5)]
    cases = []
    for max_norm, norm_type in [(1.0, 2.0), (100.0, 2.0), (0.5, float("inf")), (2.0, 1.0)]:
        ps = [torch.zeros_like(g, requires_grad=True) for g in grads]
        for p, g in zip(ps, grads):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type).item()
        cases.append({
            "maxNorm": max_norm,
            "normType": "inf" if math.isinf(norm_type) else norm_type,
            "total": total,
            "clipped": [flat(p.grad) for p in ps],
        })
    return {"shapes": [list(g.shape) for g in grads], "grads": [flat(g) for g in grads], "cases": cases}


def main():
    out = {
        "description": "PyTorch %s reference values written by scripts/mlp_golden.py" % torch.__version__.split("+")[0],
        "mlp": mlp_case(),
        "optimizers": optimizer_cases(),
        "clip": clip_cases(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "fixtures", "mlp-adamw.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote %s (%d bytes)" % (os.path.normpath(path), os.path.getsize(path)))


if __name__ == "__main__":
    main()
