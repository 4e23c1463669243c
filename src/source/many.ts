/**
 * Reads many SOURCEs with a few reads in flight, yielding results in argument order, so
 * checking hundreds of files overlaps I/O with parsing without holding them all in memory.
 */
import { type ReadSourceOptions, readSource, type SourceBytes } from "./read.ts";

export type SourceItem = (SourceBytes & { source: string }) | { source: string; error: unknown };

const IN_FLIGHT = 8;

export async function* readSources(
  sources: readonly string[],
  options: ReadSourceOptions = {},
): AsyncGenerator<SourceItem> {
  const pending: Promise<SourceItem>[] = [];
  let next = 0;
  const start = (source: string): Promise<SourceItem> =>
    readSource(source, options).then(
      (read) => ({ ...read, source }),
      (error: unknown) => ({ source, error }),
    );
  while (next < sources.length && pending.length < IN_FLIGHT) pending.push(start(sources[next++] as string));
  while (pending.length > 0) {
    const item = await (pending.shift() as Promise<SourceItem>);
    if (next < sources.length) pending.push(start(sources[next++] as string));
    yield item;
  }
}
