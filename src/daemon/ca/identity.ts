import { createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink, chmod } from 'node:fs/promises';
import path from 'node:path';
import { TswarmError } from '../../shared/errors.js';
import { assertIssuedBy, type NodeCertificateInfo } from './node-cert.js';

/**
 * A node's TLS identity: the cluster root CA it trusts, its own certificate and the
 * matching private key, all PEM. This is what mTLS credentials are built from.
 */
export interface TlsIdentity {
  readonly caCertPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** File names inside the certificates directory (swarmkit's names). */
export const ROOT_CA_CERT_FILE = 'swarm-root-ca.crt';
export const NODE_CERT_FILE = 'swarm-node.crt';
export const NODE_KEY_FILE = 'swarm-node.key';

const CERT_MODE = 0o644;
const KEY_MODE = 0o600;
const DIR_MODE = 0o700;

export interface CertificatePaths {
  readonly dir: string;
  readonly caCert: string;
  readonly nodeCert: string;
  readonly nodeKey: string;
}

/** Where an identity under `dir` lives: `<dir>/certificates/{swarm-root-ca.crt,swarm-node.crt,swarm-node.key}`. */
export function certificatePaths(dir: string): CertificatePaths {
  const certDir = path.join(dir, 'certificates');
  return {
    dir: certDir,
    caCert: path.join(certDir, ROOT_CA_CERT_FILE),
    nodeCert: path.join(certDir, NODE_CERT_FILE),
    nodeKey: path.join(certDir, NODE_KEY_FILE),
  };
}

/**
 * Checks that an identity hangs together: the certificate was issued by the CA, is a
 * node certificate, and belongs to the private key. Validity dates are not checked here
 * (an expired certificate is still *this node's* identity; see `needsRenewal`).
 * Returns the certificate's fields; throws a clear Error otherwise.
 */
export function assertIdentityConsistent(identity: TlsIdentity): NodeCertificateInfo {
  const info = assertIssuedBy(identity.caCertPem, identity.certPem);
  let certKey: Buffer;
  let ownKey: Buffer;
  try {
    certKey = new X509Certificate(identity.certPem).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    ownKey = createPublicKey(identity.keyPem).export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw new Error(`invalid node key: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (!certKey.equals(ownKey)) throw new Error('node certificate does not match the node key');
  return info;
}

async function writeFileAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.chmod(mode); // umask may have narrowed it; make it exact
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Persists an identity under `<dir>/certificates/`: the root CA and node certificates
 * mode 0644, the key 0600, the directory 0700. Each file is written to a temporary file,
 * fsynced and renamed over the old one, then the directory is fsynced, so a crash leaves
 * either the old or the new version of each file. The key is renamed into place before
 * the certificate; `loadIdentity` reports the (tiny) window where they disagree.
 */
export async function saveIdentity(dir: string, identity: TlsIdentity): Promise<void> {
  const p = certificatePaths(dir);
  await mkdir(p.dir, { recursive: true, mode: DIR_MODE });
  await chmod(p.dir, DIR_MODE);
  await writeFileAtomic(p.caCert, identity.caCertPem, CERT_MODE);
  await writeFileAtomic(p.nodeKey, identity.keyPem, KEY_MODE);
  await writeFileAtomic(p.nodeCert, identity.certPem, CERT_MODE);
  await syncDir(p.dir);
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Loads the identity saved under `<dir>/certificates/`. Returns undefined when none of
 * the three files exists (the node has not joined a swarm). Throws TswarmError INTERNAL
 * when only some exist, or when they do not belong together (certificate not issued by
 * the CA, or not matching the key): the daemon should then not start mTLS with them.
 */
export async function loadIdentity(dir: string): Promise<TlsIdentity | undefined> {
  const p = certificatePaths(dir);
  const [caCertPem, certPem, keyPem] = await Promise.all([
    readIfExists(p.caCert),
    readIfExists(p.nodeCert),
    readIfExists(p.nodeKey),
  ]);
  if (caCertPem === undefined && certPem === undefined && keyPem === undefined) return undefined;
  if (caCertPem === undefined || certPem === undefined || keyPem === undefined) {
    const missing = [
      caCertPem === undefined ? ROOT_CA_CERT_FILE : undefined,
      certPem === undefined ? NODE_CERT_FILE : undefined,
      keyPem === undefined ? NODE_KEY_FILE : undefined,
    ].filter((x) => x !== undefined);
    throw new TswarmError(
      'INTERNAL',
      `incomplete TLS identity in ${p.dir}: missing ${missing.join(', ')}`,
    );
  }
  const identity: TlsIdentity = { caCertPem, certPem, keyPem };
  try {
    assertIdentityConsistent(identity);
  } catch (err) {
    throw new TswarmError(
      'INTERNAL',
      `invalid TLS identity in ${p.dir}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return identity;
}
