/**
 * The most characters of one input value an error message repeats
 * (PW-ERR-007): a multi-megabyte topic name, config key or service name sent
 * by a peer must not come back, or be logged, whole.
 */
export const QUOTE_LIMIT = 128;

/**
 * `value` quoted for an error message: a string as JSON, anything else as
 * its JSON text; longer than {@link QUOTE_LIMIT} characters, cut there,
 * marked with `…` and followed by the full length.
 */
export function quote(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  if (text.length <= QUOTE_LIMIT) return typeof value === "string" ? JSON.stringify(text) : text;
  const cut = text.slice(0, QUOTE_LIMIT);
  return typeof value === "string" ? `${JSON.stringify(cut).slice(0, -1)}…" (${text.length} characters)` : `${cut}… (${text.length} characters)`;
}

/** The most characters of another component's error message a message repeats, for messages that quote input whole. */
const MESSAGE_LIMIT = 512;

/** `message`, cut at {@link MESSAGE_LIMIT} characters and marked with `…` when longer: for messages of other components that may quote input whole. */
export function clip(message: string): string {
  return message.length <= MESSAGE_LIMIT ? message : `${message.slice(0, MESSAGE_LIMIT)}… (${message.length} characters)`;
}
