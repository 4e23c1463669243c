/** The one contract every Store implementation must meet; run unchanged against fs and S3. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { Store } from "../../src/storage/index.ts";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

export function storeContract(label: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${label}`, () => {
    let n = 0;
    const fresh = async () => ({
      store: await open(),
      key: `contract/${Date.now()}-${n++}-${randomBytes(3).toString("hex")}`,
    });

    it("reads nothing for a missing key", async () => {
      const { store, key } = await fresh();
      assert.equal(await store.get(`${key}/missing.json`), undefined);
      assert.equal(await store.head(`${key}/missing.json`), undefined);
    });

    it("creates with putNew, and a second putNew is a CONFLICT that changes nothing", async () => {
      const { store, key } = await fresh();
      const etag = await store.putNew(`${key}/a.json`, text("one"));
      const got = await store.get(`${key}/a.json`);
      assert.equal(str(got?.body), "one");
      assert.equal(got?.etag, etag);
      assert.equal(await store.head(`${key}/a.json`), etag);
      await assert.rejects(store.putNew(`${key}/a.json`, text("two")), { code: "CONFLICT" });
      assert.equal(str((await store.get(`${key}/a.json`))?.body), "one");
    });

    it("compare-and-swaps with putIfMatch: null creates, the current version replaces, a stale one is refused", async () => {
      const { store, key } = await fresh();
      const k = `${key}/pointer.json`;
      const v1 = await store.putIfMatch(k, text("v1"), null);
      await assert.rejects(store.putIfMatch(k, text("again"), null), { code: "CONFLICT" });
      const v2 = await store.putIfMatch(k, text("v2"), v1);
      assert.notEqual(v2, v1);
      await assert.rejects(store.putIfMatch(k, text("stale"), v1), { code: "CONFLICT" });
      assert.equal(str((await store.get(k))?.body), "v2");
      assert.equal(await store.head(k), v2);
    });

    it("lets exactly one of 12 concurrent creators win", async () => {
      const { store, key } = await fresh();
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => store.putNew(`${key}/race.json`, text(`writer ${i}`))),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      assert.equal(won.length, 1);
      for (const r of results)
        if (r.status === "rejected") assert.equal((r.reason as { code?: string }).code, "CONFLICT");
      assert.match(str((await store.get(`${key}/race.json`))?.body) ?? "", /^writer \d+$/);
    });

    it("lets exactly one of 12 concurrent compare-and-swaps on the same version win", async () => {
      const { store, key } = await fresh();
      const k = `${key}/cas.json`;
      const v0 = await store.putNew(k, text("start"));
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => store.putIfMatch(k, text(`writer ${i}`), v0)),
      );
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
      for (const r of results)
        if (r.status === "rejected") assert.equal((r.reason as { code?: string }).code, "CONFLICT");
    });

    it("keeps binary content byte for byte", async () => {
      const { store, key } = await fresh();
      const bytes = randomBytes(70_000);
      await store.putNew(`${key}/blob.bin`, bytes);
      assert.deepEqual(Buffer.from((await store.get(`${key}/blob.bin`))?.body ?? []), bytes);
    });

    it("lists keys under a prefix, sorted, including nested ones", async () => {
      const { store, key } = await fresh();
      for (const k of ["b.json", "a.json", "sub/c.json", "sub/d/e.json"])
        await store.putNew(`${key}/${k}`, text(k));
      await store.putNew(`${key}x/other.json`, text("not under the prefix"));
      assert.deepEqual(await store.list(`${key}/`), [
        `${key}/a.json`,
        `${key}/b.json`,
        `${key}/sub/c.json`,
        `${key}/sub/d/e.json`,
      ]);
      assert.deepEqual(await store.list(`${key}/sub/`), [`${key}/sub/c.json`, `${key}/sub/d/e.json`]);
    });

    it("deletes", async () => {
      const { store, key } = await fresh();
      await store.putNew(`${key}/gone.json`, text("x"));
      await store.delete(`${key}/gone.json`);
      assert.equal(await store.get(`${key}/gone.json`), undefined);
    });

    it("checks that it exists and can be read", async () => {
      const { store } = await fresh();
      await store.check();
    });

    it("has no leftovers after successful writes", async () => {
      const { store, key } = await fresh();
      await store.putNew(`${key}/a.json`, text("a"));
      await store.putIfMatch(`${key}/a.json`, text("b"), (await store.head(`${key}/a.json`)) as string);
      assert.deepEqual(await store.leftovers(`${key}/`), []);
      assert.deepEqual(await store.clearLeftovers(`${key}/`), []);
    });

    it("refuses keys ending in .lock or .tmp (the directory store's own files) or holding control characters", async () => {
      const { store, key } = await fresh();
      for (const bad of [`${key}/a.lock`, `${key}/a.json.tmp`, `${key}/a\nb.json`]) {
        await assert.rejects(store.putNew(bad, text("x")), { code: "USAGE" });
      }
    });

    it("refuses keys that could escape the store", async () => {
      const { store } = await fresh();
      for (const bad of ["../etc/passwd", "/abs.json", "a/../../b", "a//b", ""]) {
        await assert.rejects(store.get(bad));
      }
    });
  });
}
