import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  managerStatusText,
  nodeRow,
  renderNodeInspect,
  renderNodeList,
  renderNodePretty,
  sortNodes,
} from '../../../src/cli/commands/node/index.js';
import { makeNode } from './fake-daemon.js';

const nodes = [
  makeNode('nodeID1', 'node-2-foo', { role: 'manager', leader: true, engine: '.' }),
  makeNode('nodeID2', 'node-10-foo', { role: 'manager', engine: '18.03.0-ce' }),
  makeNode('nodeID3', 'node-1-foo', { engine: '1.13.0' }),
];

/** A row laid out with the column widths worked out by hand for these nodes. */
function line(
  id: string,
  host: string,
  status: string,
  avail: string,
  ms: string,
  ev: string,
): string {
  return (
    id.padEnd(12) + host.padEnd(14) + status.padEnd(10) + avail.padEnd(15) + ms.padEnd(17) + ev
  );
}

describe('node ls rendering', () => {
  it('prints Docker’s table: natural hostname order, * on self, capitalised states', () => {
    assert.equal(
      renderNodeList(nodes, 'nodeID1', undefined, false),
      [
        line('ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'),
        line('nodeID3', 'node-1-foo', 'Ready', 'Active', '', '1.13.0'),
        line('nodeID1 *', 'node-2-foo', 'Ready', 'Active', 'Leader', '.'),
        line('nodeID2', 'node-10-foo', 'Ready', 'Active', 'Reachable', '18.03.0-ce'),
        '',
      ].join('\n'),
    );
  });

  it('marks no node when the CLI’s node is not in the list', () => {
    assert.doesNotMatch(renderNodeList(nodes, '', undefined, false), /\*/);
  });

  it('prints only IDs with -q, in the same order', () => {
    assert.equal(renderNodeList(nodes, 'nodeID1', undefined, true), 'nodeID3\nnodeID1\nnodeID2\n');
    assert.equal(renderNodeList(nodes, 'nodeID1', 'table', true), 'nodeID3\nnodeID1\nnodeID2\n');
  });

  it('prints one JSON object per node with --format json', () => {
    const out = renderNodeList(nodes.slice(0, 1), 'nodeID1', 'json', false);
    assert.equal(
      out,
      '{"Availability":"Active","EngineVersion":".","Hostname":"node-2-foo","ID":"nodeID1","ManagerStatus":"Leader","Self":true,"Status":"Ready","TLSStatus":"Unknown"}\n',
    );
  });

  it('takes custom templates, with and without a table header', () => {
    assert.equal(
      renderNodeList(nodes, '', '{{.Hostname}}: {{.ManagerStatus}}', false),
      'node-1-foo: \nnode-2-foo: Leader\nnode-10-foo: Reachable\n',
    );
    assert.equal(
      renderNodeList(nodes, '', 'table {{.ID}}\\t{{.Hostname}}', false),
      'ID        HOSTNAME\nnodeID3   node-1-foo\nnodeID1   node-2-foo\nnodeID2   node-10-foo\n',
    );
    assert.throws(
      () => renderNodeList(nodes, '', '{{.Spec.Role}}', false),
      /can't evaluate field Spec/,
    );
  });

  it('capitalises every node state, availability and reachability', () => {
    const cases = [
      [{ state: 'down' as const }, 'Down'],
      [{ state: 'unknown' as const }, 'Unknown'],
      [{ state: 'disconnected' as const }, 'Disconnected'],
    ] as const;
    for (const [opts, want] of cases)
      assert.equal(nodeRow(makeNode('x', 'h', opts), '').Status, want);
    for (const [a, want] of [
      ['pause', 'Pause'],
      ['drain', 'Drain'],
      ['active', 'Active'],
    ] as const) {
      assert.equal(nodeRow(makeNode('x', 'h', { availability: a }), '').Availability, want);
    }
    assert.equal(
      managerStatusText(makeNode('x', 'h', { role: 'manager', reachability: 'unreachable' })),
      'Unreachable',
    );
    assert.equal(
      managerStatusText(makeNode('x', 'h', { role: 'manager', leader: true })),
      'Leader',
    );
    assert.equal(managerStatusText(makeNode('x', 'h')), '');
  });

  it('breaks hostname ties by ID', () => {
    const tied = [makeNode('b', 'same'), makeNode('a', 'same')];
    assert.deepEqual(
      sortNodes(tied).map((n) => n.ID),
      ['a', 'b'],
    );
  });
});

describe('node inspect rendering', () => {
  it('prints an indented JSON array by default', () => {
    const out = renderNodeInspect(nodes.slice(0, 1), '');
    assert.ok(out.startsWith('[\n    {\n        "ID": "nodeID1",'));
    assert.deepEqual(JSON.parse(out), nodes.slice(0, 1));
    assert.equal(renderNodeInspect([], ''), '[]\n');
  });

  it('runs a template per node over the raw object', () => {
    assert.equal(
      renderNodeInspect(nodes, '{{.Spec.Role}} {{.ManagerStatus.Leader}}'),
      'manager true\nmanager false\nworker <no value>\n',
    );
    assert.equal(renderNodeInspect(nodes.slice(2), '{{json .Spec.Labels}}'), '{}\n');
  });

  it('prints the pretty layout', () => {
    const n = makeNode('nodeID1', 'node-2-foo', {
      role: 'manager',
      leader: true,
      labels: { zone: 'a', flag: '' },
    });
    assert.equal(
      renderNodePretty(n),
      [
        'ID:\t\t\tnodeID1',
        'Labels:',
        ' - flag',
        ' - zone=a',
        'Hostname:              \tnode-2-foo',
        'Joined at:             \t2024-05-01 12:34:56.5 +0000 UTC',
        'Status:',
        ' State:\t\t\tReady',
        ' Availability:         \tActive',
        ' Address:\t\t10.0.0.1',
        'Manager Status:',
        ' Address:\t\t10.0.0.1:2377',
        ' Raft Status:\t\tReachable',
        ' Leader:\t\tYes',
        'Platform:',
        ' Operating System:\tlinux',
        ' Architecture:\t\tx86_64',
        'Resources:',
        ' CPUs:\t\t\t4',
        ' Memory:\t\t7.668GiB',
        'Engine Version:\t\t24.0.7',
        '',
      ].join('\n'),
    );
    assert.doesNotMatch(renderNodePretty(makeNode('w', 'h')), /Manager Status/);
  });
});
