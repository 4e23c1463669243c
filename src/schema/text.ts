/**
 * Text that comes from documents and ends up in front of a person: on a terminal (list,
 * query, image, validation messages) or in a shell. A string carrying ESC, BEL or a C1
 * control (U+0080-U+009F, where U+009B is CSI on some terminals) can rewrite what the
 * terminal shows, set its title or hide the line before it, so names and ids refuse control
 * characters outright, and everything printed escapes whatever got through.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds
const CONTROL_BUT_LAYOUT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
/** C1 controls and line/paragraph separators, which JSON.stringify leaves raw. */
const RAW_AFTER_JSON = /[\u007f-\u009f\u2028\u2029]/g;

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

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds
const CONTROL_BUT_LAYOUT_ALL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

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
