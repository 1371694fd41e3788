/**
 * IDX files (the MNIST container format): 2 zero bytes, a dtype byte, a dimension count, then
 * `ndim` big-endian uint32 dimensions and the values, row-major, big-endian. Files may be gzipped
 * (`.gz` name or gzip magic `1f 8b`); they are inflated transparently.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UsageError } from '../core/errors.js';

export type IdxDtype = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  readonly dims: number[];
  readonly dtype: IdxDtype;
  readonly data: IdxData;
}

const CODE_TO_DTYPE: Record<number, IdxDtype> = {
  0x08: 'u8',
  0x09: 'i8',
  0x0b: 'i16',
  0x0c: 'i32',
  0x0d: 'f32',
  0x0e: 'f64',
};
const DTYPE_TO_CODE: Record<IdxDtype, number> = {
  u8: 0x08,
  i8: 0x09,
  i16: 0x0b,
  i32: 0x0c,
  f32: 0x0d,
  f64: 0x0e,
};
const DTYPE_SIZE: Record<IdxDtype, number> = { u8: 1, i8: 1, i16: 2, i32: 4, f32: 4, f64: 8 };

/** True when `bytes` starts with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Read an IDX file (plain or gzipped). Throws UsageError naming `path` if it is missing or malformed. */
export function readIdx(path: string): IdxArray {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`IDX file not found: ${path}`);
    throw new UsageError(`cannot read IDX file ${path}: ${(e as Error).message}`);
  }
  let bytes: Uint8Array = raw;
  if (path.endsWith('.gz') || isGzip(raw)) {
    try {
      bytes = gunzipSync(raw);
    } catch (e) {
      throw new UsageError(`cannot gunzip IDX file ${path} (truncated or corrupt?): ${(e as Error).message}`);
    }
  }
  return parseIdx(bytes, path);
}

/** Decode IDX bytes (already inflated). `source` names the origin in error messages. */
export function parseIdx(bytes: Uint8Array, source = '<buffer>'): IdxArray {
  if (bytes.length < 4) {
    throw new UsageError(`${source} is not an IDX file: only ${bytes.length} bytes, need a 4-byte header`);
  }
  const dtype = CODE_TO_DTYPE[bytes[2]];
  const ndim = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || dtype === undefined || ndim === 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new UsageError(
      `${source} is not an IDX file: bad magic ${magic} (expected 00 00 <dtype 08|09|0b|0c|0d|0e> <ndim>=1..)`,
    );
  }
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) {
    throw new UsageError(
      `${source}: truncated IDX header (${bytes.length} bytes, need ${headerLen} for ${ndim} dims)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const size = DTYPE_SIZE[dtype];
  const expected = headerLen + count * size;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'has trailing bytes';
    throw new UsageError(
      `${source}: IDX file ${what}: dims [${dims.join(', ')}] of ${dtype} need ${expected} bytes, file has ${bytes.length}`,
    );
  }
  return { dims, dtype, data: decodeValues(bytes, view, headerLen, count, dtype) };
}

function decodeValues(bytes: Uint8Array, view: DataView, off: number, n: number, dtype: IdxDtype): IdxData {
  switch (dtype) {
    case 'u8':
      // Zero-copy view of the file bytes (a plain Uint8Array, not a Buffer).
      return new Uint8Array(bytes.buffer, bytes.byteOffset + off, n);
    case 'i8':
      return new Int8Array(bytes.buffer, bytes.byteOffset + off, n);
    case 'i16': {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(off + 2 * i, false);
      return out;
    }
    case 'i32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(off + 4 * i, false);
      return out;
    }
    case 'f32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(off + 4 * i, false);
      return out;
    }
    case 'f64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(off + 8 * i, false);
      return out;
    }
  }
}

/** Encode an array as IDX bytes (big-endian). The dtype follows the array type unless given. */
export function encodeIdx(dims: number[], data: IdxData | ArrayLike<number>, dtype?: IdxDtype): Uint8Array {
  const dt: IdxDtype = dtype ?? dtypeOf(data);
  const count = dims.reduce((a, b) => a * b, 1);
  if (dims.length < 1 || dims.length > 255) throw new Error(`idx: need 1..255 dims, got ${dims.length}`);
  if (count !== data.length)
    throw new Error(`idx: dims [${dims}] hold ${count} values, data has ${data.length}`);
  const headerLen = 4 + 4 * dims.length;
  const size = DTYPE_SIZE[dt];
  const out = new Uint8Array(headerLen + count * size);
  const view = new DataView(out.buffer);
  out[2] = DTYPE_TO_CODE[dt];
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) {
    const v = data[i];
    const o = headerLen + i * size;
    switch (dt) {
      case 'u8':
        view.setUint8(o, v);
        break;
      case 'i8':
        view.setInt8(o, v);
        break;
      case 'i16':
        view.setInt16(o, v, false);
        break;
      case 'i32':
        view.setInt32(o, v, false);
        break;
      case 'f32':
        view.setFloat32(o, v, false);
        break;
      case 'f64':
        view.setFloat64(o, v, false);
        break;
    }
  }
  return out;
}

function dtypeOf(data: ArrayLike<number>): IdxDtype {
  if (data instanceof Uint8Array) return 'u8';
  if (data instanceof Int8Array) return 'i8';
  if (data instanceof Int16Array) return 'i16';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Float64Array) return 'f64';
  throw new Error('idx: pass a dtype for plain arrays');
}
