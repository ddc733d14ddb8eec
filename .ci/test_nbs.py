"""Run every notebook in nbs/ as nbdev-test does (same runner, same skipped flags), in parallel,
and print one line per notebook plus a final `RESULT passed failed` line for .ci/run."""
import sys, time
from pathlib import Path
from fastcore.parallel import parallel
from nbdev.config import get_config
from nbdev.test import test_nb


def run_one(fn, skip_flags):
    ok, secs = test_nb(fn, skip_flags=skip_flags, basepath=get_config().config_path)
    return fn.name, ok, secs


if __name__ == '__main__':
    cfg = get_config()
    skip_flags = cfg.tst_flags.split()
    nbs = sorted(p for p in Path(cfg.nbs_path).glob('*.ipynb') if not p.name.startswith('_'))
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    print(f'notebooks: {len(nbs)}, skipping cells flagged {skip_flags}, {workers} workers', flush=True)
    t0 = time.time()
    results = parallel(run_one, nbs, skip_flags=skip_flags, n_workers=workers, threadpool=False)
    for name, ok, secs in results: print(f"{'PASS' if ok else 'FAIL'}: notebook {name} ({secs:.0f}s)")
    passed = sum(ok for _, ok, _ in results)
    print(f'notebooks took {time.time()-t0:.0f}s')
    print(f'RESULT {passed} {len(results) - passed}')
