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

const bundled = new Map<string, Promise<string>>();

/**
 * The browser bundle of src/browser/gradient.ts: an IIFE that defines `globalThis.draco`. Built
 * once per process; `@tensorflow/tfjs` is bundled as tfjs-core alone (src/browser/tfjs-core.ts).
 */
export function workerBundle(): Promise<string> {
  return bundleOf('gradient.js', 'draco');
}

/** The volunteers' Web Worker (src/browser/volunteer-worker.ts), an IIFE run for its effect. */
export function volunteerBundle(): Promise<string> {
  return bundleOf('volunteer-worker.js');
}

function bundleOf(entry: string, globalName?: string): Promise<string> {
  let p = bundled.get(entry);
  if (p !== undefined) return p;
  p = (async () => {
    const { build } = await import('esbuild');
    const out = await build({
      entryPoints: [join(here, entry)],
      bundle: true,
      format: 'iife',
      globalName,
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
  bundled.set(entry, p);
  p.catch(() => bundled.delete(entry));
  return p;
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
  const files = wasmAssets();
  files.set(BUNDLE_PATH, { type: JS, body: Buffer.from(await workerBundle()) });
  return files;
}

const JS = 'text/javascript; charset=utf-8';

function wasmAssets(): Map<string, Asset> {
  const files = new Map<string, Asset>();
  for (const f of WASM_FILES) {
    files.set(WASM_PREFIX + f, { type: 'application/wasm', body: readFileSync(join(wasmDir(), f)) });
  }
  return files;
}

/** Where the volunteers' page finds its Web Worker. */
export const VOLUNTEER_WORKER_PATH = '/volunteer-worker.js';

const PAGE = join(here, '..', '..', '..', 'assets', 'volunteer');

/**
 * The volunteers' page (assets/volunteer: '/', its script and style), its Web Worker bundle at
 * VOLUNTEER_WORKER_PATH and the wasm binaries: what `draco ps --volunteers` serves.
 */
export async function volunteerAssets(): Promise<Map<string, Asset>> {
  const files = wasmAssets();
  files.set(VOLUNTEER_WORKER_PATH, { type: JS, body: Buffer.from(await volunteerBundle()) });
  files.set('/', { type: 'text/html; charset=utf-8', body: readFileSync(join(PAGE, 'index.html')) });
  files.set('/volunteer.js', { type: JS, body: readFileSync(join(PAGE, 'volunteer.js')) });
  files.set('/volunteer.css', {
    type: 'text/css; charset=utf-8',
    body: readFileSync(join(PAGE, 'volunteer.css')),
  });
  return files;
}
