/**
 * The download web page: plain server-rendered HTML and CSS (no JavaScript needed),
 * readable on a phone. Everything comes from the query functions the CLI uses.
 */

import type { HistoryEntry } from "../publish/history.ts";
import { type ArtifactRef, listArtifacts, listImages } from "../query/index.ts";
import { architectureReleases } from "../query/releases.ts";
import { isHttpUrl } from "../schema/common.ts";
import type { Stream } from "../schema/stream.ts";
import { escapeHtml, shellQuote } from "../schema/text.ts";

export interface StreamSummary {
  name: string;
  lastModified: string;
  releases: Record<string, string>;
}

/** A command line of quoted words. */
function shellCommand(...words: string[]): string {
  return words.map(shellQuote).join(" ");
}

/**
 * A link to a document URL, or the URL as plain text when it is not a strict http(s) URL:
 * a `javascript:` or `data:` URL must never become an href, whatever the store holds.
 */
function urlLink(url: string, text: string): string {
  return isHttpUrl(url) ? `<a href="${escapeHtml(url)}">${text}</a>` : text;
}

/** A same-server path with each segment percent-encoded (names come from the store). */
function sitePath(...segments: string[]): string {
  return `/${segments.map(encodeURIComponent).join("/")}`;
}

const CSS = `
:root { color-scheme: light dark; --fg: #1b1b1f; --muted: #5c5f66; --line: #d9dce1; --bg: #fff; --accent: #1f5fbf; --code: #f3f4f6; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8ea; --muted: #a0a4ab; --line: #3a3d44; --bg: #17181b; --accent: #7aa7ff; --code: #23252a; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1.5rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 1.25rem 0 .4rem; }
.meta { color: var(--muted); margin: 0 0 1rem; }
a { color: var(--accent); }
nav.arches { display: flex; flex-wrap: wrap; gap: .5rem; margin: 1rem 0; }
nav.arches a { padding: .25rem .6rem; border: 1px solid var(--line); border-radius: 999px; text-decoration: none; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; white-space: nowrap; }
code, .digest { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; }
.digest { word-break: break-all; color: var(--muted); }
td.file { min-width: 24rem; }
td.file a { word-break: break-all; }
td pre { max-width: 34rem; white-space: pre-wrap; word-break: break-all; }
pre { background: var(--code); padding: .5rem .75rem; border-radius: 6px; overflow-x: auto; margin: .25rem 0; }
details summary { cursor: pointer; color: var(--accent); }
ul.plain { list-style: none; padding: 0; }
footer { color: var(--muted); font-size: .85rem; padding: 2rem 1rem; }
@media (max-width: 40rem) { body { font-size: 15px; } th, td { padding: .3rem .35rem; } }
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
<footer>Served by bootstream. Machine-readable: <a href="/v1/streams">/v1/streams</a>.</footer>
</body>
</html>
`;
}

function fileName(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1) || url;
}

function sizeOf(ref: ArtifactRef): string {
  const size = (ref.artifact as { size?: unknown }).size;
  if (typeof size !== "number") return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let n = size;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

function artifactRows(name: string, refs: readonly ArtifactRef[]): string {
  const withSize = refs.some((r) => sizeOf(r) !== "");
  const rows = refs.map((ref) => {
    const a = ref.artifact;
    const download = shellCommand(
      "bootstream",
      "download",
      "-s",
      name,
      "-a",
      ref.architecture,
      "-p",
      ref.platform,
      "-f",
      ref.format,
      ...(ref.kind === "disk" ? [] : ["-k", ref.kind]),
    );
    const curl = shellCommand("curl", "-LO", a.location, ...(a.signature ? ["-LO", a.signature] : []));
    return `<tr>
<td>${escapeHtml(ref.platform)}</td>
<td>${escapeHtml(ref.format)}${ref.kind === "disk" ? "" : ` <small>${escapeHtml(ref.kind)}</small>`}</td>
<td class="file">${urlLink(a.location, escapeHtml(fileName(a.location)))}<div class="digest" title="sha256">sha256 ${escapeHtml(a.sha256)}</div></td>
${withSize ? `<td>${escapeHtml(sizeOf(ref))}</td>` : ""}
<td>${a.signature ? urlLink(a.signature, "sig") : "—"}</td>
<td><details><summary>commands</summary><pre>${escapeHtml(download)}</pre><pre>${escapeHtml(curl)}</pre></details></td>
</tr>`;
  });
  return `<div class="scroll"><table>
<thead><tr><th>Platform</th><th>Format</th><th>File and SHA-256</th>${withSize ? "<th>Size</th>" : ""}<th>Signature</th><th>Download</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table></div>`;
}

function imageSections(stream: Stream, architecture: string): string {
  const images = listImages(stream, { architecture });
  const out: string[] = [];
  const regional = new Map<string, typeof images>();
  for (const image of images) {
    if (image.region !== undefined) {
      regional.set(image.platform, [...(regional.get(image.platform) ?? []), image]);
      continue;
    }
    const fields = (["project", "family", "name", "image", "digest-ref", "url", "release"] as const)
      .filter((k) => image[k])
      .map((k) => `<tr><th>${k}</th><td><code>${escapeHtml(image[k] as string)}</code></td></tr>`);
    out.push(
      `<h3>${escapeHtml(image.platform)} image</h3><div class="scroll"><table>${fields.join("")}</table></div>`,
    );
  }
  for (const [platform, list] of regional) {
    const objectStore = list.some((i) => i.object !== undefined);
    const head = objectStore
      ? "<th>Region</th><th>Object</th><th>Bucket</th><th>Release</th>"
      : "<th>Region</th><th>Image</th><th>Release</th>";
    const rows = list.map((i) =>
      objectStore
        ? `<tr><td>${escapeHtml(i.region ?? "")}</td><td>${urlLink(i.url ?? "", `<code>${escapeHtml(i.object ?? "")}</code>`)}</td><td><code>${escapeHtml(i.bucket ?? "")}</code></td><td>${escapeHtml(i.release ?? "")}</td></tr>`
        : `<tr><td>${escapeHtml(i.region ?? "")}</td><td><code>${escapeHtml(i.image ?? "")}</code></td><td>${escapeHtml(i.release ?? "")}</td></tr>`,
    );
    const label = platform === "aws" ? "AWS AMIs" : `${platform} images`;
    out.push(
      `<h3>${escapeHtml(label)}</h3><div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`,
    );
  }
  return out.join("\n");
}

/** The page of one stream: per architecture, artifacts, cloud images and download commands. */
export function renderStreamPage(
  name: string,
  stream: Stream,
  history: readonly HistoryEntry[],
  signed: boolean,
): string {
  const arches = Object.keys(stream.architectures).sort();
  const refs = listArtifacts(stream);
  const sections = arches.map((arch) => {
    const mine = refs.filter((r) => r.architecture === arch);
    const releases = architectureReleases(stream, arch).join(", ");
    return `<section id="${escapeHtml(arch)}">
<h2>${escapeHtml(arch)} <small class="meta">${escapeHtml(releases)}</small></h2>
${artifactRows(name, mine)}
${imageSections(stream, arch)}
</section>`;
  });
  const versions = history.slice(0, 20).map(
    (e) =>
      `<li><a href="${escapeHtml(sitePath("streams", name, `${e.id}.json`))}">${escapeHtml(e.id)}</a> — ${escapeHtml(e["last-modified"])} — ${escapeHtml(
        Object.entries(e.releases)
          .map(([a, r]) => `${a} ${r}`)
          .join(", "),
      )}</li>`,
  );
  const body = `<header>
<h1>${escapeHtml(name)}</h1>
<p class="meta">Stream <code>${escapeHtml(stream.stream)}</code>, last modified ${escapeHtml(stream.metadata["last-modified"])}${
    stream.metadata.generator ? `, generated by ${escapeHtml(stream.metadata.generator)}` : ""
  }.
<a href="${escapeHtml(sitePath("streams", `${name}.json`))}">stream JSON</a>${signed ? ` (<a href="${escapeHtml(sitePath("streams", `${name}.json.asc`))}">signature</a>)` : ""} ·
<a href="${escapeHtml(sitePath("streams", name, "history.json"))}">history</a> · <a href="/">all streams</a></p>
<nav class="arches">${arches.map((a) => `<a href="#${escapeHtml(a)}">${escapeHtml(a)}</a>`).join("")}</nav>
</header>
<main>
${sections.join("\n")}
${versions.length > 0 ? `<h2>Pinned versions</h2><ul class="plain">${versions.join("")}</ul>` : ""}
</main>`;
  return layout(`${name} — CoreOS boot images`, body);
}

/** The front page: every stream in the store. */
export function renderIndexPage(streams: readonly StreamSummary[]): string {
  const items = streams.map(
    (s) =>
      `<tr><td><a href="${escapeHtml(sitePath("streams", s.name, ""))}">${escapeHtml(s.name)}</a></td><td>${escapeHtml(s.lastModified)}</td><td>${escapeHtml(
        Object.entries(s.releases)
          .map(([a, r]) => `${a} ${r}`)
          .join(", "),
      )}</td><td><a href="${escapeHtml(sitePath("streams", `${s.name}.json`))}">JSON</a></td></tr>`,
  );
  const body = `<header><h1>CoreOS boot images</h1><p class="meta">Streams published here. Pick one for its ISO, PXE, disk and cloud images.</p></header>
<main>${
    items.length === 0
      ? "<p>No streams are published yet.</p>"
      : `<div class="scroll"><table><thead><tr><th>Stream</th><th>Last modified</th><th>Releases</th><th></th></tr></thead><tbody>${items.join("")}</tbody></table></div>`
  }</main>`;
  return layout("CoreOS boot images", body);
}
