"""Benchmark: training-step time and peak memory with and without SARCallback.

    python bench/train_step.py              # CPU: ViT-Tiny, 32x32 images, 4x4 patches, batch 64
                                            # GPU (if present): also DeiT-S, 224x224, batch 128, bf16
    python bench/train_step.py --rounds 2   # quick smoke run
    python bench/train_step.py --memory-only --out bench/results   # CPU peak memory only (train_step_memory.json)

A step is timed from fastai's `before_batch` to `after_batch` (forward, loss, backward, optimizer step), on
synthetic data. Fits with and without the callback alternate, so both see the same machine state; the
figure reported is the median step time over all timed steps (the first steps of each fit are warm-up).
Peak memory: on a GPU `torch.cuda.max_memory_allocated` per fit; on the CPU the peak resident set size of a fresh
process that builds the same learner and trains 4 steps, with and without the callback, alternating (median of
`min(rounds, 3)` processes each).
"""
import argparse, json, resource, subprocess, sys, time
from typing import Annotated
from fastcore.script import call_parse
from pathlib import Path

import numpy as np, torch, timm
from fastai.basics import Learner, DataLoaders, DataLoader, Callback, CrossEntropyLossFlat, set_seed
from fastai.callback.fp16 import MixedPrecision
from sar_nb.callback import SARCallback
from sar_nb.machine import machine_info


class StepTimer(Callback):
    "Wall time of each training step (synchronising the GPU), after `skip` warm-up steps"
    order = 1000
    def __init__(self, skip=3): self.skip, self.times = skip, []
    def _sync(self):
        if torch.cuda.is_available(): torch.cuda.synchronize()
    def before_batch(self):
        if self.training: self._sync(); self.t0 = time.perf_counter()
    def after_batch(self):
        if self.training and self.iter >= self.skip: self._sync(); self.times.append(time.perf_counter() - self.t0)


def synthetic_dls(n, size, bs, n_classes, device):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 3, size, size, generator=g), torch.randint(0, n_classes, (n,), generator=g)
    items = list(zip(x, y))
    pin = torch.device(device).type == "cuda"  # as sar_nb's loaders: host batches pinned for the copy to the GPU
    return DataLoaders(DataLoader(items, bs=bs, shuffle=True, drop_last=True, pin_memory=pin), DataLoader(items[:bs], bs=bs, pin_memory=pin), device=device)


def make_learner(config, sar, device, steps=None):
    "The benchmark's learner on synthetic data, with or without SARCallback"
    arch, size, patch, bs, amp = (config[k] for k in ('arch', 'size', 'patch', 'bs', 'amp'))
    dls = synthetic_dls(bs * (steps or config['steps']), size, bs, 10, device)
    set_seed(0)
    model = timm.create_model(arch, pretrained=False, img_size=size, patch_size=patch, num_classes=10)
    cbs = [StepTimer()] + ([SARCallback(0.01, schedule=None)] if sar else []) + ([MixedPrecision(amp)] if amp else [])
    return Learner(dls, model.to(device), loss_func=CrossEntropyLossFlat(), cbs=cbs)


def child_peak_rss(name, sar):
    "In a fresh process: build the learner, train 4 steps, print the peak resident set size (MiB)"
    config = next(c for c in CONFIGS if c['name'] == name)
    learn = make_learner(config, sar, torch.device('cpu'), steps=4)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=1e-4)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # Linux reports KiB


def cpu_peaks(config, rounds):
    "Median peak RSS (MiB) of fresh processes without and with SARCallback, alternating"
    peaks = {False: [], True: []}
    for _ in range(min(rounds, 3)):
        for sar in (False, True):
            out = subprocess.run([sys.executable, __file__, '--peak-rss-child', config['name'], str(int(sar))],
                                 capture_output=True, text=True, check=True)
            peaks[sar].append(float(out.stdout.split()[-1]))
    return float(np.median(peaks[False])), float(np.median(peaks[True]))


def measure(config, rounds, device):
    "Median step time (ms) and peak memory (MiB) with and without SARCallback"
    learners = {sar: make_learner(config, sar, device) for sar in (False, True)}
    times, peaks = {False: [], True: []}, {False: 0, True: 0}
    for _ in range(rounds):
        for sar, learn in learners.items():
            timer = learn.cbs.filter(lambda c: isinstance(c, StepTimer))[0]
            timer.times = []
            if device.type == 'cuda': torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
            with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=1e-4)
            times[sar] += timer.times
            if device.type == 'cuda': peaks[sar] = max(peaks[sar], torch.cuda.max_memory_allocated() / 2**20)
    base, sar = 1e3 * np.median(times[False]), 1e3 * np.median(times[True])
    row = dict(config, device=device.type, steps_timed=len(times[True]), without_ms=base, with_ms=sar,
               overhead_pct=100 * (sar - base) / base)
    if device.type == 'cpu': peaks[False], peaks[True] = cpu_peaks(config, rounds)
    row.update(peak_without_mib=peaks[False], peak_with_mib=peaks[True], peak_kind='cuda allocated' if device.type == 'cuda' else 'process RSS',
               peak_overhead_pct=100 * (peaks[True] - peaks[False]) / peaks[False])
    return row


CONFIGS = [dict(name='ViT-Tiny 32px', arch='vit_tiny_patch16_224', size=32, patch=4, bs=64, steps=12, amp=None, device='cpu'),
           dict(name='DeiT-S 224px bf16', arch='deit_small_patch16_224', size=224, patch=16, bs=128, steps=25, amp='bf16', device='cuda')]


@call_parse
def main(rounds:int=8, # fits per variant (each of config steps)
         out:Path=None, # folder for a JSON of the results
         memory_only:bool=False, # CPU peak memory only, no step times
         peak_rss_child:Annotated[list, dict(nargs=2, metavar=('CONFIG', 'SAR'), type=str, help=argparse.SUPPRESS)]=None, # (internal: one measuring child)
        ):
    "SAR's cost per training step and peak memory, CPU and GPU"
    if peak_rss_child: child_peak_rss(peak_rss_child[0], bool(int(peak_rss_child[1]))); sys.exit()
    machine = machine_info()
    print(json.dumps(machine))
    if memory_only:
        config = CONFIGS[0]
        without, with_sar = cpu_peaks(config, 3)
        row = dict(config, device='cpu', peak_kind='process RSS', peak_without_mib=without, peak_with_mib=with_sar,
                   peak_overhead_pct=100 * (with_sar - without) / without)
        print(f"{config['name']:18} cpu  batch {config['bs']:3}: peak memory (process RSS) {without:.0f} -> {with_sar:.0f} MiB "
              f"({row['peak_overhead_pct']:+.2f}%)", flush=True)
        if out:
            out.mkdir(parents=True, exist_ok=True)
            (out/'train_step_memory.json').write_text(json.dumps(dict(machine=machine, rows=[row]), indent=1))
        sys.exit()
    rows = []
    for config in CONFIGS:
        if config['device'] == 'cuda' and not torch.cuda.is_available(): continue
        rows.append(measure(config, rounds, torch.device(config['device'])))
        r = rows[-1]
        mem = f"  peak memory ({r['peak_kind']}) {r['peak_without_mib']:.0f} -> {r['peak_with_mib']:.0f} MiB ({r['peak_overhead_pct']:+.2f}%)"
        print(f"{r['name']:18} {r['device']:4} batch {r['bs']:3}: without {r['without_ms']:8.1f} ms  with SAR {r['with_ms']:8.1f} ms"
              f"  overhead {r['overhead_pct']:+.1f}%  ({r['steps_timed']} steps each){mem}", flush=True)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out/f"train_step_{'gpu' if torch.cuda.is_available() else 'cpu'}.json").write_text(json.dumps(dict(machine=machine, rows=rows), indent=1))
