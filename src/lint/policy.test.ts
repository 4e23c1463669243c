import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BootstreamError } from "../errors.ts";
import { DEFAULT_POLICY, type Policy, parsePolicy } from "./policy.ts";

describe("policy file", () => {
  it("an empty file is the default policy", () => {
    assert.deepEqual(parsePolicy(""), DEFAULT_POLICY);
    assert.deepEqual(DEFAULT_POLICY, {
      requireSignatures: false,
      httpsOnly: true,
      allowedHosts: ["builds.coreos.fedoraproject.org", "rhcos.mirror.openshift.com"],
      allowDowngrade: [],
      allowRemoval: [],
      disabled: [],
    } satisfies Policy);
  });

  it("kebab-case keys become the Policy the rules read", () => {
    const policy: Policy = parsePolicy(
      "require-signatures: true\nhttps-only: false\nallowed-hosts: []\nallow-downgrade: [s390x]\nallow-removal: [/architectures/ppc64le]\ndisable: [mixed-releases]\n",
    );
    assert.deepEqual(policy, {
      requireSignatures: true,
      httpsOnly: false,
      allowedHosts: [],
      allowDowngrade: ["s390x"],
      allowRemoval: ["/architectures/ppc64le"],
      disabled: ["mixed-releases"],
    });
  });

  it("an unknown key, a wrong type or an unknown rule is a USAGE error naming the place", () => {
    for (const [text, at] of [
      ["require-signature: true\n", "/"],
      ["https-only: yes please\n", "/https-only"],
      ["disable: [no-such-rule]\n", "/disable/0"],
      ["allow-removal: [architectures]\n", "/allow-removal/0"],
    ] as const) {
      assert.throws(
        () => parsePolicy(text, "p.yaml"),
        (e: unknown) =>
          e instanceof BootstreamError && e.code === "USAGE" && e.message.startsWith(`p.yaml: ${at}:`),
        text,
      );
    }
  });
});
