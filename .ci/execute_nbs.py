"""Execute notebooks in place, so that their committed outputs (what the docs site shows) are fresh.

    .venv/bin/python .ci/execute_nbs.py nbs/03_data.ipynb nbs/08_study.ipynb    # then: nbdev-export, nbdev-clean

Cells flagged slow, gpu or notest keep the outputs they have. Figures are rendered at 1x (plain PNG, not the
pixel-doubled 'retina' PNG that execnb makes by default). fastai's progress bars are off (`fastprogress.NO_BAR`): a
training cell shows fastai's results table as text, and printed text is kept as a terminal shows it (what follows a
carriage return replaces the line). The FutureWarning that fastai's import triggers in
torch 2.14 (`torch.jit.script` is deprecated) is filtered, as `sar-train` does; any other warning stays in the
output, and `.ci/outputs_check.py` refuses it.
"""
import os, sys, time
from pathlib import Path
from fastcore.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

SKIP = {'slow', 'gpu', 'notest'}

def skipped(cell)->bool:
    "Markdown cells, and code cells flagged slow, gpu or notest"
    if cell.cell_type != 'code': return True
    flags = {l.split('|', 1)[1].strip() for l in cell.source.splitlines() if l.startswith('#|')}
    return bool(flags & SKIP)

def as_terminal(text:str)->str:
    "What a terminal shows of `text`: on each line, what follows the last carriage return"
    return '\n'.join(line.rsplit('\r', 1)[-1] for line in text.split('\n'))

def execute(path:Path):
    "Run every cell of the notebook at `path` that is not `skipped`, in its folder, and write the outputs back"
    os.chdir(path.parent)
    nb = read_nb(path)
    shell = CaptureShell(mpl_format='png')
    shell.run("import warnings; warnings.filterwarnings('ignore', message=r'`torch\\.jit\\.script` is deprecated', category=FutureWarning)")
    shell.run("import fastprogress.fastprogress; fastprogress.fastprogress.NO_BAR = True")
    shell.run_all(nb, exc_stop=True, preproc=skipped)
    for cell in nb.cells:
        for out in cell.get('outputs', []):
            if out.get('output_type') == 'stream':
                out['text'] = as_terminal(''.join(out['text'])).splitlines(keepends=True)
        if cell.get('outputs'):  # a progress bar that cleared itself leaves an empty box on the page: dropped
            cell['outputs'] = [o for o in cell['outputs'] if o.get('output_type') != 'stream' or ''.join(o['text']).strip()]
    write_nb(nb, path)

if __name__ == '__main__':
    os.environ.setdefault('MPLBACKEND', 'Agg')
    for p in [Path(a).resolve() for a in sys.argv[1:]]:  # before `execute` changes the working folder
        start = time.time()
        execute(p)
        print(f'{p}: {time.time() - start:.0f}s', flush=True)
