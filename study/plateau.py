"""Had the first study's baseline plateaued? Its 4k baselines trained twice as long, measured on the full test set.

    python study/plateau.py --threads 1 &      # two workers on a 2-core machine: run it twice
    python study/plateau.py --datasets fmnist_4k --seeds 0 --factor 2

The first study (`results/convergence/`) trained 50 epochs on 4k images and drew its accuracy curve from a 1,000-image
part of the test set, too noisy to tell whether the last fifth of training adds half a point. Here the baseline of the
4k settings (its largest) is trained with the same recipe, seed for seed, for `factor` times that study's epochs, and
its accuracy is measured on the **full** test set every few epochs (eval mode, no gradients). It answers two questions,
on the study page (nbs/08_study.ipynb):

- within one run, what the last fifth of training adds (accuracy at the end minus accuracy at 80% of the epochs);
- across budgets, whether twice the first study's epochs end higher than its runs of the same seed (same training
  subset and initialisation).

It showed that they had not plateaued, which is why `run_study.py` now trains 150 epochs on 4k images (and measures
the full test set at 80% of every run itself). Each finished run appends its curve to `plateau.csv` (one row per
measured epoch, all written together), so the check can be stopped and resumed; workers claim runs in `--claims`.
"""
import argparse, csv, json
from pathlib import Path

import torch
from sar_nb.train import TrainRun, ValidateAtEnd, machine_info
from run_study import ARMS, FullCurve, run_config, smoke_datasets, claim, claims_folder, read

FIRST_STUDY_EPOCHS = {'fmnist_4k': 50, 'composites_4k': 50}  # the budget this check is about

FIELDS = ['dataset', 'seed', 'epochs', 'epoch', 'test_accuracy', 'n_test', 'seconds', 'threads', 'cpu']


def curve_epochs(epochs, every):
    "Where to measure: every `2*every` epochs in the first half, every `every` in the second, at 80% of the epochs (the plateau criterion's reference point) and at the end"
    return sorted({e for e in range(2*every, epochs // 2 + 1, 2*every)} | {e for e in range(epochs // 2, epochs + 1, every)}
                  | {round(0.8 * epochs), epochs})


def run(dataset, seed, epochs, every, datasets=None):
    "The first study's baseline of `dataset` and `seed` (same subset, initialisation and recipe), trained for `epochs`"
    config = dict(run_config(dataset, seed, ARMS['baseline'], datasets=datasets), epochs=epochs, valid_part=0)
    trainer = TrainRun(quiet=True, **config)
    curve = FullCurve(curve_epochs(epochs, every))  # the curve: the full test set; fastai validates after the last epoch only
    trainer.learn.add_cbs([ValidateAtEnd(), curve])
    result = trainer.fit()
    return curve.points, len(trainer.dls.valid_ds), result['train_seconds']


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--datasets', nargs='*', default=list(FIRST_STUDY_EPOCHS), choices=list(FIRST_STUDY_EPOCHS))
    p.add_argument('--seeds', nargs='*', type=int, default=[0, 1, 2, 3, 4])
    p.add_argument('--factor', type=int, default=2, help="times the study's epochs")
    p.add_argument('--every', type=int, default=5, help='measure the full test set every this many epochs')
    p.add_argument('--epochs', type=int, default=None, help="override the study's epochs (smoke tests only)")
    p.add_argument('--n-train', type=int, default=None, help="override the training-set size (smoke tests only)")
    p.add_argument('--threads', type=int, default=None, help="torch threads of this worker (default: torch's)")
    p.add_argument('--out', type=Path, default=Path(__file__).parent/'results'/'convergence', help='folder of plateau.csv')
    p.add_argument('--claims', type=Path, default=None, help='folder where workers claim runs (default: a temporary folder per --out)')
    args = p.parse_args()
    datasets = smoke_datasets(args.epochs, args.n_train) if args.epochs or args.n_train else None
    epochs = {d: (args.epochs or FIRST_STUDY_EPOCHS[d]) * args.factor for d in FIRST_STUDY_EPOCHS}  # --epochs replaces the first study's
    if args.threads: torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out/'plateau.csv'
    claims = args.claims or claims_folder(args.out, 'sar_nb_plateau_')
    machine = machine_info()
    threads, cpu = machine['torch_threads'], machine['cpu']
    print(json.dumps(machine), flush=True)
    for seed in args.seeds:  # seed-major: every dataset gets its first seeds first
        for dataset in args.datasets:
            job = ('plateau', dataset, seed, args.factor)
            if any(r['dataset'] == dataset and int(r['seed']) == seed and int(r['epochs']) == epochs[dataset]
                   for r in read(path)) or not claim(claims, job): continue
            points, n_test, seconds = run(dataset, seed, epochs[dataset], args.every, datasets)
            rows = [dict(dataset=dataset, seed=seed, epochs=epochs[dataset], epoch=e, test_accuracy=a, n_test=n_test, seconds=seconds,
                         threads=threads, cpu=cpu) for e, a in points]
            new = not path.exists()
            with open(path, 'a', newline='') as f:
                w = csv.DictWriter(f, fieldnames=FIELDS)
                if new: w.writeheader()
                w.writerows(rows)
            print(json.dumps(dict(dataset=dataset, seed=seed, epochs=epochs[dataset], seconds=seconds, curve=points[-4:])), flush=True)
