/** Models by name, for the CLI and the experiment config. */
import { Registry } from '../core/registry.js';
import { cnn } from './cnn.js';
import { fc } from './fc.js';
import { lenet } from './lenet.js';
import { mlp } from './mlp.js';
import { resnet20 } from './resnet20.js';
import { resnet8 } from './resnet8.js';
import type { ModelDef } from './types.js';

const models = new Registry<ModelDef>('model');
for (const m of [mlp, fc, lenet, cnn, resnet8, resnet20]) models.register(m.name, m);

/** The model called `name`; a UsageError naming the known models otherwise. */
export function getModelDef(name: string): ModelDef {
  return models.get(name);
}

/** Names of all registered models, in registration order. */
export function listModels(): string[] {
  return models.names();
}

/** Add a model by its `name` (plugins); a name already taken is an error. */
export function registerModel(def: ModelDef): void {
  models.register(def.name, def);
}

/** True if `name` is a registered model. */
export function hasModel(name: string): boolean {
  return models.has(name);
}
