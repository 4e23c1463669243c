/**
 * Real nginx for tests: the shipped examples/nginx-cache.conf with its @PLACEHOLDER@ tokens
 * replaced, included from a minimal main config whose paths all live in a temp prefix, run in
 * the foreground (`daemon off`) so the test owns the process.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

export const NGINX_CACHE_CONF = fileURLToPath(new URL("../../examples/nginx-cache.conf", import.meta.url));

/** The nginx binary; a missing one fails the test with what to install (never a skip). */
export function nginxBinary(): string {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];
  for (const dir of dirs) {
    const path = join(dir, "nginx");
    if (dir !== "" && existsSync(path)) return path;
  }
  throw new Error("nginx is not installed: `apt-get install nginx-light` (scripts/tools-up.sh installs it)");
}

export interface CachePlaceholders {
  LISTEN: string;
  ORIGIN_1: string;
  ORIGIN_2: string;
  CACHE_DIR: string;
}

/** examples/nginx-cache.conf with every @NAME@ replaced; an unknown or unused token is an error. */
export function renderCacheConf(values: CachePlaceholders): string {
  const text = readFileSync(NGINX_CACHE_CONF, "utf8");
  // Placeholders in the header comment are documentation; only directives are rewritten.
  const used = new Set<string>();
  const rendered = text
    .split("\n")
    .map((line) =>
      line.trimStart().startsWith("#")
        ? line
        : line.replace(/@([A-Z0-9_]+)@/g, (_m, name: string) => {
            const value = (values as unknown as Record<string, string>)[name];
            if (value === undefined) throw new Error(`${NGINX_CACHE_CONF}: unknown placeholder @${name}@`);
            used.add(name);
            return value;
          }),
    )
    .join("\n");
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0)
    throw new Error(`${NGINX_CACHE_CONF}: placeholders never used: ${unused.join(", ")}`);
  return rendered;
}

/**
 * Writes `<prefix>/nginx.conf`: a main config that includes the rendered example, with the pid,
 * logs and temp paths under the prefix. The access log records the cache status and the
 * upstream answer of each request.
 */
export function writeMainConf(prefix: string, values: CachePlaceholders): string {
  // Workers drop to an unprivileged user when nginx runs as root: they must reach the prefix
  // (so it must sit directly in a world-searchable directory such as os.tmpdir()).
  chmodSync(prefix, 0o755);
  mkdirSync(join(prefix, "tmp"), { recursive: true });
  const site = join(prefix, "bootstream-cache.conf");
  writeFileSync(site, renderCacheConf(values));
  const conf = join(prefix, "nginx.conf");
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log info;
events { worker_connections 256; }
http {
  log_format cache '$request_method $request_uri $status cache=$upstream_cache_status upstream=$upstream_status addr=$upstream_addr';
  access_log ${prefix}/access.log cache;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  include ${site};
}
`,
  );
  return conf;
}

/** `nginx -t` on a main config: returns its output; throws with the output when it fails. */
export function nginxConfigTest(prefix: string, conf: string): string {
  const run = spawnSync(nginxBinary(), ["-t", "-p", prefix, "-e", join(prefix, "error.log"), "-c", conf], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = `${run.stdout}${run.stderr}`;
  if (run.status !== 0) throw new Error(`nginx -t failed (${run.status ?? run.signal}):\n${output}`);
  return output;
}

/** A port free right now on 127.0.0.1 (nginx cannot take port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export interface RunningNginx {
  url: string;
  child: ChildProcess;
  prefix: string;
  /** The access log so far (one line per request, see writeMainConf). */
  accessLog(): string;
  errorLog(): string;
  /** SIGTERM (fast shutdown), wait for the master to exit, remove the prefix. */
  stop(): Promise<void>;
}

/**
 * Starts nginx with the example in front of two origins (host:port) in a new temp prefix
 * (removed by stop()); resolves once it accepts connections.
 */
export async function startCacheProxy(origins: [string, string]): Promise<RunningNginx> {
  const prefix = mkdtempSync(join(tmpdir(), "bootstream-nginx-"));
  const port = await freePort();
  const conf = writeMainConf(prefix, {
    LISTEN: `127.0.0.1:${port}`,
    ORIGIN_1: origins[0],
    ORIGIN_2: origins[1],
    CACHE_DIR: join(prefix, "cache"),
  });
  nginxConfigTest(prefix, conf);
  const errorLog = join(prefix, "error.log");
  const child = spawn(nginxBinary(), ["-p", prefix, "-e", errorLog, "-c", conf], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const read = (file: string) => (existsSync(file) ? readFileSync(file, "utf8") : "");
  const running: RunningNginx = {
    url: `http://127.0.0.1:${port}`,
    child,
    prefix,
    accessLog: () => read(join(prefix, "access.log")),
    errorLog: () => read(errorLog),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(prefix, { recursive: true, force: true });
    },
  };
  // Polled with a deadline: nginx says nothing when it starts listening (it daemonizes its workers
  // and logs only errors), so the port answering is the event.
  const deadline = Date.now() + 10_000;
  while (!(await portAnswers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = `nginx did not start on port ${port}: ${output}${running.errorLog()}`;
      await running.stop();
      throw new Error(why);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return running;
}
