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

/** A number field: octal digits, padded with spaces or NULs, nothing else (no base-256). */
function octalField(block: Buffer, start: number, length: number, offset: number): number {
  const text = block
    .subarray(start, start + length)
    .toString("latin1")
    .replace(/^[ ]+|[ \0]+$/g, "");
  if (!/^[0-7]*$/.test(text)) throw corrupt(offset, `number field ${JSON.stringify(text)} is not octal`);
  return text === "" ? 0 : Number.parseInt(text, 8);
}

function corrupt(offset: number, why: string): BootstreamError {
  return new BootstreamError("INVALID_DOCUMENT", `corrupt tar header at byte ${offset}: ${why}`);
}

/** pax extended header records (`<len> key=value\n`), strictly. */
function paxRecords(body: Buffer, offset: number): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < body.length) {
    if (body[at] === 0) break; // padding some writers leave
    const space = body.indexOf(0x20, at);
    const lengthText = space === -1 ? "" : body.toString("latin1", at, space);
    const length = /^[1-9][0-9]{0,8}$/.test(lengthText) ? Number(lengthText) : Number.NaN;
    if (!(length > 0) || at + length > body.length || body[at + length - 1] !== 0x0a)
      throw corrupt(offset, "malformed pax record");
    const record = body.toString("utf8", space + 1, at + length - 1);
    const eq = record.indexOf("=");
    if (eq <= 0) throw corrupt(offset, "malformed pax record");
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

export interface TarRecord {
  /** The entry's name as an extractor sees it: pax `path` or GNU long name over the header's. */
  path: string;
  /** ustar type flag: "0" regular file, "1" hard link, "2" symlink, "5" directory, ... */
  type: string;
  linkname: string;
  /** Byte offset of the entry's header, for messages. */
  offset: number;
  body: Buffer;
}

/** Entry types that carry no data: a size on them would make readers disagree on where the next header is. */
const DATALESS = new Set(["1", "2", "3", "4", "5", "6"]);

/**
 * Every entry of a tar archive, in order, as an extractor would see it: pax extended headers
 * and GNU long names are applied to the entry they precede, checksums are verified, and a
 * header whose fields are not plain octal, or a link or directory with data, is refused, so
 * a crafted header cannot make us and `tar` disagree about which entry is which.
 */
export function readTarEntries(archive: Uint8Array): TarRecord[] {
  const buf = Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength);
  const entries: TarRecord[] = [];
  let pending: { path?: string; linkname?: string; size?: number } = {};
  let offset = 0;
  while (offset + BLOCK <= buf.length) {
    const block = buf.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    if (octalField(block, 148, 8, offset) !== sum) throw corrupt(offset, "wrong checksum");
    const type = String.fromCharCode(block[156] ?? 0);
    const size = pending.size ?? octalField(block, 124, 12, offset);
    if (offset + BLOCK + size > buf.length) throw corrupt(offset, "entry runs past the end of the archive");
    const body = buf.subarray(offset + BLOCK, offset + BLOCK + size);
    const posix = block.toString("latin1", 257, 263) === "ustar\0";
    const prefix = posix ? field(block, 345, 155) : "";
    const name = field(block, 0, 100);
    const headerPath = prefix ? `${prefix}/${name}` : name;
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x" || type === "g") {
      const records = paxRecords(body, offset);
      if (type === "g") {
        if (records.has("path") || records.has("linkpath") || records.has("size"))
          throw corrupt(offset, "a global pax header sets path, linkpath or size");
        continue;
      }
      const sizeText = records.get("size");
      if (sizeText !== undefined && !/^[0-9]{1,15}$/.test(sizeText)) throw corrupt(offset, "bad pax size");
      pending = {
        ...pending,
        ...(records.has("path") ? { path: records.get("path") as string } : {}),
        ...(records.has("linkpath") ? { linkname: records.get("linkpath") as string } : {}),
        ...(sizeText !== undefined ? { size: Number(sizeText) } : {}),
      };
      continue;
    }
    if (type === "L" || type === "K") {
      const text = body.toString("utf8").replace(/\0+$/, "");
      pending = { ...pending, ...(type === "L" ? { path: text } : { linkname: text }) };
      continue;
    }
    if (DATALESS.has(type) && size !== 0)
      throw corrupt(offset, `a ${type === "5" ? "directory" : "link"} entry with data`);
    entries.push({
      path: pending.path ?? headerPath,
      type: type === "\0" || type === "7" ? "0" : type,
      linkname: pending.linkname ?? field(block, 157, 100),
      offset: offset - BLOCK - Math.ceil(size / BLOCK) * BLOCK,
      body,
    });
    pending = {};
  }
  return entries;
}

/** The regular files of a tar archive by name (a later entry of the same name wins, as on extraction). */
export function readTar(archive: Uint8Array): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readTarEntries(archive))
    if (entry.type === "0") files.set(entry.path.replace(/^\.\//, ""), entry.body);
  return files;
}
