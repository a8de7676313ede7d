import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClusterNode, formManagers } from '../../helpers/cluster.js';
import { docker, tswarmContainers, removeContainers } from '../../helpers/docker.js';
import { requireDocker, TEST_IMAGE, TSWARM } from '../../helpers/procs.js';
import { waitFor } from '../../helpers/wait.js';

/** A command that exits promptly on SIGTERM (busybox sleep as PID 1 ignores it). */
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];
const SERVICES = ['stsec_app', 'stsec_late'];

/** Removes the containers of this file's services only (other tests share the engine). */
function removeOwnContainers(): void {
  removeContainers(SERVICES.flatMap((s) => tswarmContainers(s)));
}

/** Files under `dir` whose bytes contain `needle` (grep -r -a -l -F). */
function grepFiles(dir: string, needle: string): string[] {
  const r = spawnSync('grep', ['-r', '-a', '-l', '-F', needle, dir], { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`grep failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

function exec(id: string, ...cmd: string[]): { code: number; out: string } {
  const r = spawnSync('docker', ['exec', id, ...cmd], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

describe('secrets: encrypted at rest, mounted from tmpfs into the tasks that use them', () => {
  const n1 = new ClusterNode('stsec1', '127.0.0.31');
  const n2 = new ClusterNode('stsec2', '127.0.0.32');
  const n3 = new ClusterNode('stsec3', '127.0.0.33');
  const nodes = [n1, n2, n3];
  const clear = `stsecret-${randomBytes(12).toString('hex')}`;
  const clear2 = `stsecret2-${randomBytes(12).toString('hex')}`;
  const clear3 = `stsecret3-${randomBytes(12).toString('hex')}`;
  const file = path.join(n1.dir, 'db_password.txt');
  const file2 = path.join(n1.dir, 'api_key.txt');

  before(async () => {
    requireDocker();
    removeOwnContainers();
    writeFileSync(file, clear);
    writeFileSync(file2, clear2);
    await formManagers(nodes);
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.cleanup()));
    removeOwnContainers();
  });

  it('creates, lists and inspects a secret without ever showing its data', async () => {
    const id = (await n1.ok(['secret', 'create', '-l', 'env=test', 'stdb_password', file])).trim();
    assert.match(id, /^[a-z0-9]{25}$/);
    // Through a follower too (forwarded to the leader).
    await n2.ok(['secret', 'create', 'stapi_key', file2]);
    // From stdin.
    const fromStdin = spawnSync(
      process.execPath,
      [TSWARM, '-H', n3.host, 'secret', 'create', 'ststdin', '-'],
      { input: clear3, encoding: 'utf8' },
    );
    assert.equal(fromStdin.status, 0, fromStdin.stderr);
    assert.match(fromStdin.stdout, /^[a-z0-9]{25}\n$/);
    const ls = await n3.ok(['secret', 'ls']);
    assert.match(ls, /^ID\s+NAME\s+DRIVER\s+CREATED\s+UPDATED/);
    assert.match(ls, new RegExp(`${id}\\s+stdb_password\\s+.*ago`));
    assert.equal((await n1.ok(['secret', 'ls', '-q'])).trim().split('\n').length, 3);
    const json = (await n1.ok(['secret', 'ls', '--format', 'json'])).trim().split('\n');
    assert.equal((JSON.parse(json[1] ?? '{}') as { Name: string }).Name, 'stdb_password');
    const inspect = await n2.ok(['secret', 'inspect', 'stdb_password']);
    const [obj] = JSON.parse(inspect) as { ID: string; Spec: { Name: string; Labels: object } }[];
    assert.equal(obj?.ID, id);
    assert.deepEqual(obj.Spec, { Name: 'stdb_password', Labels: { env: 'test' } });
    assert.ok(!inspect.includes(clear), 'inspect must not show the data');
    assert.match(await n1.ok(['secret', 'inspect', '--pretty', id]), /Name:\s+stdb_password/);

    const dup = await n1.fails(['secret', 'create', 'stdb_password', file]);
    assert.match(dup.stderr, /secret stdb_password already exists/);
    const badName = await n1.fails(['secret', 'create', '-bad', file]);
    assert.ok(badName.stderr.length > 0);
    const badName2 = await n1.fails(['secret', 'create', 'st bad', file]);
    assert.match(badName2.stderr, /invalid name, only 64 \[a-zA-Z0-9-_.\] characters allowed/);
    const missing = await n1.fails([
      'service',
      'create',
      '-d',
      '--name',
      'stsec_nope',
      '--secret',
      'stnope',
      TEST_IMAGE,
    ]);
    assert.match(missing.stderr, /secret not valid or not found: stnope/);
  });

  it('mounts the secret read-only at /run/secrets/<target> in every task', async () => {
    await n1.ok([
      'service',
      'create',
      '--name',
      'stsec_app',
      '--replicas',
      '2',
      '-q',
      '--secret',
      'stdb_password',
      '--secret',
      'source=stapi_key,target=api/key,mode=0400,uid=1000',
      '--secret',
      'source=ststdin,target=/etc/stdin-secret',
      TEST_IMAGE,
      ...SLEEPER,
    ]);
    const running = await waitFor(
      'two running stsec_app containers',
      () => {
        const cs = tswarmContainers('stsec_app').filter((c) => c.running);
        return cs.length === 2 ? cs : undefined;
      },
      20_000,
    );
    for (const c of running) {
      // First prove the secret really is there (so the grep below can fail for a reason).
      assert.equal(exec(c.id, 'cat', '/run/secrets/stdb_password').out, clear);
      assert.equal(exec(c.id, 'cat', '/run/secrets/api/key').out, clear2);
      assert.equal(exec(c.id, 'cat', '/etc/stdin-secret').out, clear3, 'absolute target');
      assert.equal(
        exec(c.id, 'stat', '-c', '%a %u', '/run/secrets/api/key').out.trim(),
        '400 1000',
      );
      assert.equal(exec(c.id, 'stat', '-c', '%a', '/run/secrets/stdb_password').out.trim(), '444');
      const write = exec(c.id, 'sh', '-c', 'echo x > /run/secrets/stdb_password');
      assert.notEqual(write.code, 0, 'the mount is read-only');
      // The bind source is on a memory file system, not the node's disk.
      const mounts = JSON.parse(docker('inspect', '-f', '{{json .Mounts}}', c.id)) as {
        Source: string;
        Destination: string;
        RW: boolean;
      }[];
      const m = mounts.find((x) => x.Destination === '/run/secrets/stdb_password');
      assert.ok(m && !m.RW, JSON.stringify(mounts));
      const fsType = spawnSync('stat', ['-f', '-c', '%T', m.Source], { encoding: 'utf8' });
      assert.equal(fsType.stdout.trim(), 'tmpfs');
    }
  });

  it('keeps the clear text out of every data root and daemon log', () => {
    for (const n of nodes) {
      // The store is on disk and readable by grep: the secret's name is found in the log...
      assert.ok(
        grepFiles(n.dataRoot, 'stdb_password').length > 0,
        `no Raft data in ${n.dataRoot}?`,
      );
      // ...but neither secret's data is.
      assert.deepEqual(grepFiles(n.dataRoot, clear), [], `clear text under ${n.dataRoot}`);
      assert.deepEqual(grepFiles(n.dataRoot, clear2), [], `clear text under ${n.dataRoot}`);
      assert.deepEqual(grepFiles(n.dataRoot, clear3), [], `clear text under ${n.dataRoot}`);
      assert.ok(!n.log.includes(clear), `clear text in the log of ${n.name}`);
    }
  });

  it('refuses to remove a secret in use and changes nothing', async () => {
    const r = await n2.fails(['secret', 'rm', 'stdb_password']);
    assert.match(
      r.stderr,
      /Error response from daemon: rpc error: code = InvalidArgument desc = secret 'stdb_password' is in use by the following service: stsec_app/,
    );
    assert.match(await n1.ok(['secret', 'ls']), /stdb_password/);
    const running = tswarmContainers('stsec_app').filter((c) => c.running);
    assert.equal(running.length, 2);
    for (const c of running)
      assert.equal(exec(c.id, 'cat', '/run/secrets/stdb_password').out, clear);
  });

  it('adds and removes secrets with service update', async () => {
    await n1.ok(['service', 'create', '--name', 'stsec_late', '-q', TEST_IMAGE, ...SLEEPER]);
    await n1.ok([
      'service',
      'update',
      '-q',
      '--secret-add',
      'source=stdb_password,target=late',
      'stsec_late',
    ]);
    const c = await waitFor(
      'stsec_late container with the secret',
      () =>
        tswarmContainers('stsec_late').find(
          (x) => x.running && exec(x.id, 'cat', '/run/secrets/late').out === clear,
        ),
      20_000,
    );
    assert.ok(c);
    await n1.ok(['service', 'update', '-q', '--secret-rm', 'stdb_password', 'stsec_late']);
    await waitFor(
      'stsec_late container without the secret',
      () =>
        tswarmContainers('stsec_late').find(
          (x) => x.running && exec(x.id, 'test', '-e', '/run/secrets/late').code !== 0,
        ),
      20_000,
    );
  });

  it('removes a secret once no service uses it', async () => {
    await n1.ok(['service', 'rm', 'stsec_app', 'stsec_late']);
    await n1.ok(['secret', 'rm', 'stdb_password', 'stapi_key', 'ststdin']);
    assert.equal((await n3.ok(['secret', 'ls', '-q'])).trim(), '');
    await waitFor(
      'containers removed',
      () => SERVICES.every((s) => tswarmContainers(s).length === 0),
      20_000,
    );
    // The tmpfs copies go with the containers.
    const roots = await Promise.all(
      nodes.map(async (n) => path.join('/dev/shm/tswarm-secrets', await n.nodeId())),
    );
    await waitFor(
      'secret files released',
      () => roots.every((r) => !existsSync(r) || readdirSync(r).length === 0),
      10_000,
    );
    const gone = await n1.fails(['secret', 'rm', 'stdb_password']);
    assert.match(gone.stderr, /secret stdb_password not found/);
  });
});
