/**
 * Small durable-filesystem helpers shared by the WAL and the snapshotter.
 */
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';

/** The `code` of a Node system error, if `err` is one. */
export function errnoCode(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/**
 * fsyncs a directory, which makes the creation, removal and renaming of its entries durable
 * (a file's own fsync does not cover its name). Errors name the directory.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(dir, 'r');
  } catch (err) {
    throw new Error(`cannot open directory ${dir} to fsync it: ${String(err)}`, { cause: err });
  }
  try {
    await fh.sync();
  } catch (err) {
    throw new Error(`fsync of directory ${dir} failed: ${String(err)}`, { cause: err });
  } finally {
    await fh.close();
  }
}

/**
 * Creates `dir` (and missing parents) if needed, durably: when something was created, the
 * parents that gained an entry are fsynced. An existing directory is fine (no EEXIST).
 */
export async function ensureDir(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  let created: string | undefined;
  try {
    created = await mkdir(abs, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create directory ${abs}: ${String(err)}`, { cause: err });
  }
  if (created === undefined) return;
  // `created` is the topmost new directory; every directory from its parent down to
  // `abs`'s parent gained an entry.
  const toSync: string[] = [];
  for (let d = path.dirname(abs); ; d = path.dirname(d)) {
    toSync.push(d);
    if (d === path.dirname(created) || d === path.dirname(d)) break;
  }
  for (const d of toSync) await fsyncDir(d);
}

/** Removes a file; a file that is already gone (ENOENT) is not an error. */
export async function removeFile(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw new Error(`cannot remove ${file}: ${String(err)}`, { cause: err });
  }
}

/** Writes all of `buf` at `position`, looping over short writes. */
export async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten} at ${position + done}`);
    done += bytesWritten;
  }
}
