import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSecret, sealSecret, secretKey } from '../../../src/daemon/manager/secrets/crypto.js';
import {
  applyCommand,
  decodeState,
  emptyState,
  encodeState,
} from '../../../src/daemon/manager/store/fsm.js';
import { parseSecretRef } from '../../../src/cli/service/spec-flags.js';
import type { Service } from '../../../src/shared/api-types.js';

const cluster = {
  ID: 'cluster1',
  RootCA: { CertPem: 'cert', KeyPem: '-----BEGIN PRIVATE KEY-----\nabc\n' },
};

describe('secret sealing', () => {
  it('round-trips and never contains the clear text', () => {
    const key = secretKey(cluster);
    const clear = Buffer.from('hunter2-very-secret');
    const sealed = sealSecret(key, 'sec1', clear);
    assert.ok(sealed.startsWith('v1:'));
    assert.ok(!sealed.includes('hunter2'));
    assert.ok(!Buffer.from(sealed.slice(3), 'base64').includes(clear));
    assert.deepEqual(openSecret(key, 'sec1', sealed), clear);
  });
  it('refuses another key or another secret ID (AAD)', () => {
    const sealed = sealSecret(secretKey(cluster), 'sec1', Buffer.from('x'));
    assert.throws(() => openSecret(secretKey({ ...cluster, ID: 'other' }), 'sec1', sealed));
    assert.throws(() => openSecret(secretKey(cluster), 'sec2', sealed));
  });
});

describe('secrets in the store', () => {
  const secret = {
    ID: 'sec1',
    Version: { Index: 0 },
    CreatedAt: 't',
    UpdatedAt: 't',
    Spec: { Name: 'db_pass', Labels: {} },
    Sealed: 'v1:AAAA',
  };
  it('refuses duplicate names and removal while in use; survives a snapshot', () => {
    const s = emptyState();
    assert.deepEqual(applyCommand(s, { op: 'secret.create', at: 't', secret }, 5), {
      ok: true,
      value: 'sec1',
    });
    const dup = applyCommand(
      s,
      { op: 'secret.create', at: 't', secret: { ...secret, ID: 'sec2' } },
      6,
    );
    assert.equal(dup.ok, false);
    const svc = {
      ID: 'svc1',
      Version: { Index: 1 },
      CreatedAt: 't',
      UpdatedAt: 't',
      Spec: {
        Name: 'web',
        Labels: {},
        Mode: { Replicated: { Replicas: 1 } },
        TaskTemplate: {
          ContainerSpec: {
            Image: 'x',
            Secrets: [
              {
                SecretID: 'sec1',
                SecretName: 'db_pass',
                File: { Name: 'db_pass', UID: '0', GID: '0', Mode: 0o444 },
              },
            ],
          },
        },
      },
    } satisfies Service;
    applyCommand(s, { op: 'service.create', at: 't', service: svc }, 7);
    const r = applyCommand(s, { op: 'secret.remove', at: 't', id: 'sec1' }, 8);
    assert.deepEqual(r, {
      ok: false,
      code: 'FAILED_PRECONDITION',
      message:
        "rpc error: code = InvalidArgument desc = secret 'db_pass' is in use by the following service: web",
    });
    const back = decodeState(encodeState(s));
    assert.equal(back.secrets.get('sec1')?.Sealed, 'v1:AAAA');
    applyCommand(s, { op: 'service.remove', at: 't', id: 'svc1' }, 9);
    assert.deepEqual(applyCommand(s, { op: 'secret.remove', at: 't', id: 'sec1' }, 10), {
      ok: true,
    });
  });
});

describe('--secret flag', () => {
  it("parses Docker's short and long forms", () => {
    assert.deepEqual(parseSecretRef('db'), {
      File: { Name: 'db', UID: '0', GID: '0', Mode: 0o444 },
      SecretID: '',
      SecretName: 'db',
    });
    assert.deepEqual(parseSecretRef('source=db,target=pw,uid=100,gid=101,mode=0400'), {
      File: { Name: 'pw', UID: '100', GID: '101', Mode: 0o400 },
      SecretID: '',
      SecretName: 'db',
    });
    assert.throws(() => parseSecretRef('target=pw'), /source is required/);
    assert.throws(() => parseSecretRef('source=db,mode=999'), /invalid file mode/);
    assert.throws(() => parseSecretRef('source=db,color=red'), /invalid field key color/);
  });
});
