/**
 * The few tar operations an image layer of two small files needs: write regular files and
 * directories in POSIX ustar with fixed owner, mode and time (so the same input gives the
 * same bytes, hence the same digests), and read regular files back. Written by hand: a
 * general tar library brings streaming and formats (pax, GNU long names, links) that these
 * layers never use, and reproducibility depends on controlling every header byte.
 */
import { BootstreamError } from "../errors.ts";

export interface TarEntry {
  /** Relative path, "/"-separated, without a leading "/". */
  path: string;
  /** Omitted for directories. */
  body?: Uint8Array;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(path: string, size: number, directory: boolean, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  let name = path;
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    const cut = path.lastIndexOf("/", 155);
    if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100)
      throw new BootstreamError("USAGE", `path too long for a tar header: ${path}`);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
  }
  h.write(name, 0, 100, "utf8");
  h.write(octal(directory ? 0o755 : 0o644, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii"); // uid
  h.write(octal(0, 8), 116, "ascii"); // gid
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(mtime, 12), 136, "ascii");
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  h.write(directory ? "5" : "0", 156, "ascii");
  h.write("ustar\u000000", 257, "ascii");
  h.write("root", 265, "ascii");
  h.write("root", 297, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** A tar archive of `entries` in the given order, every header stamped with `mtime` (seconds). */
export function writeTar(entries: readonly TarEntry[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const directory = entry.body === undefined;
    const size = entry.body?.byteLength ?? 0;
    parts.push(header(directory ? `${entry.path.replace(/\/$/, "")}/` : entry.path, size, directory, mtime));
    if (entry.body) {
      parts.push(Buffer.from(entry.body));
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad, 0));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(parts);
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString("utf8");
}

/** The regular files of a tar archive (ustar; pax headers are skipped). */
export function readTar(archive: Uint8Array): Map<string, Buffer> {
  const buf = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  const files = new Map<string, Buffer>();
  let offset = 0;
  while (offset + BLOCK <= buf.length) {
    const block = buf.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    const size = Number.parseInt(field(block, 124, 12).trim() || "0", 8);
    if (!Number.isFinite(size) || size < 0 || offset + BLOCK + size > buf.length) {
      throw new BootstreamError("INVALID_DOCUMENT", `corrupt tar header at byte ${offset}`);
    }
    const type = String.fromCharCode(block[156] ?? 0);
    const prefix = field(block, 345, 155);
    const name = field(block, 0, 100);
    const path = (prefix ? `${prefix}/${name}` : name).replace(/^\.\//, "");
    if (type === "0" || type === "\0") files.set(path, buf.subarray(offset + BLOCK, offset + BLOCK + size));
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}
