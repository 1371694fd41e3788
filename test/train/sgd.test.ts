import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { learningRate } from '../../src/train/lr.js';
import { Sgd } from '../../src/train/sgd.js';

describe('Sgd', () => {
  test('momentum and weight decay by hand (PyTorch semantics)', () => {
    const p = Float32Array.from([1, -1]);
    const opt = new Sgd(2, 0.5, 0.1);
    opt.step(p, Float64Array.from([1, 2]), 0.1);
    // g = grad + 0.1 p = [1.1, 1.9]; buf = g; p -= 0.1 buf
    assert.deepEqual(Array.from(p), [Math.fround(1 - 0.11), Math.fround(-1 - 0.19)]);
    opt.step(p, Float64Array.from([0, 0]), 0.1);
    // buf = 0.5 [1.1, 1.9] + 0.1 p
    const b0 = Math.fround(0.5 * Math.fround(1.1) + 0.1 * Math.fround(0.89));
    assert.ok(Math.abs(p[0] - (Math.fround(0.89) - 0.1 * b0)) < 1e-6);
  });
  test('plain SGD without momentum', () => {
    const p = Float32Array.from([2]);
    new Sgd(1, 0, 0).step(p, Float64Array.from([4]), 0.25);
    assert.deepEqual(Array.from(p), [1]);
  });
});

describe('learning-rate schedules', () => {
  const base = { lr: 1, stepEvery: 10, gamma: 0.5, totalSteps: 100 };
  test('constant, step, cosine', () => {
    assert.equal(learningRate({ ...base, schedule: 'constant' }, 57), 1);
    assert.equal(learningRate({ ...base, schedule: 'step' }, 9), 1);
    assert.equal(learningRate({ ...base, schedule: 'step' }, 25), 0.25);
    assert.equal(learningRate({ ...base, schedule: 'cosine' }, 0), 1);
    assert.ok(Math.abs(learningRate({ ...base, schedule: 'cosine' }, 50) - 0.5) < 1e-12);
    assert.ok(Math.abs(learningRate({ ...base, schedule: 'cosine' }, 100)) < 1e-12);
  });
});
