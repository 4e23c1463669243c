import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { HOST } from "../files/owner.ts";
import { FsStore } from "./fs.ts";
import type { StoredObject } from "./store.ts";
import { updateWithRetry } from "./update.ts";

const dir = mkdtempSync(join(tmpdir(), "bootstream-update-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? "" : new TextDecoder().decode(bytes));
const encode = (s: string) => new TextEncoder().encode(s);

describe("updateWithRetry", () => {
  it("keeps every concurrent writer's change (20 racers on one object)", async () => {
    const store = new FsStore(join(dir, "racers"));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        updateWithRetry(store, "list.txt", (current) => encode(`${text(current?.body)}${i}\n`)),
      ),
    );
    assert.deepEqual(results, Array(20).fill(true));
    const lines = text((await store.get("list.txt"))?.body)
      .trim()
      .split("\n");
    assert.deepEqual(
      lines.map(Number).sort((a, b) => a - b),
      [...Array(20).keys()],
    );
  });

  it("writes nothing when change says so", async () => {
    const store = new FsStore(join(dir, "nothing"));
    assert.equal(await updateWithRetry(store, "a.txt", () => undefined), false);
    assert.equal(await store.get("a.txt"), undefined);
  });

  it("rides out a writer that keeps moving the object, up to the cap", async () => {
    const store = new FsStore(join(dir, "moving"));
    let asked = 0;
    const moveIt = async (current: StoredObject | undefined) => {
      asked++;
      // Another writer moves the object between this read and this swap.
      await store.putIfMatch("a.txt", encode(`other ${asked}`), current?.etag ?? null);
      return encode("mine");
    };
    await assert.rejects(updateWithRetry(store, "a.txt", moveIt, { attempts: 2 }), { code: "CONFLICT" });
    assert.equal(asked, 3);
    assert.equal(text((await store.get("a.txt"))?.body), "other 3");
  });

  it("throws at once a CONFLICT from a held lock (the object did not change)", async () => {
    const store = new FsStore(join(dir, "locked"));
    await store.putIfMatch("a.txt", encode("before"), null);
    // A live writer (this very process) holds the lock: the swap waits for it, then fails.
    writeFileSync(join(dir, "locked", "a.txt.lock"), `${JSON.stringify({ pid: process.pid, host: HOST })}\n`);
    let asked = 0;
    await assert.rejects(
      updateWithRetry(store, "a.txt", () => {
        asked++;
        return encode("after");
      }),
      { code: "CONFLICT" },
    );
    assert.equal(asked, 1);
    assert.equal(text((await store.get("a.txt"))?.body), "before");
  });
});
