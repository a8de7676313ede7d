import { chmod, chown, mkdir, rm, readdir, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SecretReference } from '../../shared/api-types.js';
import { TswarmError } from '../../shared/errors.js';

/** A secret's clear data as the dispatcher sends it for one task. */
export interface TaskSecret {
  readonly id: string;
  readonly name: string;
  readonly data: Buffer;
}

/** A read-only bind of one secret file into the task's container. */
export interface SecretMount {
  readonly source: string;
  readonly target: string;
  readonly readOnly: true;
}

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

/**
 * Where this node's secret files live: `$TSWARM_SECRETS_DIR` (default /dev/shm, which is a
 * tmpfs on Linux) + `tswarm-secrets/<node id>`. Never under the data root.
 */
export function defaultSecretsRoot(nodeId: string): string {
  return path.join(process.env['TSWARM_SECRETS_DIR'] ?? '/dev/shm', 'tswarm-secrets', nodeId);
}

/** Where a reference's file appears in the container (Docker: /run/secrets/<target>). */
export function secretTarget(ref: SecretReference): string {
  const name = ref.File?.Name ?? ref.SecretName;
  return name.startsWith('/') ? name : path.posix.join('/run/secrets', name);
}

/**
 * The node side of secrets, as Docker's: each task's secrets are files in a directory of its
 * own (mode 0700) on a memory file system, bind-mounted read-only into the container at
 * /run/secrets/<target> with the reference's uid, gid and mode. The clear text never touches
 * the node's disk (the write is refused when the directory is not on tmpfs/ramfs) and is
 * removed with the task's container.
 *
 * NOTE(secrets): the bind needs tswarmd and its Docker engine to share a file system view
 * (the same host, as the lab and systemd set-ups are). Docker's own putArchive cannot do it
 * on engine 20.10: a copy to a tmpfs path lands in the container's overlay upper directory on
 * disk and is hidden by the tmpfs once the container starts.
 */
export class SecretFiles {
  constructor(readonly root: string) {}

  private taskDir(taskId: string): string {
    return path.join(this.root, taskId);
  }

  /** Writes the task's secret files and returns the mounts for its container. */
  async write(
    taskId: string,
    refs: readonly SecretReference[],
    secrets: readonly TaskSecret[],
  ): Promise<SecretMount[]> {
    if (refs.length === 0) return [];
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await chmod(this.root, 0o700);
    const fs = await statfs(this.root);
    if (fs.type !== TMPFS_MAGIC && fs.type !== RAMFS_MAGIC) {
      throw new TswarmError(
        'FAILED_PRECONDITION',
        `secrets: ${this.root} is not on a tmpfs; refusing to write secret data to disk (set TSWARM_SECRETS_DIR)`,
      );
    }
    const dir = this.taskDir(taskId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const mounts: SecretMount[] = [];
    for (const [i, ref] of refs.entries()) {
      const s = secrets.find((x) => x.id === ref.SecretID);
      if (!s) {
        throw new TswarmError(
          'NOT_FOUND',
          `secret ${ref.SecretName || ref.SecretID} was not sent with the task`,
        );
      }
      const file = path.join(dir, String(i));
      await writeFile(file, s.data, { mode: 0o600 });
      const uid = Number(ref.File?.UID ?? '0');
      const gid = Number(ref.File?.GID ?? '0');
      try {
        await chown(file, uid, gid);
      } catch (err) {
        // Not root: the file stays ours; only refuse when another owner was asked for.
        const own = process.getuid?.() === uid && process.getgid?.() === gid;
        if (!own && (uid !== 0 || gid !== 0)) throw err;
      }
      await chmod(file, ref.File?.Mode ?? 0o444);
      mounts.push({ source: file, target: secretTarget(ref), readOnly: true });
    }
    return mounts;
  }

  /** Removes a task's secret files (its container is gone). */
  async release(taskId: string): Promise<void> {
    await rm(this.taskDir(taskId), { recursive: true, force: true });
  }

  /** Removes the files of every task not in `keep` (after a restart). */
  async prune(keep: ReadonlySet<string>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return;
    }
    for (const n of names) if (!keep.has(n)) await this.release(n);
  }
}
