import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { messages, TswarmError } from '../../../src/shared/errors.js';
import { decodeObject } from '../../../src/cli/client.js';
import { NO_DAEMON, run } from './capture.js';
import { FakeDaemon, makeNode, MANAGER_TOKEN, WORKER_TOKEN } from './fake-daemon.js';

const d = new FakeDaemon();
const tswarm = (...argv: string[]) => run(d.host, argv);

function lastRequest(method: string): Record<string, unknown> {
  const call = [...d.calls].reverse().find((c) => c.method === method);
  assert.ok(call, `no ${method} call; calls: ${d.methods().join(',')}`);
  return call.request as Record<string, unknown>;
}

before(async () => {
  await d.start();
});
after(async () => {
  await d.stop();
});
beforeEach(() => {
  d.calls.length = 0;
  d.failures.clear();
  d.selfId = 'mgr1aaaaaaaaaaaaaaaaaaaaa';
  d.nodes = [
    makeNode('mgr1aaaaaaaaaaaaaaaaaaaaa', 'alpha', {
      role: 'manager',
      leader: true,
      addr: '10.0.0.1',
    }),
    makeNode('wrk1bbbbbbbbbbbbbbbbbbbbb', 'beta', { addr: '10.0.0.2', labels: { zone: 'a' } }),
    makeNode('wrk2ccccccccccccccccccccc', 'gamma', { addr: '10.0.0.3', state: 'down' }),
  ];
});

describe('tswarm swarm', () => {
  it('init prints Docker’s text and sends normalised flags', async () => {
    const r = await tswarm(
      'swarm',
      'init',
      '--advertise-addr',
      '192.168.1.10',
      '--listen-addr',
      '0.0.0.0',
      '--task-history-limit',
      '3',
      '--dispatcher-heartbeat',
      '1m30s',
    );
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      'Swarm initialized: current node (newnodeid0000000000000000) is now a manager.\n\n' +
        'To add a worker to this swarm, run the following command:\n\n' +
        `    tswarm swarm join --token ${WORKER_TOKEN} 192.168.1.10:2377\n\n` +
        "To add a manager to this swarm, run 'tswarm swarm join-token manager' and follow the instructions.\n",
    );
    const req = lastRequest('SwarmInit');
    assert.equal(req['advertise_addr'], '192.168.1.10');
    assert.equal(req['listen_addr'], '0.0.0.0:2377');
    assert.equal(req['task_history_limit'], 3);
    assert.equal(req['dispatcher_heartbeat_ms'], '90000');
    assert.equal(req['force_new_cluster'], false);
  });

  it('init without flags leaves the optional settings unset', async () => {
    const r = await tswarm('swarm', 'init', '--force-new-cluster');
    assert.equal(r.code, 0);
    const req = lastRequest('SwarmInit');
    assert.equal(req['listen_addr'], '');
    assert.equal(req['advertise_addr'], '');
    assert.equal(req['force_new_cluster'], true);
    assert.equal(req['task_history_limit'], undefined);
    assert.equal(req['dispatcher_heartbeat_ms'], undefined);
  });

  it('init prints daemon refusals as Docker does', async () => {
    d.failures.set('SwarmInit', new TswarmError('FAILED_PRECONDITION', messages.alreadyInSwarm));
    const r = await tswarm('swarm', 'init');
    assert.equal(r.code, 1);
    assert.equal(r.err, `Error response from daemon: ${messages.alreadyInSwarm}\n`);
  });

  it('join reports the role it joined with; the port defaults to 2377', async () => {
    let r = await tswarm('swarm', 'join', '--token', WORKER_TOKEN, '10.0.0.1');
    assert.equal(r.out, 'This node joined a swarm as a worker.\n');
    assert.equal(lastRequest('SwarmJoin')['remote_addr'], '10.0.0.1:2377');
    r = await tswarm(
      'swarm',
      'join',
      '--token',
      MANAGER_TOKEN,
      '--advertise-addr',
      '10.0.0.9:4000',
      'mgr.example.com:2400',
    );
    assert.equal(r.out, 'This node joined a swarm as a manager.\n');
    const req = lastRequest('SwarmJoin');
    assert.equal(req['remote_addr'], 'mgr.example.com:2400');
    assert.equal(req['advertise_addr'], '10.0.0.9:4000');
    assert.equal(req['token'], MANAGER_TOKEN);
  });

  it('join-token prints the join command with this manager’s address', async () => {
    const r = await tswarm('swarm', 'join-token', 'worker');
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      `To add a worker to this swarm, run the following command:\n\n    tswarm swarm join --token ${WORKER_TOKEN} 10.0.0.1:2377\n\n`,
    );
    assert.deepEqual(d.methods(), ['SwarmInspect', 'Info', 'NodeInspect']);
    assert.equal(lastRequest('NodeInspect')['ref'], d.selfId);
  });

  it('join-token -q prints the token only; --rotate rotates first', async () => {
    let r = await tswarm('swarm', 'join-token', '-q', 'manager');
    assert.equal(r.out, `${MANAGER_TOKEN}\n`);
    r = await tswarm('swarm', 'join-token', '--rotate', 'manager');
    assert.equal(r.code, 0, r.err);
    const rotated = MANAGER_TOKEN.replace('managersecret', 'rotatedmanag');
    assert.equal(
      r.out,
      'Successfully rotated manager join token.\n\n' +
        `To add a manager to this swarm, run the following command:\n\n    tswarm swarm join --token ${rotated} 10.0.0.1:2377\n\n`,
    );
    const req = lastRequest('SwarmUpdate');
    assert.equal(req['rotate_manager_token'], true);
    assert.equal(req['rotate_worker_token'], false);
  });

  it('join-token falls back to Info’s addresses when the node object has none', async () => {
    d.nodes = [];
    d.managerAddrs = ['10.0.0.7:2377', '10.0.0.1:4567'];
    const r = await tswarm('swarm', 'join-token', 'worker');
    d.managerAddrs = [];
    assert.match(r.out, / 10\.0\.0\.1:4567\n/);
  });

  it('leave and update', async () => {
    let r = await tswarm('swarm', 'leave', '--force');
    assert.equal(r.out, 'Node left the swarm.\n');
    assert.equal(lastRequest('SwarmLeave')['force'], true);
    r = await tswarm('swarm', 'update', '--task-history-limit', '10', '--cert-expiry', '720h');
    assert.equal(r.out, 'Swarm updated.\n');
    const req = lastRequest('SwarmUpdate');
    assert.equal(req['task_history_limit'], 10);
    assert.equal(req['cert_expiry_ms'], String(720 * 3600 * 1000));
    assert.equal(req['dispatcher_heartbeat_ms'], undefined);
  });
});

describe('daemon errors', () => {
  it('a daemon’s own UNAVAILABLE answer is a daemon error, not "Cannot connect"', async () => {
    d.failures.set('SwarmLeave', new TswarmError('UNAVAILABLE', 'not implemented yet'));
    const r = await tswarm('swarm', 'leave');
    assert.equal(r.code, 1);
    assert.equal(r.err, 'Error response from daemon: not implemented yet\n');
  });

  it('no daemon: "Cannot connect", exit 1', async () => {
    const r = await run(NO_DAEMON, ['node', 'ls']);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /^Cannot connect to the tswarm daemon at unix:\/\/\/nonexistent\/.* Is the tswarm daemon running\?\n$/,
    );
  });

  it('malformed JSON from the daemon is an internal error', () => {
    assert.throws(() => decodeObject('{', 'node'), /invalid node JSON from daemon/);
    assert.throws(() => decodeObject('[1]', 'node'), /not an object/);
    assert.deepEqual(decodeObject('{"ID":"x"}', 'node'), { ID: 'x' });
  });
});

describe('tswarm info --format', () => {
  it('runs a template over the info object', async () => {
    const r = await tswarm('info', '--format', '{{.swarm.node_id}} {{.swarm.local_node_state}}');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `${d.selfId} active\n`);
  });
});

describe('tswarm node', () => {
  it('ls prints the table with * on the local node', async () => {
    const r = await tswarm('node', 'ls');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(
      lines[0] ?? '',
      /^ID {4,}HOSTNAME {3,}STATUS {3,}AVAILABILITY {3,}MANAGER STATUS {3,}ENGINE VERSION$/,
    );
    assert.match(lines[1] ?? '', /^mgr1a+ \* +alpha +Ready +Active +Leader +24\.0\.7$/);
    assert.match(lines[2] ?? '', /^wrk1b+ {3,}beta +Ready +Active {3,}24\.0\.7$/);
    assert.match(lines[3] ?? '', /^wrk2c+ {3,}gamma +Down +Active {3,}24\.0\.7$/);
    assert.deepEqual(d.methods(), ['NodeList', 'Info']);
  });

  it('ls -q does not ask for Info; filters go to the daemon', async () => {
    const r = await tswarm('node', 'ls', '-q', '-f', 'role=manager', '--filter', 'name=alpha');
    assert.equal(r.out, d.nodes.map((n) => n.ID + '\n').join(''));
    assert.deepEqual(d.methods(), ['NodeList']);
    assert.deepEqual(lastRequest('NodeList')['filters'], ['role=manager', 'name=alpha']);
  });

  it('ls --format json and templates', async () => {
    let r = await tswarm('node', 'ls', '--format', 'json');
    const first = JSON.parse(r.out.split('\n')[0] ?? '') as Record<string, unknown>;
    assert.equal(first['Hostname'], 'alpha');
    assert.equal(first['Self'], true);
    r = await tswarm('node', 'ls', '--format', '{{.Hostname}}\\t{{.Status}}');
    assert.equal(r.out, 'alpha\tReady\nbeta\tReady\ngamma\tDown\n');
  });

  it('ls prints daemon errors', async () => {
    d.failures.set('NodeList', new TswarmError('NOT_MANAGER', messages.notManager));
    const r = await tswarm('node', 'ls');
    assert.equal(r.code, 1);
    assert.equal(r.err, `Error response from daemon: ${messages.notManager}\n`);
  });

  it('inspect prints a JSON array, templates, pretty; errors after what was found', async () => {
    let r = await tswarm('node', 'inspect', 'self', 'beta');
    assert.equal(r.code, 0, r.err);
    const arr = JSON.parse(r.out) as { ID: string }[];
    assert.deepEqual(
      arr.map((n) => n.ID),
      [d.selfId, 'wrk1bbbbbbbbbbbbbbbbbbbbb'],
    );
    r = await tswarm(
      'node',
      'inspect',
      '-f',
      '{{.Spec.Role}} {{.Description.Hostname}}',
      'alpha',
      'wrk1',
    );
    assert.equal(r.out, 'manager alpha\nworker beta\n');
    r = await tswarm('node', 'inspect', '--pretty', 'self');
    assert.match(r.out, /^ID:\t\t\tmgr1a+\n/);
    assert.match(r.out, /Leader:\t\tYes/);
    r = await tswarm('node', 'inspect', 'beta', 'nope');
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.out) as unknown[]).length, 1);
    assert.equal(r.err, 'Error response from daemon: node nope not found\n');
    r = await tswarm('node', 'inspect', 'nope');
    assert.equal(r.out, '[]\n');
    assert.equal(r.code, 1);
  });

  it('promote and demote, skipping nodes that already have the role', async () => {
    let r = await tswarm('node', 'promote', 'beta', 'alpha');
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      'Node beta promoted to a manager in the swarm.\nNode mgr1aaaaaaaaaaaaaaaaaaaaa is already a manager.\n',
    );
    assert.equal(lastRequest('NodeUpdate')['role'], 'manager');
    r = await tswarm('node', 'demote', 'beta');
    assert.equal(r.out, 'Manager beta demoted in the swarm.\n');
    assert.equal(lastRequest('NodeUpdate')['role'], 'worker');
    d.failures.set(
      'NodeUpdate',
      new TswarmError('FAILED_PRECONDITION', messages.demoteLastManager),
    );
    r = await tswarm('node', 'demote', 'alpha', 'beta');
    assert.equal(r.code, 1);
    assert.equal(r.err, `Error response from daemon: ${messages.demoteLastManager}\n`);
    assert.equal(r.out, '');
  });

  it('update sends the changes and prints the ref', async () => {
    const r = await tswarm(
      'node',
      'update',
      '--availability',
      'Drain',
      '--role',
      'manager',
      '--label-add',
      'disk=ssd',
      '--label-add',
      'gpu',
      '--label-rm',
      'zone',
      'beta',
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'beta\n');
    const req = lastRequest('NodeUpdate');
    assert.equal(req['availability'], 'drain');
    assert.equal(req['role'], 'manager');
    assert.deepEqual(req['label_add'], { disk: 'ssd', gpu: '' });
    assert.deepEqual(req['label_rm'], ['zone']);
    const node = d.nodes.find((n) => n.Description.Hostname === 'beta');
    assert.deepEqual(node?.Spec.Labels, { disk: 'ssd', gpu: '' });
  });

  it('update refuses to remove a label the node does not have', async () => {
    const r = await tswarm('node', 'update', '--label-rm', 'nosuch', 'beta');
    assert.equal(r.code, 1);
    assert.equal(r.err, "key nosuch doesn't exist in node's labels\n");
    assert.deepEqual(d.methods(), ['NodeInspect']);
  });

  it('rm prints each removed ref and lists failures at the end', async () => {
    let r = await tswarm('node', 'rm', 'gamma', 'beta', 'nope');
    assert.equal(r.code, 1);
    assert.equal(r.out, 'gamma\n');
    assert.equal(
      r.err,
      "Error response from daemon: rpc error: code = FailedPrecondition desc = node wrk1bbbbbbbbbbbbbbbbbbbbb is not down and can't be removed\n" +
        'Error response from daemon: node nope not found\n',
    );
    r = await tswarm('node', 'rm', '-f', 'beta');
    assert.equal(r.code, 0);
    assert.equal(r.out, 'beta\n');
    assert.equal(lastRequest('NodeRemove')['force'], true);
  });
});
