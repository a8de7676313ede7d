import type Docker from 'dockerode';
import { PassThrough, type Readable } from 'node:stream';
import { LABEL_TASK_ID, type DockerAdapter } from './docker/adapter.js';

export interface TaskLogLine {
  readonly taskId: string;
  readonly stream: 'stdout' | 'stderr';
  readonly line: string;
}

/**
 * Streams the log lines of this node's containers for the given tasks. Resolves when every
 * stream has ended (never, with follow, until `signal` aborts).
 */
export async function streamTaskLogs(
  docker: Docker,
  adapter: DockerAdapter,
  nodeId: string,
  o: { taskIds: readonly string[]; follow: boolean; tail: number; timestamps: boolean },
  onLine: (l: TaskLogLine) => void,
  signal: AbortSignal,
): Promise<void> {
  const containers = await adapter.listManaged(nodeId);
  const wanted = new Set(o.taskIds);
  const streams: Promise<void>[] = [];
  for (const c of containers) {
    const taskId = c.labels[LABEL_TASK_ID];
    if (!taskId || !wanted.has(taskId)) continue;
    const raw = await adapter.logs(c.id, {
      follow: o.follow,
      timestamps: o.timestamps,
      ...(o.tail >= 0 ? { tail: o.tail } : {}),
    });
    streams.push(pump(docker, raw, taskId, onLine, signal));
  }
  await Promise.all(streams);
}

function pump(
  docker: Docker,
  raw: Readable,
  taskId: string,
  onLine: (l: TaskLogLine) => void,
  signal: AbortSignal,
): Promise<void> {
  const out = new PassThrough();
  const err = new PassThrough();
  docker.modem.demuxStream(raw, out, err);
  const split = (s: PassThrough, stream: 'stdout' | 'stderr'): void => {
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine({ taskId, stream, line: buf.slice(0, i) });
        buf = buf.slice(i + 1);
      }
    });
    s.on('end', () => {
      if (buf) onLine({ taskId, stream, line: buf });
    });
  };
  split(out, 'stdout');
  split(err, 'stderr');
  return new Promise((resolve) => {
    const done = (): void => {
      out.end();
      err.end();
      resolve();
    };
    raw.on('end', done);
    raw.on('close', done);
    raw.on('error', done);
    signal.addEventListener('abort', () => {
      raw.destroy();
      done();
    });
  });
}
