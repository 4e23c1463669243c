/** Assertions on bootstream's errors: the code (and path), never the message text. */
import assert from "node:assert/strict";
import { BootstreamError } from "../../src/errors.ts";

/** Asserts that `fn` throws a BootstreamError with this code (and path, when given). */
export function assertFails(fn: () => unknown, code: string, path?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BootstreamError, `expected a BootstreamError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (path !== undefined) assert.equal(e.path, path);
    return true;
  });
}
