"""What SAR costs through fastai on this CPU: `sar_learner`'s default model with and without `SARCallback`.

    python bench/sar_cost.py --out bench/results      # 16 rounds (about 90 s on 2 cores); writes sar_cost_cpu.json
    python bench/sar_cost.py --smoke                  # tiny, for CI

Two learners on the same 2,048 Fashion-MNIST images (28 px, 7x7 grid, batch 64), one without SAR and one with it, each
warmed up by an epoch, then fit for `--epochs` epochs each in turn, `--rounds` times, in alternating order: the two fits
of a round are seconds apart, so that the machine's slow minutes (a shared VM's speed drifts by 10% and more) fall on
both. Training phases only (`PhaseTimer`; validation is excluded). The figure is the median over the rounds of each
round's overhead, with / without - 1, next to the medians of the images per second. Run it on a quiet machine: other work on the cores
(a study's workers) makes single rounds meaningless; pause them (`kill -STOP`) while it runs.
"""
import argparse, json, statistics
from pathlib import Path
import torch
from fastai.torch_core import set_seed
from sar_nb.data import fashion_mnist_dls
from sar_nb.data import valid_part
from sar_nb.learner import sar_learner, SMALL_VIT
from sar_nb.train import PhaseTimer, machine_info


def learner(dls, sar:bool):
    "`sar_learner`'s default model, with or without SAR, warmed up by one epoch (allocator, kernels, the labeller's first calls)"
    set_seed(0)
    learn = sar_learner(dls, sar=sar, precision='fp32', cbs=PhaseTimer())
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    return learn

def train_seconds(learn, epochs:int)->float:
    "Seconds in the training phases of a `fit` of `epochs` epochs"
    with learn.no_bar(), learn.no_logging(): learn.fit(epochs)
    return learn.phase_timer.train_s


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rounds', type=int, default=16)
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--n-train', type=int, default=2048)
    p.add_argument('--threads', type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument('--smoke', action='store_true', help='one round of one epoch on 256 images (CI)')
    p.add_argument('--out', type=Path, default=None, help='folder for sar_cost_cpu.json')
    args = p.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    rounds, epochs, n_train = (1, 1, 256) if args.smoke else (args.rounds, args.epochs, args.n_train)
    dls = fashion_mnist_dls(n_train=n_train, bs=64, download=False)
    dls.valid = valid_part(dls, 256)  # validation is not timed; keep it short
    images = epochs * len(dls.train) * dls.train.bs
    learners, per_round = {sar: learner(dls, sar) for sar in (False, True)}, []
    for r in range(rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        secs = {sar: train_seconds(learners[sar], epochs) for sar in order}
        per_round.append(dict(round=r, first='with' if order[0] else 'without', without_s=round(secs[False], 3), with_s=round(secs[True], 3),
                              overhead_pct=round(100 * (secs[True] / secs[False] - 1), 2)))
        print(json.dumps(per_round[-1]), flush=True)
    med = lambda k: statistics.median(r[k] for r in per_round)
    result = dict(machine=machine_info('cpu'),
                  setup=dict(model=SMALL_VIT, n_train=n_train, bs=64, img_size=28, grid=[7, 7], epochs=epochs, rounds=rounds, precision='fp32'),
                  without_images_per_s=round(images / med('without_s'), 1), with_images_per_s=round(images / med('with_s'), 1),
                  overhead_pct=round(med('overhead_pct'), 2), rounds=per_round)
    print(json.dumps({k: v for k, v in result.items() if k != 'rounds'}))
    if args.out and not args.smoke:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out/'sar_cost_cpu.json').write_text(json.dumps(result, indent=1))


if __name__ == '__main__': main()
