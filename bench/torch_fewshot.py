"""PyTorch reference for the few-shot benchmark: replays an episodes file (docs/fewshot.md) with the
same Conv-4, losses, methods and initial parameters as the engine, and prints ONE JSON line last:
  {"impl": "pytorch", "method", "ways", "shots", "iterations", "accuracy", "ci95", "ms_per_iteration",
   "threads", ...}

Usage (Debian's interpreter, python3-torch 1.13):
  /usr/bin/python3 bench/torch_fewshot.py --episodes EP.json --init INIT.json --method maml \
      [--inner-rate 0.1] [--train-steps 5] [--test-steps 10] [--iterations N] [--meta-batch B] \
      [--threads 2] [--no-train] [--style functional|l2l]
  /usr/bin/python3 bench/torch_fewshot.py --make-demo-episodes DIR   (writes DIR/episodes.json, DIR/init.json)

Definitions (docs/fewshot.md):
- Conv-4: 4 x [conv 3x3 64 (bias), BN with batch statistics (F.batch_norm(training=True), eps 1e-5),
  ReLU, maxpool 2], flatten, linear head. Written functionally over a dict of parameter tensors named
  block{i}.conv.weight/bias, block{i}.bn.weight/bias, head.weight/bias. Every forward normalises with the
  batch it is given: support with support statistics, query with query statistics.
- CE = mean over the batch of -log softmax[y]. Support image i has label i // K, query image j j // Q.
- One iteration = one Adam step (lr 1e-3, betas 0.9/0.999, eps 1e-8) on the mean query loss of the
  iteration's B tasks. Each task's loss is backpropagated on its own and the gradients summed / B
  (same value as one backward of the mean, lower peak memory).
- maml: k inner steps on all parameters, second order (create_graph=True).
  fomaml: same inner loop without create_graph; the query-loss gradient at theta_k is applied to theta_0.
  anil: inner steps on head.weight/head.bias only (features computed once per batch, they do not change),
        second order; the body gets its meta-gradient through the features.
  metasgd: theta - a * grad, one learned rate per parameter element (initialised to --inner-rate),
        second order; Adam updates theta and a.
  protonet: logits -||f(x_q) - c_n||^2, c_n the mean support feature of class n; body only.
  protomaml: head W_n = 2 c_n, b_n = -||c_n||^2, then the anil inner loop on it; body only, second order.
  finetune: meta-training is supervised training of body + a head over all meta-training classes on the
        file's "finetune" batches (head rows = max label + 1; the init file's head when it has that many
        rows, as Metascope's bench writes it, else uniform in +-1/sqrt(F), weight then bias, drawn with
        torch.manual_seed(0)). At test
        time a zero N-way head is trained on the support features (body frozen) for --test-steps steps of
        plain gradient descent at --inner-rate.
- Testing: every test episode is adapted from the meta-learned parameters with the method's test-time
  procedure (--test-steps inner steps, first order: nothing is differentiated through it; protonet:
  nearest prototype) and scored on its query set. accuracy = mean per-episode query accuracy;
  ci95 = 1.96 * population std / sqrt(episodes).
- --no-train: the random-initialisation baseline (same test-time procedure on the initial parameters);
  iterations is 0 and ms_per_iteration null.
- ms_per_iteration: wall time of the meta-training loop / iterations. All images the file references are
  decoded, rotated and scaled into one tensor before the clock starts; inside the loop a task's images are
  an index_select from it.
- --batch-norm running (protonet and finetune, their default; batch for the others): training forwards use
  F.batch_norm(training=True) on running tensors (momentum 0.1, so they update in place as nn.BatchNorm2d's
  do); protonet then embeds support and query as one batch (torch.cat, as Snell et al.'s code does);
  testing uses training=False on those statistics. --batch-norm batch is the convention above.
- --style l2l (maml / fomaml only): meta-training the way learn2learn's MAML wrapper does it, to time what
  users run today: an nn.Module Conv-4 (nn.Conv2d, nn.BatchNorm2d(track_running_stats=False), nn.Linear),
  per task learner = clone_module(model), learner.adapt(loss) = autograd.grad(loss, learner.parameters(),
  create_graph=not first_order) and an update_module that re-routes the clone's _parameters to p - lr * g,
  query_loss.backward() per task, p.grad *= 1/B, Adam step. Same math as the functional path (the test
  phase uses the functional code on the trained module's parameters).
"""
import argparse
import gzip
import json
import math
import os
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DATA_DIR = '/usr/share/datasets/fashion-mnist'
HIDDEN = 64
BN_EPS = 1e-5
METHODS = ('maml', 'fomaml', 'anil', 'metasgd', 'protonet', 'protomaml', 'finetune')
HEAD = ('head.weight', 'head.bias')


def body_names():
    return [f'block{i}.{m}.{k}' for i in range(1, 5) for m in ('conv', 'bn') for k in ('weight', 'bias')]


# ---------------------------------------------------------------------------------------------- data

def read_idx(path):
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    magic, = np.frombuffer(raw, '>u4', 1, 0)
    ndim = int(magic) & 0xff
    dims = [int(d) for d in np.frombuffer(raw, '>u4', ndim, 4)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Images:
    """Every (index, rot) pair the used part of the file references, decoded once into one float32 tensor
    [U, 1, S, S] (pixel / 255, numpy.rot90(img, rot)); episodes become index tensors into it."""

    def __init__(self, path, pairs):
        raw = read_idx(path)
        self.slot = {}
        imgs = []
        for idx, rot in pairs:
            key = (int(idx), int(rot) % 4)
            if key not in self.slot:
                self.slot[key] = len(imgs)
                imgs.append(np.rot90(raw[key[0]], key[1]))
        arr = np.stack(imgs).astype(np.float32) / np.float32(255)
        self.tensor = torch.from_numpy(np.ascontiguousarray(arr[:, None]))

    def index(self, pairs):
        return torch.tensor([self.slot[(int(p[0]), int(p[1]) % 4)] for p in pairs], dtype=torch.long)

    def get(self, index):
        return self.tensor.index_select(0, index)


def episode_tensors(images, ep, ways, shots, queries):
    s, q = images.index(ep['support']), images.index(ep['query'])
    assert len(s) == ways * shots and len(q) == ways * queries, (len(s), len(q))
    return (s, torch.arange(ways).repeat_interleave(shots), q, torch.arange(ways).repeat_interleave(queries))


# ---------------------------------------------------------------------------------------------- Conv-4

def features(p, x, stats=None, training=True):
    """stats None: batch statistics (the batch convention). stats = {i: (running_mean, running_var)}: the
    running convention, as nn.BatchNorm2d does it: training=True normalises with the batch and updates the
    running tensors in place (momentum 0.1, unbiased variance); training=False normalises with them."""
    for i in range(1, 5):
        x = F.conv2d(x, p[f'block{i}.conv.weight'], p[f'block{i}.conv.bias'], padding=1)
        rm, rv = stats[i] if stats is not None else (None, None)
        x = F.batch_norm(x, rm, rv, p[f'block{i}.bn.weight'], p[f'block{i}.bn.bias'],
                         training=training if stats is not None else True, momentum=0.1, eps=BN_EPS)
        x = F.max_pool2d(F.relu(x), 2)
    return x.flatten(1)


def forward(p, x, stats=None, training=True):
    return F.linear(features(p, x, stats, training), p['head.weight'], p['head.bias'])


def running_stats():
    return {i: (torch.zeros(HIDDEN), torch.ones(HIDDEN)) for i in range(1, 5)}


def feature_size(channels_in, size):
    s = size
    for _ in range(4):
        s //= 2
    return HIDDEN * s * s


def load_init(path, names):
    with open(path) as f:
        raw = json.load(f)
    out = {}
    for n in names:
        if n not in raw:
            raise SystemExit(f'{path}: missing parameter {n}')
        out[n] = torch.tensor(raw[n]['data'], dtype=torch.float32).reshape(raw[n]['dims'])
    return out


def accuracy(logits, y):
    return (logits.argmax(1) == y).float().mean().item()


# ---------------------------------------------------------------------------------------------- inner loops

def adapt(p, names, xs, ys, rates, steps, create_graph):
    """steps of theta <- theta - rate * grad CE_S on the parameters in names (rates: name -> float or
    tensor). With create_graph=False the gradients are constants, so d theta_k / d theta_0 = I."""
    cur = dict(p)
    for _ in range(steps):
        loss = F.cross_entropy(forward(cur, xs), ys)
        grads = torch.autograd.grad(loss, [cur[n] for n in names], create_graph=create_graph)
        for n, g in zip(names, grads):
            cur[n] = cur[n] - rates[n] * g
    return cur


def adapt_head(w, b, fs, ys, rate, steps, create_graph):
    for _ in range(steps):
        loss = F.cross_entropy(F.linear(fs, w, b), ys)
        gw, gb = torch.autograd.grad(loss, (w, b), create_graph=create_graph)
        w, b = w - rate * gw, b - rate * gb
    return w, b


def prototypes(fs, ways, shots):
    return fs.view(ways, shots, -1).mean(1)


def proto_logits(fq, c):
    return -((fq[:, None, :] - c[None, :, :]) ** 2).sum(-1)


def proto_head(c):
    return 2 * c, -(c ** 2).sum(1)


class Learner:
    """The meta-parameters of one method, its per-task meta-loss and its test-time procedure."""

    def __init__(self, method, init, args, ways, shots, finetune_classes=0):
        self.method, self.args, self.ways, self.shots = method, args, ways, shots
        # The running convention: nn.BatchNorm2d's running statistics, updated by every training forward.
        self.stats = running_stats() if args.batch_norm == 'running' else None
        body = body_names()
        self.p = {n: init[n].clone().requires_grad_(True) for n in body}
        if method in ('maml', 'fomaml', 'anil', 'metasgd'):
            for n in HEAD:
                self.p[n] = init[n].clone().requires_grad_(True)
            if self.p['head.weight'].shape[0] != ways:
                raise SystemExit(f"init head has {self.p['head.weight'].shape[0]} rows, episodes are {ways}-way")
        if method == 'finetune' and init['head.weight'].shape[0] == finetune_classes:
            # Metascope's bench writes the all-classes head it pretrains with: start from the same one.
            for n in HEAD:
                self.p[n] = init[n].clone().requires_grad_(True)
        elif method == 'finetune':
            fdim = init['head.weight'].shape[1]
            bound = 1 / math.sqrt(fdim)
            torch.manual_seed(0)
            self.p['head.weight'] = torch.empty(finetune_classes, fdim).uniform_(-bound, bound).requires_grad_(True)
            self.p['head.bias'] = torch.empty(finetune_classes).uniform_(-bound, bound).requires_grad_(True)
        self.names = list(self.p)
        self.rates = {n: args.inner_rate for n in self.names}
        meta = [self.p[n] for n in self.names]
        if method == 'metasgd':
            self.rates = {n: torch.full_like(self.p[n], args.inner_rate).requires_grad_(True) for n in self.names}
            meta += [self.rates[n] for n in self.names]
        self.meta = meta
        self.opt = torch.optim.Adam(meta, lr=args.lr, betas=(0.9, 0.999), eps=1e-8)

    # -------------------------------------------------------------------------------------- training
    def task_loss(self, xs, ys, xq, yq):
        """Query loss of one task, differentiable w.r.t. the meta-parameters as the method defines."""
        m, k = self.method, self.args.train_steps
        if m in ('maml', 'metasgd'):
            cur = adapt(self.p, self.names, xs, ys, self.rates, k, create_graph=True)
            return F.cross_entropy(forward(cur, xq), yq)
        if m == 'fomaml':
            cur = adapt(self.p, self.names, xs, ys, self.rates, k, create_graph=False)
            return F.cross_entropy(forward(cur, xq), yq)
        if m == 'protonet' and self.stats is not None:
            # Snell et al.'s code: support and query through the encoder as one batch.
            f = features(self.p, torch.cat([xs, xq]), self.stats, True)
            return F.cross_entropy(proto_logits(f[len(xs):], prototypes(f[:len(xs)], self.ways, self.shots)), yq)
        fs, fq = features(self.p, xs), features(self.p, xq)
        if m == 'anil':
            w, b = adapt_head(self.p['head.weight'], self.p['head.bias'], fs, ys, self.args.inner_rate, k, True)
            return F.cross_entropy(F.linear(fq, w, b), yq)
        c = prototypes(fs, self.ways, self.shots)
        if m == 'protonet':
            return F.cross_entropy(proto_logits(fq, c), yq)
        if m == 'protomaml':
            w, b = adapt_head(*proto_head(c), fs, ys, self.args.inner_rate, k, True)
            return F.cross_entropy(F.linear(fq, w, b), yq)
        raise ValueError(m)

    def meta_step(self, tasks):
        self.opt.zero_grad(set_to_none=False)
        grads = [torch.zeros_like(t) for t in self.meta]
        total = 0.0
        for xs, ys, xq, yq in tasks:
            loss = self.task_loss(xs, ys, xq, yq) / len(tasks)
            total += loss.item()
            for acc, g in zip(grads, torch.autograd.grad(loss, self.meta, allow_unused=True)):
                if g is not None:
                    acc.add_(g)
        for t, g in zip(self.meta, grads):
            t.grad = g
        self.opt.step()
        return total

    def supervised_step(self, x, y):
        self.opt.zero_grad()
        loss = F.cross_entropy(forward(self.p, x, self.stats, True), y)
        loss.backward()
        self.opt.step()
        return loss.item()

    # -------------------------------------------------------------------------------------- testing
    def evaluate(self, xs, ys, xq, yq):
        m, k, rate = self.method, self.args.test_steps, self.args.inner_rate
        p = {n: self.p[n].detach().requires_grad_(True) for n in self.names}
        if m in ('maml', 'fomaml', 'metasgd'):
            rates = {n: (r.detach() if torch.is_tensor(r) else r) for n, r in self.rates.items()}
            cur = adapt(p, self.names, xs, ys, rates, k, create_graph=False)
            with torch.no_grad():
                return accuracy(forward(cur, xq), yq)
        with torch.no_grad():
            if self.stats is not None:
                fs, fq = features(p, xs, self.stats, False), features(p, xq, self.stats, False)
            else:
                fs, fq = features(p, xs), features(p, xq)
        if m == 'protonet':
            return accuracy(proto_logits(fq, prototypes(fs, self.ways, self.shots)), yq)
        if m == 'anil':
            w, b = p['head.weight'], p['head.bias']
        elif m == 'protomaml':
            w, b = proto_head(prototypes(fs, self.ways, self.shots))
        elif m == 'finetune':
            w, b = torch.zeros(self.ways, fs.shape[1]), torch.zeros(self.ways)
        else:
            raise ValueError(m)
        w, b = w.detach().requires_grad_(True), b.detach().requires_grad_(True)
        w, b = adapt_head(w, b, fs, ys, rate, k, create_graph=False)
        with torch.no_grad():
            return accuracy(F.linear(fq, w, b), yq)


# ---------------------------------------------------------------------------------------------- l2l style

class Block(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.conv = nn.Conv2d(cin, HIDDEN, 3, padding=1)
        self.bn = nn.BatchNorm2d(HIDDEN, eps=BN_EPS, track_running_stats=False)

    def forward(self, x):
        return F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)


class Conv4(nn.Module):
    def __init__(self, cin, fdim, ways):
        super().__init__()
        self.block1, self.block2, self.block3, self.block4 = Block(cin), Block(HIDDEN), Block(HIDDEN), Block(HIDDEN)
        self.head = nn.Linear(fdim, ways)

    def forward(self, x):
        x = self.block4(self.block3(self.block2(self.block1(x))))
        return self.head(x.flatten(1))


def clone_module(module):
    """learn2learn.utils.clone_module: a shallow copy of every submodule whose parameters are p.clone(),
    so the clone stays differentiable w.r.t. the original parameters."""
    clone = module.__new__(type(module))
    clone.__dict__ = module.__dict__.copy()
    clone._parameters = OrderedDict((k, None if v is None else v.clone()) for k, v in module._parameters.items())
    clone._buffers = module._buffers.copy()
    clone._modules = OrderedDict((k, clone_module(v)) for k, v in module._modules.items())
    return clone


def update_module(module, lr, grads):
    """learn2learn's maml_update + update_module: re-route each parameter to p - lr * g (no in-place op)."""
    it = iter(grads)
    for mod in module.modules():
        for k, p in mod._parameters.items():
            if p is not None:
                mod._parameters[k] = p - lr * next(it)


def l2l_adapt(learner, loss, lr, first_order):
    params = list(learner.parameters())
    grads = torch.autograd.grad(loss, params, retain_graph=not first_order, create_graph=not first_order,
                                allow_unused=True)
    update_module(learner, lr, grads)


class L2LTrainer:
    def __init__(self, init, args, cin, fdim, ways):
        self.model = Conv4(cin, fdim, ways)
        with torch.no_grad():
            for n, p in self.model.named_parameters():
                p.copy_(init[n])
        self.args, self.first_order = args, args.method == 'fomaml'
        self.opt = torch.optim.Adam(self.model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)

    def meta_step(self, tasks):
        self.opt.zero_grad()
        total = 0.0
        for xs, ys, xq, yq in tasks:
            learner = clone_module(self.model)
            for _ in range(self.args.train_steps):
                l2l_adapt(learner, F.cross_entropy(learner(xs), ys), self.args.inner_rate, self.first_order)
            loss = F.cross_entropy(learner(xq), yq)
            loss.backward()
            total += loss.item() / len(tasks)
        for p in self.model.parameters():
            p.grad.mul_(1.0 / len(tasks))
        self.opt.step()
        return total

    def params(self):
        return {n: p.detach().clone() for n, p in self.model.named_parameters()}


# ---------------------------------------------------------------------------------------------- demo files

def make_demo(out_dir, seed=0, iterations=3, tasks=2, test_episodes=5, ways=5, shots=1, queries=2):
    """A small valid episodes file and init file. Meta-training classes: Fashion-MNIST classes 0-4 with
    4 rotations (20 classes, label c * 4 + r); meta-test classes: 5-9 unrotated."""
    rng = np.random.RandomState(seed)
    labels = read_idx(os.path.join(DATA_DIR, 'train-labels-idx1-ubyte.gz'))
    by_class = {c: np.flatnonzero(labels == c) for c in range(10)}
    train_classes = [(c, r) for c in range(5) for r in range(4)]
    test_classes = [(c, 0) for c in range(5, 10)]

    def episode(classes):
        pick = rng.permutation(len(classes))[:ways]
        sup, qry = [], []
        for j in pick:
            c, r = classes[j]
            idx = rng.choice(by_class[c], shots + queries, replace=False)
            sup += [[int(i), r] for i in idx[:shots]]
            qry += [[int(i), r] for i in idx[shots:]]
        return {'support': sup, 'query': qry}

    def finetune_batch():
        n = tasks * ways * (shots + queries)
        out = []
        for _ in range(n):
            lab = int(rng.randint(len(train_classes)))
            c, r = train_classes[lab]
            out.append([int(rng.choice(by_class[c])), r, lab])
        return out

    doc = {
        'format': 'metascope-episodes', 'version': 1, 'dataset': 'fashion-mnist',
        'file': 'train-images-idx3-ubyte.gz', 'ways': ways, 'shots': shots, 'queries': queries,
        'train': [[episode(train_classes) for _ in range(tasks)] for _ in range(iterations)],
        'test': [episode(test_classes) for _ in range(test_episodes)],
        'finetune': [finetune_batch() for _ in range(iterations)],
    }
    fdim = feature_size(1, 28)
    init = {}
    cin = 1
    for i in range(1, 5):
        bound = 1 / math.sqrt(cin * 9)
        init[f'block{i}.conv.weight'] = rng.uniform(-bound, bound, (HIDDEN, cin, 3, 3))
        init[f'block{i}.conv.bias'] = rng.uniform(-bound, bound, (HIDDEN,))
        init[f'block{i}.bn.weight'] = np.ones(HIDDEN)
        init[f'block{i}.bn.bias'] = np.zeros(HIDDEN)
        init[f'block{i}.bn.running_mean'] = np.zeros(HIDDEN)
        init[f'block{i}.bn.running_var'] = np.ones(HIDDEN)
        cin = HIDDEN
    bound = 1 / math.sqrt(fdim)
    init['head.weight'] = rng.uniform(-bound, bound, (ways, fdim))
    init['head.bias'] = rng.uniform(-bound, bound, (ways,))
    init_doc = {k: {'dims': list(v.shape), 'data': [float(x) for x in v.astype(np.float32).ravel()]}
                for k, v in init.items()}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'episodes.json'), 'w') as f:
        json.dump(doc, f)
    with open(os.path.join(out_dir, 'init.json'), 'w') as f:
        json.dump(init_doc, f)
    print(f'wrote {out_dir}/episodes.json ({iterations} iterations x {tasks} tasks, {test_episodes} test '
          f'episodes, {ways}-way {shots}-shot {queries} queries) and {out_dir}/init.json')


# ---------------------------------------------------------------------------------------------- main

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--episodes')
    ap.add_argument('--init')
    ap.add_argument('--method', choices=METHODS)
    ap.add_argument('--inner-rate', type=float, default=0.1)
    ap.add_argument('--train-steps', type=int, default=5)
    ap.add_argument('--test-steps', type=int, default=10)
    ap.add_argument('--iterations', type=int, default=None, help='first N iterations of the file (default all)')
    ap.add_argument('--meta-batch', type=int, default=None, help='first B tasks of each iteration (default all)')
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--no-train', action='store_true')
    ap.add_argument('--style', choices=('functional', 'l2l'), default='functional')
    ap.add_argument('--batch-norm', choices=('batch', 'running'), default=None,
                    help='BatchNorm convention (default: running for protonet and finetune, batch otherwise)')
    ap.add_argument('--log-every', type=int, default=0, help='progress to stderr every N iterations')
    ap.add_argument('--make-demo-episodes', metavar='OUT')
    args = ap.parse_args(argv)
    if not args.make_demo_episodes and not (args.episodes and args.init and args.method):
        ap.error('--episodes, --init and --method are required')
    if args.style == 'l2l' and args.method not in ('maml', 'fomaml'):
        ap.error('--style l2l is for maml / fomaml')
    if args.batch_norm is None:
        args.batch_norm = 'running' if args.method in ('protonet', 'finetune') else 'batch'
    if args.batch_norm == 'running' and args.method not in ('protonet', 'finetune'):
        ap.error('--batch-norm running is for protonet and finetune (no inner loop)')
    return args


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if args.make_demo_episodes:
        make_demo(args.make_demo_episodes)
        return
    torch.set_num_threads(args.threads)
    with open(args.episodes) as f:
        doc = json.load(f)
    assert doc.get('format') == 'metascope-episodes' and doc.get('version') == 1, 'not a metascope-episodes v1 file'
    ways, shots, queries = doc['ways'], doc['shots'], doc['queries']
    n_iter = len(doc['train'] if args.method != 'finetune' else doc['finetune'])
    if args.iterations is not None:
        n_iter = min(n_iter, args.iterations)
    if args.no_train:
        n_iter = 0
    train = [it[:args.meta_batch] if args.meta_batch else it for it in doc['train'][:n_iter]]
    finetune = doc.get('finetune', [])[:n_iter] if args.method == 'finetune' else []
    if args.method == 'finetune' and not args.no_train and len(finetune) < n_iter:
        raise SystemExit('episodes file has no finetune batches for every iteration')

    pairs = [pr for ep in doc['test'] for pr in ep['support'] + ep['query']]
    if args.method == 'finetune':
        pairs += [b[:2] for batch in finetune for b in batch]
    else:
        pairs += [pr for it in train for ep in it for pr in ep['support'] + ep['query']]
    t0 = time.perf_counter()
    images = Images(os.path.join(DATA_DIR, doc.get('file', 'train-images-idx3-ubyte.gz')), pairs)
    train_idx = [] if args.method == 'finetune' else \
        [[episode_tensors(images, ep, ways, shots, queries) for ep in it] for it in train]
    test_idx = [episode_tensors(images, ep, ways, shots, queries) for ep in doc['test']]
    ft_idx = [(images.index(batch), torch.tensor([b[2] for b in batch], dtype=torch.long)) for batch in finetune]
    load_s = time.perf_counter() - t0

    init = load_init(args.init, body_names() + list(HEAD))
    ft_classes = 1 + max((int(b[2]) for batch in finetune for b in batch), default=-1)
    learner = Learner(args.method, init, args, ways, shots, finetune_classes=max(ft_classes, 1))
    l2l = L2LTrainer(init, args, images.tensor.shape[1], init['head.weight'].shape[1], ways) \
        if args.style == 'l2l' else None

    def gather(task):
        s, ys, q, yq = task
        return images.get(s), ys, images.get(q), yq

    losses = []
    t0 = time.perf_counter()
    for i in range(n_iter):
        if args.method == 'finetune':
            idx, y = ft_idx[i]
            loss = learner.supervised_step(images.get(idx), y)
        elif l2l is not None:
            loss = l2l.meta_step([gather(t) for t in train_idx[i]])
        else:
            loss = learner.meta_step([gather(t) for t in train_idx[i]])
        losses.append(loss)
        if args.log_every and (i + 1) % args.log_every == 0:
            recent = losses[-args.log_every:]
            print(f'iteration {i + 1}/{n_iter} loss {sum(recent) / len(recent):.4f} '
                  f'{(time.perf_counter() - t0) * 1000 / (i + 1):.1f} ms/it', file=sys.stderr, flush=True)
    train_s = time.perf_counter() - t0
    if l2l is not None:
        with torch.no_grad():
            for n, v in l2l.params().items():
                learner.p[n].copy_(v)

    t0 = time.perf_counter()
    accs = np.array([learner.evaluate(*gather(t)) for t in test_idx], dtype=np.float64)
    test_s = time.perf_counter() - t0
    print(f'loaded {images.tensor.shape[0]} images in {load_s:.2f} s; meta-training {train_s:.2f} s; '
          f'testing {len(accs)} episodes {test_s:.2f} s', file=sys.stderr)
    print(json.dumps({
        'impl': 'pytorch', 'method': args.method, 'ways': ways, 'shots': shots, 'iterations': n_iter,
        'accuracy': round(float(accs.mean()), 6), 'ci95': round(float(1.96 * accs.std() / math.sqrt(len(accs))), 6),
        'ms_per_iteration': round(train_s * 1000 / n_iter, 3) if n_iter else None, 'threads': args.threads,
        'style': args.style, 'queries': queries, 'test_episodes': len(accs),
        'meta_batch': len(train[0]) if train and args.method != 'finetune' else None,
        'finetune_batch': len(finetune[0]) if finetune else None, 'inner_rate': args.inner_rate,
        'train_steps': args.train_steps, 'test_steps': args.test_steps, 'batch_norm': args.batch_norm,
        'final_train_loss': round(losses[-1], 6) if losses else None, 'torch': torch.__version__,
    }))


if __name__ == '__main__':
    main()
