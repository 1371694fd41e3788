import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../src/core/errors.js';
import { resultColumns } from '../../src/experiment/results.js';
import { runStudy } from '../../src/experiment/runner.js';
import { expandStudy, loadStudy, StudySchema } from '../../src/experiment/study.js';
import { modeledCommMs } from '../../src/train/time-model.js';
import { tempDir } from '../tmp.js';

const BIN = fileURLToPath(new URL('../../../bin/draco.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = tempDir('draco-study-');

function study(obj: unknown) {
  return StudySchema.parse(obj);
}

/** A tiny but real study: synthetic data, 2 defenses x 2 attacks, a few steps. */
const TINY = {
  name: 'tiny',
  description: 'two defenses, two attacks',
  seeds: [1],
  targets: [0.5, 0.999],
  network: { bandwidthMBps: 10, latencyMs: 1 },
  base: { model: 'mlp', dataset: 'synthetic', batch: 60, steps: 6, evalEvery: 3, workers: 5, byzantine: 1 },
  grid: {
    defense: [{ scheme: 'repetition' }, { scheme: 'uncoded', aggregator: 'median', label: 'coord median' }],
    attack: ['reverse', 'constant'],
  },
  exclude: [{ scheme: 'uncoded', attack: 'constant' }],
  reference: 'coord median',
  // A rule spec with a comma: aggregation-cost.csv must quote it.
  aggregationCost: {
    rules: ['geomedian:iters=2,tol=0', 'mean', 'detox-multi-krum', 'vote'],
    n: [5, 7],
    d: 1000,
    runs: 1,
  },
  quick: { base: { steps: 4 } },
};

describe('study expansion', () => {
  test('axes multiply, mappings merge, labels and exclude apply, seeds innermost', () => {
    const m = expandStudy(study({ ...TINY, seeds: [1, 2] }), false);
    assert.equal(m.runs.length, 6); // (2 defenses x 2 attacks - 1 excluded) x 2 seeds
    assert.deepEqual(
      m.runs.map((r) => `${r.labels.defense}/${r.labels.attack}/${r.labels.seed}`),
      [
        'repetition/reverse/1',
        'repetition/reverse/2',
        'repetition/constant/1',
        'repetition/constant/2',
        'coord median/reverse/1',
        'coord median/reverse/2',
      ],
    );
    const rep = m.runs[0];
    assert.equal(rep.labels.r, 3); // 2s + 1
    assert.equal(rep.config.bandwidthMBps, 10); // the study's network reaches every run
    assert.equal(rep.config.latencyMs, 1);
    assert.equal(m.runs[4].config.aggregator, 'median');
    assert.equal(new Set(m.runs.map((r) => r.id)).size, 6);
  });

  test('--quick merges base, replaces named axes and seeds', () => {
    const full = expandStudy(study(TINY), false);
    const quick = expandStudy(
      study({ ...TINY, quick: { seeds: [7], base: { steps: 2 }, grid: { attack: ['reverse'] } } }),
      true,
    );
    assert.equal(full.runs[0].config.steps, 6);
    assert.equal(quick.runs.length, 2);
    assert.ok(quick.runs.every((r) => r.config.steps === 2 && r.config.seed === 7 && r.config.workers === 5));
    assert.equal(quick.quick, true);
  });

  test('ids are stable and change with any setting', () => {
    const a = expandStudy(study(TINY), false).runs[0].id;
    const b = expandStudy(study(TINY), false).runs[0].id;
    const c = expandStudy(study({ ...TINY, base: { ...TINY.base, lr: 0.01 } }), false).runs[0].id;
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.match(a, /^repetition__reverse__random__n5-s1__seed1__[0-9a-f]{8}$/);
  });

  test('bad studies are usage errors before anything runs', () => {
    assert.throws(
      () => expandStudy(study({ ...TINY, base: { ...TINY.base, wrokers: 3 } }), false),
      (e: unknown) => e instanceof UsageError && /unknown training option "wrokers"/.test(e.message),
    );
    assert.throws(
      () => expandStudy(study({ ...TINY, grid: { ...TINY.grid, redundancy: [2] } }), false),
      (e: unknown) =>
        e instanceof UsageError && /repetition n=5 s=1 is invalid: .*r >= 2s \+ 1/.test(e.message),
    );
    // A typo in any run of the grid, found before run 1 (issue 15: found only when run 2 started).
    for (const [key, bad, pattern] of [
      ['attack', ['reverse', 'gausian'], /unknown attack 'gausian'/],
      ['placement', ['fixed', 'worts'], /unknown placement 'worts'/],
      ['model', ['mlp', 'lenett'], /unknown model 'lenett'/],
      ['dataset', ['synthetic', 'mnits'], /unknown dataset 'mnits'/],
    ] as const)
      assert.throws(
        () => expandStudy(study({ ...TINY, grid: { ...TINY.grid, [key]: bad } }), false),
        (e: unknown) => e instanceof UsageError && pattern.test(e.message),
        `a grid typo in ${key}`,
      );
    assert.throws(
      () => expandStudy(study({ ...TINY, base: { ...TINY.base, out: '/x' } }), false),
      (e: unknown) => e instanceof UsageError && /"out" is set by draco experiment/.test(e.message),
    );
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'name: "has space"\ngrid: {attack: []}\n');
    assert.throws(
      () => loadStudy(file, false),
      (e: unknown) => e instanceof UsageError && /name/.test(e.message) && /grid\.attack/.test(e.message),
    );
  });

  test('the shipped studies expand, full and quick', () => {
    for (const name of [
      'draco-vs-median',
      'detox',
      'solon',
      'heterogeneity',
      'paper-scale',
      'verify',
      'peers',
    ]) {
      const full = loadStudy(join(ROOT, 'experiments', `${name}.yaml`), false);
      const quick = loadStudy(join(ROOT, 'experiments', `${name}.yaml`), true);
      assert.ok(quick.runs.length < full.runs.length, name);
      assert.ok(quick.runs.length >= 4, name);
      // The attack x defense heatmap needs two attacks where the full study has them.
      const attacks = (m: typeof full) => new Set(m.runs.map((r) => r.labels.attack)).size;
      assert.ok(attacks(quick) >= Math.min(2, attacks(full)), `${name}: heatmap needs attacks`);
    }
    // verify's compute load is s + 1 (the label the per-worker compute table reads).
    const v = loadStudy(join(ROOT, 'experiments', 'verify.yaml'), false);
    for (const run of v.runs.filter((r) => r.labels.scheme === 'verify'))
      assert.equal(run.labels.r, run.labels.s + 1);
  });
});

describe('time model', () => {
  test('broadcast of float32 params plus the messages through the PS link', () => {
    // 3 workers, d = 1000 params (4000 B each down), messages 500 + 500 + 8000 B, 1 MB/s, 2 ms.
    const ms = modeledCommMs({ bandwidthMBps: 1, latencyMs: 2 }, 1000, [500, 500, 8000]);
    assert.equal(ms, 2 * 2 + 12000 / 1000 + 9000 / 1000);
  });
});

describe('running a tiny study', () => {
  const out = join(tmp, 'tiny-out');
  const manifest = expandStudy(study(TINY), false);

  test('runs every run, writes results.csv, then resumes without rerunning', async () => {
    const first = await runStudy(manifest, out);
    assert.equal(first.ran, 3);
    assert.equal(first.failed.length, 0);
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], resultColumns(manifest.targets).join(','));
    assert.equal(csv.length, 4);
    const cols = csv[0].split(',');
    const rows = csv.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
    for (const row of rows) {
      assert.equal(row.steps, '6');
      assert.ok(Number(row.finalTestAccuracy) > 0 && Number(row.finalTestAccuracy) <= 1);
      assert.ok(Number(row.bytesPerWorkerPerStep) > 0);
      assert.ok(Number(row.commMs) > 2, 'two latencies at least');
      // modeled step = its parts (medians of sums >= sum of medians is not guaranteed; check bounds)
      assert.ok(Number(row.modeledStepMs) >= Number(row.commMs));
      assert.equal(row.stepsTo99_9, ''); // never reached in 6 steps
    }
    assert.equal(rows[0].defense, 'repetition');
    assert.equal(rows[2].defense, 'coord median');
    // Repetition is exact: reverse and constant give the same model.
    const sum = (i: number) =>
      JSON.parse(readFileSync(join(out, 'runs', manifest.runs[i].id, 'summary.json'), 'utf8')) as {
        paramsSha256: string;
      };
    assert.equal(sum(0).paramsSha256, sum(1).paramsSha256);

    const mtime = statSync(join(out, 'runs', manifest.runs[0].id, 'summary.json')).mtimeMs;
    const again = await runStudy(manifest, out);
    assert.equal(again.ran, 0);
    assert.equal(again.skipped, 3);
    assert.equal(statSync(join(out, 'runs', manifest.runs[0].id, 'summary.json')).mtimeMs, mtime);
    assert.equal(readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n').length, 4);
  });

  test('draco report over the finished study: every chart, the summary tables with the speedup', async () => {
    const cost = readFileSync(join(out, 'aggregation-cost.csv'), 'utf8').trim().split('\n');
    assert.equal(cost.length, 8); // detox-multi-krum cannot run at n = 5 (2 buckets of 2): skipped
    assert.equal(cost[0], 'rule,n,d,f,medianMs');
    assert.match(cost[1], /^"geomedian:iters=2,tol=0",5,1000,0,[\d.]+$/);
    // detox-multi-krum (2 buckets) accepts no f > 0 at n = 7: timed at f = 0 instead of failing.
    assert.match(cost[6], /^detox-multi-krum,7,1000,0,[\d.]+$/);
    // The vote is no rule with a bound: timed at floor((n - 3) / 4) deviant messages.
    assert.match(cost[7], /^vote,7,1000,1,[\d.]+$/);
    const { writeReport } = await import('../../src/experiment/report/index.js');
    const res = await writeReport(out);
    const html = readFileSync(res.htmlPath, 'utf8');
    for (const chart of [
      'accuracy-vs-step',
      'accuracy-vs-modeled-time',
      'time-breakdown',
      'final-accuracy-heatmap',
      'aggregation-cost',
    ]) {
      assert.ok(statSync(join(out, 'charts', `${chart}.svg`)).size > 1000, chart);
      assert.ok(statSync(join(out, 'charts', `${chart}.png`)).size > 1000, chart);
      assert.ok(html.includes(`id="${chart}"`), chart);
    }
    const tables = readFileSync(join(out, 'tables.md'), 'utf8');
    assert.match(tables, /### n = 5, s = 1, attack reverse \(random placement\)/);
    assert.match(tables, /speedup vs coord median to 50.0%/);
    assert.match(tables, /\| coord median \| [\d.]+ \|/);
    assert.match(html, /Summary by cluster and attack/);
    assert.match(html, /ran on<\/th><td>.+ cores\), [a-z0-9]+-[a-z0-9]+, Node v\d+/);
  });

  test('draco experiment CLI: --dry-run lists runs; --quiet prints the final line only; a bad file is one line, exit 2', () => {
    const file = join(tmp, 'tiny.json');
    writeFileSync(file, JSON.stringify(TINY));
    const r = spawnSync(process.execPath, [BIN, 'experiment', file, '--quick', '--dry-run'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /3 runs -> results\/tiny-quick/);
    // --quiet: no progress, the final line on stdout (README: "only errors and the final line").
    const out = join(tmp, 'quiet');
    for (const done of [0, 3]) {
      const q = spawnSync(process.execPath, [BIN, 'experiment', file, '--quick', '--quiet', '--out', out], {
        encoding: 'utf8',
      });
      assert.equal(q.status, 0, q.stderr);
      assert.equal(q.stderr, '');
      assert.match(
        q.stdout,
        new RegExp(
          `^draco experiment: ${3 - done} run\\(s\\) in \\d+ s, ${done} already done, 0 failed(, \\d+ processes)?; results in .*quiet/results.csv`,
        ),
      );
      assert.equal(q.stdout.split('\n').length, 2, q.stdout);
    }
    // --only: a part of the study; the other finished runs stay in results.csv.
    const parts = join(tmp, 'parts');
    const only = (...filters: string[]) =>
      spawnSync(
        process.execPath,
        [
          BIN,
          'experiment',
          file,
          '--quick',
          '--quiet',
          '--out',
          parts,
          ...filters.flatMap((f) => ['--only', f]),
        ],
        { encoding: 'utf8' },
      );
    const a = only('attack=constant');
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout, /^draco experiment: 1 run\(s\) in \d+ s, 0 already done/);
    const b = only('scheme=uncoded', 'attack=reverse,scheme=repetition');
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /^draco experiment: 2 run\(s\) in \d+ s, 0 already done/);
    const table = readFileSync(join(parts, 'results.csv'), 'utf8').trim().split('\n');
    assert.equal(table.length, 4, 'all three runs of both parts');
    const none = only('attack=gaussian');
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^draco: --only attack=gaussian matches none of the 3 runs\n$/);
    const typo = only('atack=reverse');
    assert.match(typo.stderr, /^draco: --only atack=reverse: unknown training option "atack"\n$/);
    // --jobs 2: the same models as one process, every run once, results.csv in grid order; a lock
    // left by a dead process is taken over, one held by a live process is not touched.
    const serial = join(tmp, 'jobs1');
    const parallel = join(tmp, 'jobs2');
    const jobs = (dir: string, n: number) =>
      spawnSync(process.execPath, [BIN, 'experiment', file, '--quick', '--out', dir, '--jobs', String(n)], {
        encoding: 'utf8',
      });
    assert.equal(jobs(serial, 1).status, 0);
    const ids = readdirSync(join(serial, 'runs')).sort();
    mkdirSync(join(parallel, 'runs', `${ids[0]}.lock`), { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(parallel, 'runs', `${ids[0]}.lock`, 'pid'), String(dead));
    const p = jobs(parallel, 2);
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stdout, /^draco experiment: 3 run\(s\) in \d+ s, 0 already done, 0 failed, 2 processes; /);
    assert.match(p.stderr, /^\[job 1\] \[\d\/3\] /m);
    assert.match(p.stderr, /^\[job 2\] \[\d\/3\] /m);
    assert.deepEqual(readdirSync(join(parallel, 'runs')).sort(), ids, 'every run once, no lock left');
    const sha = (dir: string, id: string) =>
      (JSON.parse(readFileSync(join(dir, 'runs', id, 'summary.json'), 'utf8')) as { paramsSha256: string })
        .paramsSha256;
    for (const id of ids) assert.equal(sha(parallel, id), sha(serial, id), id);
    const column = (dir: string, c: string) => {
      const [head, ...lines] = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n');
      const k = head.split(',').indexOf(c);
      return lines.map((l) => l.split(',')[k]);
    };
    assert.deepEqual(column(parallel, 'id'), column(serial, 'id'));
    assert.deepEqual(column(parallel, 'finalTestAccuracy'), column(serial, 'finalTestAccuracy'));
    const held = join(tmp, 'held');
    mkdirSync(join(held, 'runs', `${ids[1]}.lock`), { recursive: true });
    writeFileSync(join(held, 'runs', `${ids[1]}.lock`, 'pid'), String(process.pid));
    const h = jobs(held, 2);
    assert.equal(h.status, 2);
    assert.match(h.stderr, new RegExp(`1 run\\(s\\) did not finish: ${ids[1]}; .*the same command resumes`));
    const bad = spawnSync(process.execPath, [BIN, 'experiment', join(tmp, 'missing.yaml')], {
      encoding: 'utf8',
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /cannot read config file .*missing\.yaml/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });
});
