/**
 * NumPy .npy (format version 1.0) read and write for 1-D and n-D little-endian float32/float64
 * and int32 arrays, so parameters and gradients move to and from Python without conversion.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type NpyArray = Float32Array | Float64Array | Int32Array;

const MAGIC = '\x93NUMPY';

function descrOf(a: NpyArray | Uint8Array): string {
  if (a instanceof Uint8Array) return '|u1';
  if (a instanceof Float32Array) return '<f4';
  if (a instanceof Float64Array) return '<f8';
  return '<i4';
}

/** Encode `data` with the given shape (default: 1-D) as .npy bytes. */
export function encodeNpy(data: NpyArray | Uint8Array, shape: number[] = [data.length]): Buffer {
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

export function writeNpy(path: string, data: NpyArray | Uint8Array, shape?: number[]): void {
  writeFileSync(path, encodeNpy(data, shape));
}

/** Every element type `decodeNpyAny` reads. */
export type AnyNpyArray =
  NpyArray | Uint8Array | Int8Array | Int16Array | Uint16Array | Uint32Array | BigInt64Array | BigUint64Array;

const CTORS: Record<string, new (b: ArrayBuffer, o: number, n: number) => AnyNpyArray> = {
  '<f4': Float32Array,
  '<f8': Float64Array,
  '<i4': Int32Array,
  '|u1': Uint8Array,
  '<u1': Uint8Array,
  '|i1': Int8Array,
  '<i1': Int8Array,
  '<i2': Int16Array,
  '<u2': Uint16Array,
  '<u4': Uint32Array,
  '<i8': BigInt64Array,
  '<u8': BigUint64Array,
};

/** Decode .npy bytes (little-endian f4, f8 or i4, C order). */
export function decodeNpy(buf: Buffer): { data: NpyArray; shape: number[] } {
  const r = decodeNpyAny(buf);
  if (!(r.data instanceof Float32Array || r.data instanceof Float64Array || r.data instanceof Int32Array))
    throw new Error(`npy: unsupported dtype ${r.descr}`);
  return { data: r.data, shape: r.shape };
}

/**
 * Decode .npy bytes of any little-endian numeric dtype listed in CTORS (C order). Errors are plain
 * Errors naming the problem (callers add the file name).
 */
export function decodeNpyAny(buf: Buffer): { data: AnyNpyArray; shape: number[]; descr: string } {
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== MAGIC)
    throw new Error('npy: not a .npy file (bad magic)');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeMatch = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (major !== 1 && major !== 2 && major !== 3) throw new Error(`npy: unsupported format version ${major}`);
  if (!descr || !fortran || shapeMatch === undefined)
    throw new Error(`npy: cannot parse header ${header.trim()}`);
  if (fortran === 'True') throw new Error('npy: fortran_order arrays are not supported');
  const shape = shapeMatch
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`npy: bad shape (${shapeMatch})`);
  const Ctor = CTORS[descr];
  if (Ctor === undefined) throw new Error(`npy: unsupported dtype ${descr}`);
  const size = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const off = start + headerLen;
  const bytes = buf.subarray(off);
  if (bytes.length < count * size)
    throw new Error(`npy: truncated (${bytes.length} data bytes, the header describes ${count * size})`);
  const copy = new Uint8Array(bytes.subarray(0, count * size)).buffer; // aligned copy
  return { data: new Ctor(copy, 0, count), shape, descr };
}

export function readNpy(path: string): { data: NpyArray; shape: number[] } {
  return decodeNpy(readFileSync(path));
}
