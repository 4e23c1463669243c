/**
 * Policy checks over a stream, alone or against the stream it replaces (`--previous`), for
 * CI gates on stream bumps. Each finding names a rule and a JSON pointer.
 */
import { describeDifference } from "../canonical/compare.ts";
import { escapePointerToken, toPointer } from "../errors.ts";
import { findArtifacts, listImages } from "../query/index.ts";
import { architectureReleases } from "../query/releases.ts";
import { compareVersions } from "../query/versions.ts";
import { acceptDocument, checkDocument, type ParsedDocument } from "../schema/parse.ts";
import type { Stream } from "../schema/stream.ts";
import { DEFAULT_POLICY, hostAllowed, type Policy, type RuleId } from "./policy.ts";

export interface Violation {
  pointer: string;
  rule: RuleId;
  message: string;
}

export interface LintOptions {
  previous?: Stream;
  policy?: Policy;
}

/** Checks that need only the new stream. */
function checkStream(stream: Stream, policy: Policy, report: (v: Violation) => void): void {
  for (const arch of Object.keys(stream.architectures).sort()) {
    for (const ref of findArtifacts(stream, { architecture: arch })) {
      const { artifact } = ref;
      if (policy.requireSignatures && !artifact.signature) {
        report({
          pointer: ref.pointer,
          rule: "signature-required",
          message: "artifact has no signature URL",
        });
      }
      for (const field of ["location", "signature"] as const) {
        const value = artifact[field];
        if (!value || !URL.canParse(value)) continue;
        const url = new URL(value);
        const pointer = `${ref.pointer}/${field}`;
        if (policy.httpsOnly && url.protocol !== "https:") {
          report({
            pointer,
            rule: "https-only",
            message: `expected an https URL, found ${url.protocol}//${url.host}`,
          });
        }
        if (!hostAllowed(url.hostname, policy.allowedHosts)) {
          report({
            pointer,
            rule: "allowed-hosts",
            message: `host ${url.hostname} is not in allowed-hosts (${policy.allowedHosts.join(", ")})`,
          });
        }
      }
      if (!artifact.location.includes(ref.release)) {
        report({
          pointer: `${ref.pointer}/location`,
          rule: "artifact-release",
          message: `artifact URL does not name the platform's release ${ref.release}`,
        });
      }
    }
    const releases = new Set(architectureReleases(stream, arch));
    for (const image of listImages(stream, { architecture: arch }))
      if (image.release) releases.add(image.release);
    if (releases.size > 1) {
      report({
        pointer: toPointer(["architectures", arch]),
        rule: "mixed-releases",
        message: `${arch} mixes releases ${[...releases].sort(compareVersions).join(", ")}; a stream arch should come from one release`,
      });
    }
  }
}

/** Checks of the new stream against the one it replaces. */
function checkAgainst(
  previous: Stream,
  stream: Stream,
  policy: Policy,
  report: (v: Violation) => void,
): void {
  const removable = (pointer: string) =>
    policy.allowRemoval.some((p) => pointer === p || pointer.startsWith(`${p}/`));
  const dropped = (rule: RuleId, pointer: string, what: string) => {
    if (!removable(pointer))
      report({
        pointer,
        rule,
        message: `${what} was in the previous stream and is gone (allow it with allow-removal)`,
      });
  };
  if (previous.stream !== stream.stream) {
    report({
      pointer: "/stream",
      rule: "stream-renamed",
      message: `stream was ${previous.stream}, now ${stream.stream}`,
    });
  }
  const oldTime = Date.parse(previous.metadata["last-modified"]);
  const newTime = Date.parse(stream.metadata["last-modified"]);
  if (newTime < oldTime) {
    report({
      pointer: "/metadata/last-modified",
      rule: "last-modified-regress",
      message: `${stream.metadata["last-modified"]} is older than the previous ${previous.metadata["last-modified"]}`,
    });
  }
  for (const arch of Object.keys(previous.architectures).sort()) {
    const base = toPointer(["architectures", arch]);
    const next = stream.architectures[arch];
    const old = previous.architectures[arch];
    if (old === undefined) continue;
    if (next === undefined) {
      dropped("no-dropped-architecture", base, `architecture ${arch}`);
      continue;
    }
    const oldNewest = architectureReleases(previous, arch).at(-1);
    const newNewest = architectureReleases(stream, arch).at(-1);
    if (
      oldNewest &&
      newNewest &&
      compareVersions(newNewest, oldNewest) < 0 &&
      !policy.allowDowngrade.includes(arch)
    ) {
      report({
        pointer: `${base}/artifacts`,
        rule: "no-downgrade",
        message: `${arch} goes back from ${oldNewest} to ${newNewest} (allow it with allow-downgrade)`,
      });
    }
    for (const [platform, entry] of Object.entries(old.artifacts)) {
      const at = `${base}/artifacts/${escapePointerToken(platform)}`;
      const now = next.artifacts[platform];
      if (now === undefined) {
        dropped("no-dropped-platform", at, `${arch} platform ${platform}`);
        continue;
      }
      for (const format of Object.keys(entry.formats)) {
        if (now.formats[format] === undefined) {
          dropped(
            "no-dropped-format",
            `${at}/formats/${escapePointerToken(format)}`,
            `${arch} ${platform} format ${format}`,
          );
        }
      }
    }
    const oldImages = listImages(previous, { architecture: arch });
    const newImages = listImages(stream, { architecture: arch });
    const newKeys = new Set(newImages.map((i) => `${i.platform}\u0000${i.region ?? ""}`));
    const newPlatforms = new Set(newImages.map((i) => i.platform));
    const reportedPlatforms = new Set<string>();
    for (const image of oldImages) {
      if (!newPlatforms.has(image.platform)) {
        if (reportedPlatforms.has(image.platform)) continue;
        reportedPlatforms.add(image.platform);
        const holder =
          image.region === undefined ? image.pointer : image.pointer.replace(/\/regions\/[^/]+$/, "");
        dropped("no-dropped-image", holder, `${arch} ${image.platform} image`);
      } else if (image.region !== undefined && !newKeys.has(`${image.platform}\u0000${image.region}`)) {
        dropped("no-dropped-region", image.pointer, `${arch} ${image.platform} region ${image.region}`);
      }
    }
  }
}

/** Every policy violation of `stream` (schema and canonical form are checked by the caller, who has the text). */
export function lintStream(stream: Stream, options: LintOptions = {}): Violation[] {
  const policy = options.policy ?? DEFAULT_POLICY;
  const out: Violation[] = [];
  const report = (v: Violation) => {
    if (!policy.disabled.includes(v.rule)) out.push(v);
  };
  checkStream(stream, policy, report);
  if (options.previous) checkAgainst(options.previous, stream, policy, report);
  return out;
}

export interface LintInput {
  /**
   * The new stream: its bytes or text, or the document already parsed from them; checked for
   * schema and canonical form too (the source text against the canonical text).
   */
  content: string | Uint8Array | ParsedDocument;
  previous?: Stream;
  policy?: Policy;
}

/** Schema, canonical form, then the policy rules: everything `bootstream lint` reports. */
export function lintContent(input: LintInput): Violation[] {
  const policy = input.policy ?? DEFAULT_POLICY;
  const { content } = input;
  let document: ParsedDocument<"stream">;
  if (typeof content === "string" || content instanceof Uint8Array) {
    const check = checkDocument(content, { kind: "stream" });
    if (check.issues.length > 0) {
      return enabled(policy, "schema")
        ? check.issues.map((i) => ({ pointer: i.pointer, rule: "schema" as const, message: i.message }))
        : [];
    }
    document = acceptDocument(check) as ParsedDocument<"stream">;
  } else if (content.kind !== "stream") {
    return enabled(policy, "schema")
      ? [{ pointer: "", rule: "schema", message: `expected a stream, found a ${content.kind} document` }]
      : [];
  } else {
    document = content;
  }
  return lintDocument(document, {
    policy,
    ...(input.previous ? { previous: input.previous } : {}),
  });
}

/** Canonical form, then the policy rules, of a stream parsed (and so validated) already. */
export function lintDocument(document: ParsedDocument<"stream">, options: LintOptions = {}): Violation[] {
  const policy = options.policy ?? DEFAULT_POLICY;
  const out: Violation[] = [];
  // The source text, as it was given, against the canonical text of the same value: a document
  // handed in as a value has no text to be out of form.
  if (enabled(policy, "canonical") && document.text !== undefined) {
    const difference = describeDifference(document.text, document.canonical);
    if (difference !== undefined) {
      out.push({
        pointer: "",
        rule: "canonical",
        message: `not in canonical form (${difference}); run bootstream fmt`,
      });
    }
  }
  out.push(
    ...lintStream(document.data, { policy, ...(options.previous ? { previous: options.previous } : {}) }),
  );
  return out;
}

function enabled(policy: Policy, rule: RuleId): boolean {
  return !policy.disabled.includes(rule);
}
