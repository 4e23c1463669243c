// The ceiling for bench/serve.ts: bare node:http answering every request with one buffer
// (200, or 304 when If-None-Match names it). No routing, no cache, no metrics: what no
// server written on node:http can beat on this machine.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const [file, port] = process.argv.slice(2);
const body = readFileSync(file);
const etag = '"ceiling"';
const headers = {
  "content-type": "application/json",
  "cache-control": "public, max-age=60",
  etag,
  "content-length": body.byteLength,
};
createServer((req, res) => {
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, { etag });
    res.end();
    return;
  }
  res.writeHead(200, headers);
  res.end(body);
}).listen(Number(port), "127.0.0.1", () => console.log(`http://127.0.0.1:${port}`));
