"""Writes the SAE folder fixtures under src/fixtures with PyTorch.

Each folder is laid out as SAELens (v6 and pre-v6) or EleutherAI sparsify write them, with tiny
random weights. expected.safetensors holds an input batch and, for each folder, the latents and
reconstruction computed here from the published formulas, so the TypeScript loaders are checked
against an independent implementation. safetensors is written by hand (no safetensors package):
an 8-byte little-endian header length, a JSON header padded with spaces to 8 bytes, then the data.

Run from plugins/sdl: python3 scripts/make-fixtures.py
"""

import json
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "src", "fixtures")
D_IN, D_SAE, K, BATCH = 6, 10, 3, 5
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}

torch.manual_seed(0)


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def write_folder(name, cfg, weights_name, tensors):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "cfg.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(folder, weights_name), tensors)


def v6_cfg(architecture, hook, extra=None):
    cfg = {
        "architecture": architecture,
        "d_in": D_IN,
        "d_sae": D_SAE,
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": True,
        "normalize_activations": "none",
        "reshape_activations": "none",
        "metadata": {
            "model_name": "fixture-model",
            "hook_name": hook,
            "hook_head_index": None,
            "context_size": 16,
            "prepend_bos": True,
            "dataset_path": "fixture",
            "sae_lens_version": "6.0.0",
            "sae_lens_training_version": "6.0.0",
        },
    }
    cfg.update(extra or {})
    return cfg


def base_weights():
    return {
        "W_enc": torch.randn(D_IN, D_SAE) * 0.5,
        "W_dec": torch.randn(D_SAE, D_IN) * 0.5,
        "b_enc": torch.randn(D_SAE) * 0.2,
        "b_dec": torch.randn(D_IN) * 0.2,
    }


def topk_mask(pre, k):
    idx = pre.topk(k, dim=-1).indices
    return torch.zeros_like(pre).scatter(-1, idx, 1.0)


x = torch.randn(BATCH, D_IN)
expected = {"x": x}

# Standard: relu((x - b_dec) W_enc + b_enc).
w = base_weights()
write_folder("saelens-v6-standard", v6_cfg("standard", "blocks.1.hook_resid_pre"), "sae_weights.safetensors", w)
f = torch.relu((x - w["b_dec"]) @ w["W_enc"] + w["b_enc"])
expected["standard.latents"], expected["standard.recon"] = f, f @ w["W_dec"] + w["b_dec"]

# TopK: the k largest pre-activations, relu'd.
w = base_weights()
write_folder("saelens-v6-topk", v6_cfg("topk", "blocks.0.hook_mlp_out", {"k": K}), "sae_weights.safetensors", w)
pre = (x - w["b_dec"]) @ w["W_enc"] + w["b_enc"]
f = torch.relu(pre) * topk_mask(pre, K)
expected["topk.latents"], expected["topk.recon"] = f, f @ w["W_dec"] + w["b_dec"]

# JumpReLU: relu(pre) * [pre > threshold].
w = base_weights()
w["threshold"] = torch.rand(D_SAE) * 0.5
write_folder("saelens-v6-jumprelu", v6_cfg("jumprelu", "blocks.1.hook_resid_post"), "sae_weights.safetensors", w)
pre = (x - w["b_dec"]) @ w["W_enc"] + w["b_enc"]
f = torch.relu(pre) * (pre > w["threshold"]).float()
expected["jumprelu.latents"], expected["jumprelu.recon"] = f, f @ w["W_dec"] + w["b_dec"]

# Gated: [x~ W_enc + b_gate > 0] * relu(x~ (W_enc * exp(r_mag)) + b_mag).
w = base_weights()
del w["b_enc"]
w.update({"b_gate": torch.randn(D_SAE) * 0.2, "b_mag": torch.randn(D_SAE) * 0.2, "r_mag": torch.randn(D_SAE) * 0.3})
write_folder("saelens-v6-gated", v6_cfg("gated", "blocks.0.hook_resid_post"), "sae_weights.safetensors", w)
xc = x - w["b_dec"]
f = ((xc @ w["W_enc"] + w["b_gate"]) > 0).float() * torch.relu(xc @ (w["W_enc"] * w["r_mag"].exp()) + w["b_mag"])
expected["gated.latents"], expected["gated.recon"] = f, f @ w["W_dec"] + w["b_dec"]

# Pre-v6 flat config: topk through activation_fn_str, hook_point, boolean normalize_activations,
# no b_dec on the input, and a fine-tuning scaling factor.
w = base_weights()
w["scaling_factor"] = torch.rand(D_SAE) + 0.5
pre_v6 = {
    "model_name": "fixture-model",
    "hook_point": "blocks.1.hook_resid_pre",
    "hook_point_layer": 1,
    "hook_point_head_index": None,
    "d_in": D_IN,
    "d_sae": D_SAE,
    "dtype": "float32",
    "device": "cpu",
    "activation_fn_str": "topk",
    "activation_fn_kwargs": {"k": K},
    "apply_b_dec_to_input": False,
    "normalize_activations": False,
    "context_size": 16,
}
write_folder("saelens-pre-v6-topk", pre_v6, "sae_weights.safetensors", w)
pre = x @ w["W_enc"] + w["b_enc"]
f = torch.relu(pre) * topk_mask(pre, K)
expected["pre-v6.latents"], expected["pre-v6.recon"] = f, (f * w["scaling_factor"]) @ w["W_dec"] + w["b_dec"]

# sparsify: encoder is a Linear [num_latents, d_in]; topk(relu(encoder(x - b_dec))). Weights in bfloat16.
enc_w = (torch.randn(D_SAE, D_IN) * 0.5).bfloat16()
enc_b = (torch.randn(D_SAE) * 0.2).bfloat16()
w_dec = (torch.randn(D_SAE, D_IN) * 0.5).bfloat16()
b_dec = (torch.randn(D_IN) * 0.2).bfloat16()
sparsify_cfg = {"expansion_factor": D_SAE // D_IN + 1, "normalize_decoder": True, "num_latents": D_SAE, "k": K, "multi_topk": False, "skip_connection": False, "transcode": False, "d_in": D_IN}
write_folder(os.path.join("sparsify", "layers.2"), sparsify_cfg, "sae.safetensors", {"encoder.weight": enc_w, "encoder.bias": enc_b, "W_dec": w_dec, "b_dec": b_dec})
enc_w, enc_b, w_dec, b_dec = (t.float() for t in (enc_w, enc_b, w_dec, b_dec))
acts = torch.relu((x - b_dec) @ enc_w.T + enc_b)
f = acts * topk_mask(acts, K)
expected["sparsify.latents"], expected["sparsify.recon"] = f, f @ w_dec + b_dec

write_safetensors(os.path.join(OUT, "expected.safetensors"), expected)
print("wrote fixtures to", os.path.normpath(OUT))
