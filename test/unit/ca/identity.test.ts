import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TswarmError } from '../../../src/shared/errors.js';
import {
  assertIdentityConsistent,
  certificatePaths,
  loadIdentity,
  saveIdentity,
  type RootCa,
  type TlsIdentity,
} from '../../../src/daemon/ca/index.js';
import { createRootCa, makeIdentity } from './ca-fixtures.js';

function pick({ caCertPem, certPem, keyPem }: TlsIdentity): TlsIdentity {
  return { caCertPem, certPem, keyPem };
}

async function mode(file: string): Promise<number> {
  return (await stat(file)).mode & 0o777;
}

describe('identity store', () => {
  let root: string;
  let ca: RootCa;
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tswarm-ca-'));
    ca = await createRootCa();
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('returns undefined when nothing was saved', async () => {
    assert.equal(await loadIdentity(path.join(root, 'nothing-here')), undefined);
  });

  it('saves swarm-root-ca.crt, swarm-node.crt, swarm-node.key with 0644/0644/0600 and loads them back', async () => {
    const dir = path.join(root, 'a');
    const id = pick(await makeIdentity(ca, 'manager'));
    await saveIdentity(dir, id);
    const p = certificatePaths(dir);
    assert.equal(p.dir, path.join(dir, 'certificates'));
    assert.deepEqual((await readdir(p.dir)).sort(), [
      'swarm-node.crt',
      'swarm-node.key',
      'swarm-root-ca.crt',
    ]);
    assert.equal(await mode(p.nodeKey), 0o600);
    assert.equal(await mode(p.nodeCert), 0o644);
    assert.equal(await mode(p.caCert), 0o644);
    assert.equal(await mode(p.dir), 0o700);
    assert.equal(await readFile(p.nodeKey, 'utf8'), id.keyPem);
    assert.deepEqual(await loadIdentity(dir), id);
  });

  it('overwrites atomically on renewal and leaves no temporary files', async () => {
    const dir = path.join(root, 'b');
    const first = await makeIdentity(ca, 'worker');
    await saveIdentity(dir, pick(first));
    const renewed = pick(
      await makeIdentity(ca, 'manager', { nodeId: first.nodeId, clusterId: first.clusterId }),
    );
    await saveIdentity(dir, renewed);
    assert.deepEqual(await loadIdentity(dir), renewed);
    assert.deepEqual((await readdir(certificatePaths(dir).dir)).sort(), [
      'swarm-node.crt',
      'swarm-node.key',
      'swarm-root-ca.crt',
    ]);
    assert.equal(await mode(certificatePaths(dir).nodeKey), 0o600);
  });

  it('tightens a key file that had loose permissions', async () => {
    const dir = path.join(root, 'c');
    const id = pick(await makeIdentity(ca, 'worker'));
    await saveIdentity(dir, id);
    const p = certificatePaths(dir);
    await unlink(p.nodeKey);
    await writeFile(p.nodeKey, id.keyPem, { mode: 0o666 });
    await saveIdentity(dir, id);
    assert.equal(await mode(p.nodeKey), 0o600);
  });

  it('reports an incomplete identity', async () => {
    const dir = path.join(root, 'd');
    await saveIdentity(dir, pick(await makeIdentity(ca, 'worker')));
    await unlink(certificatePaths(dir).nodeKey);
    await assert.rejects(loadIdentity(dir), (err: unknown) => {
      assert.ok(err instanceof TswarmError);
      assert.equal(err.code, 'INTERNAL');
      assert.match(err.message, /incomplete TLS identity in .*: missing swarm-node\.key$/);
      return true;
    });
  });

  it('reports a key that does not match the certificate, and a foreign CA', async () => {
    const a = pick(await makeIdentity(ca, 'worker'));
    const b = pick(await makeIdentity(ca, 'worker'));
    const dir = path.join(root, 'e');
    await saveIdentity(dir, { ...a, keyPem: b.keyPem });
    await assert.rejects(
      loadIdentity(dir),
      /invalid TLS identity in .*: node certificate does not match the node key/,
    );
    const other = await createRootCa();
    await saveIdentity(dir, { ...a, caCertPem: other.certPem });
    await assert.rejects(loadIdentity(dir), /not issued by this cluster CA/);
    assert.throws(
      () => assertIdentityConsistent({ ...a, keyPem: b.keyPem }),
      /does not match the node key/,
    );
  });
});
