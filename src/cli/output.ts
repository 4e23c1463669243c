/** Writing a command's document result: to a file atomically with -o, else to stdout. */
import { writeFileAtomic } from "../files/atomic.ts";
import type { CliContext } from "./context.ts";

export async function emitDocument(ctx: CliContext, text: string, output: string | undefined): Promise<void> {
  if (output === undefined || output === "-") ctx.stdout.write(text);
  else await writeFileAtomic(output, text);
}
