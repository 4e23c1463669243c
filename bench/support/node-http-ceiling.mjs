// The ceiling for bench/serve.ts: bare node:http answering every request with one buffer
// (200, or 304 when If-None-Match names it), with exactly the headers bootstream serve sends
// for it (read from a JSON file: the same response on the wire). No routing, no cache, no
// metrics, no logic: what no server written on node:http can beat on this machine.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const [file, port, headersFile] = process.argv.slice(2);
const body = readFileSync(file);
/** { ok: {...}, notModified: {...} }: the 200 and 304 headers, as serve sent them. */
const { ok, notModified } = JSON.parse(readFileSync(headersFile, "utf8"));
const etag = ok.etag;
createServer((req, res) => {
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, notModified);
    res.end();
    return;
  }
  res.writeHead(200, ok);
  res.end(body);
}).listen(Number(port), "127.0.0.1", () => console.log(`http://127.0.0.1:${port}`));
