import type { PeerId } from '../../raft/index.js';

/**
 * The driver's snapshot data: the member address book plus the state machine's own bytes.
 * The address book travels with the snapshot so that a node restored from one (after a
 * restart, or a new member caught up by MsgSnap) can reach its peers even though the
 * conf-change entries that carried the addresses were compacted away.
 *
 * Layout: "TSRS" | u8 version (1) | u32be length of the JSON address book | JSON | fsm bytes.
 */
export interface SnapshotEnvelope {
  readonly peers: ReadonlyMap<PeerId, string>;
  readonly fsm: Uint8Array;
}

const MAGIC = [0x54, 0x53, 0x52, 0x53]; // "TSRS"
const VERSION = 1;
const HEADER = MAGIC.length + 1 + 4;

export function encodeSnapshotEnvelope(env: SnapshotEnvelope): Uint8Array {
  const book = Buffer.from(JSON.stringify(Object.fromEntries([...env.peers].sort())), 'utf8');
  const out = new Uint8Array(HEADER + book.length + env.fsm.length);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  new DataView(out.buffer).setUint32(5, book.length);
  out.set(book, HEADER);
  out.set(env.fsm, HEADER + book.length);
  return out;
}

/** Empty data decodes as an empty envelope. Throws RangeError when `data` is not an envelope this version understands. */
export function decodeSnapshotEnvelope(data: Uint8Array): SnapshotEnvelope {
  // bootstrap()'s snapshot from src/raft carries no data: no peers, empty state.
  if (data.length === 0) return { peers: new Map(), fsm: data };
  if (data.length < HEADER || MAGIC.some((b, i) => data[i] !== b)) {
    throw new RangeError('snapshot data is not a tswarm raft snapshot envelope');
  }
  if (data[4] !== VERSION) throw new RangeError(`unknown snapshot envelope version ${data[4]}`);
  const len = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(5);
  if (HEADER + len > data.length) throw new RangeError('snapshot envelope truncated');
  const raw: unknown = JSON.parse(
    Buffer.from(data.buffer, data.byteOffset + HEADER, len).toString('utf8'),
  );
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new RangeError('snapshot envelope address book is not an object');
  }
  const peers = new Map<PeerId, string>();
  for (const [id, addr] of Object.entries(raw)) {
    if (typeof addr !== 'string') throw new RangeError(`bad address for ${id} in snapshot`);
    peers.set(id, addr);
  }
  return { peers, fsm: data.subarray(HEADER + len) };
}
