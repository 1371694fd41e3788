import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { configMismatch, readCheckpoint, writeCheckpoint } from '../../src/cluster/checkpoint.js';
import {
  buildMessage,
  Dtype,
  HEADER_BYTES,
  MsgType,
  parseMessage,
  payloadVec,
  vecBytes,
} from '../../src/cluster/protocol.js';
import { resolveConfig } from '../../src/experiment/config.js';
import { Sgd } from '../../src/train/sgd.js';

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
  test('atomic write and exact read back; config mismatch named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'draco-ck-'));
    const config = resolveConfig({ dataset: 'synthetic', steps: 10 });
    const sgd = new Sgd(5, 0.9, 0);
    const params = new Float32Array([1, 2, 3, 4, 5]);
    sgd.step(params, new Float64Array([0.5, -1, 2, 0, 1e-3]), 0.1);
    writeCheckpoint(dir, {
      meta: { step: 4, momentumStarted: true, config, totals: { x: 1 } },
      params,
      momentum: sgd.getState().buf,
    });
    assert.deepEqual(readdirSync(dir), ['checkpoint.bin']); // the temporary file was renamed
    const ck = readCheckpoint(dir, 5);
    assert.deepEqual([...ck.params], [...params]);
    assert.deepEqual([...ck.momentum], [...sgd.getState().buf]);
    assert.equal(ck.meta.step, 4);
    // Restoring the momentum continues the same trajectory.
    const a = new Sgd(5, 0.9, 0);
    a.setState({ buf: ck.momentum, started: true });
    const pa = ck.params.slice();
    const pb = params.slice();
    const g = new Float64Array([1, 1, 1, 1, 1]);
    a.step(pa, g, 0.1);
    sgd.step(pb, g, 0.1);
    assert.deepEqual([...pa], [...pb]);
    assert.throws(() => readCheckpoint(dir, 6), /size does not match/);
    assert.equal(configMismatch(config, { ...config, out: 'x', engine: 'local' }), null);
    assert.equal(configMismatch(config, { ...config, lr: 0.1 }), 'lr');
  });
});
