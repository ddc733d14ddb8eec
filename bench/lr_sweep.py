"""The learning-rate sweep behind sar_learner's default: `sar_nb.train.train` without SAR, a 6-block ViT-Tiny
(width 192, 3 heads) on the stratified 4,000-image Fashion-MNIST subset, 28x28, 4x4 patches, the default recipe
(fit_one_cycle, label smoothing 0.1, drop path 0.1, weight decay 0.05), 4 epochs, float32, validated on the 10,000
test images.

    python bench/lr_sweep.py --threads 1 --out bench/results    # the six runs of the table in nbs/04_learner.ipynb
    python bench/lr_sweep.py --runs 2e-3,64,aug     # one run: lr,batch,aug|noaug
"""
import json
from typing import Annotated
from fastcore.script import call_parse
from pathlib import Path
import torch
from sar_nb.train import train

RUNS = ['1e-3,64,aug', '2e-3,64,aug', '4e-3,64,aug', '1.4e-3,32,aug', '2e-3,32,aug', '2e-3,64,noaug']
MODEL = dict(arch='vit_tiny_patch16_224', depth=6, embed_dim=192, num_heads=3)

def run(lr, bs, aug, epochs=4, n_train=4000):
    r = train(n_train=n_train, epochs=epochs, bs=bs, lr=lr, augment=aug, sar=False, seed=0, valid_part=0, precision='fp32',
              quiet=True, **MODEL)  # quiet: one JSON line per run instead of fastai's bar and table
    return dict(lr=lr, bs=bs, augment=aug, accuracy=r['accuracy'], valid_loss=r['valid_loss'], seconds=r['train_seconds'],
                threads=r['config']['torch_threads'], cpu=r['config']['cpu'])

@call_parse
def main(runs:Annotated[list, dict(nargs='*', type=str, metavar='RUN')]=RUNS, # runs as lr,batch,aug|noaug (default: the six of the table)
         epochs:int=4, # of each run
         n_train:int=4000, # training-set size (smaller: smoke tests only)
         threads:int=None, # torch threads (default: torch's)
         out:Path=None, # folder for lr_sweep.json
        ):
    "The learning-rate sweep behind sar_learner's default"
    if threads: torch.set_num_threads(threads)
    rows = []
    for r in runs:
        lr, bs, aug = r.split(',')
        rows.append(run(float(lr), int(bs), aug == 'aug', epochs, n_train)); print(json.dumps(rows[-1]), flush=True)
    if out: out.mkdir(parents=True, exist_ok=True); (out/'lr_sweep.json').write_text(json.dumps(rows, indent=1))
