import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BootstreamError } from "../errors.ts";
import { bearerTokenSchema, parseTokenFile } from "./token.ts";

const usage = (message: string) => (e: unknown) =>
  e instanceof BootstreamError && e.code === "USAGE" && e.message === message;

describe("token file", () => {
  it("one token per line, LF or CRLF; empty lines and # comments skipped", () => {
    assert.deepEqual(parseTokenFile("# ci\nabc\r\n\nd-e_f.g~\n", "t"), ["abc", "d-e_f.g~"]);
  });

  it("a token with whitespace around or inside, or not visible ASCII, names its line", () => {
    assert.throws(
      () => parseTokenFile("ok\n abc\n", "t"),
      usage("t line 2: a token must not have leading or trailing whitespace"),
    );
    assert.throws(() => parseTokenFile("a b\n", "t"), usage("t line 1: a token must not contain whitespace"));
    assert.throws(
      () => parseTokenFile("# x\n\ntoké\n", "t"),
      usage("t line 3: a token must be visible ASCII characters, at most 16384 of them"),
    );
  });

  it("a file of only comments holds no token", () => {
    assert.throws(() => parseTokenFile("# none\n\n", "t"), usage("t holds no token"));
    assert.throws(() => parseTokenFile("", "t"), usage("t holds no token"));
  });

  it("a registry's bearer token: visible ASCII, at most 16 KiB", () => {
    assert.equal(bearerTokenSchema.safeParse("eyJ.abc-_").success, true);
    assert.equal(bearerTokenSchema.safeParse("a\r\nX-Injected: 1").success, false);
    assert.equal(bearerTokenSchema.safeParse("").success, false);
    assert.equal(bearerTokenSchema.safeParse("a".repeat(16_385)).success, false);
  });
});
