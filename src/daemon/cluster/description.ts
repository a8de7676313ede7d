import os from 'node:os';
import type { NodeDescription } from '../../shared/api-types.js';
import type { Engine } from '../docker/engine.js';

/** What a node tells the managers about itself (Docker's NodeDescription). */
export async function describeNode(engine: Engine, hostname: string): Promise<NodeDescription> {
  let engineVersion = '';
  let engineLabels: Record<string, string> = {};
  try {
    const f = await engine.facts();
    engineVersion = f.version;
    engineLabels = f.labels;
  } catch {
    // The engine may be down; the node still joins and reports an empty version.
  }
  return {
    Hostname: hostname,
    Platform: { Architecture: os.arch() === 'x64' ? 'x86_64' : os.arch(), OS: os.platform() },
    Resources: { NanoCPUs: os.cpus().length * 1e9, MemoryBytes: os.totalmem() },
    Engine: { EngineVersion: engineVersion, Labels: engineLabels },
  };
}
