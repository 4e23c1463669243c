/**
 * Entity-tags (RFC 9110 §8.8.3): how ours are written and how those that peers send are
 * read, in one place. Ours are strong: the sha256 of the identity bytes, `-gzip` / `-br` for
 * the encoded forms of them.
 */

export interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** The strong entity-tag of an opaque value: `"<opaque>"`. */
export function quoteEtag(opaque: string): string {
  return `"${opaque}"`;
}

/**
 * The opaque value of one entity-tag as a peer sends it: `W/"x"`, `"x"`, or a bare `x` (S3
 * implementations quote theirs, and Ceph compares If-Match literally against the unquoted value).
 */
export function unquoteEtag(tag: string | undefined): string {
  return (tag ?? "").replace(/^W\//, "").replace(/^"|"$/g, "");
}

/** Empty list elements (RFC 9110 §5.6.1: a recipient accepts them) and the comma after each. */
const LIST_GAP = /[\t ]*(?:,[\t ]*)*/y;
/** One entity-tag (§8.8.3: etagc is %x21 / %x23-7E / obs-text, so it may hold commas). */
const ENTITY_TAG = /(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"[\t ]*(?:,|$)/y;

/**
 * `*`, or the entity-tags of an If-Match / If-None-Match field value; undefined when the
 * value is malformed or lists none.
 */
export function parseEntityTags(value: string): "*" | EntityTag[] | undefined {
  if (value.trim() === "*") return "*";
  const tags: EntityTag[] = [];
  let at = 0;
  for (;;) {
    LIST_GAP.lastIndex = at;
    LIST_GAP.exec(value);
    at = LIST_GAP.lastIndex;
    if (at >= value.length) break;
    ENTITY_TAG.lastIndex = at;
    const m = ENTITY_TAG.exec(value);
    if (m === null) return undefined;
    tags.push({ weak: m[1] !== undefined, opaque: m[2] as string });
    at = ENTITY_TAG.lastIndex;
  }
  return tags.length === 0 ? undefined : tags;
}
