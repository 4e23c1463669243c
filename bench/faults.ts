/**
 * The fault suite as a figure: the scenarios of test/faults.test.ts (RGW paused under load,
 * RGW killed and restarted, a store port that resets connections, publishers SIGKILLed at
 * random points while replicas serve) against a private Ceph RGW cluster, summed into one line:
 *   faults survived N/N; requests answered A of R (stale S, 503 U); publishes lost 0
 * With --verbose, each scenario's violated expectations and notes go to stderr; --only KEY
 * runs some scenarios (comma-separated: rgw-paused, rgw-killed, resetting-store, killed-publishers).
 * Exit 1 unless every scenario was survived.
 *
 *   npm run bench:faults [-- --verbose] [--only KEY]
 * Needs Ceph (scripts/s3-up.sh installs it from Debian).
 */
import { startCephCluster } from "./lib/ceph.ts";
import { SCENARIOS, type ScenarioReport, summaryLine } from "./lib/fault-scenarios.ts";

const verbose = process.argv.includes("--verbose");
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt > 0 ? process.argv[onlyAt + 1] : undefined;
const scenarios = SCENARIOS.filter((s) => only === undefined || only.split(",").includes(s.key));
if (scenarios.length === 0) {
  console.error(`no scenario ${only}; one of ${SCENARIOS.map((s) => s.key).join(", ")}`);
  process.exit(2);
}
const cluster = await startCephCluster();
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => void cluster.stop().then(() => process.exit(130)));
const reports: ScenarioReport[] = [];
try {
  for (const { run } of scenarios) {
    const report = await run({ cluster });
    reports.push(report);
    if (verbose || report.failures.length > 0)
      for (const line of [...report.failures.map((f) => `FAILED ${f}`), ...report.notes])
        console.error(`${report.name}: ${line}`);
  }
} finally {
  await cluster.stop();
}
console.log(summaryLine(reports));
process.exit(reports.every((r) => r.failures.length === 0) ? 0 : 1);
