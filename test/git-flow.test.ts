/**
 * The release flow of README.md "Streams in git": one branch per stream, a PR bumps the file,
 * CI runs the gate step of examples/github-workflow.yml (lint against the base, diff for the
 * PR comment). Here that very step runs in a real temporary git repository.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { generateStream } from "../src/generate/stream.ts";
import { parseRelease, toCanonicalJSON } from "../src/index.ts";
import { BIN } from "./helpers/cli.ts";
import { fixtureText, tempDir } from "./helpers/fixtures.ts";

const WORKFLOW = new URL("../examples/github-workflow.yml", import.meta.url);

function streamOf(
  version: string,
  lastModified: string,
  mutate: (s: ReturnType<typeof generateStream>) => void = () => {},
): string {
  const release = parseRelease(fixtureText("smg-fcos-release.json").replaceAll("33.20201201.3.0", version));
  const stream = generateStream([{ release }], { stream: "stable", lastModified });
  mutate(stream);
  return toCanonicalJSON(stream, { kind: "stream" });
}

function git(repo: string, ...args: string[]): string {
  return execFileSync(
    "git",
    ["-c", "user.name=CI", "-c", "user.email=ci@example.invalid", "-c", "init.defaultBranch=stable", ...args],
    {
      cwd: repo,
      encoding: "utf8",
    },
  ).trim();
}

/** The `run` script of the workflow's gate step, as GitHub Actions would execute it. */
function gateScript(): string {
  const workflow = parseYaml(readFileSync(WORKFLOW, "utf8")) as {
    jobs: { gate: { steps: { id?: string; run?: string }[] } };
  };
  const step = workflow.jobs.gate.steps.find((s) => s.id === "gate");
  assert.ok(step?.run, "workflow has a gate step with a run script");
  return step.run;
}

describe("git-based release flow (examples/github-workflow.yml)", () => {
  let shimDir: string;
  before(() => {
    // `bootstream` on PATH, as `npm install --global bootstream` provides it in the workflow.
    shimDir = tempDir("bootstream-shim-");
    const shim = join(shimDir, "bootstream");
    writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(shim, 0o755);
  });

  /** A streams repo whose base commit holds `extra` files too, and a PR commit with `head` as stream.json. */
  function pullRequest(
    head: string,
    extra: Record<string, string> = {},
  ): { run: ReturnType<typeof spawnSync>; runnerTemp: string } {
    const repo = tempDir("bootstream-streams-");
    git(repo, "init", "-q");
    writeFileSync(join(repo, "stream.json"), streamOf("33.20201201.3.0", "2020-12-17T14:18:43Z"));
    for (const [name, text] of Object.entries(extra)) writeFileSync(join(repo, name), text);
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "stable: 33.20201201.3.0");
    const base = git(repo, "rev-parse", "HEAD");
    git(repo, "checkout", "-q", "-b", "bump");
    writeFileSync(join(repo, "stream.json"), head);
    git(repo, "commit", "-q", "-am", "stable: bump");
    const runnerTemp = join(repo, ".runner-temp");
    mkdirSync(runnerTemp);
    const run = spawnSync("bash", ["-c", gateScript()], {
      cwd: repo,
      encoding: "utf8",
      env: {
        PATH: `${shimDir}:${process.env.PATH ?? ""}`,
        HOME: repo,
        BASE_SHA: base,
        STREAM_FILE: "stream.json",
        POLICY_FILE: ".bootstream-policy.yaml",
        RUNNER_TEMP: runnerTemp,
      },
    });
    return { run, runnerTemp };
  }

  it("passes a clean bump and writes the diff for the PR comment", () => {
    const { run, runnerTemp } = pullRequest(streamOf("33.20201214.3.1", "2021-01-05T10:15:52Z"));
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    assert.match(String(run.stderr), /no violations/);
    const comment = readFileSync(join(runnerTemp, "comment.md"), "utf8");
    assert.match(comment, /^### Boot image changes in `stream\.json`/);
    assert.match(comment, /^x86_64: 33\.20201201\.3\.0 -> 33\.20201214\.3\.1$/m);
  });

  it("fails a bump that drops an AWS region and goes back in time, naming the rules", () => {
    const head = streamOf("33.20201214.3.1", "2020-12-01T00:00:00Z", (s) => {
      delete s.architectures.x86_64?.images?.aws?.regions?.["eu-north-1"];
    });
    const { run, runnerTemp } = pullRequest(head);
    assert.equal(run.status, 1);
    assert.deepEqual(String(run.stdout).trimEnd().split("\n"), [
      "/metadata/last-modified: last-modified-regress: 2020-12-01T00:00:00Z is older than the previous 2020-12-17T14:18:43Z",
      "/architectures/x86_64/images/aws/regions/eu-north-1: no-dropped-region: x86_64 aws region eu-north-1 was in the previous stream and is gone (allow it with allow-removal)",
    ]);
    // The diff for the comment was written before the gate failed.
    assert.match(readFileSync(join(runnerTemp, "comment.md"), "utf8"), /removed: aws region eu-north-1/);
  });

  it("honours a policy file committed in the streams repository", () => {
    const head = streamOf("33.20201214.3.1", "2021-01-05T10:15:52Z", (s) => {
      delete s.architectures.x86_64?.images?.aws?.regions?.["eu-north-1"];
    });
    const { run } = pullRequest(head, {
      ".bootstream-policy.yaml": "allow-removal: [/architectures/x86_64/images/aws/regions/eu-north-1]\n",
    });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  });
});
