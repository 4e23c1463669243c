/**
 * `bootstream audit` against real stores: a directory published by `bootstream publish
 * --sign-key`, the same directory as a static mirror over HTTP, and a bucket on the real S3
 * server. Each audit is a real process; damage is done to the files as a broken or hostile
 * mirror would.
 */
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chainOf, departures } from "../src/audit/state.ts";
import { S3Store } from "../src/storage/s3.ts";
import { type CliRun, runBootstream, startBootstream } from "./helpers/cli.ts";
import { fixtureJson, tempDir } from "./helpers/fixtures.ts";
import { testKey } from "./helpers/keys.ts";
import { freshBucket, s3Endpoint } from "./helpers/s3.ts";
import { type StaticServer, startStaticServer } from "./helpers/static-server.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests mutate deep fixture JSON.
type Json = Record<string, any>;

const work = tempDir("bootstream-audit-");
const DATES = ["2026-07-19T10:00:00Z", "2026-07-20T10:00:00Z", "2026-07-21T10:00:00Z"];
let template: string;
let signKey: string;
let pubKey: string;
let otherKey: string;

/** Version `i` of the stable stream (its own last-modified, so its own pinned id). */
function version(i: number): string {
  const s = fixtureJson<Json>("fcos-stable-stream.json");
  s.metadata["last-modified"] = DATES[i] ?? `2026-07-${22 + i}T10:00:00Z`;
  s.metadata.generator = `audit test ${i}`;
  const path = join(work, `v${i}.json`);
  writeFileSync(path, `${JSON.stringify(s, null, 4)}\n`);
  return path;
}

async function publish(store: string, i: number, env: Record<string, string> = {}): Promise<void> {
  const run = await runBootstream(["publish", version(i), "--store", store, "--sign-key", signKey], { env });
  assert.equal(run.code, 0, run.stderr);
}

/** A copy of the published three-version store. */
function freshStore(): string {
  const dir = tempDir("bootstream-audit-store-");
  cpSync(template, dir, { recursive: true });
  return dir;
}

/** `bootstream audit ...` as a real process, with its own state directory unless given. */
async function audit(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const withState = args.includes("--state-dir") ? args : [...args, "--state-dir", tempDir()];
  return startBootstream(["audit", ...withState], env).done;
}

const pointerOf = (store: string) => join(store, "streams", "stable.json");
const pinnedOf = (store: string, id: string) => join(store, "streams", "stable", `${id}.json`);
const historyOf = (store: string) => join(store, "streams", "stable", "history.json");

function editHistory(store: string, edit: (entries: Json[]) => Json[]): void {
  const history = JSON.parse(readFileSync(historyOf(store), "utf8"));
  history.entries = edit(history.entries);
  writeFileSync(historyOf(store), `${JSON.stringify(history, null, 2)}\n`);
}

/** The findings of a --json run as [check, id] pairs. */
function checks(run: CliRun): [string, string | undefined][] {
  return JSON.parse(run.stdout).streams.flatMap((s: Json) =>
    s.findings.map((f: Json) => [f.check, f.id] as [string, string | undefined]),
  );
}

before(async () => {
  const [key, other] = await Promise.all([testKey("bootstream audit test"), testKey("someone else")]);
  signKey = join(work, "sign.asc");
  pubKey = join(work, "pub.asc");
  otherKey = join(work, "other.asc");
  writeFileSync(signKey, key.privateKey.armor());
  writeFileSync(pubKey, key.publicKey.armor());
  writeFileSync(otherKey, other.publicKey.armor());
  template = tempDir("bootstream-audit-template-");
  for (const i of [0, 1, 2]) await publish(template, i);
});

describe("audit of a clean published stream", () => {
  let mirror: StaticServer;
  before(async () => {
    mirror = await startStaticServer(template);
  });
  after(() => mirror.close());

  it("passes as a file, as a store and as a URL of a static mirror, signatures checked", async () => {
    for (const source of [
      [pointerOf(template)],
      ["--store", template],
      [`${mirror.url}/streams/stable.json`],
    ]) {
      const run = await audit([...source, "--stream-key", pubKey]);
      assert.equal(run.code, 0, `${source}: ${run.stdout}${run.stderr}`);
      assert.equal(run.stdout, "");
      assert.equal(run.stderr, "audited 1 stream, 3 pinned copies: no findings\n");
    }
    assert.ok(mirror.requests.some((r) => r.path === "/streams/stable/20260719.json.asc"));
  });

  it("says when signatures were not checked, and that is no finding", async () => {
    const run = await audit(["--store", template, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /no findings; signatures not checked \(no --stream-key\)/);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(report.streams[0].checked, { signatures: false, appendOnly: true });
  });

  it("reads keys from BOOTSTREAM_STREAM_KEYRING: a keyring without the signer's key finds every signature bad", async () => {
    const run = await audit([pointerOf(template), "--json"], { BOOTSTREAM_STREAM_KEYRING: otherKey });
    assert.equal(run.code, 1);
    assert.deepEqual(checks(run), [
      ["signature", undefined],
      ["signature", "20260721"],
      ["signature", "20260720"],
      ["signature", "20260719"],
    ]);
    assert.match(JSON.parse(run.stdout).streams[0].findings[0].message, /none of the keys given/);
  });
});

describe("audit findings", () => {
  it("a pinned copy whose bytes were changed: pinned-digest (and its signature no longer verifies)", async () => {
    const store = freshStore();
    const file = pinnedOf(store, "20260720");
    writeFileSync(file, readFileSync(file, "utf8").replace("audit test 1", "audit test X"));
    const run = await audit([pointerOf(store), "--stream-key", pubKey]);
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(
      lines[0] ?? "",
      /^stable 20260720: pinned copy hashes to [0-9a-f]{64}, history says [0-9a-f]{64}$/,
    );
    assert.match(
      lines[1] ?? "",
      /^stable 20260720: pinned copy 20260720 has a bad signature .*20260720\.json\.asc/,
    );
    assert.equal(lines.length, 2);
    assert.equal(run.stderr, "audited 1 stream, 3 pinned copies: 2 findings\n");
  });

  it("a removed pinned copy: pinned-missing", async () => {
    const store = freshStore();
    rmSync(pinnedOf(store, "20260719"));
    const run = await audit(["--store", store, "--json"]);
    assert.equal(run.code, 1);
    assert.deepEqual(checks(run), [["pinned-missing", "20260719"]]);
  });

  it("a missing .asc and the .asc of another copy: signature, saying which", async () => {
    const store = freshStore();
    rmSync(`${pinnedOf(store, "20260719")}.asc`);
    cpSync(`${pinnedOf(store, "20260721")}.asc`, `${pinnedOf(store, "20260720")}.asc`);
    const run = await audit([pointerOf(store), "--stream-key", pubKey, "--json"]);
    assert.equal(run.code, 1);
    const findings = JSON.parse(run.stdout).streams[0].findings;
    assert.deepEqual(
      findings.map((f: Json) => [f.check, f.id]),
      [
        ["signature", "20260720"],
        ["signature", "20260719"],
      ],
    );
    assert.match(findings[0].message, /bad signature .*does not match these bytes/);
    assert.match(findings[1].message, /is not signed: .*20260719\.json\.asc does not exist/);
  });

  it("the pointer replaced by an older pinned copy (with its valid signature): pointer-not-newest", async () => {
    const store = freshStore();
    cpSync(pinnedOf(store, "20260720"), pointerOf(store));
    cpSync(`${pinnedOf(store, "20260720")}.asc`, `${pointerOf(store)}.asc`);
    const run = await audit([pointerOf(store), "--stream-key", pubKey]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stdout,
      "stable: the pointer is pinned copy 20260720 (last-modified 2026-07-20T10:00:00Z), not the newest 20260721 (2026-07-21T10:00:00Z): a rollback, or a mirror that stopped updating\n",
    );
  });

  it("history reordered: order (and the pointer is no longer its first entry)", async () => {
    const store = freshStore();
    editHistory(store, ([a, b, ...rest]) => [b, a, ...rest] as Json[]);
    const run = await audit(["--store", store, "--json"]);
    assert.equal(run.code, 1);
    assert.deepEqual(checks(run), [
      ["pointer-not-newest", undefined],
      ["order", "20260721"],
    ]);
  });

  it("two entries with the same last-modified: order (clients would refuse one as a rollback)", async () => {
    const store = freshStore();
    editHistory(store, (entries) => {
      (entries[1] as Json)["last-modified"] = (entries[0] as Json)["last-modified"];
      return entries;
    });
    const run = await audit(["--store", store, "--json"]);
    assert.equal(run.code, 1);
    // The copy itself still says the older date: history disagrees with it.
    assert.deepEqual(checks(run), [
      ["order", "20260720"],
      ["history-corrupt", "20260720"],
    ]);
  });

  it("history that is not a history: history-corrupt", async () => {
    const store = freshStore();
    writeFileSync(historyOf(store), "{ not json");
    const run = await audit([pointerOf(store), "--json"]);
    assert.equal(run.code, 1);
    assert.deepEqual(checks(run), [["history-corrupt", undefined]]);
  });

  it("an entry removed between two audits: history-rewritten, on every run until --accept-rewrite", async () => {
    const store = freshStore();
    const state = tempDir();
    const args = ["--store", store, "--state-dir", state, "--json"];
    assert.equal((await audit(args)).code, 0);
    // Publishing appends: no finding.
    await publish(store, 3);
    const appended = await audit(args);
    assert.equal(appended.code, 0, appended.stdout);
    assert.equal(JSON.parse(appended.stdout).streams[0].entries, 4);

    editHistory(store, (entries) => entries.filter((e) => e.id !== "20260720"));
    for (let run = 0; run < 2; run++) {
      const rewritten = await audit(args);
      assert.equal(rewritten.code, 1);
      assert.deepEqual(checks(rewritten), [["history-rewritten", "20260720"]]);
      assert.match(JSON.parse(rewritten.stdout).streams[0].findings[0].message, /no longer lists 20260720/);
    }
    const accepted = await audit([...args, "--accept-rewrite"]);
    assert.equal(accepted.code, 0, accepted.stdout);
    assert.match(accepted.stderr, /stable 20260720: accepted \(--accept-rewrite\): history no longer lists/);
    assert.match(accepted.stderr, /recorded the current history/);
    assert.equal((await audit(args)).code, 0);
  });

  it("the same store audited as a file and as a store shares its state (one identity)", async () => {
    const store = freshStore();
    const state = tempDir();
    assert.equal((await audit([pointerOf(store), "--state-dir", state])).code, 0);
    editHistory(store, (entries) => entries.slice(0, 2));
    const run = await audit(["--store", store, "--state-dir", state]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^stable 20260719: history no longer lists 20260719/);
  });

  it("--json: one object per stream with its source, entries, what was checked and the findings", async () => {
    const store = freshStore();
    rmSync(pinnedOf(store, "20260721"));
    const run = await audit([pointerOf(store), "--json", "--stream-key", pubKey]);
    assert.equal(run.code, 1);
    assert.deepEqual(JSON.parse(run.stdout), {
      streams: [
        {
          stream: "stable",
          source: pointerOf(store),
          entries: 3,
          checked: { signatures: true, appendOnly: true },
          findings: [
            {
              check: "pinned-missing",
              stream: "stable",
              id: "20260721",
              message: `history lists 20260721, but ${pinnedOf(store, "20260721")} does not exist`,
            },
          ],
          recorded: true,
        },
      ],
    });
  });
});

describe("audit of a hostile or unreachable mirror", () => {
  it("stops reading a pinned copy at the size history lists (an endless body is a finding, not a hang)", async () => {
    const endless = "/streams/stable/20260720.json";
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path === endless) {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (res.write(chunk));
        };
        res.on("drain", pump);
        pump();
        return;
      }
      let body: Buffer;
      try {
        body = readFileSync(join(template, path));
      } catch {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/streams/stable.json`;
      const run = await audit([url, "--json"]);
      assert.equal(run.code, 1, run.stderr);
      assert.deepEqual(checks(run), [["pinned-digest", "20260720"]]);
      assert.match(
        JSON.parse(run.stdout).streams[0].findings[0].message,
        /larger than the \d+ bytes history says/,
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("exit 2 for a pointer that is not there, a store with no stream, and SOURCE with --store", async () => {
    const mirror = await startStaticServer(tempDir());
    try {
      const missing = await audit([`${mirror.url}/streams/stable.json`]);
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /cannot audit .*stable\.json: not found/);
    } finally {
      await mirror.close();
    }
    const empty = await audit(["--store", tempDir()]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /holds no published stream/);
    const both = await audit([pointerOf(template), "--store", template]);
    assert.equal(both.code, 2);
    const unknown = await audit(["--store", template, "--stream", "testing"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /holds no stream testing .*it holds: stable/);
  });
});

describe("audit of an S3 store", () => {
  it("passes when clean, and finds a pinned copy changed in the bucket", async () => {
    const location = await freshBucket("audit");
    const env = { AWS_ENDPOINT_URL: s3Endpoint() };
    for (const i of [0, 1]) await publish(location, i, env);
    const clean = await audit(["--store", location, "--stream-key", pubKey]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.equal(clean.stderr, "audited 1 stream, 2 pinned copies: no findings\n");

    const store = new S3Store(location, { endpoint: s3Endpoint() });
    const key = "streams/stable/20260719.json";
    const object = await store.get(key);
    assert.ok(object);
    const changed = Buffer.from(object.body).toString("utf8").replace("audit test 0", "audit test Z");
    await store.putIfMatch(key, Buffer.from(changed), object.etag);
    const run = await audit(["--store", location, "--stream", "stable", "--stream-key", pubKey, "--json"]);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(checks(run), [
      ["pinned-digest", "20260719"],
      ["signature", "20260719"],
    ]);
    assert.equal(
      JSON.parse(run.stdout).streams[0].source,
      `${location.replace(/\/$/, "")}/streams/stable.json`,
    );
  });
});

describe("append-only state", () => {
  const seen = [
    { id: "20260719", sha256: "a".repeat(64) },
    { id: "20260720", sha256: "b".repeat(64) },
  ];
  it("an append is no departure; a gone, changed, inserted or moved entry is", () => {
    const next = { id: "20260721", sha256: "c".repeat(64) };
    assert.deepEqual(departures(seen, [...seen, next]), []);
    assert.deepEqual(
      departures(
        seen,
        [seen[0], next].filter((e) => e !== undefined),
      ).map((d) => d.id),
      ["20260720"],
    );
    assert.match(
      departures(seen, [seen[0], { id: "20260720", sha256: "d".repeat(64) }] as typeof seen)[0]?.message ??
        "",
      /now says 20260720 has sha256 d{64}; the last audit saw b{64}/,
    );
    assert.deepEqual(
      departures(seen, [seen[0], next, seen[1]] as typeof seen).map((d) => d.id),
      ["20260721"],
    );
    assert.deepEqual(
      departures(seen, [seen[1], seen[0]] as typeof seen).map((d) => d.id),
      ["20260720", "20260719"],
    );
  });

  it("chains each entry onto the head before it", () => {
    assert.equal(chainOf([]), "");
    assert.notEqual(chainOf(seen), chainOf([...seen].reverse()));
    assert.equal(chainOf(seen).length, 64);
  });
});

describe("audit of a bootstream mirror (no history: trust is the upstream copy)", () => {
  it("is clean when the upstream copy verifies and the rewrite is faithful; finds an unfaithful one", async () => {
    const to = tempDir("bootstream-audit-mirror-");
    const mirrored = await runBootstream([
      "mirror",
      pointerOf(template),
      "--to",
      to,
      "--base-url",
      "https://mirror.example/coreos/",
      "--metadata-only",
      "--stream-key",
      pubKey,
      "--state-dir",
      tempDir(),
    ]);
    assert.equal(mirrored.code, 0, mirrored.stderr);
    const clean = await audit([pointerOf(to), "--stream-key", pubKey, "--json"]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.deepEqual(checks(clean), []);
    // A digest changed in the rewrite: the mirror no longer serves what upstream signed.
    const text = readFileSync(pointerOf(to), "utf8");
    const digest = /"sha256": "([0-9a-f]{64})"/.exec(text)?.[1] as string;
    writeFileSync(pointerOf(to), text.replace(digest, "0".repeat(64)));
    const tampered = await audit([pointerOf(to), "--stream-key", pubKey, "--json"]);
    assert.equal(tampered.code, 1, tampered.stderr);
    assert.ok(
      checks(tampered).some(([check]) => check === "mirror-rewrite"),
      tampered.stdout,
    );
    // The upstream copy's signature by another key is a signature finding.
    const other = await audit([pointerOf(to), "--stream-key", otherKey, "--json"]);
    assert.equal(other.code, 1);
    assert.ok(
      checks(other).some(([check]) => check === "signature"),
      other.stdout,
    );
  });
});
