import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BootstreamError } from "../errors.ts";
import { codeFor, fileNameOf, httpUrl, urlPathSegments } from "./url-path.ts";

const POINTER = "/architectures/x86_64/artifacts/metal/formats/raw.xz/disk/location";

/** Refused with `code`; the error's path is the pointer for document data, the URL for a command-line value. */
function refused(fn: () => unknown, code: string, path: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BootstreamError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.path, path);
    return true;
  });
}

test("codeFor: document data is INVALID_DOCUMENT, a command-line value USAGE", () => {
  assert.equal(codeFor({}), "USAGE");
  assert.equal(codeFor({ pointer: POINTER }), "INVALID_DOCUMENT");
  assert.equal(codeFor({ pointer: "" }), "INVALID_DOCUMENT");
});

describe("httpUrl", () => {
  test("http and https pass", () => {
    assert.equal(httpUrl("https://example.com/a").host, "example.com");
    assert.equal(httpUrl("http://127.0.0.1:8080/a").port, "8080");
  });

  test("other schemes and non-URLs are refused, coded by origin", () => {
    for (const url of [
      "file:///etc/passwd",
      "ftp://example.com/x",
      "data:,x",
      "javascript:alert(1)",
      "/relative",
      "x",
    ]) {
      refused(() => httpUrl(url), "USAGE", url);
      refused(() => httpUrl(url, { pointer: POINTER }), "INVALID_DOCUMENT", POINTER);
    }
  });
});

describe("fileNameOf", () => {
  test("the last path segment, percent-decoded; query and fragment ignored", () => {
    assert.equal(
      fileNameOf("https://builds.example/prod/40.20240101.3.0/x86_64/fedora-coreos-metal.x86_64.raw.xz"),
      "fedora-coreos-metal.x86_64.raw.xz",
    );
    assert.equal(fileNameOf("https://h/a/disk%20one.iso?x=1#y"), "disk one.iso");
    assert.equal(fileNameOf("https://h/d%C3%A9j%C3%A0.img"), "déjà.img");
  });

  test("names that would leave the directory or break output are refused", () => {
    for (const url of [
      "https://h/a/%2e%2e",
      "https://h/a/%2E",
      "https://h/a/..%2fetc",
      "https://h/a/x%5cy",
      "https://h/a/x%00y",
      "https://h/a/x%0Ay",
      `https://h/${"a".repeat(256)}`,
    ]) {
      refused(() => fileNameOf(url), "USAGE", url);
      refused(() => fileNameOf(url, { pointer: POINTER }), "INVALID_DOCUMENT", POINTER);
    }
  });

  test("a path ending in / (or normalised to /) names no file", () => {
    for (const url of ["https://h/", "https://h/dir/", "https://h/a/..", "https://h"]) {
      refused(() => fileNameOf(url), "USAGE", url);
    }
  });

  test("malformed percent-escapes are refused", () => {
    refused(() => fileNameOf("https://h/a%E0%A4%A"), "USAGE", "https://h/a%E0%A4%A");
    refused(() => fileNameOf("https://h/%ff.img", { pointer: POINTER }), "INVALID_DOCUMENT", POINTER);
  });
});

describe("urlPathSegments", () => {
  test("every decoded, non-empty segment", () => {
    assert.deepEqual(urlPathSegments("https://h//prod/streams/stable/builds/40.1/x86_64/a%20b.raw.xz"), [
      "prod",
      "streams",
      "stable",
      "builds",
      "40.1",
      "x86_64",
      "a b.raw.xz",
    ]);
  });

  test("dot segments, encoded or not, are resolved by the URL parser before they can climb", () => {
    assert.deepEqual(urlPathSegments("https://h/a/../../b/./c"), ["b", "c"]);
    assert.deepEqual(urlPathSegments("https://h/%2e%2e/x"), ["x"]);
  });

  test("an encoded separator or control character in any segment is refused", () => {
    refused(() => urlPathSegments("https://h/a%5cb/x"), "USAGE", "https://h/a%5cb/x");
    refused(() => urlPathSegments("https://h/a/%0d/x"), "USAGE", "https://h/a/%0d/x");
    refused(() => urlPathSegments("https://h/a%2Fb/x", { pointer: POINTER }), "INVALID_DOCUMENT", POINTER);
  });

  test("a URL with no path names no file", () => {
    refused(() => urlPathSegments("https://h/"), "USAGE", "https://h/");
  });
});
