/**
 * bootstream's library API: the pure core (parse, query, canonical output), no I/O. The
 * client that fetches and verifies streams is `bootstream/client` (src/client.ts), so users
 * of the core do not load OpenPGP and the network stack.
 */
export { ANY, compareKeys, type Layout, layoutOf, PRESERVE } from "./canonical/layout.ts";
export {
  decodeUtf8,
  type JsonValue,
  type Lexemes,
  numberSourceText,
  parseJson,
  parseJsonText,
} from "./canonical/parse.ts";
export { detectIndent, goQuote, writeCanonical } from "./canonical/write.ts";
export {
  type ConvertLegacyOptions,
  convertLegacyInstaller,
  convertLegacyInstallerText,
  type LegacyConversion,
  legacyArtifactUrl,
  RHCOS_GCP_PROJECT,
  type UnmappedField,
} from "./convert/legacy.ts";
export {
  BootstreamError,
  ERROR_CODES,
  type ErrorCode,
  type Issue,
  isBootstreamError,
  parsePointer,
  toPointer,
} from "./errors.ts";
export {
  type ConfigMapOptions,
  type ConfigMapStream,
  type ParsedConfigMap,
  parseStreamConfigMap,
  streamConfigMap,
  streamFromConfigMap,
} from "./kube/configmap.ts";
export {
  checkMachineSets,
  isKubernetesName,
  type KubeFormat,
  type KubeObject,
  type KubeObjects,
  type MachineSetCheck,
  type MachineSetCheckOptions,
  type MachineSetReport,
  type MachineSetStatus,
  mergeDiff,
  type ObjectEdit,
  ocPatchCommand,
  parseKubeObjects,
  resolveDefaultArch,
  rewriteObjects,
  streamAmis,
} from "./kube/machinesets/index.ts";
export {
  ARTIFACT_KINDS,
  type ArtifactKind,
  type ArtifactQuery,
  type ArtifactRef,
  type CloudImage,
  findArtifacts,
  findImage,
  getArchitecture,
  type ImageQuery,
  isRegionalPlatform,
  listArtifacts,
  listImages,
} from "./query/index.ts";
export { findMarketplaceImage, listMarketplaceImages, type MarketplaceImage } from "./query/marketplace.ts";
export {
  checkDocTables,
  type DocCheckOptions,
  type DocFormat,
  type DocTable,
  type DocUpdate,
  findDocTables,
  findingMessage,
  type RenderedTable,
  type RenderFinding,
  type RenderFormat,
  type RenderWhat,
  renderTables,
  selectDocTables,
  streamTables,
  type TableKind,
  type TableSelection,
  type TablesJson,
  tablesJson,
  updateDocTables,
} from "./render/index.ts";
export type { BuildArtifact, BuildMeta } from "./schema/build-meta.ts";
export {
  DOCUMENT_KINDS,
  type DocumentKind,
  detectKind,
  KINDS,
  validateValue,
} from "./schema/documents.ts";
export {
  type AnyDocument,
  type Canonicalizable,
  type CanonicalOptions,
  type CheckResult,
  canonicalize,
  checkDocument,
  type DocumentInput,
  type ParsedDocument,
  type ParseOptions,
  parseBuildMeta,
  parseDocument,
  parseDocumentAs,
  parseRelease,
  parseReleaseIndex,
  parseStream,
  parseUpdates,
  toCanonicalJSON,
} from "./schema/parse.ts";
export type { Release, ReleaseArch, ReleaseArtifact, ReleaseMedia } from "./schema/release.ts";
export type { IndexRelease, ReleaseIndex } from "./schema/release-index.ts";
export type {
  ContainerImage,
  GcpImage,
  ImageFormat,
  PlatformArtifacts,
  RegionImage,
  RegionObject,
  Stream,
  StreamArch,
  StreamArtifact,
  StreamExtensions,
  StreamImages,
} from "./schema/stream.ts";
export type { Updates, UpdatesRelease } from "./schema/updates.ts";
export { parseDuration } from "./trust/freshness.ts";
export { checkMirrorRewrite, mirrorRewriteIssues } from "./trust/mirror-rewrite.ts";
export { VERSION } from "./version.ts";
