"""Where SAR's share of a DeiT-S training step goes on a GPU: torch.profiler over a few steps with and without SAR.

    python bench/profile_gpu.py            # on a CUDA machine; prints tables and one JSON line
"""
import json, time
from pathlib import Path
import torch
from torch.profiler import profile, ProfilerActivity

ROOT = Path(__file__).resolve().parent.parent
import train_step as ts  # bench/train_step.py, beside this script

if __name__ == '__main__':
    device = torch.device('cuda')
    config = next(c for c in ts.CONFIGS if c['device'] == 'cuda')
    out = {}
    for sar in (False, True):
        learn = ts.make_learner(config, sar, device, steps=8)
        learn.remove_cb(ts.StepTimer)
        with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=1e-4)  # warm-up
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            start = time.perf_counter()
            with learn.no_bar(), learn.no_logging(): learn.fit(1, lr=1e-4)
            torch.cuda.synchronize()
            wall = time.perf_counter() - start
        events = prof.key_averages()
        cuda_us = sum(e.self_device_time_total for e in events)
        launches = sum(e.count for e in events if e.key in ('cudaLaunchKernel', 'cuLaunchKernel', 'cudaLaunchKernelExC'))
        out['sar' if sar else 'baseline'] = dict(steps=8, wall_ms_per_step=round(1e3 * wall / 8, 2),
                                               gpu_busy_ms_per_step=round(cuda_us / 1e3 / 8, 2), kernel_launches_per_step=launches / 8)
        print('SAR' if sar else 'baseline', json.dumps(out['sar' if sar else 'baseline']))
        print(events.table(sort_by='self_device_time_total', row_limit=12, max_name_column_width=60))
        if sar: print(events.table(sort_by='self_cpu_time_total', row_limit=25, max_name_column_width=60))
    print(json.dumps(out))
