/**
 * A compare-and-swap record on a plain file system, for state that several processes update
 * at once (clients accepting streams, audits of one mirror): a directory of numbered files,
 * the newest number the current value. Appending number N+1 is the swap: the record is
 * written whole to a temporary file and hard-linked to its number, which fails if another
 * writer took that number first; the loser reads the winner's record and decides again. No
 * lock to go stale when a client is killed, no reader ever sees half a record, and the
 * newest record is never overwritten.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import { BootstreamError } from "../errors.ts";
import { syncDirectory, trackTemp, untrackTemp } from "./atomic.ts";

/** Old records kept behind the newest (for a person looking into the state). */
const KEEP = 8;
/** Lost rounds a writer rides out: each one is another writer's update landing, so only a crowd of hundreds reaches it. */
const MAX_ROUNDS = 500;
const RECORD = /^(\d{12})\.json$/;

export interface RecordLogOptions<T> {
  schema: z.ZodType<T>;
  /** How to name the log in messages. */
  what: string;
}

export class RecordLog<T> {
  constructor(
    private readonly dir: string,
    private readonly options: RecordLogOptions<T>,
  ) {}

  /** The newest record and its number; undefined when there is none yet. */
  async latest(): Promise<{ seq: number; value: T } | undefined> {
    for (let attempt = 0; ; attempt++) {
      const seq = await this.newestSeq();
      if (seq === undefined) return undefined;
      const path = this.pathOf(seq);
      let value: unknown;
      try {
        value = JSON.parse(await readFile(path, "utf8"));
      } catch (cause) {
        // Writers pruned it between the listing and the read: a newer record is in place.
        if ((cause as NodeJS.ErrnoException).code === "ENOENT" && attempt < MAX_ROUNDS) continue;
        throw this.ioError(`${path} (${this.options.what}) cannot be read`, cause);
      }
      const parsed = this.options.schema.safeParse(value);
      if (!parsed.success)
        throw new BootstreamError(
          "IO",
          `${path} (${this.options.what}) is damaged: ${parsed.error.issues[0]?.message ?? "unexpected content"}; remove it to start over`,
          { path },
        );
      return { seq, value: parsed.data };
    }
  }

  /**
   * Reads the newest record, asks `decide` for the next one (undefined: keep it as it is),
   * and appends it unless another writer appended first, in which case it decides again on
   * that writer's record. Returns the record in place afterwards.
   */
  async update(decide: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const current = await this.latest();
      const next = decide(current?.value);
      if (next === undefined) return current?.value;
      if (await this.append((current?.seq ?? 0) + 1, next)) {
        await this.prune((current?.seq ?? 0) + 1);
        return next;
      }
      // Lost the round: a little random wait, so many writers do not keep colliding in step.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** round, 50)));
    }
    throw new BootstreamError(
      "CONFLICT",
      `${this.dir} (${this.options.what}) kept changing under this process`,
      {
        path: this.dir,
      },
    );
  }

  private async newestSeq(): Promise<number | undefined> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.ioError(`cannot read ${this.dir}`, cause);
    }
    let newest: number | undefined;
    for (const name of names) {
      const seq = RECORD.exec(name)?.[1];
      if (seq !== undefined && (newest === undefined || Number(seq) > newest)) newest = Number(seq);
    }
    return newest;
  }

  /** Writes record `seq` unless it exists; false when another writer holds that number. */
  private async append(seq: number, value: T): Promise<boolean> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 }).catch((cause: unknown) => {
      throw this.ioError(`cannot create ${this.dir}`, cause);
    });
    const temp = join(this.dir, `.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    trackTemp(temp);
    try {
      const handle = await open(temp, "wx", 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(value)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await link(temp, this.pathOf(seq));
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw cause;
      }
      // A writer that read long ago may link a number pruning already freed: pruning frees
      // only numbers KEEP behind the newest, so such a record is at least KEEP behind, and is
      // withdrawn (the round lost). A record merely followed by others' (built on this one)
      // stays: withdrawing it would undo an update the next writers already counted on. (A
      // writer stalled here across KEEP appends is taken for a stale one and decides again.)
      if (((await this.newestSeq()) ?? seq) >= seq + KEEP) {
        await rm(this.pathOf(seq), { force: true });
        return false;
      }
      await syncDirectory(this.dir);
      return true;
    } catch (cause) {
      throw this.ioError(`cannot write ${this.options.what} in ${this.dir}`, cause);
    } finally {
      await rm(temp, { force: true });
      untrackTemp(temp);
    }
  }

  private async prune(newest: number): Promise<void> {
    for (let seq = newest - KEEP; seq > 0 && seq > newest - KEEP - 4; seq--)
      await rm(this.pathOf(seq), { force: true }).catch(() => undefined);
  }

  private pathOf(seq: number): string {
    return join(this.dir, `${String(seq).padStart(12, "0")}.json`);
  }

  private ioError(message: string, cause: unknown): BootstreamError {
    if (cause instanceof BootstreamError) return cause;
    return new BootstreamError("IO", `${message}: ${(cause as Error).message}`, { path: this.dir, cause });
  }
}
