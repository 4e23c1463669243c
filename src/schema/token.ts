/**
 * Bearer tokens: what a client sends after "Authorization: Bearer " and what a registry's token
 * service answers. Visible ASCII only, so a token can never smuggle a line break or a space
 * into a header. `serve --token-file` reads its tokens through tokenFileSchema.
 */
import { z } from "zod";
import { BootstreamError } from "../errors.ts";

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** One bearer token, at most 16 KiB of visible ASCII. */
export const bearerTokenSchema = z
  .string()
  .max(16_384, { error: "a token of at most 16384 characters" })
  .regex(VISIBLE_ASCII, { error: "a token of printable characters" });

/**
 * One line of a token file. A line with spaces around or inside is refused, not trimmed: the
 * token an operator pasted would otherwise silently differ from the one they hand out.
 */
const tokenLineSchema = z.string().superRefine((line, ctx) => {
  const problem = /^\s|\s$/.test(line)
    ? "a token must not have leading or trailing whitespace"
    : /\s/.test(line)
      ? "a token must not contain whitespace"
      : !VISIBLE_ASCII.test(line) || line.length > 16_384
        ? "a token must be visible ASCII characters, at most 16384 of them"
        : undefined;
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/** The lines of a token file that hold tokens (not empty, not # comments), at least one. */
export const tokenFileSchema = z.array(tokenLineSchema).min(1);

/**
 * A token file: one token per line (LF or CRLF); empty lines and # comments ignored. USAGE
 * naming the file and line of the first bad token, or the file when it holds none.
 */
export function parseTokenFile(text: string, file: string): string[] {
  const lines = text
    .replace(/\r?\n$/, "")
    .split(/\r?\n/)
    .map((line, i) => ({ line, number: i + 1 }))
    .filter(({ line }) => line !== "" && !line.startsWith("#"));
  const result = tokenFileSchema.safeParse(lines.map((l) => l.line));
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const index = issue?.path[0];
  if (typeof index !== "number") throw new BootstreamError("USAGE", `${file} holds no token`, { path: file });
  throw new BootstreamError("USAGE", `${file} line ${lines[index]?.number}: ${issue?.message}`, {
    path: file,
  });
}
