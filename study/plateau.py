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
import csv, json
from typing import Annotated
from fastcore.script import call_parse
from pathlib import Path

import torch
from sar_nb.machine import machine_info
from sar_nb.train import TrainRun, ValidateAtEnd
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


@call_parse
def main(datasets:Annotated[list, dict(nargs='*', type=str, choices=list(FIRST_STUDY_EPOCHS))]=list(FIRST_STUDY_EPOCHS), # the datasets to run
         seeds:Annotated[list, dict(nargs='*', type=int, metavar='SEED')]=[0, 1, 2, 3, 4], # the seeds to run
         factor:int=2, # times the study's epochs
         every:int=5, # measure the full test set every this many epochs
         epochs:int=None, # override the study's epochs (smoke tests only)
         n_train:int=None, # override the training-set size (smoke tests only)
         threads:int=None, # torch threads of this worker (default: torch's)
         out:Path=Path(__file__).parent/'results'/'convergence', # folder of plateau.csv
         claims:Path=None, # folder where workers claim runs (default: a temporary folder per --out)
        ):
    "How far the first study's runs were from their plateau: each run trained `factor` times longer, the full test set measured every few epochs"
    smoke = smoke_datasets(epochs, n_train) if epochs or n_train else None
    plan = {d: (epochs or FIRST_STUDY_EPOCHS[d]) * factor for d in FIRST_STUDY_EPOCHS}  # --epochs replaces the first study's
    if threads: torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    path = out/'plateau.csv'
    claims = claims or claims_folder(out, 'sar_nb_plateau_')
    machine = machine_info()
    n_threads, cpu = machine['torch_threads'], machine['cpu']
    print(json.dumps(machine), flush=True)
    for seed in seeds:  # seed-major: every dataset gets its first seeds first
        for dataset in datasets:
            job = ('plateau', dataset, seed, factor)
            if any(r['dataset'] == dataset and int(r['seed']) == seed and int(r['epochs']) == plan[dataset]
                   for r in read(path)) or not claim(claims, job): continue
            points, n_test, seconds = run(dataset, seed, plan[dataset], every, smoke)
            rows = [dict(dataset=dataset, seed=seed, epochs=plan[dataset], epoch=e, test_accuracy=a, n_test=n_test, seconds=seconds,
                         threads=n_threads, cpu=cpu) for e, a in points]
            new = not path.exists()
            with open(path, 'a', newline='') as f:
                w = csv.DictWriter(f, fieldnames=FIELDS)
                if new: w.writeheader()
                w.writerows(rows)
            print(json.dumps(dict(dataset=dataset, seed=seed, epochs=plan[dataset], seconds=seconds, curve=points[-4:])), flush=True)
