import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeCompose, parseCompose, splitShell } from '../../../src/cli/stack/compose.js';
import { convertStack, STACK_LABEL } from '../../../src/cli/stack/convert.js';
import { TswarmError } from '../../../src/shared/errors.js';

const APP = `version: "3.8"
services:
  db:
    image: tswarm/busybox:1
    command: sh -c "echo 'db up'; sleep 3600"
    environment:
      MYSQL_DATABASE: \${DB_NAME:-shop}
      MYSQL_PASSWORD_FILE: /run/secrets/db_password
    secrets:
      - db_password
    deploy:
      replicas: 1
      restart_policy:
        condition: on-failure
        delay: 2s
  app:
    image: tswarm/busybox:\${TAG}
    entrypoint: ["sh", "-c"]
    command: ["httpd -f -p 8080"]
    environment:
      - SPRING_PROFILES_ACTIVE=prod
      - FROM_ENV
    labels:
      tier: web
    ports:
      - "8080:8080"
      - target: 9090
        published: 9091
        mode: host
    secrets:
      - source: db_password
        target: spring/db
        uid: "1000"
        mode: 0400
    build: .
    container_name: nope
    depends_on: [db]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]
      interval: 5s
      timeout: 2s
      retries: 3
      start_period: 1s
    deploy:
      mode: replicated
      replicas: \${REPLICAS:-2}
      labels: [com.example.team=shop]
      placement:
        constraints: [node.role == manager]
        preferences:
          - spread: node.labels.zone
      resources:
        limits: {cpus: "0.5", memory: 64M}
        reservations: {cpus: 0.25, memory: 32m}
      update_config:
        parallelism: 1
        delay: 1s
        order: start-first
        failure_action: rollback
      rollback_config:
        parallelism: 2
secrets:
  db_password:
    file: ./db_password.txt
`;

function fails(text: string, re: RegExp): void {
  assert.throws(
    () => parseCompose(text, 'stack.yml', {}),
    (e: unknown) => e instanceof TswarmError && re.test(e.message),
  );
}

describe('compose parser', () => {
  it('parses the Swarm subset with interpolation and warnings for ignored keys', () => {
    const { config, warnings } = parseCompose(APP, '/x/stack.yml', {
      TAG: '1',
      FROM_ENV: 'yes',
    });
    assert.deepEqual(warnings, ['Ignoring unsupported options: build, container_name, depends_on']);
    const app = config.services.get('app');
    const db = config.services.get('db');
    assert.ok(app && db);
    assert.equal(app.image, 'tswarm/busybox:1');
    assert.deepEqual(db.command, ['sh', '-c', "echo 'db up'; sleep 3600"]);
    assert.deepEqual(db.environment, {
      MYSQL_DATABASE: 'shop',
      MYSQL_PASSWORD_FILE: '/run/secrets/db_password',
    });
    assert.deepEqual(app.environment, { SPRING_PROFILES_ACTIVE: 'prod', FROM_ENV: 'yes' });
    const d = app.deploy;
    assert.ok(d);
    assert.equal(d.replicas, 2);
    assert.deepEqual(d.resources, {
      limits: { cpus: 0.5e9, memory: 64 * 1024 * 1024 },
      reservations: { cpus: 0.25e9, memory: 32 * 1024 * 1024 },
    });
    assert.deepEqual(d.update_config, {
      Parallelism: 1,
      Delay: 1e9,
      Order: 'start-first',
      FailureAction: 'rollback',
    });
    assert.deepEqual(app.healthcheck, {
      Test: ['CMD', 'wget', '-q', '-O-', 'http://127.0.0.1:8080/'],
      Interval: 5e9,
      Timeout: 2e9,
      Retries: 3,
      StartPeriod: 1e9,
    });
    assert.deepEqual(app.secrets, [
      { source: 'db_password', target: 'spring/db', uid: '1000', mode: 0o400 },
    ]);
    assert.deepEqual(app.ports, [
      { Protocol: 'tcp', TargetPort: 8080, PublishedPort: 8080, PublishMode: 'ingress' },
      { Protocol: 'tcp', TargetPort: 9090, PublishedPort: 9091, PublishMode: 'host' },
    ]);
    assert.equal(config.secrets.get('db_password')?.file, '/x/db_password.txt');
    assert.equal(db.deploy?.restart_policy?.delay, 2e9);
  });

  it('converts to service specs named <stack>_<service> with the namespace label', () => {
    const { config } = parseCompose(APP, '/x/stack.yml', { TAG: '1' });
    const plan = convertStack('stk', config);
    assert.deepEqual(
      plan.services.map((s) => s.Name),
      ['stk_app', 'stk_db'],
    );
    const app = plan.services[0];
    assert.ok(app);
    assert.equal(app.Labels[STACK_LABEL], 'stk');
    assert.equal(app.Labels['com.example.team'], 'shop');
    const c = app.TaskTemplate.ContainerSpec;
    assert.equal(c.Labels?.[STACK_LABEL], 'stk');
    assert.equal(c.Labels['tier'], 'web');
    assert.deepEqual(c.Command, ['sh', '-c']);
    assert.deepEqual(c.Args, ['httpd -f -p 8080']);
    assert.deepEqual(c.Secrets, [
      {
        File: { Name: 'spring/db', UID: '1000', GID: '0', Mode: 0o400 },
        SecretID: '',
        SecretName: 'stk_db_password',
      },
    ]);
    assert.deepEqual(app.Mode, { Replicated: { Replicas: 2 } });
    assert.deepEqual(app.TaskTemplate.Placement, {
      Constraints: ['node.role == manager'],
      Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
    });
    assert.equal(app.UpdateConfig?.FailureAction, 'rollback');
    assert.equal(app.UpdateConfig.Monitor, 5e9, 'defaults fill the rest');
    assert.equal(app.RollbackConfig?.Parallelism, 2);
    assert.deepEqual(plan.secrets, [
      {
        key: 'db_password',
        name: 'stk_db_password',
        external: false,
        file: '/x/db_password.txt',
        labels: { [STACK_LABEL]: 'stk' },
      },
    ]);
  });

  it('merges files: later keys win, maps merge', () => {
    const a = parseCompose(APP, 'a.yml', { TAG: '1' }).config;
    const b = parseCompose(
      'services:\n  app:\n    environment: {EXTRA: "1"}\n    deploy:\n      replicas: 3\n',
      'b.yml',
      {},
    ).config;
    const app = mergeCompose([a, b]).services.get('app');
    assert.ok(app);
    assert.equal(app.deploy?.replicas, 3);
    assert.deepEqual(app.deploy.placement?.constraints, ['node.role == manager']);
    assert.deepEqual(app.environment, { SPRING_PROFILES_ACTIVE: 'prod', EXTRA: '1' });
  });

  it('fails with the line and key of the problem', () => {
    fails(
      'services:\n  app:\n    image: x\n    deploy:\n      replicas: many\n',
      /line 5: services\.app\.deploy\.replicas must be a non-negative integer/,
    );
    fails(
      'services:\n  app:\n    image: x\n    bogus: 1\n',
      /line 4: services\.app additional property bogus is not allowed/,
    );
    fails(
      'services:\n  app:\n    image: x\n    deploy:\n      restart_policy:\n        delay: 5 seconds\n',
      /line 6: services\.app\.deploy\.restart_policy\.delay: .*time: /,
    );
    fails(
      'services:\n  app:\n    image: x\n    ports:\n      - "80:abc"\n',
      /line 5: services\.app\.ports\.0: /,
    );
    fails(
      'services:\n  app:\n    image: x\n    deploy:\n      placement:\n        constraints: ["node.role = manager"]\n',
      /line 6: services\.app\.deploy\.placement\.constraints\.0: /,
    );
    fails('services:\n  app:\n   image: [unclosed\n', /stack\.yml, line \d+: yaml: /);
    fails(
      'services:\n  app:\n    image: ${X:?set X}\n',
      /line 3: image: required variable X is missing a value: set X/,
    );
    fails(
      'services: {}\nsecrets:\n  s: {}\n',
      /line 3: secrets\.s: a secret needs "file" or "external: true"/,
    );
  });

  it('refuses undefined secrets and services without an image at conversion', () => {
    const { config } = parseCompose(
      'services:\n  a:\n    image: x\n    secrets: [nope]\n',
      'f.yml',
      {},
    );
    assert.throws(() => convertStack('stk', config), /undefined secret "nope"/);
    const noImage = parseCompose('services:\n  a:\n    build: .\n', 'f.yml', {}).config;
    assert.throws(() => convertStack('stk', noImage), /services\.a: image is required/);
    assert.throws(() => convertStack('bad name', noImage), /invalid stack name/);
  });

  it('splits command strings like a shell', () => {
    assert.deepEqual(splitShell(`sh -c "echo 'a b'; x"  y\\ z ''`), [
      'sh',
      '-c',
      "echo 'a b'; x",
      'y z',
      '',
    ]);
  });
});
