import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from '../../../src/cli/client.js';
import { waitConverged } from '../../../src/cli/service/progress.js';
import type { Service, Task } from '../../../src/shared/api-types.js';
import { TswarmError } from '../../../src/shared/errors.js';

const SVC = 'svc000000000000000000web1';
const V1 = { ContainerSpec: { Image: 'app:v1' } };
const V2 = { ContainerSpec: { Image: 'app:v2' } };
type Status = Service['UpdateStatus'];

function service(template: typeof V1, status: Status): Service {
  return {
    ID: SVC,
    Version: { Index: 5 },
    CreatedAt: '2026-01-01T00:00:00Z',
    UpdatedAt: '2026-01-01T00:00:00Z',
    Spec: {
      Name: 'web',
      Labels: {},
      TaskTemplate: template,
      Mode: { Replicated: { Replicas: 1 } },
    },
    ...(status ? { UpdateStatus: status } : {}),
  };
}

function task(template: typeof V1, state: Task['Status']['State']): Task {
  return {
    ID: `task${template.ContainerSpec.Image.replace(/\W/g, '')}${state}`,
    Version: { Index: 1 },
    CreatedAt: '2026-01-01T00:00:00Z',
    UpdatedAt: '2026-01-01T00:00:00Z',
    Labels: {},
    Spec: template,
    ServiceID: SVC,
    Slot: 1,
    Status: { Timestamp: new Date().toISOString(), State: state, Message: state },
    DesiredState: 'running',
  };
}

/** A client whose daemon answers from `frames`, one per poll (the last one repeats). */
function fakeClient(frames: readonly { svc: Service; tasks: Task[] }[]): Client {
  let i = 0;
  const raw = {
    ServiceInspect: (_req: unknown, _o: unknown, cb: (e: null, r: { json: string }) => void) => {
      const f = frames[Math.min(i, frames.length - 1)];
      cb(null, { json: JSON.stringify(f?.svc) });
    },
    TaskList: (_req: unknown, _o: unknown, cb: (e: null, r: { json: string[] }) => void) => {
      const f = frames[Math.min(i, frames.length - 1)];
      i++;
      cb(null, { json: (f?.tasks ?? []).map((t) => JSON.stringify(t)) });
    },
  };
  return {
    call: <Res>(invoke: (c: unknown, o: unknown, cb: (e: null, r: Res) => void) => unknown) =>
      new Promise<Res>((resolve) => {
        invoke(raw, {}, (_e, r) => {
          resolve(r);
        });
      }),
  } as unknown as Client;
}

async function run(frames: readonly { svc: Service; tasks: Task[] }[]): Promise<string> {
  let out = '';
  await waitConverged(
    fakeClient(frames),
    SVC,
    {
      stdout: (s) => (out += s),
      stderr: () => undefined,
      env: {},
    },
    false,
  );
  return out;
}

describe('waitConverged follows UpdateStatus (Docker’s progress)', () => {
  it('a paused update ends the wait with Docker’s error', async () => {
    const paused: Status = { State: 'paused', Message: 'update paused due to failure of task x' };
    await assert.rejects(
      run([{ svc: service(V2, paused), tasks: [task(V2, 'failed')] }]),
      (err: unknown) =>
        err instanceof TswarmError &&
        err.message === 'service update paused: update paused due to failure of task x',
    );
    const rbPaused: Status = { State: 'rollback_paused', Message: 'rollback paused due to y' };
    await assert.rejects(
      run([{ svc: service(V1, rbPaused), tasks: [task(V1, 'failed')] }]),
      /service rollback paused: rollback paused due to y/,
    );
  });

  it('an automatic rollback: says why, counts the rollback, converges on the old spec', async () => {
    const why = 'update rolled back due to failure or early termination of task x';
    const out = await run([
      { svc: service(V2, { State: 'updating', Message: 'update in progress' }), tasks: [] },
      { svc: service(V1, { State: 'rollback_started', Message: why }), tasks: [] },
      {
        svc: service(V1, { State: 'rollback_completed', Message: `rollback completed (${why})` }),
        tasks: [task(V1, 'running')],
      },
    ]);
    assert.match(out, new RegExp(`^rollback: ${why} $`, 'm'));
    assert.match(out, /^overall progress: rolling back update: 1 out of 1 tasks $/m);
    assert.match(out, /rollback: rollback completed \nverify: Service converged \n$/);
  });

  it('an update converges only once the updater closed it', async () => {
    const updating = { svc: service(V2, { State: 'updating', Message: '' }), tasks: [] as Task[] };
    updating.tasks.push(task(V2, 'running'));
    const frames = [
      ...Array.from({ length: 10 }, () => updating),
      {
        svc: service(V2, { State: 'completed', Message: 'update completed' }),
        tasks: updating.tasks,
      },
    ];
    const t0 = Date.now();
    const out = await run(frames);
    // 10 polls (150 ms apart) with the update still open, then the 1 s verify.
    assert.ok(Date.now() - t0 >= 10 * 150 + 1000, `${Date.now() - t0} ms`);
    assert.match(out, /overall progress: 1 out of 1 tasks/);
    assert.doesNotMatch(out, /rollback/);
    assert.match(out, /verify: Service converged \n$/);
  });
});

describe('waitConverged through an election', () => {
  /** Fails the first `failures` calls with `err`, then answers one converged frame. */
  function flakyClient(
    failures: number,
    err: TswarmError,
  ): { client: Client; calls: () => number } {
    let n = 0;
    const svc = service(V1, undefined);
    const raw = {
      ServiceInspect: (_q: unknown, _o: unknown, cb: (e: null, r: { json: string }) => void) => {
        cb(null, { json: JSON.stringify(svc) });
      },
      TaskList: (_q: unknown, _o: unknown, cb: (e: null, r: { json: string[] }) => void) => {
        cb(null, { json: [JSON.stringify(task(V1, 'running'))] });
      },
    };
    const client = {
      call: <Res>(invoke: (c: unknown, o: unknown, cb: (e: null, r: Res) => void) => unknown) =>
        new Promise<Res>((resolve, reject) => {
          if (n++ < failures) {
            reject(err);
            return;
          }
          invoke(raw, {}, (_e, r) => {
            resolve(r);
          });
        }),
    } as unknown as Client;
    return { client, calls: () => n };
  }
  const io = { stdout: () => undefined, stderr: () => undefined, env: {} };

  it('waits out a lost leader: the service was created, only the view is delayed', async () => {
    const noLeader = new TswarmError('NO_QUORUM', 'The swarm does not have a leader.');
    const { client, calls } = flakyClient(3, noLeader);
    await waitConverged(client, SVC, io, true);
    assert.ok(calls() > 3);
  });

  it('fails at once on an error that is not an election', async () => {
    const gone = new TswarmError('NOT_FOUND', 'service web not found');
    const { client, calls } = flakyClient(1, gone);
    await assert.rejects(waitConverged(client, SVC, io, true), /service web not found/);
    assert.equal(calls(), 1);
  });
});
