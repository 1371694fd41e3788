/**
 * NumPy .npy (format version 1.0) read and write for 1-D and n-D little-endian float32/float64
 * and int32 arrays, so parameters and gradients move to and from Python without conversion.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type NpyArray = Float32Array | Float64Array | Int32Array;

const MAGIC = '\x93NUMPY';

function descrOf(a: NpyArray): string {
  if (a instanceof Float32Array) return '<f4';
  if (a instanceof Float64Array) return '<f8';
  return '<i4';
}

/** Encode `data` with the given shape (default: 1-D) as .npy bytes. */
export function encodeNpy(data: NpyArray, shape: number[] = [data.length]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new Error(`npy: shape ${shape} holds ${count} values, data has ${data.length}`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Pad so that magic(6) + version(2) + len(2) + header + '\n' is a multiple of 64.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write(MAGIC, 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export function writeNpy(path: string, data: NpyArray, shape?: number[]): void {
  writeFileSync(path, encodeNpy(data, shape));
}

/** Decode .npy bytes (little-endian f4, f8 or i4, C order). */
export function decodeNpy(buf: Buffer): { data: NpyArray; shape: number[] } {
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== MAGIC)
    throw new Error('npy: not a .npy file (bad magic)');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeMatch = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeMatch === undefined)
    throw new Error(`npy: cannot parse header ${header.trim()}`);
  if (fortran === 'True') throw new Error('npy: fortran_order arrays are not supported');
  const shape = shapeMatch
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const off = start + headerLen;
  const bytes = buf.subarray(off);
  const copy = new Uint8Array(bytes).buffer; // aligned copy
  let data: NpyArray;
  if (descr === '<f4') data = new Float32Array(copy, 0, count);
  else if (descr === '<f8') data = new Float64Array(copy, 0, count);
  else if (descr === '<i4') data = new Int32Array(copy, 0, count);
  else throw new Error(`npy: unsupported dtype ${descr}`);
  return { data, shape };
}

export function readNpy(path: string): { data: NpyArray; shape: number[] } {
  return decodeNpy(readFileSync(path));
}
