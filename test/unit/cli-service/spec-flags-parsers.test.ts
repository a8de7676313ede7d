import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseBytes,
  parseCpus,
  parseDurationNs,
  parseKeyValues,
  parsePublish,
  parseUint,
  splitShellWords,
} from '../../../src/cli/service/spec-flags.js';
import { throwsInvalid } from './helpers.js';

describe('parseDurationNs (Go durations)', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['1m30s', 90e9],
    ['500ms', 500e6],
    ['2h', 7200e9],
    ['1h2m3s4ms', 3723.004e9],
    ['1.5s', 1.5e9],
    ['.5s', 0.5e9],
    ['1.s', 1e9],
    ['0s', 0],
    ['10us', 10_000],
    ['10µs', 10_000],
    ['100ns', 100],
    ['0.1s', 100e6],
    ['3m0.5s', 180.5e9],
  ];
  for (const [raw, ns] of cases) {
    it(`${raw} → ${ns} ns`, () => {
      assert.equal(parseDurationNs(raw, '--restart-delay'), ns);
    });
  }

  it('returns integers', () => {
    for (const raw of ['0.1s', '1.000000001s', '0.3333333333s'])
      assert.ok(Number.isInteger(parseDurationNs(raw, '--x')), raw);
  });

  const bad: [string, string][] = [
    ['', 'time: invalid duration ""'],
    ['abc', 'time: invalid duration "abc"'],
    ['s', 'time: invalid duration "s"'],
    ['.s', 'time: invalid duration ".s"'],
    ['10', 'time: missing unit in duration "10"'],
    ['1m30', 'time: missing unit in duration "1m30"'],
    ['5x', 'time: unknown unit "x" in duration "5x"'],
    ['1sec', 'time: unknown unit "sec" in duration "1sec"'],
    ['1 s', 'time: unknown unit " s" in duration "1 s"'],
    ['1s ', 'time: unknown unit "s " in duration "1s "'],
    ['-', 'time: invalid duration "-"'],
  ];
  for (const [raw, msg] of bad) {
    it(`refuses ${JSON.stringify(raw)} like Go's time.ParseDuration`, () => {
      throwsInvalid(
        () => parseDurationNs(raw, '--restart-delay'),
        `invalid argument "${raw}" for "--restart-delay" flag: ${msg}`,
      );
    });
  }
});

describe('parseCpus', () => {
  for (const [raw, nano] of [
    ['1', 1e9],
    ['1.5', 1.5e9],
    ['0.25', 0.25e9],
    ['.5', 0.5e9],
    ['0.000000001', 1],
    ['2.000000000000', 2e9],
  ] as const) {
    it(`${raw} → ${nano} NanoCPUs`, () => {
      assert.equal(parseCpus(raw, '--limit-cpu'), nano);
    });
  }

  it('refuses what is not a number, like Docker', () => {
    for (const raw of ['abc', '', '1,5', '-', '1.2.3'])
      throwsInvalid(
        () => parseCpus(raw, '--limit-cpu'),
        `invalid argument "${raw}" for "--limit-cpu" flag: failed to parse ${raw} as a rational number`,
      );
  });

  it('refuses more precision than a nano CPU', () => {
    throwsInvalid(
      () => parseCpus('0.0000000001', '--reserve-cpu'),
      'invalid argument "0.0000000001" for "--reserve-cpu" flag: value is too precise',
    );
  });
});

describe('parseBytes (RAMInBytes)', () => {
  for (const [raw, bytes] of [
    ['1024', 1024],
    ['512m', 512 * 1024 ** 2],
    ['512M', 512 * 1024 ** 2],
    ['512mb', 512 * 1024 ** 2],
    ['512MiB', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['4k', 4096],
    ['2t', 2 * 1024 ** 4],
    ['100b', 100],
  ] as const) {
    it(`${raw} → ${bytes}`, () => {
      assert.equal(parseBytes(raw, '--limit-memory'), bytes);
    });
  }

  it('refuses invalid sizes with Docker text', () => {
    for (const raw of ['abc', '', '-1', '12x', 'm', '1gg'])
      throwsInvalid(
        () => parseBytes(raw, '--limit-memory'),
        `invalid argument "${raw}" for "--limit-memory" flag: invalid size: '${raw}'`,
      );
  });
});

describe('parseUint and parseKeyValues', () => {
  it('parses unsigned integers', () => {
    assert.equal(parseUint('0', '--replicas'), 0);
    assert.equal(parseUint('42', '--replicas'), 42);
  });

  it('refuses signs, decimals and words like strconv.ParseUint', () => {
    for (const raw of ['-1', '1.5', 'three', '', ' 1'])
      throwsInvalid(
        () => parseUint(raw, '--replicas'),
        `invalid argument "${raw}" for "--replicas" flag: strconv.ParseUint: parsing "${raw}": invalid syntax`,
      );
  });

  it('parses KEY=VALUE and bare KEY; the last value wins; = inside values is kept', () => {
    assert.deepEqual(parseKeyValues(['a=1', 'b', 'c=x=y', 'a=2', 'e='], '--label'), {
      a: '2',
      b: '',
      c: 'x=y',
      e: '',
    });
  });

  it('refuses an empty key', () => {
    throwsInvalid(
      () => parseKeyValues(['=v'], '--label'),
      'invalid argument "=v" for "--label" flag: invalid label: empty key',
    );
  });
});

describe('parsePublish', () => {
  it('short form PUBLISHED:TARGET', () => {
    assert.deepEqual(parsePublish('8080:80'), {
      Protocol: 'tcp',
      TargetPort: 80,
      PublishedPort: 8080,
      PublishMode: 'ingress',
    });
  });

  it('short form with protocol', () => {
    assert.deepEqual(parsePublish('8080:80/udp'), {
      Protocol: 'udp',
      TargetPort: 80,
      PublishedPort: 8080,
      PublishMode: 'ingress',
    });
    assert.equal(parsePublish('53:53/tcp').Protocol, 'tcp');
  });

  it('short form with the target only: the published port is left to the swarm', () => {
    assert.deepEqual(parsePublish('80'), {
      Protocol: 'tcp',
      TargetPort: 80,
      PublishMode: 'ingress',
    });
  });

  it('long form with mode=host', () => {
    assert.deepEqual(parsePublish('published=8080,target=80,mode=host'), {
      Protocol: 'tcp',
      TargetPort: 80,
      PublishedPort: 8080,
      PublishMode: 'host',
    });
  });

  it('long form with protocol and without published', () => {
    assert.deepEqual(parsePublish('target=53,protocol=udp'), {
      Protocol: 'udp',
      TargetPort: 53,
      PublishMode: 'ingress',
    });
  });

  const bad: [string, string][] = [
    [
      'abc',
      'invalid argument "abc" for "-p, --publish" flag: invalid port format: use [published=]PORT:[target=]PORT[/tcp|udp]',
    ],
    [
      '8080:',
      'invalid argument "8080:" for "-p, --publish" flag: invalid port format: use [published=]PORT:[target=]PORT[/tcp|udp]',
    ],
    [
      ':80',
      'invalid argument ":80" for "-p, --publish" flag: invalid port format: use [published=]PORT:[target=]PORT[/tcp|udp]',
    ],
    [
      '80/icmp',
      'invalid argument "80/icmp" for "-p, --publish" flag: invalid port format: use [published=]PORT:[target=]PORT[/tcp|udp]',
    ],
    ['0:80', 'invalid port "0" in "0:80": must be 1-65535'],
    ['70000:80', 'invalid port "70000" in "70000:80": must be 1-65535'],
    ['8080:0', 'invalid port "0" in "8080:0": must be 1-65535'],
    ['published=8080', 'missing mandatory field "target"'],
    [
      'published=8080,target=80,mode=bridge',
      'invalid publish mode value (bridge): must be either "ingress" or "host"',
    ],
    ['target=80,protocol=icmp', 'invalid protocol value (icmp): must be either "tcp" or "udp"'],
    ['target=80,foo=1', 'invalid field key foo'],
    ['target=80,published', "invalid field 'published' must be a key=value pair"],
    ['target=http', 'invalid port "http" in "target=http": must be 1-65535'],
  ];
  for (const [raw, msg] of bad) {
    it(`refuses ${raw}`, () => {
      throwsInvalid(() => parsePublish(raw), msg);
    });
  }
});

describe('splitShellWords (--args, --entrypoint)', () => {
  it('splits on whitespace and keeps quoted words whole, as a shell', () => {
    assert.deepEqual(splitShellWords(`sh -c 'trap "exit 0" TERM; sleep 1'`, '--args'), [
      'sh',
      '-c',
      'trap "exit 0" TERM; sleep 1',
    ]);
    assert.deepEqual(splitShellWords(`  a\\ b "c \\" d" '' e  `, '--args'), [
      'a b',
      'c " d',
      '',
      'e',
    ]);
    assert.deepEqual(splitShellWords('', '--args'), []);
  });

  it('refuses an unterminated quote', () => {
    throwsInvalid(
      () => splitShellWords(`sh -c 'x`, '--args'),
      `invalid argument "sh -c 'x" for "--args" flag: EOF found when expecting closing quote`,
    );
  });
});
