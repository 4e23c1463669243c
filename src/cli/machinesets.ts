/** `bootstream machinesets`: MachineSets against the boot images a stream (or the ConfigMap) wants. */

import { Command, Option } from "commander";
import { decodeUtf8Text } from "../canonical/parse.ts";
import { BootstreamError } from "../errors.ts";
import { streamFromConfigMap } from "../kube/configmap.ts";
import {
  checkMachineSets,
  isKubernetesName,
  type KubeObjects,
  MAX_DOCUMENTS,
  MAX_ITEMS,
  MAX_NODES,
  type MachineSetReport,
  ocPatchCommand,
  parseKubeObjects,
  resolveDefaultArch,
  rewriteObjects,
  streamAmis,
} from "../kube/machinesets/index.ts";
import type { Stream } from "../schema/stream.ts";
import { counted, printable } from "../schema/text.ts";
import { loadStream } from "../source/load.ts";
import { readSource } from "../source/read.ts";
import { type CliContext, type CommandKit, writeLine } from "./context.ts";
import {
  readLocalFile,
  sourceOptions,
  streamBaseUrlOption,
  streamSourceOptions,
  type TrustFlags,
  withTrustOptions,
} from "./options.ts";
import { emitDocument } from "./output.ts";
import { renderTable, toJsonText } from "./render.ts";

/** Even a large cluster's MachineSets and Secrets are well below this (the same cap as key files). */
const INPUT_MAX_BYTES = 4 * 1024 * 1024;

interface MachineSetsFlags extends TrustFlags {
  file: string;
  configmap?: string;
  previous?: string[];
  defaultArch: string;
  userDataSecrets?: string;
  check?: boolean;
  patch?: boolean;
  json?: boolean;
  output?: string;
  streamBaseUrl?: string;
}

/** A file named on the command line, or standard input for "-"; capped either way. */
async function readInput(ctx: CliContext, path: string, what: string): Promise<string> {
  const bytes =
    path === "-"
      ? (await readSource("-", { ...sourceOptions(ctx, {}), maxBytes: INPUT_MAX_BYTES })).bytes
      : await readLocalFile(path, what);
  // The BOM stays in the text: -o writes the input back byte for byte (the parser skips it).
  return decodeUtf8Text(bytes, path === "-" ? `${what} on stdin` : path);
}

async function streamFrom(
  ctx: CliContext,
  source: string | undefined,
  flags: MachineSetsFlags,
): Promise<{ name: string; stream: Stream }> {
  if (flags.configmap !== undefined) {
    const text = await readInput(ctx, flags.configmap, "ConfigMap");
    const configMap = streamFromConfigMap(text, flags.configmap);
    return {
      name: `${flags.configmap} (ConfigMap ${configMap.namespace}/${configMap.name})`,
      stream: configMap.stream,
    };
  }
  const { name, stream } = await loadStream(source as string, streamSourceOptions(ctx, flags));
  return { name, stream };
}

/** The trust flags a ConfigMap cannot satisfy: it carries the stream without its detached signature. */
const TRUST_FLAGS = {
  streamKey: "--stream-key",
  streamSignature: "--stream-signature",
  maxAge: "--max-age",
  stateDir: "--state-dir",
  allowRollback: "--allow-rollback",
} as const;

function refuseTrustWithConfigMap(flags: MachineSetsFlags): void {
  if (flags.configmap === undefined) return;
  const given = Object.entries(TRUST_FLAGS)
    .filter(([key]) => flags[key as keyof typeof TRUST_FLAGS] !== undefined)
    .map(([, flag]) => flag);
  if (given.length > 0)
    throw new BootstreamError(
      "USAGE",
      `${given.join(", ")} cannot check --configmap: a ConfigMap carries no detached signature (it holds the stream alone); verify the stream itself and give it as SOURCE instead`,
    );
}

/**
 * The AMIs of the --previous streams. They are read with SOURCE's keys and trust state but
 * not its --stream-signature (that is SOURCE's) nor a maximum age (an older stream is old).
 */
async function previousAmis(
  ctx: CliContext,
  sources: readonly string[],
  flags: MachineSetsFlags,
): Promise<Set<string> | undefined> {
  if (sources.length === 0) return undefined;
  const { streamSignature: _signature, maxAge: _maxAge, ...trust } = flags;
  const options = streamSourceOptions({ ...ctx, env: { ...ctx.env, BOOTSTREAM_MAX_AGE: undefined } }, trust);
  const streams: Stream[] = [];
  for (const source of sources) streams.push((await loadStream(source, options)).stream);
  return streamAmis(streams);
}

const USER_DATA_NOT_CHECKED =
  "stub Ignition user-data not checked for spec 2: give the Secrets too (oc get machinesets,secrets -n openshift-machine-api -o yaml) or --user-data-secrets FILE";

const cell = (value: string | undefined) => printable(value ?? "-");

function table(reports: readonly MachineSetReport[]): string {
  const rows = reports.map((r) => [
    cell(r.name),
    cell(r.platform),
    cell(r.arch),
    cell(r.current),
    cell(r.wanted),
    r.status,
    printable(r.reason),
  ]);
  const lines = [renderTable(["NAME", "PLATFORM", "ARCH", "CURRENT", "WANTED", "STATUS", "REASON"], rows)];
  const notes = reports.flatMap((r) => r.notes.map((n) => `  ${cell(r.name)}: ${printable(n)}`));
  if (notes.length > 0) lines.push("", "Notes:", ...notes);
  return lines.join("\n");
}

/** A shell script: one `oc patch` per stale MachineSet, with what it changes as comments. */
function patchScript(reports: readonly MachineSetReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    if (r.patch === undefined) continue;
    lines.push(`# ${cell(r.name)}: ${cell(r.current)} -> ${cell(r.wanted)}`);
    for (const note of r.notes) lines.push(`# note: ${printable(note)}`);
    if (isKubernetesName(r.name) && (r.namespace === "" || isKubernetesName(r.namespace)))
      lines.push(ocPatchCommand(r.name, r.namespace, r.patch));
    else lines.push("# not a valid Kubernetes name or namespace: no oc line");
  }
  return lines.join("\n");
}

function summary(reports: readonly MachineSetReport[]): string {
  const count = (status: string) => reports.filter((r) => r.status === status).length;
  return `${counted(reports.length, "MachineSet")}: ${count("current")} current, ${count("stale")} stale, ${count("unknown")} unknown, ${count("not-managed")} not managed`;
}

async function secretsFrom(
  ctx: CliContext,
  path: string | undefined,
): Promise<Record<string, unknown>[] | undefined> {
  if (path === undefined) return undefined;
  const parsed = parseKubeObjects(await readInput(ctx, path, "Secret file"), path);
  return parsed.objects.filter((o) => o.kind === "Secret").map((o) => o.value);
}

export function registerMachineSets(kit: CommandKit): Command {
  const { ctx } = kit;
  return withTrustOptions(
    new Command("machinesets")
      .description("check MachineSets' boot images against a stream; print merge patches or rewrite them")
      .argument("[source]", "stream file, -, URL or stream name (or --configmap)")
      .requiredOption(
        "-f, --file <file>",
        "MachineSets: `oc get machinesets -o yaml|json` output (a List, YAML documents or JSON), or -",
      )
      .option(
        "--configmap <file>",
        "take the stream from the coreos-bootimages ConfigMap (YAML or JSON) instead of SOURCE (no trust flags: it carries no signature)",
      )
      .option(
        "--previous <source>",
        "an older stream (repeatable): its AWS AMIs count as RHCOS boot images to replace; any other AMI is a custom one, left alone",
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .option(
        "--default-arch <arch>",
        "architecture of MachineSets without the autoscaler's kubernetes.io/arch label: amd64, arm64, ppc64le, s390x, their RPM names x86_64, aarch64, or one of the stream's",
        "x86_64",
      )
      .option(
        "--user-data-secrets <file>",
        "Secrets holding the stub Ignition configs (Secrets in -f are read too)",
      )
      .option("--check", "exit 1 if any MachineSet is stale")
      .option("--patch", "print an `oc patch` line with a JSON merge patch for each stale MachineSet")
      .option("--json", "print the findings as JSON")
      .addOption(
        new Option(
          "-o, --output <file>",
          "write the MachineSets with only the image fields changed (atomically; - for stdout)",
        ),
      )
      .addOption(streamBaseUrlOption())
      .addHelpText(
        "after",
        `
The input is read as YAML 1.1, as oc and kubectl read it: yes/no/on/off are booleans, 0777
is octal, << merges. Each MachineSet's platform comes from its providerSpec kind, its
architecture from the annotation capacity.cluster-autoscaler.kubernetes.io/labels
(kubernetes.io/arch=amd64|arm64|...), else --default-arch. AWS compares ami.id with the
stream's AMI for placement.region; GCP the boot disks' image with
projects/<project>/global/images/<name>; Azure the image with the stream's marketplace image
(Hyper-V generation and plan kept). Other platforms are "not-managed".
STATUS is current, stale, unknown (cannot tell: region or arch not in the stream, an AMI given by
filters, a custom image) or not-managed. The operator replaces only AMIs the installer has
shipped: give the older streams with --previous and an AMI of none of them is unknown (a custom
AMI); without --previous any other AMI counts as stale. A stub Ignition config still at spec 2
(Secrets given in -f or --user-data-secrets) is flagged, never converted.
--configmap takes no --stream-key, --stream-signature, --max-age, --state-dir or
--allow-rollback: a ConfigMap carries no detached signature, so verify the stream and give it as
SOURCE instead. --previous streams are checked with the same keys (not --stream-signature or
--max-age, which are SOURCE's). Input over ${MAX_DOCUMENTS} documents, ${MAX_ITEMS} List items or
${MAX_NODES} nodes is refused (TOO_LARGE). -o rewrites only image values; a comment inside a
field it must write whole makes it refuse, writing nothing.

Exit status: 0 done, 1 --check found stale MachineSets (or a document is invalid), 2 usage or I/O.

Examples:
  oc get machinesets -n openshift-machine-api -o yaml | bootstream machinesets rhcos-4.16.json -f -
  bootstream machinesets rhcos-4.16.json -f machinesets.yaml --check
  bootstream machinesets rhcos-4.16.json --previous rhcos-4.12.json --previous rhcos-4.14.json -f ms.yaml
  bootstream machinesets rhcos-4.16.json -f machinesets.yaml --patch > update-boot-images.sh
  oc get machinesets,secrets -n openshift-machine-api -o yaml > ms.yaml
  bootstream machinesets --configmap coreos-bootimages.yaml -f ms.yaml -o ms-updated.yaml`,
      ),
  ).action((source: string | undefined, flags: MachineSetsFlags) =>
    kit.run(flags.json, async () => {
      if ((source === undefined) === (flags.configmap === undefined))
        throw new BootstreamError("USAGE", "give a stream SOURCE or --configmap FILE (one of them)");
      const previous = flags.previous ?? [];
      const stdinUsers = [flags.file, flags.configmap, flags.userDataSecrets, source, ...previous].filter(
        (s) => s === "-",
      );
      if (stdinUsers.length > 1)
        throw new BootstreamError("USAGE", "only one input can be standard input (-)");
      if (flags.json && flags.output === "-")
        throw new BootstreamError("USAGE", "--json and -o - both write to standard output: choose one");
      refuseTrustWithConfigMap(flags);
      const { name, stream } = await streamFrom(ctx, source, flags);
      const defaultArch = resolveDefaultArch(flags.defaultArch, stream);
      const knownAmis = await previousAmis(ctx, previous, flags);
      const objects: KubeObjects = parseKubeObjects(
        await readInput(ctx, flags.file, "MachineSet file"),
        flags.file,
      );
      const secrets = await secretsFrom(ctx, flags.userDataSecrets);
      const result = checkMachineSets(objects, stream, {
        defaultArch,
        ...(secrets === undefined ? {} : { secrets }),
        ...(knownAmis === undefined ? {} : { knownAmis }),
      });
      const { reports } = result;
      // Rewritten before anything is printed: a refused rewrite prints its error alone
      // (with --json, one JSON document on stdout, not the findings followed by the error).
      const rewritten =
        flags.output === undefined ? undefined : rewriteObjects(objects, result.edits, flags.file);
      if (result.ignoredKinds.length > 0)
        writeLine(
          ctx.stderr,
          `${printable(flags.file)}: ignored objects of kind ${result.ignoredKinds.map(printable).join(", ")}`,
        );
      if (reports.length === 0) writeLine(ctx.stderr, `${printable(flags.file)}: no MachineSets found`);
      const userDataNote = reports.length > 0 && !result.userDataChecked ? USER_DATA_NOT_CHECKED : undefined;
      const toStdout = flags.output === undefined || flags.output !== "-";
      const out = toStdout ? ctx.stdout : ctx.stderr;
      if (flags.json) {
        const data = reports.map((r) =>
          r.patch !== undefined &&
          isKubernetesName(r.name) &&
          (r.namespace === "" || isKubernetesName(r.namespace))
            ? { ...r, command: ocPatchCommand(r.name, r.namespace, r.patch) }
            : r,
        );
        out.write(
          toJsonText({
            stream: name,
            machineSets: data,
            userDataChecked: result.userDataChecked,
            ...(userDataNote === undefined ? {} : { userDataNote }),
          }),
        );
      } else if (flags.patch) {
        const script = patchScript(reports);
        if (script !== "") writeLine(out, script);
      } else if (reports.length > 0) {
        writeLine(out, table(reports));
      }
      if (rewritten !== undefined) await emitDocument(ctx, rewritten, flags.output);
      if (userDataNote !== undefined && !flags.json) writeLine(ctx.stderr, userDataNote);
      writeLine(ctx.stderr, `${printable(name)}: ${summary(reports)}`);
      return flags.check && reports.some((r) => r.status === "stale") ? 1 : 0;
    }),
  );
}
