import { execFileSync } from 'node:child_process';

export interface ContainerRow {
  readonly id: string;
  readonly name: string;
  readonly running: boolean;
  readonly labels: Record<string, string>;
}

/** Containers with tswarm's labels (optionally of one service), straight from the engine. */
export function tswarmContainers(serviceName?: string): ContainerRow[] {
  const filter = serviceName
    ? ['--filter', `label=com.tswarm.service.name=${serviceName}`]
    : ['--filter', 'label=com.tswarm.task.id'];
  const out = execFileSync('docker', ['ps', '-a', ...filter, '--format', '{{json .}}'], {
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const j = JSON.parse(l) as { ID: string; Names: string; State: string; Labels: string };
      const labels: Record<string, string> = {};
      for (const kv of j.Labels.split(',')) {
        const i = kv.indexOf('=');
        if (i > 0) labels[kv.slice(0, i)] = kv.slice(i + 1);
      }
      return { id: j.ID, name: j.Names, running: j.State === 'running', labels };
    });
}

export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' });
}

/** Force-removes these containers (none: nothing to do). */
export function removeContainers(rows: readonly ContainerRow[]): void {
  if (rows.length) docker('rm', '-f', ...rows.map((c) => c.id));
}

/** Removes every container tswarm made (tests start from a clean engine). */
export function removeTswarmContainers(): void {
  removeContainers(tswarmContainers());
}
