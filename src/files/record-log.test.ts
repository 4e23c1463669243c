import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { RecordLog } from "./record-log.ts";

const dir = mkdtempSync(join(tmpdir(), "bootstream-record-log-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const schema = z.object({ n: z.number().int() });

describe("RecordLog", () => {
  it("starts empty, appends, keeps what decide leaves alone", async () => {
    const log = new RecordLog(join(dir, "one"), { schema, what: "a counter" });
    assert.equal(await log.latest(), undefined);
    assert.deepEqual(await log.update((c) => ({ n: (c?.n ?? 0) + 1 })), { n: 1 });
    assert.deepEqual(await log.update(() => undefined), { n: 1 });
    assert.deepEqual(await log.latest(), { seq: 1, value: { n: 1 } });
  });

  it("refuses a damaged record by name instead of starting over", async () => {
    const path = join(dir, "damaged");
    const log = new RecordLog(path, { schema, what: "a counter" });
    await log.update(() => ({ n: 1 }));
    writeFileSync(join(path, "000000000002.json"), '{"n": ');
    await assert.rejects(log.latest(), /000000000002\.json \(a counter\) cannot be read/);
  });

  it("loses no update when processes race (8 processes x 15 increments)", async () => {
    const path = join(dir, "race");
    const module = fileURLToPath(new URL("./record-log.ts", import.meta.url));
    const zod = import.meta.resolve("zod");
    const child = join(dir, "child.mts");
    writeFileSync(
      child,
      `import { z } from ${JSON.stringify(zod)};
import { RecordLog } from ${JSON.stringify(module)};
const log = new RecordLog(${JSON.stringify(path)}, { schema: z.object({ n: z.number() }), what: "a counter" });
for (let i = 0; i < 15; i++) await log.update((c) => ({ n: (c?.n ?? 0) + 1 }));
`,
    );
    const exits = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          new Promise<number | null>((resolve) => {
            const p = spawn(process.execPath, ["--import", "tsx", child], {
              cwd: fileURLToPath(new URL("../..", import.meta.url)),
              stdio: ["ignore", "ignore", "inherit"],
            });
            p.on("exit", resolve);
          }),
      ),
    );
    assert.deepEqual(exits, Array(8).fill(0));
    const log = new RecordLog(path, { schema, what: "a counter" });
    assert.deepEqual(await log.latest(), { seq: 120, value: { n: 120 } });
    const left = readdirSync(path);
    assert.ok(
      left.every((name) => /^\d{12}\.json$/.test(name)),
      `no temporary files left: ${left}`,
    );
    assert.ok(left.length <= 16, `old records pruned (${left.length} left)`);
  });
});
