/**
 * A text file that a command reads and may rewrite in place (`render --update DOC`): read
 * without following a link, capped, decoded as UTF-8 keeping every byte, and replaced only if
 * it is still the file that was read. A docs checkout is someone else's tree: a symlink there
 * may point anywhere, a FIFO would block, and a file edited while we worked must not lose the edit.
 */
import { lstat } from "node:fs/promises";
import { decodeUtf8Text } from "../canonical/parse.ts";
import { BootstreamError } from "../errors.ts";
import { formatBytes } from "../source/read.ts";
import { rewriteTarget, writeFileAtomic } from "./atomic.ts";
import { openForReadNoFollow } from "./open.ts";

/** A text file as read: its text, and what identifies the file it was read from. */
export interface TextFile {
  path: string;
  /** The content, a byte-order mark included (writing `text` back gives the same bytes). */
  text: string;
  /** Whether the text starts with a byte-order mark (U+FEFF), which readers of the format skip. */
  bom: boolean;
  /** Device, inode, size and modification time (ns) when it was read. */
  identity: string;
}

export interface ReadTextFileOptions {
  /** The most bytes the file may have; a bigger one is TOO_LARGE, and no more is read. */
  maxBytes: number;
  /** What the file is, for messages: "docs file". */
  what: string;
}

const identityOf = (s: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }) =>
  `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;

/**
 * Reads a regular file (not a symlink, FIFO or directory: IO) of at most `maxBytes` as UTF-8
 * (else INVALID_DOCUMENT naming the line). A missing file is IO too: the user named it.
 */
export async function readTextFileNoFollow(path: string, options: ReadTextFileOptions): Promise<TextFile> {
  const handle = await openForReadNoFollow(path);
  if (handle === undefined) throw new BootstreamError("IO", `cannot read ${path}: no such file`, { path });
  const tooLarge = (size: string) =>
    new BootstreamError(
      "TOO_LARGE",
      `${path} is ${size}, more than the ${formatBytes(options.maxBytes)} a ${options.what} may have`,
      { path },
    );
  try {
    const info = await handle.stat({ bigint: true });
    if (info.size > BigInt(options.maxBytes)) throw tooLarge(formatBytes(Number(info.size)));
    // One byte more than the cap: a file that grew since the stat is refused, not read whole.
    const buffer = Buffer.alloc(Number(info.size) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > options.maxBytes) throw tooLarge(`more than ${formatBytes(options.maxBytes)}`);
      if (length === buffer.length) break;
    }
    // A file that changed size while read has no single content to rewrite from.
    if (length !== Number(info.size))
      throw new BootstreamError("CONFLICT", `${path} changed while it was read: run the command again`, {
        path,
      });
    const text = decodeUtf8Text(buffer.subarray(0, length), path);
    return { path, text, bom: text.startsWith("\uFEFF"), identity: identityOf(info) };
  } finally {
    await handle.close();
  }
}

/**
 * Replaces the file with `text` if it is still the one that was read: atomically, never
 * through a link, mode and owner kept (a file with several hard links is refused: USAGE). A
 * file renamed over, edited or swapped for a symlink since is a CONFLICT: writing would drop
 * someone else's change or write where the link points.
 */
export async function replaceTextFileIfUnchanged(file: TextFile, text: string): Promise<void> {
  const target = await rewriteTarget(file.path);
  const now = await lstat(file.path, { bigint: true }).then(
    (s) => (s.isFile() ? identityOf(s) : undefined),
    () => undefined,
  );
  if (now !== file.identity)
    throw new BootstreamError(
      "CONFLICT",
      `${file.path} changed while bootstream worked on it: nothing was written, run the command again`,
      { path: file.path },
    );
  await writeFileAtomic(target.path, text, { mode: target.mode, owner: target.owner });
}
