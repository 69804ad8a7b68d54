"""PyTorch eager timings of Integrated Gradients and SmoothGrad, the baselines for
bench/attribution-bench.ts. Prints one JSON line.

Usage: /usr/bin/python3 bench/torch_attribution.py MODEL METHOD N ITERS THREADS [MODES]
MODEL: a torchvision classifier (resnet50, mobilenet_v2; random seeded weights, never downloaded).
METHOD: integratedgradients (N steps, Gauss-Legendre, black baseline) or smoothgrad (N samples, noise
0.15 of the image's range). MODES: comma-separated subset of minimal,loop (default both).

- minimal: the fastest eager form we could write, what bench/attribution-bench.ts gates on: every path
  point (or noisy copy) in ONE batch, torch.autograd.grad of the target scores to the input only (no
  weight gradients), the image's and the baseline's scores from one no-grad forward pass.
- loop: what Captum-style user code often does (and Captum itself with internal_batch_size=1 or
  nt_samples_batch_size=1): one forward and one loss.backward() per step, the model's parameters
  requiring grad as loaded (so every weight gradient is computed too), the input gradient accumulated.
Both are per image (batch 1), at 224 x 224, eval mode; milliseconds per image, median over ITERS after
one warm-up.
"""
import json
import statistics
import sys
import time

import numpy as np
import torch
import torchvision


def main():
    name, method, n, iters, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    modes = sys.argv[6].split(',') if len(sys.argv) > 6 else ['minimal', 'loop']
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)().eval()
    x = torch.randn(1, 3, 224, 224)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    baseline = (torch.zeros(1, 3, 224, 224) - mean) / std
    nodes, weights = np.polynomial.legendre.leggauss(n)
    alphas = torch.tensor(0.5 * (nodes + 1), dtype=torch.float32).view(-1, 1, 1, 1)
    w = torch.tensor(0.5 * weights, dtype=torch.float32).view(-1, 1, 1, 1)
    sigma = 0.15 * (x.max() - x.min())
    noise = torch.randn(n, 3, 224, 224) * sigma

    def points():
        return baseline + alphas * (x - baseline) if method == 'integratedgradients' else x + noise

    def finish(grads):
        if method == 'integratedgradients':
            attr = (x - baseline)[0] * (w * grads).sum(0)
            return attr.sum(0)
        return grads.mean(0).abs().amax(0)

    def minimal():
        with torch.no_grad():
            ends = model(torch.cat([x, baseline]))
        target = int(ends[0].argmax())
        p = points().requires_grad_(True)
        (g,) = torch.autograd.grad(model(p)[:, target].sum(), p)
        with torch.no_grad():
            return finish(g), ends[0, target] - ends[1, target]

    def loop():
        target = int(model(x).argmax(1))
        grads = []
        for p in points():
            p = p[None].clone().requires_grad_(True)
            model.zero_grad()
            model(p)[0, target].backward()
            grads.append(p.grad[0])
        with torch.no_grad():
            return finish(torch.stack(grads))

    fns = {'minimal': minimal, 'loop': loop}
    times = {k: [] for k in modes}
    for i in range(iters + 1):
        for k in modes:
            t = time.perf_counter()
            fns[k]()
            if i >= 1:
                times[k].append((time.perf_counter() - t) * 1000)
    med = {k: round(statistics.median(v), 1) for k, v in times.items()}
    print(json.dumps({'model': name, 'method': method, 'n': n, 'threads': threads, 'torch': torch.__version__,
                      'torch_minimal_ms_per_image': med.get('minimal'), 'torch_loop_ms_per_image': med.get('loop')}))


if __name__ == '__main__':
    main()
