const MAX_CHARACTERS = 64;

/**
 * The start of a client-supplied string, for echoing it in an error message: long enough to recognise,
 * short enough that a 4xx never grows with the input. Cut between code points, never inside one.
 */
export function excerpt(value: string, max = MAX_CHARACTERS): string {
  if (value.length <= max) return value;
  let head = '';
  let count = 0;
  for (const character of value) {
    if (count++ === max) return `${head}…`;
    head += character;
  }
  return head;
}
