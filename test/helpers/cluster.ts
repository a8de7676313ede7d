import assert from 'node:assert/strict';
import type { Node } from '../../src/shared/api-types.js';
import { TestDaemon, type CliResult } from './procs.js';
import { waitFor } from './wait.js';

/** One node of a loopback test cluster: a tswarmd bound to its own 127.0.0.N address. */
export class ClusterNode extends TestDaemon {
  constructor(
    readonly name: string,
    readonly ip: string,
    extraArgs: readonly string[] = [],
  ) {
    super({ name, extraArgs });
  }

  get addr(): string {
    return `${this.ip}:2377`;
  }

  async ok(args: readonly string[]): Promise<string> {
    const r = await this.cli(args);
    assert.equal(
      r.code,
      0,
      `tswarm ${args.join(' ')} failed on ${this.name}:\n${r.stderr}${r.stdout}`,
    );
    return r.stdout;
  }

  async fails(args: readonly string[]): Promise<CliResult> {
    const r = await this.cli(args);
    assert.equal(r.code, 1, `tswarm ${args.join(' ')} should fail on ${this.name}:\n${r.stdout}`);
    assert.ok(r.stderr.trim().length > 0, 'a failure must say why');
    return r;
  }

  async init(extra: readonly string[] = []): Promise<string> {
    return this.ok([
      'swarm',
      'init',
      '--advertise-addr',
      this.ip,
      '--listen-addr',
      this.addr,
      ...extra,
    ]);
  }

  async join(token: string, remote: ClusterNode): Promise<string> {
    return this.ok([
      'swarm',
      'join',
      '--token',
      token,
      '--advertise-addr',
      this.ip,
      '--listen-addr',
      this.addr,
      remote.addr,
    ]);
  }

  async nodes(): Promise<Node[]> {
    const ids = (await this.ok(['node', 'ls', '-q'])).split('\n').filter(Boolean);
    return JSON.parse(await this.ok(['node', 'inspect', ...ids])) as Node[];
  }

  /** node ls as rows of cells (split on 2+ spaces), without the header. */
  async nodeTable(): Promise<string[][]> {
    const out = await this.ok(['node', 'ls']);
    return out
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.trim().split(/\s{2,}/));
  }

  async nodeId(): Promise<string> {
    const info = JSON.parse(await this.ok(['info', '--format', 'json'])) as {
      swarm: { node_id: string };
    };
    return info.swarm.node_id;
  }
}

/** Waits until `node ls` on `via` satisfies `pred`, returning the nodes. */
export async function waitNodes(
  via: ClusterNode,
  what: string,
  pred: (nodes: Node[]) => boolean,
  timeoutMs = 10_000,
): Promise<Node[]> {
  return waitFor(
    what,
    async () => {
      const ns = await via.nodes();
      return pred(ns) ? ns : undefined;
    },
    timeoutMs,
    100,
  );
}

export function byName(nodes: readonly Node[], name: string): Node {
  const n = nodes.find((x) => x.Description.Hostname === name);
  if (!n)
    throw new Error(`node ${name} not in ${nodes.map((x) => x.Description.Hostname).join(', ')}`);
  return n;
}

/**
 * Starts the daemons (all at once, or one after the other on a busy machine), has the first
 * init the swarm and the others join it as managers, then waits until every node is Ready.
 */
export async function formManagers(
  nodes: readonly ClusterNode[],
  opts: { oneByOne?: boolean } = {},
): Promise<void> {
  const [first, ...rest] = nodes;
  assert.ok(first, 'formManagers needs at least one node');
  if (opts.oneByOne) for (const n of nodes) await n.start();
  else await Promise.all(nodes.map((n) => n.start()));
  await first.init();
  const token = (await first.ok(['swarm', 'join-token', '-q', 'manager'])).trim();
  for (const n of rest) await n.join(token, first);
  await waitNodes(
    first,
    `${nodes.length} ready nodes`,
    (ns) => ns.length === nodes.length && ns.every((n) => n.Status.State === 'ready'),
  );
}
