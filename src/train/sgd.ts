/**
 * SGD with momentum and (coupled) weight decay, PyTorch semantics:
 *   g <- grad + wd * p;  buf <- mu * buf + g (buf = g on the first step);  p <- p - lr * buf.
 * Plain typed-array code: deterministic, and a single pass over the parameters.
 */
export class Sgd {
  private readonly buf: Float32Array;
  private started = false;

  constructor(
    readonly numParams: number,
    readonly momentum: number,
    readonly weightDecay: number,
  ) {
    this.buf = new Float32Array(numParams);
  }

  /** The momentum buffer and whether it has started (for checkpoints). */
  getState(): { buf: Float32Array; started: boolean } {
    return { buf: this.buf.slice(), started: this.started };
  }

  setState(state: { buf: Float32Array; started: boolean }): void {
    if (state.buf.length !== this.buf.length)
      throw new Error(`Sgd.setState: buffer length ${state.buf.length} != ${this.buf.length}`);
    this.buf.set(state.buf);
    this.started = state.started;
  }

  /** Update `params` in place with the mean gradient `grad`. */
  step(params: Float32Array, grad: Float64Array, lr: number): void {
    const { buf, momentum: mu, weightDecay: wd } = this;
    const n = params.length;
    if (grad.length !== n) throw new Error(`Sgd.step: gradient length ${grad.length} != ${n}`);
    if (mu === 0) {
      for (let i = 0; i < n; i++) params[i] -= lr * (grad[i] + wd * params[i]);
      return;
    }
    if (!this.started) {
      for (let i = 0; i < n; i++) buf[i] = grad[i] + wd * params[i];
      this.started = true;
    } else {
      for (let i = 0; i < n; i++) buf[i] = mu * buf[i] + (grad[i] + wd * params[i]);
    }
    for (let i = 0; i < n; i++) params[i] -= lr * buf[i];
  }
}
