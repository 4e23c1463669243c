/**
 * The fault suite (issue 12, point 5): real `bootstream serve` replicas and publishers over a
 * private Ceph RGW cluster (started here, never the shared one), with radosgw paused, killed,
 * replaced by a port that resets connections, and publishers SIGKILLed mid-publish.
 * The scenarios live in bench/lib/fault-scenarios.ts, shared with `npm run bench:faults`.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type CephCluster, startCephCluster } from "../bench/lib/ceph.ts";
import { SCENARIOS } from "../bench/lib/fault-scenarios.ts";

describe("serve through storage faults (own Ceph RGW cluster)", { timeout: 180_000 }, () => {
  let cluster: CephCluster | undefined;
  before(async () => {
    cluster = await startCephCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  for (const { key, run } of SCENARIOS) {
    it(key, { timeout: 60_000 }, async () => {
      assert.ok(cluster, "the Ceph cluster did not start");
      const report = await run({ cluster });
      // The notes carry the replicas' log tails when something failed.
      assert.deepEqual(
        report.failures,
        [],
        `${report.name}:\n${[...report.failures, ...report.notes].join("\n")}`,
      );
      assert.ok(report.requests > 0 && report.answered === report.requests, "every request answered");
      assert.equal(report.publishesLost, 0);
    });
  }
});
