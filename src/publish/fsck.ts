/**
 * Store consistency check: pinned copies missing from history, history entries whose copy
 * is missing or does not hash to the recorded sha256, a pointer matching no pinned copy,
 * signatures without their file (or, given keys, not verifying), names publish never
 * writes, and the locks and temporaries of interrupted writers (a stale lock with its
 * age, its writer and how to clear it).
 */
import type { Key } from "openpgp";
import { BootstreamError } from "../errors.ts";
import { sha256Hex } from "../files/hash.ts";
import { isStreamName, STREAM_NAME_EXPECTATION } from "../schema/names.ts";
import { quoted } from "../schema/text.ts";
import { verifyDetached } from "../signature/index.ts";
import { describeLock } from "../storage/fs.ts";
import type { Store } from "../storage/store.ts";
import { readHistory } from "./history.ts";
import { historyKey, pinnedKey, pointerKey } from "./layout.ts";

export interface FsckFinding {
  key: string;
  problem:
    | "pinned-not-in-history"
    | "history-copy-missing"
    | "history-sha256-mismatch"
    | "pointer-not-pinned"
    | "dangling-signature"
    | "bad-signature"
    | "leftover-temporary"
    | "stale-lock"
    | "held-lock"
    | "invalid-name"
    | "unreadable-history";
  message: string;
}

export async function fsckStore(
  store: Store,
  options: { keys?: readonly Key[] } = {},
): Promise<FsckFinding[]> {
  const findings: FsckFinding[] = [];
  const keys = await store.list("streams/");
  const present = new Set(keys);
  const names = new Set<string>();
  for (const leftover of await store.leftovers("streams/")) {
    const { key, kind, stale, owner, ageMs } = leftover;
    if (kind === "lock") {
      findings.push({ key, problem: stale ? "stale-lock" : "held-lock", message: describeLock(leftover) });
    } else {
      const who = owner ? `pid ${owner.pid} on ${owner.host}` : "an unrecorded writer";
      const age = Math.round(ageMs / 1000);
      findings.push({
        key,
        problem: "leftover-temporary",
        message: stale
          ? `leftover of an interrupted write by ${who}, ${age} s old; the next publish removes it, or remove ${leftover.path}`
          : `temporary file of ${who}, ${age} s old (a write may be running)`,
      });
    }
  }
  const invalid = new Set<string>();
  for (const key of keys) {
    const m = /^streams\/([^/]+?)(?:\.json(?:\.asc)?|\/.*)$/.exec(key);
    const name = m?.[1];
    if (name === undefined) continue;
    if (isStreamName(name)) names.add(name);
    else if (!invalid.has(name)) {
      invalid.add(name);
      findings.push({
        key,
        problem: "invalid-name",
        message: `${quoted(name.slice(0, 80))} is not ${STREAM_NAME_EXPECTATION}; publish never writes it, serve never serves it`,
      });
    }
  }
  for (const name of [...names].sort()) {
    let entries: { id: string; sha256: string }[] = [];
    try {
      entries = (await readHistory(store, name)).history.entries;
    } catch (error) {
      const message = error instanceof BootstreamError ? error.message : String(error);
      findings.push({ key: historyKey(name), problem: "unreadable-history", message });
    }
    const inHistory = new Set(entries.map((e) => e.id));
    const pinnedPattern = new RegExp(
      `^streams/${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/(\\d{8}(?:-\\d+)?)\\.json$`,
    );
    for (const key of keys) {
      const m = pinnedPattern.exec(key);
      if (m && !inHistory.has(m[1] as string)) {
        findings.push({
          key,
          problem: "pinned-not-in-history",
          message: `pinned copy ${m[1]} is not listed in ${historyKey(name)}`,
        });
      }
    }
    for (const entry of entries) {
      const key = pinnedKey(name, entry.id);
      const object = present.has(key) ? await store.get(key) : undefined;
      if (object === undefined) {
        findings.push({
          key,
          problem: "history-copy-missing",
          message: `history lists ${entry.id} but the pinned copy is missing`,
        });
      } else if (sha256Hex(object.body) !== entry.sha256) {
        findings.push({
          key,
          problem: "history-sha256-mismatch",
          message: `sha256 is ${sha256Hex(object.body)}, history says ${entry.sha256}`,
        });
      }
    }
    const pointer = present.has(pointerKey(name)) ? await store.get(pointerKey(name)) : undefined;
    if (pointer !== undefined && !entries.some((e) => e.sha256 === sha256Hex(pointer.body))) {
      findings.push({
        key: pointerKey(name),
        problem: "pointer-not-pinned",
        message: "the pointer's content matches no pinned copy in history",
      });
    }
  }
  for (const key of keys.filter((k) => k.endsWith(".asc"))) {
    const target = key.slice(0, -".asc".length);
    if (!present.has(target)) {
      findings.push({
        key,
        problem: "dangling-signature",
        message: `signature of ${target}, which does not exist`,
      });
      continue;
    }
    if (options.keys && options.keys.length > 0) {
      const [file, signature] = await Promise.all([store.get(target), store.get(key)]);
      if (file === undefined || signature === undefined) continue;
      try {
        await verifyDetached(file.body, signature.body, options.keys, { exactBytes: true });
      } catch (error) {
        const message = error instanceof BootstreamError ? error.message : String(error);
        findings.push({ key, problem: "bad-signature", message });
      }
    }
  }
  return findings;
}
