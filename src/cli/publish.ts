/** `bootstream publish|history|rollback|fsck`: the published store of streams. */
import { Command } from "commander";
import { BootstreamError } from "../errors.ts";
import { sha256Hex } from "../files/hash.ts";
import { fsckStore } from "../publish/fsck.ts";
import { publishFromGit } from "../publish/git-sync.ts";
import { readHistory } from "../publish/history.ts";
import { checkStreamName, pointerKey } from "../publish/layout.ts";
import {
  type PublishOptions,
  type PublishResult,
  publishStream,
  rollbackStream,
} from "../publish/publish.ts";
import { publicKeysOfSigningKey } from "../publish/signing-keys.ts";
import { printable } from "../schema/text.ts";
import { readSource } from "../source/read.ts";
import type { CliContext, CommandKit } from "./context.ts";
import { writeLine } from "./context.ts";
import {
  collectList,
  integerOption,
  keysFrom,
  policyFrom,
  readLocalFile,
  type StoreFlags,
  signerFrom,
  sourceOptions,
  storeFrom,
  withStoreOptions,
} from "./options.ts";
import { renderTable, toJsonText } from "./render.ts";

interface PublishFlags extends StoreFlags {
  name?: string;
  signKey?: string;
  policy?: string;
  force?: boolean;
  retry?: number | true;
  fromGit?: string;
  branch?: string[];
  path?: string;
  json?: boolean;
}

/** What a publish cleaned up after an interrupted one, for stderr. */
function reportRepairs(ctx: CliContext, result: PublishResult): void {
  for (const left of result.cleared) {
    const who = left.owner ? `pid ${left.owner.pid} on ${left.owner.host}` : "an unrecorded writer";
    writeLine(
      ctx.stderr,
      `removed ${left.kind === "lock" ? "stale lock" : "leftover temporary"} ${left.key} (${who}, ${Math.round(left.ageMs / 1000)} s old)`,
    );
  }
  for (const key of result.repaired) writeLine(ctx.stderr, `repaired ${key} (missing or stale signature)`);
}

async function publishOptions(kit: CommandKit, flags: PublishFlags): Promise<PublishOptions> {
  const policy = await policyFrom(flags.policy);
  const signer = await signerFrom(kit.ctx, flags.signKey);
  return {
    policy,
    ...(flags.name !== undefined ? { name: checkStreamName(flags.name) } : {}),
    ...(flags.force ? { force: true } : {}),
    ...(signer && flags.signKey
      ? {
          signer,
          signerKeys: await publicKeysOfSigningKey(await readLocalFile(flags.signKey, "signing key")),
        }
      : {}),
    ...(flags.retry !== undefined ? { retries: flags.retry === true ? 3 : flags.retry } : {}),
  };
}

function publishCommand(kit: CommandKit): Command {
  const { ctx } = kit;
  return withStoreOptions(
    new Command("publish")
      .description("publish a stream: immutable pinned copy + history, then move the pointer")
      .argument("[source]", "the stream to publish (file, -, URL)")
      .option("--name <name>", "name under streams/ (default: the stream's own name)")
      .option(
        "--sign-key <file>",
        "armored OpenPGP private key; writes a detached .asc next to every file (passphrase: env BOOTSTREAM_SIGN_PASSPHRASE)",
      )
      .option("--policy <file>", "lint policy (YAML)")
      .option("--force", "publish even if lint fails")
      .option(
        "--retry [n]",
        "after losing a race for the pointer, re-lint and try again (default 3 times)",
        integerOption(0, 100, "retries"),
      )
      .option("--from-git <repo>", "publish what branches of this git repository (path or URL) hold")
      .option("--branch <branches>", "with --from-git: branches, comma separated or repeated", collectList)
      .option("--path <path>", "with --from-git: the stream file inside the repository")
      .option("--json", "print the result as JSON"),
  )
    .addHelpText(
      "after",
      `
Writes streams/<name>/<id>.json (id = YYYYMMDD of last-modified, -2, -3 on repeats; identical
content is never duplicated), adds it to streams/<name>/history.json, then moves
streams/<name>.json, each with a precondition. If another publisher moves the pointer first,
this one stops with CONFLICT (exit 1) and its pinned copy stays; --retry tries again.
With --from-git, a branch is published only when it moved since its last publish.

Examples:
  bootstream publish stable.json --store /srv/streams
  bootstream publish stable.json --store s3://my-bucket/coreos --sign-key release.asc --retry
  bootstream publish --from-git https://git.example.com/streams.git --branch stable,testing --path stream.json --store /srv/streams`,
    )
    .action((source: string | undefined, flags: PublishFlags) =>
      kit.run(flags.json, async () => {
        const store = await storeFrom(ctx, flags);
        const options = await publishOptions(kit, flags);
        if (flags.fromGit !== undefined) {
          if (source !== undefined)
            throw new BootstreamError("USAGE", "give either a SOURCE or --from-git, not both");
          if (!flags.branch?.length || !flags.path)
            throw new BootstreamError("USAGE", "--from-git needs --branch and --path");
          const results = await publishFromGit(store, {
            ...options,
            repo: flags.fromGit,
            branches: flags.branch,
            path: flags.path,
          });
          if (flags.json) {
            ctx.stdout.write(
              toJsonText(results.map((r) => (r.status === "failed" ? { ...r, error: r.error.toJSON() } : r))),
            );
          }
          for (const r of results) {
            const at = r.commit ? ` at ${r.commit.slice(0, 12)}` : "";
            if (r.status === "unchanged")
              writeLine(ctx.stderr, `${r.branch}${at}: unchanged since the last publish`);
            else if (r.status === "published") {
              writeLine(
                ctx.stderr,
                `${r.branch}${at}: published ${r.result.name} as ${r.result.id}${r.result.pointerMoved ? "" : " (already current)"}`,
              );
            } else writeLine(ctx.stderr, `bootstream: ${r.branch}${at}: ${r.error.message}`);
          }
          const failed = results.filter((r) => r.status === "failed");
          return failed.length === 0
            ? 0
            : Math.max(...failed.map((r) => (r.status === "failed" ? r.error.exitCode : 1)));
        }
        if (source === undefined)
          throw new BootstreamError("USAGE", "publish needs a SOURCE (or --from-git)");
        const { bytes } = await readSource(source, sourceOptions(ctx, {}));
        const result = await publishStream(store, bytes, options);
        if (flags.json) ctx.stdout.write(toJsonText(result));
        else writeLine(ctx.stdout, `streams/${result.name}/${result.id}.json`);
        reportRepairs(ctx, result);
        writeLine(
          ctx.stderr,
          result.pointerMoved
            ? `published ${result.name} as ${result.id}${result.reusedPinnedCopy ? " (existing pinned copy)" : ""} in ${store.location}`
            : `${result.name} already points at ${result.id}; nothing to move${result.repaired.length + result.cleared.length > 0 ? " (completed an interrupted publish)" : ""}`,
        );
        return 0;
      }),
    );
}

function historyCommand(kit: CommandKit): Command {
  const { ctx } = kit;
  return withStoreOptions(
    new Command("history")
      .description("list the pinned versions of a stream, newest first")
      .argument("<name>", "stream name")
      .option("--json", "print as JSON"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  bootstream history stable --store /srv/streams\n  bootstream history rhcos-4.16 --store s3://bucket/prefix --json",
    )
    .action((name: string, flags: StoreFlags & { json?: boolean }) =>
      kit.run(flags.json, async () => {
        const store = await storeFrom(ctx, flags);
        const { history } = await readHistory(store, checkStreamName(name));
        const pointer = await store.get(pointerKey(name));
        const current = pointer ? sha256Hex(pointer.body) : undefined;
        if (history.entries.length === 0 && pointer === undefined) {
          throw new BootstreamError("NOT_FOUND", `no stream ${name} in ${store.location}`);
        }
        if (flags.json) {
          ctx.stdout.write(
            toJsonText({
              stream: name,
              current: history.entries.find((e) => e.sha256 === current)?.id ?? null,
              entries: history.entries,
            }),
          );
          return 0;
        }
        const rows = history.entries.map((e) => [
          `${e.sha256 === current ? "*" : " "} ${e.id}`,
          e["last-modified"],
          Object.entries(e.releases)
            .map(([a, r]) => `${a}=${r}`)
            .join(" "),
          String(e.size),
          e.sha256.slice(0, 16),
        ]);
        writeLine(ctx.stdout, renderTable(["  ID", "LAST-MODIFIED", "RELEASES", "SIZE", "SHA256"], rows));
        return 0;
      }),
    );
}

function rollbackCommand(kit: CommandKit): Command {
  const { ctx } = kit;
  return withStoreOptions(
    new Command("rollback")
      .description("point a stream back at one of its pinned copies (the pinned copies stay)")
      .argument("<name>", "stream name")
      .argument("<id>", "pinned id, as `history` lists it"),
  )
    .addHelpText("after", "\nExamples:\n  bootstream rollback stable 20260707 --store /srv/streams")
    .action((name: string, id: string, flags: StoreFlags) =>
      kit.run(false, async () => {
        const store = await storeFrom(ctx, flags);
        const result = await rollbackStream(store, name, id);
        writeLine(
          ctx.stderr,
          result.previousSha256 === result.sha256
            ? `${name} already points at ${id}`
            : `${name} now points at ${id}`,
        );
        return 0;
      }),
    );
}

function fsckCommand(kit: CommandKit): Command {
  const { ctx } = kit;
  return withStoreOptions(
    new Command("fsck")
      .description("check a store: pinned copies vs history, digests, dangling or bad signatures, leftovers")
      .option("--key <file>", "also verify every .asc against these public keys (repeatable)", collectList)
      .option("--json", "print findings as JSON"),
  )
    .addHelpText(
      "after",
      "\nExit status: 0 consistent, 1 findings.\n\nExamples:\n  bootstream fsck --store /srv/streams\n  bootstream fsck --store s3://bucket/prefix --key release-pub.asc",
    )
    .action((flags: StoreFlags & { key?: string[]; json?: boolean }) =>
      kit.run(flags.json, async () => {
        const store = await storeFrom(ctx, flags);
        // A missing or unreadable store is an error, not an empty (hence consistent) one.
        await store.check();
        const keys = flags.key?.length ? await keysFrom(flags.key) : undefined;
        const findings = await fsckStore(store, keys ? { keys } : {});
        if (flags.json) ctx.stdout.write(toJsonText(findings));
        else
          for (const f of findings)
            writeLine(ctx.stdout, `${printable(f.key)}: ${f.problem}: ${printable(f.message)}`);
        if (!flags.json)
          writeLine(
            ctx.stderr,
            findings.length === 0 ? `${store.location}: consistent` : `${findings.length} finding(s)`,
          );
        return findings.length === 0 ? 0 : 1;
      }),
    );
}

export function registerPublish(kit: CommandKit): Command[] {
  return [publishCommand(kit), historyCommand(kit), rollbackCommand(kit), fsckCommand(kit)];
}
