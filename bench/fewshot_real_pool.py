#!/usr/bin/env python3
"""
Image pools and seeded episodes for the real-backbone few-shot benchmark (bench/fewshot-real.ts).

Writes, under ~/.cache/metascope/bench (never into the repository):
  <dataset>-<size>/<Class>/<NNN>.png   the pool, already at the model's input size (so neither side resizes)
  <dataset>-<size>/pixels.npy          the same pixels, uint8 [N, size, size, 3], in pool order (the tfjs reference reads these)
  <dataset>/pool.json                  classes and the file names per class (pool order = class by class)
  <dataset>/episodes.json              per shots: episodes of per-class pool indices (support, query)

Datasets:
  fashion-mnist  Fashion-MNIST classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot), a seeded draw of
                 --fmnist-per-class images per class from the test file (Debian dataset-fashion-mnist),
                 28x28 grey upscaled bilinearly to the size and repeated to RGB.
  gcompris       photographs (Wikimedia Commons, as credited in each folder's README) that GCompris's
                 educational activities ship in Debian's gcompris-qt-data, grouped by the activity's own
                 categories: fishes, monuments, renewable-energy (dams, solar panels, windmills) and tools
                 from "categorization", animals from "erase" (wild and farm animals). Every image of each
                 category (27-39 per class); scaled so the shorter side is the size, centre-cropped.
                 65 of them embed an ICC colour profile: they are converted to sRGB here and written
                 without one, so a decoder that colour-manages (Metascope's, via sharp) and one that
                 does not (numpy here, the tfjs reference) see the same pixel values.
                 The package is read from /usr/share/gcompris-qt when installed, else downloaded with
                 `apt-get download` into the cache and unpacked there (not installed).

Usage: /usr/bin/python3 bench/fewshot_real_pool.py [--sizes 224,299] [--episodes 100] [--queries 15] [--seed 0]
"""
import argparse
import gzip
import io
import json
import os
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

CACHE = Path.home() / '.cache' / 'metascope' / 'bench'
FMNIST_DIR = Path(os.environ.get('METASCOPE_FASHION_MNIST_DIR', '/usr/share/datasets/fashion-mnist'))
FMNIST_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']
GCOMPRIS_CLASSES = {
    # class -> (rcc file, folder inside it)
    'animals': ('erase.rcc', 'gcompris/src/activities/erase/resource'),
    'fishes': ('categorization.rcc', 'gcompris/src/activities/categorization/resource/images/fishes'),
    'monuments': ('categorization.rcc', 'gcompris/src/activities/categorization/resource/images/monuments'),
    'renewable-energy': ('categorization.rcc', 'gcompris/src/activities/categorization/resource/images/renewable'),
    'tools': ('categorization.rcc', 'gcompris/src/activities/categorization/resource/images/tools'),
}
PHOTO_EXT = ('.webp', '.jpg', '.jpeg', '.png')


def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    magic, n = struct.unpack('>II', data[:8])
    if magic == 2051:
        h, w = struct.unpack('>II', data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, h, w)
    return np.frombuffer(data, np.uint8, offset=8)


def read_rcc(path):
    """The files of a Qt resource (.rcc) file as {path: bytes} (format versions 1-3, zlib or zstd entries)."""
    d = Path(path).read_bytes()
    if d[:4] != b'qres':
        raise ValueError(f'{path} is not a Qt resource file')
    version, tree, data, names = struct.unpack('>IIII', d[4:20])
    entry = 14 if version == 1 else 22

    def name(off):
        n = struct.unpack('>H', d[names + off:names + off + 2])[0]
        return d[names + off + 6:names + off + 6 + 2 * n].decode('utf-16-be')

    out = {}

    def walk(i, prefix):
        e = tree + i * entry
        noff, flags = struct.unpack('>IH', d[e:e + 6])
        p = f'{prefix}/{name(noff)}' if i else ''
        if flags & 2:
            count, first = struct.unpack('>II', d[e + 6:e + 14])
            for c in range(first, first + count):
                walk(c, p)
            return
        doff = struct.unpack('>I', d[e + 10:e + 14])[0]
        size = struct.unpack('>I', d[data + doff:data + doff + 4])[0]
        blob = d[data + doff + 4:data + doff + 4 + size]
        if flags & 1:
            blob = zlib.decompress(blob[4:])
        elif flags & 4:
            blob = subprocess.run(['zstd', '-d', '-c'], input=blob, capture_output=True, check=True).stdout
        out[p.lstrip('/')] = blob

    walk(0, '')
    return out


def gcompris_rcc_dir():
    installed = Path('/usr/share/gcompris-qt/rcc')
    if (installed / 'categorization.rcc').exists():
        return installed
    pkg = CACHE / 'gcompris-qt-data'
    unpacked = pkg / 'x' / 'usr/share/gcompris-qt/rcc'
    if not (unpacked / 'categorization.rcc').exists():
        pkg.mkdir(parents=True, exist_ok=True)
        subprocess.run(['apt-get', 'download', 'gcompris-qt-data'], cwd=pkg, check=True)
        deb = sorted(pkg.glob('gcompris-qt-data_*.deb'))[-1]
        subprocess.run(['dpkg-deb', '-x', str(deb), str(pkg / 'x')], check=True)
    return unpacked


def to_srgb(im):
    """RGB pixels in sRGB, with no embedded profile left (an embedded ICC profile is applied first)."""
    icc = im.info.get('icc_profile')
    im = im.convert('RGB')
    if icc:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        im = ImageCms.profileToProfile(im, src, ImageCms.createProfile('sRGB'), outputMode='RGB')
    im.info.pop('icc_profile', None)
    return im


def square(im, size):
    """Shorter side to `size`, then the centre `size` x `size`."""
    w, h = im.size
    s = size / min(w, h)
    im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BICUBIC)
    w, h = im.size
    left, top = (w - size) // 2, (h - size) // 2
    return im.crop((left, top, left + size, top + size))


def fashion_mnist(per_class, rng):
    images = read_idx(FMNIST_DIR / 't10k-images-idx3-ubyte.gz')
    labels = read_idx(FMNIST_DIR / 't10k-labels-idx1-ubyte.gz')
    classes = {}
    for c in range(5, 10):
        idx = np.flatnonzero(labels == c)
        pick = np.sort(rng.choice(idx, per_class, replace=False))
        classes[FMNIST_LABELS[c]] = [(f't10k-{i:05d}', Image.fromarray(images[i], 'L')) for i in pick]
    return classes, 'bilinear'


def gcompris():
    rcc_dir = gcompris_rcc_dir()
    files = {}
    classes = {}
    for cls, (rcc, folder) in GCOMPRIS_CLASSES.items():
        if rcc not in files:
            files[rcc] = read_rcc(rcc_dir / rcc)
        names = sorted(p for p in files[rcc] if p.startswith(folder + '/') and '/' not in p[len(folder) + 1:] and p.lower().endswith(PHOTO_EXT))
        classes[cls] = [(Path(p).stem, to_srgb(Image.open(io.BytesIO(files[rcc][p])))) for p in names]
    return classes, 'crop'


def write_pool(name, classes, how, sizes):
    root = CACHE / name
    root.mkdir(parents=True, exist_ok=True)
    pool = {'dataset': name, 'classes': list(classes), 'files': {c: [f'{i:03d}-{stem}.png' for i, (stem, _) in enumerate(items)] for c, items in classes.items()}}
    (root / 'pool.json').write_text(json.dumps(pool, indent=1))
    for size in sizes:
        out = CACHE / f'{name}-{size}'
        pixels = []
        for c, items in classes.items():
            d = out / c
            d.mkdir(parents=True, exist_ok=True)
            for fname, (_, im) in zip(pool['files'][c], items):
                im = im.resize((size, size), Image.BILINEAR).convert('RGB') if how == 'bilinear' else square(im, size)
                im.info.pop('icc_profile', None)
                im.save(d / fname)
                # Read back what was written: the reference side sees exactly the PNG's pixels.
                pixels.append(np.asarray(Image.open(d / fname).convert('RGB')))
        np.save(out / 'pixels.npy', np.stack(pixels))
        print(f'{out}: {len(pixels)} images')
    return pool


def write_episodes(name, pool, shots_list, episodes, queries, seed):
    """Per shots, `episodes` draws: each class gets shots + queries distinct pool images (support first)."""
    rng = np.random.default_rng(seed)
    counts = [len(pool['files'][c]) for c in pool['classes']]
    out = {'dataset': name, 'classes': pool['classes'], 'seed': seed, 'queries': queries, 'episodes': {}}
    for shots in shots_list:
        if shots + queries > min(counts):
            raise SystemExit(f'{name}: {shots} shots + {queries} queries need {shots + queries} images per class, the smallest class has {min(counts)}')
        eps = []
        for _ in range(episodes):
            draw = [rng.choice(n, shots + queries, replace=False).tolist() for n in counts]
            eps.append({'support': [d[:shots] for d in draw], 'query': [d[shots:] for d in draw]})
        out['episodes'][str(shots)] = eps
    (CACHE / name / 'episodes.json').write_text(json.dumps(out))
    print(f'{CACHE / name / "episodes.json"}: {episodes} episodes x shots {shots_list}, {queries} queries per class')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', default='224')
    ap.add_argument('--datasets', default='fashion-mnist,gcompris')
    ap.add_argument('--fmnist-per-class', type=int, default=40)
    ap.add_argument('--episodes', type=int, default=100)
    ap.add_argument('--queries', type=int, default=15)
    ap.add_argument('--shots', default='1,5')
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(',')]
    shots = [int(s) for s in a.shots.split(',')]
    for name in a.datasets.split(','):
        rng = np.random.default_rng(a.seed)
        classes, how = fashion_mnist(a.fmnist_per_class, rng) if name == 'fashion-mnist' else gcompris()
        pool = write_pool(name, classes, how, sizes)
        write_episodes(name, pool, shots, a.episodes, a.queries, a.seed)


if __name__ == '__main__':
    main()
