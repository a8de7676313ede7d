import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applySpecFlags,
  DEFAULT_UPDATE_CONFIG,
  type SpecFlags,
} from '../../../src/cli/service/spec-flags.js';
import type { ServiceSpec } from '../../../src/shared/api-types.js';
import { throwsInvalid } from './helpers.js';

const create = (f: SpecFlags, image = 'nginx:alpine', args: string[] = []): ServiceSpec =>
  applySpecFlags(f, undefined, image, args);

/** `service update`: the CLI passes only the flags given; image and args when given. */
const update = (
  base: ServiceSpec,
  f: SpecFlags,
  image?: string,
  args: string[] = [],
): ServiceSpec => applySpecFlags(f, base, image, args);

/** A service with most things set, as a base for updates. */
function rich(): ServiceSpec {
  return create(
    {
      name: 'web',
      replicas: '3',
      env: ['A=1', 'B=2'],
      label: ['team=x'],
      containerLabel: ['c=1'],
      constraint: ['node.role==worker'],
      reserveCpu: '0.5',
      limitMemory: '256m',
      restartCondition: 'on-failure',
      restartDelay: '10s',
      restartMaxAttempts: '3',
      publish: ['8080:80'],
      healthCmd: 'curl -f http://localhost/',
      healthInterval: '10s',
      updateParallelism: '2',
      updateDelay: '5s',
    },
    'nginx:1',
    ['nginx', '-g', 'daemon off;'],
  );
}

describe('applySpecFlags: service create defaults', () => {
  it('a bare create gets Docker defaults', () => {
    const s = create({ name: 'web' });
    assert.equal(s.Name, 'web');
    assert.deepEqual(s.Labels, {});
    assert.deepEqual(s.Mode, { Replicated: { Replicas: 1 } });
    assert.deepEqual(s.TaskTemplate.ContainerSpec, { Image: 'nginx:alpine' });
    assert.deepEqual(s.TaskTemplate.RestartPolicy, {
      Condition: 'any',
      Delay: 5e9,
      MaxAttempts: 0,
      Window: 0,
    });
    const defaults = {
      Parallelism: 1,
      Delay: 0,
      FailureAction: 'pause',
      Monitor: 5e9,
      MaxFailureRatio: 0,
      Order: 'stop-first',
    };
    assert.deepEqual(s.UpdateConfig, defaults);
    assert.deepEqual(s.RollbackConfig, defaults);
    assert.deepEqual(DEFAULT_UPDATE_CONFIG, defaults);
    assert.equal(s.EndpointSpec, undefined);
    assert.equal(s.TaskTemplate.Resources, undefined);
    assert.equal(s.TaskTemplate.Placement, undefined);
  });

  it('requires an image', () => {
    throwsInvalid(
      () => applySpecFlags({}, undefined, undefined, []),
      '"tswarm service create" requires at least 1 argument.',
    );
  });

  it('command args after the image become Args', () => {
    const s = create({}, 'busybox', ['sleep', '3600']);
    assert.deepEqual(s.TaskTemplate.ContainerSpec.Args, ['sleep', '3600']);
  });

  it('maps every flag into the spec', () => {
    const s = create({
      name: 'api',
      replicas: '4',
      env: ['A=1'],
      label: ['l=v'],
      containerLabel: ['cl=cv'],
      constraint: ['node.labels.zone==a', 'node.role!=manager'],
      placementPref: ['spread=node.labels.zone'],
      maxReplicasPerNode: '2',
      reserveCpu: '0.25',
      reserveMemory: '64m',
      limitCpu: '1.5',
      limitMemory: '1g',
      restartCondition: 'on-failure',
      restartDelay: '1m30s',
      restartMaxAttempts: '5',
      restartWindow: '2m',
      stopGracePeriod: '20s',
      entrypoint: '/bin/sh -c',
      workdir: '/srv',
      user: 'nobody',
      hostname: 'api-host',
      publish: ['8080:80', 'published=9090,target=90,mode=host'],
      updateParallelism: '0',
      updateDelay: '10s',
      updateOrder: 'start-first',
      updateFailureAction: 'rollback',
      updateMonitor: '30s',
      updateMaxFailureRatio: '0.2',
      rollbackParallelism: '3',
      rollbackFailureAction: 'continue',
    });
    assert.deepEqual(s.Mode, { Replicated: { Replicas: 4 } });
    assert.deepEqual(s.Labels, { l: 'v' });
    const cs = s.TaskTemplate.ContainerSpec;
    assert.deepEqual(cs.Env, ['A=1']);
    assert.deepEqual(cs.Labels, { cl: 'cv' });
    assert.deepEqual(cs.Command, ['/bin/sh', '-c']);
    assert.equal(cs.Dir, '/srv');
    assert.equal(cs.User, 'nobody');
    assert.equal(cs.Hostname, 'api-host');
    assert.equal(cs.StopGracePeriod, 20e9);
    assert.deepEqual(s.TaskTemplate.Placement, {
      Constraints: ['node.labels.zone==a', 'node.role!=manager'],
      Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
      MaxReplicas: 2,
    });
    assert.deepEqual(s.TaskTemplate.Resources, {
      Limits: { NanoCPUs: 1.5e9, MemoryBytes: 1024 ** 3 },
      Reservations: { NanoCPUs: 0.25e9, MemoryBytes: 64 * 1024 ** 2 },
    });
    assert.deepEqual(s.TaskTemplate.RestartPolicy, {
      Condition: 'on-failure',
      Delay: 90e9,
      MaxAttempts: 5,
      Window: 120e9,
    });
    assert.deepEqual(s.EndpointSpec?.Ports, [
      { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
      { Protocol: 'tcp', TargetPort: 90, PublishedPort: 9090, PublishMode: 'host' },
    ]);
    assert.deepEqual(s.UpdateConfig, {
      Parallelism: 0,
      Delay: 10e9,
      FailureAction: 'rollback',
      Monitor: 30e9,
      MaxFailureRatio: 0.2,
      Order: 'start-first',
    });
    assert.deepEqual(s.RollbackConfig, {
      ...DEFAULT_UPDATE_CONFIG,
      Parallelism: 3,
      FailureAction: 'continue',
    });
  });

  it('--mode global makes a global service', () => {
    assert.deepEqual(create({ mode: 'global' }).Mode, { Global: {} });
    assert.deepEqual(create({ mode: 'replicated', replicas: '2' }).Mode, {
      Replicated: { Replicas: 2 },
    });
  });

  it('refuses --replicas with --mode global', () => {
    throwsInvalid(
      () => create({ mode: 'global', replicas: '2' }),
      'replicas can only be used with replicated mode',
    );
  });

  it('refuses an unknown mode, restart condition, order or failure action', () => {
    throwsInvalid(
      () => create({ mode: 'daemonset' }),
      'invalid argument "daemonset" for "--mode" flag: must be replicated or global',
    );
    throwsInvalid(
      () => create({ restartCondition: 'always' }),
      'invalid argument "always" for "--restart-condition" flag: must be none, on-failure or any',
    );
    throwsInvalid(
      () => create({ updateOrder: 'random' }),
      'invalid argument "random" for "--update-order" flag: must be stop-first or start-first',
    );
    throwsInvalid(
      () => create({ rollbackFailureAction: 'rollback' }),
      'invalid argument "rollback" for "--rollback-failure-action" flag: must be pause, continue',
    );
    throwsInvalid(
      () => create({ updateMaxFailureRatio: '1.5' }),
      'invalid argument "1.5" for "--update-max-failure-ratio" flag: must be a number between 0 and 1',
    );
  });

  it('passes parser errors through with the flag name', () => {
    throwsInvalid(
      () => create({ replicas: 'three' }),
      'invalid argument "three" for "--replicas" flag: strconv.ParseUint: parsing "three": invalid syntax',
    );
    throwsInvalid(
      () => create({ updateDelay: '10' }),
      'invalid argument "10" for "--update-delay" flag: time: missing unit in duration "10"',
    );
    throwsInvalid(
      () => create({ limitMemory: 'lots' }),
      `invalid argument "lots" for "--limit-memory" flag: invalid size: 'lots'`,
    );
    throwsInvalid(
      () => create({ placementPref: ['zone'] }),
      'invalid argument "zone" for "--placement-pref" flag: placement preference must be of the format "spread=node.labels.LABEL"',
    );
    throwsInvalid(
      () => create({ env: ['=x'] }),
      'invalid argument "=x" for "-e, --env" flag: invalid environment variable',
    );
  });

  it('health flags build a CMD-SHELL healthcheck', () => {
    const s = create({
      healthCmd: 'curl -f http://localhost/',
      healthInterval: '10s',
      healthTimeout: '3s',
      healthRetries: '4',
      healthStartPeriod: '1m',
    });
    assert.deepEqual(s.TaskTemplate.ContainerSpec.Healthcheck, {
      Test: ['CMD-SHELL', 'curl -f http://localhost/'],
      Interval: 10e9,
      Timeout: 3e9,
      Retries: 4,
      StartPeriod: 60e9,
    });
  });

  it('--no-healthcheck disables the image healthcheck', () => {
    assert.deepEqual(create({ healthcheck: false }).TaskTemplate.ContainerSpec.Healthcheck, {
      Test: ['NONE'],
    });
    // commander sets healthcheck: true when --no-healthcheck is absent.
    assert.equal(create({ healthcheck: true }).TaskTemplate.ContainerSpec.Healthcheck, undefined);
  });

  it('--no-healthcheck conflicts with every --health-* flag', () => {
    for (const f of [
      { healthCmd: 'true' },
      { healthInterval: '1s' },
      { healthTimeout: '1s' },
      { healthRetries: '1' },
      { healthStartPeriod: '1s' },
    ]) {
      throwsInvalid(
        () => create({ healthcheck: false, ...f }),
        '--no-healthcheck conflicts with --health-* options',
      );
    }
  });
});

describe('applySpecFlags: service update', () => {
  it('no flags: the spec is unchanged', () => {
    const base = rich();
    assert.deepEqual(update(base, {}), base);
    assert.deepEqual(update(base, { healthcheck: true }), base);
  });

  it('--image changes only the image', () => {
    const base = rich();
    const s = update(base, {}, 'nginx:2');
    assert.equal(s.TaskTemplate.ContainerSpec.Image, 'nginx:2');
    assert.deepEqual(s.TaskTemplate.ContainerSpec.Args, base.TaskTemplate.ContainerSpec.Args);
    assert.deepEqual(
      { ...s, TaskTemplate: { ...s.TaskTemplate, ContainerSpec: {} } },
      { ...base, TaskTemplate: { ...base.TaskTemplate, ContainerSpec: {} } },
    );
  });

  it('--args replaces the command args, with or without --image', () => {
    const base = rich();
    assert.deepEqual(update(base, {}, undefined, ['nginx', '-T']).TaskTemplate.ContainerSpec.Args, [
      'nginx',
      '-T',
    ]);
    assert.deepEqual(update(base, {}, 'nginx:2', ['nginx', '-T']).TaskTemplate.ContainerSpec.Args, [
      'nginx',
      '-T',
    ]);
  });

  it('--replicas changes only the replica count', () => {
    const base = rich();
    const s = update(base, { replicas: '7' });
    assert.deepEqual(s.Mode, { Replicated: { Replicas: 7 } });
    assert.deepEqual({ ...s, Mode: base.Mode }, base);
  });

  it('--mode replicated on a replicated service keeps its replicas', () => {
    assert.deepEqual(update(rich(), { mode: 'replicated' }).Mode, { Replicated: { Replicas: 3 } });
  });

  it('refuses --replicas on a global service', () => {
    const g = create({ mode: 'global' });
    throwsInvalid(
      () => update(g, { replicas: '2' }),
      'replicas can only be used with replicated mode',
    );
  });

  it('refuses a mode change either way', () => {
    const msg = 'service mode cannot be changed; remove and re-create the service';
    throwsInvalid(() => update(rich(), { mode: 'global' }), msg);
    throwsInvalid(() => update(create({ mode: 'global' }), { mode: 'replicated' }), msg);
  });

  it('--env-add overrides by key and appends new keys, keeping order', () => {
    const s = update(rich(), { env: ['B=20', 'C=3', 'A=10'] });
    assert.deepEqual(s.TaskTemplate.ContainerSpec.Env, ['A=10', 'B=20', 'C=3']);
  });

  it('--label-add and --container-label-add merge by key', () => {
    const s = update(rich(), { label: ['team=y', 'tier=web'], containerLabel: ['d=2'] });
    assert.deepEqual(s.Labels, { team: 'y', tier: 'web' });
    assert.deepEqual(s.TaskTemplate.ContainerSpec.Labels, { c: '1', d: '2' });
  });

  it('--constraint-add appends to the existing constraints', () => {
    const s = update(rich(), { constraint: ['node.labels.zone==b'] });
    assert.deepEqual(s.TaskTemplate.Placement?.Constraints, [
      'node.role==worker',
      'node.labels.zone==b',
    ]);
  });

  it('--publish-add adds a port, and an identical port is not added twice', () => {
    const base = rich();
    assert.deepEqual(
      update(base, { publish: ['9090:90/udp'] }).EndpointSpec?.Ports?.map((p) => p.TargetPort),
      [80, 90],
    );
    assert.deepEqual(update(base, { publish: ['8080:80'] }).EndpointSpec, base.EndpointSpec);
  });

  it('resource flags change one field and keep the others', () => {
    const s = update(rich(), { limitCpu: '2' });
    assert.deepEqual(s.TaskTemplate.Resources, {
      Limits: { MemoryBytes: 256 * 1024 ** 2, NanoCPUs: 2e9 },
      Reservations: { NanoCPUs: 0.5e9 },
    });
  });

  it('restart flags change one field and keep the others', () => {
    const s = update(rich(), { restartDelay: '1s' });
    assert.deepEqual(s.TaskTemplate.RestartPolicy, {
      Condition: 'on-failure',
      Delay: 1e9,
      MaxAttempts: 3,
      Window: 0,
    });
    assert.equal(
      update(rich(), { restartMaxAttempts: '0' }).TaskTemplate.RestartPolicy?.MaxAttempts,
      0,
    );
  });

  it('update-config flags change one field and keep the others', () => {
    const s = update(rich(), { updateOrder: 'start-first' });
    assert.deepEqual(s.UpdateConfig, {
      ...DEFAULT_UPDATE_CONFIG,
      Parallelism: 2,
      Delay: 5e9,
      Order: 'start-first',
    });
    assert.deepEqual(s.RollbackConfig, DEFAULT_UPDATE_CONFIG);
  });

  it('a --health-* flag changes that field and keeps the healthcheck command', () => {
    const s = update(rich(), { healthRetries: '5' });
    assert.deepEqual(s.TaskTemplate.ContainerSpec.Healthcheck, {
      Test: ['CMD-SHELL', 'curl -f http://localhost/'],
      Interval: 10e9,
      Retries: 5,
    });
  });

  it('--no-healthcheck replaces the healthcheck; with --health-* it is refused', () => {
    assert.deepEqual(
      update(rich(), { healthcheck: false }).TaskTemplate.ContainerSpec.Healthcheck,
      {
        Test: ['NONE'],
      },
    );
    throwsInvalid(
      () => update(rich(), { healthcheck: false, healthInterval: '5s' }),
      '--no-healthcheck conflicts with --health-* options',
    );
  });

  it('does not modify the base spec', () => {
    const base = rich();
    const copy = structuredClone(base);
    update(base, {
      env: ['A=9'],
      constraint: ['x==y'],
      publish: ['1:1'],
      label: ['q=1'],
      limitCpu: '3',
      replicas: '9',
    });
    assert.deepEqual(base, copy);
  });
});
