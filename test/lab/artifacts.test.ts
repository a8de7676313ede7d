import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT } from '../helpers/procs.js';

/** What operators install: the systemd unit and the Vagrant HA lab, checked by their own tools. */

const UNIT = path.join(ROOT, 'scripts', 'systemd', 'tswarmd.service');

function run(cmd: string, args: readonly string[], cwd = ROOT): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (r.error)
    throw new Error(`${cmd} could not run (scripts/test.sh installs it): ${r.error.message}`);
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('shipped service files', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tswarm-artifacts-'));
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('systemd-analyze verify passes on scripts/systemd/tswarmd.service, with no warning', () => {
    const r = run('systemd-analyze', ['verify', UNIT]);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), '', `systemd-analyze printed warnings:\n${r.out}`);
  });

  it('the unit orders after the network and docker, restarts on failure and leaves containers alone', () => {
    const unit = readFileSync(UNIT, 'utf8');
    for (const line of [
      /^After=.*network-online\.target/m,
      /^After=.*docker\.service/m,
      /^Wants=.*network-online\.target/m,
      /^Restart=on-failure$/m,
      /^KillMode=process$/m,
      /^StateDirectory=tswarm$/m,
      /--data-root \/var\/lib\/tswarm/,
      /^StandardOutput=journal$/m,
      /^LimitNOFILE=/m,
      /^WantedBy=multi-user\.target$/m,
    ])
      assert.match(unit, line);
  });

  it('systemd-analyze verify does fail on a broken copy (the check above can fail)', () => {
    const broken = path.join(tmp, 'tswarmd.service');
    writeFileSync(
      broken,
      readFileSync(UNIT, 'utf8').replace('/usr/bin/node ', '/usr/bin/no-such-node '),
    );
    const r = run('systemd-analyze', ['verify', broken]);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /no-such-node is not executable/);
  });

  it('vagrant validate passes on the Vagrantfile (three managers node1..3)', () => {
    // --ignore-provider: CI machines have no VirtualBox or libvirt; the provider blocks are the
    // only part this skips.
    const r = run('vagrant', ['validate', '--ignore-provider']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Vagrantfile validated successfully/);
    for (const n of ['node1', 'node2', 'node3']) assert.match(r.out, new RegExp(`==> ${n}:`));
  });

  it('vagrant validate does fail on a broken Vagrantfile', () => {
    const dir = mkdtempSync(path.join(tmp, 'vagrant-'));
    writeFileSync(
      path.join(dir, 'Vagrantfile'),
      readFileSync(path.join(ROOT, 'Vagrantfile'), 'utf8').replace(
        'node.vm.hostname = name',
        'node.vm.hostname = name\n      node.vm.no_such_option = 1',
      ),
    );
    const r = run('vagrant', ['validate', '--ignore-provider'], dir);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /no_such_option/);
  });
});
