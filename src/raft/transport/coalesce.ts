import type { Message, PeerId } from '../index.js';

/** Merged MsgApp entries stop growing past this many data bytes. */
export const COALESCE_MAX_BYTES = 1024 * 1024;

type MsgApp = Extract<Message, { type: 'MsgApp' }>;
type Entry = MsgApp['entries'][number];

function dataBytes(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.data.length;
  return n;
}

/** A merged MsgApp under construction: its entries array is ours to append to. */
interface Growing {
  readonly entries: Entry[];
  bytes: number;
}

function merge(
  prev: Message,
  m: Message,
  grow: Growing | undefined,
  maxBytes: number,
): { msg: Message; grow?: Growing } | undefined {
  if (prev.term !== m.term || prev.from !== m.from) return undefined;
  if (prev.type === 'MsgApp' && m.type === 'MsgApp') {
    // Raft §5.3: m continues prev exactly when it appends right after prev's last entry.
    const last = prev.entries[prev.entries.length - 1];
    if (last === undefined || m.entries.length === 0) return undefined;
    if (m.index !== last.index || m.logTerm !== last.term) return undefined;
    const g = grow ?? { entries: [...prev.entries], bytes: dataBytes(prev.entries) };
    const add = dataBytes(m.entries);
    if (g.bytes + add > maxBytes) return undefined;
    for (const e of m.entries) g.entries.push(e);
    g.bytes += add;
    return {
      msg: { ...prev, entries: g.entries, commit: Math.max(prev.commit, m.commit) },
      grow: g,
    };
  }
  if (prev.type === 'MsgAppResp' && m.type === 'MsgAppResp') {
    // Successful acks are cumulative: the highest one says everything the lower ones do.
    if (prev.reject || m.reject || m.index < prev.index) return undefined;
    return { msg: m };
  }
  if (prev.type === 'MsgHeartbeat' && m.type === 'MsgHeartbeat') {
    if (prev.ctx.length > 0 || m.ctx.length > 0) return undefined;
    return m.commit >= prev.commit ? { msg: m } : undefined;
  }
  return undefined;
}

/**
 * Merges runs of messages to the same peer that say nothing more apart than together:
 * consecutive MsgApps whose entries continue each other become one MsgApp (the leader
 * proposes entry by entry, so a Ready taken after a group commit holds one MsgApp per
 * proposal), successful MsgAppResps collapse into the highest, and plain heartbeats into
 * the last. Only a message's immediate predecessor to the same peer is considered, so
 * per-peer order is kept. The leader's flow control stays correct: one ack for the merged
 * MsgApp frees every in-flight slot up to its last index. Linear in the number of entries.
 */
export function coalesceMessages(
  msgs: readonly Message[],
  maxBytes = COALESCE_MAX_BYTES,
): readonly Message[] {
  if (msgs.length < 2) return msgs;
  const out: Message[] = [];
  const growing = new Map<number, Growing>();
  const lastTo = new Map<PeerId, number>();
  for (const m of msgs) {
    const j = lastTo.get(m.to);
    const prev = j === undefined ? undefined : out[j];
    if (j !== undefined && prev !== undefined) {
      const merged = merge(prev, m, growing.get(j), maxBytes);
      if (merged) {
        out[j] = merged.msg;
        if (merged.grow) growing.set(j, merged.grow);
        else growing.delete(j);
        continue;
      }
    }
    lastTo.set(m.to, out.length);
    out.push(m);
  }
  return out;
}
