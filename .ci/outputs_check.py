"""The docs site shows the committed outputs of nbs/*.ipynb: fail if any holds an error, a warning or traceback on
stderr, or a path of the machine that ran it (site-packages, a virtual environment, a home or temporary folder)."""
import json, re, sys
from pathlib import Path

PATHS = re.compile(r'site-packages|\.venv/|/root/|/home/|/tmp/')
bad = []
for nb in sorted(Path(__file__).resolve().parent.parent.glob('nbs/*.ipynb')):
    for i, cell in enumerate(json.loads(nb.read_text())['cells']):
        for o in cell.get('outputs', []):
            text = ''.join(o.get('text', '')) + ''.join(''.join(v) for k, v in o.get('data', {}).items() if k.startswith('text/'))
            if o.get('output_type') == 'error': bad.append(f'{nb.name} cell {i}: an error')
            elif o.get('name') == 'stderr' and re.search('Warning|Traceback', text): bad.append(f'{nb.name} cell {i}: a warning on stderr')
            elif PATHS.search(text): bad.append(f'{nb.name} cell {i}: a path of this machine ({PATHS.search(text).group()})')
print('\n'.join(bad) or 'committed outputs: no errors, warnings or machine paths')
sys.exit(1 if bad else 0)
