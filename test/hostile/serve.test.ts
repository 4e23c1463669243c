/**
 * Hostile requests and broken stores against a real `bootstream serve` process on 127.0.0.1:
 * names outside the one pattern, bodies that claim another stream, over-long names, links
 * planted in the store, a corrupt history, absolute-form request targets (raw sockets), bad
 * token files, and stores that are not there. No answer may carry a path of the server.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type RunningBootstream, runBootstream, spawnBootstream, startBootstream } from "../helpers/cli.ts";
import { fixtureJson, fixturePath, fixtureText, tempDir } from "../helpers/fixtures.ts";
import { freshBucket, s3Endpoint } from "../helpers/s3.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests mutate deep fixture JSON.
type Json = Record<string, any>;
const TOKEN = "hostile-test-token";
const OLD = fixturePath("fcos-stable-stream-2020.json");

/** Sends raw bytes, returns status and the whole answer (for what fetch will not send). */
function raw(url: string, request: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let data = "";
    socket.on("data", (c) => {
      data += c.toString();
    });
    socket.on("end", () =>
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), text: data }),
    );
    socket.on("error", reject);
    socket.setTimeout(20_000, () => reject(new Error(`no answer; got ${data}`)));
  });
}

async function serve(args: string[]): Promise<{ url: string; p: RunningBootstream }> {
  const p = startBootstream(["serve", "--port", "0", "--revalidate-ms", "0", ...args]);
  const url = (await p.waitFor(/http:\/\/127\.0\.0\.1:\d+/, 60_000, "stdout")).trim();
  return { url, p };
}

describe("serve against hostile requests (directory store)", () => {
  let parent: string;
  let root: string;
  let url: string;
  let server: RunningBootstream;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    parent = tempDir("bootstream-hostile-serve-");
    root = join(parent, "store");
    mkdirSync(root);
    writeFileSync(join(parent, "secret.json"), '{"secret": "outside the store"}\n');
    writeFileSync(join(parent, "tokens"), `${TOKEN}\n`);
    assert.equal((await runBootstream(["publish", OLD, "--store", root])).code, 0);
    ({ url, p: server } = await serve(["--store", root, "--token-file", join(parent, "tokens")]));
  });
  after(async () => {
    server.child.kill("SIGTERM");
    await server.done;
  });

  /** No answer may name a path of the server. */
  const assertNoServerPath = (text: string) => {
    assert.ok(!text.includes(parent), `server path in ${text}`);
    assert.doesNotMatch(text, /\/tmp\/|ENOENT|ENAMETOOLONG|ELOOP/);
  };

  it("attack: PUT /streams/stable.json with a body whose stream is 'testing' -> 400, nothing written", async () => {
    const doc = fixtureJson<Json>("fcos-stable-stream.json");
    doc.stream = "testing";
    const res = await fetch(`${url}/streams/stable.json`, {
      method: "PUT",
      headers: auth,
      body: JSON.stringify(doc),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as Json).error.code, "USAGE");
    assert.deepEqual(readdirSync(join(root, "streams")).sort(), ["stable", "stable.json"]);
    assert.equal(readdirSync(join(root, "streams/stable")).length, 2, "no new pinned copy");
  });

  it("attack: POST /v1/publish?name=Stable (outside the pattern) -> 400, nothing written", async () => {
    const res = await fetch(`${url}/v1/publish?name=Stable`, {
      method: "POST",
      headers: auth,
      body: fixtureText("fcos-stable-stream.json"),
    });
    assert.equal(res.status, 400);
    await res.arrayBuffer();
    assert.deepEqual(readdirSync(join(root, "streams")).sort(), ["stable", "stable.json"]);
  });

  it("attack: POST /v1/publish?name= (empty) -> 400, not published under the body's name", async () => {
    const res = await fetch(`${url}/v1/publish?name=`, {
      method: "POST",
      headers: auth,
      body: fixtureText("fcos-stable-stream.json"),
    });
    assert.equal(res.status, 400);
    await res.arrayBuffer();
    assert.equal(readdirSync(join(root, "streams/stable")).length, 2, "no new pinned copy");
  });

  it("attack: PUT /streams/Stable.json (uppercase) -> 404, nothing written", async () => {
    const res = await fetch(`${url}/streams/Stable.json`, {
      method: "PUT",
      headers: auth,
      body: fixtureText("fcos-stable-stream.json"),
    });
    assert.equal(res.status, 404);
    await res.arrayBuffer();
    assert.deepEqual(readdirSync(join(root, "streams")).sort(), ["stable", "stable.json"]);
  });

  it("attack: GET a 300-character stream name -> 404 without a server path", async () => {
    for (const path of [
      `/streams/${"a".repeat(300)}.json`,
      `/streams/${"a".repeat(300)}/history.json`,
      `/stream-${"b".repeat(300)}.json`,
    ]) {
      const res = await raw(url, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.equal(res.status, 404, res.text);
      assertNoServerPath(res.text);
    }
  });

  it("attack: GET a 5000-character URL -> 414 without a server path", async () => {
    const res = await raw(
      url,
      `GET /streams/${"a".repeat(5000)}.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(res.status, 414);
    assertNoServerPath(res.text);
  });

  it("attack: a symlink streams/evil.json -> a file outside the store -> never its bytes, no server path", async () => {
    symlinkSync(join(parent, "secret.json"), join(root, "streams/evil.json"));
    for (const path of ["/streams/evil.json", "/stream-evil.json", "/streams/evil/", "/v1/streams"]) {
      const res = await raw(url, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.ok([200, 404, 502].includes(res.status), `${path}: ${res.status}`);
      assert.doesNotMatch(res.text, /outside the store/);
      assertNoServerPath(res.text);
    }
  });

  it("attack: GET /healthz -> no store path in the answer", async () => {
    const res = await raw(url, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.equal(res.status, 200);
    assertNoServerPath(res.text);
  });

  it("attack: GET http://host/streams/stable.json (absolute-form target, raw socket) -> the stream it names, no crash", async () => {
    const res = await raw(
      url,
      "GET http://evil.example/streams/stable.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert.equal(res.status, 200, res.text);
    assert.ok(res.text.endsWith(fixtureText("fcos-stable-stream-2020.json")));
    for (const target of ["*", "streams/stable.json", "http://[bad/streams/stable.json"]) {
      const bad = await raw(url, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.equal(bad.status, 400, `${target}: ${bad.text}`);
    }
    const still = await fetch(`${url}/streams/stable.json`);
    assert.equal(still.status, 200, "still serving");
    await still.arrayBuffer();
  });

  it("attack: corrupt history.json, then publish through the API -> 502 IO, not 422, no server path", async () => {
    writeFileSync(join(root, "streams/stable/history.json"), '{"stream": "stable", "entries": [');
    const res = await fetch(`${url}/streams/stable.json?force=true`, {
      method: "PUT",
      headers: auth,
      body: fixtureText("fcos-stable-stream.json"),
    });
    const text = await res.text();
    assert.equal(res.status, 502, text);
    assert.equal((JSON.parse(text) as Json).error.code, "IO");
    assertNoServerPath(text);
    assert.match(server.output().stderr, /history\.json is corrupt/, "the details are in the server's log");
  });
});

describe("serve and fsck on a store that is not there", () => {
  const parent = tempDir("bootstream-hostile-missing-");
  writeFileSync(join(parent, "a-file"), "not a directory\n");
  const cases: [string, () => Promise<string[]>][] = [
    ["a directory that does not exist", async () => ["--store", join(parent, "nope")]],
    ["a path through a regular file", async () => ["--store", join(parent, "a-file", "store")]],
    ["a regular file", async () => ["--store", join(parent, "a-file")]],
    [
      "an S3 bucket that does not exist",
      async () => [
        "--store",
        `${(await freshBucket()).replace(/^s3:\/\/([^/]+)/, "s3://$1-missing")}`,
        "--s3-endpoint",
        s3Endpoint(),
      ],
    ],
    [
      "an S3 endpoint that refuses connections",
      async () => ["--store", "s3://bucket/prefix", "--s3-endpoint", "http://127.0.0.1:9"],
    ],
  ];
  for (const [what, args] of cases) {
    for (const command of ["serve", "fsck"]) {
      it(`attack: ${command} on ${what} -> exit 2 at start with a one-line message`, async () => {
        const extra = command === "serve" ? ["--port", "0"] : [];
        const run = await spawnBootstream([command, ...(await args()), ...extra], { timeoutMs: 60_000 });
        assert.equal(run.code, 2, `${run.stdout}${run.stderr}`);
        assert.equal(run.stdout, "");
        // The AWS SDK itself may warn about the Node version on stderr: only our lines count.
        const ours = run.stderr.split("\n").filter((l) => l.startsWith("bootstream:"));
        assert.equal(ours.length, 1, run.stderr);
        assert.match(
          ours[0] as string,
          /^bootstream: store (\S+ (does not exist|is not a directory|cannot be reached)|\S+: bucket \S+ does not exist)/,
        );
      });
    }
  }
});

describe("token files", () => {
  const dir = tempDir("bootstream-hostile-tokens-");
  const store = tempDir("bootstream-hostile-store-");
  for (const [what, content, line] of [
    ["a trailing space", "good-token\nsecond-token \n", 2],
    ["a leading tab", "\tgood-token\n", 1],
    ["inner whitespace", "# comment\ngood token\n", 2],
    ["a whitespace-only line", "good-token\n   \n", 2],
  ] as const) {
    it(`attack: --token-file with ${what} -> serve exits 2 naming the file and line`, async () => {
      const file = join(dir, `tokens-${what.replaceAll(" ", "-")}`);
      writeFileSync(file, content);
      const run = await spawnBootstream(["serve", "--store", store, "--port", "0", "--token-file", file]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, new RegExp(`^bootstream: ${file} line ${line}: a token must not`));
      assert.equal(run.stderr.trimEnd().split("\n").length, 1);
    });
  }

  it("attack: an empty --token-file -> serve exits 2 naming the file", async () => {
    const file = join(dir, "empty");
    writeFileSync(file, "");
    const run = await spawnBootstream(["serve", "--store", store, "--port", "0", "--token-file", file]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, new RegExp(`^bootstream: ${file} holds no token`));
  });

  it("attack: a CRLF --token-file -> each token is accepted without its CR", async () => {
    const file = join(dir, "crlf");
    writeFileSync(file, `${TOKEN}\r\nother-token\r\n`);
    const { url, p } = await serve(["--store", store, "--token-file", file]);
    try {
      const ok = await fetch(`${url}/streams/stable.json`, {
        method: "PUT",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: fixtureText("fcos-stable-stream.json"),
      });
      assert.equal(ok.status, 201, await ok.text());
      const second = await fetch(`${url}/streams/stable.json`, {
        method: "PUT",
        headers: { authorization: "Bearer other-token" },
        body: fixtureText("fcos-stable-stream.json"),
      });
      assert.equal(second.status, 200, await second.text());
    } finally {
      p.child.kill("SIGTERM");
      await p.done;
    }
  });
});
