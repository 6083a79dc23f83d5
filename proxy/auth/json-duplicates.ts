/**
 * A scan of JSON text for an object that repeats a member name. RFC 8259 section 4 leaves the
 * meaning of repeated names open and parsers differ: JSON.parse keeps the last value, others keep
 * the first or reject the text. A token header with two `alg` members or a payload with two `sub`
 * members could therefore mean one thing to the proxy and another to the upstream.
 */

/**
 * Returns the first member name that appears twice in one object, at any depth, or undefined.
 * Names are compared after decoding escapes, so `"sub"` and `"su\u0062"` are the same name.
 * Meant for text that JSON.parse accepts. On other text it returns without throwing, and its
 * result has no meaning.
 */
export function findDuplicateMember(json: string): string | undefined {
  // One entry per open container: the names seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectingName = false;

  for (let index = 0; index < json.length; index++) {
    const character = json[index];
    if (character === '{') {
      open.push(new Set());
      expectingName = true;
    } else if (character === '[') {
      open.push(null);
      expectingName = false;
    } else if (character === '}' || character === ']') {
      open.pop();
      expectingName = false;
    } else if (character === ',') {
      expectingName = open.at(-1) instanceof Set;
    } else if (character === '"') {
      const end = closingQuote(json, index);
      if (end === -1) return undefined;
      const names = open.at(-1);
      if (expectingName && names) {
        const name = decodeString(json.slice(index, end + 1));
        if (names.has(name)) return name;
        names.add(name);
        expectingName = false;
      }
      index = end;
    }
  }
  return undefined;
}

/** Returns the index of the quote that closes the string opening at `start`, or -1. */
function closingQuote(json: string, start: number): number {
  for (let index = start + 1; index < json.length; index++) {
    if (json[index] === '\\') index++;
    else if (json[index] === '"') return index;
  }
  return -1;
}

function decodeString(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal;
  }
}
