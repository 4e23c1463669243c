/**
 * A private single-node Ceph RGW cluster (scripts/s3-up.sh) for benches and fault tests, on
 * its own ports and state dir so pausing or killing its radosgw never touches the shared
 * one other tests use. Stop it with `stop()` in a finally: it holds ~1 GB of RAM.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

export interface CephCluster {
  /** State dir of s3-up.sh (ceph.conf, *.pid, log/). */
  dir: string;
  endpoint: string;
  /** AWS_* variables for child processes that talk to this cluster. */
  env: Record<string, string>;
  /** Creates a bucket and returns `s3://bucket/prefix`. */
  freshStore(prefix?: string): Promise<string>;
  /**
   * `s3://<one bucket for the cluster's life>/<prefix>`. After radosgw is killed and restarted,
   * creating a bucket stalls ~30 s (its metadata notify waits for the dead instance's watches to
   * time out), while object reads and writes do not: fault scenarios use prefixes, not buckets.
   */
  storeAt(prefix: string): Promise<string>;
  /** The bytes of `key` under an `s3://bucket/prefix` store, read straight from RGW; undefined if absent. */
  getObject(store: string, key: string): Promise<Buffer | undefined>;
  /** SIGSTOP radosgw: requests hang, as with an overloaded or partitioned store. */
  pauseRgw(): void;
  resumeRgw(): void;
  /** SIGKILL radosgw: connections are refused at once. The data stays in the OSD. */
  killRgw(): Promise<void>;
  /** Starts radosgw again on the same state (same objects) and waits until it answers. */
  restartRgw(): Promise<void>;
  stop(): Promise<void>;
}

/** A port the kernel just handed out and nobody holds (racy, but s3-up.sh re-checks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

export async function startCephCluster(): Promise<CephCluster> {
  const parent = mkdtempSync(join(tmpdir(), "bootstream-ceph-"));
  // s3-up.sh refuses an existing dir that is not its own state dir: give it a new one.
  const dir = join(parent, "s3");
  const [s3Port, monPort] = [await freePort(), await freePort()];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      // A stopped radosgw cannot act on TERM; s3-down.sh would wait 15 s before KILL.
      process.kill(rgwPid(), "SIGCONT");
    } catch {
      /* not running */
    }
    await run("bash", [join(ROOT, "scripts/s3-down.sh"), dir]).catch(() => {});
    rmSync(parent, { recursive: true, force: true });
  };
  const rgwPid = () => Number(readFileSync(join(dir, "rgw.pid"), "utf8").trim());
  let stdout: string;
  try {
    ({ stdout } = await run("bash", [join(ROOT, "scripts/s3-up.sh"), dir], {
      env: { ...process.env, S3_PORT: String(s3Port), CEPH_MON_PORT: String(monPort) },
      maxBuffer: 1 << 20,
    }));
  } catch (error) {
    await stop();
    throw new Error(`s3-up.sh on ports ${s3Port}/${monPort} failed: ${(error as Error).message}`);
  }
  const env: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) env[m[1]] = m[2];
  }
  const endpoint = `http://127.0.0.1:${s3Port}`;
  if (env.AWS_ENDPOINT_URL !== endpoint) {
    await stop();
    throw new Error(`s3-up.sh printed endpoint ${env.AWS_ENDPOINT_URL}, expected ${endpoint}`);
  }
  let buckets = 0;
  const s3Client = () => {
    // The SDK warns on stderr about Node 20 support from 2027; a bench prints only its figures.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    return new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID ?? "",
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "",
      },
    });
  };
  let sharedBucket: Promise<string> | undefined;
  const freshStore = async (prefix = "origin") => {
    const bucket = `faults-${process.pid}-${Date.now().toString(36)}-${buckets++}`;
    const client = s3Client();
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
    return `s3://${bucket}/${prefix}`;
  };
  return {
    dir,
    endpoint,
    env,
    freshStore,
    async storeAt(prefix) {
      sharedBucket ??= freshStore("").then((url) => url.replace(/\/+$/, ""));
      return `${await sharedBucket}/${prefix}`;
    },
    async getObject(store, key) {
      const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(store);
      if (!m?.[1]) throw new Error(`not an s3:// store: ${store}`);
      const prefix = (m[2] ?? "").replace(/\/+$/, "");
      const client = s3Client();
      try {
        const out = await client.send(
          new GetObjectCommand({ Bucket: m[1], Key: prefix ? `${prefix}/${key}` : key }),
        );
        return Buffer.from(await out.Body!.transformToByteArray());
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return undefined;
        throw error;
      } finally {
        client.destroy();
      }
    },
    pauseRgw: () => process.kill(rgwPid(), "SIGSTOP"),
    resumeRgw: () => process.kill(rgwPid(), "SIGCONT"),
    async killRgw() {
      const pid = rgwPid();
      process.kill(pid, "SIGKILL");
      // Wait until its port is closed, so "dead" really means refused connections.
      for (let i = 0; i < 200 && (await answers(endpoint)); i++) await new Promise((r) => setTimeout(r, 10));
    },
    async restartRgw() {
      // As s3-up.sh starts it (its own session, foreground mode), with the pid where
      // s3-down.sh looks, so stop() still ends it.
      const log = openSync(join(dir, "log", "rgw-restart.out"), "a");
      const child = spawn("radosgw", ["-c", join(dir, "ceph.conf"), "-n", "client.rgw", "-f"], {
        detached: true,
        stdio: ["ignore", log, log],
      });
      child.unref();
      writeFileSync(join(dir, "rgw.pid"), `${child.pid}\n`);
      for (let i = 0; i < 300; i++) {
        if (await answers(endpoint)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`restarted radosgw did not answer on ${endpoint} within 15 s`);
    },
    stop,
  };
}

/** Names of Ceph daemons of this cluster that are not running (an OSD dying is worth reporting). */
export function deadDaemons(cluster: CephCluster): string[] {
  const dead: string[] = [];
  for (const name of ["mon", "osd", "rgw"]) {
    try {
      process.kill(Number(readFileSync(join(cluster.dir, `${name}.pid`), "utf8").trim()), 0);
    } catch {
      dead.push(name);
    }
  }
  return dead;
}
