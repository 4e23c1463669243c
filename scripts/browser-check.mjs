// Smoke test: playwright-core drives Debian's chromium against a page served on 127.0.0.1.
// Needs: apt-get install -y chromium ; npm i -D playwright-core (1.65.x works with Node 20).
// Usage: node browser-check.mjs [out.png]     (CHROMIUM=/path overrides /usr/bin/chromium)
// ESM resolves 'playwright-core' from this file's folder up, so copy it into a folder that has node_modules.
import http from "node:http";
import { chromium } from "playwright-core";

const out = process.argv[2] || "/tmp/browser-check.png";
const html = `<!doctype html><meta charset="utf-8"><title>bootstream check</title>
<h1 id="h">bootstream</h1><button id="b" onclick="document.getElementById('h').textContent='clicked'">Click</button>`;
const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(html);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const t0 = performance.now();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"], // root, no user namespaces: the sandbox cannot start
});
try {
  const page = await browser.newPage({ viewport: { width: 640, height: 360 } });
  await page.goto(url);
  await page.click("#b");
  const text = await page.textContent("#h");
  if (text !== "clicked") throw new Error(`expected "clicked", got ${JSON.stringify(text)}`);
  await page.screenshot({ path: out });
  console.log(
    `ok: ${browser.version()} via playwright-core, ${Math.round(performance.now() - t0)} ms, screenshot ${out}`,
  );
} finally {
  await browser.close();
  server.close();
}
