/**
 * What a page needs to compute draco gradients, served by a Node process (the PS, or a test): the
 * bundle of src/browser/gradient.ts with everything it imports (the model zoo, draco's kernels,
 * tfjs-core and tfjs-backend-wasm), and tfjs-backend-wasm's `.wasm` binaries. No network at view
 * time: every file comes from this package and its node_modules.
 *
 * The bundle is made on demand, in memory, from the compiled `dist/src/browser/gradient.js` beside
 * this file, by esbuild (a dependency: ~0.4 s, once per process). So it is always the code the
 * Node workers of the same install run, and `npm install && npm test` needs no extra build step.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** tfjs-backend-wasm's binaries: scalar, SIMD, threads + SIMD. The page uses the SIMD one. */
export const WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
] as const;

/** Where the page finds the wasm binaries: `initWorkerBackend({ wasmPath: WASM_PREFIX })`. */
export const WASM_PREFIX = '/wasm/';
/** Where the page finds the bundle; it defines the global `draco` (src/browser/gradient.ts). */
export const BUNDLE_PATH = '/draco-worker.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Folder of tfjs-backend-wasm's `.wasm` files in node_modules. */
export function wasmDir(): string {
  // The package's main entry (dist/tf-backend-wasm.node.js) sits beside its binaries.
  return dirname(fileURLToPath(import.meta.resolve('@tensorflow/tfjs-backend-wasm')));
}

let bundled: Promise<string> | null = null;

/**
 * The browser bundle of src/browser/gradient.ts: an IIFE that defines `globalThis.draco`. Built
 * once per process; `@tensorflow/tfjs` is bundled as tfjs-core alone (src/browser/tfjs-core.ts).
 */
export function workerBundle(): Promise<string> {
  bundled ??= (async () => {
    const { build } = await import('esbuild');
    const out = await build({
      entryPoints: [join(here, 'gradient.js')],
      bundle: true,
      format: 'iife',
      globalName: 'draco',
      platform: 'browser',
      target: 'es2020',
      alias: { '@tensorflow/tfjs': join(here, 'tfjs-core.js') },
      define: { 'process.env.NODE_ENV': '"production"' },
      minify: true,
      legalComments: 'none',
      write: false,
      logLevel: 'silent',
    });
    if (out.warnings.length > 0) {
      throw new Error(`browser bundle: ${out.warnings.map((w) => w.text).join('; ')}`);
    }
    return out.outputFiles[0].text;
  })();
  bundled.catch(() => (bundled = null));
  return bundled;
}

export interface Asset {
  type: string;
  body: Buffer;
}

/**
 * Every file a worker page loads, by URL path: the bundle at BUNDLE_PATH and the binaries under
 * WASM_PREFIX (served as application/wasm, which streaming compilation needs).
 */
export async function workerAssets(): Promise<Map<string, Asset>> {
  const files = new Map<string, Asset>();
  files.set(BUNDLE_PATH, {
    type: 'text/javascript; charset=utf-8',
    body: Buffer.from(await workerBundle()),
  });
  for (const f of WASM_FILES) {
    files.set(WASM_PREFIX + f, { type: 'application/wasm', body: readFileSync(join(wasmDir(), f)) });
  }
  return files;
}
