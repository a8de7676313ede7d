/**
 * Compact binary codec for messages, entries and conf changes. Layout: a version byte, a type
 * tag, then fields in a fixed order. Integers are unsigned LEB128 varints (safe integers only),
 * strings are length-prefixed UTF-8, byte arrays are length-prefixed. Decoding is strict: any
 * truncation, unknown tag, invalid UTF-8, oversized varint or trailing byte throws RangeError.
 */
import { Reader, Writer } from './codec-buffer.js';
import type { Message } from './message.js';
import { assertNever, MESSAGE_TYPES } from './message.js';
import type { ConfChange, ConfChangeType, ConfState, Entry, EntryType, Snapshot } from './types.js';

const VERSION = 1;
const ENTRY_TYPES: readonly EntryType[] = ['normal', 'conf-change'];
const CONF_CHANGE_TYPES: readonly ConfChangeType[] = ['add-voter', 'add-learner', 'remove-node'];

function writeEntry(w: Writer, e: Entry): void {
  w.uint(e.term);
  w.uint(e.index);
  w.byte(ENTRY_TYPES.indexOf(e.type));
  w.bytes(e.data);
}

function readEntry(r: Reader): Entry {
  const term = r.uint();
  const index = r.uint();
  const type = r.tag(ENTRY_TYPES, 'entry type');
  return { term, index, type, data: r.bytes() };
}

function writeIds(w: Writer, ids: readonly string[]): void {
  w.uint(ids.length);
  for (const id of ids) w.str(id);
}

function readIds(r: Reader): string[] {
  const n = r.uint();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(r.str());
  return ids;
}

function writeSnapshot(w: Writer, s: Snapshot): void {
  w.uint(s.meta.index);
  w.uint(s.meta.term);
  writeIds(w, s.meta.confState.voters);
  writeIds(w, s.meta.confState.learners);
  w.bytes(s.data);
}

function readSnapshot(r: Reader): Snapshot {
  const index = r.uint();
  const term = r.uint();
  const confState: ConfState = { voters: readIds(r), learners: readIds(r) };
  return { meta: { index, term, confState }, data: r.bytes() };
}

/** Serializes any message; `decodeMessage(encodeMessage(m))` deep-equals `m`. */
export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer();
  w.byte(VERSION);
  w.byte(MESSAGE_TYPES.indexOf(m.type));
  w.str(m.from);
  w.str(m.to);
  w.uint(m.term);
  switch (m.type) {
    case 'MsgApp':
      w.uint(m.index);
      w.uint(m.logTerm);
      w.uint(m.commit);
      w.uint(m.entries.length);
      for (const e of m.entries) writeEntry(w, e);
      break;
    case 'MsgAppResp':
      w.uint(m.index);
      w.bool(m.reject);
      w.uint(m.rejectHint);
      w.uint(m.logTerm);
      break;
    case 'MsgVote':
    case 'MsgPreVote':
      w.uint(m.index);
      w.uint(m.logTerm);
      w.bool(m.transfer);
      break;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      w.bool(m.reject);
      break;
    case 'MsgHeartbeat':
      w.uint(m.commit);
      w.bytes(m.ctx);
      break;
    case 'MsgHeartbeatResp':
    case 'MsgReadIndex':
      w.bytes(m.ctx);
      break;
    case 'MsgSnap':
      writeSnapshot(w, m.snapshot);
      break;
    case 'MsgTimeoutNow':
      break;
    case 'MsgReadIndexResp':
      w.bytes(m.ctx);
      w.uint(m.index);
      break;
    case 'MsgTransferLeader':
      w.str(m.transferee);
      break;
    default:
      assertNever(m);
  }
  return w.finish();
}

function readMessage(r: Reader): Message {
  const version = r.byte();
  if (version !== VERSION) throw new RangeError(`codec: unknown message version ${version}`);
  const type = r.tag(MESSAGE_TYPES, 'message type');
  const env = { from: r.str(), to: r.str(), term: r.uint() };
  switch (type) {
    case 'MsgApp': {
      const index = r.uint();
      const logTerm = r.uint();
      const commit = r.uint();
      const n = r.uint();
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) entries.push(readEntry(r));
      return { type, ...env, index, logTerm, entries, commit };
    }
    case 'MsgAppResp':
      return {
        type,
        ...env,
        index: r.uint(),
        reject: r.bool(),
        rejectHint: r.uint(),
        logTerm: r.uint(),
      };
    case 'MsgVote':
    case 'MsgPreVote':
      return { type, ...env, index: r.uint(), logTerm: r.uint(), transfer: r.bool() };
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return { type, ...env, reject: r.bool() };
    case 'MsgHeartbeat':
      return { type, ...env, commit: r.uint(), ctx: r.bytes() };
    case 'MsgHeartbeatResp':
    case 'MsgReadIndex':
      return { type, ...env, ctx: r.bytes() };
    case 'MsgSnap':
      return { type, ...env, snapshot: readSnapshot(r) };
    case 'MsgTimeoutNow':
      return { type, ...env };
    case 'MsgReadIndexResp':
      return { type, ...env, ctx: r.bytes(), index: r.uint() };
    case 'MsgTransferLeader':
      return { type, ...env, transferee: r.str() };
    default:
      return assertNever(type);
  }
}

/** Parses a message; throws RangeError on anything that `encodeMessage` could not have produced. */
export function decodeMessage(b: Uint8Array): Message {
  const r = new Reader(b);
  const m = readMessage(r);
  r.end();
  return m;
}

/** Serializes a conf change (the data of a 'conf-change' entry). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const w = new Writer();
  w.byte(VERSION);
  w.byte(CONF_CHANGE_TYPES.indexOf(cc.type));
  w.str(cc.nodeId);
  w.bytes(cc.context);
  return w.finish();
}

/** Parses a conf change; throws RangeError on garbage. */
export function decodeConfChange(b: Uint8Array): ConfChange {
  const r = new Reader(b);
  const version = r.byte();
  if (version !== VERSION) throw new RangeError(`codec: unknown conf change version ${version}`);
  const type = r.tag(CONF_CHANGE_TYPES, 'conf change type');
  const cc = { type, nodeId: r.str(), context: r.bytes() };
  r.end();
  return cc;
}

/** Serializes one log entry (for WALs and tests). */
export function encodeEntry(e: Entry): Uint8Array {
  const w = new Writer();
  w.byte(VERSION);
  writeEntry(w, e);
  return w.finish();
}

/** Parses one log entry; throws RangeError on garbage. */
export function decodeEntry(b: Uint8Array): Entry {
  const r = new Reader(b);
  const version = r.byte();
  if (version !== VERSION) throw new RangeError(`codec: unknown entry version ${version}`);
  const e = readEntry(r);
  r.end();
  return e;
}
