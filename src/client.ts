/**
 * `bootstream/client`: what an installer needs to fetch a stream it can trust. fetchStream
 * reads a stream (path, URL, bare name) and returns it only after its signature, freshness
 * and rollback checks pass (see source/trusted.ts); every failure is a BootstreamError.
 */
export { BootstreamError, type ErrorCode, isBootstreamError } from "./errors.ts";
export { readPublicKeys, type SignatureCheck, verifyDetached } from "./signature/index.ts";
export type { ReadSourceOptions } from "./source/read.ts";
export { defaultStateDir } from "./source/trust-state.ts";
export { type FetchedStream, fetchStream, type TrustOptions, type TrustVerdict } from "./source/trusted.ts";
export { parseDuration } from "./trust/freshness.ts";
