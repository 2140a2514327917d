#!/usr/bin/env python3
"""Writes tiny Hugging Face-format checkpoints with random weights, and their reference activations.

Each fixture is a folder the way `save_pretrained` leaves it (config.json plus model.safetensors, or
shards with model.safetensors.index.json), written by hand from PyTorch tensors, since the
transformers library is not needed. The reference forward passes below are written from the
Hugging Face modelling semantics of GPT-2 and GPT-NeoX (Pythia):

- GPT-2: Conv1D weights stored [in, out]; fused c_attn split along `out` into q, k, v, each viewed as
  [n_head, head_dim]; causal softmax(q k^T / sqrt(head_dim)); pre-LN sequential blocks; gelu_new;
  final ln_f; logits = h wte^T (tied).
- GPT-NeoX: query_key_value Linear [3D, D] whose output is viewed per head as [n_head, 3 * head_dim]
  = (q | k | v); rotary with rotate_half on the first int(head_dim * rotary_pct) features of q and k;
  scores / sqrt(head_dim); parallel residual x + attn(ln1 x) + mlp(ln2 x) (or sequential when
  use_parallel_residual is false); exact-erf gelu; final_layer_norm; untied embed_out.

Activations are saved under Glassbox's (TransformerLens's) hook names, so that tests can compare
each hook point. Usage: /usr/bin/python3 scripts/hf_fixtures.py [out_dir] (default src/fixtures/hf).
`--bench <dir>` instead writes a random GPT-2-small-sized folder and times PyTorch CPU on it (see
scripts/load-bench.ts).
"""

import json
import math
import os
import struct
import sys

import torch

torch.manual_seed(0)
BATCH, POS = 2, 6

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def tensor_bytes(t):
    t = t.contiguous().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def write_folder(folder, config, weights, dtype=torch.float32, shards=1):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    cast = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in weights.items()}
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), cast, {"format": "pt"})
        return
    names = sorted(cast)
    weight_map = {}
    total = 0
    for s in range(shards):
        part = names[s::shards]
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(os.path.join(folder, file), {n: cast[n] for n in part}, {"format": "pt"})
        for n in part:
            weight_map[n] = file
            total += cast[n].numel() * cast[n].element_size()
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def rand(*shape, std=0.2):
    return torch.randn(*shape) * std


def layer_norm(x, w, b, eps, acts, name):
    mean = x.mean(-1, keepdim=True)
    centered = x - mean
    scale = torch.sqrt((centered * centered).mean(-1, keepdim=True) + eps)
    out = torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)
    acts[f"{name}.hook_scale"] = scale
    acts[f"{name}.hook_normalized"] = out
    return out


def causal_attention(q, k, v, scale, acts, prefix):
    """q, k, v: [batch, pos, head, d_head] -> z [batch, pos, head, d_head]."""
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / scale
    pos = q.shape[1]
    mask = torch.ones(pos, pos, dtype=torch.bool).tril()
    acts[f"{prefix}.hook_attn_scores"] = scores.masked_fill(~mask, float("-inf"))
    # Hugging Face fills masked scores with the dtype's minimum rather than -inf; the softmax is the same.
    pattern = torch.softmax(torch.where(mask, scores, torch.tensor(torch.finfo(scores.dtype).min)), dim=-1)
    acts[f"{prefix}.hook_pattern"] = pattern
    z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
    acts[f"{prefix}.hook_z"] = z
    return z


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


# ---------------------------------------------------------------------------------------- GPT-2


def gpt2_weights(cfg, prefix=""):
    d, v, n_pos = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    inner = cfg["n_inner"] or 4 * d
    w = {f"{prefix}wte.weight": rand(v, d), f"{prefix}wpe.weight": rand(n_pos, d, std=0.1)}
    for i in range(cfg["n_layer"]):
        p = f"{prefix}h.{i}."
        w[p + "ln_1.weight"] = 1 + rand(d, std=0.1)
        w[p + "ln_1.bias"] = rand(d, std=0.1)
        w[p + "attn.c_attn.weight"] = rand(d, 3 * d)
        w[p + "attn.c_attn.bias"] = rand(3 * d, std=0.1)
        w[p + "attn.c_proj.weight"] = rand(d, d)
        w[p + "attn.c_proj.bias"] = rand(d, std=0.1)
        # The causal-mask buffer older checkpoints carry; loaders must ignore it.
        w[p + "attn.bias"] = torch.ones(n_pos, n_pos).tril().view(1, 1, n_pos, n_pos)
        w[p + "ln_2.weight"] = 1 + rand(d, std=0.1)
        w[p + "ln_2.bias"] = rand(d, std=0.1)
        w[p + "mlp.c_fc.weight"] = rand(d, inner)
        w[p + "mlp.c_fc.bias"] = rand(inner, std=0.1)
        w[p + "mlp.c_proj.weight"] = rand(inner, d)
        w[p + "mlp.c_proj.bias"] = rand(d, std=0.1)
    w[f"{prefix}ln_f.weight"] = 1 + rand(d, std=0.1)
    w[f"{prefix}ln_f.bias"] = rand(d, std=0.1)
    return w


def gpt2_forward(cfg, w, ids, prefix=""):
    d, h = cfg["n_embd"], cfg["n_head"]
    dh = d // h
    eps = cfg["layer_norm_epsilon"]
    b, pos = ids.shape
    acts = {}
    tok = w[f"{prefix}wte.weight"][ids]
    positions = w[f"{prefix}wpe.weight"][torch.arange(pos)].unsqueeze(0).expand(b, pos, d)
    acts["hook_embed"] = tok
    acts["hook_pos_embed"] = positions
    x = tok + positions
    for i in range(cfg["n_layer"]):
        p = f"{prefix}h.{i}."
        a = f"blocks.{i}"
        acts[f"{a}.hook_resid_pre"] = x
        hn = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps, acts, f"{a}.ln1")
        qkv = hn @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (t.reshape(b, pos, h, dh) for t in qkv.split(d, dim=-1))
        acts[f"{a}.attn.hook_q"], acts[f"{a}.attn.hook_k"], acts[f"{a}.attn.hook_v"] = q, k, v
        z = causal_attention(q, k, v, math.sqrt(dh), acts, f"{a}.attn")
        w_o = w[p + "attn.c_proj.weight"].reshape(h, dh, d)
        acts[f"{a}.attn.hook_result"] = torch.einsum("bqhd,hdm->bqhm", z, w_o)
        attn_out = z.reshape(b, pos, d) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        acts[f"{a}.hook_attn_out"] = attn_out
        x = x + attn_out
        acts[f"{a}.hook_resid_mid"] = x
        hn = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps, acts, f"{a}.ln2")
        pre = hn @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]
        post = gelu_new(pre)
        acts[f"{a}.mlp.hook_pre"], acts[f"{a}.mlp.hook_post"] = pre, post
        mlp_out = post @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        acts[f"{a}.hook_mlp_out"] = mlp_out
        x = x + mlp_out
        acts[f"{a}.hook_resid_post"] = x
    x = layer_norm(x, w[f"{prefix}ln_f.weight"], w[f"{prefix}ln_f.bias"], eps, acts, "ln_final")
    acts["logits"] = x @ w[f"{prefix}wte.weight"].T
    return acts


def gpt2_config(**overrides):
    cfg = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": 96,
        "n_positions": 16,
        "n_embd": 32,
        "n_layer": 2,
        "n_head": 4,
        "n_inner": 64,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5,
        "resid_pdrop": 0.1,
        "embd_pdrop": 0.1,
        "attn_pdrop": 0.1,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "tie_word_embeddings": True,
        "bos_token_id": 95,
        "eos_token_id": 95,
        "torch_dtype": "float32",
    }
    cfg.update(overrides)
    return cfg


# ------------------------------------------------------------------------------------- GPT-NeoX


def neox_weights(cfg):
    d, v, inner = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    h = cfg["num_attention_heads"]
    rd = int((d // h) * cfg["rotary_pct"])
    w = {"gpt_neox.embed_in.weight": rand(v, d), "embed_out.weight": rand(v, d)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + rand(d, std=0.1)
        w[p + "input_layernorm.bias"] = rand(d, std=0.1)
        w[p + "post_attention_layernorm.weight"] = 1 + rand(d, std=0.1)
        w[p + "post_attention_layernorm.bias"] = rand(d, std=0.1)
        w[p + "attention.query_key_value.weight"] = rand(3 * d, d)
        w[p + "attention.query_key_value.bias"] = rand(3 * d, std=0.1)
        w[p + "attention.dense.weight"] = rand(d, d)
        w[p + "attention.dense.bias"] = rand(d, std=0.1)
        # Buffers that older Pythia checkpoints carry; loaders must ignore them.
        w[p + "attention.rotary_emb.inv_freq"] = 1.0 / (cfg["rotary_emb_base"] ** (torch.arange(0, rd, 2).float() / rd))
        w[p + "mlp.dense_h_to_4h.weight"] = rand(inner, d)
        w[p + "mlp.dense_h_to_4h.bias"] = rand(inner, std=0.1)
        w[p + "mlp.dense_4h_to_h.weight"] = rand(d, inner)
        w[p + "mlp.dense_4h_to_h.bias"] = rand(d, std=0.1)
    w["gpt_neox.final_layer_norm.weight"] = 1 + rand(d, std=0.1)
    w["gpt_neox.final_layer_norm.bias"] = rand(d, std=0.1)
    return w


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary(x, rd, base):
    """x: [batch, pos, head, d_head]; turns the first rd features as Hugging Face's GPT-NeoX does."""
    pos = x.shape[1]
    inv_freq = 1.0 / (base ** (torch.arange(0, rd, 2).float() / rd))
    freqs = torch.outer(torch.arange(pos).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
    rot, passthrough = x[..., :rd], x[..., rd:]
    return torch.cat((rot * cos + rotate_half(rot) * sin, passthrough), dim=-1)


def neox_forward(cfg, w, ids):
    d, h = cfg["hidden_size"], cfg["num_attention_heads"]
    dh = d // h
    rd = int(dh * cfg["rotary_pct"])
    eps = cfg["layer_norm_eps"]
    b, pos = ids.shape
    acts = {}
    x = w["gpt_neox.embed_in.weight"][ids]
    acts["hook_embed"] = x
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        a = f"blocks.{i}"
        acts[f"{a}.hook_resid_pre"] = x
        hn = layer_norm(x, w[p + "input_layernorm.weight"], w[p + "input_layernorm.bias"], eps, acts, f"{a}.ln1")
        qkv = hn @ w[p + "attention.query_key_value.weight"].T + w[p + "attention.query_key_value.bias"]
        qkv = qkv.view(b, pos, h, 3 * dh)
        q, k, v = qkv[..., :dh], qkv[..., dh : 2 * dh], qkv[..., 2 * dh :]
        acts[f"{a}.attn.hook_q"], acts[f"{a}.attn.hook_k"], acts[f"{a}.attn.hook_v"] = q, k, v
        q = apply_rotary(q, rd, cfg["rotary_emb_base"])
        k = apply_rotary(k, rd, cfg["rotary_emb_base"])
        acts[f"{a}.attn.hook_rot_q"], acts[f"{a}.attn.hook_rot_k"] = q, k
        z = causal_attention(q, k, v, math.sqrt(dh), acts, f"{a}.attn")
        dense = w[p + "attention.dense.weight"]
        acts[f"{a}.attn.hook_result"] = torch.einsum("bqhd,hdm->bqhm", z, dense.T.reshape(h, dh, d))
        attn_out = z.reshape(b, pos, d) @ dense.T + w[p + "attention.dense.bias"]
        acts[f"{a}.hook_attn_out"] = attn_out
        if cfg["use_parallel_residual"]:
            mlp_in = x
        else:
            mlp_in = x + attn_out
            acts[f"{a}.hook_resid_mid"] = mlp_in
        hn = layer_norm(mlp_in, w[p + "post_attention_layernorm.weight"], w[p + "post_attention_layernorm.bias"], eps, acts, f"{a}.ln2")
        pre = hn @ w[p + "mlp.dense_h_to_4h.weight"].T + w[p + "mlp.dense_h_to_4h.bias"]
        post = torch.nn.functional.gelu(pre)
        acts[f"{a}.mlp.hook_pre"], acts[f"{a}.mlp.hook_post"] = pre, post
        mlp_out = post @ w[p + "mlp.dense_4h_to_h.weight"].T + w[p + "mlp.dense_4h_to_h.bias"]
        acts[f"{a}.hook_mlp_out"] = mlp_out
        x = x + attn_out + mlp_out if cfg["use_parallel_residual"] else mlp_in + mlp_out
        acts[f"{a}.hook_resid_post"] = x
    x = layer_norm(x, w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"], eps, acts, "ln_final")
    acts["logits"] = x @ w["embed_out.weight"].T
    return acts


def neox_config(**overrides):
    cfg = {
        "architectures": ["GPTNeoXForCausalLM"],
        "model_type": "gpt_neox",
        "vocab_size": 96,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "hidden_act": "gelu",
        "rotary_pct": 0.25,
        "rotary_emb_base": 10000,
        "max_position_embeddings": 16,
        "layer_norm_eps": 1e-5,
        "use_parallel_residual": True,
        "tie_word_embeddings": False,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "torch_dtype": "float16",
    }
    cfg.update(overrides)
    return cfg


# ------------------------------------------------------------------------------------------ main


def rounded(weights, dtype):
    """The weights as a loader sees them after widening a `dtype` file back to float32."""
    return {k: (v.to(dtype).float() if v.is_floating_point() else v) for k, v in weights.items()}


def save_reference(path, acts, ids, keep=None):
    out = {"tokens": ids}
    for name, value in acts.items():
        if keep is None or keep(name):
            out[name] = value.float().contiguous()
    write_safetensors(path, out)


def read_safetensors(path):
    """Reads a float32 safetensors file into torch tensors (the PyTorch side of the benchmark)."""
    import warnings

    import numpy as np

    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data, dtype=np.float32, count=(end - begin) // 4, offset=begin).reshape(entry["shape"]))
    return out


def bench(folder, pos=128, reps=5):
    """Writes a random GPT-2-small-sized folder, then times PyTorch CPU loading it and running it."""
    import resource
    import time

    cfg = gpt2_config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, n_inner=None, bos_token_id=50256, eos_token_id=50256)
    with torch.no_grad():
        w = gpt2_weights(cfg)
        w = {k: v for k, v in w.items() if not k.endswith(".attn.bias")}
        write_folder(folder, cfg, w)
        del w
        start = time.perf_counter()
        w = read_safetensors(os.path.join(folder, "model.safetensors"))
        load_s = time.perf_counter() - start
        ids = torch.randint(0, cfg["vocab_size"], (1, pos))
        gpt2_forward(cfg, w, ids)
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            gpt2_forward(cfg, w, ids)
            times.append(time.perf_counter() - start)
    times.sort()
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_s": load_s,
        "forward_s": times[len(times) // 2],
        "tokens_per_s": pos / times[len(times) // 2],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--bench":
        bench(sys.argv[2])
        return
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src", "fixtures", "hf")
    os.makedirs(out, exist_ok=True)
    ids = torch.randint(0, 96, (BATCH, POS))
    only_ends = lambda name: name == "logits" or name.endswith("hook_resid_post")  # noqa: E731

    with torch.no_grad():
        cfg = gpt2_config()
        w = gpt2_weights(cfg)
        write_folder(os.path.join(out, "gpt2-tiny"), cfg, w)
        save_reference(os.path.join(out, "gpt2-tiny.reference.safetensors"), gpt2_forward(cfg, w, ids), ids)

        # Sharded, float16, with the "transformer." prefix a GPT2LMHeadModel saves.
        cfg = gpt2_config(torch_dtype="float16")
        w = gpt2_weights(cfg, prefix="transformer.")
        write_folder(os.path.join(out, "gpt2-tiny-sharded-f16"), cfg, w, dtype=torch.float16, shards=2)
        acts = gpt2_forward(cfg, rounded(w, torch.float16), ids, prefix="transformer.")
        save_reference(os.path.join(out, "gpt2-tiny-sharded-f16.reference.safetensors"), acts, ids, only_ends)

        cfg = neox_config()
        w = neox_weights(cfg)
        write_folder(os.path.join(out, "pythia-tiny"), cfg, w)
        save_reference(os.path.join(out, "pythia-tiny.reference.safetensors"), neox_forward(cfg, w, ids), ids)

        # Sequential residual, bfloat16.
        cfg = neox_config(use_parallel_residual=False, torch_dtype="bfloat16", rotary_pct=0.5)
        w = neox_weights(cfg)
        write_folder(os.path.join(out, "pythia-tiny-sequential-bf16"), cfg, w, dtype=torch.bfloat16)
        acts = neox_forward(cfg, rounded(w, torch.bfloat16), ids)
        save_reference(os.path.join(out, "pythia-tiny-sequential-bf16.reference.safetensors"), acts, ids, only_ends)
    print(f"wrote fixtures to {out}")


if __name__ == "__main__":
    main()
