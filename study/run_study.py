"""The controlled study of SAR on small training sets, at a fixed budget of epochs (the study page: nbs/08_study.ipynb).

    python study/run_study.py --preregistered --threads 1 --until 15:20 &   # the confirmatory study (PREREGISTRATION.md); twice
    python study/run_study.py                           # every job of the first (exploratory) study not yet in the CSV
    python study/run_study.py --threads 1 &             # two workers on a 2-core machine: run it twice
    python study/run_study.py --datasets fmnist_1k --seeds 0 --arms baseline sar    # a subset

Every run is what `sar_nb.train.train` (and `sar-train`) does, through its `TrainRun`, with the same model and
recipe, for a fixed number of epochs (the baselines still gain about half a point in the last fifth: the page says so);
only the arm changes:

- `baseline`: no SAR;
- `sar`: SAR with the paper's lambda = 0.01 and schedule;
- `sar_tuned`: SAR with the lambda that won the sweep (0.01 / 0.1 / 1) on a validation split carved out of the
  training subset (`train(holdout=0.2)`: 20%, stratified; seed 0) -- never on the test set;
- `nosn`: the "nosn" block alone (the last block without its attention residual and norm), no SAR;
- `sar_nosn`: SAR (lambda 0.01) with the "nosn" block -- what the released code trains (`--use-blob --use-nosn`).

With `baseline`, `sar`, `nosn` and `sar_nosn` the arms make a paired 2x2 design (SAR x nosn).

The grid study (`--datasets composites_1k_g14 composites_1k_g8 --arms baseline nosn sar_nosn --seeds 0 1 2 3 4`; a
14x14 step costs 3-5x an 8x8 one on the CPU, about 45-60 minutes a run) trains on the same 1k composite scenes at
56 px, cut into 4-px patches (14x14, the grid the paper's DeiT-S/16 sees at 224 px) or 7-px patches (8x8), so that only
the grid differs. Its arms are those the 2x2 design showed matter: nosn carries the composites' gain there, so the grid
study runs nosn, not SAR alone.

A seed fixes the subset, the initialisation and the order of the batches (`train` seeds before it builds the
loaders and again before the model), so runs of the same seed are paired. Each finished job appends one row to its
CSV (`study.csv`, `lambda_sweep.csv`) and its accuracy curve to `curves.csv`, so the study can be stopped and resumed;
several workers can share the CSVs (they claim jobs in `--claims`). Test accuracy, the test images' spatial entropy
and (composites) the best-head Jaccard are measured once, after training, on the full test set; the curve is the
accuracy on a stratified 1,000-image part of the test set after every epoch but the last (`valid_images` says which).
To show the plateau, every run also measures the full test set at 80% of its epochs (`accuracy_at_80`): the last
fifth of training adds `accuracy - accuracy_at_80`.

Runs go to the GPU when there is one (`train`'s default); the `device` column says where each ran ('cpu', or 'cuda:'
and the GPU's model), the `cpu` column the host's CPU. On a lent GPU machine, `study/gpu_study.sh` runs many workers
side by side (bench/gpu_device.md); a dataset's arms should run on one kind of device, since the augmentation draws
its random numbers on the device that runs it. A job counts as done only where a row of the same device ran it (a
CPU worker re-runs a job that only a GPU has run), so that a pair never crosses devices. `--until HH:MM` starts a run
only if the runs of its dataset on this machine (median time, +15%) say it will finish by then: a session that ends
kills its workers, and a half-done run is lost.

`--preregistered` runs the plan in `preregistration.json` (the confirmatory family: datasets, arms, seeds), seed by
seed, so that two workers on one machine run the arms of one seed together.

The first study (`results/convergence/`, 51 runs) was made by an earlier version of this script: 120 epochs on 1k
images and 50 on 4k, which `plateau.py` showed was short of the 4k baselines' plateau; and it built the loaders before
seeding, so its runs of one seed share the subset and the initialisation, not the batch order.
"""
import hashlib, tempfile, csv, json, os, sys, time
from typing import Annotated
from fastcore.script import call_parse
from pathlib import Path

import torch
from fastai.callback.core import Callback
from sar_nb.machine import machine_info
from sar_nb.train import TrainRun

# dataset: (sar_nb dataset, training images, image size, patch size, epochs). The two 56-px composites are the same
# scenes (same seed, same size) cut into 4-px patches (14x14, the grid DeiT-S/16 sees at 224 px) or 7-px ones (8x8)
DATASETS = {'fmnist_1k': ('fashion_mnist', 1000, 28, 4, 300), 'fmnist_4k': ('fashion_mnist', 4000, 28, 4, 150),
            'composites_4k': ('composites', 4000, 48, 6, 150),
            'composites_1k_g14': ('composites', 1000, 56, 4, 300), 'composites_1k_g8': ('composites', 1000, 56, 7, 300)}
GRID_DATASETS = ('composites_1k_g14', 'composites_1k_g8')  # the grid study: not in the default --datasets (on a GPU)
MODEL = dict(arch='vit_tiny_patch16_224', depth=4, embed_dim=64, num_heads=4)  # sar-train's default model when the study began: pinned
# here, not read from `SMALL_VIT`, so that a later change of the default cannot change what the study's runs train
BS = 64
PRECISION = 'fp32'  # fixed for every run: 'auto' decides by a timing, which other load on the machine can flip
ARMS = {'baseline': dict(sar=False, nosn=False), 'sar': dict(sar=True, nosn=False, weight=0.01),
        'sar_tuned': dict(sar=True, nosn=False), 'sar_nosn': dict(sar=True, nosn=True, weight=0.01),
        'nosn': dict(sar=False, nosn=True)}
SWEEP_WEIGHTS, SWEEP_SEED, SWEEP_VALID = (0.01, 0.1, 1.0), 0, 0.2
MAIN_SEEDS = (0, 1, 2, 3, 4)
CURVE_PART = 1000
FIELDS = ['dataset', 'n_train', 'arm', 'seed', 'weight', 'epochs', 'accuracy', 'accuracy_at_80', 'valid_entropy', 'train_entropy', 'jaccard',
          'valid_loss', 'n_test', 'seconds', 'threads', 'cpu', 'config', 'device']
SWEEP_FIELDS = ['dataset', 'n_train', 'n_fit', 'n_holdout', 'seed', 'weight', 'epochs', 'holdout_accuracy', 'holdout_entropy',
                'seconds', 'threads', 'cpu', 'device']
CURVE_FIELDS = ['dataset', 'arm', 'seed', 'weight', 'epoch', 'accuracy', 'valid_images']


class FullCurve(Callback):
    "Accuracy on the whole validation set after the epochs in `at` (eval mode, no gradients)"
    order = 90
    def __init__(self, at): self.at, self.points = set(at), []
    def after_epoch(self):
        if self.epoch + 1 not in self.at: return
        model, correct, total = self.learn.model, 0, 0
        was_training = model.training; model.eval()
        with torch.no_grad():
            for xb, yb, *_ in self.dls.valid:
                correct += (model(xb).argmax(-1) == yb).sum().item(); total += len(yb)
        model.train(was_training)
        self.points.append((self.epoch + 1, correct / total))


class Progress(Callback):
    "A line on stderr every `every` epochs (`--progress`): how far a long run is, and how fast"
    order = 95
    def __init__(self, job, every=10): self.job, self.every = job, every
    def before_fit(self): self.start = time.time()
    def after_epoch(self):
        if (self.epoch + 1) % self.every == 0:
            print(f"{self.job}: epoch {self.epoch + 1}/{self.n_epoch}, {time.time() - self.start:.0f} s", file=sys.stderr, flush=True)


def at_80(epochs): return round(0.8 * epochs)


def this_device()->str:
    "What this worker runs on, as the `device` column writes it"
    return f"cuda: {torch.cuda.get_device_name()}" if torch.cuda.is_available() else 'cpu'


def estimated_seconds(rows, dataset, device, cpu, threads):
    "Median training seconds of `dataset`'s runs on this device, CPU model and thread count (any of the device's, else None)"
    same = [float(r['seconds']) for r in rows if r['dataset'] == dataset and r['device'] == device]
    closer = [float(r['seconds']) for r in rows if r['dataset'] == dataset and r['device'] == device and r['cpu'] == cpu
              and str(r['threads']) == str(threads)]
    runs = closer or same
    return sorted(runs)[len(runs) // 2] if runs else None


def fits(estimate, until, now=None, margin=1.15)->bool:
    "Whether a run of `estimate` seconds (None: unknown) finishes before the unix time `until` (None: no limit)"
    return until is None or estimate is None or (now or time.time()) + margin * estimate <= until


def until_time(hhmm:str, now=None)->float:
    "The next time (unix seconds) the clock reads `hhmm` (local time)"
    now = now or time.time()
    h, m = map(int, hhmm.split(':'))
    t = time.localtime(now)
    target = time.mktime((t.tm_year, t.tm_mon, t.tm_mday, h, m, 0, 0, 0, -1))
    return target if target > now else target + 86400


def preregistered_plan(path=Path(__file__).parent/'preregistration.json'):
    "The confirmatory plan: a list of (dataset, arms, seeds), in the plan's order"
    plan = json.loads(Path(path).read_text())
    return [(d, plan['arms'], plan['seeds'][d]) for d in plan['datasets']]


def device_name(config)->str:
    "What ran a job: 'cpu', or 'cuda: ' and the GPU's model (the host CPU is in the `cpu` column either way)"
    return config['device'] if config['device'] != 'cuda' else f"cuda: {torch.cuda.get_device_name()}"


def study_train(full_at=(), progress=None, **config)->dict:
    "What `train` does (quietly), plus the whole validation set's accuracy after the epochs in `full_at` (`full_curve`)"
    run = TrainRun(quiet=True, **config)
    curve = FullCurve(full_at)
    run.learn.add_cb(curve)
    if progress: run.learn.add_cb(Progress(progress))
    return dict(run.fit(), full_curve=curve.points)


def smoke_datasets(epochs=None, n_train=None)->dict:
    "`DATASETS` with every dataset's epochs and training-set size overridden (smoke tests only)"
    return {k: (v[0], n_train or v[1], v[2], v[3], epochs or v[4]) for k, v in DATASETS.items()}


def run_config(dataset, seed, arm_kwargs, holdout=0., datasets=None):
    "The `train` arguments of one run (`datasets`: `DATASETS`, or `smoke_datasets(...)`, which also validates on a smaller part)"
    kind, n_train, size, patch, epochs = (datasets or DATASETS)[dataset]
    return dict(dataset=kind, n_train=n_train, img_size=size, patch_size=patch, epochs=epochs, bs=BS, seed=seed,
                valid_part=CURVE_PART if datasets is None else 100, holdout=holdout, precision=PRECISION, **MODEL, **arm_kwargs)


def append(path, fields, rows):
    new = not path.exists()
    with open(path, 'a', newline='') as f:
        w = csv.DictWriter(f, fieldnames=fields)
        if new: w.writeheader()
        for r in rows: w.writerow(r)


def read(path):
    if not path.exists(): return []
    with open(path) as f: return list(csv.DictReader(f))


def sweep_winner(rows)->float|None:
    "The λ of the sweep rows (dicts with `weight`, `holdout_accuracy`) with the best held-out accuracy (ties: the smaller λ); None until every λ ran"
    if {float(r['weight']) for r in rows} != set(SWEEP_WEIGHTS): return None
    return float(max(rows, key=lambda r: (float(r['holdout_accuracy']), -float(r['weight'])))['weight'])


def tuned_weight(out, dataset):
    "The sweep's winner for `dataset` (`sweep_winner`), or None while its sweep is incomplete"
    return sweep_winner([r for r in read(out/'lambda_sweep.csv') if r['dataset'] == dataset])


def jobs(datasets, arms, seeds):
    "Dataset by dataset, in the order given; within one, seed-major (seed 0 of every arm first), the sweep right after seed 0's baseline and SAR runs"
    out = []
    for d in datasets:
        out += [('run', d, a, 0) for a in ('baseline', 'sar') if a in arms and 0 in seeds]
        if 'sar_tuned' in arms: out += [('sweep', d, w, SWEEP_SEED) for w in SWEEP_WEIGHTS]
        out += [('run', d, a, s) for s in seeds for a in ARMS if a in arms and ('run', d, a, s) not in out]
    return out


def do_job(job, out, progress=False, datasets=None):
    what, dataset, arm, seed = job
    name = '-'.join(map(str, job)) if progress else None
    n_train = (datasets or DATASETS)[dataset][1]
    if what == 'sweep':
        r = study_train(progress=name, **run_config(dataset, seed, dict(sar=True, weight=arm), holdout=SWEEP_VALID, datasets=datasets))
        c = r['config']
        row = dict(dataset=dataset, n_train=n_train, n_fit=c['n_train'], n_holdout=c['n_valid'], seed=seed, weight=arm,
                   epochs=c['epochs'], holdout_accuracy=r['accuracy'], holdout_entropy=r['spatial_entropy'],
                   seconds=r['train_seconds'], threads=c['torch_threads'], cpu=c['cpu'], device=device_name(c))
        append(out/'lambda_sweep.csv', SWEEP_FIELDS, [row])
        return row
    kwargs = dict(ARMS[arm])
    if arm == 'sar_tuned': kwargs['weight'] = tuned_weight(out, dataset)
    config = run_config(dataset, seed, kwargs, datasets=datasets)
    r = study_train(full_at=[at_80(config['epochs'])], progress=name, **config)
    c, weight = r['config'], (kwargs.get('weight', 0.) if kwargs['sar'] else 0.)
    row = dict(dataset=dataset, n_train=n_train, arm=arm, seed=seed, weight=weight, epochs=c['epochs'], accuracy=r['accuracy'],
               accuracy_at_80=dict(r['full_curve'])[at_80(c['epochs'])], valid_entropy=r['spatial_entropy'], train_entropy=r['train_spatial_entropy'], jaccard=r.get('jaccard'),
               valid_loss=r['valid_loss'], n_test=r['valid_images'], seconds=r['train_seconds'], threads=c['torch_threads'],
               cpu=c['cpu'], config=json.dumps({k: c[k] for k in ('arch', 'depth', 'embed_dim', 'num_heads', 'bs', 'patch_size',
                                                                 'img_size', 'lr', 'precision')}), device=device_name(c))
    append(out/'curves.csv', CURVE_FIELDS, [dict(dataset=dataset, arm=arm, seed=seed, weight=weight, epoch=h['epoch'] + 1,
                                                accuracy=h['accuracy'], valid_images=h['valid_images']) for h in r['history']])
    append(out/'study.csv', FIELDS, [row])
    return row


def claims_folder(out, prefix='sar_nb_claims_'):
    "The default folder where workers writing to `out` claim jobs: the same for every process (a stable hash of the path)"
    return Path(tempfile.gettempdir())/(prefix + hashlib.md5(str(Path(out).resolve()).encode()).hexdigest()[:12])


def claim(claims, job):
    "Take `job` for this worker (False if another worker has it)"
    claims.mkdir(parents=True, exist_ok=True)
    try: os.close(os.open(claims/('-'.join(map(str, job)) + '.claim'), os.O_CREAT | os.O_EXCL)); return True
    except FileExistsError: return False


@call_parse
def main(datasets:Annotated[list, dict(nargs='*', type=str, choices=list(DATASETS))]=[d for d in DATASETS if d not in GRID_DATASETS], # default: all but the grid study (composites_1k_g14, composites_1k_g8: 1k scenes at 56 px, 14x14 or 8x8 patches)
         arms:Annotated[list, dict(nargs='*', type=str, choices=list(ARMS))]=list(ARMS), # the arms to run
         seeds:Annotated[list, dict(nargs='*', type=int, metavar='SEED')]=list(MAIN_SEEDS), # the seeds to run
         epochs:int=None, # override every dataset's epochs (smoke tests only)
         n_train:int=None, # override every dataset's training-set size (smoke tests only)
         threads:int=None, # torch threads of this worker (default: torch's)
         out:Path=Path(__file__).parent/'results'/'paired', # folder of the CSVs
         claims:Path=None, # folder where workers claim jobs (default: a temporary folder per --out)
         progress:bool=False, # a line on stderr every 10 epochs of each run
         preregistered:bool=False, # run the confirmatory plan (preregistration.json) instead of --datasets/--arms/--seeds
         until:str=None, # HH:MM: start a run only if it should finish by then (a session's end)
        ):
    "The paired study: each (dataset, seed) trains every arm from the same initialisation and batches; resumable, one CSV row per run"
    smoke = smoke_datasets(epochs, n_train) if epochs or n_train else None
    if threads: torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    claims = claims or claims_folder(out)
    device, info = this_device(), machine_info()
    print(json.dumps(dict(info, model=MODEL, datasets=smoke or DATASETS)), flush=True)
    pending = ([j for d, d_arms, d_seeds in preregistered_plan() for j in jobs([d], d_arms, d_seeds)] if preregistered
               else jobs(datasets, arms, seeds))
    deadline = until_time(until) if until else None
    while pending:
        rows = read(out/'study.csv')
        done = {('run', r['dataset'], r['arm'], int(r['seed'])) for r in rows if r.get('device', 'cpu') == device} | \
               {('sweep', r['dataset'], float(r['weight']), int(r['seed'])) for r in read(out/'lambda_sweep.csv')
                if r.get('device', 'cpu') == device}
        pending = [j for j in pending if j not in done]
        # the tuned arm waits for the sweep; where the sweep chose the paper's lambda, it is the `sar` arm (not re-run)
        pending = [j for j in pending if not (j[2] == 'sar_tuned' and tuned_weight(out, j[1]) == 0.01)]
        ready = [j for j in pending if not (j[2] == 'sar_tuned' and tuned_weight(out, j[1]) is None)]
        n_threads = threads or torch.get_num_threads()
        late = [j for j in ready if not fits(estimated_seconds(rows, j[1], device, info['cpu'], n_threads), deadline)]
        if late and len(late) == len(ready):
            print(json.dumps(dict(stopped=f"no run of {sorted({j[1] for j in late})} can finish by {until}")), flush=True); break
        ready, pending = [j for j in ready if j not in late], [j for j in pending if j not in late]
        job = next((j for j in ready if claim(claims, j)), None)
        if job is None:
            if all((claims/('-'.join(map(str, j)) + '.claim')).exists() for j in pending): break  # the rest is with other workers
            time.sleep(20); continue  # the tuned arm waits for the sweep
        row = do_job(job, out, progress, smoke)
        print(json.dumps({k: v for k, v in row.items() if k not in ('config', 'cpu')}), flush=True)
