"""The sweep behind sar-train's defaults: `train` with SAR on the stratified 4,000-image Fashion-MNIST subset
(28x28, 4x4 patches), fit_one_cycle, validated once at the end on the 10,000 test images.

    python bench/default_sweep.py --threads 1 --out bench/results/default_sweep.jsonl RUN [RUN ...]

Each RUN is a JSON object: epochs, embed_dim, num_heads, depth, and optionally lr, bs, sar and aug: 'light' (fastai's
flips and zooms up to 1.1 on half of the images: sar_nb's default augmentation) or 'none'. One JSON line per run is
appended to --out, with the CPU model and the number of torch threads. The recorded sweep ran two one-thread
processes side by side on a 2-core machine, so its times are per process, not the wall time of one run alone (see
bench/train_speed.py for that). Its rows with aug 'heavy' (flips, rotations up to 10 degrees, zooms, warps and
lighting on 75% of the images: the augmentation sar_nb used before this sweep) were made by this script's earlier
version, which built its own data pipeline (git log -- bench/default_sweep.py); `train` offers only sar_nb's own.
"""
import json
from typing import Annotated
from fastcore.script import call_parse
from pathlib import Path
import torch
from sar_nb.train import TrainRun, ValidateAtEnd


def run(spec:dict)->dict:
    d = dict(spec)
    aug, epochs, lr, bs, sar = d.pop('aug', 'light'), d.pop('epochs'), d.pop('lr', None), d.pop('bs', 64), d.pop('sar', True)
    if aug not in ('light', 'none'): raise SystemExit(f"aug must be 'light' or 'none', got {aug!r}")
    trainer = TrainRun(n_train=4000, epochs=epochs, bs=bs, lr=lr, sar=sar, augment=aug == 'light', patch_size=4, seed=0,
                       valid_part=0, precision='fp32', quiet=True, **d)
    trainer.learn.add_cb(ValidateAtEnd())
    r = trainer.fit()
    return dict(spec, aug=aug, accuracy=round(r['accuracy'], 4), seconds=r['train_seconds'],
                threads=r['config']['torch_threads'], cpu=r['config']['cpu'])


@call_parse
def main(*runs:Annotated[dict, dict(nargs='+', type=json.loads, metavar='RUN')], # JSON objects: epochs, embed_dim, num_heads, depth; optionally lr, bs, sar, aug
         threads:int=None, # torch threads (default: torch's)
         out:Path=None, # JSON-lines file each run's row is appended to
        ):
    "The sweep behind sar-train's defaults: `train` with SAR on the stratified 4,000-image Fashion-MNIST subset"
    if threads: torch.set_num_threads(threads)
    for spec in runs:
        row = run(spec)
        print(json.dumps(row), flush=True)
        if out:
            with open(out, 'a') as f: f.write(json.dumps(row) + '\n')
