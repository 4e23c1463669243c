/**
 * No import cycles in src/: a module graph that is a DAG can be read, tested and changed one
 * layer at a time. Only static value imports count (`import … from`, `export … from`); an
 * `import type` is erased and a dynamic `await import()` is loaded lazily, so neither ties
 * the modules into one.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")
        ? [join(dir, e.name)]
        : [],
  );
}

/** Relative specifiers of the static value imports and re-exports of a module. */
function staticImports(text: string): string[] {
  // Comments could hold example imports; strings in code never start a line with `import`.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...code.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+["'](\.[^"']+)["']/gm)].map(
    (m) => m[1] as string,
  );
}

/** The module graph of a directory: file -> files it imports. */
function moduleGraph(root: string): Map<string, string[]> {
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps = staticImports(readFileSync(file, "utf8")).map((spec) => resolve(dirname(file), spec));
    graph.set(
      file,
      deps.filter((d) => known.has(d)),
    );
  }
  return graph;
}

/** Strongly connected components of more than one module, or one module importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

function describeCycles(root: string, found: string[][]): string {
  return found.map((c) => c.map((f) => relative(root, f)).join(" <-> ")).join("\n");
}

describe("import cycles", () => {
  it("src/ has none", () => {
    const graph = moduleGraph(SRC);
    assert.ok(graph.size > 50, `found only ${graph.size} modules under ${SRC}`);
    const found = cycles(graph);
    assert.deepEqual(found, [], `import cycles in src/:\n${describeCycles(SRC, found)}`);
  });

  it("finds a cycle, and ignores import type and dynamic import", () => {
    const dir = mkdtempSync(join(tmpdir(), "bootstream-cycles-"));
    try {
      writeFileSync(join(dir, "a.ts"), 'import { b } from "./b.ts";\nexport const a = () => b;\n');
      writeFileSync(
        join(dir, "b.ts"),
        'import {\n  c,\n} from "./c.ts";\nimport type { a } from "./a.ts";\nexport const b = c;\n',
      );
      writeFileSync(
        join(dir, "c.ts"),
        'export const c = 1;\nexport async function later() {\n  return (await import("./a.ts")).a;\n}\n',
      );
      assert.deepEqual(cycles(moduleGraph(dir)), []);
      writeFileSync(join(dir, "c.ts"), 'export { a as c } from "./a.ts";\n');
      assert.deepEqual(describeCycles(dir, cycles(moduleGraph(dir))), "a.ts <-> b.ts <-> c.ts");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
