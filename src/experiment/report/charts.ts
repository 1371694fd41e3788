/**
 * The report's charts as Vega-Lite specs built from a loaded study. Each chart either has a spec
 * or says why it was left out. Runs that differ only by seed are averaged; any other grid
 * dimension that varies within a (defense, attack) pair (n, s, placement, ...) is kept apart by
 * naming it in the series label, e.g. "repetition (n=15)".
 */
import type { EvalPoint, LoadedStudy, ReportRow } from './load.js';

export interface ChartSpec {
  /** File name stem under charts/. */
  name: string;
  title: string;
  /** One or two sentences under the chart: what it shows, what is modeled. */
  caption: string;
  spec?: object;
  /** Why the chart was left out (when spec is undefined). */
  omitted?: string;
}

/** Labels that may vary besides defense, attack and seed, in the order they appear in a series label. */
const EXTRA_DIMENSIONS = [
  'scheme',
  'aggregator',
  'placement',
  'n',
  's',
  'r',
  'm',
  'model',
  'dataset',
] as const;
type ExtraDimension = (typeof EXTRA_DIMENSIONS)[number];

function label(row: ReportRow, dim: ExtraDimension): string {
  return String(row[dim]);
}

/** The extra dimensions that take more than one value within some (defense, attack) pair. */
export function varyingDimensions(
  rows: readonly ReportRow[],
  exclude: readonly string[] = [],
): ExtraDimension[] {
  const out: ExtraDimension[] = [];
  for (const dim of EXTRA_DIMENSIONS) {
    if (exclude.includes(dim)) continue;
    const values = new Map<string, Set<string>>();
    for (const row of rows) {
      const key = `${row.defense}\u0000${row.attack}\u0000${row.partition}`;
      let set = values.get(key);
      if (set === undefined) values.set(key, (set = new Set()));
      set.add(label(row, dim));
    }
    if ([...values.values()].some((s) => s.size > 1)) out.push(dim);
  }
  return out;
}

/** The series label of a run: its defense plus the varying dimensions. */
export function seriesLabel(row: ReportRow, dims: readonly ExtraDimension[]): string {
  if (dims.length === 0) return row.defense;
  return `${row.defense} (${dims.map((d) => `${d}=${label(row, d)}`).join(', ')})`;
}

/** Mean of the finite values (results.csv stores NaN as an empty cell); NaN when there are none. */
function mean(xs: readonly number[]): number {
  let s = 0;
  let k = 0;
  for (const x of xs) {
    if (Number.isFinite(x)) {
      s += x;
      k++;
    }
  }
  return k > 0 ? s / k : NaN;
}

/** Group items by a string key, keeping first-seen order. */
export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [it]);
    else g.push(it);
  }
  return groups;
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

const WIDTH = 320;

// Vega's tableau10 and tableau20 schemes, spelled out so that a defense keeps its colour when
// identical curves merge. Beyond 10 series tableau10 repeats colours; tableau20 does not, and its
// dark/light pairs fall on neighbouring series (the same defense at two cluster sizes).
const TABLEAU10 = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac',
];
const TABLEAU20 = [
  '#4c78a8',
  '#9ecae9',
  '#f58518',
  '#ffbf79',
  '#54a24b',
  '#88d27a',
  '#b79a20',
  '#f2cf5b',
  '#439894',
  '#83bcb6',
  '#e45756',
  '#ff9d98',
  '#79706e',
  '#bab0ac',
  '#d67195',
  '#fcbfd2',
  '#b279a2',
  '#d6a5c9',
  '#9e765f',
  '#d8b5a5',
];
const HEIGHT = 220;

/** Wrap a single-view spec in a facet by attack when the study has more than one attack. */
/** The study lays out its data more than one way (`--partition`): panels per (attack, layout). */
function variesPartition(study: LoadedStudy): boolean {
  return new Set(study.rows.map((r) => r.partition)).size > 1;
}

/** The panel a run's curve is drawn in: its attack, and its data layout when that varies. */
function panelOf(row: ReportRow, byPartition: boolean): string {
  return byPartition ? `${row.attack} · ${row.partition}` : row.attack;
}

function facetByAttack(
  inner: Record<string, unknown>,
  values: object[],
  attacks: string[],
  title = 'attack',
): object {
  if (attacks.length <= 1) return { data: { values }, ...inner };
  return {
    data: { values },
    facet: { field: 'attack', type: 'nominal', title, sort: attacks },
    columns: Math.min(3, attacks.length),
    spec: inner,
    resolve: { scale: { y: 'shared', x: 'shared' } },
  };
}

function attackNote(attacks: string[], byPartition = false): string {
  if (attacks.length === 1) return ` Attack: ${attacks[0]}.`;
  return byPartition ? ' One panel per attack and data layout (--partition).' : ' One panel per attack.';
}

interface CurvePoint {
  series: string;
  attack: string;
  /** Step number as in metrics.jsonl (from 0). */
  step: number;
  /** step + 1, as in results.csv's stepsTo columns. */
  stepsTrained: number;
  modeledSeconds: number;
  testAccuracy: number;
  /** Lowest and highest accuracy over the seeds at this step (equal to the mean for one seed). */
  lo: number;
  hi: number;
  seeds: number;
}

/** Evaluation points averaged over seeds, per (series, attack, step). */
export function meanCurves(study: LoadedStudy): CurvePoint[] {
  const dims = varyingDimensions(study.rows);
  const byPartition = variesPartition(study);
  const tagged: { series: string; attack: string; p: EvalPoint }[] = [];
  for (const row of study.rows) {
    const points = study.curves.get(row.id);
    if (points === undefined) continue;
    const series = seriesLabel(row, dims);
    for (const p of points) tagged.push({ series, attack: panelOf(row, byPartition), p });
  }
  const out: CurvePoint[] = [];
  for (const g of groupBy(tagged, (t) => `${t.series}\u0000${t.attack}\u0000${t.p.step}`).values()) {
    out.push({
      series: g[0].series,
      attack: g[0].attack,
      step: g[0].p.step,
      stepsTrained: g[0].p.step + 1,
      modeledSeconds: mean(g.map((t) => t.p.modeledSeconds)),
      testAccuracy: mean(g.map((t) => t.p.testAccuracy)),
      lo: Math.min(...g.map((t) => t.p.testAccuracy)),
      hi: Math.max(...g.map((t) => t.p.testAccuracy)),
      seeds: g.length,
    });
  }
  out.sort((a, b) => a.series.localeCompare(b.series) || a.attack.localeCompare(b.attack) || a.step - b.step);
  return out;
}

/** Defenses of one panel (attack) whose curves coincide, drawn once under one legend entry. */
export interface MergedCurves {
  attack: string;
  series: string[];
}

/** A curve as drawn: the merged label, and dashed when it repeats another's accuracies. */
export type DrawnPoint = CurvePoint & { dash: 'solid' | 'dashed' };

/**
 * Curves that are identical point for point within a panel (same steps, same accuracies over
 * seeds, and with `withTime` the same modeled times) would hide each other: exact decoding gives
 * repetition and cyclic the same model, so their lines coincide. Each such set is drawn once,
 * labelled with every defense in it joined by " = ", so every legend entry has a visible line.
 * Against time, curves with the same accuracies but other times can still overlap: all but the
 * first of them are dashed (`sameAccuracy` lists them). `order` is the legend order of the series;
 * merged labels take their first member's place.
 */
export function mergeIdentical(
  curves: readonly CurvePoint[],
  order: readonly string[],
  withTime: boolean,
): { points: DrawnPoint[]; order: string[]; merged: MergedCurves[]; sameAccuracy: MergedCurves[] } {
  const rank = (series: string) => order.indexOf(series);
  const points: DrawnPoint[] = [];
  const merged: MergedCurves[] = [];
  const sameAccuracy: MergedCurves[] = [];
  const labels = new Map<string, number>(); // label -> rank of its first member
  const signature = (ps: readonly CurvePoint[], time: boolean) =>
    JSON.stringify(ps.map((p) => [p.step, p.testAccuracy, p.lo, p.hi, p.seeds, time ? p.modeledSeconds : 0]));
  for (const panel of groupBy(curves, (c) => c.attack).values()) {
    const attack = panel[0].attack;
    const bySeries = groupBy(panel, (c) => c.series);
    const byRank = (a: string, b: string) => rank(a) - rank(b);
    const accuracySets = groupBy([...bySeries.keys()].sort(byRank), (x) =>
      signature(bySeries.get(x)!, false),
    );
    for (const accuracySet of accuracySets.values()) {
      const sets = [...groupBy(accuracySet, (x) => signature(bySeries.get(x)!, withTime)).values()];
      if (sets.length > 1) sameAccuracy.push({ attack, series: sets.map((m) => m.join(' = ')) });
      sets.forEach((members, k) => {
        const label = members.join(' = ');
        if (members.length > 1) merged.push({ attack, series: members });
        labels.set(label, Math.min(labels.get(label) ?? Infinity, rank(members[0])));
        const dash = k === 0 ? 'solid' : 'dashed';
        for (const p of bySeries.get(members[0])!) points.push({ ...p, series: label, dash });
      });
    }
  }
  const newOrder = [...labels.keys()].sort((a, b) => labels.get(a)! - labels.get(b)!);
  return { points, order: newOrder, merged, sameAccuracy };
}

/** One sentence per kind of set, once when every panel has the same sets, else per attack. */
function setsNote(sets: readonly MergedCurves[], attacks: readonly string[], join: string): string {
  const text = (ms: readonly MergedCurves[]) => ms.map((m) => m.series.join(join)).join('; ');
  const perAttack = attacks.map((a) => text(sets.filter((m) => m.attack === a)));
  if (attacks.length === 1 || perAttack.every((p) => p === perAttack[0])) return `${perAttack[0]}.`;
  return (
    attacks
      .map((a, i) => (perAttack[i] ? `under ${a}: ${perAttack[i]}` : ''))
      .filter((x) => x !== '')
      .join('; ') + '.'
  );
}

function mergedNote(
  m: { merged: MergedCurves[]; sameAccuracy: MergedCurves[] },
  attacks: readonly string[],
): string {
  let note = '';
  if (m.merged.length > 0)
    note +=
      ' Identical curves are drawn once, their defenses joined by "=" in the legend (the same accuracy at ' +
      `every evaluation, e.g. exact decoding gives the same model): ${setsNote(m.merged, attacks, ' = ')}`;
  if (m.sameAccuracy.length > 0)
    note +=
      ' Same accuracies, other modeled times (dashed after the first, so that overlapping lines stay visible): ' +
      setsNote(m.sameAccuracy, attacks, ' / ');
  return note;
}

function accuracyCharts(study: LoadedStudy): ChartSpec[] {
  const curves = meanCurves(study);
  const byPartition = variesPartition(study);
  const attacks = distinct(study.rows.map((r) => panelOf(r, byPartition)));
  const reason =
    study.rows.length === 0
      ? 'No finished runs in results.csv, so there are no accuracy curves.'
      : 'No run recorded a test accuracy in its metrics.jsonl (evaluation steps carry testAccuracy), so there are no accuracy curves.';
  const dims = varyingDimensions(study.rows);
  const order = distinct(study.rows.map((r) => seriesLabel(r, dims)));
  const y = {
    field: 'testAccuracy',
    type: 'quantitative',
    title: 'test accuracy',
    scale: { zero: false },
  };
  const tooltip = [
    { field: 'series', title: 'defense' },
    { field: 'attack' },
    { field: 'stepsTrained', title: 'steps trained' },
    { field: 'testAccuracy', format: '.4f', title: 'test accuracy' },
    { field: 'lo', format: '.4f', title: 'lowest over seeds' },
    { field: 'hi', format: '.4f', title: 'highest over seeds' },
    { field: 'modeledSeconds', format: '.3f', title: 'modeled s' },
    { field: 'seeds', title: 'seeds averaged' },
  ];
  const vsStep: ChartSpec = {
    name: 'accuracy-vs-step',
    title: 'Test accuracy vs step',
    caption:
      'Mean over seeds of the test accuracy at each evaluation (metrics.jsonl), one line per defense, ' +
      `against the number of steps trained.${attackNote(attacks, byPartition)}`,
  };
  const vsTime: ChartSpec = {
    name: 'accuracy-vs-modeled-time',
    title: 'Test accuracy vs modeled time',
    caption:
      'Mean over seeds of the test accuracy against the MODELED training time: the running sum of each ' +
      "step's modeled parallel time (slowest worker's compute + encode, modeled communication, PS " +
      `decode/aggregate and update), in seconds. Not measured wall-clock time.${attackNote(attacks, byPartition)}`,
  };
  if (curves.length === 0)
    return [
      { ...vsStep, omitted: reason },
      { ...vsTime, omitted: reason },
    ];
  const maxSeeds = Math.max(...curves.map((c) => c.seeds));
  const bandNote =
    maxSeeds > 1
      ? ` The shaded band spans the lowest to the highest accuracy over the seeds (up to ${maxSeeds}).`
      : ' One seed per defense, so there is no spread to show.';
  const chart = (withTime: boolean) => {
    const m = mergeIdentical(curves, order, withTime);
    // A defense keeps its colour in both charts; a merged curve takes its first member's.
    const palette = order.length > 10 ? TABLEAU20 : TABLEAU10;
    const colorM = {
      field: 'series',
      type: 'nominal',
      title: 'defense',
      sort: m.order,
      scale: {
        domain: m.order,
        range: m.order.map((label) => palette[order.indexOf(label.split(' = ')[0]) % palette.length]),
      },
    };
    const x = withTime
      ? { field: 'modeledSeconds', type: 'quantitative', title: 'modeled time (s)' }
      : {
          field: 'stepsTrained',
          type: 'quantitative',
          title: 'steps trained',
          axis: { format: 'd', tickMinStep: 1 },
        };
    const layer: object[] = [];
    if (maxSeeds > 1)
      layer.push({
        mark: { type: 'area', opacity: 0.15 },
        encoding: {
          x,
          y: { field: 'lo', type: 'quantitative', title: 'test accuracy', scale: { zero: false } },
          y2: { field: 'hi' },
          color: colorM,
        },
      });
    const strokeDash = {
      field: 'dash',
      type: 'nominal',
      scale: {
        domain: ['solid', 'dashed'],
        range: [
          [1, 0],
          [6, 4],
        ],
      },
      legend: null,
    };
    layer.push({
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x,
        y,
        color: colorM,
        strokeDash,
        ...(withTime ? { order: { field: 'step' } } : {}),
        tooltip,
      },
    });
    const spec = facetByAttack(
      { width: WIDTH, height: HEIGHT, layer },
      m.points,
      attacks,
      byPartition ? 'attack · data layout' : 'attack',
    );
    return { spec: withLegendRoom(spec), note: mergedNote(m, attacks) + bandNote };
  };
  const step = chart(false);
  const time = chart(true);
  vsStep.spec = step.spec;
  vsStep.caption += step.note;
  vsTime.spec = time.spec;
  vsTime.caption += time.note;
  return [vsStep, vsTime];
}

/**
 * Legend labels of merged curves are long: let them show whole. The legend's symbols are the lines'
 * (not the faint bands').
 */
function withLegendRoom(spec: object): object {
  return { ...spec, config: { legend: { labelLimit: 480, symbolOpacity: 1 } } };
}

/** The parts of a step: where each is spent decides which panel of the breakdown shows it. */
const COMPONENTS: {
  column: 'computeMs' | 'encodeMs' | 'commMs' | 'decodeMs' | 'updateMs';
  label: string;
  side: 'workers' | 'ps';
}[] = [
  { column: 'computeMs', label: 'compute (slowest worker)', side: 'workers' },
  { column: 'encodeMs', label: 'encode', side: 'workers' },
  { column: 'commMs', label: 'communication (modeled)', side: 'workers' },
  { column: 'decodeMs', label: 'decode/aggregate', side: 'ps' },
  { column: 'updateMs', label: 'update', side: 'ps' },
];

const SIDE_TITLE = {
  workers: 'workers and network: ms per step (communication modeled)',
  ps: 'parameter server: ms per step (measured)',
};

/**
 * Stacked bars of the parts of a step, in two panels with their own scales: the workers' compute
 * and the (modeled) network on the left, the PS's decode/aggregate and update on the right. On one
 * scale the network's share squeezes the PS costs, which are what the defenses differ in most.
 */
function breakdownChart(study: LoadedStudy): ChartSpec {
  const chart: ChartSpec = {
    name: 'time-breakdown',
    title: 'Per-step time breakdown',
    caption: '',
  };
  if (study.rows.length === 0) return { ...chart, omitted: 'No finished runs in results.csv.' };
  const dims = varyingDimensions(study.rows);
  const attacks = distinct(study.rows.map((r) => r.attack));
  const values: object[] = [];
  for (const g of groupBy(study.rows, (r) => `${seriesLabel(r, dims)}\u0000${r.attack}`).values()) {
    COMPONENTS.forEach((c, order) => {
      values.push({
        series: seriesLabel(g[0], dims),
        attack: g[0].attack,
        component: c.label,
        side: c.side,
        order,
        ms: mean(g.map((r) => r[c.column])),
        seeds: g.length,
      });
    });
  }
  const labels = COMPONENTS.map((c) => c.label);
  const order = distinct(study.rows.map((r) => seriesLabel(r, dims)));
  chart.caption =
    'Median per-step time of each part of a step (results.csv), mean over seeds, in two panels with ' +
    'their own scales. Left: compute and encode, measured on the slowest worker, and communication, ' +
    "MODELED from the bytes sent and the study's network model (not measured). Right: the parameter " +
    "server's decode/aggregate and update, measured, on a scale of their own so that the defenses' " +
    `PS costs stay readable beside the network's larger share.${attackNote(attacks)}` +
    (variesPartition(study) ? ' Each bar is also averaged over the data layouts (--partition).' : '');
  const part = (side: 'workers' | 'ps') => {
    const inner = {
      width: side === 'workers' ? WIDTH : Math.round(WIDTH * 0.75),
      height: { step: 22 },
      mark: { type: 'bar' },
      encoding: {
        y: {
          field: 'series',
          type: 'nominal',
          // No axis title: a row per attack is one bar high, too short for it (the labels say it).
          title: null,
          sort: order,
          axis: side === 'workers' ? {} : { labels: false, ticks: false },
        },
        x: { field: 'ms', type: 'quantitative', stack: 'zero', title: SIDE_TITLE[side] },
        color: {
          field: 'component',
          type: 'nominal',
          title: 'part of the step',
          scale: { domain: labels },
          sort: labels,
        },
        order: { field: 'order', type: 'quantitative' },
        tooltip: [
          { field: 'series', title: 'defense' },
          { field: 'attack' },
          { field: 'component' },
          { field: 'ms', format: '.3f', title: 'ms' },
        ],
      },
    };
    const transform = [{ filter: `datum.side === '${side}'` }];
    if (attacks.length <= 1) return { transform, ...inner };
    return {
      transform,
      facet: { row: { field: 'attack', type: 'nominal', title: 'attack', sort: attacks } },
      spec: inner,
    };
  };
  chart.spec = {
    data: { values },
    hconcat: [part('workers'), part('ps')],
    resolve: { scale: { color: 'shared' } },
  };
  return chart;
}

function heatmapChart(study: LoadedStudy): ChartSpec {
  const chart: ChartSpec = {
    name: 'final-accuracy-heatmap',
    title: 'Final test accuracy: attack × defense',
    caption: '',
  };
  if (study.rows.length === 0) return { ...chart, omitted: 'No finished runs in results.csv.' };
  if (variesPartition(study))
    return {
      ...chart,
      omitted:
        'The study lays out its data in several ways (--partition): the heterogeneity heatmaps below show the final accuracies per data layout.',
    };
  const dims = varyingDimensions(study.rows);
  const all = [...groupBy(study.rows, (r) => `${seriesLabel(r, dims)}\u0000${r.attack}`).values()].map(
    (g) => ({
      series: seriesLabel(g[0], dims),
      attack: g[0].attack,
      accuracy: mean(g.map((r) => r.finalTestAccuracy)),
      seeds: g.filter((r) => Number.isFinite(r.finalTestAccuracy)).length,
    }),
  );
  const values = all.filter((v) => Number.isFinite(v.accuracy));
  if (values.length === 0) return { ...chart, omitted: 'No finished run has a final test accuracy.' };
  // Axes from every cell, so a row or column whose cells are all blank still shows.
  const attacks = distinct(all.map((v) => v.attack));
  const series = distinct(all.map((v) => v.series));
  const longest = Math.max(...attacks.map((a) => a.length));
  // Colors span the accuracies present (close accuracies stay distinguishable; the cell text
  // gives the value); text is white on the dark lower half of viridis.
  chart.caption =
    `Final test accuracy, mean over seeds, for each of ${series.length} defense(s) under each of ` +
    `${attacks.length} attack(s). Colors span the accuracies present, not 0 to 1.` +
    (values.length < all.length
      ? ` ${all.length - values.length} cell(s) without a final accuracy are blank.`
      : '');
  chart.spec = {
    data: { values },
    width: { step: Math.max(70, Math.min(140, 8 * longest)) },
    height: { step: 28 },
    encoding: {
      x: {
        field: 'attack',
        type: 'nominal',
        title: 'attack',
        scale: { domain: attacks },
        axis: { labelAngle: longest > 16 ? -30 : 0 },
      },
      y: { field: 'series', type: 'nominal', title: 'defense', scale: { domain: series } },
    },
    layer: [
      {
        mark: { type: 'rect' },
        encoding: {
          color: accuracyColor(values, 'final test accuracy'),
          tooltip: [
            { field: 'series', title: 'defense' },
            { field: 'attack' },
            { field: 'accuracy', format: '.4f', title: 'final test accuracy' },
            { field: 'seeds', title: 'seeds averaged' },
          ],
        },
      },
      cellText(values, 11),
    ],
  };
  return chart;
}

/** The n axis: ticks exactly at the measured n values. */
function nAxis(ns: readonly number[]): object {
  const values = [...new Set(ns)].sort((a, b) => a - b);
  return {
    field: 'n',
    type: 'quantitative',
    title: 'workers n',
    scale: { zero: false },
    axis: { values, format: 'd' },
  };
}

function aggregationCostChart(study: LoadedStudy): ChartSpec {
  const chart: ChartSpec = {
    name: 'aggregation-cost',
    title: 'PS aggregation cost vs n',
    caption: '',
  };
  const logY = { type: 'log' };
  if (study.aggregationCost !== undefined) {
    const points = study.aggregationCost.points;
    const positive = points.filter((p) => p.medianMs > 0);
    if (positive.length === 0) {
      return { ...chart, omitted: 'aggregation-cost.csv has no positive timings to draw on a log scale.' };
    }
    const ds = distinct(positive.map((p) => String(p.d)));
    const dropped = points.length - positive.length;
    chart.caption =
      `Median time of one aggregation at the PS (aggregation-cost.csv, measured), by rule, for ` +
      `d = ${ds.join(', ')}. Log scale.` +
      (dropped > 0 ? ` ${dropped} zero timing(s) left out (log scale).` : '');
    chart.spec = {
      data: { values: positive },
      width: WIDTH + 80,
      height: HEIGHT + 40,
      mark: { type: 'line', point: true },
      encoding: {
        x: nAxis(positive.map((p) => p.n)),
        y: { field: 'medianMs', type: 'quantitative', title: 'aggregation time (ms, median)', scale: logY },
        color: { field: 'rule', type: 'nominal', title: 'rule', sort: distinct(positive.map((p) => p.rule)) },
        tooltip: [{ field: 'rule' }, { field: 'n' }, { field: 'd' }, { field: 'medianMs', format: '.4f' }],
      },
    };
    return chart;
  }
  if (study.rows.length === 0) {
    return { ...chart, omitted: 'No aggregation-cost.csv and no finished runs to derive it from.' };
  }
  const dims = varyingDimensions(study.rows, ['n']);
  const values = [...groupBy(study.rows, (r) => `${seriesLabel(r, dims)}\u0000${r.n}`).values()].map((g) => ({
    series: seriesLabel(g[0], dims),
    n: g[0].n,
    decodeMs: mean(g.map((r) => r.decodeMs)),
    runs: g.length,
  }));
  const positive = values.filter((v) => v.decodeMs > 0);
  if (positive.length === 0) {
    return {
      ...chart,
      omitted: 'No aggregation-cost.csv, and every run reports a decode/aggregate time of 0 ms.',
    };
  }
  const ns = distinct(positive.map((v) => String(v.n)));
  chart.caption =
    "No aggregation-cost.csv in this study, so this is derived from the runs: each defense's median " +
    'per-step decode/aggregate time at the PS (measured), mean over seeds and attacks. Log scale.' +
    (ns.length === 1 ? ` All runs use n = ${ns[0]}, so there is one point per defense.` : '') +
    (positive.length < values.length ? ` ${values.length - positive.length} zero timing(s) left out.` : '');
  chart.spec = {
    data: { values: positive },
    width: WIDTH + 80,
    height: HEIGHT + 40,
    mark: { type: 'line', point: true },
    encoding: {
      x: nAxis(positive.map((v) => v.n)),
      y: {
        field: 'decodeMs',
        type: 'quantitative',
        title: 'decode/aggregate time (ms, median)',
        scale: logY,
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: 'defense',
        sort: distinct(positive.map((v) => v.series)),
      },
      tooltip: [
        { field: 'series', title: 'defense' },
        { field: 'n' },
        { field: 'decodeMs', format: '.4f' },
        { field: 'runs', title: 'runs averaged' },
      ],
    },
  };
  return chart;
}

/** Every chart of the report, in order. */
/** Final accuracy per (defense, data layout, attack), mean over seeds; NaN-free cells only. */
function layoutCells(study: LoadedStudy) {
  const dims = varyingDimensions(study.rows);
  return [
    ...groupBy(study.rows, (r) => `${seriesLabel(r, dims)}\u0000${r.partition}\u0000${r.attack}`).values(),
  ]
    .map((g) => ({
      series: seriesLabel(g[0], dims),
      partition: g[0].partition,
      attack: g[0].attack,
      accuracy: mean(g.map((r) => r.finalTestAccuracy)),
      seeds: g.filter((r) => Number.isFinite(r.finalTestAccuracy)).length,
    }))
    .filter((c) => Number.isFinite(c.accuracy));
}

/** The color scale of the accuracy heatmaps: viridis over the accuracies present. */
function accuracyColor(values: readonly { accuracy: number }[], title: string): object {
  const lo = Math.min(...values.map((v) => v.accuracy));
  const hi = Math.max(...values.map((v) => v.accuracy));
  const domain = hi > lo ? [lo, hi] : [Math.max(0, lo - 0.05), Math.min(1, hi + 0.05)];
  return { field: 'accuracy', type: 'quantitative', title, scale: { scheme: 'viridis', domain } };
}

/** Cell text, white on the dark half of the scale. */
function cellText(values: readonly { accuracy: number }[], fontSize = 10): object {
  const lo = Math.min(...values.map((v) => v.accuracy));
  const hi = Math.max(...values.map((v) => v.accuracy));
  return {
    mark: { type: 'text', fontSize },
    encoding: {
      text: { field: 'accuracy', type: 'quantitative', format: '.3f' },
      color: { condition: { test: `datum.accuracy < ${(lo + hi) / 2}`, value: 'white' }, value: 'black' },
    },
  };
}

/**
 * With several data layouts (--partition): one small heatmap per defense of the final accuracy
 * over (data layout x attack), and one of each defense's worst accuracy over the attacks per data
 * layout, where a defense that holds on IID data and breaks on skewed data shows at a glance.
 */
function heterogeneityCharts(study: LoadedStudy): ChartSpec[] {
  const perDefense: ChartSpec = {
    name: 'heterogeneity-heatmaps',
    title: 'Final test accuracy per defense: data layout × attack',
    caption: '',
  };
  const worst: ChartSpec = {
    name: 'worst-case-heatmap',
    title: 'Worst final test accuracy over the attacks: defense × data layout',
    caption: '',
  };
  if (!variesPartition(study)) return [];
  const cells = layoutCells(study);
  if (cells.length === 0) {
    const omitted = 'No finished run has a final test accuracy.';
    return [
      { ...perDefense, omitted },
      { ...worst, omitted },
    ];
  }
  const partitions = distinct(study.rows.map((r) => r.partition));
  const attacks = distinct(study.rows.map((r) => r.attack));
  const series = distinct(cells.map((c) => c.series));
  const tooltip = [
    { field: 'series', title: 'defense' },
    { field: 'partition', title: 'data layout' },
    { field: 'attack' },
    { field: 'accuracy', format: '.4f', title: 'final test accuracy' },
  ];
  perDefense.caption =
    `Final test accuracy, mean over seeds, one panel per defense (${series.length}): rows are the data ` +
    `layouts (--partition; iid first, then more skewed), columns the attacks. Colors span the accuracies ` +
    'present, the same scale in every panel.';
  perDefense.spec = {
    data: { values: cells },
    facet: { field: 'series', type: 'nominal', title: null, sort: series },
    columns: 4,
    spec: {
      width: { step: 46 },
      height: { step: 20 },
      encoding: {
        x: {
          field: 'attack',
          type: 'nominal',
          title: null,
          scale: { domain: attacks },
          axis: { labelAngle: 0 },
        },
        y: { field: 'partition', type: 'nominal', title: null, scale: { domain: partitions } },
      },
      layer: [
        { mark: 'rect', encoding: { color: accuracyColor(cells, 'final test accuracy'), tooltip } },
        cellText(cells),
      ],
    },
  };
  const worstCells = [...groupBy(cells, (c) => `${c.series}\u0000${c.partition}`).values()].map((g) => {
    const w = g.reduce((a, c) => (c.accuracy < a.accuracy ? c : a));
    return {
      series: w.series,
      partition: w.partition,
      attack: w.attack,
      accuracy: w.accuracy,
      seeds: w.seeds,
    };
  });
  worst.caption =
    'For each defense and data layout, the lowest final test accuracy over the attacks (each a mean ' +
    `over seeds; the tooltip names the attack). ${attacks.length} attack(s): ${attacks.join(', ')}. ` +
    'Exact schemes should keep one color across a row; robust rules darken to the right as the data grows more skewed.';
  worst.spec = {
    data: { values: worstCells },
    width: { step: Math.max(70, 7 * Math.max(...partitions.map((p) => p.length))) },
    height: { step: 22 },
    encoding: {
      x: {
        field: 'partition',
        type: 'nominal',
        title: 'data layout',
        scale: { domain: partitions },
        axis: { labelAngle: 0 },
      },
      y: { field: 'series', type: 'nominal', title: null, scale: { domain: series } },
    },
    layer: [
      { mark: 'rect', encoding: { color: accuracyColor(worstCells, 'worst final accuracy'), tooltip } },
      cellText(worstCells),
    ],
  };
  return [perDefense, worst];
}

export function buildCharts(study: LoadedStudy): ChartSpec[] {
  return [
    ...accuracyCharts(study),
    breakdownChart(study),
    heatmapChart(study),
    ...heterogeneityCharts(study),
    aggregationCostChart(study),
  ];
}
