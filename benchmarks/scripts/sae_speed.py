"""The PyTorch peer of the sae-speed benchmark: one TopK SAE training step, dense, on the CPU.

The step matches the other contenders: x - b_dec, encoder matmul plus bias, top-k, ReLU, scattered
into dense latents, dense decoder matmul plus b_dec, summed squared error over d_in averaged over
the batch, backward, decoder gradient projected off each unit-norm row, Adam, rows renormalised.
That is how SAELens trains a TopK SAE.

It reads the initial weights and the batch as raw float32 files written by the benchmark, so every
contender starts from the same numbers and their first losses can be compared. Then it prints one
JSON line describing torch (version, intra-op threads and why, the BLAS library loaded, measured
matmul GFLOP/s at the encoder's shape), and answers each line "N" on stdin with one JSON line: the
seconds, CPU seconds and loss of N more steps. Torch's default thread count is kept unless
--threads is given.

  python3 sae_speed.py --dir DIR --batch 4096 --d-in 512 --d-sae 8192 --k 32 < steps
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch


def loaded_blas():
    """Shared libraries with 'blas' in their name mapped into this process (Linux only)."""
    try:
        with open('/proc/self/maps') as maps:
            paths = {line.split()[-1] for line in maps if 'blas' in line.lower() and '/' in line}
    except OSError:
        return []
    return sorted(paths)


def matmul_gflops(m, k, n, reps=3):
    a = torch.randn(m, k)
    b = torch.randn(k, n)
    a @ b
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    times.sort()
    return 2 * m * k * n / times[len(times) // 2] / 1e9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--dir', required=True, help='folder holding w_dec.f32 and x.f32')
    parser.add_argument('--batch', type=int, default=4096)
    parser.add_argument('--d-in', type=int, default=512)
    parser.add_argument('--d-sae', type=int, default=8192)
    parser.add_argument('--k', type=int, default=32)
    parser.add_argument('--lr', type=float, default=1e-4)
    parser.add_argument('--threads', type=int, default=0, help='intra-op threads; 0 keeps torch\'s default')
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    batch, d_in, d_sae, k = args.batch, args.d_in, args.d_sae, args.k

    w_dec = np.fromfile(os.path.join(args.dir, 'w_dec.f32'), dtype=np.float32).reshape(d_sae, d_in)
    x = torch.from_numpy(np.fromfile(os.path.join(args.dir, 'x.f32'), dtype=np.float32).reshape(batch, d_in))
    W_dec = torch.tensor(w_dec, requires_grad=True)
    W_enc = torch.tensor(w_dec.T.copy(), requires_grad=True)
    b_enc = torch.zeros(d_sae, requires_grad=True)
    b_dec = torch.zeros(d_in, requires_grad=True)
    optimizer = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=args.lr, betas=(0.9, 0.999), eps=1e-8)

    def step():
        xc = x - b_dec
        pre = xc @ W_enc + b_enc
        top = pre.topk(k, dim=1, sorted=False)
        latents = torch.zeros_like(pre).scatter_(1, top.indices, top.values.relu())
        recon = latents @ W_dec + b_dec
        loss = (recon - x).pow(2).sum() / batch
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            g = W_dec.grad
            g.sub_((g * W_dec).sum(1, keepdim=True) / (W_dec * W_dec).sum(1, keepdim=True) * W_dec)
        optimizer.step()
        with torch.no_grad():
            W_dec.div_(W_dec.norm(dim=1, keepdim=True))
        return loss.item()

    gflops = matmul_gflops(4096, 512, 8192)
    info = {
        'torch': torch.__version__,
        'numThreads': torch.get_num_threads(),
        'threadsForced': args.threads > 0,
        'cpuCount': os.cpu_count(),
        'ompNumThreads': os.environ.get('OMP_NUM_THREADS'),
        'blasInfo': next((part.split('=', 1)[1] for part in torch.__config__.show().replace(',', ' ').split() if part.startswith('BLAS_INFO=')), None),
        'blasLibraries': loaded_blas(),
        'matmulShape': [4096, 512, 8192],
        'matmulGflops': gflops,
    }
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        n = int(line.strip() or '0')
        seconds, cpu, losses = [], [], []
        for _ in range(n):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            losses.append(step())
            seconds.append(time.perf_counter() - wall0)
            cpu.append(time.process_time() - cpu0)
        print(json.dumps({'seconds': seconds, 'cpuSeconds': cpu, 'losses': losses}), flush=True)


if __name__ == '__main__':
    main()
