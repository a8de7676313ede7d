import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dispatcher } from '../../../src/daemon/manager/dispatcher/dispatcher.js';
import { Store } from '../../../src/daemon/manager/store/store.js';
import type { Command } from '../../../src/daemon/manager/store/types.js';
import type { Task, TaskState } from '../../../src/shared/api-types.js';
import {
  entryFor,
  makeAssignedTask,
  makeCluster,
  makeNode,
  silentLogger,
  T0,
} from '../manager/fixtures.js';

const A = 'nodea00000000000000000000';
const B = 'nodeb00000000000000000000';

function task(id: string, node: string, desired: TaskState, secrets: boolean): Task {
  return makeAssignedTask(id, node, desired, {
    Image: 'x',
    ...(secrets
      ? {
          Secrets: [
            {
              SecretID: 'sec1',
              SecretName: 'db',
              File: { Name: 'db', UID: '0', GID: '0', Mode: 0o444 },
            },
          ],
        }
      : {}),
  });
}

describe('dispatcher and secrets', () => {
  it('sends a secret only with the tasks of the node that still has to run them', () => {
    const store = new Store();
    let i = 0;
    const commit = (cmd: Command): void => {
      store.apply(entryFor(++i, cmd));
    };
    commit({ op: 'cluster.create', at: T0, cluster: makeCluster() });
    commit({ op: 'node.create', at: T0, node: makeNode(A) });
    commit({ op: 'node.create', at: T0, node: makeNode(B) });
    commit({
      op: 'task.create',
      at: T0,
      tasks: [
        task('t1', A, 'running', true),
        task('t2', A, 'shutdown', true),
        task('t3', B, 'running', false),
      ],
    });
    const opened: string[] = [];
    const d = new Dispatcher({
      store,
      propose: () => Promise.resolve({ ok: true }),
      heartbeatPeriodMs: () => 1000,
      openSecret: (id) => {
        opened.push(id);
        return id === 'sec1' ? Buffer.from('clear') : undefined;
      },
      log: silentLogger(),
    });
    const onA = d.assignmentsFor(A);
    assert.deepEqual(
      onA.map((a) => [a.task.ID, a.secrets?.map((s) => s.data.toString())]),
      [
        ['t1', ['clear']],
        ['t2', undefined],
      ],
    );
    assert.deepEqual(
      d.assignmentsFor(B).map((a) => a.secrets),
      [undefined],
    );
    assert.deepEqual(opened, ['sec1'], 'decrypted once, for the one task that needs it');
  });
});
