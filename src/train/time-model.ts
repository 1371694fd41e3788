/**
 * The time model (issue 7): what one synchronous step would take on a real cluster, built from
 * what the in-process engine measures plus a modeled network. Always reported as MODELED.
 *
 *   modeled step = max_i (compute_i + encode_i)          measured, slowest worker
 *                + comm                                  modeled, below
 *                + decode/aggregate + update             measured at the PS
 *
 * The network is a star around the PS whose single link (bandwidth B, one-way latency L) is the
 * bottleneck, as in the classic parameter server: the broadcast of the float32 parameters to the
 * n workers and the n messages back both cross it.
 *
 *   comm = (L + n * 4d / B)  +  (L + sum_i bytesSent_i / B)
 *
 * So a scheme that sends less (Solon: d/m values per worker, signSGD: d/8 bytes) saves exactly its
 * share of the upload, and every scheme pays the same download.
 */

/** The network the time model assumes. */
export interface NetworkModel {
  /** Bandwidth of the PS's link, megabytes (1e6 bytes) per second. */
  bandwidthMBps: number;
  /** One-way latency per transfer, milliseconds. */
  latencyMs: number;
}

/** 1 Gbit/s and 0.1 ms: a data-centre link like the papers' EC2 clusters. */
export const DEFAULT_NETWORK: NetworkModel = { bandwidthMBps: 125, latencyMs: 0.1 };

/** Modeled communication ms of one step: parameter broadcast plus the workers' messages. */
export function modeledCommMs(net: NetworkModel, numParams: number, bytesSent: readonly number[]): number {
  const bytesPerMs = net.bandwidthMBps * 1e3; // MB/s = 1e6 B / 1e3 ms
  const down = (bytesSent.length * 4 * numParams) / bytesPerMs;
  let upBytes = 0;
  for (const b of bytesSent) upBytes += b;
  return 2 * net.latencyMs + down + upBytes / bytesPerMs;
}
