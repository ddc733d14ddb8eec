"""README.md is nbs/index.ipynb rendered to Markdown (nbdev-readme needs Quarto, which is not always
available): markdown cells as they are, visible code cells in python fences with their text output, cells
marked `#| echo: false` by their output only (as Quarto renders them; Markdown output as Markdown),
relative links re-based onto nbs/. `python .ci/readme_check.py` fails if README.md differs;
`--write` rewrites it."""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
HIDE = ('#| hide', '#| include: false')


def rebase(md):
    "Point relative links and images at nbs/ (the README sits one folder up)"
    return re.sub(r'\]\((?!https?:|#|/|mailto:)([^)]+)\)', r'](nbs/\1)', md)


def render(nb_path):
    out = []
    for cell in json.loads(nb_path.read_text())['cells']:
        src = ''.join(cell['source']).strip('\n')
        if cell['cell_type'] == 'markdown': out.append(rebase(src)); continue
        if any(line.strip() in HIDE for line in src.splitlines()) or src.startswith('#| default_exp'): continue
        if not any(line.strip() == '#| echo: false' for line in src.splitlines()):
            code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|'))
            out.append(f'```python\n{code}\n```')
        for o in cell.get('outputs', []):
            data = o.get('data', {})
            if 'text/markdown' in data: out.append(rebase(''.join(data['text/markdown']).strip('\n'))); continue
            text = o.get('text') or data.get('text/plain')
            if text: out.append('```\n' + ''.join(text).rstrip('\n') + '\n```')
    return '\n\n'.join(out) + '\n'


if __name__ == '__main__':
    want = render(root/'nbs'/'index.ipynb')
    if '--write' in sys.argv: (root/'README.md').write_text(want); sys.exit()
    have = (root/'README.md').read_text() if (root/'README.md').exists() else ''
    if have != want:
        print('README.md is out of step with nbs/index.ipynb: run `python .ci/readme_check.py --write`')
        sys.exit(1)
