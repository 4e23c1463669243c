/**
 * What an RHCOS build id says about itself. RHCOS 4.x ids are `<4><minor>.<rhel>.<stamp>-<n>`
 * (`45.82.202008010929-0`, `47.84.202206131039-0`; before 4.5 `.<n>`: `43.81.202003111353.0`),
 * where `<stamp>` is the UTC build time YYYYMMDDHHMM (older 4.2 ids carry only a date,
 * `43.80.20191002.1`). OCP 4.1 used `410.8.<date>.<n>`. FCOS ids (`30.20191014.0`) tell
 * neither a stream nor a time.
 */
import { isRfc3339 } from "../schema/common.ts";

const RHCOS_BUILD_ID = /^(4\d|410)\.(\d{1,2})\.(\d{8}|\d{12})[.-]\d+$/;

/** The OCP minor version an RHCOS build id belongs to, e.g. "4.7"; undefined for other ids. */
function ocpVersion(buildid: string): string | undefined {
  const m = RHCOS_BUILD_ID.exec(buildid);
  if (m === null) return undefined;
  const [, major, rhel] = m as unknown as [string, string, string];
  // 410.8.x is 4.1 (RHEL 8.0); 410.84.x would be 4.10, which never shipped this format.
  if (major === "410") return rhel === "8" || rhel === "81" ? "4.1" : undefined;
  return `4.${major.slice(1)}`;
}

export function isRhcosBuildId(buildid: string): boolean {
  return ocpVersion(buildid) !== undefined;
}

/** The stream an RHCOS build belongs to, as RHCOS names them (`rhcos-4.7`); undefined otherwise. */
export function rhcosStreamName(buildid: string): string | undefined {
  const version = ocpVersion(buildid);
  return version === undefined ? undefined : `rhcos-${version}`;
}

/** The build time of an RHCOS build id with a YYYYMMDDHHMM stamp, as RFC 3339 UTC; else undefined. */
export function buildIdTimestamp(buildid: string): string | undefined {
  if (ocpVersion(buildid) === undefined) return undefined;
  const stamp = RHCOS_BUILD_ID.exec(buildid)?.[3];
  if (stamp === undefined || stamp.length !== 12) return undefined;
  const time = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(8, 10)}:${stamp.slice(10, 12)}:00Z`;
  return isRfc3339(time) ? time : undefined;
}
