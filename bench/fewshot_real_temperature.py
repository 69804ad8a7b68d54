#!/usr/bin/env python3
"""
Why Proto-MAML trails logistic regression on real pretrained features, and what would close the gap:
a numpy replay of Proto-MAML's head adaptation (prototype head W = 2c, b = -|c|^2, then plain gradient
steps on the softmax cross-entropy of the support set, as the product's ANIL/Proto-MAML test-time graph
takes them) on the reference features of bench/fewshot-real-tfjs.ts, over the same seeded episodes.

With scale 1 and 10 steps at 0.1 it reproduces the product's Proto-MAML to the decimal (67.9 / 51.5 on
mobilenet_v2, unit, 5-shot): the prototype head starts saturated (|f|^2 ~ 76), so the steps lower the
support loss without moving a query prediction. Scaling the starting head by a temperature (1 / mean
|f|^2 of the support set, or 1 / the mean squared distance to the own prototype) lets the steps work.

Usage (after bench/fewshot_real_pool.py and bench/fewshot-real-tfjs.ts):
    /usr/bin/python3 bench/fewshot_real_temperature.py [--model mobilenet_v2] [--shots 5]
"""
import argparse
import json

import numpy as np

from fewshot_real_ref import BENCH, episode_sets, nearest_centroid


def proto_steps(xs, ys, xq, ways, scale, steps, rate):
    """Query predictions after `steps` gradient steps from the prototype head scaled by `scale`."""
    c = np.stack([xs[ys == k].mean(0) for k in range(ways)])
    w, b = 2 * c * scale, -(c * c).sum(1) * scale
    onehot = np.eye(ways)[ys]
    for _ in range(steps):
        z = xs @ w.T + b
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / len(xs)
        w -= rate * g.T @ xs
        b -= rate * g.sum(0)
    return (xq @ w.T + b).argmax(1)


SCALES = {
    '1 (today)': lambda xs, c, ys: 1.0,
    '1/mean|f|^2': lambda xs, c, ys: 1 / (xs ** 2).sum(1).mean(),
    '1/mean d^2': lambda xs, c, ys: 1 / ((xs - c[ys]) ** 2).sum(1).mean(),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='mobilenet_v2')
    ap.add_argument('--tensor', default='flatten_1')
    ap.add_argument('--normalization', default='unit')
    ap.add_argument('--shots', default='5')
    ap.add_argument('--rate', type=float, default=0.1)
    a = ap.parse_args()
    for ds in ['fashion-mnist', 'gcompris']:
        pool = json.loads((BENCH / ds / 'pool.json').read_text())
        eps = json.loads((BENCH / ds / 'episodes.json').read_text())['episodes'][a.shots]
        counts = [len(pool['files'][c]) for c in pool['classes']]
        off = np.concatenate([[0], np.cumsum(counts)[:-1]])
        ways = len(counts)
        x = np.load(BENCH / 'features' / a.model / ds / a.normalization / f'{a.tensor}.npy').astype(np.float64)
        rows = {'NC': []}
        for ep in eps:
            si, sy, qi, qy = episode_sets(ep, off)
            xs = x[si]
            c = np.stack([xs[sy == k].mean(0) for k in range(ways)])
            rows['NC'].append((nearest_centroid(xs, sy, x[qi], ways) == qy).mean())
            for name, rule in SCALES.items():
                for steps in (10, 50, 100):
                    rows.setdefault(f'{name}, {steps} steps', []).append((proto_steps(xs, sy, x[qi], ways, rule(xs, c, sy), steps, a.rate) == qy).mean())
        print(f'{a.model} {ds} {a.normalization} {a.tensor} {a.shots}-shot, {len(eps)} episodes, rate {a.rate}')
        for name, accs in rows.items():
            print(f'  {name:28s} {100 * np.mean(accs):5.1f} ± {196 * np.std(accs, ddof=1) / np.sqrt(len(accs)):.1f}')


if __name__ == '__main__':
    main()
