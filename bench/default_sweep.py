"""The sweep behind sar-train's defaults: a ViT with SAR on the stratified 4,000-image Fashion-MNIST subset
(28x28, 4x4 patches), fit_one_cycle, validated once at the end on the 10,000 test images.

    python bench/default_sweep.py --threads 1 --out bench/results/default_sweep.jsonl RUN [RUN ...]

Each RUN is a JSON object: epochs, embed_dim, num_heads, depth, and optionally lr, bs, sar and aug: 'heavy' (the
augmentation sar_nb used before this sweep: flips, rotations up to 10 degrees, zooms, warps and lighting, on 75%
of the images), 'light' (flips and zooms up to 1.1 on half of them: sar_nb's default since) or 'none'. One JSON
line per run is appended to --out, with the CPU model and the number of torch threads. The recorded sweep ran two
one-thread processes side by side on a 2-core machine, so its times are per process, not the wall time of one
run alone (see bench/train_speed.py for that).
"""
import argparse, json, sys, time
from pathlib import Path
import torch
from fastai.vision.all import Callback, CancelValidException, IntToFloatTensor, Pipeline, aug_transforms, set_seed
from sar_nb.data import fashion_mnist_dls
from sar_nb.train import sar_learner, cpu_model

AUG = dict(heavy=dict(do_flip=True, max_rotate=10., max_zoom=1.1, max_warp=0.1, max_lighting=0.2, p_affine=0.75, p_lighting=0.75),
           light=dict(do_flip=True, max_rotate=0., max_zoom=1.1, max_warp=0., max_lighting=0., p_affine=0.5))

class ValidateAtEnd(Callback):
    order = 0
    def before_validate(self):
        if self.epoch < self.n_epoch - 1: raise CancelValidException()

def run(spec:dict)->dict:
    d = dict(spec)
    aug, epochs, lr, bs, sar = d.pop('aug', 'heavy'), d.pop('epochs'), d.pop('lr', None), d.pop('bs', 64), d.pop('sar', True)
    set_seed(0)
    dls = fashion_mnist_dls(n_train=4000, bs=bs, augment=aug != 'none', download=False)
    if aug != 'none':
        dls.train.after_batch = Pipeline([IntToFloatTensor(), *aug_transforms(**AUG[aug]), dls.train.after_batch.fs[-1]])
    set_seed(0)
    learn = sar_learner(dls, patch_size=4, cbs=[ValidateAtEnd()], sar=sar, lr=lr, precision='fp32', **d)
    start = time.time()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs)
    return dict(spec, aug=aug, accuracy=round(float(learn.recorder.values[-1][2]), 4), seconds=round(time.time() - start, 1),
                threads=torch.get_num_threads(), cpu=cpu_model())

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('runs', nargs='+', type=json.loads)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--out', type=Path, default=None)
    args = p.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    for spec in args.runs:
        row = run(spec)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, 'a') as f: f.write(json.dumps(row) + '\n')
