import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import {
  RaftDriver,
  type RaftDriverOptions,
  type RaftPeer,
  type StateMachine,
} from '../../../src/daemon/raft/driver.js';
import type { Entry } from '../../../src/raft/index.js';
import { GrpcTransport } from '../../../src/raft/transport/index.js';
import { waitFor } from '../../helpers/wait.js';

const text = new TextDecoder();
const bytes = new TextEncoder();

/** A deterministic pseudo-random blob (xorshift32), so a big snapshot is not all zeros. */
export function makeBlob(size: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, Math.floor(size / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return out;
}

export function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * The test state machine: a list of applied strings, plus a blob set by "blob:<size>"
 * entries (to make big snapshots). apply() returns the list length.
 */
export class ListFsm implements StateMachine {
  values: string[] = [];
  blob: Uint8Array = new Uint8Array(0);
  restores = 0;

  apply(e: Entry): unknown {
    const s = text.decode(e.data);
    if (s.startsWith('blob:')) this.blob = makeBlob(Number(s.slice(5)));
    else this.values.push(s);
    return this.values.length;
  }

  snapshot(): Uint8Array {
    const head = bytes.encode(JSON.stringify(this.values));
    const out = new Uint8Array(4 + head.length + this.blob.length);
    new DataView(out.buffer).setUint32(0, head.length);
    out.set(head, 4);
    out.set(this.blob, 4 + head.length);
    return out;
  }

  restore(data: Uint8Array): void {
    this.restores++;
    if (data.length === 0) {
      this.values = [];
      this.blob = new Uint8Array(0);
      return;
    }
    const len = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
    this.values = JSON.parse(text.decode(data.subarray(4, 4 + len))) as string[];
    this.blob = data.slice(4 + len);
  }
}

export interface Member<F extends StateMachine = ListFsm> {
  readonly id: string;
  readonly host: string;
  addr: string;
  readonly dir: string;
  fsm: F;
  transport: GrpcTransport;
  driver: RaftDriver | undefined;
}

export type DriverTuning = Partial<
  Omit<RaftDriverOptions, 'id' | 'dataDir' | 'transport' | 'fsm' | 'logger'>
>;

const logLevel = process.env['RAFT_TEST_LOG'] ?? 'silent';

/** Drivers over GrpcTransport in this process, each on its own 127.0.10.x address. */
export class TestCluster<F extends StateMachine = ListFsm> {
  readonly members = new Map<string, Member<F>>();
  readonly root = mkdtempSync(path.join(os.tmpdir(), 'tswarm-raft-'));
  private readonly log = pino({ level: logLevel }, pino.destination(2));

  constructor(
    readonly tuning: DriverTuning = {},
    /** A fresh state machine (for a new member, or a restarted one that rebuilds from disk). */
    private readonly makeFsm: () => F = () => new ListFsm() as unknown as F,
  ) {}

  /** Creates a member and starts its transport (binding 127.0.10.<n>:port, 0 = any). */
  async add(n: number, transport: { server?: grpc.Server } = {}, port = 0): Promise<Member<F>> {
    const id = `n${n}`;
    const host = `127.0.10.${n}`;
    const m: Member<F> = {
      id,
      host,
      addr: '',
      dir: path.join(this.root, id),
      fsm: this.makeFsm(),
      transport: this.makeTransport(id, `${host}:${port}`, transport),
      driver: undefined,
    };
    await m.transport.start();
    m.addr = m.transport.address() || `${host}:${port}`;
    this.members.set(id, m);
    return m;
  }

  private makeTransport(
    id: string,
    listen: string,
    extra: { server?: grpc.Server },
  ): GrpcTransport {
    const base = {
      id,
      channelCredentials: grpc.credentials.createInsecure(),
      logger: this.log.child({ node: id, component: 'raft-transport' }),
    };
    if (extra.server) return new GrpcTransport({ ...base, server: extra.server });
    return new GrpcTransport({
      ...base,
      listen,
      serverCredentials: grpc.ServerCredentials.createInsecure(),
    });
  }

  get(id: string): Member<F> {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  driver(id: string): RaftDriver {
    const d = this.get(id).driver;
    if (!d) throw new Error(`${id} is not running`);
    return d;
  }

  /** Opens the member's driver (its transport must be fresh or already started). */
  async open(
    id: string,
    opts: { bootstrapVoters?: readonly RaftPeer[]; peers?: readonly RaftPeer[] } = {},
  ): Promise<RaftDriver> {
    const m = this.get(id);
    m.driver = await RaftDriver.open({
      ...this.tuning,
      ...opts,
      id,
      dataDir: m.dir,
      transport: m.transport,
      fsm: m.fsm,
      logger: this.log.child({ node: id, component: 'raft' }),
    });
    return m.driver;
  }

  /** Stops the member's driver (and transport) at once, as an abrupt shutdown. */
  async stop(id: string): Promise<void> {
    const m = this.get(id);
    const d = m.driver;
    m.driver = undefined;
    await d?.stop();
  }

  /** Re-opens a stopped member from its data dir, with a new transport on the same address. */
  async restart(id: string): Promise<RaftDriver> {
    const m = this.get(id);
    m.fsm = this.makeFsm();
    m.transport = this.makeTransport(id, m.addr, {});
    await m.transport.start();
    return this.open(id, { peers: this.peers() });
  }

  peers(): RaftPeer[] {
    return [...this.members.values()].map((m) => ({ id: m.id, addr: m.addr }));
  }

  running(): Member<F>[] {
    return [...this.members.values()].filter((m) => m.driver !== undefined);
  }

  /** Waits until every running member agrees on one leader, and returns its id. */
  async waitLeader(timeoutMs = 10_000, among = this.running()): Promise<string> {
    return waitFor(
      'one agreed leader',
      () => {
        const ls = among.map((m) => m.driver?.leaderId() ?? '');
        const l = ls[0];
        if (!l || !ls.every((x) => x === l)) return undefined;
        return this.members.get(l)?.driver?.isLeader() ? l : undefined;
      },
      timeoutMs,
      10,
    );
  }

  async cleanup(): Promise<void> {
    for (const m of this.members.values()) {
      await m.driver?.stop().catch(() => undefined);
      await m.transport.stop();
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
