/**
 * `--export-model DIR`: the trained model in a form other tools load. A tfjs model is written in
 * tfjs Layers format (model.json + weights.bin; `tf.loadLayersModel` reads it). Zoo models are
 * draco's own networks, not tfjs layers: they export params.npy (the flat float32 parameters)
 * and layout.json (each tensor's name and shape, in the vector's order).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { ioReason, writeAtomic } from '../core/files.js';
import { encodeNpy } from '../core/npy.js';
import { saveLayersModel } from '../models/tfjs-files.js';
import type { TrainableModel } from '../models/types.js';

const FILES = ['model.json', 'weights.bin', 'params.npy', 'layout.json'];

/**
 * Refuse a folder that already holds an exported model (say, the model.json the run started from):
 * nothing the user wrote is overwritten. Checked before training, so no run is lost to it.
 */
export function checkExportTarget(dir: string): void {
  const taken = FILES.filter((f) => existsSync(join(dir, f)));
  if (taken.length > 0)
    throw new UsageError(
      `--export-model ${dir} already holds ${taken.join(', ')}; give a new folder (nothing is overwritten)`,
    );
}

export async function exportModel(model: TrainableModel, dir: string): Promise<void> {
  checkExportTarget(dir);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`--export-model ${dir}: cannot create the folder: ${ioReason(e)}`);
  }
  const lm = (model as { layersModel?: Parameters<typeof saveLayersModel>[0] }).layersModel;
  if (lm !== undefined) {
    await saveLayersModel(lm, dir);
    return;
  }
  const params = model.getParams();
  writeAtomic(join(dir, 'params.npy'), [encodeNpy(params)]);
  const layout = model.layout?.() ?? [{ name: model.name, shape: [model.numParams] }];
  const json = JSON.stringify({ model: model.name, numParams: model.numParams, tensors: layout }, null, 2);
  writeAtomic(join(dir, 'layout.json'), [Buffer.from(json + '\n')]);
}
