/**
 * A user's tfjs model from a file, on a user's npy data, from the CLI: exact under the repetition
 * code (2 Byzantine workers give the adversary-free model, in-process and on worker processes),
 * and exported back in tfjs Layers format.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { decodeNpy, writeNpy } from '../../src/core/npy.js';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/models/backend.js';
import { loadLayersModelFile, saveLayersModel } from '../../src/models/tfjs-files.js';
import * as tf from '@tensorflow/tfjs';
import { BIN } from '../cluster/procs.js';
import { tempDir } from '../tmp.js';

const tmp = tempDir('draco-model-file-');
const modelDir = join(tmp, 'model');
const dataDir = join(tmp, 'data');

function draco(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sha(out: string): string {
  return (JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { paramsSha256: string })
    .paramsSha256;
}

/** 4x4 single-channel "images" of 3 classes: the class sets which quadrant is bright. */
function writeData(): void {
  const rng = Rng.derive(5, 'test-data');
  const split = (n: number, name: string) => {
    const x = new Float32Array(n * 16);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = rng.int(3);
      y[i] = c;
      for (let p = 0; p < 16; p++) {
        const row = p >> 2;
        const col = p & 3;
        const quadrant = (row < 2 ? 0 : 1) + (col < 2 ? 0 : 1);
        x[i * 16 + p] = 0.3 * rng.normal() + (quadrant === c ? 1 : 0);
      }
    }
    writeNpy(join(dataDir, `x_${name}.npy`), x, [n, 4, 4, 1]);
    writeNpy(join(dataDir, `y_${name}.npy`), y, [n]);
  };
  split(300, 'train');
  split(90, 'test');
}

before(async () => {
  await initBackend('wasm');
  const model = tf.sequential({
    name: 'quadrants',
    layers: [
      tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 4, kernelSize: 2, activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  await saveLayersModel(model, modelDir);
  model.dispose();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dataDir, { recursive: true });
  writeData();
});

const RUN = (out: string, byz: number, ...more: string[]) => [
  'train',
  '--model',
  join(modelDir, 'model.json'),
  '--dataset',
  'npy',
  '--data-dir',
  dataDir,
  '--scheme',
  'repetition',
  '--workers',
  '5',
  '--redundancy',
  '5',
  '--byzantine',
  String(byz),
  '--attack',
  'reverse:c=100',
  '--batch',
  '50',
  '--steps',
  '40',
  '--lr',
  '0.3',
  '--eval-every',
  '0',
  '--quiet',
  '--out',
  out,
  ...more,
];

describe('draco train --model model.json --dataset npy', () => {
  test('2 Byzantine workers give the model of --byzantine 0, in-process and with --engine local', () => {
    const clean = join(tmp, 'clean');
    let r = draco(RUN(clean, 0));
    assert.equal(r.code, 0, r.stderr);
    const attacked = join(tmp, 'attacked');
    r = draco(RUN(attacked, 2, '--export-model', join(tmp, 'exported')));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha(attacked), sha(clean));
    const local = join(tmp, 'local');
    r = draco(RUN(local, 2, '--engine', 'local'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha(local), sha(clean));
    const s = JSON.parse(readFileSync(join(attacked, 'summary.json'), 'utf8')) as {
      finalTestAccuracy: number;
      totalByzantineSlots: number;
      numParams: number;
    };
    assert.equal(s.totalByzantineSlots, 2 * 40);
    assert.equal(s.numParams, 2 * 2 * 1 * 4 + 4 + 36 * 3 + 3);
    assert.ok(s.finalTestAccuracy > 0.6, `accuracy ${s.finalTestAccuracy}`);
  });

  test('--export-model writes a Layers model holding the trained parameters', async () => {
    const params = decodeNpy(readFileSync(join(tmp, 'attacked', 'params.npy'))).data;
    const lm = await loadLayersModelFile(join(tmp, 'exported', 'model.json'));
    try {
      const flat = lm.trainableWeights.flatMap((w) => Array.from(w.read().dataSync()));
      assert.deepEqual(Float32Array.from(flat), params);
      assert.equal(lm.name, 'quadrants');
    } finally {
      lm.dispose();
    }
    // tfjs's own loader reads the same files.
    const json = JSON.parse(readFileSync(join(tmp, 'exported', 'model.json'), 'utf8')) as {
      modelTopology: object;
      weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    };
    const bin = readFileSync(join(tmp, 'exported', json.weightsManifest[0].paths[0]));
    const viaTf = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      }),
    );
    try {
      const flat = viaTf.trainableWeights.flatMap((w) => Array.from(w.read().dataSync()));
      assert.deepEqual(Float32Array.from(flat), params);
    } finally {
      viaTf.dispose();
    }
  });

  test('a zoo model exports params.npy and layout.json', () => {
    const out = join(tmp, 'zoo');
    const r = draco(['train', '--dataset', 'synthetic', '--steps', '2', '--quiet', '--export-model', out]);
    assert.equal(r.code, 0, r.stderr);
    const layout = JSON.parse(readFileSync(join(out, 'layout.json'), 'utf8')) as {
      model: string;
      numParams: number;
      tensors: { name: string; shape: number[] }[];
    };
    const params = decodeNpy(readFileSync(join(out, 'params.npy'))).data;
    assert.equal(layout.model, 'mlp');
    assert.equal(params.length, layout.numParams);
    assert.equal(
      layout.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0),
      layout.numParams,
    );
  });

  test('--export-model never overwrites: the input model folder is refused before training', () => {
    const before = readFileSync(join(modelDir, 'model.json'));
    const r = draco(RUN(join(tmp, 'overwrite'), 0, '--export-model', modelDir));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--export-model .* already holds model\.json, weights\.bin; give a new folder/);
    // Refused before the first step: no step was trained, no output written.
    assert.ok(!existsSync(join(tmp, 'overwrite')));
    assert.deepEqual(readFileSync(join(modelDir, 'model.json')), before);
  });

  test('a model file that is missing, or does not fit the data, is one line', () => {
    let r = draco(['train', '--model', join(tmp, 'none', 'model.json'), '--steps', '1']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /none\/model\.json/);
    r = draco(['train', '--model', join(modelDir, 'model.json'), '--dataset', 'synthetic', '--steps', '1']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /model .*model\.json: .*\[4, ?4, ?1\]/);
  });
});
