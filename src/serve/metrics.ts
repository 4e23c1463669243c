/**
 * Prometheus text exposition: requests, response bytes and latency per route; store calls
 * (latency per operation, errors per kind); stale answers; damaged objects refused; what the
 * catalog holds. Written by hand: a handful of families do not justify prom-client's registry
 * and its cost on the hot path; the text format (version 0.0.4) is small and stable.
 */

const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const STORE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(private readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  /** Counts the value in its own bucket only; render() sums them into Prometheus' cumulative form. */
  observe(value: number): void {
    const { buckets, counts } = this;
    let i = 0;
    while (i < buckets.length && value > (buckets[i] as number)) i++;
    if (i < counts.length) (counts[i] as number)++;
    this.sum += value;
    this.count++;
  }

  render(name: string, labels: string, out: string[]): void {
    let cumulative = 0;
    this.buckets.forEach((le, i) => {
      cumulative += this.counts[i] as number;
      out.push(`${name}_bucket{${labels},le="${le}"} ${cumulative}`);
    });
    out.push(`${name}_bucket{${labels},le="+Inf"} ${this.count}`);
    out.push(`${name}_sum{${labels}} ${this.sum}`);
    out.push(`${name}_count{${labels}} ${this.count}`);
  }
}

/** Values read when the metrics are rendered. */
export interface Gauges {
  cachedObjects: number;
  cachedBytes: number;
  storeUp: boolean;
}

function counter(
  out: string[],
  name: string,
  help: string,
  label: string,
  values: Map<string, number>,
): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
  for (const [value, n] of [...values].sort()) out.push(`${name}{${label}="${value}"} ${n}`);
}

/** The map under `key`, made on first use. */
function child<K, V extends Map<unknown, unknown>>(parent: Map<K, V>, key: K): V {
  let map = parent.get(key);
  if (map === undefined) {
    map = new Map() as V;
    parent.set(key, map);
  }
  return map;
}

const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

/** What is counted per route: one lookup per request finds all of it. */
interface RouteStats {
  /** method -> status -> count */
  requests: Map<string, Map<number, number>>;
  bytes: number;
  latency: Histogram;
}

export class Metrics {
  private readonly routes = new Map<string, RouteStats>();
  private readonly storeLatency = new Map<string, Histogram>();
  private readonly storeErrors = new Map<string, number>();
  private readonly stale = new Map<string, number>();
  private readonly damaged = new Map<string, number>();

  observe(route: string, method: string, status: number, bytes: number, seconds: number): void {
    let stats = this.routes.get(route);
    if (stats === undefined) {
      stats = { requests: new Map(), bytes: 0, latency: new Histogram(REQUEST_BUCKETS) };
      this.routes.set(route, stats);
    }
    const byStatus = child(stats.requests, method);
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    stats.bytes += bytes;
    stats.latency.observe(seconds);
  }

  /** One store call: its operation, duration, and the kind of failure (undefined: it succeeded). */
  observeStore(op: string, seconds: number, errorKind: string | undefined): void {
    let h = this.storeLatency.get(op);
    if (h === undefined) {
      h = new Histogram(STORE_BUCKETS);
      this.storeLatency.set(op, h);
    }
    h.observe(seconds);
    if (errorKind !== undefined) bump(this.storeErrors, errorKind);
  }

  /** An answer given from the last verified version because the store could not be asked. */
  staleResponse(route: string): void {
    bump(this.stale, route);
  }

  /** Bytes the store returned that failed verification (kind: pointer, pinned, history, signature). */
  damagedObject(kind: string): void {
    bump(this.damaged, kind);
  }

  render(gauges: Gauges): string {
    const out: string[] = [
      "# HELP bootstream_http_requests_total HTTP requests by route, method and status.",
      "# TYPE bootstream_http_requests_total counter",
    ];
    const lines: string[] = [];
    for (const [route, stats] of this.routes)
      for (const [method, byStatus] of stats.requests)
        for (const [status, n] of byStatus)
          lines.push(
            `bootstream_http_requests_total{route="${route}",method="${method}",status="${status}"} ${n}`,
          );
    out.push(...lines.sort());
    const routes = [...this.routes].sort(([a], [b]) => (a < b ? -1 : 1));
    counter(
      out,
      "bootstream_http_response_bytes_total",
      "Response body bytes sent, by route.",
      "route",
      new Map(routes.map(([route, stats]) => [route, stats.bytes])),
    );
    out.push(
      "# HELP bootstream_http_request_duration_seconds Time to answer a request, by route.",
      "# TYPE bootstream_http_request_duration_seconds histogram",
    );
    for (const [route, stats] of routes)
      stats.latency.render("bootstream_http_request_duration_seconds", `route="${route}"`, out);
    out.push(
      "# HELP bootstream_store_request_duration_seconds Time a store call took (until its deadline at most), by operation.",
      "# TYPE bootstream_store_request_duration_seconds histogram",
    );
    for (const [op, h] of [...this.storeLatency].sort())
      h.render("bootstream_store_request_duration_seconds", `op="${op}"`, out);
    counter(
      out,
      "bootstream_store_errors_total",
      "Store calls that failed, by kind (timeout, io, unauthorized, ...).",
      "kind",
      this.storeErrors,
    );
    counter(
      out,
      "bootstream_stale_responses_total",
      "Answers given from the last verified version because the store could not be read, by route.",
      "route",
      this.stale,
    );
    counter(
      out,
      "bootstream_damaged_objects_total",
      "Objects read from the store that failed verification and were not served, by kind.",
      "kind",
      this.damaged,
    );
    out.push(
      "# HELP bootstream_cached_objects Verified objects held for serving.",
      "# TYPE bootstream_cached_objects gauge",
      `bootstream_cached_objects ${gauges.cachedObjects}`,
      "# HELP bootstream_cached_bytes Bytes of the verified objects held for serving.",
      "# TYPE bootstream_cached_bytes gauge",
      `bootstream_cached_bytes ${gauges.cachedBytes}`,
      "# HELP bootstream_store_up Whether the last store call succeeded (1) or failed (0).",
      "# TYPE bootstream_store_up gauge",
      `bootstream_store_up ${gauges.storeUp ? 1 : 0}`,
    );
    return `${out.join("\n")}\n`;
  }
}
