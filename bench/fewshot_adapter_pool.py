#!/usr/bin/env python3
"""
Image folders for the adapter benchmark (bench/fewshot-adapter.ts): Fashion-MNIST classes written as PNG
files at the model's size exactly as bench/fewshot_real_pool.py writes its pool (28x28 grey upscaled
bilinearly with PIL, repeated to RGB), so meta-training and test images go through the same resampling.

Writes, under ~/.cache/metascope/bench (never into the repository):
  fashion-mnist-train<a>to<b>-<size>/<Class>/<NNN>.png   --per-class seeded images of each class from the
                                                         *train* file (meta-training folders)
  fashion-mnist-test<a>to<b>-<size>/<Class>/<NNN>.png    --test-per-class images from the *test* file
                                                         (the second split's test pool)
Class folders are the labels made folder-safe (T-shirt/top -> T-shirt_top).

Usage: /usr/bin/python3 bench/fewshot_adapter_pool.py [--classes 0-4] [--per-class 100] [--test-per-class 40] [--size 224] [--seed 0]
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from fewshot_real_pool import CACHE, FMNIST_DIR, FMNIST_LABELS, read_idx  # noqa: E402


def write(split, first, last, per_class, size, seed):
    images = read_idx(FMNIST_DIR / f'{split}-images-idx3-ubyte.gz')
    labels = read_idx(FMNIST_DIR / f'{split}-labels-idx1-ubyte.gz')
    rng = np.random.default_rng(seed)
    root = CACHE / f'fashion-mnist-{"train" if split == "train" else "test"}{first}to{last}-{size}'
    for c in range(first, last + 1):
        d = root / FMNIST_LABELS[c].replace('/', '_')
        d.mkdir(parents=True, exist_ok=True)
        pick = np.sort(rng.choice(np.flatnonzero(labels == c), per_class, replace=False))
        for k, i in enumerate(pick):
            Image.fromarray(images[i], 'L').resize((size, size), Image.BILINEAR).convert('RGB').save(d / f'{k:03d}-{split}-{i:05d}.png')
    print(f'{root}: {last - first + 1} classes x {per_class} images')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--classes', default='0-4')
    ap.add_argument('--per-class', type=int, default=100)
    ap.add_argument('--test-per-class', type=int, default=40)
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    first, last = (int(x) for x in a.classes.split('-'))
    write('train', first, last, a.per_class, a.size, a.seed)
    if a.test_per_class:
        write('t10k', first, last, a.test_per_class, a.size, a.seed)


if __name__ == '__main__':
    main()
