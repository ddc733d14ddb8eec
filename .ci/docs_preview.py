"""A preview of the docs site without Quarto, checked as a reader would find it.

    python .ci/docs_preview.py OUT                  # build OUT/*.html, then check every page
    python .ci/docs_preview.py OUT --screenshots    # ... and screenshot each page with headless Chromium (OUT/shots/)

It takes nbdev's processed notebooks (`nbdev.serve.proc_nbs`, what `nbdev-docs` hands to Quarto: hidden and exported
cells already turned into `show_doc` or removed, directives normalised) and renders each to one HTML page, named as
nbdev names it (its `output-file`: `00_entropy.ipynb` -> `entropy.html`, `index.ipynb` -> `index.html`), honouring the
Quarto cell options that remain (`echo: false`, `output: false`, `output: asis`, `include: false`), with a sidebar in
the notebooks' order, `nbs/images` copied, and maths as MathML (latex2mathml: offline, no script). The real site is
still built by Quarto (`nbdev-docs`) where it exists; this is for looking at pages and checking them where it does not.

The checks fail (exit 1) when a page shows a cell directive (`#| ...`, or `| echo: false` as a heading), the code of a
cell the notebook hides, pandas' `[N rows x M columns]` text where a table was meant, a table with pandas' index column
or `NaN` cells, link syntax as text, the same figure twice in a row, an empty output box, an image that is not in OUT,
or a link to a page or `#anchor` that does not exist. With Chromium (Debian: `chromium`) it also lays every page out as
Quarto does (an 800 px content column, Quarto's default `grid-body-width`; code wraps where `_quarto.yml` says
`code-overflow: wrap`) and fails on a table or code block wider than the content column at 1280 px, a page wider than
the screen at 390 px (a phone), and a page whose first screen has no sentence saying what it is for.
"""
import argparse, html, json, re, shutil, subprocess, sys
import yaml
from pathlib import Path

from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
NBS, PROC = ROOT/'nbs', ROOT/'_proc'
HIDDEN = ('#| hide', '#| include: false', '#| export', '#| exports', '#| exporti', '#| default_exp')


# ---- reading the processed notebooks
def frontmatter(nb)->dict:
    "The YAML front matter nbdev puts in a raw first cell (title, description, output-file), as a dict of strings (read as YAML, as Quarto reads it)"
    raw = next((''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'raw'), '')
    meta = yaml.safe_load(raw.strip().strip('-')) if raw.strip() else None
    return {k: str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}

def page_name(nb_path:Path, meta:dict)->str:
    "The page nbdev/Quarto make of a notebook"
    return meta.get('output-file') or re.sub(r'^\d+[a-z]?_', '', nb_path.stem) + '.html'

def cell_options(src:str)->dict:
    "Quarto's `#| key: value` options at the top of a code cell"
    opts = {}
    for line in src.splitlines():
        m = re.match(r'^#\|\s*([\w-]+)\s*:\s*(.*)$', line)
        if m: opts[m.group(1)] = m.group(2).strip()
        elif not line.startswith('#|'): break
    return opts

def strip_options(src:str)->str:
    return '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip('\n')


# ---- markdown with maths, heading ids as pandoc makes them, links to notebooks as links to their pages
def slug(text:str)->str:
    "Quarto's (Pandoc's) automatic identifier: punctuation but _-. dropped, words joined by one hyphen, lower case, up to the first letter dropped"
    text = re.sub(r'[^\w\s.-]', '', text, flags=re.UNICODE).strip().lower()
    text = re.sub(r'\s+', '-', text)  # 'SAR × nosn' -> 'sar-nosn', as Quarto makes it (not 'sar--nosn')
    text = re.sub(r'^[^a-z]+', '', text)
    return text or 'section'

MATH = re.compile(r'(```.*?```|`[^`\n]*`)|\$\$(.+?)\$\$|\$([^$\n]+?)\$', re.S)

class Renderer:
    def __init__(self, pages:dict):
        self.pages, self.md = pages, MarkdownIt('commonmark', {'html': True}).enable(['table', 'strikethrough'])
        self.md.core.ruler.push('heading_ids', self._heading_ids)
        self.ids = set()

    def _heading_ids(self, state):
        tokens = state.tokens
        for i, tok in enumerate(tokens):
            if tok.type == 'heading_open':
                text = ''.join(t.content for t in tokens[i+1].children or [] if t.type in ('text', 'code_inline'))
                base = slug(text); hid, n = base, 1
                while hid in self.ids: hid, n = f'{base}-{n}', n + 1
                self.ids.add(hid); tok.attrSet('id', hid)
            if tok.type == 'inline':
                for t in tok.children or []:
                    if t.type == 'link_open': t.attrSet('href', self.link(t.attrGet('href')))

    def link(self, href:str)->str:
        "A link to a notebook becomes a link to its page"
        m = re.match(r'^([\w.-]+)\.ipynb(#.*)?$', href or '')
        return self.pages.get(m.group(1), m.group(1) + '.html') + (m.group(2) or '') if m else href

    def markdown(self, text:str)->str:
        maths = []
        def protect(m):
            if m.group(1): return m.group(1)  # code: as it is
            display = m.group(2) is not None
            maths.append(latex_to_mathml((m.group(2) if display else m.group(3)).strip(), display='block' if display else 'inline'))
            return f'MATHPLACEHOLDER{len(maths)-1}X'
        text = re.sub(r'(\]\([^)\s]*\))\{[^}\n]*\}', r'\1', text)  # pandoc link attributes ({target=...}): Quarto's, not markdown's
        out = self.md.render(MATH.sub(protect, text))
        return re.sub(r'MATHPLACEHOLDER(\d+)X', lambda m: maths[int(m.group(1))], out)


def inline(text:str)->str:
    "A title as Quarto shows it: escaped, with `code` spans"
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(text))

def render_output(o, opts, r:Renderer)->str:
    kind = o.get('output_type')
    # each output in a box with Quarto's class names, so that nbs/styles.css acts on the preview as on the site
    if kind == 'stream': return f'<div class="cell-output cell-output-{o.get("name", "stdout")}"><pre class="output">{html.escape("".join(o["text"]))}</pre></div>'
    if kind == 'error': return f'<div class="cell-output cell-output-error"><pre class="output error">{html.escape(chr(10).join(o.get("traceback", [])))}</pre></div>'
    data = o.get('data', {})
    box = lambda kind, body: f'<div class="cell-output cell-output-display output {kind}">{body}</div>'
    if 'text/markdown' in data: return box('markdown', r.markdown("".join(data["text/markdown"])))
    if 'text/html' in data: return box('html', "".join(data["text/html"]))
    for mime in ('image/png', 'image/jpeg'):
        if mime in data: return box('figure', f'<img src="data:{mime};base64,{"".join(data[mime]).strip()}">')
    if 'text/plain' in data: return box('plain', f'<pre class="output">{html.escape("".join(data["text/plain"]))}</pre>')
    return ''

def render_page(nb, meta, r:Renderer)->str:
    parts = [f'<h1 class="title">{inline(meta.get("title", ""))}</h1>']
    if meta.get('description'): parts.append(f'<p class="description">{r.markdown(meta["description"])[3:-5]}</p>')
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            if src.startswith('<!-- WARNING'): continue
            parts.append(r.markdown(src)); continue
        if c['cell_type'] != 'code': continue
        opts = cell_options(src)
        if opts.get('include') == 'false': continue
        code = strip_options(src)
        if opts.get('echo') != 'false' and code: parts.append(f'<pre class="code"><code>{html.escape(code)}</code></pre>')
        if opts.get('output') != 'false': parts.extend(render_output(o, opts, r) for o in c.get('outputs', []))
    return '\n'.join(parts)

STYLE = """
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
nav { position: fixed; top: 0; bottom: 0; left: 0; width: 210px; overflow-y: auto; padding: 1.2rem 1rem; background: #f5f7fa; border-right: 1px solid #dde; }
nav a { display: block; padding: .25rem 0; color: #2a5db0; text-decoration: none; } nav a.current { font-weight: 600; color: #111; }
nav .site { font-size: 1.2rem; font-weight: 700; margin-bottom: .8rem; }
main { margin-left: 250px; max-width: 800px; padding: 1rem 2rem 4rem; }  /* Quarto's default grid-body-width */
@media (max-width: 767px) { nav { position: static; width: auto; border-right: 0; padding: .6rem 1rem; } main { margin-left: 0; padding: 1rem; }
  nav a { display: inline-block; margin-right: .9rem; padding: .1rem 0; font-size: 90%; } nav .site { margin-bottom: .2rem; } }  /* Quarto folds its sidebar away on phones */
h1.title { margin-bottom: .2rem; } p.description { color: #555; font-size: 1.1rem; margin-top: 0; }
pre { background: #f6f8fa; padding: .6rem .8rem; overflow-x: auto; font-size: 13.5px; border-radius: 4px; }
pre.output { background: #fff; border-left: 3px solid #dde; } pre.error { border-left-color: #c33; }
table { border-collapse: collapse; margin: .6rem 0; font-size: 14px; } th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f5f7fa; }
div.output img, main img { max-width: 100%; }  /* whether wide outputs scroll is up to nbs/styles.css, as on the site */
code { font-size: 90%; } p code, li code, td code { background: #f1f3f5; padding: 0 .2rem; border-radius: 3px; }
"""

def quarto_html_options()->dict:
    "The `format: html:` options of `nbs/_quarto.yml` (the preview follows the ones that change layout)"
    cfg = yaml.safe_load((NBS/'_quarto.yml').read_text()) if (NBS/'_quarto.yml').is_file() else {}
    return ((cfg or {}).get('format') or {}).get('html') or {}

WRAP = 'pre { white-space: pre-wrap; overflow-wrap: anywhere; }'

def layout(body, title, pages_nav, current)->str:
    nav = ''.join(f'<a href="{p}"{" class=current" if p == current else ""}>{inline(t)}</a>' for p, t in pages_nav)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title.replace("`", ""))} – sar_nb</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}'
            f'{WRAP if quarto_html_options().get("code-overflow") == "wrap" else ""}</style>'
            f'<link rel="stylesheet" href="styles.css"></head><body><nav><div class="site">sar_nb</div>{nav}</nav>'
            f'<main>{body}</main></body></html>')


# ---- checks
TAG = re.compile(r'<[^>]+>')

def visible_text(page:str)->str:
    page = re.sub(r'<(style|script|math)\b.*?</\1>', ' ', page, flags=re.S)
    return html.unescape(TAG.sub(' ', page))

def hidden_code(nb_path:Path)->list[str]:
    "The code of the cells the source notebook hides, as it would appear on a page if shown"
    out = []
    for c in json.loads(nb_path.read_text())['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'code' and any(l.strip() in HIDDEN for l in src.splitlines()[:3]) and '#| export' not in src:
            code = strip_options(src)
            if len(code) > 40: out.append(code)
    return out

def output_problems(nb_path:Path)->list[str]:
    "What Quarto would show badly from the committed outputs: the same figure twice in a row, an output box with nothing in it"
    out = []
    for c in json.loads(nb_path.read_text())['cells']:
        if c['cell_type'] != 'code' or any(l.strip() in HIDDEN for l in ''.join(c['source']).splitlines()[:3]): continue
        first = ''.join(c['source']).strip().splitlines()[-1:] or ['']
        images = [''.join(o.get('data', {}).get('image/png', '')) for o in c.get('outputs', [])]
        if any(a and a == b for a, b in zip(images, images[1:])): out.append(f'a figure shown twice (the cell ending {first[0][:60]!r})')
        for o in c.get('outputs', []):
            text = ''.join(o.get('text', '')) if o.get('output_type') == 'stream' else None
            data = o.get('data', {})
            if (text is not None and not text.strip()) or (data and set(data) <= {'text/plain'} and not ''.join(data['text/plain']).strip()):
                out.append(f'an empty output box (the cell ending {first[0][:60]!r})')
    return out

def source_proc(source:Path)->Path: return PROC/source.name  # the notebook as nbdev processed it for the docs

def check(out:Path, built:dict)->list[str]:
    problems = []
    ids = {name: set(re.findall(r'\bid="([^"]+)"', page)) for name, (page, _) in built.items()}
    for name, (page, source) in built.items():
        main = page.split('<main>', 1)[1]
        text = visible_text(main)
        for line in text.splitlines():
            if re.match(r'^\s*(#\||\|\s*(echo|output|hide|include|export)\b)', line): problems.append(f'{name}: shows a directive: {line.strip()!r}')
        for m in re.finditer(r'\[\d+ rows x \d+ columns\]', text): problems.append(f'{name}: shows pandas\' {m.group(0)} where a table was meant')
        for m in re.finditer(r'\[[^\[\]\n]+\]\([^)\s]+\)', visible_text(re.sub(r'<pre\b.*?</pre>', ' ', main, flags=re.S))): problems.append(f'{name}: shows link syntax as text: {m.group(0)!r}')
        for problem in output_problems(source) + table_problems(main): problems.append(f'{name}: {problem}')
        for cell in json.loads(source_proc(source).read_text())['cells'] if source_proc(source).is_file() else []:
            for m in re.finditer(r'\[[^\]\n]*\[[^\]\n]*\]\([^)\s]*\)[^\]\n]*\]\(', ''.join(cell['source'])):  # nbdev's auto-link inside a link
                problems.append(f'{name}: a link inside link text (Quarto shows it as text): {m.group(0)!r}')
        escaped = html.unescape(main)
        for code in hidden_code(source):
            if code in escaped: problems.append(f'{name}: shows the code of a hidden cell: {code.splitlines()[0]!r}')
        for src in re.findall(r'<img\b[^>]*\bsrc="([^"]+)"', main):
            if not re.match(r'^(data:|https?:)', src) and not (out/src).is_file(): problems.append(f'{name}: image {src} is missing')
        for href in re.findall(r'<a\b[^>]*\bhref="([^"]*)"', main):
            if re.match(r'^(https?:|mailto:)', href): continue  # elsewhere
            target, _, anchor = href.lstrip('/').partition('#')  # nbdev's doc links are site-absolute (site-url: /)
            target = target or name
            if target not in built:
                if not (out/target).exists(): problems.append(f'{name}: link to {href}: no page {target}')
                continue
            if anchor and anchor not in ids[target]: problems.append(f'{name}: link to {href}: {target} has no #{anchor}')
    return problems


INDEX_COLUMN = re.compile(r'<tbody>\s*<tr>\s*<th\b[^>]*>\s*0\s*</th>')  # pandas' RangeIndex as row headers
NAN_CELL = re.compile(r'<td\b[^>]*>\s*(NaN|nan|None|&lt;NA&gt;)\s*</td>')

def table_problems(main:str)->list[str]:
    "pandas' default index column (0, 1, 2, ... as row headers) or NaN cells in a table"
    out = []
    for table in re.findall(r'<table\b.*?</table>', main, flags=re.S):
        first = visible_text(table).split()[:6]
        if INDEX_COLUMN.search(table): out.append(f'a table shows pandas\' index column (hide it: `df.style.hide(axis="index")`): {" ".join(first)!r}')
        if NAN_CELL.search(table): out.append(f'a table shows NaN cells (say what is missing, or leave the cell empty): {" ".join(first)!r}')
    return out

MEASURE = """<script>(function () {
  const main = document.querySelector('main'), cs = getComputedStyle(main);
  const col = main.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const wide = [];
  for (const el of main.querySelectorAll('table, pre')) {
    const w = Math.max(el.scrollWidth, el.getBoundingClientRect().width);
    if (w > col + 1) wide.push([el.tagName.toLowerCase(), Math.round(w), (el.innerText || '').trim().split('\\n')[0].slice(0, 70)]);
  }
  let sentence = null;
  for (const el of main.querySelectorAll('p')) {
    if (el.getBoundingClientRect().top > innerHeight) break;
    const t = el.innerText.trim();
    if (t.split(/\\s+/).length >= 6 && /[.:!?)]$/.test(t)) { sentence = t.slice(0, 80); break; }
  }
  const out = [];  // the innermost elements that reach past the right edge of the screen
  for (const el of document.body.querySelectorAll('*')) {
    if (el.getBoundingClientRect().right <= innerWidth + 1 || el.closest('.cell-output-display, pre') !== el && el.closest('.cell-output-display, pre')) continue;
    if (![...el.children].some(c => c.getBoundingClientRect().right > innerWidth + 1)) out.push(el.tagName.toLowerCase() + ': ' + (el.innerText || el.getAttribute('src') || '').trim().slice(0, 50));
  }
  document.body.setAttribute('data-measure', JSON.stringify({screen: innerWidth, col: Math.round(col), wide: wide, out: out.slice(0, 3),
                                                             page: document.documentElement.scrollWidth, sentence: sentence}));
})();</script>"""

def browser()->str|None: return shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')

def measure(out:Path, name:str, width:int, height:int)->dict:
    "Lay the page out in headless Chromium in a `width` x `height` px viewport and read what MEASURE found"
    probe, frame = out/f'.measure-{name}', out/f'.frame-{name}'
    probe.write_text((out/name).read_text().replace('</body>', MEASURE + '</body>'))
    # the page in an iframe of that size: headless Chromium's window is at least 500 px wide, a phone's viewport is not
    frame.write_text(f'<!doctype html><body style="margin:0"><iframe id="f" src="{probe.name}" style="width:{width}px;height:{height}px;border:0"></iframe>'
                     '<script>f.onload = () => document.body.setAttribute("data-measure", f.contentDocument.body.getAttribute("data-measure"))</script></body>')
    try:
        dom = subprocess.run([browser(), '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--allow-file-access-from-files',
                              '--window-size=1400,1000', '--virtual-time-budget=20000', '--dump-dom', frame.resolve().as_uri()],
                             capture_output=True, text=True, timeout=120).stdout
    finally: probe.unlink(); frame.unlink()
    m = re.search(r'data-measure="([^"]*)"', dom)
    return json.loads(html.unescape(m.group(1))) if m else {}

def layout_problems(out:Path, names)->list[str]:
    "What a reader sees cut or missing, as Chromium lays the pages out: at 1280 px (the content column) and at 390 px (a phone)"
    problems = []
    for name in names:
        desk, phone = measure(out, name, 1280, 900), measure(out, name, 390, 844)
        if not desk or not phone: problems.append(f'{name}: Chromium could not lay the page out'); continue
        for tag, width, first in desk['wide']:
            what = 'table' if tag == 'table' else 'code block'
            problems.append(f'{name}: a {what} {width} px wide in the {desk["col"]} px content column (cut or scrolled): {first!r}')
        if phone['page'] > phone['screen']:
            problems.append(f'{name}: at {phone["screen"]} px (a phone) the page is {phone["page"]} px wide; past the edge: {"; ".join(phone["out"])}')
        if not desk['sentence']: problems.append(f'{name}: no sentence on the first screen says what the page is for')
    return problems


def site_config_problems()->list[str]:
    "Settings of nbs/_quarto.yml that need a URL pyproject.toml does not give (Quarto makes them with relative URLs or none)"
    import tomllib
    project = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']
    urls = project.get('urls') or {}
    repo, docs = urls.get('Repository') or urls.get('Source'), urls.get('Documentation')
    cfg = yaml.safe_load((NBS/'_quarto.yml').read_text())
    site, files = cfg.get('website') or {}, cfg.get('metadata-files') or []
    out = []
    if not (repo and docs) and 'nbdev.yml' in files:
        out.append('_quarto.yml reads nbdev.yml, which without a Repository and Documentation URL in pyproject.toml gives '
                   'site-url "/" (a sitemap, robots.txt and social cards with relative URLs) and an empty repo-url')
    if not repo:
        out += [f'_quarto.yml: website {k} with no Repository URL in pyproject.toml' for k in ('repo-url', 'repo-actions') if k in site]
    if not docs:
        out += [f'_quarto.yml: website {k} with no Documentation URL in pyproject.toml' for k in ('site-url', 'open-graph', 'twitter-card') if site.get(k)]
    if 'nbdev.yml' not in files:
        out += [f'_quarto.yml: website {k} is {site.get(k)!r}, pyproject.toml says {want!r}'
                for k, want in (('title', project['name']), ('description', project.get('description'))) if site.get(k) != want]
    return out


def screenshots(out:Path, names):
    "Screenshots of every page at 1280 px and at a phone's 390 px: the first screen (what a reader sees first) and the whole page"
    if browser() is None: sys.exit('--screenshots needs Chromium (Debian: apt-get install chromium)')
    shots = out/'shots'; shots.mkdir(exist_ok=True)
    for name in names:
        for suffix, size in (('', '1280,900'), ('-full', '1280,12000'), ('-phone', '390,844'), ('-phone-full', '390,30000')):
            subprocess.run([browser(), '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', f'--window-size={size}',
                            f'--screenshot={shots/(Path(name).stem + suffix + ".png")}', (out/name).resolve().as_uri()],
                           capture_output=True, timeout=120)
    print(f'screenshots in {shots}')


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out', type=Path, help='folder for the HTML pages')
    p.add_argument('--no-proc', action='store_true', help='use the _proc/ folder as it is (do not run proc_nbs first)')
    p.add_argument('--screenshots', action='store_true', help='screenshot every page with headless Chromium')
    p.add_argument('--no-browser', action='store_true', help='skip the checks that need Chromium (widths, phone, first screen)')
    args = p.parse_args()
    if not args.no_proc:
        from nbdev.serve import proc_nbs
        proc_nbs(n_workers=2)
    out = args.out; out.mkdir(parents=True, exist_ok=True)
    nbs = sorted(PROC.glob('*.ipynb'), key=lambda f: (f.stem != 'index', f.stem))
    nbs = [f for f in nbs if not f.name.startswith('_')]
    loaded = {f: json.loads(f.read_text()) for f in nbs}
    metas = {f: frontmatter(nb) for f, nb in loaded.items()}
    names = {f.stem: page_name(f, metas[f]) for f in nbs}
    nav = [(names[f.stem], metas[f].get('title', f.stem)) for f in nbs]
    built = {}
    for f in nbs:
        r = Renderer(names)
        body = render_page(loaded[f], metas[f], r)
        page = layout(body, metas[f].get('title', f.stem), nav, names[f.stem])
        (out/names[f.stem]).write_text(page)
        built[names[f.stem]] = (page, NBS/f.name)
    if (NBS/'images').is_dir(): shutil.copytree(NBS/'images', out/'images', dirs_exist_ok=True)
    if (NBS/'styles.css').is_file(): shutil.copy(NBS/'styles.css', out/'styles.css')
    print(f'{len(built)} pages in {out}: ' + ', '.join(built))
    if args.screenshots: screenshots(out, built)
    problems = site_config_problems() + check(out, built)
    if not args.no_browser:
        problems += layout_problems(out, built) if browser() else ['no Chromium to lay the pages out (Debian: apt-get install chromium; or --no-browser)']
    for problem in problems: print('PROBLEM:', problem)
    print(f'docs preview: {len(built)} pages, {len(problems)} problems')
    sys.exit(1 if problems else 0)


if __name__ == '__main__': main()
