/** A byte progress bar on a terminal (cli-progress); nothing at all when stderr is not a TTY. */
import cliProgress from "cli-progress";
import type { DownloadProgress } from "../download/download.ts";
import { formatBytes } from "../source/read.ts";
import type { CliContext } from "./context.ts";

export interface ProgressReporter {
  update(progress: DownloadProgress): void;
  stop(): void;
}

/** `single`: one bar for the whole run (its label may change), instead of one per file. */
export function progressReporter(ctx: CliContext, options: { single?: boolean } = {}): ProgressReporter {
  if (!ctx.stderrIsTTY) return { update() {}, stop() {} };
  let bar: cliProgress.SingleBar | undefined;
  let file = "";
  const started = Date.now();
  return {
    update(p) {
      if (bar === undefined || (p.file !== file && !options.single)) {
        bar?.stop();
        file = p.file;
        bar = new cliProgress.SingleBar(
          {
            stream: ctx.stderr as NodeJS.WritableStream,
            format: "{file} [{bar}] {percentage}% {done}/{size} {rate} ETA {eta_formatted}",
            hideCursor: true,
            etaBuffer: 50,
            fps: 5,
            // The caller already decided this is a terminal (CliContext.stderrIsTTY).
            noTTYOutput: true,
            notTTYSchedule: 500,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.total ?? 0, 0, { file, done: "0 B", size: "?", rate: "" });
      }
      file = p.file;
      if (p.total !== undefined && bar.getTotal() !== p.total) bar.setTotal(p.total);
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      bar.update(p.bytes, {
        file,
        done: formatBytes(p.bytes),
        size: p.total === undefined ? "?" : formatBytes(p.total),
        rate: `${formatBytes(p.bytes / seconds)}/s`,
      });
    },
    stop() {
      bar?.stop();
    },
  };
}

/** One bar for many files in flight (mirror): the sum of their bytes against the sum of their sizes. */
export function aggregateProgress(
  reporter: ProgressReporter,
  label: string,
): (progress: DownloadProgress) => void {
  const files = new Map<string, { bytes: number; total: number | undefined }>();
  return (p) => {
    files.set(p.file, { bytes: p.bytes, total: p.total });
    let bytes = 0;
    let total: number | undefined = 0;
    for (const f of files.values()) {
      bytes += f.bytes;
      total = total === undefined || f.total === undefined ? undefined : total + f.total;
    }
    reporter.update({ file: `${label} (${files.size} files)`, bytes, total });
  };
}
