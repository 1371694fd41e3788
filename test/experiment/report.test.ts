import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../src/core/errors.js';
import { resolveConfig } from '../../src/build/config.js';
import { buildCharts, loadStudy, parseCsv, writeReport } from '../../src/experiment/report/index.js';
import { meanCurves, mergeIdentical } from '../../src/experiment/report/charts.js';
import { parse as parseVega, View, Warn } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { PNG_SCALE } from '../../src/experiment/report/render.js';
import {
  resultColumns,
  targetKey,
  type AggregationCostRow,
  type StudyManifest,
  type StudyRun,
} from '../../src/experiment/results.js';
import type { StepRecord } from '../../src/train/loop.js';
import { tempDir } from '../tmp.js';

const BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));
const tmp = tempDir('draco-report-');

const CHARTS = [
  'accuracy-vs-step',
  'accuracy-vs-modeled-time',
  'time-breakdown',
  'final-accuracy-heatmap',
  'aggregation-cost',
];

interface FixtureRun {
  defense: string;
  scheme: string;
  aggregator: string;
  attack: string;
  n: number;
  seed: number;
  /** --partition; iid when absent. */
  partition?: string;
}

const STEPS = 10;
const EVAL_EVERY = 5;

/** Test accuracy of a fixture run after `step`: distinct per defense, attack and seed. */
function fixtureAccuracy(run: FixtureRun, step: number): number {
  // Exact decoding: the cyclic code's model, and so its curve, is the repetition code's.
  const exact = run.defense === 'repetition' || run.defense === 'cyclic';
  // Skewed data costs the robust rules accuracy, not the exact codes.
  const skew = !exact && run.partition !== undefined && run.partition !== 'iid' ? 0.2 : 0;
  const base = (exact ? 0.9 : run.attack.startsWith('reverse') ? 0.3 : 0.7) - skew;
  return Math.min(0.99, base * ((step + 1) / STEPS) + 0.01 * run.seed);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * A study folder in the layout of src/experiment/results.ts: study.json, runs/<id>/ with
 * config.json, metrics.jsonl (StepRecord per step) and summary.json, results.csv with
 * resultColumns, and optionally aggregation-cost.csv.
 */
function writeStudy(
  dir: string,
  runs: FixtureRun[],
  opts: { aggregationCost: boolean },
): Map<string, StepRecord[]> {
  mkdirSync(dir, { recursive: true });
  const targets = [0.5];
  const network = { bandwidthMBps: 125, latencyMs: 0.1 };
  const studyRuns: StudyRun[] = [];
  const allRecords = new Map<string, StepRecord[]>();
  const rows: Record<string, string | number>[] = [];
  for (const run of runs) {
    const s = 1;
    const r = run.scheme === 'repetition' ? 3 : 1;
    const partition = run.partition ?? 'iid';
    const id = `${run.defense.replace('/', '-')}__${run.attack.split(':')[0]}__${partition}__n${run.n}__seed${run.seed}`;
    const config = resolveConfig({
      model: 'mlp',
      dataset: 'synthetic',
      workers: run.n,
      byzantine: s,
      scheme: run.scheme,
      aggregator: run.aggregator,
      attack: run.attack,
      steps: STEPS,
      evalEvery: EVAL_EVERY,
      batch: 60,
      seed: run.seed,
      partition,
    });
    studyRuns.push({
      id,
      labels: { ...run, placement: 'random', partition, s, r, m: 1 },
      config,
    });
    const records: StepRecord[] = [];
    for (let step = 0; step < STEPS; step++) {
      const computeMs = Array.from({ length: run.n }, (_, w) => 2 * r + 0.1 * w);
      const encodeMs = Array.from({ length: run.n }, () => (run.scheme === 'repetition' ? 0.2 : 0));
      const bytesSent = Array.from({ length: run.n }, () => 4 * 1000);
      const decodeMs = run.scheme === 'repetition' ? 0.5 + 0.05 * run.n : 1.5 + 0.3 * run.n;
      const updateMs = 0.3;
      const commMs = 2 * network.latencyMs + (run.n * 4 * 1000 * 2) / (network.bandwidthMBps * 1e3);
      const slowest = Math.max(...computeMs.map((c, w) => c + encodeMs[w]));
      const rec: StepRecord = {
        step,
        lr: 0.1,
        trainLoss: 2 - step * 0.1,
        byzantine: [step % run.n],
        suspects: run.scheme === 'repetition' ? [step % run.n] : [],
        erasures: [],
        rejected: [],
        failures: [],
        aborted: false,
        recomputations: 0,
        time: {
          computeMs,
          encodeMs,
          bytesSent,
          psWaitMs: 0.1,
          decodeMs,
          recomputeMs: 0,
          updateMs,
          stepWallMs: slowest * run.n + decodeMs + updateMs,
          commMs,
          modeledParallelMs: slowest + commMs + decodeMs + updateMs + step * 0.01,
        },
      };
      if ((step + 1) % EVAL_EVERY === 0) {
        rec.testAccuracy = fixtureAccuracy(run, step);
        rec.testLoss = 1 - rec.testAccuracy;
      }
      records.push(rec);
    }
    allRecords.set(id, records);
    const runDir = join(dir, 'runs', id);
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'config.json'), JSON.stringify(config, null, 2));
    writeFileSync(join(runDir, 'metrics.jsonl'), records.map((x) => JSON.stringify(x)).join('\n') + '\n');
    const last = records[records.length - 1];
    const modeledSeconds = records.reduce((a, x) => a + x.time.modeledParallelMs, 0) / 1000;
    writeFileSync(
      join(runDir, 'summary.json'),
      JSON.stringify({ finalTestAccuracy: last.testAccuracy, steps: STEPS, seed: run.seed, config }),
    );
    const reached = records.find((x) => (x.testAccuracy ?? 0) >= targets[0]);
    rows.push({
      id,
      ...run,
      partition,
      placement: 'random',
      s,
      r,
      m: 1,
      model: 'mlp',
      dataset: 'synthetic',
      steps: STEPS,
      finalTestAccuracy: last.testAccuracy!,
      finalTestLoss: last.testLoss!,
      bytesPerWorkerPerStep: 4000,
      computeMs: median(records.map((x) => Math.max(...x.time.computeMs))),
      encodeMs: median(records.map((x) => Math.max(...x.time.encodeMs))),
      commMs: median(records.map((x) => x.time.commMs)),
      decodeMs: median(records.map((x) => x.time.decodeMs)),
      updateMs: median(records.map((x) => x.time.updateMs)),
      modeledStepMs: median(records.map((x) => x.time.modeledParallelMs)),
      wallStepMs: median(records.map((x) => x.time.stepWallMs)),
      modeledSeconds,
      wallSeconds: 0.5,
      [`stepsTo${targetKey(0.5)}`]: reached ? reached.step + 1 : '',
      [`modeledSecondsTo${targetKey(0.5)}`]: reached ? 0.01 * (reached.step + 1) : '',
    });
  }
  const columns = resultColumns(targets);
  const csv = [columns.join(','), ...rows.map((row) => columns.map((c) => csvCell(row[c])).join(','))];
  writeFileSync(join(dir, 'results.csv'), csv.join('\n') + '\n');
  const rules = ['median', 'krum'];
  const ns = [5, 9, 15];
  const manifest: StudyManifest = {
    name: 'tiny study',
    description: 'Two defenses under two attacks, two seeds.',
    quick: true,
    targets,
    network,
    runs: studyRuns,
  };
  if (opts.aggregationCost) {
    manifest.aggregationCost = { rules, n: ns, d: 1000, runs: 5 };
    const cost: AggregationCostRow[] = [];
    for (const rule of rules) {
      for (const n of ns)
        cost.push({ rule, n, d: 1000, f: 1, medianMs: rule === 'krum' ? 0.01 * n * n : 0.05 * n });
    }
    writeFileSync(
      join(dir, 'aggregation-cost.csv'),
      ['rule,n,d,medianMs', ...cost.map((c) => `${c.rule},${c.n},${c.d},${c.medianMs}`)].join('\n') + '\n',
    );
  }
  writeFileSync(join(dir, 'study.json'), JSON.stringify(manifest, null, 2));
  return allRecords;
}

const GAUSSIAN = 'gaussian:mean=0,std=200'; // a comma: the CSV must quote it

const MAIN_RUNS: FixtureRun[] = [];
for (const [defense, scheme, aggregator] of [
  ['repetition', 'repetition', 'mean'],
  ['uncoded/median', 'uncoded', 'median'],
]) {
  for (const attack of ['reverse:c=100', GAUSSIAN]) {
    for (const seed of [1, 2]) MAIN_RUNS.push({ defense, scheme, aggregator, attack, n: 5, seed });
  }
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

function svgSize(svg: string): { width: number; height: number } {
  const m = /^<svg[^>]*\swidth="(\d+(?:\.\d+)?)"[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(svg);
  assert.ok(m, 'svg has width and height');
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Visible text of an SVG (vega writes each label in a <text> element), entities decoded. */
function svgText(svg: string): string {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)]
    .map((m) =>
      m[1]
        .replace(/&amp;/g, '&')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"'),
    )
    .join('\n');
}

describe('draco report', () => {
  const mainDir = join(tmp, 'main');
  const records = writeStudy(mainDir, MAIN_RUNS, { aggregationCost: true });

  test('writes the page and every chart as SVG and PNG', async () => {
    const result = await writeReport(mainDir);
    assert.equal(result.htmlPath, join(mainDir, 'report.html'));
    assert.deepEqual(
      result.charts.map((c) => c.name),
      CHARTS,
    );
    const svgs = new Map<string, string>();
    for (const name of CHARTS) {
      const chart = result.charts.find((c) => c.name === name)!;
      assert.equal(chart.omitted, undefined, `${name} drawn`);
      const svg = readFileSync(join(mainDir, 'charts', `${name}.svg`), 'utf8');
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.ok(svg.trimEnd().endsWith('</svg>'), `${name}.svg is complete`);
      svgs.set(name, svg);
      const png = readFileSync(join(mainDir, 'charts', `${name}.png`));
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const size = pngSize(png);
      const sv = svgSize(svg);
      assert.equal(size.width, Math.round(sv.width * PNG_SCALE), `${name}.png width`);
      assert.equal(size.height, Math.round(sv.height * PNG_SCALE), `${name}.png height`);
      assert.ok(size.width >= 300 && size.width <= 4000 && size.height >= 150 && size.height <= 4000);
      assert.equal(chart.pngWidth, size.width);
      // Labels drawn as text need the bundled font: a PNG of only lines and boxes compresses far
      // better, so a font-less render would be much smaller than one with text.
      assert.ok(png.length > 10_000, `${name}.png has content (${png.length} bytes)`);
    }
    const text = (name: string) => svgText(svgs.get(name)!);
    for (const name of ['accuracy-vs-step', 'accuracy-vs-modeled-time']) {
      const t = text(name);
      assert.match(t, /test accuracy/);
      assert.match(t, /^repetition$/m);
      assert.match(t, /^uncoded\/median$/m);
      assert.match(t, /^reverse:c=100$/m, `${name}: one panel per attack`);
      assert.ok(t.includes(GAUSSIAN), `${name}: one panel per attack`);
    }
    assert.match(text('accuracy-vs-step'), /^steps trained$/m);
    assert.match(text('accuracy-vs-modeled-time'), /^modeled time \(s\)$/m);
    const breakdown = text('time-breakdown');
    for (const part of [
      'compute (slowest worker)',
      'encode',
      'communication (modeled)',
      'decode/aggregate',
      'update',
    ]) {
      assert.ok(breakdown.includes(part), `breakdown legend has ${part}`);
    }
    assert.match(breakdown, /workers and network: ms per step \(communication modeled\)/);
    assert.match(breakdown, /parameter server: ms per step \(measured\)/);
    // Heatmap cells: the mean over seeds of the final accuracy, to 3 decimals.
    const heat = text('final-accuracy-heatmap');
    for (const defense of ['repetition', 'uncoded/median']) {
      for (const attack of ['reverse:c=100', GAUSSIAN]) {
        const runs = MAIN_RUNS.filter((r) => r.defense === defense && r.attack === attack);
        const want = runs.reduce((a, r) => a + fixtureAccuracy(r, STEPS - 1), 0) / runs.length;
        assert.ok(
          heat.split('\n').includes(want.toFixed(3)),
          `heatmap cell ${defense} x ${attack} = ${want}`,
        );
      }
    }
    const cost = text('aggregation-cost');
    assert.match(cost, /^median$/m);
    assert.match(cost, /^krum$/m);
    assert.match(cost, /aggregation time \(ms, median\)/);
    assert.match(cost, /^workers n$/m);

    const html = readFileSync(result.htmlPath, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.ok(html.includes('draco study: tiny study'));
    assert.ok(html.includes('Two defenses under two attacks, two seeds.'));
    assert.match(html, /quick/);
    assert.match(html, /bandwidth 125 MB\/s, latency 0\.1 ms/);
    assert.match(html, /modeled/);
    assert.equal(html.match(/<svg /g)?.length, CHARTS.length, 'every chart inline');
    for (const name of CHARTS) assert.ok(html.includes(`href="charts/${name}.png"`), `${name} linked`);
    for (const id of records.keys()) assert.ok(html.includes(`<td>${id}</td>`), `run ${id} in the table`);
    assert.ok(html.includes('commMs <span class="tag">(modeled)</span>'));
    assert.ok(!/<script|<link |<img |src="http|href="http/.test(html), 'self-contained');
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length, 'element ids are unique across the inline charts');
  });

  test('accuracy vs modeled time uses the running sum of modeledParallelMs, averaged over seeds', () => {
    const study = loadStudy(mainDir);
    const curves = meanCurves(study);
    const rep = MAIN_RUNS.filter((r) => r.defense === 'repetition' && r.attack === GAUSSIAN);
    const pts = curves.filter((p) => p.series === 'repetition' && p.attack === GAUSSIAN);
    assert.deepEqual(
      pts.map((p) => [p.step, p.stepsTrained]),
      [
        [EVAL_EVERY - 1, EVAL_EVERY],
        [STEPS - 1, STEPS],
      ],
    );
    for (const p of pts) {
      const ids = study.rows
        .filter((r) => r.defense === 'repetition' && r.attack === GAUSSIAN)
        .map((r) => r.id);
      const want =
        ids
          .map((id) =>
            records
              .get(id)!
              .filter((x) => x.step <= p.step)
              .reduce((a, x) => a + x.time.modeledParallelMs, 0),
          )
          .reduce((a, b) => a + b, 0) /
        ids.length /
        1000;
      assert.ok(Math.abs(p.modeledSeconds - want) < 1e-12, `modeled seconds at step ${p.step}`);
      const acc = rep.reduce((a, r) => a + fixtureAccuracy(r, p.step), 0) / rep.length;
      assert.ok(Math.abs(p.testAccuracy - acc) < 1e-12);
      assert.equal(p.seeds, 2);
    }
    // The last point of each run reaches the run's total modeled time in results.csv.
    for (const row of study.rows) {
      const last = study.curves.get(row.id)!.at(-1)!;
      assert.ok(Math.abs(last.modeledSeconds - row.modeledSeconds) < 1e-9);
    }
    const costSpec = buildCharts(study).find((c) => c.name === 'aggregation-cost')!.spec as {
      encoding: { y: { scale: { type: string } } };
    };
    assert.equal(costSpec.encoding.y.scale.type, 'log');
  });

  test('one attack, no aggregation-cost.csv, n varying: single panels, cost derived from the runs', async () => {
    const dir = join(tmp, 'one-attack');
    const runs: FixtureRun[] = [];
    for (const n of [5, 9]) {
      runs.push({
        defense: 'repetition',
        scheme: 'repetition',
        aggregator: 'mean',
        attack: 'constant',
        n,
        seed: 1,
      });
      runs.push({
        defense: 'uncoded/geomedian',
        scheme: 'uncoded',
        aggregator: 'geomedian',
        attack: 'constant',
        n,
        seed: 1,
      });
    }
    writeStudy(dir, runs, { aggregationCost: false });
    // The writer stores a non-finite number as an empty cell: that run's heatmap cell stays blank.
    const csv = parseCsv(readFileSync(join(dir, 'results.csv'), 'utf8'), 'results.csv');
    csv.rows[0][csv.header.indexOf('finalTestAccuracy')] = '';
    writeFileSync(
      join(dir, 'results.csv'),
      [csv.header, ...csv.rows].map((r) => r.join(',')).join('\n') + '\n',
    );
    const out = join(dir, 'elsewhere', 'page.html');
    mkdirSync(join(dir, 'elsewhere'));
    const result = await writeReport(dir, { out });
    assert.equal(result.htmlPath, out);
    assert.ok(existsSync(join(dir, 'elsewhere', 'charts', 'aggregation-cost.png')));
    assert.ok(!existsSync(join(dir, 'report.html')));
    const read = (name: string) =>
      svgText(readFileSync(join(dir, 'elsewhere', 'charts', `${name}.svg`), 'utf8'));
    // n varies within (defense, attack): it is part of the series label, not averaged away.
    // (the fixture's accuracy does not depend on n: both sizes draw one curve, named for both)
    assert.match(read('accuracy-vs-step'), /^repetition \(n=5\) = repetition \(n=9\)$/m);
    assert.match(read('accuracy-vs-modeled-time'), /^repetition \(n=9\)$/m);
    assert.match(read('final-accuracy-heatmap'), /^uncoded\/geomedian \(n=5\)$/m);
    const cost = read('aggregation-cost');
    assert.match(cost, /decode\/aggregate time \(ms, median\)/);
    assert.match(cost, /^repetition$/m, 'derived cost: one line per defense over n');
    const html = readFileSync(out, 'utf8');
    assert.match(html, /No aggregation-cost\.csv in this study/);
    assert.match(html, /Attack: constant\./);
    assert.match(html, /1 cell\(s\) without a final accuracy are blank/);
  });

  test('identical curves are drawn once and named, seeds give a band, the PS cost has its own scale', async () => {
    const dir = join(tmp, 'identical');
    const runs: FixtureRun[] = [];
    for (const [defense, scheme, aggregator] of [
      ['repetition', 'repetition', 'mean'],
      ['cyclic', 'cyclic', 'mean'],
      ['uncoded/median', 'uncoded', 'median'],
    ])
      for (const seed of [1, 2])
        runs.push({ defense, scheme, aggregator, attack: 'reverse:c=100', n: 5, seed });
    writeStudy(dir, runs, { aggregationCost: false });
    const result = await writeReport(dir);
    const read = (name: string) => svgText(readFileSync(join(dir, 'charts', `${name}.svg`), 'utf8'));
    // Against steps the two exact codes coincide: one line, one legend entry naming both.
    const vsStep = read('accuracy-vs-step');
    assert.match(vsStep, /^repetition = cyclic$/m);
    assert.doesNotMatch(vsStep, /^cyclic$/m);
    assert.match(vsStep, /^uncoded\/median$/m);
    const html = readFileSync(result.htmlPath, 'utf8');
    assert.match(
      html,
      /Identical curves are drawn once, their defenses joined by &quot;=&quot;.*: repetition = cyclic\./,
    );
    // Against modeled time they differ (cyclic computes one partition, repetition r = 3): two
    // entries, the second dashed over the first.
    const vsTime = read('accuracy-vs-modeled-time');
    assert.match(vsTime, /^repetition$/m);
    assert.match(vsTime, /^cyclic$/m);
    assert.match(
      html,
      /Same accuracies, other modeled times \(dashed after the first.*\): repetition \/ cyclic\./,
    );
    const study = loadStudy(dir);
    const curves = meanCurves(study);
    const order = ['repetition', 'cyclic', 'uncoded/median'];
    const time = mergeIdentical(curves, order, true);
    assert.deepEqual(
      [...new Set(time.points.map((p) => `${p.series}:${p.dash}`))],
      ['repetition:solid', 'cyclic:dashed', 'uncoded/median:solid'],
    );
    assert.deepEqual(mergeIdentical(curves, order, false).order, ['repetition = cyclic', 'uncoded/median']);
    // The band: lowest to highest accuracy over the two seeds (they differ by 0.01 per seed).
    for (const p of curves) {
      const accs = runs.filter((r) => r.defense === p.series).map((r) => fixtureAccuracy(r, p.step));
      assert.deepEqual([p.lo, p.hi, p.seeds], [Math.min(...accs), Math.max(...accs), 2], p.series);
      assert.ok(p.hi > p.lo);
    }
    assert.match(html, /The shaded band spans the lowest to the highest accuracy over the seeds \(up to 2\)/);
    // The breakdown: the PS panel's scale is set by the PS costs alone, not by the workers' side.
    const breakdown = read('time-breakdown');
    assert.match(breakdown, /workers and network: ms per step \(communication modeled\)/);
    assert.match(breakdown, /parameter server: ms per step \(measured\)/);
    const spec = buildCharts(study).find((c) => c.name === 'time-breakdown')!.spec!;
    const view = new View(parseVega(compile(spec as TopLevelSpec).spec), {
      renderer: 'none',
      logLevel: Warn,
    });
    await view.runAsync();
    const psMax = Math.max(...study.rows.map((r) => r.decodeMs + r.updateMs));
    const workersMax = Math.max(...study.rows.map((r) => r.computeMs + r.encodeMs + r.commMs));
    const [, psTop] = view.scale('concat_1_x').domain() as number[];
    const [, workersTop] = view.scale('concat_0_x').domain() as number[];
    view.finalize();
    assert.ok(workersMax > 2 * psMax, `fixture: workers ${workersMax} ms, PS ${psMax} ms`);
    assert.ok(psTop >= psMax && psTop < 1.5 * psMax, `PS scale to ${psTop} for PS costs up to ${psMax}`);
    assert.ok(workersTop >= workersMax);
  });

  test('several data layouts: a heatmap per defense, the worst case per layout, and the drop from iid in tables.md', async () => {
    const dir = join(tmp, 'heterogeneity');
    const runs: FixtureRun[] = [];
    for (const [defense, scheme, aggregator] of [
      ['repetition', 'repetition', 'mean'],
      ['uncoded/median', 'uncoded', 'median'],
    ])
      for (const partition of ['iid', 'dirichlet:alpha=0.1'])
        for (const attack of ['reverse:c=100', 'alie'])
          runs.push({ defense, scheme, aggregator, attack, n: 5, seed: 1, partition });
    writeStudy(dir, runs, { aggregationCost: false });
    const result = await writeReport(dir);
    const drawn = result.charts.filter((c) => c.svgPath !== undefined).map((c) => c.name);
    assert.ok(drawn.includes('heterogeneity-heatmaps') && drawn.includes('worst-case-heatmap'), `${drawn}`);
    // The single attack x defense heatmap would average over the layouts: left out, saying why.
    assert.match(
      result.charts.find((c) => c.name === 'final-accuracy-heatmap')!.omitted ?? '',
      /lays out its data in several ways/,
    );
    const read = (name: string) => svgText(readFileSync(join(dir, 'charts', `${name}.svg`), 'utf8'));
    const final = (r: FixtureRun) => fixtureAccuracy(r, STEPS - 1).toFixed(3);
    const perDefense = read('heterogeneity-heatmaps');
    for (const r of runs)
      assert.match(perDefense, new RegExp(`^${final(r)}$`, 'm'), `${r.defense} ${r.partition} ${r.attack}`);
    assert.match(perDefense, /^dirichlet:alpha=0\.1$/m);
    // The worst case over the attacks: median's reverse cell, per layout.
    const worst = read('worst-case-heatmap');
    const medianWorst = (partition: string) =>
      final(
        runs.find(
          (r) =>
            r.defense === 'uncoded/median' && r.partition === partition && r.attack.startsWith('reverse'),
        )!,
      );
    assert.match(worst, new RegExp(`^${medianWorst('iid')}$`, 'm'));
    assert.match(worst, new RegExp(`^${medianWorst('dirichlet:alpha=0.1')}$`, 'm'));
    assert.doesNotMatch(
      worst,
      new RegExp(
        `^${final(runs.find((r) => r.defense === 'uncoded/median' && r.partition === 'iid' && r.attack === 'alie')!)}$`,
        'm',
      ),
    );
    // Accuracy curves: one panel per (attack, layout).
    assert.match(read('accuracy-vs-step'), /^alie · dirichlet:alpha=0\.1$/m);
    // tables.md: worst accuracy per layout and the drop, 0 for the exact code, 20 points x 0.3 for median.
    const tables = readFileSync(join(dir, 'tables.md'), 'utf8');
    assert.match(tables, /\| defense \| iid \| dirichlet:alpha=0\.1 \| drop iid → dirichlet:alpha=0\.1 \|/);
    assert.match(tables, /^\| repetition \| 91\.00 \| 91\.00 \| 0\.00 \|$/m);
    assert.match(tables, /^\| uncoded\/median \| 31\.00 \| 11\.00 \| 20\.00 \|$/m);
    assert.match(tables, /### n = 5, s = 1, attack alie \(random placement\), data dirichlet:alpha=0\.1/);
  });

  test('a study with no finished runs still writes a page, saying why each chart is left out', async () => {
    const dir = join(tmp, 'empty');
    writeStudy(dir, [], { aggregationCost: false });
    const result = await writeReport(dir);
    assert.ok(result.charts.every((c) => c.omitted !== undefined && c.omitted.length > 10));
    const html = readFileSync(result.htmlPath, 'utf8');
    assert.equal(html.match(/Chart omitted: /g)?.length, CHARTS.length);
    assert.ok(!html.includes('<svg'));
  });

  test('bad input is a UsageError naming the problem', async () => {
    const bad = join(tmp, 'bad');
    await assert.rejects(writeReport(join(tmp, 'nope')), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /study folder not found/);
      return true;
    });
    mkdirSync(bad);
    await assert.rejects(
      writeReport(bad),
      /bad holds neither study\.json \(draco experiment --out\) nor summary\.json/,
    );
    writeFileSync(join(bad, 'study.json'), '{"name": "x"');
    await assert.rejects(writeReport(bad), /study\.json is not valid JSON/);
    writeFileSync(join(bad, 'study.json'), JSON.stringify({ name: 'x', quick: true, runs: [] }));
    await assert.rejects(writeReport(bad), /study\.json: network: /);
    writeFileSync(
      join(bad, 'study.json'),
      JSON.stringify({ name: 'x', quick: true, runs: [], network: { bandwidthMBps: 1, latencyMs: 0 } }),
    );
    await assert.rejects(writeReport(bad), /results table \(results\.csv\) not found/);
    const header = resultColumns([]).join(',');
    writeFileSync(join(bad, 'results.csv'), 'a,b\n1,2\n');
    await assert.rejects(writeReport(bad), /results\.csv: missing columns id, defense,/);
    writeFileSync(join(bad, 'results.csv'), `${header}\n1,2,3\n`);
    await assert.rejects(
      writeReport(bad),
      new RegExp(`results\\.csv line 2: 3 cells, but the header has ${resultColumns([]).length} columns`),
    );
    writeFileSync(join(bad, 'results.csv'), `${header}\n"unterminated,2\n`);
    await assert.rejects(writeReport(bad), /results\.csv line 2: unterminated quoted cell/);
    const cells = resultColumns([]).map((c) => (c === 'finalTestAccuracy' ? 'high' : '1'));
    writeFileSync(join(bad, 'results.csv'), `${header}\n${cells.join(',')}\n`);
    await assert.rejects(writeReport(bad), /line 2: column finalTestAccuracy must be a number, got "high"/);
    rmSync(bad, { recursive: true });
  });

  test('parseCsv handles quotes, escaped quotes, CRLF and a missing final newline', () => {
    const t = parseCsv('a,b,c\r\n"x,1","say ""hi""",\r\n2,,3', 'f.csv');
    assert.deepEqual(t.header, ['a', 'b', 'c']);
    assert.deepEqual(t.rows, [
      ['x,1', 'say "hi"', ''],
      ['2', '', '3'],
    ]);
  });

  test('CLI: `draco report` on draco train --out folders: one run, or several with --out', () => {
    const train = (name: string, ...more: string[]) => {
      const args = ['train', '--dataset', 'synthetic', '--steps', '8', '--eval-every', '4', '--workers', '5'];
      const r = spawnSync(
        process.execPath,
        [BIN, ...args, '--byzantine', '1', '--batch', '40', '--quiet', '--out', join(tmp, name), ...more],
        { encoding: 'utf8', timeout: 120_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      return join(tmp, name);
    };
    const a = train('run-a');
    const b = train('run-b', '--scheme', 'uncoded', '--aggregator', 'median');
    const one = spawnSync(process.execPath, [BIN, 'report', a], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, /draco report: .*run-a\/report\.html \(5 charts/);
    const page = readFileSync(join(a, 'report.html'), 'utf8');
    assert.ok(page.includes('<td>run-a</td>'), 'the run is in the results table, named by its folder');
    assert.ok(existsSync(join(a, 'charts', 'accuracy-vs-step.svg')));
    assert.ok(existsSync(join(a, 'summary.json')) && existsSync(join(a, 'params.npy')), 'run files kept');
    const several = spawnSync(process.execPath, [BIN, 'report', a, b], { encoding: 'utf8' });
    assert.equal(several.status, 2);
    assert.match(several.stderr, /^draco: 2 run folders: give --out FILE/);
    const out = join(tmp, 'compare', 'report.html');
    const both = spawnSync(process.execPath, [BIN, 'report', a, b, '--out', out], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(both.status, 0, both.stderr);
    const cmp = readFileSync(out, 'utf8');
    for (const id of ['run-a', 'run-b']) assert.ok(cmp.includes(`<td>${id}</td>`), id);
    const legend = svgText(readFileSync(join(tmp, 'compare', 'charts', 'accuracy-vs-step.svg'), 'utf8'));
    assert.match(legend, /^repetition$/m);
    assert.match(legend, /^median$/m);
    const neither = spawnSync(process.execPath, [BIN, 'report', join(tmp, 'compare')], { encoding: 'utf8' });
    assert.equal(neither.status, 2);
    assert.match(neither.stderr, /compare holds neither study\.json .* nor summary\.json/);
  });

  test('CLI: `draco report DIR` writes the page; a missing folder is one line, exit 2', () => {
    const dir = join(tmp, 'cli');
    writeStudy(dir, MAIN_RUNS.slice(0, 2), { aggregationCost: false });
    const ok = spawnSync(process.execPath, [BIN, 'report', dir], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /draco report: .*report\.html \(5 charts, SVG and PNG in .*charts\)/);
    assert.ok(existsSync(join(dir, 'report.html')));
    for (const name of CHARTS) assert.ok(existsSync(join(dir, 'charts', `${name}.png`)), name);
    const help = spawnSync(process.execPath, [BIN, 'report', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    for (const word of ['study.json', 'results.csv', 'metrics.jsonl', 'report.html', 'charts/', 'MODELED']) {
      assert.ok(help.stdout.includes(word), `--help mentions ${word}`);
    }
    const bad = spawnSync(process.execPath, [BIN, 'report', join(tmp, 'missing')], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr.trim(), /^draco: study folder not found: .*missing$/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });
});
