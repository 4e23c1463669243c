/**
 * Adds a release to a stream's release index (releases.json), as `plume
 * update-release-index` does (formats.md section 7): entries oldest first, newest last;
 * adding what is already there changes nothing; a version already listed may only be
 * extended (more arches), never pointed elsewhere.
 */
import { isDeepEqual } from "../canonical/equal.ts";
import { BootstreamError, toPointer } from "../errors.ts";
import { compareVersions } from "../query/versions.ts";
import { HTTP_URL_EXPECTATION, isHttpUrl } from "../schema/common.ts";
import { isStreamName, STREAM_NAME_EXPECTATION } from "../schema/names.ts";
import type { Release } from "../schema/release.ts";
import type { IndexRelease, ReleaseIndex } from "../schema/release-index.ts";
import { quoted } from "../schema/text.ts";

/** The fixed sentence plume writes into every index. */
export const INDEX_NOTE =
  "For use only by Fedora CoreOS internal tooling.  All other applications should obtain release info from stream metadata endpoints.";

export interface AddToIndexOptions {
  stream: string;
  /** RFC 3339 time stamped when the index changes. */
  lastModified: string;
  /** Where release.json files live: `<base>/<stream>/builds/<version>/release.json`. Default: from the artifact URLs. */
  baseUrl?: string;
  /** Allow adding a version older than the newest entry. */
  allowOlder?: boolean;
}

/** `<base>/<stream>/builds/<version>/release.json`, derived from an artifact URL of the release. */
export function releaseMetadataUrl(release: Release, baseUrl?: string): string {
  if (baseUrl !== undefined)
    return `${baseUrl.replace(/\/+$/, "")}/${release.stream}/builds/${release.release}/release.json`;
  const marker = `/builds/${release.release}/`;
  for (const arch of Object.values(release.architectures)) {
    for (const media of Object.values(arch.media)) {
      for (const format of Object.values(media.artifacts)) {
        for (const file of Object.values(format)) {
          const location = (file as { location?: unknown } | undefined)?.location;
          if (typeof location === "string" && location.includes(marker)) {
            return `${location.slice(0, location.indexOf(marker) + marker.length)}release.json`;
          }
        }
      }
    }
  }
  throw new BootstreamError(
    "USAGE",
    `cannot derive the release.json URL of ${release.release} from its artifacts; pass --base-url`,
  );
}

export function indexEntry(release: Release, baseUrl?: string): IndexRelease {
  const arches = Object.keys(release.architectures).sort();
  const commits = arches.flatMap((architecture) => {
    const checksum = release.architectures[architecture]?.commit;
    return checksum ? [{ architecture, checksum }] : [];
  });
  const images = arches.flatMap((architecture) => {
    const oci = release.architectures[architecture]?.["oci-image"];
    return oci ? [{ image: oci.image, "digest-ref": oci["digest-ref"], architecture }] : [];
  });
  return {
    ...(commits.length > 0 ? { commits } : {}),
    ...(images.length > 0 ? { "oci-images": images } : {}),
    version: release.release,
    metadata: releaseMetadataUrl(release, baseUrl),
  };
}

function keyed<T extends { architecture: string }>(list: readonly T[] | undefined): Map<string, T> {
  return new Map((list ?? []).map((item) => [item.architecture, item]));
}

/** True when every commit and image of `old` is in `next` unchanged. */
function extends_(old: IndexRelease, next: IndexRelease): boolean {
  if (old.metadata !== next.metadata) return false;
  for (const [list, newList] of [
    [old.commits, next.commits],
    [old["oci-images"], next["oci-images"]],
  ] as const) {
    const have = keyed<{ architecture: string }>(newList);
    for (const item of list ?? []) if (!isDeepEqual(have.get(item.architecture), item)) return false;
  }
  return true;
}

export function addToIndex(
  existing: ReleaseIndex | undefined,
  release: Release,
  options: AddToIndexOptions,
): ReleaseIndex {
  if (!isStreamName(options.stream)) {
    throw new BootstreamError(
      "USAGE",
      `stream name: expected ${STREAM_NAME_EXPECTATION}, found ${quoted(options.stream)}`,
    );
  }
  if (options.baseUrl !== undefined && !isHttpUrl(options.baseUrl)) {
    throw new BootstreamError(
      "USAGE",
      `base URL: expected ${HTTP_URL_EXPECTATION}, found ${quoted(options.baseUrl)}`,
    );
  }
  if (release.stream !== options.stream) {
    throw new BootstreamError(
      "USAGE",
      `release ${release.release} is for stream ${release.stream}, not ${options.stream}`,
    );
  }
  if (existing !== undefined && existing.stream !== options.stream) {
    throw new BootstreamError(
      "USAGE",
      `the existing index is for stream ${existing.stream}, not ${options.stream}`,
    );
  }
  const entry = indexEntry(release, options.baseUrl);
  const releases = [...(existing?.releases ?? [])];
  const at = releases.findIndex((r) => r.version === entry.version);
  if (at !== -1) {
    const old = releases[at] as IndexRelease;
    if (isDeepEqual(old, entry) && existing !== undefined) return existing;
    if (at !== releases.length - 1) {
      throw new BootstreamError(
        "CONFLICT",
        `${entry.version} is already in the index and is not the newest entry; refusing to change it`,
        {
          path: toPointer(["releases", at]),
        },
      );
    }
    if (!extends_(old, entry)) {
      throw new BootstreamError(
        "CONFLICT",
        `${entry.version} is already in the index with different content (metadata ${old.metadata}); refusing to point it elsewhere`,
        { path: toPointer(["releases", at]) },
      );
    }
    releases[at] = entry;
  } else {
    const newest = releases.at(-1);
    if (newest !== undefined && !options.allowOlder && compareVersions(entry.version, newest.version) < 0) {
      throw new BootstreamError(
        "CONFLICT",
        `${entry.version} is older than the newest entry ${newest.version}; the index lists newest last`,
        {
          path: toPointer(["releases", releases.length - 1]),
        },
      );
    }
    releases.push(entry);
  }
  return {
    note: INDEX_NOTE,
    releases,
    metadata: { "last-modified": options.lastModified },
    stream: options.stream,
  };
}
