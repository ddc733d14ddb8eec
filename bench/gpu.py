"""Everything GPU in one command, for the day a GPU machine is lent (about 6 minutes on one H100/H200):

    python bench/gpu.py --out bench/results     # on a CUDA machine
    python bench/gpu.py --dry-run               # the same code paths on the CPU with tiny sizes (CI runs this)

1. `spatial_entropy` forward + backward on a DeiT-S batch (128 images x 6 heads x 14x14) and larger grids, and its torch
   labeller alone, medians; the same compiled (`torch.compile(fullgraph=True)`, what `SARCallback` does on CUDA) and
   the seconds its first call takes (the compilation);
2. host synchronisations per training step without and with SAR (`torch.cuda.set_sync_debug_mode('warn')`, counted);
3. DeiT-S/16, 224 px, batch 128, bf16: step time and peak memory with vs without `SARCallback` (bench/train_step.py's
   `measure`: alternating fits, medians);
4. the notebooks' `gpu`-flagged cells (00_entropy, 02_callback), run with nbdev's runner, side by side: pass/fail;
5. the same DeiT-S step (bf16, AdamW, synthetic batches from host memory) in a bare PyTorch loop and through fastai
   (`sar_learner`'s optimiser: torch's fused AdamW on a GPU; `MixedPrecision`), without SAR: images per second each
   (goal: fastai at least 90% of the bare loop's);
6. a short real training with and without SAR (`sar_nb.train.train` on Fashion-MNIST), if `--train-epochs` > 0;
7. last, one JSON line; with `--out`, `gpu.json` with the GPU model, driver and versions next to every figure.
On the device machine (no fastai, no network), carry the pure-Python wheels and the Fashion-MNIST files and set
SAR_DATA to their folder: see bench/gpu_device.md.
"""
import json, subprocess, sys, time, warnings
from typing import Annotated
from fastcore.script import call_parse
from pathlib import Path
import numpy as np, torch

ROOT = Path(__file__).resolve().parent.parent


def machine(device):
    "sar_nb's `machine_info`, and the GPU's driver"
    from sar_nb.machine import machine_info
    info = machine_info(device)
    if device.type == 'cuda':
        try: info['driver'] = subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'],
                                             capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception: info['driver'] = None
    return info


def gpu_cells(dry_run):
    "Run the notebooks that hold `gpu` cells, side by side; a dry run runs the same way a short notebook that has none"
    skip = ['notest', 'slow', 'gpu'] if dry_run else ['notest', 'slow']
    notebooks = ('97_test_utils.ipynb',) if dry_run else ('00_entropy.ipynb', '02_callback.ipynb')
    code = 'import sys; from nbdev.test import test_nb; ok, _ = test_nb(sys.argv[1], skip_flags=sys.argv[2:]); sys.exit(0 if ok else 1)'
    start = time.time()
    procs = {nb: subprocess.Popen([sys.executable, '-c', code, nb, *skip], cwd=ROOT/'nbs', stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for nb in notebooks}
    out = {}
    for nb, proc in procs.items():
        log = proc.communicate()[0]
        out[nb] = dict(passed=proc.returncode == 0, seconds=round(time.time() - start, 1))
        if proc.returncode: out[nb]['error'] = log[-3000:]
    return out


def _sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def _median_ms(fn, device, reps):
    times = []
    for i in range(reps + 3):
        _sync(device); start = time.perf_counter()
        fn()
        _sync(device)
        if i >= 3: times.append(1e3 * (time.perf_counter() - start))
    return round(float(np.median(times)), 3)


def entropy_times(device, shapes, reps):
    """Median ms of forward + backward of `spatial_entropy` for (batch, heads, grid side) shapes, and of its torch labeller
    alone on the same maps' above-mean cells (`connected_components(method='torch')`: the block graph, sync-free, up to
    32x32 grids; min-label propagation, one sync per round, above)"""
    from sar_nb.entropy import spatial_entropy, connected_components
    from sar_nb.test_utils import scattered_maps
    rows = []
    for b, h, side in shapes:
        scores = scattered_maps(b*h, (side, side)).view(b, h, side*side).to(device).requires_grad_()
        fg = (scores > scores.mean(-1, keepdim=True)).view(b*h, side, side).detach()
        compiled = torch.compile(lambda s, grid=(side, side): spatial_entropy(s, grid, method='torch'), fullgraph=True, dynamic=False)
        _sync(device); start = time.perf_counter(); compiled(scores).backward(); _sync(device)
        compile_s = time.perf_counter() - start  # the first call compiles forward and backward
        rows.append(dict(batch=b, heads=h, grid=side, ms=_median_ms(lambda: spatial_entropy(scores, (side, side)).backward(), device, reps),
                         compiled_ms=_median_ms(lambda: compiled(scores).backward(), device, reps), compile_s=round(compile_s, 1),
                         label_ms=_median_ms(lambda: connected_components(fg, method='torch'), device, reps)))
    return rows


def bare_vs_fastai(device, dry_run):
    """Images per second of one training step (bf16 autocast, AdamW, cross-entropy; no SAR) in a bare PyTorch loop and
    through a fastai `Learner` with `sar_learner`'s optimiser, on the same synthetic batches collated in host memory"""
    import timm, torch.nn.functional as F
    from fastai.basics import Learner, CrossEntropyLossFlat, Callback
    from fastai.callback.fp16 import MixedPrecision
    from sar_nb.learner import adam
    import train_step as ts  # bench/train_step.py: its synthetic data
    arch, size, patch, bs, steps = ('vit_tiny_patch16_224', 16, 4, 8, 4) if dry_run else ('deit_small_patch16_224', 224, 16, 128, 40)
    on_gpu, warm = device.type == 'cuda', 3
    def model():
        torch.manual_seed(0)
        return timm.create_model(arch, pretrained=False, img_size=size, patch_size=patch, num_classes=10).to(device)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(bs * (steps + warm), 3, size, size, generator=g), torch.randint(0, 10, (bs * (steps + warm),), generator=g)
    # the bare loop: torch's DataLoader (pinned on a GPU), fused AdamW, autocast
    net = model()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.05, fused=on_gpu)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=bs, pin_memory=on_gpu)
    for i, (xb, yb) in enumerate(loader):
        if i == warm: _sync(device); start = time.perf_counter()
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16): loss = F.cross_entropy(net(xb), yb)
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    _sync(device); bare = steps * bs / (time.perf_counter() - start)
    # fastai: the same data and step, `sar_learner`'s optimiser and precision; the same wall clock (batches included)
    class Wall(Callback):
        order = 1000
        def before_batch(self):
            if self.training and self.iter == warm: _sync(device); self.start = time.perf_counter()
        def after_train(self): _sync(device); self.seconds = time.perf_counter() - self.start
    wall = Wall()
    dls = ts.synthetic_dls(bs * (steps + warm), size, bs, 10, device)
    learn = Learner(dls, model(), loss_func=CrossEntropyLossFlat(), opt_func=adam(on_gpu=on_gpu), wd=0.05,
                    cbs=[wall] + ([MixedPrecision('bf16')] if on_gpu else []))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=1e-4)
    fastai_ips = (len(dls.train) - warm) * bs / wall.seconds
    return dict(arch=arch, img_size=size, bs=bs, steps=steps, bare_images_per_s=round(bare, 1), fastai_images_per_s=round(fastai_ips, 1),
                fastai_share=round(fastai_ips / bare, 3))


def count_syncs(device, size, patch, bs):
    "Host synchronisations in two training steps without and with `SARCallback` (CUDA's sync debug mode warns on each); None on a CPU"
    import timm
    from fastai.basics import Learner, DataLoaders, DataLoader, CrossEntropyLossFlat, Callback
    from sar_nb.callback import SARCallback
    x, y = torch.randn(bs * 2, 3, size, size), torch.randint(0, 10, (bs * 2,))
    items = list(zip(x, y))
    out = {}
    for sar in (False, True):
        dls = DataLoaders(DataLoader(items, bs=bs, drop_last=True), DataLoader(items[:bs], bs=bs), device=device)
        model = timm.create_model('deit_small_patch16_224', pretrained=False, img_size=size, patch_size=patch, num_classes=10).to(device)
        learn = Learner(dls, model, loss_func=CrossEntropyLossFlat(), cbs=SARCallback(0.01, schedule=None) if sar else None)
        with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=1e-4)  # warm-up, one epoch of 2 steps
        if device.type != 'cuda': continue  # the same path on a dry run, nothing to count
        counts = []
        class Count(Callback):
            order = -100
            def before_batch(self): caught.clear()
            def after_step(self): counts.append(sum('synchroniz' in str(w.message) for w in caught))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            torch.cuda.set_sync_debug_mode('warn')
            try:
                with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=1e-4, cbs=Count())  # 2 steps and a validation pass
            finally: torch.cuda.set_sync_debug_mode(0)
        out['sar' if sar else 'baseline'] = dict(steps=len(counts), syncs_per_step=counts)
    return out or None


def step_overhead(device, rounds, dry_run):
    "bench/train_step.py's `measure`: DeiT-S/16 224 px batch 128 bf16 on a GPU, its small CPU configuration on a dry run"
    import train_step as ts  # bench/train_step.py, beside this script
    config = next(c for c in ts.CONFIGS if c['device'] == device.type)
    if dry_run: config = dict(config, bs=8, steps=4, size=16)
    return ts.measure(config, rounds, device)


def short_training(device, epochs, dry_run):
    "`sar-train`'s default run with and without SAR (fastai's progress bars kept off the log)"
    from sar_nb.train import train
    kw = dict(n_train=200, depth=1, valid_part=200) if dry_run else {}
    out = {}
    for sar in (False, True):
        result = train(sar=sar, epochs=epochs, device=device.type, quiet=True, **kw)
        out['sar' if sar else 'baseline'] = {k: v for k, v in result.items() if k != 'config'}
    return out


@call_parse
def main(dry_run:bool=False, # the same code paths on the CPU, tiny sizes
         reps:int=50, # timed repetitions of the entropy
         rounds:int=4, # fits per variant of the training step
         train_epochs:int=30, # short training with and without SAR (0: skip)
         out:Path=None, # folder for gpu_TAG.json
         tag:str=None, # suffix of the JSON written (gpu_TAG.json; default: the --only parts), to keep several runs
         only:Annotated[list, dict(nargs='*', type=str, metavar='PART')]=None, # run only these parts (entropy syncs step gpu_cells bare_vs_fastai training)
        ):
    "The GPU checks: compiled entropy, host syncs, SAR's share of a step, the notebooks' GPU cells, fastai vs bare PyTorch, short training"
    device = torch.device('cpu' if dry_run or not torch.cuda.is_available() else 'cuda')
    tag = tag or ('_'.join(only) if only else None)
    if device.type == 'cpu' and not dry_run: sys.exit('bench/gpu.py: no CUDA device here; use --dry-run to exercise it on the CPU')
    result = dict(machine=machine(device), dry_run=dry_run)
    print(json.dumps(result['machine']), flush=True)

    def section(name, fn):
        "Run one part; a failure is recorded and the next part still runs; the JSON is rewritten after each part"
        if only is not None and name not in only: return
        start = time.time()
        try: result[name] = fn()
        except Exception as e:
            import traceback; result[name] = dict(error=f'{type(e).__name__}: {e}', traceback=traceback.format_exc()[-3000:])
        print(name, round(time.time() - start, 1), 's:', json.dumps(result[name], default=str), flush=True)
        if out and not dry_run:
            out.mkdir(parents=True, exist_ok=True); (out/f"gpu{'_' + tag if tag else ''}.json").write_text(json.dumps(result, indent=1, default=str))

    shapes = [(4, 2, 14)] if dry_run else [(128, 6, 14), (128, 6, 32), (64, 6, 64)]
    section('entropy', lambda: entropy_times(device, shapes, 3 if dry_run else reps))
    section('syncs', lambda: count_syncs(device, *((32, 16, 4) if dry_run else (224, 16, 128))))
    section('step', lambda: step_overhead(device, 1 if dry_run else rounds, dry_run))
    section('gpu_cells', lambda: gpu_cells(dry_run))
    section('bare_vs_fastai', lambda: bare_vs_fastai(device, dry_run))
    if train_epochs: section('training', lambda: short_training(device, 1 if dry_run else train_epochs, dry_run))
    ok = not any(isinstance(v, dict) and 'error' in v for v in result.values()) and \
         all(v['passed'] for v in result.get('gpu_cells', {}).values())
    print(json.dumps(dict(ok=ok, **{k: v for k, v in result.items() if k != 'gpu_cells'}), default=str))
    sys.exit(0 if ok else 1)
