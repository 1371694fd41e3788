/**
 * tfjs Layers models on disk: a `model.json` (topology + weights manifest) and its binary weight
 * shards, the format `model.save` writes and the tfjs converter emits for Keras models. Read
 * and written with node:fs, since tfjs's own file:// handlers need tfjs-node, which draco does
 * not use. Every problem with a file is a one-line UsageError naming it.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import { ioReason, writeAtomic } from '../core/files.js';
import { firstLine } from './tfjs.js';

/** Bytes per stored value, by dtype (a quantized weight is stored in its quantization dtype). */
const BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function readOrFail(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${what}: ${ioReason(e)}`);
  }
}

/** The stored size of one manifest entry in bytes, or a problem. */
function entryBytes(entry: unknown): number | string {
  if (!isObject(entry) || typeof entry.name !== 'string') return 'a weight entry has no name';
  const { name, shape, dtype, quantization } = entry;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    return `weight ${name} has a bad shape`;
  }
  const stored = isObject(quantization) ? quantization.dtype : dtype;
  const per = typeof stored === 'string' && Object.hasOwn(BYTES, stored) ? BYTES[stored] : undefined;
  if (per === undefined) return `weight ${name} has unsupported dtype ${JSON.stringify(stored)}`;
  return (shape as number[]).reduce((a, b) => a * b, per);
}

/**
 * Load a tfjs Layers model from `path` (a model.json) and the weight shards its `weightsManifest`
 * lists, relative to the model.json's folder. Without a manifest the model keeps its
 * initializers' weights. The model.json's training config is ignored: draco brings its own loss
 * and optimizer. A UsageError naming the file for: an unreadable or missing file, text that is
 * not JSON, a graph model or anything else that is not a Layers model, a missing shard, shards
 * whose size does not match the manifest, weights that do not fit the topology.
 */
export async function loadLayersModelFile(path: string): Promise<tf.LayersModel> {
  const text = readOrFail(path, path).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${path} is not JSON: ${firstLine(e)}`);
  }
  if (!isObject(json)) throw new UsageError(`${path} is not a tfjs model.json: not a JSON object`);
  const topology = json.modelTopology;
  if (json.format === 'graph-model' || (isObject(topology) && 'node' in topology)) {
    throw new UsageError(
      `${path} is a tfjs graph model, not a Layers model: draco trains Layers models (tf.layers, or the converter's tfjs_layers_model format)`,
    );
  }
  if (!isObject(topology)) throw new UsageError(`${path} is not a tfjs Layers model.json: no modelTopology`);
  if (json.format !== undefined && json.format !== 'layers-model') {
    throw new UsageError(`${path} has format ${JSON.stringify(json.format)}, not a tfjs Layers model`);
  }
  if (typeof topology.class_name !== 'string' && !isObject(topology.model_config)) {
    throw new UsageError(`${path} is not a tfjs Layers model.json: its modelTopology has no class_name`);
  }

  const specs: tf.io.WeightsManifestEntry[] = [];
  const shards: Buffer[] = [];
  const manifest = json.weightsManifest;
  if (manifest != null) {
    if (!Array.isArray(manifest)) throw new UsageError(`${path}: weightsManifest is not a list`);
    const dir = dirname(path);
    manifest.forEach((group: unknown, g) => {
      const where = `${path}: weightsManifest group ${g + 1}`;
      if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
        throw new UsageError(`${where} has no paths or weights list`);
      }
      if (!group.paths.every((p) => typeof p === 'string')) {
        throw new UsageError(`${where} has a path that is not a string`);
      }
      let expected = 0;
      for (const entry of group.weights) {
        const bytes = entryBytes(entry);
        if (typeof bytes === 'string') throw new UsageError(`${where}: ${bytes}`);
        expected += bytes;
      }
      const paths = group.paths as string[];
      let got = 0;
      for (const p of paths) {
        const b = readOrFail(resolve(dir, p), `weight shard ${p} of ${path}`);
        got += b.length;
        shards.push(b);
      }
      if (got !== expected) {
        throw new UsageError(
          `${where}: shards ${paths.join(', ')} hold ${got} bytes, its ${group.weights.length} weights need ${expected}`,
        );
      }
      specs.push(...(group.weights as tf.io.WeightsManifestEntry[]));
    });
  }

  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: topology,
    format: typeof json.format === 'string' ? json.format : undefined,
    generatedBy: typeof json.generatedBy === 'string' ? json.generatedBy : undefined,
    convertedBy: typeof json.convertedBy === 'string' ? json.convertedBy : undefined,
  };
  if (specs.length > 0) {
    const all = Buffer.concat(shards);
    artifacts.weightSpecs = specs;
    // A copy: a Buffer may be a view into Node's shared pool.
    artifacts.weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  }
  const handler: tf.io.IOHandler = { load: async () => artifacts };
  try {
    return await tf.loadLayersModel(handler);
  } catch (e) {
    throw new UsageError(`${path}: cannot build the tfjs Layers model: ${firstLine(e)}`);
  }
}

/**
 * Save `model` into folder `dir` (created if missing) as `model.json` + `weights.bin`, the
 * layout tfjs's own file saver uses: one weights group, one shard, all weights (trainable and
 * not) in tfjs's order. Each file is replaced atomically, the weights first, so a model.json on
 * disk never points at weights that are not there yet. A UsageError if a file cannot be written.
 */
export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<void> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (saved === undefined) throw new Error('tfjs model.save did not call the save handler');
  const { weightData, weightSpecs, getWeightStream: _stream, ...rest } = saved;
  const weights = new Uint8Array(
    weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(weightData),
  );
  const modelJson = { ...rest, weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs ?? [] }] };
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot create ${dir}: ${ioReason(e)}`);
  }
  writeAtomic(join(dir, 'weights.bin'), [weights]);
  writeAtomic(join(dir, 'model.json'), [Buffer.from(JSON.stringify(modelJson), 'utf8')]);
}
