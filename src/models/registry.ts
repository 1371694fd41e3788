/** Models by name, for the CLI and the experiment config. */
import { UsageError } from '../core/errors.js';
import { fc } from './fc.js';
import { lenet } from './lenet.js';
import { mlp } from './mlp.js';
import type { ModelDef } from './types.js';

const MODELS: ReadonlyMap<string, ModelDef> = new Map([mlp, fc, lenet].map((m) => [m.name, m]));

/** The model called `name`; a UsageError naming the known models otherwise. */
export function getModelDef(name: string): ModelDef {
  const def = MODELS.get(name);
  if (def == null) throw new UsageError(`unknown model '${name}' (known: ${listModels().join(', ')})`);
  return def;
}

/** Names of all registered models, in registration order. */
export function listModels(): string[] {
  return [...MODELS.keys()];
}
