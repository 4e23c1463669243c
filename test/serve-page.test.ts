/**
 * The download page in a real headless browser: Debian's Chromium driven by playwright-core
 * against bootstream serve on 127.0.0.1, with the real FCOS stable stream published.
 * Screenshots land in a temporary directory for a person to look at: the test reports where.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { publishStream } from "../src/publish/publish.ts";
import { type RunningServer, startServer } from "../src/serve/lifecycle.ts";
import { createLogger } from "../src/serve/log.ts";
import { FsStore } from "../src/storage/index.ts";
import { fixtureText, tempDir } from "./helpers/fixtures.ts";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
/** Outside the repository: tests write nothing there. */
const OUT = tempDir("bootstream-page-shots-");

describe("download page in headless Chromium", () => {
  let server: RunningServer;
  let browser: Browser;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/tools-up.sh (npm test does it)`);
    const store = new FsStore(tempDir("bootstream-page-"));
    await publishStream(store, fixtureText("fcos-stable-stream-2020.json"));
    await publishStream(store, fixtureText("fcos-stable-stream.json"), { force: true });
    await publishStream(store, fixtureText("rhcos-installer-stream.json"));
    server = await startServer({ store, logger: createLogger(new PassThrough(), "silent"), port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Root without user namespaces: no sandbox. No background traffic: only 127.0.0.1 is reachable.
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
    await server?.close();
  });

  it("renders every architecture of the FCOS stream with artifacts, digests, signatures, AMIs and the GCP image", async (t) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const response = await page.goto(`${server.url}/streams/stable/`);
    assert.equal(response?.status(), 200);
    assert.equal(await page.textContent("h1"), "stable");
    const arches = await page.$$eval("section h2", (hs) => hs.map((h) => h.firstChild?.textContent?.trim()));
    assert.deepEqual(arches, ["aarch64", "ppc64le", "s390x", "x86_64"]);
    const x86 = page.locator("section#x86_64");
    const iso = x86.locator("tr", { hasText: "live-iso.x86_64.iso" });
    assert.equal(await iso.locator("td").nth(0).textContent(), "metal");
    assert.match((await iso.locator(".digest").textContent()) ?? "", /^sha256 [0-9a-f]{64}$/);
    assert.equal(
      await iso.locator("td a", { hasText: "sig" }).getAttribute("href"),
      "https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/44.20260707.3.1/x86_64/fedora-coreos-44.20260707.3.1-live-iso.x86_64.iso.sig",
    );
    await iso.locator("summary").click();
    assert.match(
      (await iso.locator("pre").first().textContent()) ?? "",
      /^bootstream download -s stable -a x86_64 -p metal -f iso$/,
    );
    const ami = x86.locator("tr", { hasText: "us-east-1" });
    assert.equal(await ami.locator("td").nth(1).textContent(), "ami-01695f9dc8000aeb8");
    assert.match((await x86.textContent()) ?? "", /fedora-coreos-44-20260707-3-1-gcp-x86-64/);
    await page.screenshot({ path: join(OUT, "serve-page-desktop.png"), fullPage: false });
    t.diagnostic(`screenshot: ${join(OUT, "serve-page-desktop.png")}`);
    await page.close();
  });

  it("links only to things that resolve on the same server (stream, signature, history, pinned copies, pages)", async () => {
    const page = await browser.newPage();
    for (const path of ["/", "/streams/stable/", "/streams/rhcos-4.16/"]) {
      await page.goto(`${server.url}${path}`);
      const hrefs = await page.$$eval("a[href^='/']", (as) => as.map((a) => a.getAttribute("href") ?? ""));
      assert.ok(hrefs.length >= 3, `${path} has same-server links`);
      for (const href of new Set(hrefs)) {
        const res = await page.request.get(`${server.url}${href}`);
        assert.equal(res.status(), 200, `${path} links to ${href}`);
      }
    }
    await page.close();
  });

  it("works without JavaScript and is readable on a phone", async (t) => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
    });
    const page = await context.newPage();
    await page.goto(`${server.url}/streams/stable/`);
    assert.equal(await page.textContent("h1"), "stable");
    // The page itself does not scroll sideways; wide tables scroll inside their own box.
    // Evaluated in the page (strings: the test's TypeScript has no DOM types).
    const widths = (await page.evaluate(
      "({ doc: document.documentElement.scrollWidth, view: window.innerWidth })",
    )) as { doc: number; view: number };
    assert.ok(widths.doc <= widths.view + 1, `page is ${widths.doc}px wide in a ${widths.view}px viewport`);
    const fontSize = Number.parseFloat(
      (await page.evaluate("getComputedStyle(document.body).fontSize")) as string,
    );
    assert.ok(fontSize >= 14);
    await page.screenshot({ path: join(OUT, "serve-page-phone.png") });
    t.diagnostic(`screenshot: ${join(OUT, "serve-page-phone.png")}`);
    const index = await context.newPage();
    await index.goto(`${server.url}/`);
    assert.deepEqual(await index.$$eval("tbody tr td:first-child a", (as) => as.map((a) => a.textContent)), [
      "rhcos-4.16",
      "stable",
    ]);
    await context.close();
  });
});
