import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChannelCredentials, type Client } from '@grpc/grpc-js';
import { TswarmError } from '../../../src/shared/errors.js';
import { generateId } from '../../../src/shared/ids.js';
import {
  caDigest,
  channelCredentials,
  createNodeKeyAndCsr,
  createRootCa,
  fetchRootCaForToken,
  generateJoinToken,
  issueNodeCertificate,
  joinChannelCredentials,
  parseJoinToken,
  serverCredentials,
  TlsIdentitySource,
  type JoinTokens,
  type NodeRole,
  type RootCa,
  type TlsIdentity,
} from '../../../src/daemon/ca/index.js';
import { call, caTest, connect, startTestServer, type TestServer } from './ca-test-service.js';

async function issue(ca: RootCa, role: NodeRole, clusterId: string, nodeId = generateId()) {
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const certPem = await issueNodeCertificate(ca, csrPem, { nodeId, role, clusterId });
  return { identity: { caCertPem: ca.certPem, certPem, keyPem } satisfies TlsIdentity, nodeId };
}

/** Rejects with a TswarmError of `code`, optionally with exactly `message`. */
async function rejectsWith(
  p: Promise<unknown>,
  code: string,
  message?: string | RegExp,
): Promise<TswarmError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof TswarmError, `expected a TswarmError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else if (message) assert.match(caught.message, message);
  return caught;
}

describe('mTLS between nodes (grpc-js, 127.0.20.1)', () => {
  const clients: Client[] = [];
  const servers: TestServer[] = [];
  const clusterId = generateId();
  const revoked = new Set<string>();
  let ca: RootCa;
  let foreignCa: RootCa;
  let tokens: JoinTokens;
  let manager: { identity: TlsIdentity; nodeId: string };
  let worker: { identity: TlsIdentity; nodeId: string };
  let strict: TestServer; // clientCerts: 'require' (7946, Raft)
  let lenient: TestServer; // clientCerts: 'verify-if-given' (2377: joiners reach the CA service)

  function client(address: string, creds: ChannelCredentials): Client {
    const c = connect(address, creds);
    clients.push(c);
    return c;
  }

  /** Trusts our CA (so the *server* decides) and presents `identity`, or no certificate. */
  function rawCreds(presented?: TlsIdentity): ChannelCredentials {
    return ChannelCredentials.createSsl(
      Buffer.from(ca.certPem),
      presented ? Buffer.from(presented.keyPem) : null,
      presented ? Buffer.from(presented.certPem) : null,
      { checkServerIdentity: () => undefined },
    );
  }

  before(async () => {
    ca = await createRootCa();
    foreignCa = await createRootCa();
    tokens = { worker: generateJoinToken(ca.certPem), manager: generateJoinToken(ca.certPem) };
    manager = await issue(ca, 'manager', clusterId);
    worker = await issue(ca, 'worker', clusterId);
    const base = { ca, clusterId, tokens, revoked };
    strict = await startTestServer({ ...base, credentials: serverCredentials(manager.identity) });
    lenient = await startTestServer({
      ...base,
      credentials: serverCredentials(manager.identity, { clientCerts: 'verify-if-given' }),
    });
    servers.push(strict, lenient);
  });

  after(() => {
    for (const c of clients) c.close();
    for (const s of servers) s.close();
  });

  it('a manager certificate can call a manager-only method', async () => {
    const c = client(
      strict.address,
      channelCredentials(manager.identity, { expectRole: 'manager' }),
    );
    assert.deepEqual(await call(c, caTest.ManagerOnly, {}), { nodeId: manager.nodeId });
    const l = client(lenient.address, channelCredentials(manager.identity));
    assert.deepEqual(await call(l, caTest.AnyNode, {}), {
      nodeId: manager.nodeId,
      role: 'manager',
    });
  });

  it('a worker certificate gets PERMISSION_DENIED on a manager-only method, but may call AnyNode', async () => {
    const c = client(
      strict.address,
      channelCredentials(worker.identity, { expectRole: 'manager' }),
    );
    await rejectsWith(
      call(c, caTest.ManagerOnly, {}),
      'PERMISSION_DENIED',
      `permission denied: node ${worker.nodeId} with role worker cannot call a manager-only API`,
    );
    assert.deepEqual(await call(c, caTest.AnyNode, {}), { nodeId: worker.nodeId, role: 'worker' });
  });

  it('a certificate from another CA fails the TLS handshake', async () => {
    const { identity: foreign } = await issue(foreignCa, 'manager', clusterId);
    // Positive control: the same client construction with our certificate gets through.
    assert.equal(
      (await call(client(strict.address, rawCreds(manager.identity)), caTest.AnyNode, {})).role,
      'manager',
    );
    const before = strict.received.length;
    await rejectsWith(
      call(client(strict.address, rawCreds(foreign)), caTest.AnyNode, {}),
      'UNAVAILABLE',
    );
    assert.equal(strict.received.length, before, 'no request reached a handler');
    // Where anonymous clients are allowed, a foreign certificate counts as none.
    await rejectsWith(
      call(client(lenient.address, rawCreds(foreign)), caTest.AnyNode, {}),
      'PERMISSION_DENIED',
      /presented no valid certificate from this swarm/,
    );
  });

  it('no client certificate fails the handshake (strict) or is refused by authorize (lenient)', async () => {
    const before = strict.received.length;
    await rejectsWith(call(client(strict.address, rawCreds()), caTest.AnyNode, {}), 'UNAVAILABLE');
    assert.equal(strict.received.length, before);
    await rejectsWith(
      call(client(lenient.address, rawCreds()), caTest.ManagerOnly, {}),
      'PERMISSION_DENIED',
      'permission denied: the caller presented no valid certificate from this swarm',
    );
  });

  it('the client refuses a server that is not a manager or not from our CA', async () => {
    const workerServer = await startTestServer({
      ca,
      clusterId,
      tokens,
      credentials: serverCredentials(worker.identity),
    });
    servers.push(workerServer);
    await rejectsWith(
      call(
        client(
          workerServer.address,
          channelCredentials(manager.identity, { expectRole: 'manager' }),
        ),
        caTest.AnyNode,
        {},
      ),
      'UNAVAILABLE',
    );
    // Without a role expectation, any node of the cluster is a fine server (7946).
    assert.equal(
      (
        await call(
          client(workerServer.address, channelCredentials(manager.identity)),
          caTest.AnyNode,
          {},
        )
      ).nodeId,
      manager.nodeId,
    );
    const { identity: foreignServerId } = await issue(foreignCa, 'manager', clusterId);
    const foreignServer = await startTestServer({
      ca: foreignCa,
      clusterId,
      tokens,
      credentials: serverCredentials(foreignServerId),
    });
    servers.push(foreignServer);
    await rejectsWith(
      call(client(foreignServer.address, channelCredentials(manager.identity)), caTest.AnyNode, {}),
      'UNAVAILABLE',
    );
    assert.equal(foreignServer.received.length, 0);
  });

  it('an expired client certificate fails the handshake', async () => {
    const { keyPem, csrPem } = await createNodeKeyAndCsr();
    const certPem = await issueNodeCertificate(ca, csrPem, {
      nodeId: generateId(),
      role: 'manager',
      clusterId,
      now: new Date(Date.now() - 10 * 24 * 60 * 60 * 1000),
      validityMs: 24 * 60 * 60 * 1000,
    });
    const expired: TlsIdentity = { caCertPem: ca.certPem, certPem, keyPem };
    await rejectsWith(
      call(client(strict.address, rawCreds(expired)), caTest.AnyNode, {}),
      'UNAVAILABLE',
    );
    await rejectsWith(
      call(client(lenient.address, rawCreds(expired)), caTest.AnyNode, {}),
      'PERMISSION_DENIED',
      /no valid certificate/,
    );
  });

  it('TlsIdentitySource.update on a server: new connections see the new certificate', async () => {
    const node = await issue(ca, 'manager', clusterId);
    const source = new TlsIdentitySource(node.identity);
    const server = await startTestServer({
      ca,
      clusterId,
      tokens,
      credentials: serverCredentials(source),
    });
    servers.push(server);
    const creds = channelCredentials(worker.identity, { expectRole: 'manager' });
    assert.equal(
      (await call(client(server.address, creds), caTest.AnyNode, {})).nodeId,
      worker.nodeId,
    );
    // Demoted: the server now presents a worker certificate, which a manager-seeking client refuses.
    source.update((await issue(ca, 'worker', clusterId, node.nodeId)).identity);
    await rejectsWith(call(client(server.address, creds), caTest.AnyNode, {}), 'UNAVAILABLE');
    source.update((await issue(ca, 'manager', clusterId, node.nodeId)).identity);
    assert.equal(
      (await call(client(server.address, creds), caTest.AnyNode, {})).nodeId,
      worker.nodeId,
    );
  });

  it('a removed node is refused even with a valid certificate', async () => {
    const gone = await issue(ca, 'manager', clusterId);
    const c = client(strict.address, channelCredentials(gone.identity));
    assert.equal((await call(c, caTest.ManagerOnly, {})).nodeId, gone.nodeId);
    revoked.add(gone.nodeId);
    try {
      await rejectsWith(
        call(c, caTest.ManagerOnly, {}),
        'PERMISSION_DENIED',
        `node ${gone.nodeId} has been removed from the swarm`,
      );
      await rejectsWith(
        call(c, caTest.AnyNode, {}),
        'PERMISSION_DENIED',
        /has been removed from the swarm/,
      );
    } finally {
      revoked.delete(gone.nodeId);
    }
  });

  it('join: fetch the CA unverified, check it against the token, then get a certificate over a verified channel', async () => {
    const token = tokens.worker;
    const caPem = await fetchRootCaForToken(token, (untrusted) =>
      call(client(lenient.address, untrusted), caTest.GetRootCa, {}).then((r) => r.caCertPem),
    );
    assert.equal(caPem, ca.certPem);
    const { keyPem, csrPem } = await createNodeKeyAndCsr();
    const joined = await call(
      client(lenient.address, joinChannelCredentials(caPem)),
      caTest.IssueNodeCertificate,
      {
        token,
        csrPem,
      },
    );
    assert.equal(joined.role, 'worker');
    const me: TlsIdentity = { caCertPem: caPem, certPem: joined.certPem, keyPem };
    const res = await call(
      client(strict.address, channelCredentials(me, { expectRole: 'manager' })),
      caTest.AnyNode,
      {},
    );
    assert.deepEqual(res, { nodeId: joined.nodeId, role: 'worker' });
  });

  it('join: a manager token yields a manager certificate; an unknown secret is refused', async () => {
    const caPem = await fetchRootCaForToken(tokens.manager, (untrusted) =>
      call(client(lenient.address, untrusted), caTest.GetRootCa, {}).then((r) => r.caCertPem),
    );
    const { csrPem } = await createNodeKeyAndCsr();
    const c = client(lenient.address, joinChannelCredentials(caPem));
    assert.equal(
      (await call(c, caTest.IssueNodeCertificate, { token: tokens.manager, csrPem })).role,
      'manager',
    );
    await rejectsWith(
      call(c, caTest.IssueNodeCertificate, { token: generateJoinToken(ca.certPem), csrPem }),
      'PERMISSION_DENIED',
      'invalid join token',
    );
  });

  it('join: a CA that does not match the token digest is rejected before any secret is sent', async () => {
    // A rogue manager serving its own CA (a man in the middle, or the wrong swarm).
    const { identity: rogueId } = await issue(foreignCa, 'manager', clusterId);
    const rogue = await startTestServer({
      ca: foreignCa,
      clusterId,
      tokens,
      credentials: serverCredentials(rogueId, { clientCerts: 'verify-if-given' }),
    });
    servers.push(rogue);
    const expected = `remote CA does not match fingerprint. Expected: sha256:`;
    await rejectsWith(
      fetchRootCaForToken(tokens.worker, (untrusted) =>
        call(client(rogue.address, untrusted), caTest.GetRootCa, {}).then((r) => r.caCertPem),
      ),
      'PERMISSION_DENIED',
      new RegExp(`^${expected.replaceAll('.', '\\.')}`),
    );
    assert.deepEqual(
      rogue.received,
      [{ method: 'GetRootCa', request: {} }],
      'only the CA was asked for',
    );
    assert.ok(!JSON.stringify(rogue.received).includes(parseJoinToken(tokens.worker).secret));

    // A forged token (digest of another CA) against the real manager: same outcome.
    const forged = `SWMTKN-1-${caDigest(foreignCa.certPem)}-${parseJoinToken(tokens.worker).secret}`;
    const issuedBefore = lenient.received.filter((r) => r.method === 'IssueNodeCertificate').length;
    await rejectsWith(
      fetchRootCaForToken(forged, (untrusted) =>
        call(client(lenient.address, untrusted), caTest.GetRootCa, {}).then((r) => r.caCertPem),
      ),
      'PERMISSION_DENIED',
      /^remote CA does not match fingerprint/,
    );
    assert.equal(
      lenient.received.filter((r) => r.method === 'IssueNodeCertificate').length,
      issuedBefore,
    );

    // And even if a joiner skipped the check, the verified join channel would refuse the rogue.
    await rejectsWith(
      call(client(rogue.address, joinChannelCredentials(ca.certPem)), caTest.IssueNodeCertificate, {
        token: tokens.worker,
        csrPem: (await createNodeKeyAndCsr()).csrPem,
      }),
      'UNAVAILABLE',
    );
    assert.equal(rogue.received.length, 1);
  });

  it('a malformed token fails before any connection is made', async () => {
    let fetched = false;
    await rejectsWith(
      fetchRootCaForToken('SWMTKN-1-nope', () => {
        fetched = true;
        return Promise.resolve(ca.certPem);
      }),
      'INVALID_ARGUMENT',
      'invalid join token',
    );
    assert.equal(fetched, false);
  });

  it('TlsIdentitySource.update: a promoted node uses its new certificate on new connections', async () => {
    const node = await issue(ca, 'worker', clusterId);
    const source = new TlsIdentitySource(node.identity);
    const creds = channelCredentials(source, { expectRole: 'manager' });
    await rejectsWith(
      call(client(strict.address, creds), caTest.ManagerOnly, {}),
      'PERMISSION_DENIED',
      /with role worker/,
    );
    const promoted = await issue(ca, 'manager', clusterId, node.nodeId);
    source.update(promoted.identity);
    assert.deepEqual(await call(client(strict.address, creds), caTest.ManagerOnly, {}), {
      nodeId: node.nodeId,
    });
    assert.throws(() => {
      source.update({ ...promoted.identity, keyPem: manager.identity.keyPem });
    }, /does not match the node key/);
  });
});
