/**
 * One JSON object per line, with a level filter: the shape pino writes (time, level,
 * msg, fields), without the dependency, since the server logs one line per request and
 * nothing else needs a logging framework.
 */
import type { Writable } from "node:stream";

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const RANK: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: 100 };

export interface Logger {
  enabled(level: Exclude<LogLevel, "silent">): boolean;
  log(level: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(out: Writable, level: LogLevel): Logger {
  const threshold = RANK[level];
  return {
    enabled: (l) => RANK[l] >= threshold,
    log(l, msg, fields = {}) {
      if (RANK[l] < threshold) return;
      out.write(`${JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields })}\n`);
    },
  };
}
