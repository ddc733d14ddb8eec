"""The controlled study of SAR at convergence on small training sets (the results page: nbs/06_results.ipynb).

    python study/run_study.py                           # every job of the CPU study not yet in the CSV
    python study/run_study.py --threads 1 &             # two workers on a 2-core machine: run it twice
    python study/run_study.py --datasets fmnist_1k --seeds 0 --arms baseline sar    # a subset

Every run trains the same model with the same recipe (`sar_nb.train.sar_learner`, the `sar-train` defaults)
until the baseline has plateaued; only the arm changes:

- `baseline`: no SAR;
- `sar`: SAR with the paper's lambda = 0.01 and schedule;
- `sar_tuned`: SAR with the lambda that won the sweep (0.01 / 0.1 / 1) on a validation split carved out of the
  training subset (20%, stratified; seed 0) -- never on the test set;
- `sar_nosn`: SAR (lambda 0.01) with the "nosn" variant (fewer seeds).

A seed fixes the subset, the initialisation and the order of the batches, so runs of the same seed are paired.
Each finished job appends one row to its CSV (`study.csv`, `lambda_sweep.csv`) and its accuracy curve to
`curves.csv`, so the study can be stopped and resumed; several workers can share the CSVs (they claim jobs in
`--claims`). Test accuracy, the test images' spatial entropy and (composites) the best-head Jaccard are measured
once, after training, on the full test set; the curve is the accuracy on a stratified 1,000-image part of the test
set, every few epochs, for the plateau check only.
"""
import argparse, csv, json, os, platform, time
from pathlib import Path

import numpy as np, torch
from fastai.callback.core import Callback, CancelValidException
from fastai.data.core import Datasets, DataLoaders
from fastai.torch_core import set_seed
from sar_nb.data import fashion_mnist_dls, stratified_subset
from sar_nb.segmentation import composite_dls, AttentionJaccard
from sar_nb.train import sar_learner, cpu_model

# dataset: (kind, training images, image size, patch size, epochs)
DATASETS = {'fmnist_1k': ('fashion_mnist', 1000, 28, 4, 120), 'fmnist_4k': ('fashion_mnist', 4000, 28, 4, 50),
            'composites_4k': ('composites', 4000, 48, 6, 50)}
MODEL = dict(arch='vit_tiny_patch16_224', depth=4, embed_dim=64, num_heads=4)  # the sar-train default model
BS = 64
ARMS = {'baseline': dict(sar=False, nosn=False), 'sar': dict(sar=True, nosn=False, weight=0.01),
        'sar_tuned': dict(sar=True, nosn=False), 'sar_nosn': dict(sar=True, nosn=True, weight=0.01)}
SWEEP_WEIGHTS, SWEEP_SEED, SWEEP_VALID = (0.01, 0.1, 1.0), 0, 0.2
MAIN_SEEDS, NOSN_SEEDS = (0, 1, 2, 3, 4), (0, 1)
CURVE_POINTS, CURVE_PART = 30, 1000
FIELDS = ['dataset', 'n_train', 'arm', 'seed', 'weight', 'epochs', 'accuracy', 'valid_entropy', 'train_entropy', 'jaccard',
          'valid_loss', 'n_test', 'seconds', 'threads', 'cpu', 'config']
SWEEP_FIELDS = ['dataset', 'n_train', 'n_fit', 'n_holdout', 'seed', 'weight', 'epochs', 'holdout_accuracy', 'holdout_entropy',
                'seconds', 'threads', 'cpu']
CURVE_FIELDS = ['dataset', 'arm', 'seed', 'weight', 'epoch', 'part_accuracy']


class ValidateAtEnd(Callback):
    "Skip fastai's validation except after the last epoch (the curve comes from `Curve`)"
    order = 0
    def before_validate(self):
        if self.epoch < self.n_epoch - 1: raise CancelValidException()


class Curve(Callback):
    "Accuracy on a fixed part of the test set every `every` epochs and after the last (eval mode, no gradients)"
    order = 90
    def __init__(self, dl, every): self.dl, self.every, self.points = dl, every, []
    def after_epoch(self):
        if (self.epoch + 1) % self.every and self.epoch != self.n_epoch - 1: return
        model, correct, total = self.learn.model, 0, 0
        was_training = model.training; model.eval()
        with torch.no_grad():
            for xb, yb, *_ in self.dl:
                correct += (model(xb).argmax(-1) == yb).sum().item(); total += len(yb)
        model.train(was_training)
        self.points.append((self.epoch + 1, correct / total))


def _subset(ds, items, split_idx):
    "A `Datasets` of `items` with the pipelines of `ds` (split_idx 0: training transforms, 1: validation)"
    return Datasets(tls=[tl._new(items, split_idx=split_idx) for tl in ds.tls], n_inp=ds.n_inp)


def _part_dl(dls, n, seed=0):
    "A stratified part of the validation set, with the validation transforms"
    items = list(dls.valid_ds.items)
    idx = stratified_subset(np.array([it[1] for it in items]), n, seed)
    return dls.valid.new(_subset(dls.valid_ds, [items[i] for i in idx], 1))


def make_dls(dataset, seed, holdout=False):
    "The training subset (or, for the sweep, 80% of it) and the test set (or the held-out 20%)"
    kind, n_train, size, patch, epochs = DATASETS[dataset]
    build = (lambda **kw: composite_dls(img_size=size, **kw)) if kind == 'composites' else \
            (lambda **kw: fashion_mnist_dls(img_size=size, download=False, **kw))
    dls = build(n_train=n_train, bs=BS, seed=seed)
    if not holdout: return dls, patch, epochs
    # the sweep: hold out a stratified 20% of the training subset, validate on it
    items = list(dls.train_ds.items)
    labels = np.array([it[1] for it in items])
    hold = set(stratified_subset(labels, round(SWEEP_VALID * len(items)), seed + 1000).tolist())
    fit_items = [it for i, it in enumerate(items) if i not in hold]
    hold_items = [it for i, it in enumerate(items) if i in hold]
    return DataLoaders(dls.train.new(_subset(dls.train_ds, fit_items, 0)), dls.valid.new(_subset(dls.valid_ds, hold_items, 1)),
                       device=dls.device), patch, epochs


def fit(dls, patch, epochs, seed, arm_kwargs, kind, curve=True):
    cbs = [ValidateAtEnd()] + ([AttentionJaccard()] if kind == 'composites' else [])
    curve_cb = Curve(_part_dl(dls, CURVE_PART), max(1, epochs // CURVE_POINTS)) if curve else None
    set_seed(seed)  # the same initialisation and batch order in every arm
    learn = sar_learner(dls, patch_size=patch, cbs=cbs + ([curve_cb] if curve_cb else []), **arm_kwargs, **MODEL)
    start = time.time()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs)
    final = dict(zip(learn.recorder.metric_names[1:-1], learn.recorder.values[-1]))
    return final, round(time.time() - start, 1), (curve_cb.points if curve_cb else [])


def append(path, fields, rows):
    new = not path.exists()
    with open(path, 'a', newline='') as f:
        w = csv.DictWriter(f, fieldnames=fields)
        if new: w.writeheader()
        for r in rows: w.writerow(r)


def read(path):
    if not path.exists(): return []
    with open(path) as f: return list(csv.DictReader(f))


def tuned_weight(out, dataset):
    "The sweep's winner on the held-out split (ties: the smaller lambda), or None while the sweep is incomplete"
    rows = [r for r in read(out/'lambda_sweep.csv') if r['dataset'] == dataset]
    if {float(r['weight']) for r in rows} != set(SWEEP_WEIGHTS): return None
    return max(rows, key=lambda r: (float(r['holdout_accuracy']), -float(r['weight'])))['weight']


def jobs(datasets, arms, seeds):
    "Seed-major: seed 0 of every arm first; the sweep right after seed 0's baseline and SAR runs"
    out = [('run', d, a, 0) for d in datasets for a in ('baseline', 'sar') if a in arms and 0 in seeds]
    if 'sar_tuned' in arms: out += [('sweep', d, w, SWEEP_SEED) for d in datasets for w in SWEEP_WEIGHTS]
    for s in seeds:
        out += [('run', d, a, s) for d in datasets for a in ('baseline', 'sar', 'sar_tuned') if a in arms and ('run', d, a, s) not in out]
    out += [('run', d, 'sar_nosn', s) for s in seeds if s in NOSN_SEEDS for d in datasets if 'sar_nosn' in arms]
    return out


def do_job(job, out, threads, cpu):
    what, dataset, arm, seed = job
    kind, n_train = DATASETS[dataset][:2]
    if what == 'sweep':
        dls, patch, epochs = make_dls(dataset, seed, holdout=True)
        final, seconds, _ = fit(dls, patch, epochs, seed, dict(sar=True, weight=arm), kind, curve=False)
        row = dict(dataset=dataset, n_train=n_train, n_fit=len(dls.train.dataset), n_holdout=len(dls.valid.dataset), seed=seed,
                   weight=arm, epochs=epochs, holdout_accuracy=final['accuracy'], holdout_entropy=final['valid_entropy'],
                   seconds=seconds, threads=threads, cpu=cpu)
        append(out/'lambda_sweep.csv', SWEEP_FIELDS, [row])
        return row
    kwargs = dict(ARMS[arm])
    if arm == 'sar_tuned': kwargs['weight'] = float(tuned_weight(out, dataset))
    dls, patch, epochs = make_dls(dataset, seed)
    final, seconds, points = fit(dls, patch, epochs, seed, kwargs, kind)
    weight = kwargs.get('weight', 0.) if kwargs['sar'] else 0.
    row = dict(dataset=dataset, n_train=n_train, arm=arm, seed=seed, weight=weight, epochs=epochs, accuracy=final['accuracy'],
               valid_entropy=final['valid_entropy'], train_entropy=final.get('sar_entropy'), jaccard=final.get('jaccard'),
               valid_loss=final['valid_loss'], n_test=len(dls.valid_ds), seconds=seconds, threads=threads, cpu=cpu,
               config=json.dumps(dict(MODEL, bs=BS, patch=patch, img_size=DATASETS[dataset][2])))
    append(out/'curves.csv', CURVE_FIELDS, [dict(dataset=dataset, arm=arm, seed=seed, weight=weight, epoch=e, part_accuracy=a)
                                           for e, a in points])
    append(out/'study.csv', FIELDS, [row])
    return row


def claim(claims, job):
    "Take `job` for this worker (False if another worker has it)"
    claims.mkdir(parents=True, exist_ok=True)
    try: os.close(os.open(claims/('-'.join(map(str, job)) + '.claim'), os.O_CREAT | os.O_EXCL)); return True
    except FileExistsError: return False


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--datasets', nargs='*', default=list(DATASETS), choices=list(DATASETS))
    p.add_argument('--arms', nargs='*', default=list(ARMS), choices=list(ARMS))
    p.add_argument('--seeds', nargs='*', type=int, default=list(MAIN_SEEDS))
    p.add_argument('--epochs', type=int, default=None, help='override every dataset\'s epochs (smoke tests only)')
    p.add_argument('--n-train', type=int, default=None, help='override every dataset\'s training-set size (smoke tests only)')
    p.add_argument('--threads', type=int, default=None, help='torch threads of this worker (default: torch\'s)')
    p.add_argument('--out', type=Path, default=Path(__file__).parent/'results'/'convergence', help='folder of the CSVs')
    p.add_argument('--claims', type=Path, default=None, help='folder where workers claim jobs (default: a temporary folder per --out)')
    args = p.parse_args()
    if args.epochs or args.n_train:
        DATASETS = {k: (v[0], args.n_train or v[1], v[2], v[3], args.epochs or v[4]) for k, v in DATASETS.items()}
        CURVE_PART = 200
    if args.threads: torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    claims = args.claims or Path('/tmp')/('sar_nb_claims_' + str(abs(hash(str(args.out.resolve())))))
    threads, cpu = torch.get_num_threads(), cpu_model()
    print(json.dumps(dict(python=platform.python_version(), torch=torch.__version__, threads=threads, cpu=cpu, model=MODEL,
                          datasets=DATASETS)), flush=True)
    pending = jobs(args.datasets, args.arms, args.seeds)
    while pending:
        done = {('run', r['dataset'], r['arm'], int(r['seed'])) for r in read(args.out/'study.csv')} | \
               {('sweep', r['dataset'], float(r['weight']), int(r['seed'])) for r in read(args.out/'lambda_sweep.csv')}
        pending = [j for j in pending if j not in done]
        # the tuned arm waits for the sweep; where the sweep chose the paper's lambda, it is the `sar` arm (not re-run)
        pending = [j for j in pending if not (j[2] == 'sar_tuned' and tuned_weight(args.out, j[1]) in ('0.01', 0.01))]
        ready = [j for j in pending if not (j[2] == 'sar_tuned' and tuned_weight(args.out, j[1]) is None)]
        job = next((j for j in ready if claim(claims, j)), None)
        if job is None:
            if all((claims/('-'.join(map(str, j)) + '.claim')).exists() for j in pending): break  # the rest is with other workers
            time.sleep(20); continue  # the tuned arm waits for the sweep
        row = do_job(job, args.out, threads, cpu)
        print(json.dumps({k: v for k, v in row.items() if k not in ('config', 'cpu')}), flush=True)
