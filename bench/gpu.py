"""Everything GPU in one command, for the day a GPU machine is lent (about 6 minutes on one H100/H200):

    python bench/gpu.py --out bench/results     # on a CUDA machine
    python bench/gpu.py --dry-run               # the same code paths on the CPU with tiny sizes (CI runs this)

1. the notebooks' `gpu`-flagged cells (00_entropy, 02_callback), run with nbdev's runner: pass/fail;
2. `spatial_entropy` forward + backward on a DeiT-S batch (128 images x 6 heads x 14x14) and larger grids, medians;
3. host synchronisations in one SAR training step (`torch.cuda.set_sync_debug_mode('warn')`, counted);
4. DeiT-S/16, 224 px, batch 128, bf16: step time and peak memory with vs without `SARCallback` (bench/train_step.py's
   `measure`: alternating fits, medians);
5. a short real training with and without SAR (`sar_nb.train.train` on Fashion-MNIST), if `--train-epochs` > 0;
6. last, one JSON line; with `--out`, `gpu.json` with the GPU model, driver and versions next to every figure.
On the device machine (no fastai, no network), carry the pure-Python wheels and the Fashion-MNIST files and set
SAR_DATA to their folder: see bench/gpu_device.md.
"""
import argparse, importlib.util, json, platform, subprocess, sys, time, warnings
from pathlib import Path
import numpy as np, torch

ROOT = Path(__file__).resolve().parent.parent


def machine(device):
    info = dict(python=platform.python_version(), torch=torch.__version__, device=device.type)
    if device.type == 'cuda':
        info.update(gpu=torch.cuda.get_device_name(), cuda=torch.version.cuda)
        try: info['driver'] = subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'],
                                             capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception: info['driver'] = None
    import timm, fastai; info.update(timm=timm.__version__, fastai=fastai.__version__)
    return info


def gpu_cells(dry_run):
    "Run the notebooks that hold `gpu` cells; on a dry run the gpu cells are skipped like everywhere else on a CPU"
    from nbdev.test import test_nb
    skip = ['notest', 'slow'] + (['gpu'] if dry_run else [])
    out = {}
    for nb in ('00_entropy.ipynb', '02_callback.ipynb'):
        start = time.time()
        proc = subprocess.run([sys.executable, '-c', 'import sys; from nbdev.test import test_nb; ok, _ = test_nb(sys.argv[1], skip_flags=sys.argv[2:]); '
                               'sys.exit(0 if ok else 1)', nb, *skip], cwd=ROOT/'nbs', capture_output=True, text=True)
        out[nb] = dict(passed=proc.returncode == 0, seconds=round(time.time() - start, 1))
        if proc.returncode: out[nb]['error'] = proc.stderr[-2000:]
    return out


def _sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def entropy_times(device, shapes, reps):
    "Median ms of forward + backward of `spatial_entropy` for (batch, heads, grid side) shapes"
    from sar_nb.entropy import spatial_entropy
    rows = []
    for b, h, side in shapes:
        scores = torch.randn(b, h, side*side, device=device, requires_grad=True)
        times = []
        for i in range(reps + 3):
            _sync(device); start = time.perf_counter()
            spatial_entropy(scores, (side, side)).backward()
            _sync(device)
            if i >= 3: times.append(1e3 * (time.perf_counter() - start))
        rows.append(dict(batch=b, heads=h, grid=side, ms=round(float(np.median(times)), 3)))
    return rows


def count_syncs(device, size, patch, bs):
    "Host synchronisations during one SAR training step (CUDA's sync debug mode warns on each); None on a CPU"
    import timm
    from fastai.basics import Learner, DataLoaders, DataLoader, CrossEntropyLossFlat
    from sar_nb.callback import SARCallback
    x, y = torch.randn(bs * 2, 3, size, size), torch.randint(0, 10, (bs * 2,))
    items = list(zip(x, y))
    dls = DataLoaders(DataLoader(items, bs=bs, drop_last=True), DataLoader(items[:bs], bs=bs), device=device)
    model = timm.create_model('deit_small_patch16_224', pretrained=False, img_size=size, patch_size=patch, num_classes=10).to(device)
    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat(), cbs=SARCallback(0.01, schedule=None))
    xb, yb = dls.one_batch()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=1e-4)  # warm-up, one epoch of 2 steps
    if device.type != 'cuda':
        with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=1e-4)  # the same path, nothing to count
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        torch.cuda.set_sync_debug_mode('warn')
        try:
            with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=1e-4)  # 2 steps (and a validation pass)
        finally: torch.cuda.set_sync_debug_mode(0)
    return dict(steps=2, syncs=sum('synchroniz' in str(w.message) for w in caught))


def step_overhead(device, rounds, dry_run):
    "bench/train_step.py's `measure`: DeiT-S/16 224 px batch 128 bf16 on a GPU, its small CPU configuration on a dry run"
    spec = importlib.util.spec_from_file_location('train_step', ROOT/'bench'/'train_step.py')
    ts = importlib.util.module_from_spec(spec); spec.loader.exec_module(ts)
    config = next(c for c in ts.CONFIGS if c['device'] == device.type)
    if dry_run: config = dict(config, bs=8, steps=4, size=16)
    return ts.measure(config, rounds, device)


def short_training(device, epochs, dry_run):
    "`sar-train`'s default run with and without SAR (fastai's progress bars kept off the log)"
    import contextlib, io
    from sar_nb.train import train
    kw = dict(n_train=200, depth=1, valid_part=200) if dry_run else {}
    out = {}
    for sar in (False, True):
        with contextlib.redirect_stdout(io.StringIO()): result = train(sar=sar, epochs=epochs, device=device.type, log=lambda m: None, **kw)
        out['sar' if sar else 'baseline'] = {k: v for k, v in result.items() if k != 'config'}
    return out


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dry-run', action='store_true', help='the same code paths on the CPU, tiny sizes')
    p.add_argument('--reps', type=int, default=50)
    p.add_argument('--rounds', type=int, default=4)
    p.add_argument('--train-epochs', type=int, default=30, help='short training with and without SAR (0: skip)')
    p.add_argument('--out', type=Path, default=None)
    args = p.parse_args()
    device = torch.device('cpu' if args.dry_run or not torch.cuda.is_available() else 'cuda')
    if device.type == 'cpu' and not args.dry_run: sys.exit('bench/gpu.py: no CUDA device here; use --dry-run to exercise it on the CPU')
    result = dict(machine=machine(device), dry_run=args.dry_run)
    print(json.dumps(result['machine']), flush=True)
    result['gpu_cells'] = gpu_cells(args.dry_run); print(json.dumps(result['gpu_cells']), flush=True)
    shapes = [(4, 2, 14)] if args.dry_run else [(128, 6, 14), (128, 6, 32), (64, 6, 64)]
    result['entropy'] = entropy_times(device, shapes, 3 if args.dry_run else args.reps); print(json.dumps(result['entropy']), flush=True)
    result['syncs'] = count_syncs(device, *((32, 16, 4) if args.dry_run else (224, 16, 128))); print(json.dumps(result['syncs']), flush=True)
    result['step'] = step_overhead(device, 1 if args.dry_run else args.rounds, args.dry_run); print(json.dumps(result['step']), flush=True)
    if args.train_epochs: result['training'] = short_training(device, 1 if args.dry_run else args.train_epochs, args.dry_run)
    ok = all(v['passed'] for v in result['gpu_cells'].values())
    if args.out and not args.dry_run:
        args.out.mkdir(parents=True, exist_ok=True); (args.out/'gpu.json').write_text(json.dumps(result, indent=1))
    print(json.dumps(dict(ok=ok, **{k: v for k, v in result.items() if k not in ('gpu_cells',)}), default=str))
    sys.exit(0 if ok else 1)
