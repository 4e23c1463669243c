/** `bootstream audit SOURCE | --store S`: check a published stream, for a cron job or a CI monitor. */
import { Command, Option } from "commander";
import { type AuditOptions, auditStream, type StreamAudit } from "../audit/audit.ts";
import { type PublishedStream, publishedAt, publishedInStore } from "../audit/places.ts";
import { BootstreamError } from "../errors.ts";
import { printable } from "../schema/text.ts";
import { defaultStateDir } from "../source/trust-state.ts";
import type { CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import { collectList, deadlinesFrom, keysFrom, storeFrom, streamKeyFiles } from "./options.ts";
import { toJsonText } from "./render.ts";

interface AuditFlags {
  store?: string;
  s3Endpoint?: string;
  stream?: string[];
  streamKey?: string[];
  stateDir?: string;
  acceptRewrite?: boolean;
  json?: boolean;
}

export function registerAudit(kit: CommandKit): Command {
  const { ctx } = kit;
  return new Command("audit")
    .description(
      "audit a published stream: pointer is the newest, pinned copies intact and signed, history ordered and append-only",
    )
    .argument("[source]", "the pointer's URL or path (https://mirror/streams/stable.json)")
    .addOption(
      new Option(
        "--store <location>",
        "audit the streams of a store instead: a directory or s3://BUCKET/PREFIX",
      ),
    )
    .addOption(new Option("--s3-endpoint <url>", "S3-compatible endpoint (env AWS_ENDPOINT_URL)"))
    .option(
      "--stream <name>",
      "with --store: only this stream (repeatable; default every stream)",
      collectList,
    )
    .option(
      "--stream-key <file>",
      "pointer and every pinned copy must be signed by one of these public keys (repeatable; env BOOTSTREAM_STREAM_KEYRING)",
      collectList,
    )
    .option(
      "--state-dir <dir>",
      "where what this audit saw is kept (default $XDG_STATE_HOME/bootstream or ~/.local/state/bootstream)",
    )
    .option("--accept-rewrite", "record the current history even though it rewrote the one seen last")
    .option("--json", "print the report as JSON")
    .addHelpText(
      "after",
      `
Checks, each a finding (check name in --json):
  pointer-not-newest  the pointer is not the newest entry of history
  pinned-missing      a pinned copy history lists does not exist
  pinned-digest       a pinned copy's sha256 or size differs from history
  signature           with --stream-key: a pinned copy's or the pointer's .asc is missing or bad
  order               last-modified does not strictly increase along history
  history-rewritten   an entry the last audit saw is gone or changed, or one was inserted
                      before it; reported on every run until --accept-rewrite
  history-corrupt     history is missing, not a history, or disagrees with a pinned copy

History and pinned copies are read beside SOURCE (<dir>/<name>/history.json,
<dir>/<name>/<id>.json and .asc). Without --stream-key signatures are not checked (and the
summary says so). What each audit saw is kept under --state-dir, per pointer URL or path:
keep it between runs (a CI cache), or the append-only check has nothing to compare with.

Exit status: 0 no findings, 1 findings, 2 an unreadable source, store or state, or bad usage.

Examples:
  # cron: mail the operator when the mirror drifts
  17 * * * * bootstream audit https://mirror.example/streams/stable.json --stream-key release-pub.asc
  # CI monitor of a bucket, every stream, findings as JSON
  bootstream audit --store s3://bucket/coreos --stream-key release-pub.asc --json
  bootstream audit /srv/streams/streams/stable.json --stream-key release-pub.asc
  bootstream audit --store /srv/streams --stream stable --accept-rewrite`,
    )
    .action((source: string | undefined, flags: AuditFlags) =>
      kit.run(flags.json, async () => {
        if ((source === undefined) === (flags.store === undefined))
          throw new BootstreamError(
            "USAGE",
            "give either SOURCE (a pointer's URL or path) or --store, not both",
          );
        if (flags.store === undefined && (flags.stream !== undefined || flags.s3Endpoint !== undefined))
          throw new BootstreamError("USAGE", "--stream and --s3-endpoint go with --store");
        const keyFiles = streamKeyFiles(ctx, flags.streamKey);
        const keys = keyFiles.length > 0 ? await keysFrom(keyFiles) : [];
        let places: PublishedStream[];
        if (source !== undefined) places = [await publishedAt(source, { deadlines: deadlinesFrom(ctx.env) })];
        else {
          const store = await storeFrom(ctx, {
            store: flags.store as string,
            ...(flags.s3Endpoint ? { s3Endpoint: flags.s3Endpoint } : {}),
          });
          places = await publishedInStore(store, flags.stream ?? []);
        }
        const options: AuditOptions = {
          keys,
          stateDir: flags.stateDir ?? defaultStateDir(ctx.env),
          pointerRequired: source !== undefined,
          ...(flags.acceptRewrite ? { acceptRewrite: true } : {}),
        };
        const audits: StreamAudit[] = [];
        for (const place of places) audits.push(await auditStream(place, options));
        report(kit, audits, flags.json === true);
        return audits.some((a) => a.findings.length > 0) ? 1 : 0;
      }),
    );
}

function report({ ctx }: CommandKit, audits: readonly StreamAudit[], json: boolean): void {
  for (const audit of audits) {
    for (const accepted of audit.accepted ?? [])
      writeLine(
        ctx.stderr,
        `${audit.stream}${accepted.id ? ` ${accepted.id}` : ""}: accepted (--accept-rewrite): ${printable(accepted.message)}`,
      );
    if (audit.accepted && audit.recorded)
      writeLine(
        ctx.stderr,
        `${audit.stream}: recorded the current history as the baseline of the next audit`,
      );
  }
  if (json) ctx.stdout.write(toJsonText({ streams: audits }));
  else
    for (const audit of audits)
      for (const f of audit.findings)
        writeLine(ctx.stdout, `${f.stream}${f.id ? ` ${f.id}` : ""}: ${printable(f.message)}`);
  const streams = audits.length;
  const copies = audits.reduce((n, a) => n + a.entries, 0);
  const findings = audits.reduce((n, a) => n + a.findings.length, 0);
  const notes = [
    audits.some((a) => !a.checked.signatures) ? "signatures not checked (no --stream-key)" : undefined,
  ].filter((n) => n !== undefined);
  writeLine(
    ctx.stderr,
    `audited ${streams} stream${streams === 1 ? "" : "s"}, ${copies} pinned cop${copies === 1 ? "y" : "ies"}: ${
      findings === 0 ? "no findings" : `${findings} finding${findings === 1 ? "" : "s"}`
    }${notes.length > 0 ? `; ${notes.join("; ")}` : ""}`,
  );
}
