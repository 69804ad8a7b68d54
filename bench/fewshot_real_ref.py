#!/usr/bin/env python3
"""
Independent baselines for the real-backbone few-shot benchmark (bench/fewshot-real.ts), in numpy only:
nearest-centroid and logistic regression on the features the original framework's own predict gave
(bench/fewshot-real-tfjs.ts: tfjs `predict` of the truncated model), over the same seeded episodes
(bench/fewshot_real_pool.py's episodes.json), 5-way.

- nearest-centroid (NC): each class's mean support feature; a query goes to the nearest mean in
  squared Euclidean distance (ProtoNet's rule on frozen features).
- logistic regression (LR): multinomial, L2 on the weights only (not the intercepts), scikit-learn's
  LogisticRegression objective with its defaults: 0.5 * ||W||^2 + C * sum_i CE_i with C = 1, on the raw
  features (no scaling). scikit-learn is not installed with Debian's python3 here, so it is minimised
  with a small L-BFGS (two-loop recursion, Armijo backtracking) in float64 to a gradient norm of 1e-6
  relative to the starting one (at most 2000 iterations): the same unique minimum scikit-learn's lbfgs
  solver converges to.

Writes one JSON per model under ~/.cache/metascope/bench/results/ref-<model>.json: per dataset,
normalisation, tensor and shots the per-episode accuracies, their mean and 95% interval.

Usage: /usr/bin/python3 bench/fewshot_real_ref.py [--models mobilenet_v2,mobilenet_v2_mid]
"""
import argparse
import json
import os
import re
import time
from pathlib import Path

import numpy as np

BENCH = Path(os.environ.get('METASCOPE_BENCH_DIR', Path.home() / '.cache' / 'metascope' / 'bench'))


def feature_file(tensor):
    return re.sub(r'[^A-Za-z0-9_.-]', '_', tensor)


def nearest_centroid(xs, ys, xq, ways):
    means = np.stack([xs[ys == c].mean(0) for c in range(ways)])
    d = ((xq[:, None, :] - means[None]) ** 2).sum(-1)
    return d.argmin(1)


def logreg_fit(x, y, ways, C=1.0, max_iter=2000, rtol=1e-6, memory=10):
    n, f = x.shape
    onehot = np.eye(ways)[y]

    def loss_grad(theta):
        w = theta[: ways * f].reshape(ways, f)
        b = theta[ways * f:]
        z = x @ w.T + b
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        p = np.exp(logp)
        loss = 0.5 * (w * w).sum() - C * (onehot * logp).sum()
        g = C * (p - onehot)
        gw = g.T @ x + w
        gb = g.sum(0)
        return loss, np.concatenate([gw.ravel(), gb])

    theta = np.zeros(ways * f + ways)
    loss, g = loss_grad(theta)
    g0 = np.linalg.norm(g)
    s_hist, y_hist = [], []
    for _ in range(max_iter):
        if np.linalg.norm(g) <= rtol * g0:
            break
        # Two-loop recursion: direction = -H g.
        q = g.copy()
        alphas = []
        for s, yv in reversed(list(zip(s_hist, y_hist))):
            a = s @ q / (yv @ s)
            alphas.append(a)
            q -= a * yv
        if s_hist:
            q *= (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1])
        for (s, yv), a in zip(zip(s_hist, y_hist), reversed(alphas)):
            q += s * (a - (yv @ q) / (yv @ s))
        d = -q
        if g @ d >= 0:
            d = -g
            s_hist, y_hist = [], []
        step = 1.0
        while True:
            new = theta + step * d
            nl, ng = loss_grad(new)
            if nl <= loss + 1e-4 * step * (g @ d) or step < 1e-12:
                break
            step *= 0.5
        s, yv = new - theta, ng - g
        if s @ yv > 1e-12:
            s_hist.append(s)
            y_hist.append(yv)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
        theta, loss, g = new, nl, ng
    return theta[: ways * f].reshape(ways, f), theta[ways * f:]


def logreg(xs, ys, xq, ways):
    w, b = logreg_fit(xs.astype(np.float64), ys, ways)
    return (xq.astype(np.float64) @ w.T + b).argmax(1)


def episode_sets(ep, offsets):
    """Pool rows and labels of an episode's support and query (per-class pool indices -> rows)."""
    rows = lambda part: np.concatenate([offsets[c] + np.asarray(ix, int) for c, ix in enumerate(ep[part])])
    labels = lambda part: np.concatenate([np.full(len(ix), c) for c, ix in enumerate(ep[part])])
    return rows('support'), labels('support'), rows('query'), labels('query')


def summary(accs):
    a = np.asarray(accs)
    return {'mean': float(a.mean()), 'ci95': float(1.96 * a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else 0.0, 'episodes': len(a), 'per_episode': [float(x) for x in a]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--models', default='mobilenet_v2,mobilenet_v2_mid')
    ap.add_argument('--datasets', default='fashion-mnist,gcompris')
    a = ap.parse_args()
    out_dir = BENCH / 'results'
    out_dir.mkdir(parents=True, exist_ok=True)
    for model in a.models.split(','):
        result = {'model': model, 'source': 'tfjs predict of the truncated model (bench/fewshot-real-tfjs.ts)', 'rows': []}
        for dataset in a.datasets.split(','):
            pool = json.loads((BENCH / dataset / 'pool.json').read_text())
            episodes = json.loads((BENCH / dataset / 'episodes.json').read_text())
            counts = [len(pool['files'][c]) for c in pool['classes']]
            offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
            ways = len(counts)
            feat_root = BENCH / 'features' / model / dataset
            if not feat_root.exists():
                print(f'{feat_root}: no features (run bench/fewshot-real-tfjs.ts)')
                continue
            for norm_dir in sorted(p for p in feat_root.iterdir() if p.is_dir()):
                for npy in sorted(norm_dir.glob('*.npy')):
                    x = np.load(npy)
                    assert x.shape[0] == sum(counts), f'{npy}: {x.shape[0]} rows, pool has {sum(counts)}'
                    for shots, eps in episodes['episodes'].items():
                        t0 = time.time()
                        acc = {'nc': [], 'lr': []}
                        for ep in eps:
                            si, sy, qi, qy = episode_sets(ep, offsets)
                            acc['nc'].append(float((nearest_centroid(x[si], sy, x[qi], ways) == qy).mean()))
                            acc['lr'].append(float((logreg(x[si], sy, x[qi], ways) == qy).mean()))
                        row = {'dataset': dataset, 'normalization': norm_dir.name, 'tensor_file': npy.stem, 'width': int(x.shape[1]), 'mean_sq_norm': float((x.astype(np.float64) ** 2).sum(1).mean()), 'shots': int(shots), 'nc': summary(acc['nc']), 'lr': summary(acc['lr'])}
                        result['rows'].append(row)
                        print(f"{model} {dataset} {norm_dir.name} {npy.stem} {shots}-shot: NC {row['nc']['mean'] * 100:.1f} ± {row['nc']['ci95'] * 100:.1f}, LR {row['lr']['mean'] * 100:.1f} ± {row['lr']['ci95'] * 100:.1f} ({time.time() - t0:.0f} s)")
        (out_dir / f'ref-{model}.json').write_text(json.dumps(result))


if __name__ == '__main__':
    main()
