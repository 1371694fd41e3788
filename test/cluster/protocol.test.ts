import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readCheckpoint, writeCheckpoint } from '../../src/train/checkpoint.js';
import { configMismatch } from '../../src/build/resume.js';
import {
  buildMessage,
  Dtype,
  HEADER_BYTES,
  MsgType,
  parseMessage,
  payloadVec,
  vecBytes,
} from '../../src/cluster/protocol.js';
import { UsageError } from '../../src/core/errors.js';
import { resolveConfig } from '../../src/build/config.js';
import { nodeIo, type FileIo } from '../../src/core/files.js';
import { Sgd } from '../../src/train/sgd.js';
import { tempDir } from '../tmp.js';

const secret = randomBytes(32);

function grad(): [Buffer, Buffer, Buffer] {
  const v = new Float64Array([1.5, -2.25, 3e-300, 0]);
  return buildMessage(
    secret,
    {
      type: MsgType.GRAD,
      dtype: Dtype.FLOAT64,
      rank: 7,
      step: 123456,
      session: 0xfedcba9876543210n,
      computeUs: 1500,
      lossSum: 2.5,
      samples: 40,
    },
    vecBytes(v),
  );
}

describe('wire protocol', () => {
  test('round trip: header fields and raw little-endian vector bytes', () => {
    const parts = grad();
    assert.equal(parts[0].length, HEADER_BYTES);
    assert.equal(parts[0].readUInt32LE(0), 0x4f435244);
    const r = parseMessage(parts, secret, 1 << 20);
    assert.ok(r.ok);
    const { header: h, payload } = r.frame;
    assert.deepEqual(
      [h.type, h.dtype, h.rank, h.step, h.session, h.computeUs, h.lossSum, h.samples],
      [MsgType.GRAD, Dtype.FLOAT64, 7, 123456, 0xfedcba9876543210n, 1500, 2.5, 40],
    );
    assert.deepEqual([...payloadVec(payload, Dtype.FLOAT64)], [1.5, -2.25, 3e-300, 0]);
    // The payload is the vector's bytes: 1.5 as a little-endian double.
    assert.equal(payload.readDoubleLE(0), 1.5);
  });

  test('every tampering is refused with its reason', () => {
    const reason = (parts: Buffer[], max = 1 << 20) => {
      const r = parseMessage(parts, secret, max);
      return r.ok ? 'ok' : r.reason;
    };
    const flip = (b: Buffer, i: number) => {
      const c = Buffer.from(b);
      c[i] ^= 1;
      return c;
    };
    const [h, p, m] = grad();
    assert.equal(reason([h, p, m]), 'ok');
    assert.equal(reason([h, flip(p, 3), m]), 'bad mac');
    assert.equal(reason([flip(h, 9), p, m]), 'bad mac'); // rank changed
    assert.equal(reason([h, p, flip(m, 0)]), 'bad mac');
    assert.equal(parseMessage([h, p, m], randomBytes(32), 1 << 20).ok, false); // other secret
    assert.equal(reason([flip(h, 0), p, m]), 'bad magic');
    assert.equal(reason([flip(h, 4), p, m]), 'bad version');
    assert.equal(reason([h, p.subarray(8), m]), 'bad length field');
    assert.equal(reason([h, p]), 'bad frame count');
    assert.equal(reason([h.subarray(1), p, m]), 'bad header size');
    assert.equal(reason([h, p, m], 16), 'oversize');
  });
});

describe('checkpoints', () => {
  const config = resolveConfig({ dataset: 'synthetic', steps: 10 });
  const totals = {
    stats: { suspects: 3, suspectsByz: 2, byzSlots: 4, aborted: 0, failures: 1, partial: 1 },
    modeled: [1.5, 2, 2.5, 3],
    walls: [4, 5, 6, 7],
    bytesTotal: 1234,
    last: { loss: 0.25, accuracy: null },
  };
  const file = (dir: string) => join(dir, 'checkpoint.bin');
  /** Re-seal a modified checkpoint, as a writer with a bug (not a damaged disk) would. */
  const reseal = (b: Buffer) =>
    createHash('sha256')
      .update(b.subarray(0, b.length - 32))
      .digest()
      .copy(b, b.length - 32);

  function written(dir = tempDir('draco-ck-')) {
    const sgd = new Sgd(5, 0.9, 0);
    const params = new Float32Array([1, 2, 3, 4, 5]);
    sgd.step(params, new Float64Array([0.5, -1, 2, 0, 1e-3]), 0.1);
    writeCheckpoint(dir, {
      meta: { step: 4, momentumStarted: true, config, totals },
      params,
      momentum: sgd.getState().buf,
    });
    return { dir, sgd, params };
  }

  test('write, then an exact read back: parameters, momentum, metadata; same trajectory after', () => {
    const { dir, sgd, params } = written();
    assert.deepEqual(readdirSync(dir), ['checkpoint.bin']); // the temporary file was renamed
    const ck = readCheckpoint(dir, 5);
    // Expected values computed here, not read back from the objects that were written.
    assert.deepEqual([...ck.params], [...new Float32Array([0.95, 2.1, 2.8, 4, 4.9999])]);
    assert.deepEqual([...ck.momentum], [...new Float32Array([0.5, -1, 2, 0, 1e-3])]);
    // A file of an earlier version has no recomputation count: it reads as none.
    assert.deepEqual(ck.meta, {
      step: 4,
      momentumStarted: true,
      config,
      totals: { ...totals, stats: { ...totals.stats, recomputations: 0 } },
    });
    // Format 2: header, then the SHA-256 of everything before it at the end.
    const b = readFileSync(file(dir));
    assert.equal(b.toString('latin1', 0, 4), 'DRCK');
    assert.equal(b.readUInt32LE(4), 2);
    assert.deepEqual(
      b.subarray(b.length - 32),
      createHash('sha256')
        .update(b.subarray(0, b.length - 32))
        .digest(),
    );
    // Restored from the file alone, the optimizer continues the same trajectory.
    const a = new Sgd(5, 0.9, 0);
    a.setState({ buf: ck.momentum, started: ck.meta.momentumStarted });
    const pa = ck.params.slice();
    const pb = params.slice();
    const g = new Float64Array([1, -2, 0.5, 3, 0]);
    a.step(pa, g, 0.1);
    sgd.step(pb, g, 0.1);
    assert.deepEqual([...pa], [...pb]);
    assert.equal(readCheckpoint(dir).params.length, 5); // size from the file when not given
    assert.throws(() => readCheckpoint(dir, 6), /size does not match a model of 6 parameters \(it holds 5\)/);
    assert.equal(configMismatch(config, { ...config, out: 'x', engine: 'local', evalEvery: 3 }), null);
    assert.equal(configMismatch(config, { ...config, lr: 0.01 }), 'lr');
    assert.equal(configMismatch(config, { ...config, seed: config.seed + 1 }), 'seed');
  });

  test('damage and bad contents are refused with one line naming the problem', () => {
    const { dir } = written();
    const good = readFileSync(file(dir));
    const refused = (b: Buffer, re: RegExp) => {
      writeFileSync(file(dir), b);
      assert.throws(
        () => readCheckpoint(dir, 5),
        (e: unknown) => e instanceof UsageError && re.test(e.message) && !e.message.includes('\n'),
      );
    };
    const jl = good.readUInt32LE(8);
    const paramsAt = 12 + jl + ((4 - ((12 + jl) % 4)) % 4);
    const flipped = Buffer.from(good);
    flipped[paramsAt + 2] ^= 0x10;
    refused(flipped, /checksum mismatch/);
    refused(good.subarray(0, good.length - 7), /checksum mismatch/);
    refused(good.subarray(0, 20), /checksum mismatch/);
    refused(Buffer.from('not a checkpoint'), /not a draco checkpoint/);
    const v1 = Buffer.from(good);
    v1.writeUInt32LE(1, 4);
    refused(v1, /format 1; this draco reads format 2/);
    const nan = Buffer.from(good);
    nan.writeFloatLE(NaN, paramsAt + 8);
    reseal(nan);
    refused(nan, /non-finite parameters/);
    const inf = Buffer.from(good);
    inf.writeFloatLE(-Infinity, paramsAt + 20 + 4); // momentum[1]
    reseal(inf);
    refused(inf, /non-finite parameters or momentum/);
    const json = (edit: (s: string) => string) => {
      const t = Buffer.from(good);
      assert.equal(edit(t.toString('latin1', 12, 12 + jl)).length, jl); // same length: only the JSON changes
      Buffer.from(edit(t.toString('latin1', 12, 12 + jl)), 'latin1').copy(t, 12);
      reseal(t);
      return t;
    };
    refused(
      json((s) => '}' + s.slice(1)),
      /corrupt metadata \(not JSON\)/,
    );
    refused(
      json((s) => s.replace('"momentumStarted":true', '"momentumStarted":4321')),
      /bad metadata \(momentumStarted:/,
    );
    refused(
      json((s) => s.replace('"bytesTotal":1234', '"bytesTotal":-234')),
      /bad metadata \(totals\.bytesTotal/,
    );
    refused(
      json((s) => s.replace('"step":4', '"step":3')),
      /step times do not cover/,
    );
    writeFileSync(file(dir), good);
    assert.equal(readCheckpoint(dir, 5).meta.step, 4);
  });

  test('a write error (a full disk) leaves no temporary file and the last good checkpoint', () => {
    const { dir } = written();
    const before = readFileSync(file(dir));
    let writes = 0;
    const full: FileIo = {
      ...nodeIo,
      write: (fd, b, off, len, pos) => {
        if (++writes === 3) {
          const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
          e.code = 'ENOSPC';
          throw e;
        }
        return nodeIo.write(fd, b, off, len, pos);
      },
    };
    const ck = readCheckpoint(dir, 5);
    assert.throws(
      () => writeCheckpoint(dir, { ...ck, meta: { ...ck.meta } }, full),
      (e: unknown) =>
        e instanceof UsageError &&
        /^cannot write \S+checkpoint\.bin: ENOSPC \(no space left on device\); the last good checkpoint, if any, is kept$/.test(
          e.message,
        ),
    );
    assert.deepEqual(readdirSync(dir), ['checkpoint.bin']);
    assert.deepEqual(readFileSync(file(dir)), before);
    // Not a file error: a bug, kept as it is (with its stack).
    const buggy: FileIo = {
      ...nodeIo,
      write: () => {
        throw new TypeError('bug');
      },
    };
    assert.throws(() => writeCheckpoint(dir, ck, buggy), TypeError);
    assert.deepEqual(readdirSync(dir), ['checkpoint.bin', 'checkpoint.bin.tmp']);
  });
});
