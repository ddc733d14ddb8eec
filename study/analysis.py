"""Reading the study's CSVs: tables, paired differences with 95% intervals, the SAR x nosn effects and the sentences
the study page (nbs/08_study.ipynb) shows. Every number on that page is computed here from the CSVs that
`run_study.py` writes; nothing is typed by hand.

    import sys; sys.path.insert(0, 'study'); from analysis import *
    study, curves, sweep = load_study(Path('study/results/paired'))
    factorial_table(study)
"""
import numpy as np, pandas as pd
import matplotlib.pyplot as plt
from scipy import stats
from IPython.display import Markdown

ARM_NAMES = {'baseline': 'baseline', 'sar': 'SAR (λ = 0.01)', 'sar_tuned': 'SAR (tuned λ)', 'nosn': 'nosn', 'sar_nosn': 'SAR + nosn'}
DATA_NAMES = {'fmnist_1k': 'Fashion-MNIST 1k', 'fmnist_4k': 'Fashion-MNIST 4k', 'composites_4k': 'composites 4k',
              'composites_1k_g14': 'composites 1k, 14×14 grid', 'composites_1k_g8': 'composites 1k, 8×8 grid'}
GRID_PAIR = ('composites_1k_g14', 'composites_1k_g8')  # the same scenes at 56 px, 4-px or 7-px patches
GRID_ARMS = ('baseline', 'nosn', 'sar_nosn')  # the 2x2 design showed nosn carries the composites' gain: the grid study runs it, not SAR alone
FACTORIAL_DATASETS = ('composites_4k', 'fmnist_1k')  # where the 2x2 design (SAR x nosn) runs: every arm, 5 seeds

def planned_seeds(dataset, arm):
    "Seeds planned for an arm: 5 each, the nosn arms only where the 2x2 design runs (Fashion-MNIST 4k: SAR + nosn on 2); the grid study: baseline, nosn, SAR + nosn"
    if dataset in GRID_PAIR: return 5 if arm in GRID_ARMS else 0
    if arm in ('nosn', 'sar_nosn') and dataset not in FACTORIAL_DATASETS: return 2 if arm == 'sar_nosn' else 0
    return 5

def load_study(folder):
    "The study's runs, accuracy curves and λ sweep in `folder` (empty tables where nothing has run yet)"
    read = lambda f: pd.read_csv(folder/f) if (folder/f).exists() else pd.DataFrame()
    study, curves, sweep = read('study.csv'), read('curves.csv'), read('lambda_sweep.csv')
    if len(curves) and 'part_accuracy' in curves: curves = curves.rename(columns={'part_accuracy': 'accuracy'})  # the first study's name
    return study, curves, sweep

def ci(values):
    "Mean and 95% t-interval (Student's t over the seeds; no interval for one seed)"
    v = np.asarray(values, float)
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float('nan')
    return dict(n=len(v), mean=v.mean(), lo=v.mean() - half, hi=v.mean() + half)

def fmt_ci(r, digits=1):
    return f"{r['mean']:+.{digits}f} [{r['lo']:+.{digits}f}, {r['hi']:+.{digits}f}] (n={r['n']})" if r['n'] > 1 else f"{r['mean']:+.{digits}f} (n=1)"

def short_device(d):
    "'CPU', or the GPU's model ('H100' for 'cuda: NVIDIA H100 80GB HBM3'); the CSVs of runs from before the `device` column are CPU runs"
    d = 'cpu' if pd.isna(d) else str(d)
    return 'CPU' if d == 'cpu' else d.split(': ', 1)[-1].replace('NVIDIA ', '').split()[0]

def with_devices(study):
    "`study` with a `ran_on` column: the short name of the device that ran each run"
    s = study.copy()
    s['ran_on'] = (s.device if 'device' in s else pd.Series('cpu', index=s.index)).map(short_device)
    return s

def devices(runs):
    return ', '.join(sorted(set(runs.ran_on)))

def seeds_done(study):
    "Seeds finished per dataset and arm"
    return (study.groupby(['dataset', 'arm']).seed.nunique().unstack().reindex(index=list(DATA_NAMES), columns=list(ARM_NAMES))
            .fillna(0).astype(int))

def progress_table(study):
    "Seeds finished per dataset and arm, and the device that ran them"
    s, done = with_devices(study), seeds_done(study)
    return done.astype(object).apply(lambda col: [f"{n} ({devices(s[(s.dataset == d) & (s.arm == col.name)])})" if n else '0'
                                                  for d, n in col.items()]).rename(index=DATA_NAMES, columns=ARM_NAMES)

def cpu_models(runs)->str:
    "The CPU models of `runs`, with how many runs each ran where there are several"
    counts = runs.cpu.value_counts()
    return counts.index[0] if len(counts) == 1 else ', '.join(f"{n} {m}" for m, n in counts.items())

def machines(study):
    "How many runs each device ran, and its CPU models (a GPU's host CPU too)"
    s = with_devices(study)
    return ', '.join(f"{len(g)} on the CPU ({cpu_models(g)})" if w == 'CPU' else f"{len(g)} on one NVIDIA {w} (host CPU: {cpu_models(g)})"
                     for w, g in s.groupby('ran_on'))

def chosen_weights(sweep):
    "The sweep's λ per dataset where every λ ran: `run_study.sweep_winner`, the rule the study's tuned arm uses"
    from run_study import sweep_winner
    return {d: w for d, g in sweep.groupby('dataset') if (w := sweep_winner(g.to_dict('records'))) is not None}

def sweep_table(sweep):
    table = sweep.pivot_table(index='dataset', columns='weight', values='holdout_accuracy').reindex([d for d in DATA_NAMES if d in set(sweep.dataset)])
    out = (100*table).round(1).astype(object).where(table.notna(), '–').rename(columns=lambda w: f'λ = {w:g}')  # '–': not run yet
    out['chosen λ'] = [chosen_weights(sweep).get(d, 'sweep running') for d in table.index]
    return out.rename(index=DATA_NAMES)

def mean_sd(s, scale=1., digits=1):
    s = s.dropna()
    if not len(s): return '–'
    return f'{scale*s.mean():.{digits}f} ± {scale*s.std(ddof=1):.{digits}f}' if len(s) > 1 else f'{scale*s.mean():.{digits}f}'

def minutes(runs):
    "Median minutes per run, per device where the runs were on more than one"
    m = runs.groupby('ran_on').seconds.median() / 60
    return f'{m.iloc[0]:.1f}' if len(m) == 1 else ', '.join(f'{v:.1f} ({d})' for d, v in m.items())

def results_table(study):
    "Per dataset and arm: runs, devices, top-1 and Jaccard (%), the spatial entropies (mean ± sd over seeds), minutes per run"
    s = with_devices(study)
    return (s.groupby(['dataset', 'arm'], sort=False)
            .agg(runs=('seed', 'count'), device=('ran_on', lambda s: ', '.join(sorted(set(s)))), top1=('accuracy', lambda s: mean_sd(s, 100)),
                 valid_entropy=('valid_entropy', lambda s: mean_sd(s, 1, 3)), train_entropy=('train_entropy', lambda s: mean_sd(s, 1, 3)),
                 jaccard=('jaccard', lambda s: mean_sd(s, 100)), minutes=('seconds', lambda sec: minutes(s.loc[sec.index])))
            .reindex(pd.MultiIndex.from_product([list(DATA_NAMES), list(ARM_NAMES)])).dropna(subset=['runs'])
            .astype({'runs': int}).rename(index=DATA_NAMES, level=0).rename(index=ARM_NAMES, level=1))

def paired_diffs(study):
    "{(arm, column): {dataset: ci}}: each arm minus the baseline, seed by seed"
    out = {}
    for arm in ('sar', 'sar_tuned', 'nosn', 'sar_nosn'):
        for col, scale in (('accuracy', 100), ('valid_entropy', 1), ('jaccard', 100)):
            wide = study.pivot_table(index=['dataset', 'seed'], columns='arm', values=col) if len(study) else pd.DataFrame()
            if arm not in wide or 'baseline' not in wide: out[(arm, col)] = {}; continue
            diff = (scale * (wide[arm] - wide['baseline'])).dropna()
            out[(arm, col)] = {d: ci(v.values) for d, v in diff.groupby(level=0)}
    return out

def pair_kinds(study, arm, dataset):
    "[(device of the arm's run, device of the baseline's run, seeds)] over the seeds that have both"
    s = with_devices(study); s = s[s.dataset == dataset]
    pairs = s[s.arm == arm].merge(s[s.arm == 'baseline'], on='seed', suffixes=('', '_base'))
    return [(a, b, sorted(g.seed)) for (a, b), g in pairs.groupby(['ran_on', 'ran_on_base'])]

def pair_devices(study, arm, dataset):
    "Where the pairs ran: one name, 'X vs Y' for pairs across devices, and the seeds of each where they differ"
    kinds = pair_kinds(study, arm, dataset)
    names = [a if a == b else f'{a} vs {b}' for a, b, _ in kinds]
    if len(kinds) == 1: return names[0]
    return ', '.join(f"{n} (seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))})" for n, (_, _, seeds) in zip(names, kinds))

def diffs_table(diffs, study, uuid='diffs'):
    "The paired differences (95% intervals) per dataset and arm; `uuid` fixes the table's HTML id so re-executing the page does not rewrite it"
    rows = []
    for dataset in DATA_NAMES:
        for arm in ('sar', 'sar_tuned', 'nosn', 'sar_nosn'):
            acc = diffs[(arm, 'accuracy')].get(dataset)
            if acc is None: continue
            ent, jac = diffs[(arm, 'valid_entropy')].get(dataset), diffs[(arm, 'jaccard')].get(dataset)
            rows.append(dict(dataset=DATA_NAMES[dataset], arm=ARM_NAMES[arm], accuracy_points=fmt_ci(acc), valid_entropy=fmt_ci(ent, 3),
                             jaccard_points=fmt_ci(jac) if jac else '–', device=pair_devices(study, arm, dataset)))
    return pd.DataFrame(rows).style.hide(axis='index').set_uuid(uuid) if rows else Markdown('No paired runs yet.')

def verdict(r, unit, what):
    unit = f' {unit}' if unit else ''
    if r is None: return f'no paired runs yet for {what}'
    if r['n'] < 2: return f"{what} {r['mean']:+.2f}{unit} on one seed (no interval yet)"
    if r['lo'] > 0: return f"{what} **higher** by {r['mean']:.2f}{unit} (95% CI {r['lo']:+.2f} to {r['hi']:+.2f}, {r['n']} seeds)"
    if r['hi'] < 0: return f"{what} **lower** by {-r['mean']:.2f}{unit} (95% CI {r['lo']:+.2f} to {r['hi']:+.2f}, {r['n']} seeds)"
    return f"{what} **not measurably changed** ({r['mean']:+.2f}{unit}, 95% CI {r['lo']:+.2f} to {r['hi']:+.2f}, {r['n']} seeds)"

def verdict_lines(diffs, sweep, study):
    "One line per dataset and SAR arm: accuracy, entropy and (composites) Jaccard against the baseline; the λ the sweep chose"
    lines = []
    for dataset, name in DATA_NAMES.items():
        for arm in ('sar', 'sar_tuned'):
            acc = diffs[(arm, 'accuracy')].get(dataset)
            if acc is None: continue
            parts = [verdict(acc, 'points', 'accuracy'), verdict(diffs[(arm, 'valid_entropy')].get(dataset), '', 'test-image spatial entropy')]
            if dataset.startswith('composites'): parts.append(verdict(diffs[(arm, 'jaccard')].get(dataset), 'points', 'best-head Jaccard'))
            kinds = pair_kinds(study, arm, dataset)
            cross = [(a, b, seeds) for a, b, seeds in kinds if a != b]
            if cross: parts.append(('these pairs cross devices' if len(cross) == len(kinds) else f"{sum(len(k[2]) for k in cross)} of "
                                    f"{sum(len(k[2]) for k in kinds)} pairs cross devices") + ' (' + '; '.join(f"SAR on the {a}, the baseline on the {b}"
                                    for a, b, _ in cross) + '; see [the same run on both](#the-same-run-on-the-cpu-and-the-gpu))')
            lines.append(f"- **{name}, {ARM_NAMES[arm]}** vs the baseline: " + '; '.join(parts) + '.')
    tuned = chosen_weights(sweep) if len(sweep) else {}
    if tuned: lines.append('- The λ sweep chose ' + ', '.join(f'{w:g} for {DATA_NAMES[d]}' for d, w in tuned.items())
                           + ' (where it chose 0.01, the tuned arm is the SAR arm and is not run twice).')
    return lines

def curves_figure(curves, arms=('baseline', 'sar')):
    "Accuracy on the test part during training, mean over the seeds so far, one panel per dataset that has runs"
    sets = [d for d in DATA_NAMES if len(curves) and d in set(curves.dataset)]
    fig, axs = plt.subplots(1, max(len(sets), 1), figsize=(4.2*max(len(sets), 1), 3.2), squeeze=False)
    for ax, dataset in zip(axs[0], sets):
        for arm in arms:
            c = curves[(curves.dataset == dataset) & (curves.arm == arm)].groupby('epoch').accuracy.mean()
            if len(c): ax.plot(c.index, 100*c.values, label=ARM_NAMES[arm])
        ax.set(title=DATA_NAMES[dataset], xlabel='epoch', ylabel='accuracy on the test part (%)'); ax.grid(alpha=.3); ax.legend()
    fig.tight_layout()

# The 2x2 design: SAR (the loss) x nosn (the last block without its attention residual and norm)
EFFECTS = {'SAR without nosn': ('sar', 'baseline'), 'SAR with nosn': ('sar_nosn', 'nosn'),
           'nosn without SAR': ('nosn', 'baseline'), 'nosn with SAR': ('sar_nosn', 'sar'),
           "SAR + nosn vs baseline (the paper's)": ('sar_nosn', 'baseline')}
INTERACTION = 'interaction (SAR with nosn − SAR without)'
METRICS = {'accuracy': ('accuracy (points)', 100, 2), 'valid_entropy': ('test-image entropy', 1, 3), 'jaccard': ('best-head Jaccard (points)', 100, 2)}
FACTORIAL_ARMS = ('baseline', 'sar', 'nosn', 'sar_nosn')

def factorial_effects(study, dataset, col, scale=1.):
    "{effect: ci}: each simple effect of the 2x2 design and the interaction, as paired differences over the seeds that have both (all four) arms"
    runs = study[(study.dataset == dataset) & study.arm.isin(FACTORIAL_ARMS)] if len(study) else study
    wide = runs.pivot_table(index='seed', columns='arm', values=col) if len(runs) else pd.DataFrame()
    out = {}
    for name, (a, b) in EFFECTS.items():
        d = (scale * (wide[a] - wide[b])).dropna() if a in wide and b in wide else pd.Series(dtype=float)
        out[name] = ci(d.values) if len(d) else None
    if all(a in wide for a in FACTORIAL_ARMS):
        d = (scale * ((wide.sar_nosn - wide.nosn) - (wide.sar - wide.baseline))).dropna()
        out[INTERACTION] = ci(d.values) if len(d) else None
    else: out[INTERACTION] = None
    return out

def factorial_table(study, datasets=FACTORIAL_DATASETS):
    "Per dataset and effect: the paired mean and 95% interval for accuracy, test-image entropy and (composites) Jaccard"
    rows = []
    for dataset in datasets:
        effects = {col: factorial_effects(study, dataset, col, scale) for col, (_, scale, _) in METRICS.items()}
        for name in [*EFFECTS, INTERACTION]:
            row = dict(dataset=DATA_NAMES[dataset], effect=name)
            for col, (label, _, digits) in METRICS.items():
                r = effects[col][name]
                row[label] = fmt_ci(r, digits) if r is not None and not (col == 'jaccard' and not dataset.startswith('composites')) else '–'
            rows.append(row)
    return pd.DataFrame(rows)

def _sign(r):
    "+1, -1 or 0: the interval above 0, below 0, or across it (or too few seeds)"
    if r is None or r['n'] < 2: return 0
    return 1 if r['lo'] > 0 else -1 if r['hi'] < 0 else 0

def factorial_reading(effects, what='accuracy'):
    "One sentence from the intervals: which part of the method moves `what`, and whether the parts add up"
    paper, sar, nosn = effects["SAR + nosn vs baseline (the paper's)"], effects['SAR without nosn'], effects['nosn without SAR']
    sar_on_nosn, nosn_on_sar, inter = effects['SAR with nosn'], effects['nosn with SAR'], effects[INTERACTION]
    if paper is None or paper['n'] < 2: return f"*{what}*: too few paired seeds yet"
    word, interval = {1: 'raises', -1: 'lowers'}, lambda r: f"{r['mean']:+.2f}, 95% CI {r['lo']:+.2f} to {r['hi']:+.2f}, {r['n']} seeds"
    if _sign(paper) == 0: head = f"the paper's configuration does not measurably change {what} ({interval(paper)})"
    else:
        head = f"the paper's configuration {word[_sign(paper)]} {what} ({interval(paper)})"
        if nosn is None or sar_on_nosn is None: head += '; which part carries it needs the nosn arm'
        elif _sign(paper) in (_sign(nosn), _sign(nosn_on_sar)) and _sign(sar_on_nosn) == 0:  # nosn moves it, alone or on top of SAR
            head += ', and nosn carries it: SAR adds nothing measurable on top of nosn'
        elif _sign(paper) in (_sign(sar), _sign(sar_on_nosn)) and _sign(nosn_on_sar) == 0:
            head += ', and it needs SAR: nosn adds nothing measurable on top of SAR'
        elif _sign(sar_on_nosn) == _sign(paper) and _sign(nosn_on_sar) == _sign(paper): head += ', and both parts contribute'
        else: head += ', but neither part alone is measurably responsible'
    if inter is None or inter['n'] < 2: return f"*{what}*: {head}"  # the interaction needs seeds with all four arms
    if _sign(inter):
        alone, on_top = sar['mean'], sar_on_nosn['mean']
        tail = (f"they do not add up: SAR moves it {'less' if abs(on_top) < abs(alone) else 'more'} on top of nosn ({on_top:+.2f}) "
                f"than alone ({alone:+.2f}); interaction {interval(inter)}")
    else: tail = 'no interaction is measurable: within the intervals, the two add up'
    return f"*{what}*: {head} ({tail})"

def factorial_answer(study, datasets=FACTORIAL_DATASETS):
    "Markdown bullets: per dataset, the reading for accuracy, entropy and (composites) Jaccard, with the seeds behind it"
    lines = []
    for dataset in datasets:
        runs = study[(study.dataset == dataset) & study.arm.isin(FACTORIAL_ARMS)] if len(study) else study
        complete = runs.groupby('seed').arm.nunique().eq(len(FACTORIAL_ARMS)).sum() if len(runs) else 0
        parts = [factorial_reading(factorial_effects(study, dataset, col, scale), label.split(' (')[0])
                 for col, (label, scale, _) in METRICS.items() if col != 'jaccard' or dataset.startswith('composites')]
        seeds = f"{complete} seed{'s' if complete != 1 else ''} with all four arms" + ('' if complete > 1 else '; the interaction needs at least two')
        lines.append(f"- **{DATA_NAMES[dataset]}** ({seeds}):\n" + '\n'.join(f'  - {p}.' for p in parts))
    return '\n'.join(lines)

def plateau_gains(study, extra=None):
    "Per dataset: what the last fifth of training added to the baseline (points, full test set), over the study's seeds and `extra`'s"
    runs = pd.concat([study.assign(extra=False), extra.assign(extra=True)]) if extra is not None and len(extra) else study.assign(extra=False)
    base = runs[runs.arm == 'baseline'] if len(runs) else runs
    return {d: dict(ci(100*(b.accuracy - b.accuracy_at_80)), epochs=int(b.epochs.max()), extra=int(b.extra.sum()))
            for d, b in base.groupby('dataset')} if len(base) else {}
def plateau_text(d, r):
    if r['n'] < 2: return f"- **{DATA_NAMES[d]}** (one seed so far, no interval): over {r['epochs']} epochs the last fifth adds {r['mean']:+.2f} points."
    status = ('**shown**: the whole interval lies below 0.5' if r['hi'] < 0.5 else
              '**not met**: the whole interval lies above 0.5' if r['lo'] > 0.5 else '**not shown**: the interval reaches above 0.5')
    seeds = f"{r['n']} seeds, {r['extra']} of them for this check only" if r['extra'] else f"{r['n']} seeds"
    return (f"- **{DATA_NAMES[d]}** ({seeds}): over {r['epochs']} epochs the last fifth adds {r['mean']:+.2f} points "
            f"(95% CI {r['lo']:+.2f} to {r['hi']:+.2f}); the plateau is {status}.")


def grid_contrast(study, arm, col='accuracy', scale=100.):
    "ci of (arm − baseline at 14×14) − (arm − baseline at 8×8), paired by seed over the seeds with both arms at both grids; None before"
    runs = study[study.dataset.isin(GRID_PAIR) & study.arm.isin(['baseline', arm])] if len(study) else study
    if not len(runs): return None
    wide = runs.pivot_table(index='seed', columns=['dataset', 'arm'], values=col)
    need = [(d, a) for d in GRID_PAIR for a in ('baseline', arm)]
    if any(k not in wide for k in need): return None
    fine, coarse = (scale * (wide[(d, arm)] - wide[(d, 'baseline')]) for d in GRID_PAIR)
    d = (fine - coarse).dropna()
    return ci(d.values) if len(d) else None

CHANCE = 0.1  # the composites' objects are the ten Fashion-MNIST classes
PILOT_CLEAR = 2  # "clearly above chance": at least twice chance, on the full test set

def grid_pilot(study):
    "The pilot of the grid study (issue: 1k scenes unless the baseline cannot get clearly above chance, then 2k): seed 0's baseline at each grid"
    runs = study[study.dataset.isin(GRID_PAIR) & (study.arm == 'baseline') & (study.seed == 0)] if len(study) else study
    acc = {d: float(runs[runs.dataset == d].accuracy.iloc[0]) for d in GRID_PAIR if (runs.dataset == d).any()}
    if not acc: return "**Pilot**: not run yet (the baseline, seed 0, at each grid on 1,000 scenes)."
    grid = {d: DATA_NAMES[d].split(', ')[1] for d in acc}  # '14×14 grid'
    said = '; '.join(f"{grid[d]} {100*a:.1f}%" for d, a in acc.items())
    low = [grid[d] for d, a in acc.items() if a < PILOT_CLEAR * CHANCE]
    if low: verdict = f"not clearly above chance at the {', '.join(low)}: the grid study should move to 2,000 scenes"
    elif len(acc) < len(GRID_PAIR): verdict = "clearly above chance so far; the other grid's pilot is still running"
    else: verdict = "both clearly above chance (at least twice it), so the grid study keeps 1,000 scenes"
    return (f"**Pilot** (the baseline, seed 0, 1,000 scenes, full test set; chance is {100*CHANCE:.0f}%): {said}: {verdict}.")

def grid_table(study, arms=('sar', 'nosn', 'sar_nosn')):
    "Per arm and metric: its paired effect at each grid and the grid contrast (14×14 minus 8×8)"
    rows = []
    for arm in arms:
        for col, (label, scale, digits) in METRICS.items():
            name = next(k for k, v in EFFECTS.items() if v == (arm, 'baseline'))  # the arm against the baseline
            effects = [factorial_effects(study, d, col, scale)[name] for d in GRID_PAIR]
            contrast = grid_contrast(study, arm, col, scale)
            if all(e is None for e in effects) and contrast is None: continue
            rows.append({'arm vs baseline': ARM_NAMES[arm], 'measure': label, 'at 14×14': fmt_ci(effects[0], digits) if effects[0] else '–',
                         'at 8×8': fmt_ci(effects[1], digits) if effects[1] else '–', '14×14 − 8×8': fmt_ci(contrast, digits) if contrast else '–'})
    return pd.DataFrame(rows)


GRID_EFFECTS = {"SAR + nosn vs baseline (the paper's)": "the paper's configuration (SAR + nosn)", 'nosn without SAR': 'nosn alone',
                'SAR with nosn': 'SAR on top of nosn'}

def _moves(r, digits=2):
    "How an effect reads from its interval: 'raises it (…)', 'lowers it (…)', 'does not measurably change it (…)'; one seed: no verdict"
    if r['n'] < 2: return f"moves it {r['mean']:+.{digits}f} (one seed, no interval)"
    verb = {1: 'raises it', -1: 'lowers it', 0: 'does not measurably change it'}[_sign(r)]
    return f"{verb} ({r['mean']:+.{digits}f}, 95% CI {r['lo']:+.{digits}f} to {r['hi']:+.{digits}f}, {r['n']} seeds)"

def grid_answer(study, cols=('accuracy', 'jaccard')):
    "Markdown bullets for the opening answer: per grid and measure, what the paper's configuration, nosn alone and SAR on top of nosn do; then whether the grid changes each arm's effect"
    lines = []
    for d in GRID_PAIR:
        parts = []
        for col in cols:
            label, scale, digits = METRICS[col]
            eff = factorial_effects(study, d, col, scale)
            said = [f"{name} {_moves(eff[key], digits)}" for key, name in GRID_EFFECTS.items() if eff[key] is not None]
            if said: parts.append(f"  - *{label.split(' (')[0]}*: " + '; '.join(said) + '.')
        n = int((study.dataset == d).sum()) if len(study) else 0
        if parts: lines.append(f"- **{DATA_NAMES[d]}** ({n} runs):\n" + '\n'.join(parts))
        elif n: lines.append(f"- **{DATA_NAMES[d]}** ({n} run{'s' if n > 1 else ''}): no arm has a paired seed with the baseline yet.")
    changes = []
    for arm in ('sar_nosn', 'nosn'):
        for col in cols:
            label, scale, digits = METRICS[col]
            c = grid_contrast(study, arm, col, scale)
            if c is None: continue
            what = f"{ARM_NAMES[arm]}'s effect on {label.split(' (')[0]}"
            if c['n'] < 2: changes.append(f"{what}: {c['mean']:+.{digits}f}, 14×14 minus 8×8 (one seed, no interval)")
            else:
                verb = {1: 'larger at 14×14', -1: 'smaller at 14×14', 0: 'not measurably different between the grids'}[_sign(c)]
                changes.append(f"{what} is {verb} ({c['mean']:+.{digits}f}, 95% CI {c['lo']:+.{digits}f} to {c['hi']:+.{digits}f}, {c['n']} seeds)")
    tail = ("- *Does the grid change it?* (effect at 14×14 − effect at 8×8, paired by seed) " + '; '.join(changes) + '.' if changes else
            "- *Does the grid change it?* Not known yet: no seed has the baseline and SAR + nosn at both grids.")
    return '\n'.join(lines + [tail]) if lines else "No grid-study run has finished yet."
