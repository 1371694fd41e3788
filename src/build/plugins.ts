/**
 * Plugins: ES modules that add aggregation rules, pre-aggregators, attacks, models, datasets or
 * schemes by name, so a user's component is named in configs and flags like ours and reaches
 * worker processes (docs/plugins.md). A plugin's default export (or its export `register`) is
 * called once per process with the `PluginApi`; it needs no import of draco, so the module works
 * wherever it sits on disk. The PS loads `config.plugins`; a worker process loads only the
 * plugins on its own command line (`draco worker --plugin FILE`, passed by `--engine local`),
 * never files the PS names: a PS cannot make a worker run code it was not started with.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../core/errors.js';
import { aggregators, preAggregators } from '../aggregators/registry.js';
import type { AggregatorDef, PreAggregatorDef } from '../aggregators/types.js';
import { attacks } from '../attacks/registry.js';
import type { AttackDef } from '../attacks/types.js';
import { registerDataset, type LoadDatasetOptions } from '../data/registry.js';
import type { Dataset } from '../data/types.js';
import { registerModel } from '../models/registry.js';
import type { ModelDef } from '../models/types.js';
import { schemes, type SchemeDef } from '../schemes/registry.js';
import { partitioners } from '../data/partition/registry.js';
import type { PartitionerDef } from '../data/partition/types.js';

/** A dataset by name: `load` gets `--data-dir` and the run seed (`key` tells cached loads apart). */
export interface DatasetDef {
  readonly name: string;
  readonly description: string;
  load(opts: LoadDatasetOptions): Dataset;
  key?(opts: LoadDatasetOptions): string;
}

/** What a plugin's register function receives. Each call adds one component by its name. */
export interface PluginApi {
  registerAggregator(def: AggregatorDef): void;
  registerPreAggregator(def: PreAggregatorDef): void;
  registerAttack(def: AttackDef): void;
  registerModel(def: ModelDef): void;
  registerDataset(def: DatasetDef): void;
  registerScheme(def: SchemeDef & { readonly name: string }): void;
  registerPartitioner(def: PartitionerDef): void;
}

/** A plugin module's default export. */
export type DracoPlugin = (api: PluginApi) => void | Promise<void>;

/** Names appear in specs (`name:key=value,...`, `pre+rule`), so they avoid those characters. */
function checkName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
    throw new UsageError(
      `${kind} name ${JSON.stringify(name)} is not valid: use letters, digits, '-', '_' and '.'`,
    );
  return name;
}

function checkDef(kind: string, def: unknown, fns: string[]): { name: string } {
  if (def === null || typeof def !== 'object')
    throw new UsageError(`${kind}: expected an object, got ${typeof def}`);
  const d = def as Record<string, unknown>;
  const name = checkName(kind, d.name);
  for (const f of fns)
    if (typeof d[f] !== 'function') throw new UsageError(`${kind} '${name}': '${f}' must be a function`);
  if ('defaults' in d) {
    const ok =
      d.defaults !== null &&
      typeof d.defaults === 'object' &&
      Object.values(d.defaults).every((v) => typeof v === 'number');
    if (!ok) throw new UsageError(`${kind} '${name}': 'defaults' must map parameter names to numbers`);
  }
  return { name };
}

function add<T>(
  kind: string,
  table: { has(n: string): boolean; register(n: string, t: T): void },
  def: T,
  fns: string[],
): void {
  const { name } = checkDef(kind, def, fns);
  if (table.has(name)) throw new UsageError(`${kind} '${name}' is already registered`);
  table.register(name, def);
}

const withDefaults = <T extends { defaults?: unknown }>(def: T): T =>
  def.defaults === undefined ? { ...def, defaults: {} } : def;

/** Add an aggregation rule (`def.create(params)` builds it; see AggregatorDef). */
export function registerAggregator(def: AggregatorDef): void {
  add('aggregator', aggregators, withDefaults(def), ['create']);
}
export function registerPreAggregator(def: PreAggregatorDef): void {
  add('pre-aggregator', preAggregators, withDefaults(def), ['create']);
}
export function registerAttack(def: AttackDef): void {
  add('attack', attacks, withDefaults(def), ['create']);
}
export function registerPluginModel(def: ModelDef): void {
  const { name } = checkDef('model', def, ['create']);
  try {
    registerModel(def);
  } catch {
    throw new UsageError(`model '${name}' is already registered`);
  }
}
export function registerPluginDataset(def: DatasetDef): void {
  const { name } = checkDef('dataset', def, ['load']);
  try {
    registerDataset(name, def);
  } catch {
    throw new UsageError(`dataset '${name}' is already registered`);
  }
}
export function registerScheme(def: SchemeDef & { readonly name: string }): void {
  add('scheme', schemes, def, ['create']);
}

/** Add a partitioner (`--partition name:key=value`; `def.create(params)` builds it). */
export function registerPartitioner(def: PartitionerDef): void {
  add('partition', partitioners, withDefaults(def), ['create']);
}

export const pluginApi: PluginApi = Object.freeze({
  registerAggregator,
  registerPreAggregator,
  registerAttack,
  registerModel: registerPluginModel,
  registerDataset: registerPluginDataset,
  registerScheme,
  registerPartitioner,
});

/** Absolute paths of the plugins loaded into this process, in order. */
const loaded = new Map<string, Promise<void>>();

/**
 * Load each plugin file once per process (a second load of the same file is a no-op, so a run
 * and the next in one process share them). Any problem is one line naming the file.
 */
export async function loadPlugins(paths: readonly string[]): Promise<void> {
  for (const p of paths) {
    const abs = resolve(p);
    let done = loaded.get(abs);
    if (done === undefined) {
      done = loadOne(abs);
      loaded.set(abs, done);
      done.catch(() => loaded.delete(abs));
    }
    await done;
  }
}

async function loadOne(abs: string): Promise<void> {
  if (!existsSync(abs)) throw new UsageError(`plugin ${abs}: no such file`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new UsageError(`plugin ${abs} failed to load: ${msg}`);
  }
  const fn = typeof mod.default === 'function' ? mod.default : mod.register;
  if (typeof fn !== 'function')
    throw new UsageError(
      `plugin ${abs} exports no register function (export default (api) => { api.registerAttack(...) }; see docs/plugins.md)`,
    );
  try {
    await (fn as DracoPlugin)(pluginApi);
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new UsageError(`plugin ${abs}: ${msg}`);
  }
}

/** Absolute paths, as the config keeps them (so worker processes find the same files). */
export function absolutePlugins(paths: readonly string[]): string[] {
  return paths.map((p) => resolve(p));
}
