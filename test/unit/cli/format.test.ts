import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DurationError,
  formatDurationMs,
  parseDuration,
  parseDurationFlagMs,
} from '../../../src/cli/format/duration.js';
import { renderRows, templateSource } from '../../../src/cli/format/formatter.js';
import { renderTable, tabwrite } from '../../../src/cli/format/table.js';
import { asStruct, Template, TemplateError } from '../../../src/cli/format/template.js';
import {
  bytesSize,
  capitalize,
  goTimeString,
  indentJson,
  naturalCompare,
} from '../../../src/cli/format/text.js';
import { TswarmError } from '../../../src/shared/errors.js';

describe('tabwrite (Go text/tabwriter)', () => {
  it('aligns tab-terminated cells in column blocks; trailing text is not a column', () => {
    const text = 'aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n';
    assert.equal(
      tabwrite(text, { minWidth: 0, padding: 1 }),
      'aaaa bbb d\naa   b   dd\na    \naa   cccc eee\n',
    );
  });

  it('uses docker’s minimum width 10 and padding 3', () => {
    assert.equal(
      renderTable(['ID', 'NAME', 'X'], [['abc', 'averyveryverylongname', 'z']]),
      `${'ID'.padEnd(10)}${'NAME'.padEnd(24)}X\n${'abc'.padEnd(10)}averyveryverylongname   z\n`,
    );
  });

  it('pads empty cells in the middle of a row', () => {
    assert.equal(
      renderTable(['A', 'B', 'C'], [['1', '', '3']]),
      'A         B         C\n1                   3\n',
    );
  });
});

describe('Go durations', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['5s', 5e9],
    ['1m30s', 90e9],
    ['500ms', 500e6],
    ['1.5h', 5400e9],
    ['2h45m', 9900e9],
    ['100us', 100e3],
    ['100µs', 100e3],
    ['7ns', 7],
    ['-3s', -3e9],
    ['+3s', 3e9],
    ['.5s', 500e6],
    ['1.s', 1e9],
  ];
  for (const [raw, nanos] of cases) {
    it(`parses ${raw}`, () => {
      assert.equal(parseDuration(raw), nanos);
    });
  }

  const bad: [string, RegExp][] = [
    ['', /time: invalid duration ""/],
    ['5', /time: missing unit in duration "5"/],
    ['5d', /time: unknown unit "d" in duration "5d"/],
    ['s', /time: invalid duration "s"/],
    ['1s5', /missing unit/],
    ['.s', /invalid duration/],
    ['abc', /invalid duration/],
    ['99999999999h', /invalid duration/],
  ];
  for (const [raw, msg] of bad) {
    it(`rejects ${JSON.stringify(raw)}`, () => {
      assert.throws(
        () => parseDuration(raw),
        (err: unknown) => {
          assert.ok(err instanceof DurationError);
          assert.match(err.message, msg);
          return true;
        },
      );
    });
  }

  it('turns a flag into whole positive milliseconds, with pflag-like messages', () => {
    assert.equal(parseDurationFlagMs('--dispatcher-heartbeat', '1m30s'), 90_000);
    assert.equal(parseDurationFlagMs('--dispatcher-heartbeat', '250ms'), 250);
    for (const raw of ['0', '-1s', '500us', '1.5ms', 'x']) {
      assert.throws(
        () => parseDurationFlagMs('--dispatcher-heartbeat', raw),
        (err: unknown) =>
          err instanceof TswarmError &&
          err.code === 'INVALID_ARGUMENT' &&
          err.message.startsWith(`invalid argument "${raw}" for "--dispatcher-heartbeat" flag: `),
      );
    }
  });

  it('formats like Go’s Duration.String', () => {
    assert.equal(formatDurationMs(5000), '5s');
    assert.equal(formatDurationMs(90_000), '1m30s');
    assert.equal(formatDurationMs(3_600_000), '1h0m0s');
    assert.equal(formatDurationMs(500), '500ms');
    assert.equal(formatDurationMs(1500), '1.5s');
    assert.equal(formatDurationMs(0), '0s');
  });
});

describe('templates (Go text/template subset)', () => {
  const node = {
    ID: 'abc',
    Spec: { Role: 'manager', Labels: { zone: 'a', disk: 'ssd' } },
    Description: { Hostname: 'h1' },
    List: ['x', 'y'],
    Count: 3,
    Empty: '',
  };
  const render = (src: string, dot: unknown = node): string => new Template(src).execute(dot);

  it('prints fields, nested paths and literal text', () => {
    assert.equal(
      render('{{.ID}}: {{.Spec.Role}} on {{.Description.Hostname}}'),
      'abc: manager on h1',
    );
  });

  it('renders json of dot and of a sub-object', () => {
    assert.equal(render('{{json .Spec.Labels}}'), '{"zone":"a","disk":"ssd"}');
    assert.equal(render('{{json .List}}'), '["x","y"]');
    assert.equal(render('{{json .}}', { a: '<&>' }), '{"a":"<&>"}');
  });

  it('prints missing map keys as <no value>, Go maps and slices in Go syntax', () => {
    assert.equal(render('{{.Nope}}|{{.Nope.Deeper}}'), '<no value>|<no value>');
    assert.equal(render('{{.Spec.Labels}}'), 'map[disk:ssd zone:a]');
    assert.equal(render('{{.List}}'), '[x y]');
  });

  it('fails on a field a struct does not have', () => {
    const row = asStruct({ ID: 'x' }, '*node.nodeContext');
    assert.throws(
      () => render('{{.Hostnme}}', row),
      /can't evaluate field Hostnme in type \*node.nodeContext/,
    );
  });

  it('supports if/else if/else, with, range over maps and slices, variables', () => {
    assert.equal(render('{{if .Empty}}a{{else if .Count}}b{{else}}c{{end}}'), 'b');
    assert.equal(render('{{with .Spec}}{{.Role}}{{end}}'), 'manager');
    assert.equal(
      render('{{range $k, $v := .Spec.Labels}}{{$k}}={{$v}};{{end}}'),
      'disk=ssd;zone=a;',
    );
    assert.equal(render('{{range .List}}[{{.}}]{{end}}'), '[x][y]');
    assert.equal(render('{{range .Missing}}x{{else}}none{{end}}'), 'none');
    assert.equal(render('{{$id := .ID}}{{range .List}}{{$id}}{{.}} {{end}}'), 'abcx abcy ');
    assert.equal(render('{{range $i, $e := .List}}{{$i}}{{$e}}{{end}}'), '0x1y');
    assert.equal(render('{{$.ID}}'), 'abc');
  });

  it('supports pipelines and docker’s functions', () => {
    assert.equal(render('{{.ID | upper}}'), 'ABC');
    assert.equal(
      render('{{upper .ID}} {{lower "XY"}} {{title "hello world"}}'),
      'ABC xy Hello World',
    );
    assert.equal(render('{{join .List ","}}'), 'x,y');
    assert.equal(render('{{index (split "a:b" ":") 1}}'), 'b');
    assert.equal(render('{{truncate .Description.Hostname 1}}'), 'h');
    assert.equal(render('{{pad .ID 1 2}}|'), ' abc  |');
    assert.equal(render('{{len .List}} {{index .Spec.Labels "zone"}}'), '2 a');
    assert.equal(render('{{if eq .Spec.Role "manager"}}M{{end}}{{if ne .Count 3}}X{{end}}'), 'M');
    assert.equal(render('{{printf "%s-%d" .ID .Count}}'), 'abc-3');
    assert.equal(render('{{(index .List 0)}}{{println "!"}}'), 'x!\n');
  });

  it('trims whitespace around {{- and -}} and skips comments', () => {
    assert.equal(render('a  {{- .ID -}}  b{{/* note */}}'), 'aabcb');
  });

  it('reports parse and execution errors', () => {
    for (const src of ['{{.ID', '{{if .ID}}x', '{{end}}', '{{nosuch .ID}}', '{{else}}', '{{"x}}']) {
      assert.throws(() => render(src), TemplateError, src);
    }
    assert.throws(() => render('{{.ID 1}}'), /can't give argument to non-function/);
  });
});

describe('docker formatter', () => {
  const header = { ID: 'ID', Name: 'NAME' };
  const rows = [
    asStruct({ ID: '1', Name: 'one' }, 'row'),
    asStruct({ ID: '22', Name: 'two' }, 'row'),
  ];

  it('turns json/table keywords and typed escapes into templates', () => {
    assert.equal(templateSource('json'), '{{json .}}');
    assert.equal(templateSource('table {{.ID}}\\t{{.Name}}'), '{{.ID}}\t{{.Name}}');
    assert.equal(templateSource('{{.ID}}\\n'), '{{.ID}}\n');
  });

  it('adds a header and aligns for table formats only', () => {
    assert.equal(
      renderRows('table {{.ID}}\\t{{.Name}}', rows, header),
      'ID        NAME\n1         one\n22        two\n',
    );
    assert.equal(renderRows('{{.ID}}:{{.Name}}', rows, header), '1:one\n22:two\n');
    assert.equal(
      renderRows('json', rows, header),
      '{"ID":"1","Name":"one"}\n{"ID":"22","Name":"two"}\n',
    );
    assert.equal(renderRows('table {{.ID}}', [], header), 'ID\n');
  });

  it('reports template errors as docker does', () => {
    assert.throws(
      () => renderRows('{{.Nope}}', rows, header),
      /^TswarmError: template parsing error: /,
    );
  });
});

describe('text helpers', () => {
  it('capitalizes like docker’s PrettyPrint', () => {
    assert.equal(capitalize('ready'), 'Ready');
    assert.equal(capitalize('DOWN'), 'Down');
    assert.equal(capitalize('unreachable'), 'Unreachable');
    assert.equal(capitalize(''), '');
  });

  it('prints sizes like go-units BytesSize', () => {
    assert.equal(bytesSize(8233017344), '7.668GiB');
    assert.equal(bytesSize(512 * 1024 * 1024), '512MiB');
    assert.equal(bytesSize(1000), '1000B');
    assert.equal(bytesSize(1536), '1.5KiB');
  });

  it('prints times like Go’s time.Time String', () => {
    assert.equal(goTimeString('2024-05-01T12:34:56.5Z'), '2024-05-01 12:34:56.5 +0000 UTC');
    assert.equal(goTimeString('2024-05-01T14:34:56+02:00'), '2024-05-01 12:34:56 +0000 UTC');
    assert.equal(goTimeString('garbage'), 'garbage');
  });

  it('indents JSON like json.MarshalIndent with HTML escaping', () => {
    assert.equal(indentJson([{ a: '<b>' }]), '[\n    {\n        "a": "\\u003cb\\u003e"\n    }\n]');
    assert.equal(indentJson([]), '[]');
  });

  it('sorts naturally', () => {
    const names = ['node-10-foo', 'node-2-foo', 'node-1-foo', 'a', 'node-02-foo'];
    assert.deepEqual([...names].sort(naturalCompare), [
      'a',
      'node-1-foo',
      'node-2-foo',
      'node-02-foo',
      'node-10-foo',
    ]);
  });
});
