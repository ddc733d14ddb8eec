"""Run every notebook in nbs/ with nbdev's own notebook runner (`nbdev.test.test_nb`, the cells nbdev-test
runs, the same skipped flags and `[tool.nbdev] cell_timeout`), each in its own process, two at a time; print one
line per notebook and a final `RESULT passed failed` line for .ci/run."""
import subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from nbdev.config import get_config

RUN_ONE = ("import sys; from nbdev.test import test_nb; "
           "ok, _ = test_nb(sys.argv[1], skip_flags=sys.argv[3:], cell_timeout=int(sys.argv[2]) or None); sys.exit(0 if ok else 1)")


def run_one(nb, skip_flags, cell_timeout):
    t0 = time.time()
    proc = subprocess.run([sys.executable, '-c', RUN_ONE, str(nb), str(cell_timeout), *skip_flags], capture_output=True, text=True)
    return nb.name, proc.returncode == 0, time.time() - t0, proc.stderr


if __name__ == '__main__':
    cfg = get_config()
    skip_flags, cell_timeout = cfg.tst_flags.split(), int(cfg.get('cell_timeout', 600) or 0)
    nbs = sorted(p for p in Path(cfg.nbs_path).glob('*.ipynb') if not p.name.startswith('_'))
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    print(f'notebooks: {len(nbs)}, skipping cells flagged {skip_flags}, {workers} at a time, cells time out after {cell_timeout or "no limit"} s', flush=True)
    t0, passed = time.time(), 0
    with ThreadPoolExecutor(workers) as pool:
        for name, ok, secs, err in pool.map(lambda nb: run_one(nb, skip_flags, cell_timeout), nbs):
            print(f"{'PASS' if ok else 'FAIL'}: notebook {name} ({secs:.0f}s)", flush=True)
            if not ok: print(err[-6000:], flush=True)
            passed += ok
    print(f'notebooks took {time.time()-t0:.0f}s')
    print(f'RESULT {passed} {len(nbs) - passed}')
