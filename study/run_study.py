"""The controlled study of SAR on small training sets (the results page: nbs/06_results.ipynb).

    python study/run_study.py                         # every run of the CPU study, skipping those already in the CSV
    python study/run_study.py --datasets fmnist_1k --seeds 0 --arms baseline sar   # a subset
    python study/run_study.py --gpu-config            # the larger configuration, for a GPU

Every run trains the same model with the same recipe (sar_nb.train.sar_learner) on the same budget of
training samples; only the arm changes: the baseline, SAR (the paper's lambda = 0.01 and schedule), or SAR
with the "nosn" variant. Each finished run appends one row to the CSV, so the study can be stopped and
resumed. Validation (the full test set) runs once, at the end of training.
"""
import argparse, csv, json, platform, time
from pathlib import Path

import torch
from fastai.callback.core import Callback, CancelValidException
from fastai.torch_core import set_seed
from sar_nb.data import fashion_mnist_dls
from sar_nb.segmentation import composite_dls, AttentionJaccard
from sar_nb.train import sar_learner

DATASETS = {'fmnist_1k': ('fashion_mnist', 1000), 'fmnist_4k': ('fashion_mnist', 4000),
            'fmnist_16k': ('fashion_mnist', 16000), 'fmnist_60k': ('fashion_mnist', 60000),
            'composites_4k': ('composites', 4000)}
CPU_DATASETS = ['fmnist_1k', 'fmnist_4k', 'fmnist_16k', 'composites_4k']  # 60k: one epoch costs 4x the CPU budget
ARMS = {'baseline': dict(sar=False, nosn=False, weight=0.01), 'sar': dict(sar=True, nosn=False, weight=0.01),
        'sar_nosn': dict(sar=True, nosn=True, weight=0.01), 'sar_w0.1': dict(sar=True, nosn=False, weight=0.1)}
CPU_CONFIG = dict(model=dict(arch='vit_tiny_patch16_224', depth=6, embed_dim=128, num_heads=4), bs=64, budget=16_384,
                  fmnist_size=28, fmnist_patch=4, composite_size=48, composite_patch=6)
GPU_CONFIG = dict(model=dict(arch='vit_tiny_patch16_224', depth=12, embed_dim=192, num_heads=3), bs=128, budget=1_024_000,
                  fmnist_size=28, fmnist_patch=2, composite_size=64, composite_patch=4)
FIELDS = ['dataset', 'n_train', 'arm', 'seed', 'epochs', 'samples', 'accuracy', 'valid_entropy', 'train_entropy', 'jaccard',
          'valid_loss', 'seconds', 'sar', 'nosn', 'weight', 'config', 'device']


class ValidateAtEnd(Callback):
    "Skip validation except after the last epoch (the budget goes to training)"
    order = 0
    def before_validate(self):
        if self.epoch < self.n_epoch - 1: raise CancelValidException()


def run_one(dataset, arm, seed, config, device):
    kind, n_train = DATASETS[dataset]
    epochs = max(1, round(config['budget'] / n_train))
    set_seed(seed)
    if kind == 'composites':
        dls = composite_dls(n_train=n_train, img_size=config['composite_size'], bs=config['bs'], seed=seed, device=device)
        patch, cbs = config['composite_patch'], [ValidateAtEnd(), AttentionJaccard()]
    else:
        dls = fashion_mnist_dls(n_train=n_train, img_size=config['fmnist_size'], bs=config['bs'], seed=seed, device=device)
        patch, cbs = config['fmnist_patch'], [ValidateAtEnd()]
    set_seed(seed)  # the same initialisation in every arm
    learn = sar_learner(dls, patch_size=patch, cbs=cbs, **ARMS[arm], **config['model'])
    start = time.time()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs)
    final = dict(zip(learn.recorder.metric_names[1:-1], learn.recorder.values[-1]))
    return dict(dataset=dataset, n_train=n_train, arm=arm, seed=seed, epochs=epochs, samples=epochs * len(dls.train) * config['bs'],
                accuracy=final['accuracy'], valid_entropy=final['valid_entropy'], train_entropy=final.get('sar_entropy'),
                jaccard=final.get('jaccard'), valid_loss=final['valid_loss'], seconds=round(time.time() - start, 1),
                sar=ARMS[arm]['sar'], nosn=ARMS[arm]['nosn'], weight=ARMS[arm]['weight'],
                config=json.dumps(dict(config, patch=patch)), device=str(device))


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--datasets', nargs='*', default=None, choices=list(DATASETS), help='default: all four sizes on a GPU, 1k/4k/16k + composites on CPU')
    p.add_argument('--arms', nargs='*', default=['baseline', 'sar', 'sar_nosn'], choices=list(ARMS))
    p.add_argument('--seeds', nargs='*', type=int, default=[0, 1, 2])
    p.add_argument('--gpu-config', action='store_true', help='the larger configuration (12 blocks, 14x14 grid, 20x the samples)')
    p.add_argument('--budget', type=int, default=None, help='training samples per run (default: the configuration\'s)')
    p.add_argument('--out', type=Path, default=None, help='CSV of results (default: study/results/study_{cpu,gpu}.csv)')
    args = p.parse_args()
    config = dict(GPU_CONFIG if args.gpu_config else CPU_CONFIG)
    datasets = args.datasets or (list(DATASETS) if args.gpu_config else CPU_DATASETS)
    if args.budget: config['budget'] = args.budget
    device = torch.device('cuda' if args.gpu_config and torch.cuda.is_available() else 'cpu')
    out = args.out or Path(__file__).parent/'results'/f"study_{'gpu' if args.gpu_config else 'cpu'}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        with open(out) as f: done = {(r['dataset'], r['arm'], int(r['seed'])) for r in csv.DictReader(f)}
    print(json.dumps(dict(python=platform.python_version(), torch=torch.__version__, device=str(device),
                          threads=torch.get_num_threads(), config=config)), flush=True)
    for seed in args.seeds:  # seed-major: a full first seed of every arm and dataset comes first
        for dataset in datasets:
            for arm in args.arms:
                if (dataset, arm, seed) in done: continue
                row = run_one(dataset, arm, seed, config, device)
                new = not out.exists()
                with open(out, 'a', newline='') as f:
                    w = csv.DictWriter(f, fieldnames=FIELDS)
                    if new: w.writeheader()
                    w.writerow(row)
                print(json.dumps({k: row[k] for k in FIELDS if k != 'config'}), flush=True)
