/** Shared assertions for the `service` CLI unit tests. Not a test file. */
import assert from 'node:assert/strict';
import { TswarmError } from '../../../src/shared/errors.js';

/** Asserts `fn` throws an INVALID_ARGUMENT TswarmError with exactly `message`. */
export function throwsInvalid(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TswarmError, `not a TswarmError: ${String(err)}`);
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.equal(err.message, message);
    return true;
  });
}
