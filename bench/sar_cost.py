"""What SAR costs through fastai on this CPU: `sar_learner`'s default model, batch by batch with and without `SARCallback`.

    python bench/sar_cost.py --out bench/results      # 40 epochs (about 2 minutes on 2 cores); writes sar_cost_cpu.json
    python bench/sar_cost.py --smoke                  # tiny, for CI
    PYTHONPATH=/old/checkout python bench/sar_cost.py --out bench/results --tag before   # the same on older code

One `Learner` (`sar_learner(sar=False)`'s default model, fp32) on 2,048 Fashion-MNIST images (28 px, 7x7 grid, batch
64) with the `SARCallback` that `sar_learner` adds by default, switched on for every other training batch: batches
2i and 2i+1 make a pair, one with SAR and one without (which one alternates from epoch to epoch). Each batch is timed
from its `before_batch` to the next one's, so its time holds everything fastai does for it: the callbacks, the
forward and backward passes, the optimiser step and the loading of the next batch. The figure is the median over
the pairs of with / without - 1, with a distribution-free 95% interval for that median (order statistics); next to it
the ratio of the total times, and the images per second of each half.

Why pairs of batches and not whole fits in turn: this VM's speed drifts by 10-30% over seconds, and 32 rounds of
one-epoch fits in turn left an interval of about +-8 points around the median; two batches 70 ms apart see the same
machine. Why one learner and not one with SAR and one without: with two learners in one process, the one built
second trained slower in either role (profiled: its GELUs and matrix products took up to 2-3x as long, whichever of
the two had SAR), which an earlier version of this script charged to SAR.

Run it on a quiet machine: other work on the cores (a study's workers) adds noise; pause them (`kill -STOP`) while it runs.
"""
import json, statistics, time
from typing import Annotated
from fastcore.script import call_parse
from pathlib import Path
import torch
from scipy.stats import binom
from fastai.callback.core import Callback
from fastai.torch_core import set_seed
from sar_nb.data import fashion_mnist_dls, valid_part
from sar_nb.learner import sar_learner, SMALL_VIT
from sar_nb.callback import SARCallback
from sar_nb.machine import machine_info


def sar_batch(epoch:int, it:int)->bool:
    "Whether training batch `it` of `epoch` gets SAR: one of each pair (2i, 2i+1), the first in even epochs"
    return (it + epoch) % 2 == 0

class EveryOtherBatch(SARCallback):
    "`SARCallback` on the batches `sar_batch` picks; the others train as without it"
    def before_batch(self):
        self.active = sar_batch(self.epoch, self.iter)
        if self.active: super().before_batch()
    def after_loss(self):
        if self.active: super().after_loss()

class BatchCycles(Callback):
    "Seconds from each training batch's `before_batch` to the next one's (the last: to `after_train`), in `times[(epoch, iter)]`"
    order = -100  # before every other callback
    def before_fit(self): self.times = {}
    def before_train(self): self.start = None
    def _lap(self, it):
        now = time.perf_counter()
        if self.start is not None: self.times[(self.epoch, it)] = now - self.start
        self.start = now
    def before_batch(self):
        if self.training: self._lap(self.iter - 1)
    def after_train(self): self._lap(self.iter); self.start = None


def median_interval(values, level=0.95)->tuple:
    "A distribution-free interval for the median of `values`: order statistics j and n+1-j, P(Bin(n, 1/2) < j) <= (1-level)/2"
    x, n = sorted(values), len(values)
    j = int(binom.ppf((1 - level) / 2, n, 0.5))  # the number of values below the interval
    if j < 1: return x[0], x[-1]
    return x[j - 1], x[n - j]


def pair_overheads(times:dict)->list:
    "with / without - 1 (%) for each complete pair of batches (2i, 2i+1) in `BatchCycles.times`"
    out = []
    for (epoch, it), t in times.items():
        if it % 2 or (epoch, it + 1) not in times: continue
        other = times[(epoch, it + 1)]
        with_s, without_s = (t, other) if sar_batch(epoch, it) else (other, t)
        out.append(100 * (with_s / without_s - 1))
    return out


@call_parse
def main(epochs:int=40, # timed epochs
         n_train:int=2048, # training images
         threads:int=None, # torch threads (default: torch's)
         smoke:bool=False, # two epochs on 256 images (CI)
         out:Path=None, # folder for sar_cost_cpu.json
         tag:str=None, # names the results file sar_cost_cpu_TAG.json (e.g. a run on older code)
        ):
    "What SAR adds to a CPU training step through fastai, measured on alternating batches of one learner"
    if threads: torch.set_num_threads(threads)
    epochs, n_train = (2, 256) if smoke else (epochs, n_train)
    dls = fashion_mnist_dls(n_train=n_train, bs=64, download=False)
    dls.valid = valid_part(dls, 256)  # validation is not timed; keep it short
    set_seed(0)
    cycles, sar = BatchCycles(), EveryOtherBatch()  # sar_learner's default λ and schedule
    learn = sar_learner(dls, sar=False, precision='fp32', cbs=[cycles, sar])
    with learn.no_bar(), learn.no_logging(): learn.fit(1)  # warm-up: allocator, kernels, the labeller's first calls
    with learn.no_bar(), learn.no_logging(): learn.fit(epochs)
    overheads = pair_overheads(cycles.times)
    low, high = median_interval(overheads)
    with_t = [t for (e, i), t in cycles.times.items() if sar_batch(e, i)]
    without_t = [t for (e, i), t in cycles.times.items() if not sar_batch(e, i)]
    result = dict(machine=machine_info('cpu'), tag=tag,
                  setup=dict(model=SMALL_VIT, n_train=n_train, bs=64, img_size=28, grid=[7, 7], epochs=epochs, precision='fp32',
                             weight=sar.weight, design='one learner, SARCallback on one batch of each pair (2i, 2i+1)'),
                  pairs=len(overheads), overhead_pct=round(statistics.median(overheads), 2), overhead_pct_95=[round(low, 2), round(high, 2)],
                  total_time_overhead_pct=round(100 * (sum(with_t) / len(with_t) / (sum(without_t) / len(without_t)) - 1), 2),
                  without_images_per_s=round(64 * len(without_t) / sum(without_t), 1), with_images_per_s=round(64 * len(with_t) / sum(with_t), 1),
                  median_batch_ms=dict(without_sar=round(1e3 * statistics.median(without_t), 2), with_sar=round(1e3 * statistics.median(with_t), 2)))
    print(json.dumps(result))
    if out and not smoke:
        out.mkdir(parents=True, exist_ok=True)
        (out/f"sar_cost_cpu{'_' + tag if tag else ''}.json").write_text(json.dumps(result, indent=1))
