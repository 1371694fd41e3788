/** Shared helpers for the data tests: temp dirs and small generated files. */
import { writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from '../../src/data/idx.js';
import { tempDir as sharedTempDir } from '../tmp.js';

/** A fresh temporary directory, removed when the test file ends (test/tmp.ts). */
export function tempDir(): string {
  return sharedTempDir('draco-data-');
}

/** Write a small MNIST-format directory: `nTrain`/`nTest` images of `h x w`, pixel = (i*7 + k) % 256, label = i % classes. */
export function writeIdxDir(
  dir: string,
  o: { nTrain: number; nTest: number; h: number; w: number; classes: number; gz?: boolean },
): void {
  const write = (name: string, bytes: Uint8Array): void => {
    if (o.gz) writeFileSync(join(dir, name + '.gz'), gzipSync(bytes));
    else writeFileSync(join(dir, name), bytes);
  };
  const images = (n: number, salt: number): Uint8Array => {
    const x = new Uint8Array(n * o.h * o.w);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < o.h * o.w; k++) x[i * o.h * o.w + k] = (i * 7 + k + salt) % 256;
    return x;
  };
  const labels = (n: number, salt: number): Uint8Array =>
    Uint8Array.from({ length: n }, (_, i) => (i + salt) % o.classes);
  write('train-images-idx3-ubyte', encodeIdx([o.nTrain, o.h, o.w], images(o.nTrain, 0)));
  write('train-labels-idx1-ubyte', encodeIdx([o.nTrain], labels(o.nTrain, 0)));
  write('t10k-images-idx3-ubyte', encodeIdx([o.nTest, o.h, o.w], images(o.nTest, 100)));
  write('t10k-labels-idx1-ubyte', encodeIdx([o.nTest], labels(o.nTest, 1)));
}
