/**
 * `publish --from-git`: publish what each branch of a streams repository holds at a path,
 * only when the branch moved since the last publish. What was published last is recorded
 * in the store (sync/git.json), so the job can run from cron or CI on any machine.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import { layoutOf } from "../canonical/layout.ts";
import { writeCanonical } from "../canonical/write.ts";
import { BootstreamError, toBootstreamError } from "../errors.ts";
import { formatTimestamp } from "../schema/common.ts";
import { decodeDocument } from "../schema/parse.ts";
import type { Store, StoredObject } from "../storage/store.ts";
import { updateWithRetry } from "../storage/update.ts";
import { gitSyncKey } from "./layout.ts";
import { type PublishOptions, type PublishResult, publishStream } from "./publish.ts";

const run = promisify(execFile);

/**
 * git talks to a server we do not control: a clone gets a deadline (git's own HTTP client
 * waits forever on a silent server) and the `ext::` transport, which runs commands, is off.
 */
const DEFAULT_CLONE_TIMEOUT_MS = 10 * 60_000;
const GIT_COMMAND_TIMEOUT_MS = 60_000;
const SAFE_GIT = ["-c", "protocol.ext.allow=never"];

const syncStateSchema = z.looseObject({
  published: z.record(
    z.string(),
    z.looseObject({
      commit: z.string(),
      sha256: z.string().optional(),
      name: z.string().optional(),
      id: z.string().optional(),
      at: z.string(),
    }),
  ),
});
type SyncState = z.infer<typeof syncStateSchema>;
const LAYOUT = layoutOf(syncStateSchema);

export interface GitSyncOptions extends PublishOptions {
  repo: string;
  branches: readonly string[];
  path: string;
  /** Deadline of cloning a remote repository (default 10 minutes). */
  cloneTimeoutMs?: number;
}

export type GitSyncResult =
  | { branch: string; commit: string; status: "unchanged" }
  | { branch: string; commit: string; status: "published"; result: PublishResult }
  | { branch: string; commit?: string; status: "failed"; error: BootstreamError };

async function git(repo: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run("git", [...SAFE_GIT, "-C", repo, ...args], {
      maxBuffer: 64 * 1024 * 1024,
      encoding: "utf8",
      timeout: GIT_COMMAND_TIMEOUT_MS,
      killSignal: "SIGKILL",
    });
    return stdout;
  } catch (cause) {
    const stderr =
      String((cause as { stderr?: string }).stderr ?? "")
        .trim()
        .split("\n")[0] ?? "";
    throw new BootstreamError(
      "IO",
      `git ${args.join(" ")} in ${repo} failed: ${stderr || (cause as Error).message}`,
      { cause },
    );
  }
}

/** A remote repository is mirrored into a temporary directory; a local one is read in place. */
async function openRepo(
  repo: string,
  timeoutMs: number,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  if (!/^[a-z][a-z0-9+.-]*:\/\/|^[^/]+@[^:]+:/.test(repo)) return { dir: repo, cleanup: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), "bootstream-git-"));
  try {
    // "--" so that a repository argument can never be read as an option of git clone.
    await run("git", [...SAFE_GIT, "clone", "--quiet", "--mirror", "--", repo, dir], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
  } catch (cause) {
    await rm(dir, { recursive: true, force: true });
    if ((cause as { killed?: boolean }).killed)
      throw new BootstreamError(
        "TIMEOUT",
        `cannot clone ${repo}: no complete answer within ${Math.round(timeoutMs / 1000)} s`,
        { cause, path: repo },
      );
    throw new BootstreamError("IO", `cannot clone ${repo}: ${(cause as Error).message.split("\n")[0]}`, {
      cause,
    });
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function resolveBranch(dir: string, branch: string): Promise<string> {
  for (const ref of [`refs/heads/${branch}`, `refs/remotes/origin/${branch}`]) {
    try {
      return (await git(dir, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim();
    } catch {
      /* try the next form */
    }
  }
  throw new BootstreamError("NOT_FOUND", `no branch ${branch} in ${dir}`);
}

function parseState(store: Store, object: StoredObject | undefined): SyncState {
  if (object === undefined) return { published: {} };
  const parsed = syncStateSchema.safeParse(decodeDocument(object.body).value);
  if (!parsed.success)
    throw new BootstreamError(
      "INVALID_DOCUMENT",
      `${store.location} ${gitSyncKey} is not a valid sync record`,
    );
  return parsed.data;
}

async function readState(store: Store): Promise<SyncState> {
  return parseState(store, await store.get(gitSyncKey));
}

async function recordPublished(
  store: Store,
  key: string,
  value: SyncState["published"][string],
): Promise<void> {
  await updateWithRetry(store, gitSyncKey, (object) => {
    const state = parseState(store, object);
    const next: SyncState = { ...state, published: { ...state.published, [key]: value } };
    return new TextEncoder().encode(writeCanonical(next, LAYOUT, { indent: 2 }));
  });
}

export async function publishFromGit(store: Store, options: GitSyncOptions): Promise<GitSyncResult[]> {
  const { dir, cleanup } = await openRepo(options.repo, options.cloneTimeoutMs ?? DEFAULT_CLONE_TIMEOUT_MS);
  const results: GitSyncResult[] = [];
  try {
    for (const branch of options.branches) {
      let commit: string | undefined;
      try {
        commit = await resolveBranch(dir, branch);
        const key = `${branch}:${options.path}`;
        const state = await readState(store);
        if (state.published[key]?.commit === commit) {
          results.push({ branch, commit, status: "unchanged" });
          continue;
        }
        const content = await git(dir, ["show", `${commit}:${options.path}`]);
        const result = await publishStream(store, content, options);
        await recordPublished(store, key, {
          commit,
          sha256: result.sha256,
          name: result.name,
          id: result.id,
          at: formatTimestamp(new Date()),
        });
        results.push({ branch, commit, status: "published", result });
      } catch (error) {
        results.push({
          branch,
          ...(commit ? { commit } : {}),
          status: "failed",
          error: toBootstreamError(error),
        });
      }
    }
  } finally {
    await cleanup();
  }
  return results;
}
