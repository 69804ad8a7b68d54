"""Builds Metascope's bundled demo: a small CNN trained on Fashion-MNIST, exported to ONNX, plus
40 demo images from the test set; and the few-shot demo: the same CNN trained on classes 0-4 only,
plus images of the 5 classes it never saw (5-9) to teach it.

Run with Debian's Python (python3-torch 1.13, python3-onnx, python3-pil) after
`apt-get install dataset-fashion-mnist`:

    /usr/bin/python3 scripts/demo/make_demo.py

Writes (replacing what is there):
    resources/demo/fashion_cnn.onnx         the model (input 'input' [batch,1,28,28] in [0,1], output 'logits' [batch,10])
    resources/demo/images/<Folder>/<i>.png  4 test images per class, 28x28 greyscale, i = test-set index
    resources/demo/fewshot/fashion_cnn_0to4.onnx    the same CNN trained on classes 0-4 only (output 'logits' [batch,5])
    resources/demo/fewshot/{support,query}/<Folder>/<i>.png   5 + 5 test images of each of classes 5-9

`--only classifier` or `--only fewshot` rebuilds one of the two, leaving the other's files as they are.

Deterministic: seeded, fixed thread count, CPU only; no network access is needed.
"""
import argparse
import gzip
import json
import os
import shutil
import sys
import time

import numpy as np
import torch
from torch import nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT_DIR = os.path.join(ROOT, 'resources', 'demo')
MODEL_PATH = os.path.join(OUT_DIR, 'fashion_cnn.onnx')
IMAGES_DIR = os.path.join(OUT_DIR, 'images')
FEWSHOT_DIR = os.path.join(OUT_DIR, 'fewshot')
FEWSHOT_MODEL_PATH = os.path.join(FEWSHOT_DIR, 'fashion_cnn_0to4.onnx')
DEFAULT_DATA = '/usr/share/datasets/fashion-mnist'  # Debian's dataset-fashion-mnist

LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']
# File-system-safe folder names, in class order (written to the model as metascope.label_folders).
FOLDERS = ['T-shirt_top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle_boot']

SEED = 0
THREADS = 2
EPOCHS = 15
BATCH = 64
LR = 5e-3
PER_CLASS = 4          # demo images per class
MISTAKE_WINDOW = 40    # look this far into each class for a misclassified example
KNOWN = 5              # the few-shot demo model knows classes 0..KNOWN-1; it is taught the others
SHOTS = 5              # few-shot demo: support images per new class (the first SHOTS of the class in the test set)
QUERIES = 5            # ... and query images per new class (the next QUERIES)


class FashionCNN(nn.Module):
    """Three convolutions, global average pooling, one linear layer (~24k parameters)."""

    def __init__(self, classes=len(LABELS)):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),      # 28 -> 26 -> 13
            nn.Conv2d(16, 32, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),     # 13 -> 11 -> 5
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(inplace=True),           # 5 -> 5
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(64, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def read_idx(path):
    """An idx file (optionally gzipped) as a numpy array (uint8 images [N,28,28] or labels [N])."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], 'big')
    if magic >> 8 != 0x08:  # 0x08 = unsigned byte
        raise ValueError(f'{path}: not a uint8 idx file (magic {magic:#x})')
    ndim = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(shape)


def find_file(data_dir, stem):
    for name in (stem + '.gz', stem):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    sys.exit(f'error: {stem}(.gz) not found in {data_dir}; install it with `apt-get install dataset-fashion-mnist` '
             'or pass --data DIR')


def load(data_dir):
    x_train = read_idx(find_file(data_dir, 'train-images-idx3-ubyte'))
    y_train = read_idx(find_file(data_dir, 'train-labels-idx1-ubyte'))
    x_test = read_idx(find_file(data_dir, 't10k-images-idx3-ubyte'))
    y_test = read_idx(find_file(data_dir, 't10k-labels-idx1-ubyte'))
    return x_train, y_train, x_test, y_test


def to_tensor(images):
    """uint8 [N,28,28] -> float [N,1,28,28] in [0,1]: the model's whole preprocessing (no mean/std)."""
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)


def train(model, x, y, epochs):
    g = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    steps = epochs * ((len(x) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=g)
        total = 0.0
        t0 = time.time()
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f'epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f} ({time.time() - t0:.1f} s)', flush=True)


@torch.no_grad()
def predict(model, x):
    model.eval()
    return torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)]).numpy()


def export(model, path, meta):
    import onnx
    model.eval()
    tmp = path + '.tmp'
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), tmp, opset_version=13,
        input_names=['input'], output_names=['logits'],
        dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
        do_constant_folding=True,
    )
    m = onnx.load(tmp)
    del m.metadata_props[:]
    for k, v in meta.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    m.producer_name = 'metascope scripts/demo/make_demo.py'
    onnx.checker.check_model(m)
    onnx.save(m, tmp)
    os.replace(tmp, path)


def model_meta(classes, description, accuracy):
    """The metadata both demo models carry: labels, label folders, the preprocessing they were trained with."""
    return {
        'labels': json.dumps(LABELS[:classes]),
        'metascope.label_folders': json.dumps(FOLDERS[:classes]),
        'metascope.normalization': 'unit',
        'metascope.resize': 'stretch',
        'metascope.description': description,
        'metascope.test_accuracy': f'{accuracy:.4f}',
    }


def pick_demo(y_test, pred):
    """Per class: the first PER_CLASS test images; if none of them is misclassified but one of the class's first
    MISTAKE_WINDOW is, the last pick is swapped for the first such mistake (so the demo has mistakes to show)."""
    picks = []
    for c in range(len(LABELS)):
        idx = np.flatnonzero(y_test == c)
        chosen = list(idx[:PER_CLASS])
        if all(pred[i] == c for i in chosen):
            wrong = [i for i in idx[:MISTAKE_WINDOW] if pred[i] != c]
            if wrong:
                chosen[-1] = wrong[0]
        picks.extend((c, int(i)) for i in sorted(chosen))
    return picks


def write_images(x_test, picks):
    from PIL import Image
    if os.path.isdir(IMAGES_DIR):
        shutil.rmtree(IMAGES_DIR)
    for c, i in picks:
        d = os.path.join(IMAGES_DIR, FOLDERS[c])
        os.makedirs(d, exist_ok=True)
        Image.fromarray(x_test[i], mode='L').save(os.path.join(d, f'{i}.png'), optimize=False)


def build_classifier(x_train, y_train, x_test, y_test_u8, x_test_u8, epochs):
    """The 10-class demo model and its 40 demo images."""
    torch.manual_seed(SEED)
    model = FashionCNN()
    print(f'parameters: {sum(p.numel() for p in model.parameters())}', flush=True)
    t0 = time.time()
    train(model, x_train, y_train, epochs)
    train_s = time.time() - t0
    pred = predict(model, x_test)
    accuracy = float((pred == y_test_u8).mean())
    print(f'train time: {train_s:.1f} s on {THREADS} threads')
    print(f'test accuracy: {accuracy:.4f} ({int((pred == y_test_u8).sum())}/{len(pred)})')

    os.makedirs(OUT_DIR, exist_ok=True)
    export(model, MODEL_PATH, model_meta(
        len(LABELS),
        'A small CNN (3 convolutions, global average pooling, 1 linear layer) trained on '
        'Fashion-MNIST 28x28 greyscale clothing images, input scaled to [0,1]; Metascope\'s demo model.',
        accuracy))
    print(f'wrote {os.path.relpath(MODEL_PATH, ROOT)} ({os.path.getsize(MODEL_PATH)} bytes)')

    picks = pick_demo(y_test_u8, pred)
    write_images(x_test_u8, picks)
    print(f'wrote {len(picks)} images under {os.path.relpath(IMAGES_DIR, ROOT)}/')
    for c, i in picks:
        if pred[i] != c:
            print(f'  misclassified: {FOLDERS[c]}/{i}.png predicted {LABELS[pred[i]]}')


def build_fewshot(x_train, y_train, x_test, y_test_u8, x_test_u8, epochs):
    """
    The few-shot demo: the same network, seeded alike, trained on classes 0..KNOWN-1 only, so the
    classes it is then taught (KNOWN..9) are new to it; their images come from the test set, which
    the model never trained on (and it saw no image of these classes at all).
    """
    from PIL import Image
    keep = y_train < KNOWN
    torch.manual_seed(SEED)
    model = FashionCNN(classes=KNOWN)
    t0 = time.time()
    train(model, x_train[keep], y_train[keep], epochs)
    train_s = time.time() - t0
    known = y_test_u8 < KNOWN
    pred = predict(model, x_test[torch.from_numpy(known)])
    right = int((pred == y_test_u8[known]).sum())
    accuracy = right / int(known.sum())
    print(f'few-shot demo model: {int(keep.sum())} training images of classes 0-{KNOWN - 1}, {train_s:.1f} s')
    print(f'few-shot demo model: test accuracy on classes 0-{KNOWN - 1}: {accuracy:.4f} ({right}/{int(known.sum())})')

    if os.path.isdir(FEWSHOT_DIR):
        shutil.rmtree(FEWSHOT_DIR)
    os.makedirs(FEWSHOT_DIR)
    export(model, FEWSHOT_MODEL_PATH, model_meta(
        KNOWN,
        f'The demo CNN (3 convolutions, global average pooling, 1 linear layer) trained on Fashion-MNIST classes '
        f'0-{KNOWN - 1} only ({", ".join(LABELS[:KNOWN])}), input scaled to [0,1]: Metascope\'s few-shot demo, '
        f'taught {", ".join(LABELS[KNOWN:])}, which it never saw.',
        accuracy))
    print(f'wrote {os.path.relpath(FEWSHOT_MODEL_PATH, ROOT)} ({os.path.getsize(FEWSHOT_MODEL_PATH)} bytes)')

    for c in range(KNOWN, len(LABELS)):
        idx = np.flatnonzero(y_test_u8 == c)[:SHOTS + QUERIES]
        for row, chosen in (('support', idx[:SHOTS]), ('query', idx[SHOTS:])):
            d = os.path.join(FEWSHOT_DIR, row, FOLDERS[c])
            os.makedirs(d, exist_ok=True)
            for i in chosen:
                Image.fromarray(x_test_u8[i], mode='L').save(os.path.join(d, f'{i}.png'), optimize=False)
    print(f'wrote {SHOTS} support + {QUERIES} query images for each of {", ".join(FOLDERS[KNOWN:])} '
          f'under {os.path.relpath(FEWSHOT_DIR, ROOT)}/')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--data', default=DEFAULT_DATA, help='folder with the Fashion-MNIST idx(.gz) files')
    ap.add_argument('--epochs', type=int, default=EPOCHS)
    ap.add_argument('--only', choices=['classifier', 'fewshot'], help='build one part of the demo, leave the other as it is')
    args = ap.parse_args()

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)

    x_train_u8, y_train_u8, x_test_u8, y_test_u8 = load(args.data)
    x_train, y_train = to_tensor(x_train_u8), torch.from_numpy(y_train_u8.astype(np.int64))
    x_test = to_tensor(x_test_u8)
    print(f'Fashion-MNIST from {args.data}: {len(x_train)} train, {len(x_test)} test', flush=True)

    if args.only != 'fewshot':
        build_classifier(x_train, y_train, x_test, y_test_u8, x_test_u8, args.epochs)
    if args.only != 'classifier':
        build_fewshot(x_train, y_train, x_test, y_test_u8, x_test_u8, args.epochs)


if __name__ == '__main__':
    main()
