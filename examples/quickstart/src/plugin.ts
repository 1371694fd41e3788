/**
 * A draco plugin: everything here is ours (the user's), registered by name so that configs,
 * flags and worker processes can name it. draco calls the default export once per process; the
 * PS loads it from `plugins: [...]`, every `--engine local` worker from `draco worker --plugin`.
 */
import type { Aggregator, AttackDef, AggregatorDef, DatasetDef, PluginApi, Vec } from 'draco';

/**
 * Norm-clipped mean: scale every input down to at most the median input norm, then average.
 * A simple robust rule of our own (not one draco ships).
 */
export const clippedMean: Aggregator = {
  name: 'clipped-mean',
  description: 'mean after clipping every input to the median input norm',
  precondition: (n) => (n >= 1 ? null : 'clipped-mean needs at least one input'),
  aggregate(inputs: readonly Vec[]): Float64Array {
    const norms = inputs.map((x) => {
      let s = 0;
      for (let i = 0; i < x.length; i++) s += x[i] * x[i];
      return Math.sqrt(s);
    });
    const sorted = [...norms].sort((a, b) => a - b);
    const tau = sorted[Math.floor(sorted.length / 2)];
    const out = new Float64Array(inputs[0].length);
    inputs.forEach((x, k) => {
      const scale = norms[k] > tau && norms[k] > 0 ? tau / norms[k] : 1;
      for (let i = 0; i < x.length; i++) out[i] += (scale * x[i]) / inputs.length;
    });
    return out;
  },
};

const clippedMeanDef: AggregatorDef = {
  name: 'clipped-mean',
  description: clippedMean.description,
  defaults: {},
  create: () => clippedMean,
};

/** Our attack: send the honest message reversed and scaled, plus seeded noise. */
export const scaledNoise: AttackDef = {
  name: 'scaled-noise',
  description: 'send -scale * own + N(0, sigma^2) noise',
  defaults: { scale: 4, sigma: 0.5 },
  create: ({ scale, sigma }) => ({
    name: 'scaled-noise',
    omniscient: false,
    corrupt(ctx) {
      const out = ctx.own.slice(); // same type and length; ctx.own itself stays unchanged
      // ctx.rng is seeded by (seed, step, worker): the same noise in every engine.
      for (let i = 0; i < out.length; i++) out[i] = -scale * out[i] + sigma * ctx.rng.normal();
      return out;
    },
  }),
};

/**
 * Our data: three Gaussian blobs in 2-D, generated from the seed by a tiny LCG of our own. A
 * worker process regenerates exactly the same samples.
 */
export const blobs: DatasetDef = {
  name: 'blobs',
  description: 'three 2-D Gaussian blobs, 1500 train / 300 test samples',
  key: (o) => String(o.seed ?? 0),
  load(o) {
    let state = (o.seed ?? 0) * 2654435761 + 1;
    const uniform = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return (state + 0.5) / 2147483648;
    };
    const gauss = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const centers = [
      [-2, 0],
      [2, 0],
      [0, 2.5],
    ];
    const split = (n: number) => {
      const x = new Float32Array(2 * n);
      const y = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const c = i % 3;
        y[i] = c;
        x[2 * i] = centers[c][0] + 0.8 * gauss();
        x[2 * i + 1] = centers[c][1] + 0.8 * gauss();
      }
      return { n, x, y };
    };
    return { name: 'blobs', inputShape: [2], numClasses: 3, train: split(1500), test: split(300) };
  },
};

export default function register(api: PluginApi): void {
  api.registerAggregator(clippedMeanDef);
  api.registerAttack(scaledNoise);
  api.registerDataset(blobs);
}
