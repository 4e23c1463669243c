/**
 * A reviewer's summary of a diff between two streams (or two releases): per architecture,
 * the version change, what was added or removed (architectures, platforms, formats, files,
 * image platforms, regions), and counts of changed URLs, digests and images instead of a
 * dump of every line.
 */
import { parsePointer } from "../errors.ts";
import type { DiffOp } from "./index.ts";

export interface ArchSummary {
  architecture: string;
  status: "added" | "removed" | "changed";
  /** Distinct `old -> new` release versions seen under this architecture. */
  versions: string[];
  added: string[];
  removed: string[];
  changedUrls: number;
  changedDigests: number;
  changedImages: number;
  other: string[];
}

export interface DiffSummary {
  /** Changes outside `architectures` (stream name, metadata, top-level release). */
  document: string[];
  architectures: ArchSummary[];
}

function showValue(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function releaseOf(value: unknown): string | undefined {
  // A stream arch carries the release on each platform; a release arch has none of its own.
  if (typeof value !== "object" || value === null) return undefined;
  const artifacts = (value as { artifacts?: Record<string, { release?: string }> }).artifacts ?? {};
  const releases = [...new Set(Object.values(artifacts).map((p) => p.release ?? ""))].filter(Boolean);
  return releases.join(", ") || undefined;
}

export function summarizeDiff(ops: readonly DiffOp[]): DiffSummary {
  const document: string[] = [];
  const arches = new Map<string, ArchSummary>();
  const versionPairs = new Map<string, Set<string>>();
  const arch = (name: string): ArchSummary => {
    let s = arches.get(name);
    if (s === undefined) {
      s = {
        architecture: name,
        status: "changed",
        versions: [],
        added: [],
        removed: [],
        changedUrls: 0,
        changedDigests: 0,
        changedImages: 0,
        other: [],
      };
      arches.set(name, s);
      versionPairs.set(name, new Set());
    }
    return s;
  };

  for (const op of ops) {
    const t = parsePointer(op.path);
    if (t[0] !== "architectures" || t.length < 2) {
      if (t.length === 1 && t[0] === "release" && op.op === "replace")
        document.push(`release: ${showValue(op.old)} -> ${showValue(op.new)}`);
      else if (op.op === "replace") document.push(`${op.path}: ${showValue(op.old)} -> ${showValue(op.new)}`);
      else document.push(`${op.path}: ${op.op === "add" ? "added" : "removed"}`);
      continue;
    }
    const name = t[1] as string;
    const s = arch(name);
    const rest = t.slice(2);
    if (rest.length === 0) {
      s.status = op.op === "add" ? "added" : op.op === "remove" ? "removed" : "changed";
      const release = releaseOf(op.op === "remove" ? op.old : op.op === "add" ? op.new : undefined);
      if (release) s.versions.push(release);
      continue;
    }
    const [section, platform, ...deeper] = rest;
    const field = rest.at(-1) ?? "";
    // The headline version is the artifacts' release; image releases count as image changes.
    if (op.op === "replace" && field === "release" && (section === "artifacts" || section === "media")) {
      versionPairs.get(name)?.add(`${showValue(op.old)} -> ${showValue(op.new)}`);
      continue;
    }
    if (op.op !== "replace") {
      const verb = op.op === "add" ? s.added : s.removed;
      if ((section === "artifacts" || section === "media") && deeper.length === 0)
        verb.push(`platform ${platform}`);
      else if (section === "artifacts" && deeper[0] === "formats" && deeper.length === 2)
        verb.push(`format ${platform}/${deeper[1]}`);
      else if (section === "media" && deeper[0] === "artifacts" && deeper.length === 2)
        verb.push(`format ${platform}/${deeper[1]}`);
      else if ((section === "artifacts" || section === "media") && deeper.length === 3)
        verb.push(`file ${platform}/${deeper[1]}/${deeper[2]}`);
      else if (section === "images" && deeper.length === 0) verb.push(`${platform} image`);
      else if (section === "images" && deeper[0] === "regions" && deeper.length === 2)
        verb.push(`${platform} region ${deeper[1]}`);
      else if (section === "media" && deeper[0] === "images" && deeper.length === 2)
        verb.push(`${platform} region ${deeper[1]}`);
      else if (section === "rhel-coreos-extensions" && deeper[0] === "regions" && deeper.length === 2)
        verb.push(`${platform} region ${deeper[1]}`);
      else if (section === "rhel-coreos-extensions" && deeper.length === 0 && platform !== undefined)
        verb.push(`extension ${platform}`);
      else verb.push(rest.join("/"));
      continue;
    }
    if (field === "location" || field === "signature" || field === "url") s.changedUrls++;
    else if (field === "sha256" || field === "uncompressed-sha256" || field === "commit") s.changedDigests++;
    else if (
      section === "images" ||
      section === "oci-image" ||
      section === "rhel-coreos-extensions" ||
      deeper[0] === "image" ||
      deeper[0] === "images"
    ) {
      s.changedImages++;
    } else s.other.push(`${rest.join("/")}: ${showValue(op.old)} -> ${showValue(op.new)}`);
  }
  for (const [name, pairs] of versionPairs) {
    const s = arches.get(name);
    if (s && pairs.size > 0) s.versions.push(...pairs);
  }
  return {
    document,
    architectures: [...arches.values()].sort((a, b) => (a.architecture < b.architecture ? -1 : 1)),
  };
}

/** The summary as review text, one architecture per block. */
export function renderDiffSummary(summary: DiffSummary): string {
  const lines: string[] = [...summary.document];
  for (const s of summary.architectures) {
    if (s.status !== "changed") {
      lines.push(
        `${s.architecture}: ${s.status}${s.versions.length > 0 ? ` (${s.versions.join(", ")})` : ""}`,
      );
      continue;
    }
    lines.push(`${s.architecture}: ${s.versions.length > 0 ? s.versions.join("; ") : "same release"}`);
    if (s.added.length > 0) lines.push(`  added: ${s.added.join(", ")}`);
    if (s.removed.length > 0) lines.push(`  removed: ${s.removed.join(", ")}`);
    const counts = [
      [s.changedUrls, "URL"],
      [s.changedDigests, "digest"],
      [s.changedImages, "image"],
    ]
      .filter(([n]) => (n as number) > 0)
      .map(([n, what]) => `${n} ${what}${n === 1 ? "" : "s"}`);
    if (counts.length > 0) lines.push(`  changed: ${counts.join(", ")}`);
    for (const other of s.other.slice(0, 10)) lines.push(`  ${other}`);
    if (s.other.length > 10) lines.push(`  ... and ${s.other.length - 10} more changes`);
  }
  return lines.join("\n");
}
