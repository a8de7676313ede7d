import type { Message, PeerId } from '../index.js';

/**
 * Moves raft messages between peers. The driver is its only user:
 * - `send()` is called with a Ready's messages only after that Ready was persisted; it never
 *   blocks and never throws for network reasons. A message that cannot go out is dropped and
 *   the peer reported through onUnreachable (raft retransmits; the core's reportUnreachable
 *   puts the follower back into probing).
 * - A MsgSnap's outcome is reported through onSnapshotStatus (ok once the peer holds the
 *   complete snapshot), which the driver forwards to the core's reportSnapshot.
 * - Received messages are handed to onMessage in arrival order per sender, on the event loop
 *   (never re-entrantly from inside send()).
 * Delivery is best effort: messages may be lost, and messages from different streams
 * (MsgSnap vs the rest) may be reordered. Raft tolerates both.
 */
export interface Transport {
  /** Starts serving (binds, or registers on a shared server). */
  start(): Promise<void>;
  /** Stops serving and cuts every connection; no callback fires afterwards. */
  stop(): Promise<void>;
  send(messages: readonly Message[]): void;
  /** Adds a peer or changes its address ("host:port"). */
  setPeer(id: PeerId, addr: string): void;
  removePeer(id: PeerId): void;
  onMessage(cb: (m: Message) => void): void;
  onUnreachable(cb: (id: PeerId) => void): void;
  onSnapshotStatus(cb: (id: PeerId, ok: boolean) => void): void;
}

/** Turns messages into frames and back; GrpcTransport uses src/raft's codec by default. */
export interface MessageCodec {
  encode(m: Message): Uint8Array;
  /** Throws (RangeError) on garbage. */
  decode(b: Uint8Array): Message;
}
