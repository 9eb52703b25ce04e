// A receiver that echoes its request puts the webhook's custom header values (credentials, often) into
// the response excerpt, which any key that may read the webhook can read back. The excerpt is kept
// without them.

const REDACTED = '[redacted]';
/** A value cut off by the excerpt's end is still redacted from this many characters of it on. */
const SHORTEST_CUT = 4;

/** The forms a value takes in what a receiver echoes: as sent, and as a JSON string's contents. */
function formsOf(value: string): string[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  return escaped === value ? [value] : [value, escaped];
}

/**
 * `excerpt` with every header value replaced, longest first (one value may contain another); when the
 * excerpt was cut short, a value's beginning at its very end goes too.
 */
export function redactHeaderValues(excerpt: string, values: readonly string[], truncated: boolean): string {
  const forms = values.flatMap(formsOf).sort((a, b) => b.length - a.length);
  let redacted = excerpt;
  for (const form of forms) redacted = redacted.replaceAll(form, REDACTED);
  if (!truncated) return redacted;
  for (const form of forms) {
    for (let length = Math.min(form.length - 1, redacted.length); length >= SHORTEST_CUT; length--) {
      if (redacted.endsWith(form.slice(0, length))) return redacted.slice(0, -length) + REDACTED;
    }
  }
  return redacted;
}
