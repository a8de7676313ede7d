import type { Secret, SecretReference, ServiceSpec } from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';
import { generateId } from '../../shared/ids.js';
import { now, type OpsContext } from './cluster-ops.js';
import { secretInUse } from './store/fsm.js';
import type { Store } from './store/store.js';
import type { StoredSecret } from './store/types.js';
import { sealSecret, secretKey } from './secrets/crypto.js';

/** swarmkit's MaxSecretSize. */
export const MAX_SECRET_BYTES = 500 * 1024;

const SECRET_NAME_RE = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/;

function invalid(desc: string): never {
  throw new TswarmError('INVALID_ARGUMENT', `rpc error: code = InvalidArgument desc = ${desc}`);
}

/** swarmkit's validateConfigOrSecretAnnotations, with its texts. */
export function validateSecretName(name: string): void {
  if (!name) invalid('name must be provided');
  if (name.length > 64 || !SECRET_NAME_RE.test(name)) {
    invalid(
      'invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]',
    );
  }
}

/** The object `secret ls/inspect` shows: everything but the sealed data. */
export function presentSecret(s: StoredSecret): Secret {
  return {
    ID: s.ID,
    Version: s.Version,
    CreatedAt: s.CreatedAt,
    UpdatedAt: s.UpdatedAt,
    Spec: s.Spec,
  };
}

/** Leader only: seals the data with the cluster's secret key and stores the secret. */
export async function createSecret(
  ctx: OpsContext,
  req: { name: string; labels: Readonly<Record<string, string>>; data: Buffer },
): Promise<string> {
  validateSecretName(req.name);
  if (req.data.length < 1 || req.data.length >= MAX_SECRET_BYTES) {
    invalid(`secret data must be larger than 0 and less than ${MAX_SECRET_BYTES} bytes`);
  }
  await ctx.readBarrier();
  if (ctx.store.secrets().some((s) => s.Spec.Name === req.name)) {
    throw new TswarmError(
      'ALREADY_EXISTS',
      `rpc error: code = AlreadyExists desc = secret ${req.name} already exists`,
    );
  }
  const id = generateId();
  const at = now();
  const key = secretKey(ctx.store.requireCluster());
  await ctx.write({
    op: 'secret.create',
    at,
    secret: {
      ID: id,
      Version: { Index: 0 },
      CreatedAt: at,
      UpdatedAt: at,
      Spec: { Name: req.name, Labels: { ...req.labels } },
      Sealed: sealSecret(key, id, req.data),
    },
  });
  return id;
}

const SECRET_FILTERS = ['id', 'name', 'label'] as const;

export async function listSecrets(
  ctx: OpsContext,
  filters: readonly string[],
  staleOk: boolean,
): Promise<Secret[]> {
  if (!staleOk) await ctx.readBarrier();
  const fs = new Map<string, string[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    if (i <= 0)
      throw new TswarmError('INVALID_ARGUMENT', `bad format of filter (expected name=value): ${f}`);
    const k = f.slice(0, i);
    if (!(SECRET_FILTERS as readonly string[]).includes(k))
      throw new TswarmError('INVALID_ARGUMENT', `invalid filter '${k}'`);
    fs.set(k, [...(fs.get(k) ?? []), f.slice(i + 1)]);
  }
  return ctx.store
    .secrets()
    .filter((s) =>
      [...fs].every(([k, vs]) =>
        vs.some((v) => {
          if (k === 'id') return s.ID.startsWith(v);
          if (k === 'name') return s.Spec.Name.startsWith(v);
          const i = v.indexOf('=');
          return i < 0
            ? Object.hasOwn(s.Spec.Labels, v)
            : s.Spec.Labels[v.slice(0, i)] === v.slice(i + 1);
        }),
      ),
    )
    .sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name))
    .map(presentSecret);
}

export async function inspectSecret(
  ctx: OpsContext,
  ref: string,
  staleOk: boolean,
): Promise<Secret> {
  if (!staleOk) await ctx.readBarrier();
  return presentSecret(ctx.store.resolveSecret(ref));
}

/** Leader only. Refused (nothing changes) while a service references the secret. */
export async function removeSecret(ctx: OpsContext, ref: string): Promise<void> {
  await ctx.readBarrier();
  const s = ctx.store.resolveSecret(ref);
  const users = ctx.store
    .services()
    .filter((svc) =>
      (svc.Spec.TaskTemplate.ContainerSpec.Secrets ?? []).some((r) => r.SecretID === s.ID),
    );
  if (users.length) throw new TswarmError('FAILED_PRECONDITION', secretInUse(s, users));
  await ctx.write({ op: 'secret.remove', at: now(), id: s.ID });
}

/**
 * Checks a service spec's secret references against the store and fills in SecretID from
 * SecretName (and the name from the ID), as swarmkit's controlapi validates them: every
 * secret must exist, targets must be unique.
 */
export function resolveSecretReferences(store: Store, spec: ServiceSpec): ServiceSpec {
  const refs = spec.TaskTemplate.ContainerSpec.Secrets;
  if (!refs?.length) return spec;
  const missing: string[] = [];
  const out: SecretReference[] = [];
  const targets = new Map<string, string>();
  for (const r of refs) {
    if (!r.SecretID && !r.SecretName) invalid('malformed secret reference');
    const target = r.File?.Name;
    if (!target) invalid('malformed file secret reference, invalid target file name provided');
    if (target.split('/').includes('..') || target.includes('\0'))
      invalid(`invalid secret target "${target}"`);
    const other = targets.get(target);
    if (other !== undefined) {
      invalid(
        `secret references '${other}' and '${r.SecretName || r.SecretID}' have a conflicting target: '${target}'`,
      );
    }
    targets.set(target, r.SecretName || r.SecretID);
    const s =
      (r.SecretID ? store.secret(r.SecretID) : undefined) ??
      store.secrets().find((x) => x.Spec.Name === r.SecretName);
    if (!s) {
      missing.push(r.SecretName || r.SecretID);
      continue;
    }
    out.push({ ...r, SecretID: s.ID, SecretName: s.Spec.Name });
  }
  if (missing.length === 1) invalid(`secret not valid or not found: ${missing[0] ?? ''}`);
  if (missing.length > 1) invalid(`secrets not valid or not found: ${missing.join(', ')}`);
  return {
    ...spec,
    TaskTemplate: {
      ...spec.TaskTemplate,
      ContainerSpec: { ...spec.TaskTemplate.ContainerSpec, Secrets: out },
    },
  };
}
