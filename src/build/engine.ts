/**
 * The engine a config names: `inprocess` (simulated), `local` (PS + n worker processes on this
 * machine) or `remote` (the PS binds the address of a cluster file; workers are started elsewhere
 * with `draco worker`). Process engines send workers the run's description (the resolved config);
 * each worker builds its model, data, scheme and attack from it (src/build/components.ts).
 */
import { UsageError } from '../core/errors.js';
import {
  InProcessEngine,
  LocalEngine,
  ProcessEngine,
  type Engine,
  type WorkerContext,
} from '../cluster/index.js';
import { readPsKeys, type PsKeys } from '../cluster/keys.js';
import { TaskPool } from '../cluster/task-pool.js';
import { contextFingerprint } from '../cluster/worker-step.js';
import { checkEndpoint } from '../cluster/protocol.js';
import { readConfigFile, type TrainConfig } from './config.js';

/** Threads of the in-process engine (src/build/train.ts threadPlan). */
export interface ThreadPlan {
  /** Threads computing tasks, the engine's own included (>= 2). */
  count: number;
  /** Start them before the first step (threads: N), or once the run is long enough (auto). */
  eager: boolean;
  /** What each thread builds the run from. */
  description: TrainConfig;
}

/** What a cluster file (`--cluster FILE`, YAML or JSON) holds. */
export interface ClusterSpec {
  /** Endpoint the PS binds, e.g. tcp://0.0.0.0:5555. */
  bind: string;
  /** The PS's keys (`key`: path of ps.key from `draco keys`). */
  keys: PsKeys;
  startupTimeoutMs: number;
}

/** Set by `draco ps --bind/--key`, which win over the cluster file. */
let overrides: { bind?: string; key?: string } = {};
export function setClusterOverrides(o: { bind?: string; key?: string }): void {
  overrides = o;
}

/** Longest a PS waits for its workers before the first step (the timer's limit is ~24.8 days). */
const MAX_STARTUP_MS = 7 * 24 * 3600 * 1000;

export function resolveCluster(config: TrainConfig): ClusterSpec {
  const file = config.cluster !== undefined ? readConfigFile(config.cluster) : {};
  const bind = overrides.bind ?? (typeof file.bind === 'string' ? file.bind : undefined);
  if (bind === undefined)
    throw new UsageError(
      'remote engine: no address to bind: give --cluster FILE holding `bind: tcp://0.0.0.0:5555` (draco train or ps), or --bind ADDR (draco ps)',
    );
  checkEndpoint(bind, 'bind address', true);
  if (file.secret !== undefined || file.secretFile !== undefined)
    throw new UsageError(
      'cluster secrets are gone: make per-worker keys with `draco keys --workers N --out DIR` and give the PS DIR/ps.key (key `key` or --key)',
    );
  const keyPath = overrides.key ?? (typeof file.key === 'string' ? file.key : undefined);
  if (keyPath === undefined)
    throw new UsageError(
      'remote engine: no PS key: give --cluster FILE holding `key: DIR/ps.key` (draco train or ps), or --key DIR/ps.key (draco ps); make keys with `draco keys`',
    );
  const t = file.startupTimeoutMs;
  if (t !== undefined && !(typeof t === 'number' && Number.isInteger(t) && t > 0 && t <= MAX_STARTUP_MS))
    throw new UsageError(`cluster file: startupTimeoutMs must be an integer from 1 to ${MAX_STARTUP_MS}`);
  return { bind, keys: readPsKeys(keyPath), startupTimeoutMs: (t as number | undefined) ?? 600_000 };
}

/**
 * Start the engine `config.engine` names. `ctx` is what the PS built (the in-process engine
 * computes with it); `description` is what process workers build theirs from.
 */
export async function createEngine(
  config: TrainConfig,
  ctx: WorkerContext,
  description: unknown = config,
  threads?: ThreadPlan,
): Promise<Engine> {
  if (config.engine === 'inprocess')
    return InProcessEngine.create(
      ctx,
      threads && {
        helpers: threads.count - 1,
        eager: threads.eager,
        totalSteps: config.steps,
        start: (helpers) =>
          TaskPool.start(
            new URL('./task-thread.js', import.meta.url),
            { description: threads.description },
            helpers,
            contextFingerprint(ctx),
          ),
        warn: (line) => process.stderr.write(`draco: ${line}\n`),
      },
    );
  const common = {
    description,
    scheme: ctx.scheme,
    numParams: ctx.model.numParams,
    stepDeadlineMs: config.stepDeadlineMs,
  };
  if (config.engine === 'local')
    return LocalEngine.start({ ...common, startupTimeoutMs: 300_000, plugins: config.plugins });
  const spec = resolveCluster(config);
  const e = new ProcessEngine({
    ...common,
    bind: spec.bind,
    keys: spec.keys,
    startupTimeoutMs: spec.startupTimeoutMs,
  });
  await e.bind();
  process.stderr.write(
    `draco ps: listening on ${e.endpoint} (CURVE, key set ${spec.keys.fingerprint}), waiting for ${ctx.scheme.n} workers\n`,
  );
  // While it waits, the operator sees who is in and what was turned away (a wrong key, say).
  let said = '';
  const status = setInterval(() => {
    const ready = e.readyRanks.length;
    const refused = [...e.rejectedTotals].map(([k, v]) => `${k} ${v}`).join(', ');
    // After a restart, workers of the old PS keep talking in their old sessions until they notice.
    const hint = e.rejectedTotals.has('not authenticated')
      ? ' (not authenticated: e.g. workers of a PS that restarted, about to authenticate again)'
      : '';
    const line = `draco ps: ${ready} of ${ctx.scheme.n} workers ready${refused ? `; refused so far: ${refused}${hint}` : ''}`;
    if (line !== said) process.stderr.write(line + '\n');
    said = line;
  }, 1000);
  try {
    await e.waitReady();
  } finally {
    clearInterval(status);
  }
  return e;
}
