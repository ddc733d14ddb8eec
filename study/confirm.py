"""The confirmatory study (PREREGISTRATION.md, preregistration.json): the pre-registered family of contrasts, Holm's
correction, the forest plot, the headline and the rule the library's defaults follow. Every number comes from the
study's CSV; nothing is typed by hand.

    python study/confirm.py      # writes study/results/confirmatory/summary.json and nbs/images/study_forest.png (the pages show both)
"""
import json, math, subprocess
from pathlib import Path
import numpy as np, pandas as pd
import matplotlib, matplotlib.lines
import matplotlib.pyplot as plt
from scipy import stats

HERE = Path(__file__).resolve().parent
PLAN_FILE = HERE/'preregistration.json'
OUT = HERE/'results'/'confirmatory'
FIGURE = HERE.parent/'nbs'/'images'/'study_forest.png'  # where the docs pages (index, README, study) find it
CONTRAST_NAMES = {'sar_alone': 'SAR alone − baseline', 'nosn_alone': 'nosn alone − baseline',
                  'sar_on_nosn': 'SAR + nosn − nosn (SAR on top of nosn)', 'paper': "SAR + nosn − baseline (the paper's)"}
DATASET_NAMES = {'composites_1k_g14': 'composites 1k, 14×14 grid', 'composites_4k': 'composites 4k, 8×8 grid'}
METRICS = {'accuracy': ('test accuracy (points)', 100), 'valid_entropy': ('test-image spatial entropy', 1),
           'jaccard': ('best-head Jaccard (points)', 100)}

def load_plan(path=PLAN_FILE)->dict: return json.loads(Path(path).read_text())

def plan_commit(path=PLAN_FILE)->str|None:
    "The date and commit that added the pre-registration (None outside a git checkout)"
    try: out = subprocess.run(['git', 'log', '--diff-filter=A', '--format=%ad %h', '--date=format:%Y-%m-%d %H:%M UTC', '--', Path(path).name],
                              cwd=Path(path).parent, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()
    except (OSError, subprocess.SubprocessError): return None
    return out[-1] if out else None

def planned_runs(plan:dict)->list[tuple]:
    return [(d, a, s) for d in plan['datasets'] for s in plan['seeds'][d] for a in plan['arms']]

def family_runs(study:pd.DataFrame, plan:dict)->pd.DataFrame:
    "The planned runs that exist on the plan's device kind, one row per (dataset, arm, seed): the first in the CSV"
    s = study[(study.device.fillna('cpu') == plan['device_kind']) & study.dataset.isin(plan['datasets']) & study.arm.isin(plan['arms'])]
    s = s[np.array([int(seed) in plan['seeds'][d] for d, seed in zip(s.dataset, s.seed)], dtype=bool)]
    return s.drop_duplicates(['dataset', 'arm', 'seed'], keep='first')

def missing_runs(study, plan)->list[tuple]:
    have = {(d, a, int(s)) for d, a, s in zip(*[family_runs(study, plan)[c] for c in ('dataset', 'arm', 'seed')])}
    return [r for r in planned_runs(plan) if r not in have]

def paired(study, plan, dataset, arm, ref, metric)->pd.DataFrame:
    "Per seed: the difference arm − ref (scaled), and where each of the two ran (CPU model, threads)"
    runs = family_runs(study, plan)
    runs = runs[runs.dataset == dataset]
    a, b = runs[runs.arm == arm].set_index('seed'), runs[runs.arm == ref].set_index('seed')
    seeds = sorted(set(a.index) & set(b.index))
    scale = METRICS[metric][1]
    return pd.DataFrame(dict(seed=seeds, diff=[scale * (a.at[s, metric] - b.at[s, metric]) for s in seeds],
                             cpu=[a.at[s, 'cpu'] for s in seeds], cpu_ref=[b.at[s, 'cpu'] for s in seeds],
                             threads=[int(a.at[s, 'threads']) for s in seeds], threads_ref=[int(b.at[s, 'threads']) for s in seeds]))

def t_test(diffs)->dict:
    "Mean, standard error, two-sided one-sample t-test of mean 0 (NaN below two pairs)"
    d = np.asarray(diffs, float); n = len(d)
    if n < 2: return dict(n=n, mean=d.mean() if n else math.nan, se=math.nan, p=math.nan)
    se = d.std(ddof=1) / math.sqrt(n)
    p = 2 * stats.t.sf(abs(d.mean() / se), n - 1) if se > 0 else (0. if d.mean() != 0 else 1.)
    return dict(n=n, mean=d.mean(), se=se, p=p)

def holm(pvalues, alpha:float=0.05)->pd.DataFrame:
    """Holm's step-down procedure: adjusted p-values, decisions, and the level of the step that decided each hypothesis
    (an untestable NaN p-value counts in the family, is never rejected and comes last)"""
    p = np.asarray(pvalues, float); m = len(p)
    order = np.argsort(np.where(np.isnan(p), np.inf, p), kind='stable')
    adjusted, running, rejected = np.full(m, np.nan), 0., 0
    for j, i in enumerate(order):
        if np.isnan(p[i]): adjusted[i] = 1.; continue
        running = max(running, min(1., (m - j) * p[i]))
        adjusted[i] = running
    for j, i in enumerate(order):
        if not np.isnan(p[i]) and p[i] <= alpha / (m - j): rejected += 1
        else: break
    step_alpha = np.empty(m)
    for j, i in enumerate(order): step_alpha[i] = alpha / (m - j) if j < rejected else alpha / (m - rejected)
    return pd.DataFrame(dict(p=p, p_holm=adjusted, confirmed=adjusted < alpha, level=1 - step_alpha))

def family(study, plan=None, which='primary')->pd.DataFrame:
    "The family's contrasts with their tests, Holm-corrected together, and the Holm-step intervals"
    plan = plan or load_plan()
    spec = plan[which]
    metrics = [spec['metric']] if which == 'primary' else spec['metrics']
    rows = []
    for metric in metrics:
        for dataset in plan['datasets']:
            for name, (arm, ref) in plan['contrasts'].items():
                pairs = paired(study, plan, dataset, arm, ref, metric)
                r = t_test(pairs['diff'])
                same = [(c == cr and t == tr) for c, cr, t, tr in zip(pairs.cpu, pairs.cpu_ref, pairs.threads, pairs.threads_ref)]
                cpus = sorted(set(pairs.cpu) | set(pairs.cpu_ref)); threads = sorted(set(pairs.threads) | set(pairs.threads_ref))
                rows.append(dict(metric=metric, dataset=dataset, contrast=name, pairs=r['n'], planned=len(plan['seeds'][dataset]),
                                 mean=r['mean'], se=r['se'], p=r['p'], same_machine_pairs=sum(same),
                                 cpus=', '.join(c.replace('(R)', '') for c in cpus), threads=', '.join(map(str, threads))))
    out = pd.DataFrame(rows)
    if not len(out): return out
    out = pd.concat([out.drop(columns='p'), holm(out.p.values, spec['alpha'])], axis=1)
    half = [stats.t.ppf(1 - (1 - lvl) / 2, n - 1) * se if n > 1 else math.nan for lvl, n, se in zip(out.level, out.pairs, out.se)]
    out['lo'], out['hi'] = out['mean'] - half, out['mean'] + half
    return out

def complete(study, plan=None)->bool: return not missing_runs(study, plan or load_plan())

SENSITIVITY_DATASET = 'composites_1k_g14'  # the pre-registration's sensitivity analyses are of the 14x14 contrasts

def sensitivity_subsets(plan:dict)->dict:
    "The pre-specified subsets of pairs: the new seeds alone, and the pairs whose two runs share CPU model and thread count"
    spec, out = plan.get('sensitivity', {}), {}
    if SENSITIVITY_DATASET in spec.get('new_seeds', {}):
        seeds = spec['new_seeds'][SENSITIVITY_DATASET]
        out[f'new seeds {min(seeds)}–{max(seeds)}'] = lambda p: p[p.seed.isin(seeds)]
    if spec.get('same_cpu_and_threads'):
        out['same CPU model and threads'] = lambda p: p[(p.cpu == p.cpu_ref) & (p.threads == p.threads_ref)]
    return out

def sensitivity(study, plan=None)->pd.DataFrame:
    """The pre-specified sensitivity analyses, exploratory: each 14x14 contrast on each subset of its pairs, every metric,
    with a plain 95% t interval (no correction: nothing here is confirmatory)"""
    plan = plan or load_plan()
    rows = []
    for subset, keep in sensitivity_subsets(plan).items():
        for metric in METRICS:
            for name, (arm, ref) in plan['contrasts'].items():
                r = t_test(keep(paired(study, plan, SENSITIVITY_DATASET, arm, ref, metric))['diff'])
                half = stats.t.ppf(0.975, r['n'] - 1) * r['se'] if r['n'] > 1 else math.nan
                rows.append(dict(subset=subset, metric=metric, dataset=SENSITIVITY_DATASET, contrast=name, pairs=r['n'],
                                 mean=r['mean'], lo=r['mean'] - half, hi=r['mean'] + half, p=r['p']))
    return pd.DataFrame(rows)

def _signed(v, metric:str)->str:
    "A difference as the tables show it: signed, 3 decimals for the entropy, 2 for points; '–' where there is none"
    return '–' if pd.isna(v) else f"{v:+.{3 if metric == 'valid_entropy' else 2}f}"

def sensitivity_table(sens:pd.DataFrame)->pd.DataFrame:
    "The sensitivity analyses as a table for the study page (exploratory: plain 95% intervals, uncorrected p)"
    return pd.DataFrame([{'pairs kept': r.subset, 'metric': SHORT['metric'][r.metric], 'contrast': SHORT['contrast'][r.contrast],
                          'pairs': r.pairs, 'mean': _signed(r.mean, r.metric),
                          '95% interval': '–' if pd.isna(r.lo) else f'{_signed(r.lo, r.metric)} to {_signed(r.hi, r.metric)}',
                          'p (uncorrected)': '–' if pd.isna(r.p) else _p(r.p)} for r in sens.itertuples()])

def _p(p:float)->str:
    "A p-value as the tables show it: two significant digits, below 0.001 as '<0.001' (summary.json keeps the value)"
    return '<0.001' if p < 0.001 else f'{p:.2g}'

SHORT = dict(metric={'accuracy': 'accuracy', 'valid_entropy': 'entropy', 'jaccard': 'Jaccard'},
             dataset={'composites_1k_g14': '1k, 14×14', 'composites_4k': '4k, 8×8'},
             contrast={'sar_alone': 'SAR alone', 'nosn_alone': 'nosn alone', 'sar_on_nosn': 'SAR on nosn', 'paper': "SAR + nosn (paper's)"})

def table(fam:pd.DataFrame, interim:bool)->pd.DataFrame:
    "The family as a table for the pages: one row per contrast (against its reference), where its pairs ran"
    rows = []
    for r in fam.itertuples():
        cpus = r.cpus.replace(' Processor', '')
        rows.append({'metric': SHORT['metric'][r.metric], 'dataset': SHORT['dataset'].get(r.dataset, r.dataset),
                     'contrast': SHORT['contrast'][r.contrast], 'pairs': f'{r.pairs}/{r.planned}', 'mean': _signed(r.mean, r.metric),
                     'interval (level)': '–' if pd.isna(r.lo) else f'{_signed(r.lo, r.metric)} to {_signed(r.hi, r.metric)} ({100*r.level:.1f}%)',
                     'p (Holm)': '–' if pd.isna(r.p) else f'{_p(r.p)} ({_p(r.p_holm)})',
                     'confirmed': ('interim' if interim else 'yes' if r.confirmed else 'no'),
                     'CPUs (threads); pairs on one': f'{cpus} ({r.threads}); {r.same_machine_pairs}/{r.pairs}' if r.pairs else '–'})
    return pd.DataFrame(rows)

def forest(primary:pd.DataFrame, secondary:pd.DataFrame, interim:bool, commit:str|None=None):
    "Every contrast of the family as a point with its Holm-step interval, one panel per metric, the datasets side by side"
    both = pd.concat([primary, secondary])
    contrasts = list(CONTRAST_NAMES)
    fig, axs = plt.subplots(1, 3, figsize=(10, 4.2), sharey=True)  # about the width of the docs column: legible unscaled
    colours = dict(zip(DATASET_NAMES, ('tab:blue', 'tab:orange')))
    for ax, metric in zip(axs, METRICS):
        sub = both[both.metric == metric]
        for k, dataset in enumerate(DATASET_NAMES):
            for r in sub[sub.dataset == dataset].itertuples():
                y = contrasts.index(r.contrast) + (k - 0.5) * 0.3
                if pd.isna(r.mean): continue
                if not pd.isna(r.lo): ax.plot([r.lo, r.hi], [y, y], color=colours[dataset], lw=2)
                filled = r.confirmed and not interim
                ax.plot(r.mean, y, 'o', ms=7, color=colours[dataset], mfc=colours[dataset] if filled else 'white')
        ax.axvline(0, color='k', lw=.8); ax.grid(axis='x', alpha=.3)
        ax.set(xlabel=METRICS[metric][0]); ax.set_title(('primary:\n' if metric == 'accuracy' else 'secondary:\n') + METRICS[metric][0].split(' (')[0], fontsize=10)
    axs[0].set_yticks(range(len(contrasts)), [CONTRAST_NAMES[c].replace(' (', '\n(') for c in contrasts]); axs[0].invert_yaxis()
    handles = [matplotlib.lines.Line2D([], [], color=c, marker='o', lw=2, label=DATASET_NAMES[d]) for d, c in colours.items()]
    fig.legend(handles=handles, loc='lower center', ncol=2, fontsize=9, frameon=False)
    state = 'INTERIM: the planned runs are not all in; no point is a test yet' if interim else 'filled: confirmed by Holm (α = 0.05)'
    fig.suptitle(f"Pre-registered contrasts{f' ({commit})' if commit else ''}, CPU pairs only, Holm-step intervals\n{state}", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig

def nosn_default(fam:pd.DataFrame, interim:bool)->bool:
    "The pre-registered rule: nosn on by default only if 'nosn alone − baseline' is confirmed with a positive mean on accuracy on every dataset"
    if interim: return False
    rows = fam[(fam.metric == 'accuracy') & (fam.contrast == 'nosn_alone')]
    return bool(len(rows)) and bool((rows.confirmed & (rows['mean'] > 0)).all())

HEADLINE_NAMES = {'contrast': {'sar_alone': 'SAR alone', 'nosn_alone': 'nosn alone', 'sar_on_nosn': 'SAR on top of nosn',
                               'paper': "the paper's SAR + nosn"},
                  'dataset': {'composites_1k_g14': '1,000 scenes at 14×14', 'composites_4k': '4,000 scenes at 8×8'}}

def _and(words:list)->str: return ' and '.join(words) if len(words) < 3 else ', '.join(words[:-1]) + ' and ' + words[-1]

def _confirmed(rows:pd.DataFrame)->list[str]:
    "Each contrast with a confirmed accuracy effect, its direction, and its mean and Holm-step interval per dataset"
    out = []
    for contrast, g in rows.groupby('contrast', sort=False):
        parts, verb = [], None
        for r in g.itertuples():
            first = not out and not parts  # the first effect named says what it is and what the interval is
            this = 'raises' if r.mean > 0 else 'lowers'
            parts.append(('' if this == verb else f"{this} {'test accuracy' if first else 'it'} ") + f"on {HEADLINE_NAMES['dataset'][r.dataset]} "
                         f"({r.mean:+.1f} points{', Holm-adjusted interval' if first else ','} {r.lo:+.1f} to {r.hi:+.1f})")
            verb = this
        out.append(f"{HEADLINE_NAMES['contrast'][contrast]} " + ' and '.join(parts))
    return out

def _not_confirmed(rows:pd.DataFrame, datasets:list)->list[str]:
    "The contrasts not confirmed, grouped: those on every dataset first, then each with the datasets where it is not"
    everywhere = [c for c, g in rows.groupby('contrast', sort=False) if set(g.dataset) >= set(datasets)]
    out = [_and([HEADLINE_NAMES['contrast'][c] for c in everywhere]) + ' on either dataset'] if everywhere else []
    for c, g in rows[~rows.contrast.isin(everywhere)].groupby('contrast', sort=False):
        out.append(f"{HEADLINE_NAMES['contrast'][c]} on " + _and([HEADLINE_NAMES['dataset'][d] for d in g.dataset]))
    return out

def headline(primary:pd.DataFrame, secondary:pd.DataFrame, study, plan=None)->list[str]:
    """At most three sentences, by the pre-registered rule: what Holm confirms on accuracy (with means and intervals),
    what it does not (never called "no effect"), and the secondary family; everything else is exploratory"""
    plan = plan or load_plan()
    missing, total = missing_runs(study, plan), len(planned_runs(plan))
    if missing:
        return [f"The pre-registered confirmatory study (SAR alone, nosn alone, SAR on top of nosn and the paper's SAR + nosn, "
                f"at the paper's 14×14 grid and on 4,000 composite scenes; Holm-corrected) has {total - len(missing)} of its {total} "
                "runs; until it is complete, no accuracy claim is made and every interval is interim.",
                "Everything else on the study page is exploratory."]
    conf, runs = primary[primary.confirmed], family_runs(study, plan)
    budget = ('At the study\'s budget (' + ', '.join(f"{int(runs[runs.dataset == d].epochs.max())}{' epochs' if i == 0 else ''} on "
                                                   f"{HEADLINE_NAMES['dataset'][d]}" for i, d in enumerate(plan['datasets'])) + '), ')  # not "at convergence"
    first = (budget + f"Holm's correction confirms " + (f"{len(conf)} of the {len(primary)} pre-registered accuracy contrasts: "
             + '; '.join(_confirmed(conf)) + '.' if len(conf) else f"none of the {len(primary)} pre-registered accuracy contrasts."))
    rest = primary[~primary.confirmed]
    second = ('Not confirmed: ' + '; '.join(_not_confirmed(rest, plan['datasets'])) + ' (the intervals are in the figure).'
              if len(rest) else 'Every accuracy contrast of the family is confirmed.')
    sec = secondary[secondary.confirmed]
    third = (f"Secondary, also pre-registered: {len(sec) or 'none'} of the {len(secondary)} contrasts on the test-image spatial "
             "entropy and the best-head Jaccard " + ('are' if len(sec) != 1 else 'is') + " confirmed; everything else on the study page is exploratory.")
    return [first, second, third]

def cost(study, plan=None)->pd.DataFrame:
    """The family's runs so far by where they ran (device, CPU model, threads): how many, their hours (wall time, as
    recorded: a run that shared its cores with other work took longer) and CPU-hours (hours × threads)"""
    runs = family_runs(study, plan or load_plan())
    runs = runs.assign(threads=runs.threads.astype(int), hours=runs.seconds / 3600)
    runs = runs.assign(cpu_hours=runs.hours * runs.threads)
    return runs.groupby(['device', 'cpu', 'threads'], as_index=False).agg(runs=('hours', 'size'), hours=('hours', 'sum'),
                                                                          cpu_hours=('cpu_hours', 'sum'))

def summarise(study, plan=None)->dict:
    "What the pages show: the headline, the defaults rule, progress, and the family's rows"
    plan = plan or load_plan()
    primary, secondary = family(study, plan, 'primary'), family(study, plan, 'secondary')
    missing = missing_runs(study, plan)
    interim = bool(missing)
    clean = lambda df: json.loads(df.to_json(orient='records'))
    return dict(preregistered=plan_commit(), interim=interim, runs_done=len(planned_runs(plan)) - len(missing),
                runs_planned=len(planned_runs(plan)), headline=headline(primary, secondary, study, plan),
                nosn_default=nosn_default(primary, interim), primary=clean(primary), secondary=clean(secondary),
                sensitivity=clean(sensitivity(study, plan)), cost=clean(cost(study, plan)))

if __name__ == '__main__':
    matplotlib.use('Agg')
    study = pd.read_csv(HERE/'results'/'paired'/'study.csv')
    OUT.mkdir(parents=True, exist_ok=True)
    summary = summarise(study)
    (OUT/'summary.json').write_text(json.dumps(summary, indent=1) + '\n')
    fig = forest(pd.DataFrame(summary['primary']), pd.DataFrame(summary['secondary']), summary['interim'], summary['preregistered'])
    fig.savefig(FIGURE, dpi=90, metadata={'Software': None}); plt.close(fig)
    print(' '.join(summary['headline']))
