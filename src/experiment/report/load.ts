/**
 * Read a study folder (layout: src/experiment/results.ts) for `draco report`: the manifest, the
 * results table, the optional aggregation-cost table and, per finished run, the evaluation points
 * of its metrics.jsonl. Bad input is a UsageError naming the file (and line) at fault.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../../core/errors.js';
import { resolveConfig } from '../../build/config.js';
import { resultColumns, resultRow, type ResultRow, type StudyManifest, type StudyRun } from '../results.js';
import { runLabels } from '../study.js';

/** A parsed CSV: header plus rows of cells, all as written. */
export interface CsvTable {
  header: string[];
  rows: string[][];
}

/** RFC 4180 CSV: comma separated, optional double quotes, `""` escapes a quote inside quotes. */
export function parseCsv(text: string, file: string): CsvTable {
  const records: { cells: string[]; line: number }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const body = text.startsWith('\ufeff') ? text.slice(1) : text;
  const endRecord = () => {
    cells.push(cell);
    // A blank line (one empty cell) is no record.
    if (!(cells.length === 1 && cells[0] === '')) records.push({ cells, line: recordLine });
    cells = [];
    cell = '';
  };
  while (i < body.length) {
    const ch = body[i];
    if (quoted) {
      if (ch === '"') {
        if (body[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const next = body[i];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
          throw new UsageError(`${file} line ${line}: unexpected character after a closing quote`);
        }
        continue;
      }
      if (ch === '\n') line++;
      cell += ch;
      i++;
      continue;
    }
    if (ch === '"') {
      if (cell !== '')
        throw new UsageError(`${file} line ${line}: a quote in the middle of an unquoted cell`);
      quoted = true;
      i++;
    } else if (ch === ',') {
      cells.push(cell);
      cell = '';
      i++;
    } else if (ch === '\r' || ch === '\n') {
      endRecord();
      i += ch === '\r' && body[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
    } else {
      cell += ch;
      i++;
    }
  }
  if (quoted) throw new UsageError(`${file} line ${recordLine}: unterminated quoted cell`);
  if (cell !== '' || cells.length > 0) endRecord();
  if (records.length === 0) throw new UsageError(`${file} is empty: expected a header line`);
  const header = records[0].cells.map((h) => h.trim());
  const seen = new Set<string>();
  for (const h of header) {
    if (h === '') throw new UsageError(`${file} line 1: empty column name in the header`);
    if (seen.has(h)) throw new UsageError(`${file} line 1: column "${h}" appears twice`);
    seen.add(h);
  }
  const rows: string[][] = [];
  for (const r of records.slice(1)) {
    if (r.cells.length !== header.length) {
      throw new UsageError(
        `${file} line ${r.line}: ${r.cells.length} cells, but the header has ${header.length} columns`,
      );
    }
    rows.push(r.cells);
  }
  return { header, rows };
}

/**
 * Columns of results.csv the report needs: every fixed column the study writer writes, but
 * `partition`, which tables written before it existed lack (their runs were all iid).
 */
export const REQUIRED_RESULT_COLUMNS: readonly string[] = resultColumns([]).filter((c) => c !== 'partition');

const NUMERIC_RESULT_COLUMNS = [
  'n',
  's',
  'r',
  'm',
  'seed',
  'finalTestAccuracy',
  'computeMs',
  'encodeMs',
  'commMs',
  'decodeMs',
  'updateMs',
  'modeledSeconds',
] as const;

/** One results.csv row as the report uses it (all cells are kept in `cells` for the table). */
export interface ReportRow {
  id: string;
  defense: string;
  scheme: string;
  aggregator: string;
  attack: string;
  placement: string;
  /** `iid` for results tables written before the column existed. */
  partition: string;
  model: string;
  dataset: string;
  n: number;
  s: number;
  r: number;
  m: number;
  seed: number;
  finalTestAccuracy: number;
  computeMs: number;
  encodeMs: number;
  commMs: number;
  decodeMs: number;
  updateMs: number;
  modeledSeconds: number;
  cells: Record<string, string>;
}

export interface AggregationCostPoint {
  rule: string;
  n: number;
  d: number;
  medianMs: number;
}

/**
 * One evaluation of a run: test accuracy after the step numbered `step` (from 0, as in
 * metrics.jsonl; step + 1 steps trained), at cumulative modeled time `modeledSeconds`.
 */
export interface EvalPoint {
  step: number;
  testAccuracy: number;
  modeledSeconds: number;
}

export interface LoadedStudy {
  dir: string;
  manifest: StudyManifest;
  results: CsvTable;
  rows: ReportRow[];
  aggregationCost?: { table: CsvTable; points: AggregationCostPoint[] };
  /** Evaluation points per run id (finished runs whose metrics.jsonl exists). */
  curves: Map<string, EvalPoint[]>;
  /** Things the reader skipped, said in the report (e.g. a run without metrics.jsonl). */
  notes: string[];
}

const ManifestSchema = z.object({
  name: z.string(),
  description: z.string().default(''),
  quick: z.boolean(),
  targets: z.array(z.number()).default([]),
  network: z.object({ bandwidthMBps: z.number(), latencyMs: z.number() }),
  reference: z.string().optional(),
  environment: z
    .object({ draco: z.string(), node: z.string(), cpu: z.string(), cores: z.number(), platform: z.string() })
    .optional(),
  runs: z.array(z.object({ id: z.string(), labels: z.record(z.string(), z.unknown()) }).loose()),
  aggregationCost: z
    .object({
      rules: z.array(z.string()),
      n: z.array(z.number()),
      d: z.number(),
      runs: z.number().optional(),
    })
    .optional(),
});

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UsageError(`${what} not found: ${path}`);
    throw new UsageError(`cannot read ${path}: ${e.message}`);
  }
}

function readManifest(dir: string): StudyManifest {
  const path = join(dir, 'study.json');
  const text = readText(path, 'study manifest (study.json)');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw new UsageError(`${path}: ${where}: ${issue.message}`);
  }
  // The report reads only the fields checked above; the rest is kept as written.
  const { description, targets } = parsed.data;
  return { ...(raw as StudyManifest), description, targets };
}

/** A numeric cell; an empty cell (how the writer stores NaN and infinities) reads as NaN. */
function numberCell(value: string, file: string, line: number, column: string): number {
  if (value.trim() === '') return NaN;
  const x = Number(value);
  if (Number.isNaN(x)) {
    throw new UsageError(`${file} line ${line}: column ${column} must be a number, got "${value}"`);
  }
  return x;
}

function readResults(dir: string): { table: CsvTable; rows: ReportRow[] } {
  const path = join(dir, 'results.csv');
  const table = parseCsv(readText(path, 'results table (results.csv)'), path);
  const missing = REQUIRED_RESULT_COLUMNS.filter((c) => !table.header.includes(c));
  if (missing.length > 0) {
    throw new UsageError(
      `${path}: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (is this a draco results table?)`,
    );
  }
  const rows = table.rows.map((cells, k) => {
    const line = k + 2;
    const byName: Record<string, string> = {};
    table.header.forEach((h, j) => (byName[h] = cells[j]));
    const num = {} as Record<(typeof NUMERIC_RESULT_COLUMNS)[number], number>;
    for (const c of NUMERIC_RESULT_COLUMNS) num[c] = numberCell(byName[c], path, line, c);
    if (byName.id === '') throw new UsageError(`${path} line ${line}: empty run id`);
    const row: ReportRow = {
      id: byName.id,
      defense: byName.defense,
      scheme: byName.scheme,
      aggregator: byName.aggregator,
      attack: byName.attack,
      placement: byName.placement,
      partition: byName.partition || 'iid',
      model: byName.model,
      dataset: byName.dataset,
      ...num,
      cells: byName,
    };
    return row;
  });
  return { table, rows };
}

function readAggregationCost(dir: string): LoadedStudy['aggregationCost'] {
  const path = join(dir, 'aggregation-cost.csv');
  if (!existsSync(path)) return undefined;
  const table = parseCsv(readText(path, 'aggregation cost table'), path);
  const missing = ['rule', 'n', 'd', 'medianMs'].filter((c) => !table.header.includes(c));
  if (missing.length > 0) throw new UsageError(`${path}: missing column(s) ${missing.join(', ')}`);
  const col = (c: string) => table.header.indexOf(c);
  const points = table.rows.map((cells, k) => ({
    rule: cells[col('rule')],
    n: numberCell(cells[col('n')], path, k + 2, 'n'),
    d: numberCell(cells[col('d')], path, k + 2, 'd'),
    medianMs: numberCell(cells[col('medianMs')], path, k + 2, 'medianMs'),
  }));
  return { table, points };
}

/**
 * Evaluation points of one metrics.jsonl: every record with a testAccuracy, with the running sum
 * of time.modeledParallelMs (the MODELED step time, which includes modeled communication) up to
 * and including that step.
 */
export function readEvalPoints(path: string): EvalPoint[] {
  const text = readText(path, 'metrics file');
  const records: { step: number; modeledMs: number; testAccuracy?: number }[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, k) => {
    const lineText = raw.trim();
    if (lineText === '') return;
    let rec: unknown;
    try {
      rec = JSON.parse(lineText);
    } catch {
      throw new UsageError(`${path} line ${k + 1}: not a JSON record`);
    }
    const r = rec as { step?: unknown; testAccuracy?: unknown; time?: { modeledParallelMs?: unknown } };
    if (typeof r !== 'object' || r === null || typeof r.step !== 'number') {
      throw new UsageError(`${path} line ${k + 1}: a step record needs a numeric "step"`);
    }
    const modeledMs = r.time?.modeledParallelMs;
    if (typeof modeledMs !== 'number' || !Number.isFinite(modeledMs)) {
      throw new UsageError(`${path} line ${k + 1}: a step record needs a numeric "time.modeledParallelMs"`);
    }
    const acc = r.testAccuracy;
    if (acc !== undefined && typeof acc !== 'number') {
      throw new UsageError(`${path} line ${k + 1}: "testAccuracy" must be a number`);
    }
    records.push({ step: r.step, modeledMs, testAccuracy: acc });
  });
  records.sort((a, b) => a.step - b.step);
  const points: EvalPoint[] = [];
  let cumulativeMs = 0;
  for (const r of records) {
    cumulativeMs += r.modeledMs;
    if (r.testAccuracy !== undefined && Number.isFinite(r.testAccuracy)) {
      points.push({ step: r.step, testAccuracy: r.testAccuracy, modeledSeconds: cumulativeMs / 1000 });
    }
  }
  return points;
}

/** Load everything `draco report` needs from a study folder. */
export function loadStudy(dir: string): LoadedStudy {
  if (!existsSync(dir)) throw new UsageError(`study folder not found: ${dir}`);
  if (!statSync(dir).isDirectory()) {
    throw new UsageError(`not a folder: ${dir} (give the folder \`draco experiment\` wrote)`);
  }
  if (!existsSync(join(dir, 'study.json'))) {
    if (existsSync(join(dir, 'summary.json'))) return loadRuns([dir]);
    throw new UsageError(
      `${dir} holds neither study.json (draco experiment --out) nor summary.json (a finished draco train --out)`,
    );
  }
  const manifest = readManifest(dir);
  const { table, rows } = readResults(dir);
  const aggregationCost = readAggregationCost(dir);
  const curves = new Map<string, EvalPoint[]>();
  const notes: string[] = [];
  for (const row of rows) {
    if (row.id.includes('/') || row.id.includes('\\') || row.id === '.' || row.id === '..') {
      notes.push(`run id "${row.id}" is not a folder name; its curves are left out.`);
      continue;
    }
    const path = join(dir, 'runs', row.id, 'metrics.jsonl');
    if (!existsSync(path)) {
      notes.push(`run ${row.id} has no runs/${row.id}/metrics.jsonl; its curves are left out.`);
      continue;
    }
    curves.set(row.id, readEvalPoints(path));
  }
  return { dir, manifest, results: table, rows, aggregationCost, curves, notes };
}

/**
 * Folders written by `draco train --out`, read as a study of their runs: each run is named by its
 * folder, its labels come from the config in its summary.json, and the network model is the
 * first run's. The report then compares them as it compares a study's runs.
 */
export function loadRuns(dirs: readonly string[]): LoadedStudy {
  if (dirs.length === 0) throw new UsageError('give at least one run folder');
  const runs: { run: StudyRun; dir: string }[] = [];
  const ids = new Set<string>();
  for (const d of dirs) {
    const dir = resolve(d);
    const summaryPath = join(dir, 'summary.json');
    if (!existsSync(dir)) throw new UsageError(`folder not found: ${d}`);
    if (!existsSync(summaryPath)) {
      throw new UsageError(
        existsSync(join(dir, 'study.json'))
          ? `${d} is a study folder: report it on its own (draco report ${d})`
          : `${d} holds neither study.json (draco experiment --out) nor summary.json (a finished draco train --out)`,
      );
    }
    let config: StudyRun['config'];
    try {
      const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as { config?: unknown };
      config = resolveConfig(summary.config ?? {}, summaryPath);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`${summaryPath} is not valid JSON: ${(e as Error).message}`);
    }
    let id = basename(dir);
    for (let k = 2; ids.has(id); k++) id = `${basename(dir)}-${k}`;
    ids.add(id);
    if (!existsSync(join(dir, 'metrics.jsonl')))
      throw new UsageError(`${d} has summary.json but no metrics.jsonl: not a draco train --out folder`);
    runs.push({ run: { id, labels: runLabels(config, undefined), config }, dir });
  }
  const first = runs[0].run.config;
  const manifest: StudyManifest = {
    name: runs.length === 1 ? runs[0].run.id : `${runs.length} runs`,
    description: `draco train runs: ${runs.map((r) => r.dir).join(', ')}`,
    quick: false,
    targets: [],
    network: { bandwidthMBps: first.bandwidthMBps, latencyMs: first.latencyMs },
    runs: runs.map((r) => r.run),
  };
  const header = resultColumns([]);
  const rows: ReportRow[] = [];
  const table: CsvTable = { header, rows: [] };
  const curves = new Map<string, EvalPoint[]>();
  for (const { run, dir } of runs) {
    const row = resultRow(manifest, run, dir);
    const cells: Record<string, string> = {};
    for (const c of header) cells[c] = cellText(row[c as keyof ResultRow]);
    table.rows.push(header.map((c) => cells[c]));
    rows.push({ ...row, cells });
    curves.set(run.id, readEvalPoints(join(dir, 'metrics.jsonl')));
  }
  const notes =
    new Set(runs.map((r) => JSON.stringify([r.run.config.bandwidthMBps, r.run.config.latencyMs]))).size > 1
      ? [
          "The runs were given different network models (--bandwidth-mbps, --latency-ms); each run's modeled times use its own.",
        ]
      : [];
  return { dir: resolve(dirs[0]), manifest, results: table, rows, curves, notes };
}

function cellText(v: unknown): string {
  if (v === undefined || v === null || (typeof v === 'number' && !Number.isFinite(v))) return '';
  return typeof v === 'number' ? String(Math.round(v * 1e6) / 1e6) : String(v);
}
