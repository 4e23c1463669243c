/**
 * Prometheus text exposition of request counts, response bytes and latency. Written by
 * hand: three metric families do not justify prom-client's registry and its overhead on
 * the hot path; the text format (version 0.0.4) is small and stable.
 */

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly bytes = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();

  observe(route: string, method: string, status: number, bytes: number, seconds: number): void {
    const key = `${route}\u0000${method}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    this.bytes.set(route, (this.bytes.get(route) ?? 0) + bytes);
    let h = this.latency.get(route);
    if (h === undefined) {
      h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.latency.set(route, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= (BUCKETS[i] as number)) (h.counts[i] as number)++;
    h.sum += seconds;
    h.count++;
  }

  render(): string {
    const lines: string[] = [
      "# HELP bootstream_http_requests_total HTTP requests by route, method and status.",
      "# TYPE bootstream_http_requests_total counter",
    ];
    for (const [key, n] of [...this.requests].sort()) {
      const [route, method, status] = key.split("\u0000");
      lines.push(
        `bootstream_http_requests_total{route="${route}",method="${method}",status="${status}"} ${n}`,
      );
    }
    lines.push(
      "# HELP bootstream_http_response_bytes_total Response body bytes sent, by route.",
      "# TYPE bootstream_http_response_bytes_total counter",
    );
    for (const [route, n] of [...this.bytes].sort())
      lines.push(`bootstream_http_response_bytes_total{route="${route}"} ${n}`);
    lines.push(
      "# HELP bootstream_http_request_duration_seconds Time to answer a request, by route.",
      "# TYPE bootstream_http_request_duration_seconds histogram",
    );
    for (const [route, h] of [...this.latency].sort()) {
      BUCKETS.forEach((le, i) => {
        lines.push(
          `bootstream_http_request_duration_seconds_bucket{route="${route}",le="${le}"} ${h.counts[i]}`,
        );
      });
      lines.push(`bootstream_http_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${h.count}`);
      lines.push(`bootstream_http_request_duration_seconds_sum{route="${route}"} ${h.sum}`);
      lines.push(`bootstream_http_request_duration_seconds_count{route="${route}"} ${h.count}`);
    }
    return `${lines.join("\n")}\n`;
  }
}
