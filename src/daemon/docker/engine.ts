import Docker from 'dockerode';
import { TswarmError } from '../../shared/errors.js';

/** Parses --docker-host (unix:///path, /path or tcp://host:port) into dockerode options. */
export function parseDockerHost(raw: string): Docker.DockerOptions {
  if (raw.startsWith('unix://')) return { socketPath: raw.slice('unix://'.length) };
  if (raw.startsWith('/')) return { socketPath: raw };
  if (raw.startsWith('tcp://') || raw.startsWith('http://')) {
    const url = new URL(raw.replace(/^tcp:/, 'http:'));
    const port = url.port === '' ? 2375 : Number(url.port);
    return { protocol: 'http', host: url.hostname, port };
  }
  throw new TswarmError(
    'INVALID_ARGUMENT',
    `invalid docker host "${raw}": use unix:///path/to/docker.sock or tcp://host:port`,
  );
}

export function defaultDockerHost(): string {
  return process.env['DOCKER_HOST'] ?? 'unix:///var/run/docker.sock';
}

export interface EngineFacts {
  readonly version: string;
  readonly apiVersion: string;
  readonly os: string;
  readonly arch: string;
  readonly kernelVersion: string;
  readonly storageDriver: string;
  readonly containers: number;
  readonly containersRunning: number;
  readonly images: number;
  /** Engine labels (dockerd --label), as KEY=VALUE pairs split. */
  readonly labels: Record<string, string>;
}

/** The node's Docker engine, reached through dockerode. */
export class Engine {
  readonly docker: Docker;

  constructor(readonly host: string) {
    this.docker = new Docker(parseDockerHost(host));
  }

  /** Reads version and counts from the engine; DOCKER_UNAVAILABLE when it does not answer. */
  async facts(): Promise<EngineFacts> {
    try {
      const [version, info] = await Promise.all([
        this.docker.version(),
        this.docker.info() as Promise<Record<string, unknown>>,
      ]);
      const num = (k: string): number => (typeof info[k] === 'number' ? info[k] : 0);
      const str = (k: string): string => (typeof info[k] === 'string' ? info[k] : '');
      return {
        version: version.Version,
        apiVersion: version.ApiVersion,
        os: version.Os,
        arch: version.Arch,
        kernelVersion: version.KernelVersion,
        storageDriver: str('Driver'),
        containers: num('Containers'),
        containersRunning: num('ContainersRunning'),
        images: num('Images'),
        labels: parseLabels(info['Labels']),
      };
    } catch (err) {
      throw new TswarmError(
        'DOCKER_UNAVAILABLE',
        `Cannot connect to the Docker daemon at ${this.host}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
}

function parseLabels(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(raw)) return out;
  for (const l of raw) {
    if (typeof l !== 'string') continue;
    const i = l.indexOf('=');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
    else out[l] = '';
  }
  return out;
}
