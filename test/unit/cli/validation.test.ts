import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  parseAdvertiseAddr,
  parseFilters,
  parseHostPort,
  parseJoinToken,
  parseLabel,
  parseListenAddr,
  parseRemoteAddr,
  NODE_FILTER_KEYS,
} from '../../../src/cli/validate.js';
import { NO_DAEMON, run } from './capture.js';
import { FakeDaemon, WORKER_TOKEN } from './fake-daemon.js';
import { seededRandom as seeded } from '../../helpers/prng.js';

/** Each command line is wrong; the CLI must say why, exit 1 and not call the daemon. */
const CASES: readonly (readonly [argv: readonly string[], message: RegExp])[] = [
  [
    ['node', 'promote'],
    /^"tswarm node promote" requires at least 1 argument\.\nSee 'tswarm node promote --help'\.\n\nUsage: {2}tswarm node promote NODE \[NODE\.\.\.\]\n/,
  ],
  [['node', 'demote'], /^"tswarm node demote" requires at least 1 argument\./],
  [['node', 'rm'], /^"tswarm node rm" requires at least 1 argument\./],
  [['node', 'inspect'], /^"tswarm node inspect" requires at least 1 argument\./],
  [['node', 'update'], /^"tswarm node update" requires exactly 1 argument\./],
  [['node', 'update', 'a', 'b'], /^"tswarm node update" requires exactly 1 argument\./],
  [['node', 'ls', 'x'], /^"tswarm node ls" accepts no arguments\./],
  [
    ['service', 'ps'],
    /^"tswarm service ps" requires at least 1 argument\.\nSee 'tswarm service ps --help'\.\n\nUsage: {2}tswarm service ps \[OPTIONS\] SERVICE \[SERVICE\.\.\.\]\n/,
  ],
  [['service', 'create'], /^"tswarm service create" requires at least 1 argument\./],
  [['service', 'inspect'], /^"tswarm service inspect" requires at least 1 argument\./],
  [['service', 'scale'], /^"tswarm service scale" requires at least 1 argument\./],
  [['service', 'rm'], /^"tswarm service rm" requires at least 1 argument\./],
  [['service', 'update'], /^"tswarm service update" requires exactly 1 argument\./],
  [['service', 'update', 'a', 'b'], /^"tswarm service update" requires exactly 1 argument\./],
  [['service', 'rollback'], /^"tswarm service rollback" requires exactly 1 argument\./],
  [['service', 'logs', 'a', 'b'], /^"tswarm service logs" requires exactly 1 argument\./],
  [['service', 'ls', 'x'], /^"tswarm service ls" accepts no arguments\./],
  [['service', 'scale', 'web'], /^invalid scale specifier 'web'\./],
  [['swarm', 'init', 'x'], /^"tswarm swarm init" accepts no arguments\./],
  [['swarm', 'leave', 'x'], /^"tswarm swarm leave" accepts no arguments\./],
  [['swarm', 'update', 'x'], /^"tswarm swarm update" accepts no arguments\./],
  [
    ['swarm', 'join', '--token', WORKER_TOKEN],
    /^"tswarm swarm join" requires exactly 1 argument\./,
  ],
  [['swarm', 'join-token'], /^"tswarm swarm join-token" requires exactly 1 argument\./],
  [['swarm', 'join-token', 'boss'], /^unknown role boss/],
  [['node', 'bogus'], /^unknown command "bogus" for "tswarm node"/],
  [
    ['node', 'update', '--role', 'boss', 'n'],
    /^invalid role "boss", only worker and manager are supported$/,
  ],
  [
    ['node', 'update', '--availability', 'sleep', 'n'],
    /^invalid availability "sleep", only active, pause and drain are supported$/,
  ],
  [['node', 'update', '--label-add', '=v', 'n'], /^invalid label "=v": empty name$/],
  [['node', 'update', '--label-add', 'a b=c', 'n'], /^label "a b=c" contains whitespaces$/],
  [['node', 'update', '--label-rm', '', 'n'], /^invalid label key "": empty name$/],
  [['node', 'update', '--label-rm', 'k=v', 'n'], /^invalid label key "k=v"/],
  [['node', 'ls', '--bogus'], /unknown option '--bogus'/],
  [['swarm', 'leave', '--bogus'], /unknown option '--bogus'/],
  [['swarm', 'join', '--token'], /option '--token <token>' argument missing/],
  [['node', 'ls', '-f', 'foo=bar'], /^invalid filter 'foo'/],
  [['node', 'ls', '-f', 'nonsense'], /^bad format of filter \(expected name=value\)/],
  [['node', 'ls', '-f', 'role=boss'], /^invalid filter 'role=boss'/],
  [['node', 'ls', '--format', '{{.Nope}'], /^template parsing error: /],
  [
    ['node', 'ls', '--format', '{{nosuch .ID}}'],
    /^template parsing error: .*function "nosuch" not defined/,
  ],
  [
    ['node', 'inspect', '--format', 'pretty extra', 'x'],
    /^cannot supply extra formatting options to the pretty template$/,
  ],
  [['node', 'inspect', '-f', '{{if .A}}', 'x'], /^template parsing error: /],
  [['info', '--format', '{{.swarm'], /^template parsing error: /],
  [['swarm', 'init', '--advertise-addr', 'eth0'], /interface names are not supported/],
  [['swarm', 'init', '--listen-addr', 'enp0s3:2377'], /interface names are not supported/],
  [
    ['swarm', 'init', '--advertise-addr', '1.2.3.999'],
    /^invalid address "1\.2\.3\.999" for --advertise-addr: .*not a valid IPv4 address/,
  ],
  [['swarm', 'init', '--advertise-addr', 'host:0'], /port 0 is out of range 1-65535/],
  [['swarm', 'init', '--listen-addr', 'host:70000'], /port 70000 is out of range 1-65535/],
  [['swarm', 'init', '--listen-addr', 'host:abc'], /invalid port "abc"/],
  [['swarm', 'init', '--advertise-addr', 'bad_host!'], /not a valid IP address or hostname/],
  [['swarm', 'init', '--advertise-addr', 'http://x'], /only tcp:\/\/ addresses are supported/],
  [['swarm', 'init', '--listen-addr', '[::1'], /missing "\]"/],
  [['swarm', 'init', '--advertise-addr', ':2377'], /the host is empty/],
  [
    ['swarm', 'init', '--task-history-limit', 'x'],
    /^invalid argument "x" for "--task-history-limit" flag: not an integer$/,
  ],
  [
    ['swarm', 'init', '--task-history-limit', '-1'],
    /^invalid argument "-1" for "--task-history-limit" flag: must be between 0 and/,
  ],
  [
    ['swarm', 'init', '--dispatcher-heartbeat', '5d'],
    /^invalid argument "5d" for "--dispatcher-heartbeat" flag: time: unknown unit "d" in duration "5d"$/,
  ],
  [['swarm', 'init', '--dispatcher-heartbeat', '5'], /time: missing unit in duration "5"/],
  [['swarm', 'init', '--dispatcher-heartbeat', '-5s'], /the duration must be positive/],
  [['swarm', 'update', '--dispatcher-heartbeat', '0'], /the duration must be positive/],
  [
    ['swarm', 'update', '--cert-expiry', '1y'],
    /^invalid argument "1y" for "--cert-expiry" flag: time: unknown unit "y"/,
  ],
  [['swarm', 'update', '--task-history-limit', '1.5'], /not an integer/],
  [['swarm', 'join', '1.2.3.4'], /^a join token is required: pass --token/],
  [
    ['swarm', 'join', '--token', 'abc', '1.2.3.4'],
    /^invalid join token "abc": a join token starts with SWMTKN-1-$/,
  ],
  [
    ['swarm', 'join', '--token', 'SWMTKN-1-abc', '1.2.3.4'],
    /expected SWMTKN-1-<CA digest>-<secret>/,
  ],
  [['swarm', 'join', '--token', WORKER_TOKEN, 'eth0:2377'], /interface names are not supported/],
  [
    ['swarm', 'join', '--token', WORKER_TOKEN, '1.2.3.4:99999'],
    /^invalid address "1\.2\.3\.4:99999" for HOST:PORT: port 99999 is out of range 1-65535$/,
  ],
  [
    ['swarm', 'join', '--token', WORKER_TOKEN, '--listen-addr', 'x y', '1.2.3.4'],
    /for --listen-addr/,
  ],
];

describe('validation errors exit 1 before contacting the daemon', () => {
  for (const [argv, message] of CASES) {
    it(argv.join(' '), async () => {
      const r = await run(NO_DAEMON, argv);
      assert.equal(r.code, 1, `exit code; stderr: ${r.err}`);
      assert.doesNotMatch(r.err, /Cannot connect/);
      assert.match(r.err.replace(/\n$/, ''), message);
      assert.equal(r.out, '');
    });
  }

  describe('with a daemon listening', () => {
    const d = new FakeDaemon();
    before(() => d.start());
    after(() => d.stop());

    it('none of the bad command lines makes a call', async () => {
      for (const [argv] of CASES) {
        const r = await run(d.host, argv);
        assert.equal(r.code, 1, argv.join(' '));
      }
      assert.deepEqual(d.methods(), []);
    });
  });
});

describe('address, token, label and filter parsers', () => {
  it('accepts IPs and hostnames with optional ports', () => {
    assert.deepEqual(parseHostPort('10.0.0.1', 'x'), { host: '10.0.0.1', port: undefined });
    assert.deepEqual(parseHostPort('tcp://10.0.0.1:2377', 'x'), { host: '10.0.0.1', port: 2377 });
    assert.deepEqual(parseHostPort('[fe80::1]:4000', 'x'), { host: 'fe80::1', port: 4000 });
    assert.deepEqual(parseHostPort('::1', 'x'), { host: '::1', port: undefined });
    assert.deepEqual(parseHostPort('node-1.example.com:65535', 'x'), {
      host: 'node-1.example.com',
      port: 65535,
    });
    assert.deepEqual(parseHostPort('localhost', 'x'), { host: 'localhost', port: undefined });
  });

  it('normalises listen, advertise and remote addresses as Docker does', () => {
    assert.equal(parseListenAddr('10.0.0.1'), '10.0.0.1:2377');
    assert.equal(parseListenAddr(':4567'), '0.0.0.0:4567');
    assert.equal(parseListenAddr('::1'), '[::1]:2377');
    assert.equal(parseAdvertiseAddr('10.0.0.1'), '10.0.0.1');
    assert.equal(parseAdvertiseAddr('10.0.0.1:3000'), '10.0.0.1:3000');
    assert.equal(parseAdvertiseAddr('fe80::1'), 'fe80::1');
    assert.equal(parseAdvertiseAddr('[fe80::1]:3000'), '[fe80::1]:3000');
    assert.equal(parseRemoteAddr('manager'), 'manager:2377');
  });

  it('checks join token shape', () => {
    assert.equal(parseJoinToken(` ${WORKER_TOKEN} `), WORKER_TOKEN);
    assert.throws(() => parseJoinToken('SWMTKN-2-aaa-bbb'), /starts with SWMTKN-1-/);
    assert.throws(() => parseJoinToken('SWMTKN-1-AAA-bbb'), /lower-case/);
    assert.throws(() => parseJoinToken(undefined), /required/);
  });

  it('parses labels and filters', () => {
    assert.deepEqual(parseLabel('a=b=c'), ['a', 'b=c']);
    assert.deepEqual(parseLabel('flag'), ['flag', '']);
    assert.deepEqual(parseFilters(['Role=manager', 'node.label=a=b'], NODE_FILTER_KEYS), [
      'role=manager',
      'node.label=a=b',
    ]);
  });
});

describe('randomized bad input', () => {
  const seed = Number(process.env['TSWARM_CLI_SEED'] ?? 20240501);
  const rnd = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => {
    const x = xs[Math.floor(rnd() * xs.length)];
    if (x === undefined) throw new Error('empty choice');
    return x;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const word = (alphabet: string, min: number, max: number): string => {
    let s = '';
    for (let i = int(min, max); i > 0; i--) s += alphabet.charAt(int(0, alphabet.length - 1));
    return s;
  };
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

  const validCommands: readonly (readonly string[])[] = [
    ['swarm', 'init'],
    ['swarm', 'join', '--token', WORKER_TOKEN, '10.0.0.1'],
    ['swarm', 'join-token', 'worker'],
    ['swarm', 'leave'],
    ['swarm', 'update', '--task-history-limit', '3'],
    ['node', 'ls'],
    ['node', 'inspect', 'self'],
    ['node', 'promote', 'n1'],
    ['node', 'demote', 'n1'],
    ['node', 'update', 'n1'],
    ['node', 'rm', 'n1'],
  ];

  const badAddress = (): string =>
    pick([
      () => `${int(256, 999)}.${int(0, 255)}.${int(0, 255)}.${int(0, 255)}`,
      () => `10.0.0.${int(1, 254)}:${pick([0, int(65536, 999999)])}`,
      () => `host${int(0, 99)}:${word(letters, 1, 5)}`,
      () =>
        `${word(letters, 1, 6)}${pick(['_', '!', '@', '#', ' ', ',', ';', '*'])}${word(letters, 0, 6)}`,
      () => pick(['eth', 'ens', 'eno', 'wlan', 'docker', 'bond']) + String(int(0, 9)),
      () => `${pick(['http', 'udp', 'unix'])}://10.0.0.1:2377`,
      () => `[${word('0123456789abcdef', 1, 4)}::${word('xyz', 1, 3)}]`,
      () => `:${int(1, 65535)}`,
      () => '',
    ])();

  const addressSites = (addr: string): string[] =>
    pick([
      ['swarm', 'init', '--advertise-addr', addr],
      ['swarm', 'init', '--listen-addr', addr === '' || addr.startsWith(':') ? `${addr}x y` : addr],
      ['swarm', 'join', '--token', WORKER_TOKEN, '--advertise-addr', addr, '10.0.0.1'],
      ['swarm', 'join', '--token', WORKER_TOKEN, addr],
    ]);

  const badDuration = (): string =>
    pick([
      () => String(int(1, 9999)),
      () => `${int(1, 99)}${pick(['d', 'y', 'w', 'sec', 'min', 'hr', 'S', 'M'])}`,
      () => `-${int(1, 99)}${pick(['s', 'm', 'h'])}`,
      () => word(letters, 1, 8),
      () => `${int(1, 9)}us`,
      () => '0',
    ])();

  const notIn = (choices: readonly string[]): string => {
    for (;;) {
      const w = word(letters, 1, 10);
      if (!choices.includes(w.toLowerCase())) return w;
    }
  };

  const generators: readonly (() => string[])[] = [
    () => [...pick(validCommands), `--${word('abcdefghijklmnopqrstuvwxyz', 2, 12)}`],
    () => {
      const argv = [...pick(validCommands)];
      argv.splice(2, 0, `--zz${word(letters, 1, 8)}`, 'value');
      return argv;
    },
    () => addressSites(badAddress()),
    () => ['node', 'update', '--role', notIn(['worker', 'manager']), 'n1'],
    () => ['node', 'update', '--availability', notIn(['active', 'pause', 'drain']), 'n1'],
    () => ['swarm', 'join-token', notIn(['worker', 'manager'])],
    () => ['swarm', pick(['init', 'update']), '--dispatcher-heartbeat', badDuration()],
    () => ['swarm', 'update', '--cert-expiry', badDuration()],
    () => [
      'swarm',
      'join',
      '--token',
      pick(['', 'SWMTKN-2-a-b', word(letters, 1, 30)]),
      '10.0.0.1',
    ],
    () => [
      'node',
      'update',
      '--label-add',
      pick(['=v', ` =x`, `a b=${word(letters, 0, 4)}`]),
      'n1',
    ],
  ];

  it(`every generated command line exits 1 with a message (seed ${seed})`, async () => {
    for (let i = 0; i < 300; i++) {
      const argv = pick(generators)();
      const r = await run(NO_DAEMON, argv);
      const where = `seed ${seed}, case ${i}: tswarm ${JSON.stringify(argv)} → ${JSON.stringify(r)}`;
      assert.equal(r.code, 1, where);
      assert.ok(r.err.trim().length > 0, where);
      assert.doesNotMatch(r.err, /Cannot connect|fatal/, where);
    }
  });
});
