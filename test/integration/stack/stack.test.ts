import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Service } from '../../../src/shared/api-types.js';
import { ClusterNode, formManagers } from '../../helpers/cluster.js';
import { tswarmContainers, removeContainers } from '../../helpers/docker.js';
import { requireDocker, runCli, TEST_IMAGE } from '../../helpers/procs.js';
import { waitFor } from '../../helpers/wait.js';

const SERVICES = ['stk_app', 'stk_db'];

/** Removes the containers of this file's services only (other tests share the engine). */
function removeOwnContainers(): void {
  removeContainers(SERVICES.flatMap((s) => tswarmContainers(s)));
}

/** A mysql + spring style stack with busybox stand-ins. */
const COMPOSE = `version: "3.8"
services:
  db:
    image: ${TEST_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment:
      MYSQL_DATABASE: \${DB_NAME:-shop}
      MYSQL_PASSWORD_FILE: /run/secrets/db_password
    secrets:
      - db_password
    deploy:
      replicas: 1
      resources:
        limits: {cpus: "0.5", memory: 64M}
  app:
    image: ${TEST_IMAGE}
    build: ./app
    depends_on: [db]
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment:
      - SPRING_DATASOURCE_URL=jdbc:mysql://db:3306/shop
    labels:
      tier: web
    healthcheck:
      test: ["CMD-SHELL", "kill -0 1"]
      interval: 1s
      timeout: 1s
      retries: 3
    deploy:
      replicas: \${APP_REPLICAS:-2}
      labels:
        com.example.owner: shop-team
      placement:
        constraints: [node.role == manager]
      update_config:
        parallelism: 1
        delay: 1s
        order: start-first
      restart_policy:
        condition: any
        delay: 1s
secrets:
  db_password:
    file: ./db_password.txt
`;

/** Valid YAML, invalid compose: line 9 has a bad replicas value. */
const BAD = `services:
  db:
    image: ${TEST_IMAGE}
    secrets: [pw]
  app:
    image: ${TEST_IMAGE}
    deploy:
      mode: replicated
      replicas: lots
secrets:
  pw:
    file: ./db_password.txt
`;

function rows(out: string): string[][] {
  return out
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => l.trim().split(/\s{2,}/));
}

describe('stack deploy of a compose file on three managers', () => {
  const n1 = new ClusterNode('stk1', '127.0.0.31');
  const n2 = new ClusterNode('stk2', '127.0.0.32');
  const n3 = new ClusterNode('stk3', '127.0.0.33');
  const nodes = [n1, n2, n3];
  const password = `stkpw-${randomBytes(8).toString('hex')}`;
  const composeFile = path.join(n1.dir, 'docker-compose.yml');
  const dbOnlyFile = path.join(n1.dir, 'db-only.yml');
  const badFile = path.join(n1.dir, 'bad.yml');
  const syntaxFile = path.join(n1.dir, 'syntax.yml');
  let appId = '';
  let dbTask = '';

  /** `tswarm stack ...` on n1 with extra environment (for interpolation). */
  const stack = (args: readonly string[], env: Record<string, string> = {}) =>
    runCli(['-H', n1.host, 'stack', ...args], env);

  async function services(): Promise<Map<string, string>> {
    const out = await n2.ok(['stack', 'services', 'stk']);
    return new Map(rows(out).map((r) => [r[1] ?? '', r[3] ?? '']));
  }

  before(async () => {
    requireDocker();
    removeOwnContainers();
    writeFileSync(path.join(n1.dir, 'db_password.txt'), password);
    writeFileSync(composeFile, COMPOSE);
    writeFileSync(
      dbOnlyFile,
      COMPOSE.slice(0, COMPOSE.indexOf('  app:')) +
        COMPOSE.slice(COMPOSE.indexOf('secrets:\n  db_password')),
    );
    writeFileSync(badFile, BAD);
    writeFileSync(syntaxFile, 'services:\n  app:\n    image: [oops\n');
    await formManagers(nodes);
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.cleanup()));
    removeOwnContainers();
  });

  it('deploys db 1/1 and app 2/2 with the namespace label, warning about ignored keys', async () => {
    const r = await stack(['deploy', '-c', composeFile, 'stk']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Ignoring unsupported options: build, depends_on/);
    assert.equal(
      r.stdout,
      'Creating secret stk_db_password\nCreating service stk_app\nCreating service stk_db\n',
    );
    await waitFor(
      'stack services 1/1 and 2/2',
      async () => {
        const s = await services();
        return s.get('stk_db') === '1/1' && s.get('stk_app') === '2/2';
      },
      30_000,
      200,
    );
    assert.deepEqual(rows(await n3.ok(['stack', 'ls'])), [['stk', '2']]);
    const ps = await n1.ok(['stack', 'ps', 'stk']);
    assert.match(ps, /stk_app\.1\s+tswarm\/busybox:1\s+stk\d\s+Running\s+Running/);
    assert.match(ps, /stk_app\.2\s/);
    assert.match(ps, /stk_db\.1\s/);

    const [app] = JSON.parse(await n1.ok(['service', 'inspect', 'stk_app'])) as Service[];
    assert.ok(app);
    appId = app.ID;
    assert.equal(app.Spec.Labels['com.docker.stack.namespace'], 'stk');
    assert.equal(app.Spec.Labels['com.example.owner'], 'shop-team');
    assert.equal(app.Spec.TaskTemplate.ContainerSpec.Labels?.['tier'], 'web');
    assert.deepEqual(app.Spec.TaskTemplate.Placement?.Constraints, ['node.role == manager']);
    assert.equal(app.Spec.UpdateConfig?.Order, 'start-first');
    assert.equal(app.Spec.UpdateConfig.Delay, 1e9);
    assert.equal(app.Spec.TaskTemplate.ContainerSpec.Healthcheck?.Interval, 1e9);

    const [db] = tswarmContainers('stk_db').filter((c) => c.running);
    assert.ok(db);
    dbTask = db.labels['com.tswarm.task.id'] ?? '';
    const cat = spawnSync('docker', ['exec', db.id, 'cat', '/run/secrets/db_password'], {
      encoding: 'utf8',
    });
    assert.equal(cat.stdout, password);
    const env = spawnSync('docker', ['exec', db.id, 'sh', '-c', 'echo $MYSQL_DATABASE'], {
      encoding: 'utf8',
    });
    assert.equal(env.stdout.trim(), 'shop');
    assert.match(await n1.ok(['secret', 'ls']), /stk_db_password/);
  });

  it('re-deploys with app replicas 3: scales in place, db untouched', async () => {
    const r = await stack(['deploy', '-c', composeFile, 'stk'], { APP_REPLICAS: '3' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Updating service stk_app \\(id: ${appId}\\)`));
    assert.doesNotMatch(r.stdout, /Creating/);
    await waitFor(
      'stk_app 3/3',
      async () => (await services()).get('stk_app') === '3/3',
      30_000,
      200,
    );
    const [app] = JSON.parse(await n1.ok(['service', 'inspect', 'stk_app'])) as Service[];
    assert.equal(app?.ID, appId);
    assert.deepEqual(app.Spec.Mode, { Replicated: { Replicas: 3 } });
    assert.equal((await services()).get('stk_db'), '1/1');
    const db = tswarmContainers('stk_db').filter((c) => c.running);
    assert.deepEqual(
      db.map((c) => c.labels['com.tswarm.task.id']),
      [dbTask],
      'the db task was not replaced',
    );
  });

  it('refuses an invalid file with its line and key, and creates nothing', async () => {
    const bad = await stack(['deploy', '-c', badFile, 'stkbad']);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /bad\.yml, line 9: services\.app\.deploy\.replicas must be a non-negative integer/,
    );
    const syntax = await stack(['deploy', '-c', syntaxFile, 'stkbad']);
    assert.equal(syntax.code, 1);
    assert.match(syntax.stderr, /syntax\.yml, line \d+: yaml: /);
    assert.deepEqual(rows(await n1.ok(['stack', 'ls'])), [['stk', '2']]);
    assert.doesNotMatch(await n1.ok(['service', 'ls']), /stkbad/);
    assert.doesNotMatch(await n1.ok(['secret', 'ls']), /stkbad/);
    const none = await stack(['services', 'stkbad']);
    assert.match(none.stderr, /Nothing found in stack: stkbad/);
  });

  it('prunes services no longer in the file only with --prune', async () => {
    const keep = await stack(['deploy', '-c', dbOnlyFile, 'stk']);
    assert.equal(keep.code, 0, keep.stderr);
    assert.ok((await services()).has('stk_app'), 'without --prune stk_app stays');
    const pruned = await stack(['deploy', '--prune', '-c', dbOnlyFile, 'stk']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /Removing service stk_app/);
    assert.deepEqual([...(await services()).keys()], ['stk_db']);
    await waitFor(
      'stk_app containers gone',
      () => tswarmContainers('stk_app').length === 0,
      20_000,
    );
  });

  it('stack rm removes every service and secret of the stack', async () => {
    const r = await stack(['rm', 'stk']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Removing service stk_db\nRemoving secret stk_db_password\n');
    assert.equal((await n1.ok(['stack', 'ls'])).trim(), 'NAME   SERVICES');
    assert.doesNotMatch(await n1.ok(['secret', 'ls']), /stk_/);
    await waitFor(
      'stack containers removed',
      () => SERVICES.every((s) => tswarmContainers(s).length === 0),
      20_000,
    );
    const again = await stack(['rm', 'stk']);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /Nothing found in stack: stk/);
  });
});
