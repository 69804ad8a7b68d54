"""PyTorch eager Grad-CAM timing, the baselines for bench/cam-bench.ts. Prints one JSON line.
Usage: /usr/bin/python3 bench/torch_gradcam.py MODEL BATCH ITERS THREADS [MODES] [LAYER]
MODES: comma-separated subset of forward,gradcam,minimal (default all). LAYER: 'last' (default: the
module whose output feeds global pooling, LAYERS below) or a dotted module path (get_submodule), e.g.
'layer3' for resnet50's mid-network layer, 'features.10' for mobilenet_v2's.

Two baselines, both CPU, eval mode, same definition (weights = spatial mean of gradients, ReLU,
per-image min-max, bilinear resize to the input, min-max):
- torch_gradcam: what pytorch-grad-cam's GradCAM does per call, i.e. what users run today (it cannot
  be installed here, so its steps are reproduced): forward with a forward hook and a tensor hook on the
  layer, model.zero_grad(), loss.backward(retain_graph=True) with the parameters requiring grad as
  loaded (so it also computes every weight gradient), activations and gradients to numpy, the CAM in
  numpy, then a per-image resize and min-max (cv2.resize there; F.interpolate here).
- torch_minimal: the fastest eager form we could write, the one bench/cam-bench.ts gates on:
  torch.autograd.grad to the layer only (no weight gradients, nothing behind the layer), all
  post-processing batched in torch.
"""
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

LAYERS = {'resnet50': lambda m: m.layer4, 'resnet18': lambda m: m.layer4, 'mobilenet_v2': lambda m: m.features}


def main():
    name, batch, iters, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    layer_path = sys.argv[6] if len(sys.argv) > 6 else 'last'
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)().eval()
    layer = LAYERS[name](model) if layer_path == 'last' else model.get_submodule(layer_path)
    store = {}
    layer.register_forward_hook(lambda _m, _i, out: store.__setitem__('a', out))
    x = torch.randn(batch, 3, 224, 224)

    def gradcam():
        logits = model(x)
        a = store['a']
        target = logits.argmax(1)
        score = logits.gather(1, target[:, None]).sum()
        (g,) = torch.autograd.grad(score, a)
        with torch.no_grad():
            cam = F.relu((g.mean((2, 3), keepdim=True) * a).sum(1, keepdim=True))
            flat = cam.flatten(1)
            cam = (cam - flat.min(1)[0][:, None, None, None])
            cam = cam / (1e-7 + cam.flatten(1).max(1)[0][:, None, None, None])
            cam = F.interpolate(cam, size=(224, 224), mode='bilinear', align_corners=False)
            flat = cam.flatten(1)
            cam = cam - flat.min(1)[0][:, None, None, None]
            cam = cam / (1e-7 + cam.flatten(1).max(1)[0][:, None, None, None])
        return cam

    def pytorch_grad_cam_style():
        # pytorch-grad-cam: ActivationsAndGradients hooks, then BaseCAM.forward.
        a_store, g_store = [], []
        def save(_m, _i, out):
            a_store.append(out.cpu().detach())
            out.register_hook(lambda g: g_store.insert(0, g.cpu().detach()))

        handle = layer.register_forward_hook(save)
        logits = model(x)
        handle.remove()
        targets = logits.cpu().data.numpy().argmax(axis=-1)
        model.zero_grad()
        loss = sum(logits[i, t] for i, t in enumerate(targets))
        loss.backward(retain_graph=True)
        acts, grads = a_store[-1].numpy(), g_store[0].numpy()
        weights = np.mean(grads, axis=(2, 3))
        cam = np.maximum((weights[:, :, None, None] * acts).sum(axis=1), 0)
        result = []
        for img in cam:
            img = img - np.min(img)
            img = img / (1e-7 + np.max(img))
            img = F.interpolate(torch.from_numpy(img)[None, None], size=(224, 224), mode='bilinear', align_corners=False)[0, 0].numpy()
            result.append(img)
        cam = np.maximum(np.float32(result), 0)
        out = []
        for img in cam:
            img = img - np.min(img)
            out.append(img / (1e-7 + np.max(img)))
        return np.float32(out)

    def forward():
        with torch.no_grad():
            model(x)

    times = {'forward': [], 'gradcam': [], 'minimal': []}
    only = sys.argv[5].split(',') if len(sys.argv) > 5 else ['forward', 'gradcam', 'minimal']
    fns = {'forward': forward, 'gradcam': pytorch_grad_cam_style, 'minimal': gradcam}
    for i in range(iters + 2):
        for key, fn in ((k, fns[k]) for k in only):
            t = time.perf_counter()
            fn()
            if i >= 2:
                times[key].append((time.perf_counter() - t) * 1000 / batch)
    med = {k: round(statistics.median(v), 3) if v else None for k, v in times.items()}
    print(json.dumps({'model': name, 'torch_layer': layer_path, 'batch': batch, 'threads': threads,
                      'torch': torch.__version__,
                      'torch_forward_ms_per_image': med['forward'],
                      'torch_gradcam_ms_per_image': med['gradcam'],
                      'torch_minimal_gradcam_ms_per_image': med['minimal']}))


if __name__ == '__main__':
    main()
