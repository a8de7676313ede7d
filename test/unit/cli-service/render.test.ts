import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  capitalize,
  formatPorts,
  humanDuration,
  orderTasks,
  renderTable,
  stateText,
  withoutTaskId,
} from '../../../src/cli/service/render.js';
import type { Service, Task } from '../../../src/shared/api-types.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('renderTable', () => {
  it('pads each column to its widest cell plus 3 spaces; the last column is not padded', () => {
    const out = renderTable(
      ['ID', 'NAME', 'MODE'],
      [
        ['abc', 'web', 'replicated'],
        ['defghij', 'x', 'global'],
      ],
    );
    assert.equal(
      out,
      ['ID        NAME   MODE', 'abc       web    replicated', 'defghij   x      global', ''].join(
        '\n',
      ),
    );
  });

  it('a header wider than its cells sets the width', () => {
    assert.equal(
      renderTable(['LONGHEADER', 'B'], [['a', 'b']]),
      'LONGHEADER   B\na            b\n',
    );
  });

  it('trims trailing spaces when the last cells are empty', () => {
    const out = renderTable(['ID', 'ERROR', 'PORTS'], [['a', '', '']]);
    assert.equal(out, 'ID   ERROR   PORTS\na\n');
    for (const line of out.split('\n')) assert.equal(line, line.trimEnd());
  });

  it('with no rows prints just the header', () => {
    assert.equal(renderTable(['ID', 'NAME'], []), 'ID   NAME\n');
  });

  it('a short row is treated as empty cells', () => {
    assert.equal(renderTable(['A', 'B', 'C'], [['x']]), 'A   B   C\nx\n');
  });
});

describe('humanDuration (go-units HumanDuration)', () => {
  const cases: [number, string][] = [
    [-5 * SEC, 'Less than a second'],
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [SEC, '1 second'],
    [1999, '1 second'],
    [2 * SEC, '2 seconds'],
    [59 * SEC + 999, '59 seconds'],
    [MIN, 'About a minute'],
    [2 * MIN - 1, 'About a minute'],
    [2 * MIN, '2 minutes'],
    [59 * MIN + 59 * SEC, '59 minutes'],
    [HOUR, 'About an hour'],
    [HOUR + 29 * MIN, 'About an hour'],
    [HOUR + 30 * MIN, '2 hours'],
    [47 * HOUR + 29 * MIN, '47 hours'],
    [47 * HOUR + 30 * MIN, '2 days'],
    [13 * DAY + 23 * HOUR, '13 days'],
    [14 * DAY, '2 weeks'],
    [59 * DAY, '8 weeks'],
    [60 * DAY, '2 months'],
    [365 * DAY, '12 months'],
    [2 * 365 * DAY - HOUR, '24 months'],
    // Go rounds hours for the month bucket but truncates them for years.
    [2 * 365 * DAY - 20 * MIN, '1 years'],
    [2 * 365 * DAY, '2 years'],
    [10 * 365 * DAY, '10 years'],
  ];
  for (const [ms, text] of cases) {
    it(`${ms} ms → ${text}`, () => {
      assert.equal(humanDuration(ms), text);
    });
  }
});

describe('small formatters', () => {
  it('capitalize', () => {
    assert.equal(capitalize('running'), 'Running');
    assert.equal(capitalize(''), '');
  });

  it('stateText reads like docker service ps', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    assert.equal(stateText('running', '2026-01-01T00:05:00Z', now), 'Running 5 minutes ago');
    assert.equal(
      stateText('failed', '2026-01-01T00:09:59.500Z', now),
      'Failed Less than a second ago',
    );
  });

  it('formatPorts', () => {
    assert.equal(formatPorts(undefined), '');
    assert.equal(
      formatPorts([
        { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
        { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'host' },
      ]),
      '*:8080->80/tcp, *:53->53/udp',
    );
  });
});

function svc(id: string, name: string): Service {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '2026-01-01T00:00:00Z',
    UpdatedAt: '2026-01-01T00:00:00Z',
    Spec: {
      Name: name,
      Labels: {},
      TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
      Mode: { Replicated: { Replicas: 1 } },
    },
  };
}

function task(
  id: string,
  serviceId: string,
  createdSec: number,
  slot?: number,
  node?: string,
): Task {
  const at = new Date(Date.parse('2026-01-01T00:00:00Z') + createdSec * SEC).toISOString();
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: at,
    UpdatedAt: at,
    Labels: {},
    Spec: { ContainerSpec: { Image: 'busybox' } },
    ServiceID: serviceId,
    ...(slot !== undefined ? { Slot: slot } : {}),
    ...(node !== undefined ? { NodeID: node } : {}),
    Status: { Timestamp: at, State: 'running', Message: '' },
    DesiredState: 'running',
  };
}

describe('orderTasks (service ps order)', () => {
  const services = new Map([
    ['s-b', svc('s-b', 'beta')],
    ['s-a', svc('s-a', 'alpha')],
  ]);

  it('services by name, slots ascending, newest first in a slot; older ones are history', () => {
    const rows = orderTasks(
      [
        task('b1', 's-b', 0, 1),
        task('a2-old', 's-a', 0, 2),
        task('a1-old', 's-a', 0, 1),
        task('a10', 's-a', 5, 10),
        task('a2-new', 's-a', 9, 2),
        task('a1-mid', 's-a', 5, 1),
        task('a1-new', 's-a', 9, 1),
      ],
      services,
    );
    assert.deepEqual(
      rows.map((r) => [r.task.ID, r.name, r.history]),
      [
        ['a1-new', 'alpha.1', false],
        ['a1-mid', 'alpha.1', true],
        ['a1-old', 'alpha.1', true],
        ['a2-new', 'alpha.2', false],
        ['a2-old', 'alpha.2', true],
        ['a10', 'alpha.10', false],
        ['b1', 'beta.1', false],
      ],
    );
  });

  it('global tasks are named service.node and grouped by node', () => {
    const rows = orderTasks(
      [
        task('g-n2', 's-a', 0, undefined, 'node2'),
        task('g-n1-old', 's-a', 0, undefined, 'node1'),
        task('g-n1-new', 's-a', 3, undefined, 'node1'),
      ],
      services,
    );
    assert.deepEqual(
      rows.map((r) => [r.task.ID, r.name, r.history]),
      [
        ['g-n1-new', 'alpha.node1', false],
        ['g-n1-old', 'alpha.node1', true],
        ['g-n2', 'alpha.node2', false],
      ],
    );
  });

  it('a task of an unknown service is named by its service ID', () => {
    const rows = orderTasks([task('x', 'gone', 0, 1)], services);
    assert.equal(rows[0]?.name, 'gone.1');
  });

  it('does not reorder its input array', () => {
    const input = [task('a', 's-b', 0, 2), task('b', 's-a', 0, 1)];
    orderTasks(input, services);
    assert.deepEqual(
      input.map((t) => t.ID),
      ['a', 'b'],
    );
  });
});

describe('service logs --no-task-ids', () => {
  it("drops the task ID from a line's source and keeps the slot and node", () => {
    assert.equal(withoutTaskId('web.3.k1x9e2r7q0ab@node2'), 'web.3@node2');
    assert.equal(withoutTaskId('my.app.12.k1x9e2r7q0ab@10.0.0.1'), 'my.app.12@10.0.0.1');
  });
  it('leaves a source without a task ID alone', () => {
    assert.equal(withoutTaskId('web.3@node2'), 'web.3@node2');
  });
});
