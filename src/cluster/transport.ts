/**
 * What the PS and the workers need from a network, and nothing more (docs/protocol.md
 * "Transport"): frames to and from authenticated peers. The protocol above it (handshake,
 * sessions, MACs, every check on a frame) lives in process-engine.ts and worker.ts and does not
 * know which transport carries it. ZeroMQ with CURVE is the one there is (zmq-transport.ts).
 *
 * A transport must: admit only peers holding one of the run's long-term keys (the PS's side) and
 * only the PS holding its key (the worker's side), before any frame is delivered; bound the size
 * of a frame it buffers (`maxMessageSize`) and the frames it queues per peer; deliver each
 * message's frames together and in order per peer.
 */

/** The PS's side: many peers, each known by an opaque id. */
export interface ServerTransport {
  /** Start listening; returns the endpoint actually bound (a random port resolved). */
  bind(address: string): Promise<string>;
  /** Queue one message to `peer`. One send at a time: callers chain them. */
  send(peer: Buffer, frames: Buffer[]): Promise<void>;
  /** Messages as they arrive: the sending peer's id and the frames. Ends on close. */
  messages(): AsyncIterable<[peer: Buffer, frames: Buffer[]]>;
  /** Connections refused before any frame: a key not in the run, or a broken handshake. */
  refusals(): AsyncIterable<'key' | 'protocol'>;
  /** Stop; queued messages get up to `flushMs` to leave. */
  close(flushMs: number): Promise<void>;
}

/** A worker's side: one peer, the PS. */
export interface ClientTransport {
  /** Start connecting (and reconnecting) to `address`; throws on a malformed address. */
  connect(address: string): void;
  /** Queue one message to the PS. One send at a time: callers chain them. */
  send(frames: Buffer[]): Promise<void>;
  /** Messages from the PS. Ends on close. */
  messages(): AsyncIterable<Buffer[]>;
  /**
   * Outcomes of the secure handshake: 'ok'; 'refused' (the PS does not admit this worker's key);
   * 'failed' (the PS did not prove the expected key, or spoke another protocol).
   */
  handshakes(): AsyncIterable<'ok' | 'refused' | 'failed'>;
  close(): void;
}
