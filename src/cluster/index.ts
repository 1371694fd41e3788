/**
 * Build the engine the config names: `inprocess` (simulated), `local` (PS + n worker processes on
 * this machine) or `remote` (PS binds the address of a cluster file; workers started elsewhere
 * with `draco worker`).
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { readConfigFile, type TrainConfig } from '../experiment/config.js';
import { InProcessEngine } from './inprocess.js';
import { LocalEngine } from './local.js';
import { ProcessEngine } from './process-engine.js';
import { parseSecret } from './protocol.js';
import type { Engine } from './types.js';
import type { WorkerContext } from './worker-step.js';

/** What the PS built for the run (src/cluster/worker-step.ts). */
export type EngineContext = WorkerContext;

/** What a cluster file (`--cluster FILE`, YAML or JSON) holds. */
export interface ClusterSpec {
  /** Endpoint the PS binds, e.g. tcp://0.0.0.0:5555. */
  bind: string;
  /** The cluster secret (64 hex digits); or `secretFile`; or env DRACO_CLUSTER_SECRET. */
  secret: Buffer;
  startupTimeoutMs: number;
}

/** Set by `draco ps --bind/--secret-file`, which win over the cluster file. */
let overrides: { bind?: string; secretFile?: string } = {};
export function setClusterOverrides(o: { bind?: string; secretFile?: string }): void {
  overrides = o;
}

export function readSecretFile(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read secret file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
  return parseSecret(text);
}

/** The cluster secret from a file, else the environment. */
export function secretFrom(file: string | undefined): Buffer {
  if (file !== undefined) return readSecretFile(file);
  const env = process.env.DRACO_CLUSTER_SECRET;
  if (env === undefined || env === '')
    throw new UsageError('no cluster secret: set DRACO_CLUSTER_SECRET (64 hex digits) or give a secret file');
  return parseSecret(env);
}

export function resolveCluster(config: TrainConfig): ClusterSpec {
  const file = config.cluster !== undefined ? readConfigFile(config.cluster) : {};
  const bind = overrides.bind ?? (typeof file.bind === 'string' ? file.bind : undefined);
  if (bind === undefined)
    throw new UsageError('remote engine: no bind address (cluster file key `bind` or --bind)');
  const secretFile =
    overrides.secretFile ?? (typeof file.secretFile === 'string' ? file.secretFile : undefined);
  const secret =
    secretFile === undefined && typeof file.secret === 'string'
      ? parseSecret(file.secret)
      : secretFrom(secretFile);
  const t = file.startupTimeoutMs;
  return { bind, secret, startupTimeoutMs: typeof t === 'number' && t > 0 ? t : 600_000 };
}

export async function createEngine(config: TrainConfig, ctx: EngineContext): Promise<Engine> {
  if (config.engine === 'inprocess') return new InProcessEngine(ctx);
  const common = {
    config,
    scheme: ctx.scheme,
    numParams: ctx.model.numParams,
    stepDeadlineMs: config.stepDeadlineMs,
  };
  if (config.engine === 'local') return LocalEngine.start({ ...common, startupTimeoutMs: 300_000 });
  const spec = resolveCluster(config);
  const e = new ProcessEngine({
    ...common,
    bind: spec.bind,
    secret: spec.secret,
    startupTimeoutMs: spec.startupTimeoutMs,
  });
  await e.bind();
  process.stderr.write(`draco ps: listening on ${e.endpoint}, waiting for ${ctx.scheme.n} workers\n`);
  await e.waitReady();
  return e;
}

export { LocalEngine } from './local.js';
export { ProcessEngine } from './process-engine.js';
