import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseStream } from "../schema/parse.ts";
import { findMarketplaceImage, listMarketplaceImages } from "./marketplace.ts";

const fixture = (path: string) =>
  readFileSync(fileURLToPath(new URL(`../../test/fixtures/${path}`, import.meta.url)));

describe("Azure marketplace images", () => {
  // The installer's 4.16 stream with its marketplace-rhcos.json merged in, as RHCOS streams carry it.
  const stream = parseStream(fixture("machinesets/rhcos-4.16-marketplace-stream.json"));
  const marketplace = JSON.parse(fixture("upstream/installer-marketplace-rhcos.json").toString("utf8"));

  it("lists every plan and generation the installer's marketplace file has, with its URN", () => {
    for (const architecture of ["x86_64", "aarch64"]) {
      const listed = listMarketplaceImages(stream, architecture);
      const expected = Object.entries(marketplace[architecture].azure).flatMap(([plan, generations]) =>
        Object.entries(generations as Record<string, Record<string, string>>).map(([generation, image]) => ({
          plan,
          generation,
          urn: `${image.publisher}:${image.offer}:${image.sku}:${image.version}`,
        })),
      );
      assert.deepEqual(
        listed.map(({ plan, generation, urn }) => ({ plan, generation, urn })),
        expected,
      );
      for (const image of listed)
        assert.equal(
          image.pointer,
          `/architectures/${architecture}/rhel-coreos-extensions/marketplace/azure/${image.plan}/${image.generation}`,
        );
    }
  });

  it("finds one image, and nothing for an architecture without marketplace images", () => {
    const gen2 = findMarketplaceImage(stream, {
      architecture: "x86_64",
      plan: "no-purchase-plan",
      generation: "hyperVGen2",
    });
    assert.equal(gen2?.sku, marketplace.x86_64.azure["no-purchase-plan"].hyperVGen2.sku);
    assert.deepEqual(listMarketplaceImages(stream, "s390x"), []);
    assert.equal(
      findMarketplaceImage(stream, { architecture: "x86_64", plan: "ocp", generation: "hyperVGen1" }),
      undefined,
    );
    assert.throws(() => listMarketplaceImages(stream, "riscv64"), { code: "NOT_FOUND" });
  });
});
