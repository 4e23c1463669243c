import assert from "node:assert/strict";
import { test } from "node:test";
import { compareVersions } from "./versions.ts";

const sign = (n: number) => Math.sign(n);

test("FCOS versions order by each numeric field", () => {
  const ordered = [
    "39.20231101.3.0",
    "40.20240101.3.0",
    "40.20240101.3.1",
    "40.20240101.3.10",
    "40.20240115.2.0",
    "100.20240101.3.0",
  ];
  const shuffled = [...ordered].reverse();
  assert.deepEqual(shuffled.sort(compareVersions), ordered);
});

test("RHCOS versions: 4xx.9x.timestamp-N, across the 9.2 -> 9.4 and 4.9 -> 4.16 steps", () => {
  const ordered = [
    "49.84.202110081407-0",
    "413.92.202307140015-0",
    "415.92.202311241643-0",
    "416.94.202405291527-0",
    "416.94.202405291527-1",
    "416.94.202406251923-0",
    "418.94.202501221327-0",
  ];
  assert.deepEqual([...ordered].reverse().sort(compareVersions), ordered);
});

test("equal, reflexive and antisymmetric", () => {
  const vs = ["40.20240101.3.0", "416.94.202405291527-0", "1.0", "1", "1.a", "1.b", "a"];
  for (const a of vs) {
    assert.equal(compareVersions(a, a), 0, a);
    for (const b of vs)
      if (a !== b) assert.equal(sign(compareVersions(a, b)), -sign(compareVersions(b, a)), `${a} ${b}`);
  }
});

test("a prefix sorts first; text fields compare as text; numbers before text is by text order", () => {
  assert.ok(compareVersions("40.20240101.3", "40.20240101.3.0") < 0);
  assert.ok(compareVersions("1.alpha", "1.beta") < 0);
  assert.ok(compareVersions("1.9", "1.10") < 0, "numeric, not lexical");
  assert.ok(compareVersions("1.10", "1.9") > 0);
});
