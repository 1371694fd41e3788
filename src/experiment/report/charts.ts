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
      const key = `${row.defense}\u0000${row.attack}`;
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
const HEIGHT = 220;

/** Wrap a single-view spec in a facet by attack when the study has more than one attack. */
function facetByAttack(inner: Record<string, unknown>, values: object[], attacks: string[]): object {
  if (attacks.length <= 1) return { data: { values }, ...inner };
  return {
    data: { values },
    facet: { field: 'attack', type: 'nominal', title: 'attack', sort: attacks },
    columns: Math.min(3, attacks.length),
    spec: inner,
    resolve: { scale: { y: 'shared', x: 'shared' } },
  };
}

function attackNote(attacks: string[]): string {
  return attacks.length === 1 ? ` Attack: ${attacks[0]}.` : ' One panel per attack.';
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
  seeds: number;
}

/** Evaluation points averaged over seeds, per (series, attack, step). */
export function meanCurves(study: LoadedStudy): CurvePoint[] {
  const dims = varyingDimensions(study.rows);
  const tagged: { series: string; attack: string; p: EvalPoint }[] = [];
  for (const row of study.rows) {
    const points = study.curves.get(row.id);
    if (points === undefined) continue;
    const series = seriesLabel(row, dims);
    for (const p of points) tagged.push({ series, attack: row.attack, p });
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
      seeds: g.length,
    });
  }
  out.sort((a, b) => a.series.localeCompare(b.series) || a.attack.localeCompare(b.attack) || a.step - b.step);
  return out;
}

function accuracyCharts(study: LoadedStudy): ChartSpec[] {
  const curves = meanCurves(study);
  const attacks = distinct(study.rows.map((r) => r.attack));
  const reason =
    study.rows.length === 0
      ? 'No finished runs in results.csv, so there are no accuracy curves.'
      : 'No run recorded a test accuracy in its metrics.jsonl (evaluation steps carry testAccuracy), so there are no accuracy curves.';
  const dims = varyingDimensions(study.rows);
  const order = distinct(study.rows.map((r) => seriesLabel(r, dims)));
  // Beyond 10 series category10 repeats colours; tableau20 does not, and its dark/light pairs
  // fall on neighbouring series (the same defense at two cluster sizes).
  const color = {
    field: 'series',
    type: 'nominal',
    title: 'defense',
    sort: order,
    scale: { scheme: order.length > 10 ? 'tableau20' : 'tableau10' },
  };
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
    { field: 'modeledSeconds', format: '.3f', title: 'modeled s' },
    { field: 'seeds', title: 'seeds averaged' },
  ];
  const vsStep: ChartSpec = {
    name: 'accuracy-vs-step',
    title: 'Test accuracy vs step',
    caption:
      'Mean over seeds of the test accuracy at each evaluation (metrics.jsonl), one line per defense, ' +
      `against the number of steps trained.${attackNote(attacks)}`,
  };
  const vsTime: ChartSpec = {
    name: 'accuracy-vs-modeled-time',
    title: 'Test accuracy vs modeled time',
    caption:
      'Mean over seeds of the test accuracy against the MODELED training time: the running sum of each ' +
      "step's modeled parallel time (slowest worker's compute + encode, modeled communication, PS " +
      `decode/aggregate and update), in seconds. Not measured wall-clock time.${attackNote(attacks)}`,
  };
  if (curves.length === 0)
    return [
      { ...vsStep, omitted: reason },
      { ...vsTime, omitted: reason },
    ];
  const line = { type: 'line', point: true, strokeWidth: 2 };
  vsStep.spec = facetByAttack(
    {
      width: WIDTH,
      height: HEIGHT,
      mark: line,
      encoding: {
        x: {
          field: 'stepsTrained',
          type: 'quantitative',
          title: 'steps trained',
          axis: { format: 'd', tickMinStep: 1 },
        },
        y,
        color,
        tooltip,
      },
    },
    curves,
    attacks,
  );
  vsTime.spec = facetByAttack(
    {
      width: WIDTH,
      height: HEIGHT,
      mark: line,
      encoding: {
        x: { field: 'modeledSeconds', type: 'quantitative', title: 'modeled time (s)' },
        y,
        color,
        order: { field: 'step' },
        tooltip,
      },
    },
    curves,
    attacks,
  );
  return [vsStep, vsTime];
}

const COMPONENTS: { column: 'computeMs' | 'encodeMs' | 'commMs' | 'decodeMs' | 'updateMs'; label: string }[] =
  [
    { column: 'computeMs', label: 'compute (slowest worker)' },
    { column: 'encodeMs', label: 'encode' },
    { column: 'commMs', label: 'communication (modeled)' },
    { column: 'decodeMs', label: 'decode/aggregate' },
    { column: 'updateMs', label: 'update' },
  ];

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
        order,
        ms: mean(g.map((r) => r[c.column])),
        seeds: g.length,
      });
    });
  }
  const labels = COMPONENTS.map((c) => c.label);
  chart.caption =
    'Median per-step time of each part of a step (results.csv), mean over seeds. Compute and encode are ' +
    'measured on the slowest worker, decode/aggregate and update at the PS; communication is MODELED ' +
    `from the bytes sent and the study's network model, not measured.${attackNote(attacks)}`;
  chart.spec = facetByAttack(
    {
      width: WIDTH,
      height: { step: 22 },
      mark: { type: 'bar' },
      encoding: {
        y: {
          field: 'series',
          type: 'nominal',
          title: 'defense',
          sort: distinct(study.rows.map((r) => seriesLabel(r, dims))),
        },
        x: {
          field: 'ms',
          type: 'quantitative',
          stack: 'zero',
          title: 'per-step time (ms; communication modeled)',
        },
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
    },
    values,
    attacks,
  );
  return chart;
}

function heatmapChart(study: LoadedStudy): ChartSpec {
  const chart: ChartSpec = {
    name: 'final-accuracy-heatmap',
    title: 'Final test accuracy: attack × defense',
    caption: '',
  };
  if (study.rows.length === 0) return { ...chart, omitted: 'No finished runs in results.csv.' };
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
  const lo = Math.min(...values.map((v) => v.accuracy));
  const hi = Math.max(...values.map((v) => v.accuracy));
  const domain = hi > lo ? [lo, hi] : [Math.max(0, lo - 0.05), Math.min(1, hi + 0.05)];
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
          color: {
            field: 'accuracy',
            type: 'quantitative',
            title: 'final test accuracy',
            scale: { scheme: 'viridis', domain },
          },
          tooltip: [
            { field: 'series', title: 'defense' },
            { field: 'attack' },
            { field: 'accuracy', format: '.4f', title: 'final test accuracy' },
            { field: 'seeds', title: 'seeds averaged' },
          ],
        },
      },
      {
        mark: { type: 'text', fontSize: 11 },
        encoding: {
          text: { field: 'accuracy', type: 'quantitative', format: '.3f' },
          color: {
            condition: { test: `datum.accuracy < ${(domain[0] + domain[1]) / 2}`, value: 'white' },
            value: 'black',
          },
        },
      },
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
export function buildCharts(study: LoadedStudy): ChartSpec[] {
  return [...accuracyCharts(study), breakdownChart(study), heatmapChart(study), aggregationCostChart(study)];
}
