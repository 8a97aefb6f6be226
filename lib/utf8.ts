/**
 * Strict UTF-8 decoding for message bodies and task files: bytes that are not UTF-8 are refused
 * with where they are, never turned into U+FFFD and passed on as if they were the user's text.
 */

/** A BOM is kept as a character, as python-task-queue's reader keeps it. */
const STRICT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export type Utf8Result = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly where: string };

export function decodeUtf8Strictly(bytes: Uint8Array): Utf8Result {
  try {
    return { ok: true, text: STRICT.decode(bytes) };
  } catch {
    return { ok: false, where: firstBadUtf8(bytes) };
  }
}

/**
 * Where the first byte that is not UTF-8 is, e.g. "byte 0xe9 at offset 62": the start of the first
 * sequence that does not decode (the fatal decoder only says that one fails, not where).
 */
function firstBadUtf8(bytes: Uint8Array): string {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  while (offset < bytes.length) {
    const lead = bytes[offset]!;
    const length = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    try {
      decoder.decode(bytes.subarray(offset, offset + length));
    } catch {
      return `byte 0x${lead.toString(16).padStart(2, '0')} at offset ${offset}`;
    }
    offset += length;
  }
  return `a character cut off at the end, offset ${bytes.length}`;
}
