/**
 * A study file (YAML or JSON) and its expansion into a grid of training runs.
 *
 *   name: draco-vs-median
 *   description: ...
 *   seeds: [1, 2, 3]                  # every grid point runs once per seed
 *   targets: [0.9, 0.95]              # "steps / modeled time to accuracy" columns
 *   reference: geomedian              # tables: speedup of every defense over this one
 *   network: {bandwidthMBps: 125, latencyMs: 0.1}
 *   base: {model: mlp, steps: 500}    # TrainConfig fields shared by every run
 *   grid:                             # the cartesian product of the axes
 *     defense:                        # an axis of mappings: each merges several fields
 *       - {scheme: repetition}
 *       - {scheme: uncoded, aggregator: geomedian, label: geometric median}
 *     attack: [reverse, constant]     # an axis named after a field: a list of its values
 *   exclude: [{scheme: cyclic, attack: constant}]   # drop runs whose config matches all fields
 *   aggregationCost: {rules: [mean, median], n: [15, 31, 63], d: 100000}
 *   quick: {seeds: [1], base: {steps: 60}, grid: {attack: [reverse]}}   # what --quick changes
 *
 * `quick` may override seeds, targets, network, aggregationCost, merge into base, and replace grid
 * axes by name. Every run's config is validated (and its scheme built) before anything runs.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { UsageError } from '../core/errors.js';
import { camelCase } from '../core/spec.js';
import { DEFAULT_NETWORK } from '../train/time-model.js';
import { buildScheme } from '../build/components.js';
import { placements } from '../attacks/placement.js';
import { parseAttack } from '../attacks/registry.js';
import { parsePartition } from '../data/partition/registry.js';
import { hasDataset, loadDataset } from '../data/registry.js';
import { getModelDef, hasModel } from '../models/registry.js';
import {
  formatIssues,
  isModelFile,
  readConfigFile,
  resolveConfig,
  TrainConfigSchema,
  type TrainConfig,
} from '../build/config.js';
import type { RunLabels, StudyManifest, StudyRun } from './results.js';

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const Partial = z.record(z.string(), z.unknown());
const Axis = z.array(z.union([Scalar, Partial])).min(1, 'an axis needs at least one value');
const Network = z
  .object({
    bandwidthMBps: z.number().positive().default(DEFAULT_NETWORK.bandwidthMBps),
    latencyMs: z.number().min(0).default(DEFAULT_NETWORK.latencyMs),
  })
  .strict();
const AggregationCost = z
  .object({
    rules: z.array(z.string()).min(1),
    n: z.array(z.number().int().min(1)).min(1),
    d: z.number().int().min(1).default(100000),
    runs: z.number().int().min(1).default(5),
  })
  .strict();

const StudyBody = {
  seeds: z.array(z.number().int().min(0)).min(1).optional(),
  targets: z.array(z.number().gt(0).max(1)).optional(),
  network: Network.optional(),
  base: Partial.optional(),
  grid: z.record(z.string(), Axis).optional(),
  aggregationCost: AggregationCost.optional(),
};

export const StudySchema = z
  .object({
    name: z.string().regex(/^[\w.-]+$/, 'letters, digits, ".", "_" and "-" only'),
    description: z.string().default(''),
    reference: z.string().optional(),
    ...StudyBody,
    exclude: z.array(Partial).optional(),
    quick: z.object(StudyBody).strict().optional(),
  })
  .strict();

export type StudyFile = z.infer<typeof StudySchema>;

/** Keys a grid mapping may hold besides TrainConfig fields. */
const LABEL_KEY = 'label';

/** Read, validate and expand a study file. */
export function loadStudy(path: string, quick: boolean): StudyManifest {
  const raw = readConfigFile(path);
  const r = StudySchema.safeParse(raw);
  if (!r.success) throw new UsageError(formatIssues(r.error, path));
  return expandStudy(r.data, quick, path);
}

/** The grid of runs of a (validated) study. */
export function expandStudy(study: StudyFile, quick: boolean, where = 'study'): StudyManifest {
  const q = quick ? study.quick : undefined;
  const seeds = q?.seeds ?? study.seeds ?? [1];
  const base = { ...study.base, ...q?.base };
  const grid: Record<string, unknown[]> = { ...study.grid, ...q?.grid };
  const network = Network.parse(q?.network ?? study.network ?? {});
  const targets = q?.targets ?? study.targets ?? [];
  const aggregationCost = q?.aggregationCost ?? study.aggregationCost;

  // Cartesian product of the axes (in file order), then seeds innermost.
  let points: { fields: Record<string, unknown>; label?: string }[] = [{ fields: { ...base } }];
  for (const [axis, values] of Object.entries(grid)) {
    const next: typeof points = [];
    for (const p of points) {
      for (const v of values) {
        if (v !== null && typeof v === 'object') {
          const { [LABEL_KEY]: label, ...fields } = v as Record<string, unknown>;
          if (label !== undefined && typeof label !== 'string')
            throw new UsageError(`${where}: grid.${axis}: "label" must be a string`);
          next.push({ fields: { ...p.fields, ...fields }, label: label ?? p.label });
        } else {
          next.push({ fields: { ...p.fields, [axis]: v }, label: p.label });
        }
      }
    }
    points = next;
  }

  const runs: StudyRun[] = [];
  const seen = new Set<string>();
  for (const p of points) {
    for (const seed of seeds) {
      const input = { ...p.fields, seed, ...network };
      for (const k of Object.keys(input)) {
        if (!(k in TrainConfigSchema.shape))
          throw new UsageError(`${where}: unknown training option "${k}" (see draco train --help)`);
        if (k === 'out' || k === 'resume')
          throw new UsageError(`${where}: "${k}" is set by draco experiment, not by the study`);
      }
      const config = resolveConfig(input, where);
      if (study.exclude?.some((e) => matches(config, e))) continue;
      checkBuildable(config, where);
      const labels = runLabels(config, p.label);
      const id = runId(labels, config);
      if (seen.has(id)) continue; // two axes produced the same run
      seen.add(id);
      runs.push({ id, labels, config });
    }
  }
  if (runs.length === 0) throw new UsageError(`${where}: the grid expands to no runs`);
  const manifest: StudyManifest = {
    name: study.name,
    description: study.description,
    quick,
    targets,
    network,
    runs,
  };
  if (aggregationCost) manifest.aggregationCost = aggregationCost;
  if (study.reference !== undefined) {
    if (!runs.some((r) => r.labels.defense === study.reference))
      throw new UsageError(
        `${where}: reference "${study.reference}" is not the defense of any run (defenses: ${[...new Set(runs.map((r) => r.labels.defense))].join(', ')})`,
      );
    manifest.reference = study.reference;
  }
  return manifest;
}

/**
 * `--only key=value[,key=value...]` filters (repeatable): a run is selected when it matches every
 * pair of some filter, comparing the run's resolved option `key` (camelCase or kebab-case) as text.
 */
export function runFilter(filters: readonly string[]): (run: StudyRun) => boolean {
  const parsed = filters.map((f) =>
    f.split(',').map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new UsageError(`--only ${f}: expected key=value[,key=value...], e.g. partition=iid`);
      const key = camelCase(pair.slice(0, at).trim());
      if (!(key in TrainConfigSchema.shape))
        throw new UsageError(`--only ${f}: unknown training option "${pair.slice(0, at).trim()}"`);
      return [key, pair.slice(at + 1).trim()] as const;
    }),
  );
  return (run) =>
    parsed.length === 0 ||
    parsed.some((pairs) => pairs.every(([k, v]) => String((run.config as Record<string, unknown>)[k]) === v));
}

function matches(config: TrainConfig, pattern: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(
    ([k, v]) => JSON.stringify((config as Record<string, unknown>)[k]) === JSON.stringify(v),
  );
}

/**
 * Build the scheme and parse every name once, so that a bad combination or a typo in any run of
 * the grid fails before hours of other runs. Names a plugin provides are checked when the run
 * loads its plugins (they are not loaded yet here).
 */
function checkBuildable(config: TrainConfig, where: string): void {
  try {
    if (config.plugins.length === 0) {
      parseAttack(config.attack);
      parsePartition(config.partition);
      placements.get(config.placement);
      if (!hasDataset(config.dataset)) loadDataset(config.dataset); // the UsageError listing the names
      if (!isModelFile(config.model) && !hasModel(config.model)) getModelDef(config.model);
    }
    buildScheme(config, 64, 'ps');
  } catch (e) {
    if (e instanceof UsageError) {
      throw new UsageError(
        `${where}: run ${config.scheme} n=${config.workers} s=${config.byzantine} is invalid: ${e.message}`,
      );
    }
    throw e;
  }
}

/** The defense a run stands for, as tables and charts name it. */
export function defenseLabel(c: TrainConfig): string {
  const pre = c.preAggregator ? `${c.preAggregator}+` : '';
  switch (c.scheme) {
    case 'uncoded':
      return c.aggregator === 'sign-majority' ? 'signum' : `${pre}${c.aggregator}`;
    case 'solon':
      return `solon m=${c.compression}`;
    case 'detox':
      return c.detoxMode === 'rule' ? `detox/${pre}${c.aggregator}` : `detox/${c.detoxMode}`;
    default:
      return c.scheme;
  }
}

/** The labels tables and charts name a run by (`label`: the study's name for its defense). */
export function runLabels(c: TrainConfig, label: string | undefined): RunLabels {
  const s = c.byzantine;
  const m = c.scheme === 'solon' ? c.compression : 1;
  const defaultR: Record<string, number> = {
    repetition: 2 * s + 1,
    verify: s + 1,
    cyclic: 2 * s + 1,
    solon: 2 * s + m,
    detox: 3,
  };
  return {
    defense: label ?? defenseLabel(c),
    scheme: c.scheme,
    aggregator: c.scheme === 'uncoded' || c.scheme === 'detox' ? c.aggregator : '',
    attack: s === 0 ? 'none' : c.attack,
    placement: c.placement,
    partition: c.partition,
    n: c.workers,
    s,
    r: c.redundancy ?? defaultR[c.scheme] ?? 1,
    m,
    seed: c.seed,
  };
}

/**
 * Readable and stable: the labels, then 8 hex digits of the whole config, so that editing any
 * setting of a run gives it a new id (and a resumed study never reuses a stale result).
 */
function runId(l: RunLabels, config: TrainConfig): string {
  const slug = [
    l.defense,
    l.attack,
    l.placement,
    ...(l.partition === 'iid' ? [] : [l.partition]),
    `n${l.n}-s${l.s}`,
    `seed${l.seed}`,
  ]
    .join('__')
    .replace(/[^\w.=-]+/g, '-');
  const hash = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 8);
  return `${slug}__${hash}`;
}
