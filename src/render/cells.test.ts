/**
 * Any value, however hostile, stays in its cell and reads back as itself: the property
 * `--check` relies on (render, then find the tables again, gives the same rows).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { asciidocCell, asciidocCellValue, isPlainValue, markdownCell, markdownCellValue } from "./cells.ts";
import { findDocTables } from "./doc.ts";
import type { RenderedTable } from "./tables.ts";
import { renderAsciidoc, renderMarkdown } from "./write.ts";

const anyText = fc.string({ unit: "binary", maxLength: 40 });
/** Strings made of the characters markup is made of, so the interesting cases come often. */
const markupText = fc.string({
  unit: fc.constantFrom(..."|`\\_-.*+#~^{}[]<>&;:/ \n\r\tax1=@'\"pass"),
  maxLength: 30,
});
const value = fc.oneof(anyText, markupText);

describe("render cells", () => {
  it("an AsciiDoc cell reads back as its value, on one line, with no cell separator", () => {
    fc.assert(
      fc.property(value, (v) => {
        const cell = asciidocCell(v);
        assert.equal(asciidocCellValue(cell), v);
        assert.doesNotMatch(cell, /[|\r\n]/);
      }),
    );
  });

  it("a Markdown cell reads back as its value, on one line, with no cell separator", () => {
    fc.assert(
      fc.property(value, (v) => {
        const cell = markdownCell(v);
        assert.equal(markdownCellValue(cell), v);
        assert.doesNotMatch(cell, /[|\r\n]/);
      }),
    );
  });

  it("ids, regions, URLs and digests are written as they are", () => {
    for (const v of [
      "ami-0a3b22174319ad66e",
      "us-gov-east-1",
      "https://rhcos.mirror.openshift.com/art/x/rhcos-416.94.202405291527-0-live.x86_64.iso",
      "quay.io/fedora/fedora-coreos-kubevirt@sha256:5d5f3dfa",
      "azureopenshift:aro4:aro_417:417.94.20240701",
      "pxe kernel",
    ])
      assert.ok(isPlainValue(v), v);
    for (const v of ["a--b", "x/_y_/", "a...", "{op-system}", "a|b", " lead", "trail "])
      assert.ok(!isPlainValue(v), v);
  });

  it("whole tables render and are found again with the same rows (AsciiDoc and Markdown)", () => {
    const rows = fc.array(fc.tuple(value, value), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(rows, (cells) => {
        const table: RenderedTable = {
          architecture: "x86_64",
          table: "amis",
          caption: "x86_64 {op-system} AMIs",
          columns: ["AWS zone", "AWS AMI"],
          keyColumns: 1,
          rows: cells.map(([a, b]) => [a, b]),
        };
        const prose = "prose | with `markup` and\n.a caption-like line\n\n";
        for (const [format, text] of [
          ["asciidoc", `${prose}${renderAsciidoc([table])}${prose}`],
          ["markdown", `${prose}${renderMarkdown([{ ...table, caption: "x86_64 CoreOS AMIs" }])}\n${prose}`],
        ] as const) {
          const found = findDocTables(text, format, "doc");
          assert.equal(found.length, 1, format);
          assert.deepEqual(
            found[0]?.rows.map((r) => r.cells),
            table.rows,
            format,
          );
        }
      }),
    );
  });
});
