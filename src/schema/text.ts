/**
 * Text that comes from documents and ends up in front of a person: on a terminal (list,
 * query, image, validation messages) or in a shell. A string carrying ESC, BEL or a C1
 * control (U+0080-U+009F, where U+009B is CSI on some terminals) can rewrite what the
 * terminal shows, set its title or hide the line before it, so names and ids refuse control
 * characters outright, and everything printed escapes whatever got through. Bidirectional
 * overrides and isolates (U+202A-202E, U+2066-2069, U+200E/F) count too: they reorder what
 * the terminal shows ("Trojan Source"), so `ami-1<RLO>evil` would read as another id.
 */

// Character-class ranges, spelled as escapes (a regex literal with them trips Biome's
// control-character lint, which is what these exist to find).
const C0_BUT_LAYOUT = String.raw`\u0000-\u0008\u000b-\u001f`;
const C0_LAYOUT = String.raw`\u0009\u000a`;
const DEL_C1 = String.raw`\u007f-\u009f`;
const BIDI = String.raw`\u200e\u200f\u202a-\u202e\u2066-\u2069`;
const CONTROL = new RegExp(`[${C0_BUT_LAYOUT}${C0_LAYOUT}${DEL_C1}${BIDI}]`);
const CONTROL_ALL = new RegExp(CONTROL.source, "g");
const CONTROL_BUT_LAYOUT = new RegExp(`[${C0_BUT_LAYOUT}${DEL_C1}${BIDI}]`);
const CONTROL_BUT_LAYOUT_ALL = new RegExp(CONTROL_BUT_LAYOUT.source, "g");
/** C1 controls, bidi controls and line/paragraph separators, which JSON.stringify leaves raw. */
const RAW_AFTER_JSON = new RegExp(String.raw`[${DEL_C1}\u2028\u2029${BIDI}]`, "g");

/** Whether `value` holds a C0 or C1 control character or DEL. */
export function hasControlCharacter(value: string): boolean {
  return CONTROL.test(value);
}

/** Like {@link hasControlCharacter}, but tab and newline are allowed (free text such as a reason). */
export function hasControlCharacterBesidesLayout(value: string): boolean {
  return CONTROL_BUT_LAYOUT.test(value);
}

const hex4 = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** `value` with every control character written as `\u00XX`, safe to print on a terminal line. */
export function printable(value: string): string {
  return CONTROL.test(value) ? value.replace(CONTROL_ALL, hex4) : value;
}

/** Like {@link printable}, but tab and newline stay: for multi-line text such as an error message. */
export function printableLines(value: string): string {
  return CONTROL_BUT_LAYOUT.test(value) ? value.replace(CONTROL_BUT_LAYOUT_ALL, hex4) : value;
}

/** A string quoted for a message: JSON quoting, plus the C1 controls JSON leaves raw. */
export function quoted(value: string): string {
  return escapeJsonText(JSON.stringify(value));
}

/**
 * JSON text with the characters JSON.stringify leaves raw but a terminal or a JavaScript
 * source would act on (C1 controls, U+2028, U+2029) escaped; still the same JSON value.
 */
export function escapeJsonText(json: string): string {
  RAW_AFTER_JSON.lastIndex = 0;
  return RAW_AFTER_JSON.test(json) ? json.replace(RAW_AFTER_JSON, hex4) : json;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const HTML_SPECIAL = new RegExp(`[&<>"'${C0_BUT_LAYOUT}${C0_LAYOUT}${DEL_C1}${BIDI}]`, "g");

/** Text for HTML content or a quoted attribute; control and bidi characters as references, too. */
export function escapeHtml(value: string): string {
  return value.replace(HTML_SPECIAL, (c) => HTML_ESCAPES[c] ?? `&#${c.charCodeAt(0)};`);
}

/**
 * One POSIX sh word for `value`: bare when it holds only characters no shell treats
 * specially (the set Python's shlex.quote leaves alone), else single-quoted with `'`
 * written as `'\''`. Commands people copy into terminals (the download page, `oc patch`
 * lines) put every value from a document through this, even though validation already
 * refuses metacharacters: a document may reach them some other way.
 */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** "1 row", "2 rows": a count with its noun for messages. */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
