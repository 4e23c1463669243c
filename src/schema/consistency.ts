/**
 * Checks across fields that a schema cannot express (formats.md section 11), run once a
 * document matches its schema: a release's artifact URLs name its build and carry their
 * signature beside them; a release index lists each version once, pointing at its own
 * release.json.
 */
import { type Issue, toPointer } from "../errors.ts";
import type { Release } from "./release.ts";
import type { ReleaseIndex } from "./release-index.ts";

export function releaseConsistency(release: Release): Issue[] {
  const issues: Issue[] = [];
  for (const [arch, entry] of Object.entries(release.architectures)) {
    for (const [platform, media] of Object.entries(entry.media)) {
      for (const [format, files] of Object.entries(media.artifacts)) {
        for (const [slot, file] of Object.entries(files)) {
          if (file === undefined || typeof file !== "object") continue;
          const at = ["architectures", arch, "media", platform, "artifacts", format, slot];
          const { location, signature } = file as { location: string; signature?: string };
          if (!location.includes(`/${release.release}/`)) {
            issues.push({
              pointer: toPointer([...at, "location"]),
              message: `expected a URL under the build's directory (…/${release.release}/…), found ${JSON.stringify(location)}`,
            });
          }
          if (signature && signature !== `${location}.sig`) {
            issues.push({
              pointer: toPointer([...at, "signature"]),
              message: `expected the location followed by .sig, found ${JSON.stringify(signature)}`,
            });
          }
        }
      }
    }
  }
  return issues;
}

export function releaseIndexConsistency(index: ReleaseIndex): Issue[] {
  const issues: Issue[] = [];
  const seen = new Map<string, number>();
  index.releases.forEach((entry, i) => {
    const earlier = seen.get(entry.version);
    if (earlier !== undefined) {
      issues.push({
        pointer: toPointer(["releases", i, "version"]),
        message: `expected each version once, found ${entry.version} again (first at /releases/${earlier})`,
      });
    }
    seen.set(entry.version, i);
    if (!entry.metadata.endsWith(`/${entry.version}/release.json`)) {
      issues.push({
        pointer: toPointer(["releases", i, "metadata"]),
        message: `expected a URL ending in /${entry.version}/release.json, found ${JSON.stringify(entry.metadata)}`,
      });
    }
  });
  return issues;
}
