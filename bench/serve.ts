/**
 * Figure: requests per second of `bootstream serve` against nginx serving the same stream
 * file on 127.0.0.1, for a 200 (61 KB identity), a 304 (If-None-Match) and a gzip 200.
 * Both servers are pinned to CPU 0, wrk (keep-alive, 1 thread, 50 connections) to CPU 1;
 * access logs are off on both; each figure is the median of alternating runs.
 * Target: bootstream >= 0.5x nginx for 200 and 304.
 *
 *   npm run bench:serve [-- --seconds 3]
 * Needs Debian's wrk and nginx-light (apt-get install -y wrk nginx-light).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const secondsArg = process.argv.indexOf("--seconds");
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 3;
const ROUNDS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}
for (const tool of ["wrk", "nginx", "taskset"]) {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
    console.error(`${tool} is missing: apt-get install -y wrk nginx-light`);
    process.exit(2);
  }
}

const dir = mkdtempSync(join(tmpdir(), "bootstream-bench-serve-"));
const store = join(dir, "store");
const stream = readFileSync(join(ROOT, "test/fixtures/upstream/fcos-stable-stream.json"));
execFileSync(process.execPath, [join(ROOT, "bin/bootstream.js"), "publish", "-", "--store", store], {
  input: stream,
  stdio: ["pipe", "ignore", "inherit"],
});

const NGINX_PORT = 18481;
mkdirSync(join(dir, "nginx"), { recursive: true });
writeFileSync(
  join(dir, "nginx.conf"),
  `user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { application/json json; }
  client_body_temp_path ${dir}/nginx/body; proxy_temp_path ${dir}/nginx/proxy;
  fastcgi_temp_path ${dir}/nginx/fastcgi; uwsgi_temp_path ${dir}/nginx/uwsgi; scgi_temp_path ${dir}/nginx/scgi;
  gzip on; gzip_types application/json; gzip_min_length 256;
  server {
    listen 127.0.0.1:${NGINX_PORT};
    root ${store};
    location / { add_header Cache-Control "public, max-age=60"; }
  }
}
`,
);

const children: ReturnType<typeof spawn>[] = [];
function start(cmd: string, args: string[]): void {
  const child = spawn("taskset", ["-c", "0", cmd, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
}
start("nginx", ["-c", join(dir, "nginx.conf")]);
start(process.execPath, [
  join(ROOT, "bin/bootstream.js"),
  "serve",
  "--store",
  store,
  "--port",
  "18482",
  "--log-level",
  "warn",
]);
const BOOTSTREAM_PORT = 18482;

async function waitUp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

function wrk(url: string, headers: string[], seconds = SECONDS): number {
  const args = ["-c", "1", "wrk", "-t1", "-c50", `-d${seconds}s`, ...headers.flatMap((h) => ["-H", h]), url];
  const out = execFileSync("taskset", args, { encoding: "utf8" });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`no Requests/sec in wrk output:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`${url}: ${non2xx[1]} error responses`);
  return Number(m[1]);
}

try {
  const nginxUrl = `http://127.0.0.1:${NGINX_PORT}/streams/stable.json`;
  const ourUrl = `http://127.0.0.1:${BOOTSTREAM_PORT}/streams/stable.json`;
  await Promise.all([waitUp(nginxUrl), waitUp(ourUrl)]);
  const etag = async (url: string) =>
    (await fetch(url, { method: "HEAD", headers: { "accept-encoding": "identity" } })).headers.get("etag") ??
    "";
  const cases: [string, (url: string, tag: string) => string[]][] = [
    ["200 identity (61 KB)", () => ["Accept-Encoding: identity"]],
    ["304 If-None-Match", (_u, tag) => ["Accept-Encoding: identity", `If-None-Match: ${tag}`]],
    ["200 gzip", () => ["Accept-Encoding: gzip"]],
  ];
  console.log(
    `wrk -t1 -c50 -d${SECONDS}s, keep-alive, median of ${ROUNDS} alternating runs; servers on CPU 0, wrk on CPU 1`,
  );
  console.log(
    `${"case".padEnd(24)} ${"nginx req/s".padStart(12)} ${"bootstream".padStart(12)} ${"ratio".padStart(7)}`,
  );
  for (const [label, headers] of cases) {
    const ngxHeaders = headers(nginxUrl, await etag(nginxUrl));
    const ourHeaders = headers(ourUrl, await etag(ourUrl));
    // Warm-up (JIT, compressed bodies, connection setup), then alternating measured runs:
    // this machine's throughput drifts run to run, so each figure is a median of ROUNDS.
    wrk(nginxUrl, ngxHeaders, 2);
    wrk(ourUrl, ourHeaders, 2);
    const ngxRuns: number[] = [];
    const ourRuns: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      ngxRuns.push(wrk(nginxUrl, ngxHeaders));
      ourRuns.push(wrk(ourUrl, ourHeaders));
    }
    const ngx = median(ngxRuns);
    const ours = median(ourRuns);
    const ratio = ours / ngx;
    const target = label.startsWith("200 gzip")
      ? ""
      : ratio >= 0.5
        ? "  (target 0.5: met)"
        : "  (target 0.5: NOT met)";
    console.log(
      `${label.padEnd(24)} ${ngx.toFixed(0).padStart(12)} ${ours.toFixed(0).padStart(12)} ${ratio.toFixed(2).padStart(7)}${target}`,
    );
  }
} finally {
  for (const child of children) child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
}
