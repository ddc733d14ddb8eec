"""Benchmark: spatial entropy forward+backward, sar_nb vs the released code's approach.

    python bench/entropy.py                 # DeiT-S batch: 128 images x 6 heads x 14x14, CPU (and GPU if present)
    python bench/entropy.py --reps 5        # quick smoke run
    python bench/entropy.py --scaling --out bench/results   # cost vs batch size and grid size, CSV + plot

Two baselines, both our own re-implementations of what the paper's released code does each step: copy the maps
to the host, label every (image, head) map on its own with OpenCV (8-connectivity), build one dense mask per
component, and compute the entropy from the masks with torch.
- "released (literal)" follows the released code operation for operation: an int64 above-mean mask, a uint8
  copy of each map for OpenCV, and each component's mask built as a float64 array turned into an int64 tensor.
- "released (lean)" is the same approach written efficiently (one float32 mask per component, no extra copies):
  the strictest baseline for the approach itself.
"""
import gc, json, sys, time
from typing import Annotated
from fastcore.script import call_parse
from pathlib import Path

import numpy as np, torch
import cv2
from sar_nb.entropy import spatial_entropy
from sar_nb.test_utils import scattered_maps, blobby_maps
from sar_nb.machine import machine_info


def released_spatial_entropy(scores, grid):
    "The released code's approach: host copy, per-map OpenCV labelling, one dense mask per component"
    x = scores.float()
    B, H, N = x.shape
    mean = x.mean(-1, keepdim=True)
    with torch.no_grad():
        above = x > mean
        host = above.cpu().numpy().astype(np.uint8)
        b_idx, h_idx, masks = [], [], []
        for b in range(B):
            for h in range(H):
                n, labels = cv2.connectedComponents(host[b, h].reshape(grid), connectivity=8, ltype=cv2.CV_16U)
                for k in range(1, n):
                    b_idx.append(b); h_idx.append(h)
                    masks.append(torch.from_numpy((labels == k).reshape(-1).astype(np.float32)))
        if not masks: return x.sum() * 0
        b_idx, h_idx = torch.tensor(b_idx, device=x.device), torch.tensor(h_idx, device=x.device)
        masks = torch.stack(masks).to(x.device)
    a = torch.relu(x - mean) + 1e-9
    p = (a[b_idx, h_idx] * masks).sum(-1) / (a[b_idx, h_idx] * above[b_idx, h_idx]).sum(-1)
    return -(p * p.log()).sum() / (B * H)


def released_literal_spatial_entropy(scores, grid):
    "The released code's steps as it writes them: int64 masks, a float64 array per component turned into int64"
    B, H, N = scores.shape
    with torch.autocast(scores.device.type, enabled=False):
        x = scores.float()
        mean = x.mean(-1, keepdim=True)
        with torch.no_grad():
            above = (x > mean).long()
            host = above.detach().cpu().numpy()
            b_idx, h_idx, masks = [], [], []
            for b in range(B):
                for h in range(H):
                    img = ((host[b, h].reshape(grid)[:, :, None] > 0) * 1).astype('uint8')
                    n, labels = cv2.connectedComponents(img, connectivity=8, ltype=cv2.CV_16U)
                    for k in range(1, n):
                        b_idx.append(b); h_idx.append(h)
                        masks.append(torch.tensor((labels == k) * 1.0).reshape(-1).long())
            if not masks: return x.sum() * 0
            b_idx, h_idx = torch.tensor(b_idx).to(x.device), torch.tensor(h_idx).to(x.device)
            masks = torch.stack(masks).to(x.device)
        a = torch.relu(x - mean) + torch.tensor(1e-9)
        p = torch.sum(a[b_idx, h_idx] * masks, -1) / torch.sum(a[b_idx, h_idx] * above[b_idx, h_idx], -1)
        return -(p * torch.log(p)).sum() / (B * H)


def make_maps(kind, batch, heads, grid, generator):
    "noisy: white noise; scattered: exp of white noise (isolated peaks); blobby: exp of smoothed noise (sar_nb.test_utils' maps)"
    if kind == 'noisy': return torch.randn(batch, heads, grid[0]*grid[1], generator=generator)
    maps = (scattered_maps if kind == 'scattered' else blobby_maps)(batch*heads, grid, generator)
    return maps.view(batch, heads, -1)


def timed(fn, device):
    "Seconds `fn()` takes, with Python's garbage collector off during the call (as `timeit` does)"
    gc.disable()
    try:
        if device.type == 'cuda': torch.cuda.synchronize()
        t = time.perf_counter(); fn()
        if device.type == 'cuda': torch.cuda.synchronize()
        return time.perf_counter() - t
    finally: gc.enable()


def fwd_bwd(entropy_fn, maps, grid):
    def run():
        scores = maps.detach().requires_grad_()
        entropy_fn(scores, grid).backward()
    return run


def compare(reps, device, kinds=('noisy', 'scattered', 'blobby'), batch=128, heads=6, grid=(14, 14)):
    "Median forward+backward times of the three implementations, interleaved so all see the same machine state"
    gen, rows = torch.Generator().manual_seed(0), []
    fns = dict(sar_nb=spatial_entropy, released=released_spatial_entropy, released_literal=released_literal_spatial_entropy)
    for kind in kinds:
        maps = make_maps(kind, batch, heads, grid, gen).to(device)
        runs = {name: fwd_bwd(fn, maps, grid) for name, fn in fns.items()}
        ours = spatial_entropy(maps, grid)
        diff = max((fn(maps, grid) - ours).abs().item() for name, fn in fns.items() if name != 'sar_nb')
        for _ in range(3):
            for run in runs.values(): run()
        times = {name: [] for name in fns}
        for _ in range(reps):
            for name, run in runs.items(): times[name].append(timed(run, device))
        ms = {name: 1e3*np.median(t) for name, t in times.items()}
        rows.append(dict(maps=kind, device=device.type, batch=batch, heads=heads, grid=f'{grid[0]}x{grid[1]}',
                         released_literal_ms=ms['released_literal'], released_ms=ms['released'], sar_nb_ms=ms['sar_nb'],
                         speedup_literal=ms['released_literal']/ms['sar_nb'], speedup=ms['released']/ms['sar_nb'],
                         abs_diff=diff, reps=reps))
    return rows


def scaling_times(reps, device, out):
    "sar_nb forward+backward time vs batch size (14x14 grid) and vs grid size (batch 128), 6 heads"
    gen, rows = torch.Generator().manual_seed(0), []
    settings = [(b, (14, 14)) for b in (8, 32, 128, 512)] + [(128, (g, g)) for g in (7, 10, 14, 20, 24, 32)]
    for batch, grid in settings:
        for kind in ('scattered', 'blobby'):
            maps = make_maps(kind, batch, 6, grid, gen).to(device)
            run = fwd_bwd(spatial_entropy, maps, grid)
            for _ in range(3): run()
            t = np.median([timed(run, device) for _ in range(reps)])
            rows.append(dict(maps=kind, device=device.type, batch=batch, heads=6, grid=grid[0], cells=batch*6*grid[0]*grid[1],
                             sar_nb_ms=1e3*t))
            print(f'{device.type:5} {kind:10} batch {batch:4} grid {grid[0]:2}x{grid[1]:<2} {1e3*t:8.2f} ms', flush=True)
    if out:
        import csv, matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
        out.mkdir(parents=True, exist_ok=True)
        with open(out/f'entropy_scaling_{device.type}.csv', 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0])); w.writeheader(); w.writerows(rows)
        fig, axs = plt.subplots(1, 2, figsize=(9, 3.5))
        for kind, style in (('scattered', 'o-'), ('blobby', 's--')):
            r = [x for x in rows if x['maps'] == kind and x['grid'] == 14]
            axs[0].plot([x['batch'] for x in r], [x['sar_nb_ms'] for x in r], style, label=kind)
            r = [x for x in rows if x['maps'] == kind and x['batch'] == 128]
            axs[1].plot([x['grid'] for x in r], [x['sar_nb_ms'] for x in r], style, label=kind)
        axs[0].set(xscale='log', yscale='log', xlabel='batch size (6 heads, 14x14 grid)', ylabel='forward+backward (ms)')
        axs[1].set(yscale='log', xlabel='grid side (batch 128, 6 heads)', ylabel='forward+backward (ms)')
        for ax in axs: ax.legend(); ax.grid(alpha=.3)
        fig.suptitle(f'spatial_entropy cost, {device.type}'); fig.tight_layout()
        fig.savefig(out/f'entropy_scaling_{device.type}.png', dpi=100)
    return rows


def machine():
    return dict(machine_info(), opencv=cv2.__version__)


@call_parse
def main(reps:int=60, # timed repetitions per implementation and map kind
         scaling:bool=False, # time sar_nb vs batch and grid size instead
         out:Path=None, # folder for CSV/JSON/PNG results
         tag:str=None, # suffix of the JSON written (entropy_vs_released_TAG.json), to keep several runs: run1, run2, ...
        ):
    "sar_nb's spatial entropy against the released code's, on the CPU (and the GPU if there is one)"
    devices = [torch.device('cpu')] + ([torch.device('cuda')] if torch.cuda.is_available() else [])
    print(json.dumps(machine()))
    if scaling:
        for d in devices: scaling_times(reps, d, out)
        sys.exit()
    rows = [r for d in devices for r in compare(reps, d)]
    print(f"{'maps':10} {'device':6} {'released, literal (ms)':>23} {'released, lean (ms)':>20} {'sar_nb (ms)':>12}"
          f" {'speedup vs literal':>19} {'vs lean':>8}")
    for r in rows:
        print(f"{r['maps']:10} {r['device']:6} {r['released_literal_ms']:23.2f} {r['released_ms']:20.2f} {r['sar_nb_ms']:12.2f}"
              f" {r['speedup_literal']:18.1f}x {r['speedup']:7.1f}x")
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out/f"entropy_vs_released{'_' + tag if tag else ''}.json").write_text(json.dumps(dict(machine=machine(), rows=rows), indent=1))
