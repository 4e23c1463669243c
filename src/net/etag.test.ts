import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEntityTags, quoteEtag, unquoteEtag } from "./etag.ts";

describe("entity-tags", () => {
  it("quotes and unquotes", () => {
    assert.equal(quoteEtag("abc-gzip"), '"abc-gzip"');
    for (const tag of ['"abc"', 'W/"abc"', "abc"]) assert.equal(unquoteEtag(tag), "abc");
    assert.equal(unquoteEtag(undefined), "");
  });

  it("parses If-Match lists: *, weak tags, commas inside tags, empty elements", () => {
    assert.equal(parseEntityTags(" * "), "*");
    assert.deepEqual(parseEntityTags(', "a",W/"b,c" ,,'), [
      { weak: false, opaque: "a" },
      { weak: true, opaque: "b,c" },
    ]);
  });

  it("refuses malformed values and lists of nothing", () => {
    for (const value of ["abc", '"a" b', '"a', "", " , ", 'w/"a"']) {
      assert.equal(parseEntityTags(value), undefined, value);
    }
  });
});
