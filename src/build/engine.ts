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
import { contextFingerprint, TaskPool } from '../cluster/task-pool.js';
import { checkEndpoint } from '../cluster/protocol.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { packSamples, type PackedSamples } from '../cluster/samples.js';
import { VolunteerDesk, type Asset } from '../cluster/volunteers.js';
import { sampleSize } from '../data/batch.js';
import { hasModel, listModels } from '../models/registry.js';
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
  /** Endpoint the PS binds, e.g. tcp://0.0.0.0:5555 (absent: volunteers only). */
  bind?: string;
  /** The PS's keys (`key`: path of ps.key from `draco keys`). */
  keys?: PsKeys;
  startupTimeoutMs: number;
}

/** `draco ps --volunteers`: browser workers (src/cluster/volunteers.ts). */
export interface VolunteerSetup {
  /** The ranks open to volunteers, ascending. */
  ranks: number[] | 'all';
  host: string;
  port: number;
  /** Ranks one network address may hold at once (absent: no limit). */
  perAddress?: number;
  /** The page and its assets (src/browser/bundle.ts `volunteerAssets`). */
  assets: () => Promise<Map<string, Asset>>;
}

/** Set by `draco ps --bind/--key/--volunteers`, which win over the cluster file. */
let overrides: { bind?: string; key?: string; volunteers?: VolunteerSetup } = {};
export function setClusterOverrides(o: { bind?: string; key?: string; volunteers?: VolunteerSetup }): void {
  overrides = o;
}

/** Longest a PS waits for its workers before the first step (the timer's limit is ~24.8 days). */
const MAX_STARTUP_MS = 7 * 24 * 3600 * 1000;

export function resolveCluster(config: TrainConfig): ClusterSpec {
  const file = config.cluster !== undefined ? readConfigFile(config.cluster) : {};
  const bind = overrides.bind ?? (typeof file.bind === 'string' ? file.bind : undefined);
  const keyPath = overrides.key ?? (typeof file.key === 'string' ? file.key : undefined);
  const volunteersOnly = overrides.volunteers !== undefined && bind === undefined && keyPath === undefined;
  if (bind === undefined && !volunteersOnly)
    throw new UsageError(
      'remote engine: no address to bind: give --cluster FILE holding `bind: tcp://0.0.0.0:5555` (draco train or ps), or --bind ADDR (draco ps)',
    );
  if (bind !== undefined) checkEndpoint(bind, 'bind address', true);
  if (file.secret !== undefined || file.secretFile !== undefined)
    throw new UsageError(
      'cluster secrets are gone: make per-worker keys with `draco keys --workers N --out DIR` and give the PS DIR/ps.key (key `key` or --key)',
    );
  if (keyPath === undefined && !volunteersOnly)
    throw new UsageError(
      'remote engine: no PS key: give --cluster FILE holding `key: DIR/ps.key` (draco train or ps), or --key DIR/ps.key (draco ps); make keys with `draco keys`',
    );
  const t = file.startupTimeoutMs;
  if (t !== undefined && !(typeof t === 'number' && Number.isInteger(t) && t > 0 && t <= MAX_STARTUP_MS))
    throw new UsageError(`cluster file: startupTimeoutMs must be an integer from 1 to ${MAX_STARTUP_MS}`);
  return {
    bind,
    keys: keyPath === undefined ? undefined : readPsKeys(keyPath),
    startupTimeoutMs: (t as number | undefined) ?? 600_000,
  };
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
  const desk = overrides.volunteers && volunteerDesk(config, ctx, overrides.volunteers);
  const e = new ProcessEngine({
    ...common,
    bind: spec.bind ?? '',
    keys: spec.keys,
    startupTimeoutMs: spec.startupTimeoutMs,
    volunteers: desk?.desk,
    volunteerData: desk?.data,
  });
  await e.bind();
  if (spec.keys !== undefined)
    process.stderr.write(
      `draco ps: listening on ${e.endpoint} (CURVE, key set ${spec.keys.fingerprint}), waiting for ${ctx.scheme.n} workers\n`,
    );
  if (desk) {
    const d = desk.desk;
    d.log = (line) => process.stderr.write(`draco ps: ${line}\n`);
    process.stderr.write(
      `draco ps: volunteers (ranks ${rangesText(desk.ranks)}) join by opening ${d.joinLink}\n`,
    );
    for (const link of lanLinks(d)) process.stderr.write(`draco ps:   from another machine: ${link}\n`);
  }
  // While it waits, the operator sees who is in and what was turned away (a wrong key, say).
  let said = '';
  const report = () => {
    const ready = e.readyRanks.length;
    const refused = [...e.rejectedTotals].map(([k, v]) => `${k} ${v}`).join(', ');
    // After a restart, workers of the old PS keep talking in their old sessions until they notice.
    const hint = e.rejectedTotals.has('not authenticated')
      ? ' (not authenticated: e.g. workers of a PS that restarted, about to authenticate again)'
      : '';
    const vol = desk ? `, ${desk.desk.leasedRanks.length} of them volunteers` : '';
    const line = `draco ps: ${ready} of ${ctx.scheme.n} workers ready${vol}${refused ? `; refused so far: ${refused}${hint}` : ''}`;
    if (line !== said) process.stderr.write(line + '\n');
    said = line;
  };
  const status = setInterval(report, 1000);
  try {
    await e.waitReady();
  } finally {
    clearInterval(status);
    report(); // the last word before the first step: who is in, what was refused
  }
  return e;
}

/**
 * The volunteer desk of a `draco ps --volunteers` run, and the DATA each volunteer gets per step:
 * the samples of the partitions its rank is assigned, only those. Refuses (one line) what a
 * browser cannot run: a model that is not in the zoo, another backend than wasm, plugins, and
 * attacks that need more than a worker's own partitions.
 */
function volunteerDesk(
  config: TrainConfig,
  ctx: WorkerContext,
  v: VolunteerSetup,
): { desk: VolunteerDesk; data: (rank: number, step: number) => PackedSamples; ranks: number[] } {
  const n = ctx.scheme.n;
  if (!hasModel(config.model) || config.tfjsModel !== undefined)
    throw new UsageError(
      `--volunteers: browser workers build models of the zoo only (${listModels().join(', ')}), not '${config.model}'`,
    );
  if (config.backend !== 'wasm')
    throw new UsageError(
      `--volunteers: browser workers compute on tfjs-wasm; use --backend wasm (not ${config.backend})`,
    );
  if (config.plugins.length > 0)
    throw new UsageError(
      '--volunteers: a browser worker cannot load plugins; run plugin names with `draco worker`',
    );
  if (ctx.attack.omniscient || ctx.attack.adaptive)
    throw new UsageError(
      `--volunteers: attack '${config.attack}' needs every partition (or the PS's rule) at the Byzantine rank; a volunteer holds only its own partitions`,
    );
  const ranks = v.ranks === 'all' ? Array.from({ length: n }, (_, r) => r) : v.ranks;
  const bad = ranks.find((r) => r >= n);
  if (bad !== undefined)
    throw new UsageError(`--volunteers: rank ${bad} is not in the run (ranks 0..${n - 1})`);
  const ds = ctx.dataset;
  const desk = new VolunteerDesk({
    token: joinToken(config),
    workers: n,
    ranks,
    host: v.host,
    port: v.port,
    dataset: { name: ds.name, inputShape: ds.inputShape, numClasses: ds.numClasses },
    assets: v.assets,
    perAddress: v.perAddress,
    maxMessageBytes: ctx.scheme.messageLength * 8 + (1 << 16),
  });
  const size = sampleSize(ds);
  const data = (rank: number, step: number) => {
    const parts = [...new Set(ctx.scheme.assignment[rank])].sort((a, b) => a - b);
    return packSamples(
      ds.train,
      size,
      parts,
      parts.map((p) => ctx.schedule.partition(step, p)),
    );
  };
  return { desk, data, ranks };
}

/** Ranks as compact text: 0-2,5. */
function rangesText(ranks: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ranks.length;) {
    let j = i;
    while (j + 1 < ranks.length && ranks[j + 1] === ranks[j] + 1) j++;
    out.push(j === i ? `${ranks[i]}` : `${ranks[i]}-${ranks[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** The join link with this machine's network addresses, when the desk listens on all of them. */
function lanLinks(d: VolunteerDesk): string[] {
  if (!d.listensEverywhere) return [];
  const u = new URL(d.joinLink);
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => {
      u.hostname = a!.address;
      return u.toString();
    });
}

/** Where a run keeps its join token (mode 0600), so that `--resume` keeps the same link. */
export const TOKEN_FILE = 'volunteer-token';

/**
 * The run's join token: the checkpointed run's when resuming (the tabs of the crashed PS come back
 * to the same link), else a fresh one; kept in the output folder for a later `--resume` (also when
 * a run resumes into another folder).
 */
function joinToken(config: TrainConfig): string {
  const token = resumedToken(config.resume) ?? randomBytes(16).toString('base64url');
  if (config.out !== undefined) {
    mkdirSync(config.out, { recursive: true });
    writeFileSync(join(config.out, TOKEN_FILE), token + '\n', { mode: 0o600 });
  }
  return token;
}

function resumedToken(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  try {
    const t = readFileSync(join(dir, TOKEN_FILE), 'utf8').trim();
    return /^[A-Za-z0-9_-]{16,}$/.test(t) ? t : undefined;
  } catch {
    return undefined; // not a volunteer run before: a fresh token
  }
}
