#!/usr/bin/env python3
"""Independent PyTorch reference for the hooked transformer in src/.

A handwritten decoder-only transformer with TransformerLens parameter names, hook names and
hook placement, run in float64 on random float32 weights and fixed tokens. For each tiny
configuration below it writes one safetensors file to src/fixtures/transformer-<name>.safetensors
holding:

  weights   every parameter under its state-dict name (`embed.W_E`, `blocks.0.attn.W_Q`, ...)
  tokens    the fixed int32 input [batch, pos]
  logits    [batch, pos, d_vocab_out]
  acts      every hook activation under `act:<hook name>`
  grads     the gradient of the mean next-token loss w.r.t. every hook activation, `grad:<hook name>`

and the configuration (camelCase, as src/config.ts reads it) as JSON in the `config` metadata
entry. The safetensors writer is written by hand, so only torch is needed.

Run from anywhere: /usr/bin/python3 packages/model/scripts/reference_transformer.py
"""

import json
import math
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "src", "fixtures")

BASE = dict(
    nLayers=2,
    dModel=16,
    nHeads=4,
    dHead=4,
    dMlp=32,
    dVocab=20,
    nCtx=8,
    actFn="gelu_new",
    normalizationType="LN",
    positionalEmbeddingType="standard",
    rotaryDim=None,
    rotaryBase=10000,
    attnOnly=False,
    parallelAttnMlp=False,
    eps=1e-5,
)

CONFIGS = {
    "ln-standard-sequential": dict(),
    "rms-rotary-parallel": dict(
        nHeads=2, dHead=8, rotaryDim=4, actFn="silu", normalizationType="RMS", positionalEmbeddingType="rotary", parallelAttnMlp=True
    ),
    "rms-rotary-sequential": dict(rotaryDim=4, actFn="gelu", normalizationType="RMS", positionalEmbeddingType="rotary"),
    "ln-shortformer-attn-only": dict(dMlp=None, actFn=None, attnOnly=True, positionalEmbeddingType="shortformer"),
    "none-standard-relu": dict(nHeads=3, dHead=5, dMlp=24, actFn="relu", normalizationType=None),
}

TOKENS = [[0, 5, 3, 17, 5, 3], [0, 11, 19, 2, 8, 11]]


def make_weights(cfg, seed):
    """Random float32 weights; norms near 1 and non-zero biases so that every term matters."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std=1.0, mean=0.0):
        return (torch.randn(*shape, generator=g) * std + mean).float()

    d, h, dh, v = cfg["dModel"], cfg["nHeads"], cfg["dHead"], cfg["dVocab"]
    w = {"embed.W_E": randn(v, d)}
    if cfg["positionalEmbeddingType"] in ("standard", "shortformer"):
        w["pos_embed.W_pos"] = randn(cfg["nCtx"], d, std=0.5)

    def norm(prefix):
        if cfg["normalizationType"] in ("LN", "RMS"):
            w[prefix + ".w"] = randn(d, std=0.1, mean=1.0)
        if cfg["normalizationType"] == "LN":
            w[prefix + ".b"] = randn(d, std=0.1)

    for layer in range(cfg["nLayers"]):
        p = f"blocks.{layer}"
        norm(p + ".ln1")
        for m in "QKV":
            w[f"{p}.attn.W_{m}"] = randn(h, d, dh, std=1 / math.sqrt(d))
            w[f"{p}.attn.b_{m}"] = randn(h, dh, std=0.1)
        w[f"{p}.attn.W_O"] = randn(h, dh, d, std=1 / math.sqrt(h * dh))
        w[f"{p}.attn.b_O"] = randn(d, std=0.1)
        if not cfg["attnOnly"]:
            norm(p + ".ln2")
            w[f"{p}.mlp.W_in"] = randn(d, cfg["dMlp"], std=1 / math.sqrt(d))
            w[f"{p}.mlp.b_in"] = randn(cfg["dMlp"], std=0.1)
            w[f"{p}.mlp.W_out"] = randn(cfg["dMlp"], d, std=1 / math.sqrt(cfg["dMlp"]))
            w[f"{p}.mlp.b_out"] = randn(d, std=0.1)
    norm("ln_final")
    w["unembed.W_U"] = randn(d, v, std=1 / math.sqrt(d))
    w["unembed.b_U"] = randn(v, std=0.1)
    return w


class Recorder:
    """Stands in for hook points: keeps each activation and asks autograd to keep its gradient."""

    def __init__(self):
        self.acts = {}

    def __call__(self, name, x):
        assert name not in self.acts, name
        x.retain_grad()
        self.acts[name] = x
        return x


def normalize(cfg, x, w, prefix, hook):
    kind = cfg["normalizationType"]
    if kind is None:
        return x
    if kind == "LN":
        x = x - x.mean(-1, keepdim=True)
    scale = hook(prefix + ".hook_scale", torch.sqrt((x * x).mean(-1, keepdim=True) + cfg["eps"]))
    if kind == "LN":
        return hook(prefix + ".hook_normalized", (x / scale) * w[prefix + ".w"] + w[prefix + ".b"])
    # RMS: TransformerLens hooks the normalised value before the weight is applied.
    return hook(prefix + ".hook_normalized", x / scale) * w[prefix + ".w"]


def rotary_tables(cfg, n_pos):
    """GPT-NeoX rotary: dimension i < r/2 pairs with i + r/2 and turns at base^(-2i/r) per position."""
    r = cfg["rotaryDim"]
    half = r // 2
    inv_freq = torch.tensor([cfg["rotaryBase"] ** (-(2.0 * i) / r) for i in range(half)], dtype=torch.float64)
    angles = torch.arange(n_pos, dtype=torch.float64)[:, None] * inv_freq[None, :]
    angles = torch.cat([angles, angles], dim=-1)  # [pos, r]
    return torch.cos(angles), torch.sin(angles)


def rotate(cfg, x):
    """x: [batch, pos, head, d_head]; rotates the first rotaryDim features of each head."""
    r = cfg["rotaryDim"]
    half = r // 2
    cos, sin = rotary_tables(cfg, x.shape[1])
    cos = cos[None, :, None, :]
    sin = sin[None, :, None, :]
    x_rot, x_pass = x[..., :r], x[..., r:]
    first, second = x_rot[..., :half], x_rot[..., half:]
    turned = torch.cat([-second, first], dim=-1)
    return torch.cat([x_rot * cos + turned * sin, x_pass], dim=-1)


def activation(name, x):
    if name == "relu":
        return torch.relu(x)
    if name == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name == "gelu_new":
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    if name == "silu":
        return x * torch.sigmoid(x)
    raise ValueError(name)


def attention(cfg, w, layer, x, shortformer_pos, hook):
    p = f"blocks.{layer}.attn"
    qk_in = x if shortformer_pos is None else x + shortformer_pos
    q = hook(p + ".hook_q", torch.einsum("bpm,hmd->bphd", qk_in, w[p + ".W_Q"]) + w[p + ".b_Q"])
    k = hook(p + ".hook_k", torch.einsum("bpm,hmd->bphd", qk_in, w[p + ".W_K"]) + w[p + ".b_K"])
    v = hook(p + ".hook_v", torch.einsum("bpm,hmd->bphd", x, w[p + ".W_V"]) + w[p + ".b_V"])
    if cfg["positionalEmbeddingType"] == "rotary":
        q = hook(p + ".hook_rot_q", rotate(cfg, q))
        k = hook(p + ".hook_rot_k", rotate(cfg, k))
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(cfg["dHead"])
    n = x.shape[1]
    future = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    scores = hook(p + ".hook_attn_scores", scores.masked_fill(future, float("-inf")))
    pattern = hook(p + ".hook_pattern", torch.softmax(scores, dim=-1))
    z = hook(p + ".hook_z", torch.einsum("bhqk,bkhd->bqhd", pattern, v))
    result = hook(p + ".hook_result", torch.einsum("bqhd,hdm->bqhm", z, w[p + ".W_O"]))
    return result.sum(dim=2) + w[p + ".b_O"]


def mlp(cfg, w, layer, x, hook):
    p = f"blocks.{layer}.mlp"
    pre = hook(p + ".hook_pre", x @ w[p + ".W_in"] + w[p + ".b_in"])
    post = hook(p + ".hook_post", activation(cfg["actFn"], pre))
    return post @ w[p + ".W_out"] + w[p + ".b_out"]


def forward(cfg, w, tokens, hook):
    batch, n = tokens.shape
    resid = hook("hook_embed", w["embed.W_E"][tokens])
    shortformer_pos = None
    if cfg["positionalEmbeddingType"] in ("standard", "shortformer"):
        pos = hook("hook_pos_embed", w["pos_embed.W_pos"][:n][None].expand(batch, n, cfg["dModel"]))
        if cfg["positionalEmbeddingType"] == "standard":
            resid = resid + pos
        else:
            shortformer_pos = pos
    for layer in range(cfg["nLayers"]):
        b = f"blocks.{layer}"
        resid = hook(b + ".hook_resid_pre", resid)
        attn_out = hook(b + ".hook_attn_out", attention(cfg, w, layer, normalize(cfg, resid, w, b + ".ln1", hook), shortformer_pos, hook))
        if cfg["attnOnly"]:
            resid = resid + attn_out
        elif cfg["parallelAttnMlp"]:
            mlp_out = hook(b + ".hook_mlp_out", mlp(cfg, w, layer, normalize(cfg, resid, w, b + ".ln2", hook), hook))
            resid = resid + attn_out + mlp_out
        else:
            mid = hook(b + ".hook_resid_mid", resid + attn_out)
            mlp_out = hook(b + ".hook_mlp_out", mlp(cfg, w, layer, normalize(cfg, mid, w, b + ".ln2", hook), hook))
            resid = mid + mlp_out
        resid = hook(b + ".hook_resid_post", resid)
    resid = normalize(cfg, resid, w, "ln_final", hook)
    return resid @ w["unembed.W_U"] + w["unembed.b_U"]


def write_safetensors(path, tensors, metadata):
    """The safetensors layout: u64 header length, JSON header (space-padded to 8 bytes), raw data."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        if t.dtype == torch.int32:
            dtype, blob = "I32", struct.pack(f"<{t.numel()}i", *t.flatten().tolist())
        else:
            dtype, blob = "F32", struct.pack(f"<{t.numel()}f", *t.float().flatten().tolist())
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    tokens = torch.tensor(TOKENS, dtype=torch.long)
    for index, (name, overrides) in enumerate(CONFIGS.items()):
        cfg = {**BASE, **overrides}
        weights32 = make_weights(cfg, seed=1000 + index)
        weights = {k: v.double().requires_grad_(True) for k, v in weights32.items()}
        hook = Recorder()
        logits = forward(cfg, weights, tokens, hook)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
        loss.backward()
        out = {f"weights:{k}": v for k, v in weights32.items()}
        out["tokens"] = tokens.int()
        out["logits"] = logits
        out["loss"] = loss.reshape(1)
        for hook_name, act in hook.acts.items():
            out[f"act:{hook_name}"] = act
            out[f"grad:{hook_name}"] = act.grad
        path = os.path.join(OUT_DIR, f"transformer-{name}.safetensors")
        write_safetensors(path, out, {"config": json.dumps(cfg), "hooks": json.dumps(list(hook.acts))})
        print(f"{path}: {len(hook.acts)} hooks, loss {loss.item():.6f}, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
