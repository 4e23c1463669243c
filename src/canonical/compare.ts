/** Explains how a text differs from its canonical form, for `fmt --check`. */

export function describeDifference(actual: string, canonical: string): string | undefined {
  if (actual === canonical) return undefined;
  if (`${actual}\n` === canonical) return "missing final newline";
  if (actual.replace(/\n+$/, "\n") === canonical) return "extra newlines at the end";
  const a = actual.split("\n");
  const c = canonical.split("\n");
  for (let i = 0; i < Math.max(a.length, c.length); i++) {
    if (a[i] !== c[i]) return `differs from canonical form at line ${i + 1}`;
  }
  return "differs from canonical form";
}
