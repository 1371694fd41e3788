/**
 * Train our own tfjs model on our own data, defended by our own aggregation rule against our own
 * attack: once in this process, once with worker processes (`engine: 'local'`). draco's
 * determinism makes both give the same model, bit for bit; this script checks it.
 */
import { fileURLToPath } from 'node:url';
import { initBackend, tf, train, type TrainOptions } from 'draco';
import { clippedMean } from './plugin.js';

const plugin = fileURLToPath(new URL('./plugin.js', import.meta.url));

/** Our model, built with the tfjs layers API; seeded initialisers make it the same every time. */
function makeModel(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    name: 'blobs-mlp',
    layers: [
      tf.layers.dense({ inputShape: [2], units: 16, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ units: 3, kernelInitializer: init(2) }),
    ],
  });
}

async function run(engine: 'inprocess' | 'local'): Promise<string> {
  await initBackend('wasm'); // build the model on the backend draco trains on
  const options: TrainOptions = {
    model: makeModel(),
    dataset: 'blobs', // registered by our plugin, so worker processes can load it too
    plugins: [plugin],
    scheme: 'uncoded',
    aggregator: clippedMean, // our rule object (it runs at the PS only)
    attack: 'scaled-noise:scale=4,sigma=0.5', // our attack, by name: worker processes build it
    workers: 6,
    byzantine: 1,
    batch: 60,
    steps: 40,
    lr: 0.1,
    evalEvery: 0,
    engine,
  };
  const { summary } = await train(options);
  if (summary.failed !== null) throw new Error(summary.failed);
  console.log(
    `${engine.padEnd(9)} accuracy ${(100 * summary.finalTestAccuracy).toFixed(1)}%  params sha256 ${summary.paramsSha256}`,
  );
  return summary.paramsSha256;
}

const a = await run('inprocess');
const b = await run('local');
if (a !== b) {
  console.error('the two engines trained different models');
  process.exit(1);
}
console.log('same model in-process and with worker processes');
