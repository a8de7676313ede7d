import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolate, InterpolationError } from '../../../src/cli/stack/interpolate.js';

const env = { A: 'alpha', EMPTY: '', N: '3' };

describe('compose interpolation', () => {
  it('substitutes $VAR and ${VAR}', () => {
    assert.equal(interpolate('x-$A-${A}-y', env).value, 'x-alpha-alpha-y');
  });
  it('applies :- for unset or empty, - for unset only', () => {
    assert.equal(interpolate('${MISSING:-def}', env).value, 'def');
    assert.equal(interpolate('${EMPTY:-def}', env).value, 'def');
    assert.equal(interpolate('${EMPTY-def}', env).value, '');
    assert.equal(interpolate('${A:-def}', env).value, 'alpha');
    assert.equal(interpolate('${MISSING:-${A}}', env).value, 'alpha');
  });
  it('applies :+ and +', () => {
    assert.equal(interpolate('${A:+set}', env).value, 'set');
    assert.equal(interpolate('${MISSING:+set}', env).value, '');
  });
  it('fails on required variables with the message', () => {
    assert.throws(
      () => interpolate('${MISSING:?need it}', env),
      (e: unknown) =>
        e instanceof InterpolationError &&
        e.message === 'required variable MISSING is missing a value: need it',
    );
    assert.equal(interpolate('${A?x}', env).value, 'alpha');
  });
  it('keeps $$ as a literal dollar and reports unset variables', () => {
    const r = interpolate('$$HOME ${NOPE} $N', env);
    assert.equal(r.value, '$HOME  3');
    assert.deepEqual(r.missing, ['NOPE']);
  });
  it('rejects malformed references', () => {
    assert.throws(() => interpolate('${', env), InterpolationError);
    assert.throws(() => interpolate('${A', env), InterpolationError);
    assert.throws(() => interpolate('$ x', env), InterpolationError);
    assert.throws(() => interpolate('${1A}', env), InterpolationError);
  });
});
