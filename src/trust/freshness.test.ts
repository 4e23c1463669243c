import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BootstreamError } from "../errors.ts";
import { checkMaxAge, formatAge, judgeAgainstAccepted, parseDuration } from "./freshness.ts";

const code = (code: string) => (error: unknown) => error instanceof BootstreamError && error.code === code;

describe("parseDuration", () => {
  it("reads single and combined units", () => {
    assert.equal(parseDuration("14d"), 14 * 86_400_000);
    assert.equal(parseDuration("1d12h"), 36 * 3_600_000);
    assert.equal(parseDuration("90m"), 90 * 60_000);
    assert.equal(parseDuration("3600s"), 3_600_000);
    assert.equal(parseDuration("2w"), 14 * 86_400_000);
  });
  for (const bad of ["", "14", "d", "-1d", "1.5d", "14 days", "0d", "1y", "99999999999999999999d"])
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseDuration(bad), code("USAGE")));
});

describe("checkMaxAge", () => {
  const now = new Date("2026-11-26T00:00:00Z");
  it("accepts a stream younger than the limit", () => {
    checkMaxAge("s", "2026-11-20T00:00:00Z", parseDuration("14d"), now);
  });
  it("refuses an older one as FROZEN, saying how old it is", () => {
    assert.throws(
      () => checkMaxAge("s", "2026-10-01T06:00:00Z", parseDuration("14d"), now),
      (error: BootstreamError) =>
        error.code === "FROZEN" && /55d 18h ago/.test(error.message) && /14d/.test(error.message),
    );
  });
  it("formats ages", () => {
    assert.equal(formatAge(42_000), "42s");
    assert.equal(formatAge(5 * 3_600_000 + 20 * 60_000), "5h 20m");
  });
});

describe("judgeAgainstAccepted", () => {
  const a = { lastModified: "2026-01-02T00:00:00Z", sha256: "a".repeat(64) };
  it("accepts the first, a newer and the same", () => {
    assert.equal(judgeAgainstAccepted("s", a, undefined), "first");
    assert.equal(judgeAgainstAccepted("s", { ...a, lastModified: "2026-01-03T00:00:00Z" }, a), "newer");
    assert.equal(judgeAgainstAccepted("s", a, a), "same");
  });
  it("refuses an older one, naming both timestamps", () => {
    assert.throws(
      () =>
        judgeAgainstAccepted("s", { ...a, lastModified: "2026-01-01T00:00:00Z", sha256: "b".repeat(64) }, a),
      (error: BootstreamError) =>
        error.code === "ROLLBACK" &&
        error.message.includes("2026-01-01T00:00:00Z") &&
        error.message.includes("2026-01-02T00:00:00Z"),
    );
  });
  it("refuses the same last-modified with other bytes", () => {
    assert.throws(() => judgeAgainstAccepted("s", { ...a, sha256: "b".repeat(64) }, a), code("ROLLBACK"));
  });
  it("compares instants, not spellings", () => {
    assert.equal(judgeAgainstAccepted("s", { ...a, lastModified: "2026-01-02T01:00:00+01:00" }, a), "same");
  });
});
