/** Models by name, for the CLI and the experiment config. */
import { Registry } from '../core/registry.js';
import { fc } from './fc.js';
import { lenet } from './lenet.js';
import { mlp } from './mlp.js';
import type { ModelDef } from './types.js';

const models = new Registry<ModelDef>('model');
for (const m of [mlp, fc, lenet]) models.register(m.name, m);

/** The model called `name`; a UsageError naming the known models otherwise. */
export function getModelDef(name: string): ModelDef {
  return models.get(name);
}

/** Names of all registered models, in registration order. */
export function listModels(): string[] {
  return models.names();
}
