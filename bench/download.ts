/**
 * Figure: `bootstream download --decompress` throughput against the shell pipeline
 * `curl -s URL | xz -T0 -d | tee out | sha256sum`, both fetching the same generated xz
 * artifact from a local HTTP server on 127.0.0.1 in the same run, and bootstream's peak RSS.
 * Target: ratio >= 0.9; RSS under 100 MB (run with --mb 2048 for the 2 GB case).
 *
 *   npm run bench:download [-- --mb 512]
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const mbArg = process.argv.indexOf("--mb");
const MB = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 512;
const dir = mkdtempSync(join(tmpdir(), "bootstream-bench-download-"));

/** Disk-image-like data: blocks of random bytes and runs of zeros (compresses about 3:1). */
function makeImage(path: string): { sha256: string } {
  const hash = createHash("sha256");
  const chunks: Buffer[] = [];
  const block = 1 << 20;
  for (let i = 0; i < MB; i++) {
    const buf = Buffer.alloc(block);
    for (let off = 0; off < block; off += 64 * 1024) randomBytes(20 * 1024).copy(buf, off);
    hash.update(buf);
    chunks.push(buf);
    if (chunks.length === 64 || i === MB - 1) {
      writeFileSync(path, Buffer.concat(chunks), { flag: i < 64 ? "w" : "a" });
      chunks.length = 0;
    }
  }
  return { sha256: hash.digest("hex") };
}

function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (c) => hash.update(c))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}

try {
  console.log(`generating a ${MB} MiB image and compressing it with xz -T0 -1 ...`);
  const raw = join(dir, "image.raw");
  const { sha256: rawSha } = makeImage(raw);
  execFileSync("xz", ["-T0", "-1", "-k", raw]);
  const xzPath = `${raw}.xz`;
  const xzSha = await fileSha256(xzPath);
  const xzSize = statSync(xzPath).size;
  rmSync(raw);

  // The artifact server runs in its own process, like a real remote.
  const serverScript = join(dir, "server.mjs");
  writeFileSync(
    serverScript,
    `import http from "node:http"; import fs from "node:fs";
const file = ${JSON.stringify(xzPath)}; const size = fs.statSync(file).size;
http.createServer((req, res) => { res.writeHead(200, { "content-length": size }); fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res); })
  .listen(0, "127.0.0.1", function () { console.log(this.address().port); });`,
  );
  const server = spawn(process.execPath, [serverScript], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve) =>
    server.stdout.once("data", (d: Buffer) => resolve(d.toString().trim())),
  );
  const url = `http://127.0.0.1:${port}/image.raw.xz`;
  const stream = {
    stream: "bench",
    metadata: { "last-modified": "2026-01-01T00:00:00Z" },
    architectures: {
      x86_64: {
        artifacts: {
          metal: {
            release: "1",
            formats: { "raw.xz": { disk: { location: url, sha256: xzSha, "uncompressed-sha256": rawSha } } },
          },
        },
        images: {},
      },
    },
  };
  const streamFile = join(dir, "stream.json");
  writeFileSync(streamFile, JSON.stringify(stream));

  const runReference = () => {
    const start = process.hrtime.bigint();
    const out = execFileSync(
      "bash",
      ["-o", "pipefail", "-c", `curl -s ${url} | xz -T0 -d | tee ${join(dir, "ref.raw")} | sha256sum`],
      { encoding: "utf8" },
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (!out.startsWith(rawSha)) throw new Error(`reference pipeline produced a different digest: ${out}`);
    rmSync(join(dir, "ref.raw"));
    return seconds;
  };
  const measureOurs = (): { seconds: number; rssMb: number } => {
    const outDir = join(dir, "out");
    const start = process.hrtime.bigint();
    const child = execFileSync(
      "bash",
      [
        "-c",
        `/usr/bin/time -f "maxrss_kb=%M" ${process.execPath} ${join(ROOT, "bin/bootstream.js")} download -s ${streamFile} -a x86_64 -p metal -f raw.xz --decompress --insecure -C ${outDir} 2>&1 >/dev/null | tail -1`,
      ],
      { encoding: "utf8" },
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const m = /maxrss_kb=(\d+)/.exec(child);
    if (!m) throw new Error(`no RSS figure: ${child}`);
    rmSync(outDir, { recursive: true, force: true });
    return { seconds, rssMb: Number(m[1]) / 1024 };
  };

  // Warm the page cache for the artifact, then alternate the two a few times.
  runReference();
  const refTimes: number[] = [];
  const ourTimes: number[] = [];
  let rss = 0;
  for (let i = 0; i < 3; i++) {
    refTimes.push(runReference());
    const r = measureOurs();
    ourTimes.push(r.seconds);
    rss = Math.max(rss, r.rssMb);
  }
  server.kill();
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
  const ref = median(refTimes);
  const mine = median(ourTimes);
  const mbps = (s: number) => (MB * 1.048576) / s;
  console.log(
    `artifact: ${MB} MiB raw, ${(xzSize / 1048576).toFixed(0)} MiB xz; median of 3 alternating runs`,
  );
  console.log(
    `reference  curl | xz -T0 -d | tee | sha256sum   ${ref.toFixed(2)} s  ${mbps(ref).toFixed(0)} MB/s (uncompressed)`,
  );
  console.log(
    `bootstream download --decompress (2x sha256)   ${mine.toFixed(2)} s  ${mbps(mine).toFixed(0)} MB/s, peak RSS ${rss.toFixed(0)} MB`,
  );
  console.log(
    `ratio (throughput, bootstream / reference): ${(ref / mine).toFixed(2)}  (target 0.9: ${ref / mine >= 0.9 ? "met" : "NOT met"}); RSS under 100 MB: ${rss < 100 ? "yes" : "NO"}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
