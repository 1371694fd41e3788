/**
 * The training configuration: one zod schema gives validation, defaults and the error messages
 * for both `--config FILE` (YAML or JSON) and command-line flags (flags override the file).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UsageError } from '../core/errors.js';
import { getModelDef, hasModel, listModels } from '../models/registry.js';
import { GENERIC_LR } from '../models/types.js';

/**
 * Bounds of the numeric options. Beyond them a value is a mistake or breaks something underneath:
 * steps travel as u32 on the wire, a timer longer than 2^31 - 1 ms fires at once, and no cluster
 * has more workers than a rank table holds.
 */
export /** Most threads the in-process engine runs (each holds a model and the dataset). */
const MAX_THREADS = 256;
const MAX_WORKERS = 65_536;
export const MAX_STEPS = 1_000_000_000;
/** A day: longer than any step should wait for a straggler. */
export const MAX_DEADLINE_MS = 86_400_000;

/** The zoo's default learning rates for help texts: `mlp 0.3, fc 0.1, ..., other models 0.05`. */
function zooLrs(): string {
  const byLr = new Map<number, string[]>();
  for (const name of listModels()) {
    const lr = getModelDef(name).defaultLr ?? GENERIC_LR;
    byLr.set(lr, [...(byLr.get(lr) ?? []), name]);
  }
  return [...[...byLr].map(([lr, names]) => `${names.join(', ')} ${lr}`), `other models ${GENERIC_LR}`].join(
    '; ',
  );
}

export const TrainConfigSchema = z
  .object({
    model: z
      .string()
      .min(1)
      .default('mlp')
      .describe(
        'zoo model (mlp, fc, lenet, cnn, resnet8, resnet20), a plugin model, or a tfjs Layers model.json path',
      ),
    tfjsModel: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'a tfjs model description (topology, output reading, non-trainable weights), set for worker processes and for models built in code; `model` is then its label',
      ),
    dataset: z
      .string()
      .min(1)
      .default('mnist')
      .describe('mnist (embedded), fashion-mnist, idx, cifar10, npy, csv, synthetic, or a plugin dataset'),
    dataDir: z
      .string()
      .optional()
      .describe('folder with the dataset files (idx, cifar10, fashion-mnist, npy, csv)'),
    partition: z
      .string()
      .min(1)
      .default('iid')
      .describe(
        'how the training set is laid out over the partitions: iid (a fresh global batch each step), dirichlet:alpha=A or shards:k=K (each partition keeps its own shard; docs/data.md)',
      ),
    plugins: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'ES module files that register aggregators, attacks, models, datasets, partitioners or schemes (docs/plugins.md)',
      ),
    workers: z.number().int().min(1).max(MAX_WORKERS).default(15).describe('number of workers n'),
    byzantine: z.number().int().min(0).max(MAX_WORKERS).default(2).describe('number of Byzantine workers s'),
    scheme: z
      .string()
      .default('repetition')
      .describe('repetition, verify, cyclic, solon, detox or uncoded (see draco list)'),
    redundancy: z
      .number()
      .int()
      .min(1)
      .max(MAX_WORKERS)
      .optional()
      .describe('compute load r (repetition, cyclic: 2s + 1; verify: s + 1; solon: 2s + m; detox: 3)'),
    aggregator: z
      .string()
      .default('mean')
      .describe('aggregation rule name[:key=value,...] (uncoded; detox mode "rule")'),
    preAggregator: z
      .string()
      .optional()
      .describe('pre-aggregator(s) applied before the rule, e.g. bucketing:b=2 or nnm (chain with +)'),
    detoxMode: z
      .enum(['median-of-means', 'multi-krum', 'bulyan', 'rule'])
      .default('median-of-means')
      .describe('detox: hierarchical aggregation over the group outputs'),
    detoxBuckets: z
      .number()
      .int()
      .min(1)
      .max(MAX_WORKERS)
      .optional()
      .describe('detox: number of buckets (median-of-means, multi-krum)'),
    compression: z
      .number()
      .int()
      .min(1)
      .max(MAX_WORKERS)
      .default(1)
      .describe('solon: message length d/m (m = compression)'),
    messageDtype: z
      .enum(['float64', 'float32', 'float64x2'])
      .default('float64')
      .describe(
        'cyclic/solon: message numbers (float32 loses precision; float64x2 = high + low float64, 2x the bytes, exact under clustered erasures)',
      ),
    attack: z.string().default('reverse').describe('attack spec name[:key=value,...], e.g. reverse:c=100'),
    placement: z
      .string()
      .default('random')
      .describe('fixed, random (fresh Byzantine set every step) or worst (capture the most groups)'),
    ban: z
      .enum(['auto', 'on', 'off'])
      .default('auto')
      .describe(
        'verify: ignore a proven liar from the next step on (auto: on for fixed and worst placements, off for random, where a liar may be honest later)',
      ),
    noMajority: z
      .enum(['skip', 'abort'])
      .default('skip')
      .describe('repetition, detox: an undecodable group is skipped, or the step is aborted'),
    batch: z
      .number()
      .int()
      .min(1)
      .max(100_000_000)
      .default(480)
      .describe('global batch size (all workers together)'),
    lr: z
      .number()
      .positive()
      .max(1e4)
      .optional()
      .describe(`learning rate (peak, for schedules); default: the model's (${zooLrs()})`),
    lrSchedule: z.enum(['constant', 'step', 'cosine']).default('cosine').describe('learning-rate schedule'),
    lrStepEvery: z
      .number()
      .int()
      .min(1)
      .max(MAX_STEPS)
      .default(1000)
      .describe('step schedule: decay every this many steps'),
    lrGamma: z.number().positive().max(1e4).default(0.1).describe('step schedule: decay factor'),
    momentum: z.number().min(0).lt(1).default(0.9).describe('SGD momentum'),
    weightDecay: z.number().min(0).max(1e4).default(0).describe('L2 weight decay'),
    steps: z.number().int().min(1).max(MAX_STEPS).default(750).describe('training steps'),
    evalEvery: z
      .number()
      .int()
      .min(0)
      .max(MAX_STEPS)
      .default(125)
      .describe('evaluate on the test set every k steps (0: only at the end)'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .default(1)
      .describe('seed for init, batches, placement and attack noise'),
    backend: z.enum(['wasm', 'cpu']).default('wasm').describe('tfjs backend'),
    out: z.string().optional().describe('folder for metrics.jsonl, summary.json, params.npy'),
    exportModel: z
      .string()
      .optional()
      .describe('write the final model here (tfjs models: Layers format; zoo: params.npy + layout.json)'),
    engine: z
      .enum(['inprocess', 'local', 'remote'])
      .default('inprocess')
      .describe('inprocess (simulated), local (worker processes), remote (--cluster FILE)'),
    threads: z
      .preprocess(
        (v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
        z.union([z.literal('auto'), z.number().int().min(1).max(MAX_THREADS)], {
          error: `expected 'auto' or an integer from 1 to ${MAX_THREADS}`,
        }),
      )
      .default('auto')
      .describe(
        "in-process engine: threads computing the step's distinct worker tasks, this one included (auto: the cores, once the run is long enough to repay starting them)",
      ),
    cluster: z
      .string()
      .optional()
      .describe('remote engine: YAML/JSON file with bind and key (the PS key from draco keys)'),
    stepDeadlineMs: z
      .number()
      .int()
      .min(1)
      .max(MAX_DEADLINE_MS)
      .default(60000)
      .describe('process engines: a message later than this is an erasure'),
    checkpointEvery: z
      .number()
      .int()
      .min(0)
      .max(MAX_STEPS)
      .default(0)
      .describe('write DIR/checkpoint.bin every k steps (needs --out; 0: never)'),
    bandwidthMBps: z
      .number()
      .positive()
      .max(1e9)
      .default(125)
      .describe("time model: bandwidth of the PS's link in MB/s (125 = 1 Gbit/s); MODELED, see docs"),
    latencyMs: z
      .number()
      .min(0)
      .max(MAX_DEADLINE_MS)
      .default(0.1)
      .describe('time model: one-way network latency in ms'),
    resume: z.string().optional().describe('continue the run checkpointed in this folder'),
  })
  .strict();

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** One line per problem, `field: message`, for a UsageError. */
export function formatIssues(
  error: z.ZodError,
  where: string,
  label: (key: string) => string = (k) => k,
): string {
  return error.issues
    .map((i) => {
      const path = i.path.map(String).map(label).join('.') || '(top level)';
      return `${where}: ${path}: ${i.message}`;
    })
    .join('; ');
}

/** Validate a (partial) config object and fill in the defaults. */
export function resolveConfig(
  input: unknown,
  where = 'config',
  label?: (key: string) => string,
): TrainConfig {
  const r = TrainConfigSchema.safeParse(input);
  if (!r.success) throw new UsageError(formatIssues(r.error, where, label));
  const lr = r.data.lr ?? modelLr(r.data);
  return lr === undefined ? r.data : { ...r.data, lr };
}

/** `model` names a tfjs Layers file rather than a registered model. */
export function isModelFile(model: string): boolean {
  return model.endsWith('.json');
}

/**
 * The default learning rate of the config's model: the zoo's or a plugin's `defaultLr`, GENERIC_LR
 * for a tfjs model file or description; undefined while the name is unknown (a plugin not yet
 * loaded).
 */
export function modelLr(config: Pick<TrainConfig, 'model' | 'tfjsModel'>): number | undefined {
  if (config.tfjsModel !== undefined || isModelFile(config.model)) return GENERIC_LR;
  return hasModel(config.model) ? (getModelDef(config.model).defaultLr ?? GENERIC_LR) : undefined;
}

/**
 * `config` with its learning rate settled: given, the model's default, or GENERIC_LR for a model
 * no registry knows (a TrainableModel object). Call once the plugins are loaded.
 */
export function withModelLr(config: TrainConfig): TrainConfig & { lr: number } {
  return { ...config, lr: config.lr ?? modelLr(config) ?? GENERIC_LR };
}

/** Read a YAML or JSON config file (YAML is a superset of JSON) into a plain object. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    throw new UsageError(
      `config file ${path} is not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new UsageError(`config file ${path} must hold a mapping of option names to values`);
  }
  return data as Record<string, unknown>;
}

/** Whether the run's PS applies the config's aggregation rule (and pre-aggregators). */
export const usesRule = (c: Pick<TrainConfig, 'scheme' | 'detoxMode'>): boolean =>
  c.scheme === 'uncoded' || (c.scheme === 'detox' && c.detoxMode === 'rule');

/** Which built-in schemes read each scheme-specific option (plugin schemes are not checked). */
const USED_BY: Partial<Record<keyof TrainConfig, (c: TrainConfig) => boolean>> = {
  aggregator: usesRule,
  preAggregator: usesRule,
  detoxMode: (c) => c.scheme === 'detox',
  detoxBuckets: (c) => c.scheme === 'detox',
  compression: (c) => c.scheme === 'solon',
  messageDtype: (c) => c.scheme === 'cyclic' || c.scheme === 'solon',
  noMajority: (c) => c.scheme === 'repetition' || c.scheme === 'detox',
  redundancy: (c) => c.scheme !== 'uncoded',
  ban: (c) => c.scheme === 'verify',
};
const WHO: Partial<Record<keyof TrainConfig, string>> = {
  aggregator: 'uncoded, and detox with detoxMode rule',
  preAggregator: 'uncoded, and detox with detoxMode rule',
  detoxMode: 'detox',
  detoxBuckets: 'detox',
  compression: 'solon',
  messageDtype: 'cyclic and solon',
  noMajority: 'repetition and detox',
  redundancy: 'repetition, verify, cyclic, solon and detox',
  ban: 'verify',
};
const BUILT_IN = new Set(['uncoded', 'repetition', 'verify', 'cyclic', 'solon', 'detox']);

/**
 * An option the user gave that the chosen scheme would ignore (`--aggregator median` with the
 * repetition code), as one line, or null. `given`: the keys the user set; `label` names them.
 */
export function inapplicable(
  given: Iterable<string>,
  config: TrainConfig,
  label: (key: string) => string = (k) => k,
): string | null {
  if (!BUILT_IN.has(config.scheme)) return null;
  const defaults = TrainConfigSchema.parse({}) as Record<string, unknown>;
  for (const k of given) {
    const used = USED_BY[k as keyof TrainConfig];
    // A default value changes nothing (a saved, fully resolved config holds every key).
    const value = (config as Record<string, unknown>)[k];
    if (JSON.stringify(value) === JSON.stringify(defaults[k])) continue;
    if (used !== undefined && !used(config))
      return `${label(k)} does not apply to scheme ${config.scheme} (it is read by ${WHO[k as keyof TrainConfig]})`;
  }
  return null;
}
