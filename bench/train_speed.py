"""Training speed on this machine: samples/s with and without SAR for the default and the study configurations,
the cost of validation (all 10,000 test images vs the 1,000-image part), and the wall time of the default run.

    python bench/train_speed.py --out bench/results            # everything (6 min + 2.5 min per default run, 2 cores)
    python bench/train_speed.py --smoke                        # tiny sizes, for CI
    python bench/train_speed.py --skip-speeds --default-runs 1 --default-args "--epochs 30" --jsonl F   # one other run

Speeds come from fastai fits (data pipeline, augmentation, callbacks included) of `--epochs` epochs, training
phases only (`PhaseTimer`), with and without SAR in turn, `--rounds` times; medians. The default run is
`sar-train --out <temporary folder>` in a fresh process, timed from start to exit, as a user runs it,
`--default-runs` times one after the other: the record is the median run's, `wall_seconds_all` every time (the
same machine's speed varies from minute to minute). `--default-args` adds options to that command (to compare
another choice; such runs are appended to `--jsonl`, never written to `default_run.json`).
"""
import json, shlex, statistics, subprocess, sys, tempfile, time
from typing import Annotated
from fastcore.script import call_parse
from pathlib import Path
from fastai.torch_core import set_seed
from sar_nb.data import fashion_mnist_dls, composite_dls
from sar_nb.data import valid_part
from sar_nb.learner import sar_learner, SMALL_VIT
from sar_nb.machine import machine_info
from sar_nb.train import PhaseTimer

CONFIGS = {  # name: (data, image size, patch size); the model is SMALL_VIT in every case
    'default (Fashion-MNIST 4k, 28 px, 7x7 grid)': ('fmnist', 28, 4),
    'study composites (48 px, 8x8 grid)': ('composites', 48, 6)}

def dls_for(kind, size, n_train):
    if kind == 'fmnist': return fashion_mnist_dls(n_train=n_train, img_size=size, bs=64, download=False)
    return composite_dls(n_train=n_train, n_valid=2000, img_size=size, bs=64)

def samples_per_second(dls, patch, sar, epochs):
    set_seed(0)
    learn = sar_learner(dls, patch_size=patch, sar=sar, precision='fp32', cbs=PhaseTimer())
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs)
    return epochs * len(dls.train) * dls.bs / learn.phase_timer.train_s, learn

def validation_seconds(learn, dls, n_part):
    with learn.no_bar():
        start = time.perf_counter(); learn.validate(); full = time.perf_counter() - start
        part = valid_part(dls, n_part)
        start = time.perf_counter(); learn.validate(dl=part); partial = time.perf_counter() - start
    return full, partial

def default_run(smoke, extra=()):
    "`sar-train` (plus `extra` options) in a fresh process: its wall time and what it reports"
    argv = [str(Path(sys.executable).parent/'sar-train')] + (['--n-train', '200', '--epochs', '1', '--depth', '1'] if smoke else []) + list(extra)
    with tempfile.TemporaryDirectory() as d:
        start = time.time()
        proc = subprocess.run(argv + ['--out', f'{d}/run'], capture_output=True, text=True)
        wall = time.time() - start
        if proc.returncode: raise RuntimeError(proc.stderr[-3000:])
        history = json.loads((Path(d)/'run'/'metrics.json').read_text())['history']  # what --out keeps: the learning curve
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return dict(command=' '.join(['sar-train'] + argv[1:] + ['--out', 'runs/default']), wall_seconds=round(wall, 1),
                accuracy=result['accuracy'], valid_images=result['valid_images'], spatial_entropy=result['spatial_entropy'],
                train_seconds=result['train_seconds'], train_samples_per_second=result['train_samples_per_second'],
                precision=result['config']['precision'], epochs=result['config']['epochs'], n_train=result['config']['n_train'], history=history,
                **{k: v for k, v in machine_info('cpu').items() if k in ('cpu', 'cores', 'torch', 'python')})

def time_default_runs(smoke, n, extra=()):
    "`default_run` `n` times in a row; the median run's figures, with every wall time and accuracy"
    runs = [default_run(smoke, extra) for _ in range(n)]
    middle = sorted(runs, key=lambda r: r['wall_seconds'])[(n - 1) // 2]  # the lower middle one for an even `n`
    return dict(middle, runs=n, wall_seconds_all=[r['wall_seconds'] for r in runs], accuracy_all=[r['accuracy'] for r in runs],
                train_samples_per_second_all=[r['train_samples_per_second'] for r in runs])

@call_parse
def main(rounds:int=2, # timed fits per configuration and arm
         epochs:int=2, # epochs of each timed fit
         smoke:bool=False, # tiny sizes, one round (for CI)
         skip_default_run:bool=False, # no default run
         skip_speeds:bool=False, # only the default run
         default_runs:int=3, # times the default run is timed (median reported)
         default_args:str='', # options added to the default command (a comparison, not the default)
         jsonl:Path=None, # append the default-run record to this file
         out:Path=None, # folder for train_speed_cpu.json and default_run.json
        ):
    "Training speed through fastai with and without SAR, and the default run as a user runs it"
    n_train, rounds, epochs = (256, 1, 1) if smoke else (4000, rounds, epochs)
    rows = []
    for name, (kind, size, patch) in list(CONFIGS.items())[:0 if skip_speeds else 1 if smoke else None]:
        dls = dls_for(kind, size, n_train)
        speeds = {False: [], True: []}
        for _ in range(rounds):
            for sar in (False, True): speed, learn = samples_per_second(dls, patch, sar, epochs); speeds[sar].append(speed)
        full, partial = validation_seconds(learn, dls, min(1000, len(dls.valid_ds) // 2)) if not smoke else (None, None)
        rows.append(dict(config=name, model=SMALL_VIT, n_train=len(dls.train_ds), without_sar=round(statistics.median(speeds[False]), 1),
                         with_sar=round(statistics.median(speeds[True]), 1), valid_all_seconds=full and round(full, 2), valid_images=len(dls.valid_ds),
                         valid_part_seconds=partial and round(partial, 2), valid_part_images=min(1000, len(dls.valid_ds) // 2)))
        rows[-1]['sar_cost_pct'] = round(100 * (rows[-1]['without_sar'] / rows[-1]['with_sar'] - 1), 1)
        print(json.dumps(rows[-1]), flush=True)
    machine = machine_info('cpu')
    extra = shlex.split(default_args)
    run = None if skip_default_run else time_default_runs(smoke, 1 if smoke else default_runs, extra)
    if run: print(json.dumps(run), flush=True)
    if run and jsonl:
        with open(jsonl, 'a') as f: f.write(json.dumps(run) + '\n')
    if out and not smoke:
        out.mkdir(parents=True, exist_ok=True)
        if rows: (out/'train_speed_cpu.json').write_text(json.dumps(dict(machine=machine, rounds=rounds, epochs=epochs, rows=rows), indent=1))
        if run and not extra: (out/'default_run.json').write_text(json.dumps(run, indent=1))
    print(json.dumps(dict(machine=machine, rows=len(rows), default_run=run is not None)))
