/**
 * Issue 21, determinism across hosts: one partition's gradient, computed by draco's worker code
 * bundled for the browser (src/browser/) in Debian's chromium driven by playwright-core, has the
 * same float32 bytes (and the same float64 loss) as a Node worker's `computeTask`, for `mlp` and
 * `lenet`, at the seeded initial parameters and at parameters the PS sends. The repetition code
 * and `verify` compare replicas' bytes, so a browser worker is only usable if this holds
 * (docs/design.md "Determinism across hosts"). A one-ulp change to one input in the page must
 * change the bytes (the comparison sees that much). Also prints one gradient's median time in
 * each host. Skips, saying why, only where chromium cannot start.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { BUNDLE_PATH, WASM_PREFIX, workerAssets } from '../../src/browser/bundle.js';
import { computeTask } from '../../src/cluster/worker-step.js';
import { gatherBatch } from '../../src/data/batch.js';
import { loadDataset } from '../../src/data/registry.js';
import { BatchSchedule } from '../../src/data/schedule.js';
import type { Dataset } from '../../src/data/types.js';
import { initBackend } from '../../src/models/backend.js';
import { getModelDef } from '../../src/models/registry.js';
import { launchChromium } from './chromium.js';

const SEED = 11;
const STEP = 3;
/** The default job's shape: a global batch of 480 in 15 partitions of 32. */
const BATCH = 480;
const PARTS = 15;
const PART = 7;
/** Timed gradients per model and host (after warm-up), for the medians printed. */
const TIMED = 15;

const sha = (a: ArrayBufferView) =>
  createHash('sha256')
    .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    .digest('hex');
const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const f32 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A page with the worker bundle, and the assets it loads; nothing else. */
async function serve(): Promise<{ server: Server; url: string }> {
  const assets = await workerAssets();
  const page = Buffer.from(`<!doctype html><meta charset="utf-8"><script src="${BUNDLE_PATH}"></script>`);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const a = path === '/' ? { type: 'text/html; charset=utf-8', body: page } : assets.get(path);
    if (a === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': a.type, 'content-length': a.body.length }).end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

interface PageArgs {
  model: string;
  inputShape: number[];
  numClasses: number;
  seed: number;
  params?: string;
  x: string;
  y: string;
  /** Add one ulp to this input value first (the negative control). */
  perturb?: number;
  /** Also time this many more gradients. */
  timed?: number;
}

interface PageReply {
  grad: string;
  params: string;
  lossSum: number;
  ms: number[];
}

/**
 * In the page (this function's source runs there): decode the arrays, compute the gradient with
 * the bundle's `draco.computeGradient`, encode the result.
 */
function inPage(a: PageArgs): PageReply {
  const g = globalThis as unknown as {
    draco: {
      computeGradient(r: object): { grad: Float32Array; params: Float32Array; lossSum: number; ms: number };
    };
  };
  const bytes = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const enc = (v: Float32Array) => {
    const u = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    let s = '';
    for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
    return btoa(s);
  };
  const x = new Float32Array(bytes(a.x).buffer);
  if (a.perturb !== undefined) {
    const bits = new Uint32Array(x.buffer);
    bits[a.perturb] += 1;
  }
  const req = {
    model: a.model,
    inputShape: a.inputShape,
    numClasses: a.numClasses,
    seed: a.seed,
    params: a.params === undefined ? undefined : new Float32Array(bytes(a.params).buffer),
    x,
    y: new Int32Array(bytes(a.y).buffer),
  };
  const r = g.draco.computeGradient(req);
  const ms = [];
  for (let i = 0; i < (a.timed ?? 0); i++) ms.push(g.draco.computeGradient(req).ms);
  return { grad: enc(r.grad), params: enc(r.params), lossSum: r.lossSum, ms };
}

describe('one partition gradient in chromium and in node', { concurrency: false }, () => {
  let browser: Browser | undefined;
  let why: string | undefined;
  let server: Server | undefined;
  let page: Page;
  let ds: Dataset;
  let partitions: Int32Array[];

  before(async () => {
    ({ browser, why } = await launchChromium());
    if (browser === undefined) return;
    await initBackend('wasm');
    ds = loadDataset('mnist');
    partitions = new BatchSchedule({
      numSamples: ds.train.n,
      globalBatch: BATCH,
      numPartitions: PARTS,
      seed: SEED,
    }).partitions(STEP);
    const s = await serve();
    server = s.server;
    page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(s.url);
    const info = await page.evaluate(`draco.initWorkerBackend({ wasmPath: ${JSON.stringify(WASM_PREFIX)} })`);
    assert.deepEqual(errors, []);
    // The configuration Node runs (tfjs in Node never takes the threaded build).
    assert.deepEqual(info, {
      backend: 'wasm',
      simd: true,
      threads: false,
      threadsCount: 1,
      tfjsVersion: '4.22.0',
    });
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => (server === undefined ? r(undefined) : server.close(r)));
  });

  for (const name of ['mlp', 'lenet']) {
    test(`${name}: the same bytes at the seeded init and at sent parameters; one ulp off an input is seen`, async (t) => {
      if (browser === undefined) {
        process.stdout.write(`# skipped: ${why}\n`);
        t.skip(why);
        return;
      }
      // Node: what a worker process computes for partition PART of step STEP.
      const model = getModelDef(name).create(ds.inputShape, ds.numClasses, SEED);
      t.after(() => model.dispose());
      const task = { parts: [PART], poison: false };
      const atInit = computeTask({ model, dataset: ds }, task, partitions);
      const init = model.getParams();
      // Parameters as the PS would send them a few steps on: off the init in every coordinate.
      const sent = init.map((p, i) => p - 0.05 * atInit.grad[i] + 1e-3 * Math.sin(i));
      model.setParams(sent);
      const atSent = computeTask({ model, dataset: ds }, task, partitions);
      assert.equal(atSent.samples, BATCH / PARTS);

      // The page: the same samples, gathered here (the data loaders are Node's), as arrays.
      const batch = gatherBatch(ds, ds.train, partitions[PART]);
      const base = {
        model: name,
        inputShape: ds.inputShape,
        numClasses: ds.numClasses,
        seed: SEED,
        x: b64(batch.x),
        y: b64(batch.y),
      };
      const pInit = await page.evaluate(inPage, base);
      const pSent = await page.evaluate(inPage, { ...base, params: b64(sent), timed: TIMED });

      assert.equal(sha(f32(pInit.params)), sha(init), 'seeded init parameters differ');
      assert.equal(sha(f32(pInit.grad)), sha(atInit.grad), 'gradient at the seeded init differs');
      assert.equal(pInit.lossSum, atInit.lossSum);
      assert.equal(sha(f32(pSent.grad)), sha(atSent.grad), 'gradient at the sent parameters differs');
      assert.equal(pSent.lossSum, atSent.lossSum);
      assert.notEqual(sha(atInit.grad), sha(atSent.grad));

      // Negative control: one input value one ulp up (the first nonzero pixel) changes the bytes.
      const k = batch.x.findIndex((v) => v > 0);
      const pOff = await page.evaluate(inPage, { ...base, params: b64(sent), perturb: k });
      assert.notEqual(sha(f32(pOff.grad)), sha(atSent.grad), 'a changed input gave the same bytes');

      // One gradient's time, median of TIMED, in each host (same parameters and samples).
      const nodeMs: number[] = [];
      for (let i = 0; i < TIMED; i++) {
        const s = performance.now();
        model.gradient(batch);
        nodeMs.push(performance.now() - s);
      }
      t.diagnostic(
        `${name} batch ${batch.n}: chromium ${median(pSent.ms).toFixed(2)} ms, node ${median(nodeMs).toFixed(2)} ms (median of ${TIMED})`,
      );
    });
  }
});
