/**
 * The shipped deployment examples parse, hang together, and match the real server: every flag
 * they pass is one `bootstream serve --help` lists, the server starts with exactly those flags
 * (local paths and a free port swapped in), and the probe paths they name answer 200.
 * examples/kubernetes/*.yaml with the yaml package, examples/bootstream.service as INI plus
 * `systemd-analyze verify`, examples/nginx-cache.conf with `nginx -t`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { publishStream } from "../src/publish/publish.ts";
import { FsStore } from "../src/storage/index.ts";
import { BIN, type RunningBootstream, spawnBootstream, startBootstream } from "./helpers/cli.ts";
import { fixtureText, tempDir } from "./helpers/fixtures.ts";
import { nginxConfigTest, writeMainConf } from "./helpers/nginx.ts";

const EXAMPLES = fileURLToPath(new URL("../examples/", import.meta.url));
const K8S = join(EXAMPLES, "kubernetes");

/** Temp directories of this file, removed when it is done. */
const scratchDirs: string[] = [];
function scratch(prefix?: string): string {
  const dir = tempDir(prefix);
  scratchDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML, checked field by field.
type Manifest = Record<string, any>;

/** Every document of every examples/kubernetes/*.yaml, failing on any YAML error. */
function loadManifests(): Manifest[] {
  const manifests: Manifest[] = [];
  for (const file of readdirSync(K8S).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(readFileSync(join(K8S, file), "utf8"))) {
      assert.deepEqual(doc.errors, [], `${file}: ${doc.errors.join("; ")}`);
      const value = doc.toJS() as Manifest | null;
      if (value !== null) manifests.push({ ...value, __file: file });
    }
  }
  return manifests;
}

function only(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata?.name === name));
  assert.equal(found.length, 1, `exactly one ${kind}${name ? ` ${name}` : ""} in examples/kubernetes`);
  return found[0] as Manifest;
}

/** The value after `flag` in an argument list (which must hold it exactly once). */
function flagValue(args: readonly string[], flag: string): string {
  const at = args.indexOf(flag);
  assert.ok(at >= 0 && args.indexOf(flag, at + 1) === -1, `${flag} given once in ${args.join(" ")}`);
  const value = args[at + 1];
  assert.ok(value !== undefined && !value.startsWith("--"), `${flag} has a value`);
  return value;
}

/** `args` with the values of the given flags replaced (each flag must be present). */
function withValues(args: readonly string[], values: Record<string, string>): string[] {
  const out = [...args];
  for (const [flag, value] of Object.entries(values)) {
    flagValue(args, flag);
    out[out.indexOf(flag) + 1] = value;
  }
  return out;
}

const flagsIn = (args: readonly string[]) =>
  args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0] as string);

/** Long options listed in the Options section of `bootstream serve --help`. */
async function serveHelpFlags(): Promise<Set<string>> {
  const help = await spawnBootstream(["serve", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  const options = help.stdout.split(/^Options:$/m)[1]?.split(/^\S/m)[0] ?? "";
  const flags = new Set(
    [...options.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1] as string),
  );
  assert.ok(flags.has("--store") && flags.has("--port"), `help text parsed: ${[...flags].join(" ")}`);
  return flags;
}

/** A directory store with one published stream, for servers started from the examples. */
async function publishedStore(): Promise<string> {
  const root = join(scratch("bootstream-examples-"), "store");
  mkdirSync(root);
  await publishStream(new FsStore(root), fixtureText("fcos-stable-stream.json"));
  return root;
}

/** A serve process started from an example's args; resolves with its URL. */
async function startFromArgs(args: string[], procs: RunningBootstream[]): Promise<string> {
  const proc = startBootstream(args);
  procs.push(proc);
  return proc.waitFor(/http:\/\/127\.0\.0\.1:\d+/, 20_000, "stdout");
}

async function assertProbe(url: string, path: string): Promise<void> {
  const res = await fetch(`${url}${path}`);
  const body = await res.text();
  assert.equal(res.status, 200, `${path}: ${body}`);
  assert.equal((JSON.parse(body) as { status?: string }).status, "ok", `${path}: ${body}`);
}

/** A systemd unit as sections of key → values (a key may repeat); `\` continues a line. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, " ").split("\n");
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = new Map();
      sections.set(header[1] as string, section);
      return;
    }
    const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    assert.ok(m && section, `line ${i + 1} is key=value inside a section: ${raw}`);
    const values = section.get(m[1] as string) ?? [];
    values.push((m[2] as string).trim());
    section.set(m[1] as string, values);
  });
  return sections;
}

/** How a unit writes an environment variable systemd expands in ExecStart: `${NAME}`. */
const unitVar = (name: string) => `$\{${name}}`;

/** systemd time span ("20s", "1min 30s", "20") in seconds. */
function seconds(span: string): number {
  const units: Record<string, number> = { "": 1, s: 1, sec: 1, m: 60, min: 60, h: 3600 };
  let total = 0;
  for (const m of span.matchAll(/(\d+)\s*([a-z]*)/g)) {
    const unit = units[m[2] as string];
    assert.ok(unit !== undefined, `time unit in ${span}`);
    total += Number(m[1]) * unit;
  }
  return total;
}

describe("examples/kubernetes", () => {
  const manifests = loadManifests();
  const deployment = only(manifests, "Deployment");
  const service = only(manifests, "Service");
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const args: string[] = container.args;
  const procs: RunningBootstream[] = [];
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.done));
  });

  /** A container port by name or number, as probes and Services refer to it. */
  const containerPort = (ref: string | number): number => {
    const port = container.ports.find((p: Manifest) => p.name === ref || p.containerPort === ref);
    assert.ok(port, `container port ${ref} declared`);
    return port.containerPort;
  };

  it("runs three replicas with liveness on /livez and readiness on /readyz at the serving port", () => {
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(pod.containers.length, 1);
    const podLabels = deployment.spec.template.metadata.labels;
    assert.deepEqual(
      podLabels,
      { ...podLabels, ...deployment.spec.selector.matchLabels },
      "selector matches the pods",
    );
    assert.equal(container.livenessProbe.httpGet.path, "/livez");
    assert.equal(container.readinessProbe.httpGet.path, "/readyz");
    const port = Number(flagValue(args, "--port"));
    assert.equal(containerPort(container.livenessProbe.httpGet.port), port);
    assert.equal(containerPort(container.readinessProbe.httpGet.port), port);
    assert.equal(flagValue(args, "--host"), "0.0.0.0", "reachable from the kubelet and the Service");
    assert.ok(
      deployment.spec.template.spec.terminationGracePeriodSeconds > 11,
      "longer than serve's 11 s drain",
    );
  });

  it("routes the Service to the container port serve listens on", () => {
    assert.deepEqual(service.spec.selector, deployment.spec.template.metadata.labels);
    assert.equal(service.spec.ports.length, 1);
    assert.equal(containerPort(service.spec.ports[0].targetPort), Number(flagValue(args, "--port")));
  });

  it("runs non-root on a read-only root file system, with limits and the cache on an emptyDir", () => {
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory);
    assert.ok(container.resources.limits.memory);
    const mount = container.volumeMounts.find(
      (m: Manifest) => m.mountPath === flagValue(args, "--cache-dir"),
    );
    assert.ok(mount, "--cache-dir is a mounted volume (the root file system is read-only)");
    const volume = pod.volumes.find((v: Manifest) => v.name === mount.name);
    assert.ok(volume?.emptyDir, "the cache is an emptyDir");
  });

  it("takes S3 credentials from a Secret and mounts the publish token Secret for --token-file", () => {
    const secretKey = (name: string) => {
      const ref = container.env.find((e: Manifest) => e.name === name)?.valueFrom?.secretKeyRef;
      assert.ok(ref, `${name} comes from a Secret`);
      const secret = only(manifests, "Secret", ref.name);
      assert.ok(ref.key in secret.stringData, `Secret ${ref.name} has key ${ref.key}`);
      return secret.stringData[ref.key] as string;
    };
    assert.match(secretKey("AWS_ACCESS_KEY_ID"), /REPLACE/);
    assert.match(secretKey("AWS_SECRET_ACCESS_KEY"), /REPLACE/);
    assert.match(secretKey("AWS_ENDPOINT_URL"), /^https?:\/\//);
    assert.match(flagValue(args, "--store"), /^s3:\/\//);
    const tokenFile = flagValue(args, "--token-file");
    const mount = container.volumeMounts.find((m: Manifest) => tokenFile.startsWith(`${m.mountPath}/`));
    assert.ok(mount?.readOnly, "--token-file lies in a read-only mount");
    const volume = pod.volumes.find((v: Manifest) => v.name === mount.name);
    const item = volume.secret.items.find((i: Manifest) => `${mount.mountPath}/${i.path}` === tokenFile);
    assert.ok(item, "--token-file is an item of the mounted Secret");
    const tokens = only(manifests, "Secret", volume.secret.secretName).stringData[item.key];
    assert.match(tokens, /REPLACE/, "a placeholder, clearly");
  });

  it("uses only flags serve accepts, and serve started with them answers both probes", async () => {
    const known = await serveHelpFlags();
    for (const flag of flagsIn(args)) assert.ok(known.has(flag), `${flag} is a serve option`);
    assert.equal(container.command?.[0] ?? "bootstream", "bootstream");
    assert.equal(args[0], "serve");
    const tokens = only(manifests, "Secret", "bootstream-publish-token").stringData.tokens as string;
    const tokenFile = join(scratch(), "tokens");
    writeFileSync(tokenFile, tokens);
    // The Deployment's own arguments, with local stand-ins for the store, paths and address:
    // any flag serve refused would stop it before it printed its URL.
    const local = withValues(args.slice(1), {
      "--host": "127.0.0.1",
      "--port": "0",
      "--store": await publishedStore(),
      "--cache-dir": scratch(),
      "--token-file": tokenFile,
    });
    const url = await startFromArgs(["serve", ...local], procs);
    await assertProbe(url, container.livenessProbe.httpGet.path);
    await assertProbe(url, container.readinessProbe.httpGet.path);
  });
});

describe("examples/bootstream.service", () => {
  const unitText = readFileSync(join(EXAMPLES, "bootstream.service"), "utf8");
  const unit = parseUnit(unitText);
  const service = unit.get("Service") ?? new Map<string, string[]>();
  const one = (key: string): string => {
    const values = service.get(key);
    assert.ok(values?.length === 1, `[Service] ${key} set once (got ${values?.join(" | ") ?? "none"})`);
    return values[0] as string;
  };
  const execStart = one("ExecStart").split(/\s+/);
  const procs: RunningBootstream[] = [];
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.done));
  });

  it("is hardened: dynamic user, read-only system, no capabilities, filtered system calls", () => {
    assert.deepEqual([...unit.keys()].sort(), ["Install", "Service", "Unit"]);
    const expected: Record<string, string> = {
      DynamicUser: "yes",
      ProtectSystem: "strict",
      ProtectHome: "yes",
      PrivateTmp: "yes",
      PrivateDevices: "yes",
      NoNewPrivileges: "yes",
      CapabilityBoundingSet: "",
      RestrictAddressFamilies: "AF_INET AF_INET6 AF_UNIX",
      SystemCallFilter: "@system-service",
      Restart: "on-failure",
      KillSignal: "SIGTERM",
    };
    for (const [key, value] of Object.entries(expected)) assert.equal(one(key), value, key);
    // V8's JIT needs writable+executable memory: node aborts under MemoryDenyWriteExecute=yes.
    assert.equal(service.get("MemoryDenyWriteExecute"), undefined);
    assert.match(unitText, /MemoryDenyWriteExecute.*NOT set/);
    assert.ok(seconds(one("TimeoutStopSec")) > 11, "longer than serve's 11 s drain");
  });

  it("passes the cache directory, the token credential and the S3 settings to serve", () => {
    assert.match(execStart[0] as string, /\/bootstream$/);
    assert.equal(execStart[1], "serve");
    assert.equal(flagValue(execStart, "--host"), "0.0.0.0");
    assert.equal(flagValue(execStart, "--port"), "8080");
    assert.match(flagValue(execStart, "--store"), /^s3:\/\//);
    assert.ok(one("CacheDirectory"));
    assert.equal(flagValue(execStart, "--cache-dir"), unitVar("CACHE_DIRECTORY"));
    const [credential, source] = one("LoadCredential").split(":");
    assert.ok(source?.startsWith("/"), "LoadCredential=NAME:/absolute/path");
    assert.equal(flagValue(execStart, "--token-file"), `\${CREDENTIALS_DIRECTORY}/${credential}`);
    assert.ok(one("EnvironmentFile").startsWith("/"), "S3 keys from a root-only EnvironmentFile");
  });

  it("uses only flags serve accepts, and serve started with them answers /livez and /readyz", async () => {
    const known = await serveHelpFlags();
    for (const flag of flagsIn(execStart)) assert.ok(known.has(flag), `${flag} is a serve option`);
    const credentials = scratch();
    writeFileSync(join(credentials, "tokens"), "a-publish-token\n");
    const cacheDir = scratch();
    // What systemd would expand, pointing at local stand-ins.
    const expanded = execStart
      .slice(1)
      .map((a) =>
        a
          .replace(unitVar("CACHE_DIRECTORY"), cacheDir)
          .replace(unitVar("CREDENTIALS_DIRECTORY"), credentials),
      );
    const local = withValues(expanded, {
      "--host": "127.0.0.1",
      "--port": "0",
      "--store": await publishedStore(),
    });
    const url = await startFromArgs(local, procs);
    await assertProbe(url, "/livez");
    await assertProbe(url, "/readyz");
  });

  it("passes systemd-analyze verify without a warning", () => {
    const which = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
    assert.equal(
      which.error,
      undefined,
      "systemd-analyze is missing: apt-get install systemd (scripts/tools-up.sh installs it)",
    );
    // verify checks that ExecStart's binary exists: point it at this checkout's executable.
    const dir = scratch();
    const copy = join(dir, "bootstream.service");
    writeFileSync(copy, unitText.replace(/^ExecStart=\S+/m, `ExecStart=${BIN}`));
    const run = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    assert.equal(`${run.stdout}${run.stderr}`.trim(), "", "no unknown keys or bad values");
  });
});

describe("examples/nginx-cache.conf", () => {
  const text = readFileSync(join(EXAMPLES, "nginx-cache.conf"), "utf8");
  const directives = text
    .split("\n")
    .map((l) => l.replace(/#.*$/, "").trim())
    .filter((l) => l !== "");
  let prefix: string;
  before(() => {
    prefix = scratch("bootstream-nginx-t-");
  });

  it("passes nginx -t with its placeholders filled in", () => {
    const conf = writeMainConf(prefix, {
      LISTEN: "127.0.0.1:8080",
      ORIGIN_1: "127.0.0.1:8081",
      ORIGIN_2: "127.0.0.1:8082",
      CACHE_DIR: join(prefix, "cache"),
    });
    assert.match(nginxConfigTest(prefix, conf), /test is successful/);
  });

  it("lets the origin's Cache-Control decide, revalidates, serves stale on errors, hides /metrics", () => {
    const has = (re: RegExp) => directives.some((d) => re.test(d));
    assert.ok(!has(/^proxy_ignore_headers\b/), "Cache-Control, Expires and Vary are honoured");
    assert.ok(!has(/^proxy_cache_valid\b/), "no cache lifetimes of nginx's own");
    assert.ok(has(/^proxy_cache_revalidate on;$/));
    assert.ok(has(/^proxy_cache_use_stale error timeout http_500 http_502 http_503 http_504;$/));
    assert.ok(has(/^proxy_cache_background_update on;$/));
    assert.ok(has(/^proxy_cache_lock on;$/));
    assert.ok(has(/^proxy_request_buffering off;$/), "publish bodies stream to the origin");
    assert.ok(has(/^add_header X-Cache-Status \$upstream_cache_status always;$/));
    assert.equal(directives.filter((d) => /^server @ORIGIN_\d@ /.test(d)).length, 2);
    const metrics = directives.indexOf("location = /metrics {");
    assert.ok(metrics >= 0 && directives[metrics + 1] === "deny all;", "/metrics is not served");
  });
});
