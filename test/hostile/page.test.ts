/**
 * The download page against hostile streams, in Debian's Chromium (playwright-core) and a
 * real `sh`: what a person copies from the page is run by a POSIX shell whose PATH holds
 * only recording stand-ins for `curl` and `bootstream`, so the test sees the exact argv a
 * user's shell would build and whether anything else ran. Streams are written straight into
 * a directory store (no publish, no validation on the way in) and served by the real
 * `bootstream serve` process, or rendered from a value the schema would refuse.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import type { Stream } from "../../src/schema/stream.ts";
import { renderStreamPage } from "../../src/serve/page.ts";
import { type RunningBootstream, startBootstream } from "../helpers/cli.ts";
import { fixtureJson, tempDir } from "../helpers/fixtures.ts";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

// biome-ignore lint/suspicious/noExplicitAny: attacks mutate deep fixture JSON in place.
type Json = Record<string, any>;

const STABLE = "fcos-stable-stream.json";
const isoDisk = (s: Json) => s.architectures.x86_64.artifacts.metal.formats.iso.disk;

let browser: Browser;
let serve: RunningBootstream;
let serverUrl: string;
const store = tempDir("bootstream-hostile-page-store-");

/** Puts a stream straight into the directory store, as a compromised publisher or disk would. */
function plant(name: string, stream: Json): void {
  mkdirSync(join(store, "streams"), { recursive: true });
  writeFileSync(join(store, "streams", `${name}.json`), `${JSON.stringify(stream, null, 4)}\n`);
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/tools-up.sh (npm test does it)`);
  // A valid stream whose ISO URL has a signed query string: `?` is a glob character.
  const signed = fixtureJson<Json>(STABLE);
  isoDisk(signed).location = `${isoDisk(signed).location}?sig=a1`;
  delete isoDisk(signed).signature;
  plant("signed", signed);
  // A stream the old schema let through: no whitespace, so only quoting stands in the way.
  const injected = fixtureJson<Json>(STABLE);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${IFS} is for the shell, not for JavaScript
  isoDisk(injected).location = "https://builds.example/x.iso;echo${IFS}owned>owned.txt;#";
  plant("injected", injected);
  serve = startBootstream(["serve", "--store", store, "--port", "0", "--log-level", "silent"]);
  serverUrl = await serve.waitFor(/http:\/\/127\.0\.0\.1:\d+/, 20_000, "stdout");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  serve?.child.kill("SIGTERM");
  await serve?.done;
});

/** The text a user copies from each command block of a row: select it, as a mouse would. */
async function copiedCommands(page: Page, rowText: string): Promise<string[]> {
  const row = page.locator("section#x86_64 tr", { hasText: rowText }).first();
  await row.locator("summary").click();
  const blocks = await row.locator("pre").elementHandles();
  const out: string[] = [];
  for (const pre of blocks) {
    out.push(
      (await pre.evaluate((node) => {
        // Runs in the page; the test's TypeScript has no DOM types.
        const doc = (globalThis as unknown as { document: Json; getSelection: () => Json }).document;
        const range = doc.createRange();
        range.selectNodeContents(node);
        const selection = (globalThis as unknown as { getSelection: () => Json }).getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        return String(selection.toString());
      })) as string,
    );
  }
  return out;
}

interface ShellRun {
  /** argv of every command the shell ran, program name first. */
  calls: string[][];
  /** Files the command line created in its working directory (an injection's trace). */
  created: string[];
}

/**
 * Runs `line` with /bin/sh as a user's terminal would, in a fresh directory that holds a
 * file a glob in an unquoted URL would match, with only recording `curl` and `bootstream`
 * on PATH (no network, nothing else to run).
 */
async function runInShell(line: string, prepare?: (cwd: string) => void): Promise<ShellRun> {
  const cwd = tempDir("bootstream-hostile-sh-");
  const bin = tempDir("bootstream-hostile-bin-");
  const log = join(bin, "argv.log");
  for (const name of ["curl", "bootstream"]) {
    const path = join(bin, name);
    // Builtins only: printf records argv NUL-separated, one record per call.
    writeFileSync(path, `#!/bin/sh\nprintf '%s\\0' "${name}" "$@" >> "${log}"\nprintf '\\1' >> "${log}"\n`);
    chmodSync(path, 0o755);
  }
  prepare?.(cwd);
  const before = new Set(readdirSync(cwd));
  await new Promise<void>((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", line], { cwd, env: { PATH: bin, ARGV_LOG: log }, stdio: "ignore" });
    child.on("error", reject);
    child.on("close", () => resolve());
  });
  const text = existsSync(log) ? readFileSync(log, "utf8") : "";
  const calls = text
    .split("\u0001")
    .filter(Boolean)
    .map((record) => record.split("\u0000").slice(0, -1));
  return { calls, created: readdirSync(cwd).filter((n) => !before.has(n)) };
}

test("attack: a valid artifact URL with a ? glob in its query -> the copied curl line hands curl exactly that URL", async () => {
  const stream = fixtureJson<Json>(STABLE);
  const location = `${isoDisk(stream).location}?sig=a1`;
  const page = await browser.newPage();
  const res = await page.goto(`${serverUrl}/streams/signed/`);
  assert.equal(res?.status(), 200);
  const [download, curl] = await copiedCommands(page, "live-iso.x86_64.iso");
  assert.ok(download !== undefined && curl !== undefined);
  assert.equal(download, "bootstream download -s signed -a x86_64 -p metal -f iso");
  assert.equal(curl, `curl -LO '${location}'`);
  const run = await runInShell(curl, (cwd) => {
    // What the unquoted URL would expand to: `?` matches the X.
    const target = join(cwd, location.replace("?", "X"));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, "");
  });
  assert.deepEqual(run.calls, [["curl", "-LO", location]]);
  await page.close();
});

test("attack: a stream planted in the store with ;echo>file;# in a location -> the served page never hands sh an injection", async () => {
  const page = await browser.newPage();
  const res = await page.goto(`${serverUrl}/streams/injected/`);
  // Refusing to render the stream is safe; rendering it must quote the URL.
  if (res?.status() === 200) {
    const commands = await copiedCommands(page, "owned.txt;#");
    for (const line of commands) {
      const run = await runInShell(line);
      assert.deepEqual(run.created, [], `${line} created files`);
      assert.equal(run.calls.length, 1, line);
    }
  } else {
    // 502: serve refuses a pointer that is not a valid stream as damage in the store.
    assert.ok([404, 502].includes(res?.status() ?? 0), `status ${res?.status()}`);
    assert.doesNotMatch(await page.content(), /owned/);
  }
  await page.close();
});

/** A stream no validator would accept, as a store could still hold it. */
function hostileStream(): Stream {
  const stream = fixtureJson<Json>(STABLE);
  const iso = isoDisk(stream);
  iso.location = "javascript:alert(document.domain)//x';$(echo owned>owned.txt)`echo owned2>owned2.txt`.iso";
  iso.signature = 'https://h/x.sig"><script>window.__owned=1</script><img src=x onerror="window.__owned=2">';
  const qemu = stream.architectures.x86_64.artifacts.qemu.formats["qcow2.xz"].disk;
  qemu.location = "https://h/q.qcow2.xz' ; echo owned3>owned3.txt ; '";
  stream.architectures.x86_64.images.gcp.name = '<svg onload="window.__owned=3">';
  return stream as Stream;
}

test("attack: a schema-refused stream reaches the page renderer -> no script runs, no javascript: link, every copied command is quoted", async () => {
  const stream = hostileStream();
  const html = renderStreamPage("stable", stream, [], false);
  const page = await browser.newPage();
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.setContent(html, { waitUntil: "load" });
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate("window.__owned"), undefined, "a script from the stream ran");
  assert.deepEqual(dialogs, []);
  const hrefs = await page.$$eval("a[href]", (as) => as.map((a) => a.getAttribute("href") ?? ""));
  for (const href of hrefs) assert.match(href, /^(https?:\/\/|\/|#)/, `link ${href}`);
  assert.equal(await page.locator("script").count(), 0);

  const iso = isoDisk(stream as unknown as Json);
  const qemu = (stream as unknown as Json).architectures.x86_64.artifacts.qemu.formats["qcow2.xz"].disk;
  const cases: [string, string[][]][] = [
    ["owned2.txt`.iso", [["curl", "-LO", iso.location, "-LO", iso.signature]]],
    ["q.qcow2.xz'", [["curl", "-LO", qemu.location, "-LO", qemu.signature]]],
  ];
  for (const [rowText, expected] of cases) {
    const [download, curl] = await copiedCommands(page, rowText);
    assert.ok(download !== undefined && curl !== undefined);
    const run = await runInShell(curl);
    assert.deepEqual(run.created, [], `${curl} created files`);
    assert.deepEqual(run.calls, expected, curl);
    const dl = await runInShell(download);
    assert.equal(dl.calls[0]?.[0], "bootstream");
  }
  await page.close();
});
