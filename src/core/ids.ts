/** Ids of domains, projects and users: 1–64 of A-Z a-z 0-9 _ -. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Resource ids travel in URL paths: no slash, no control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: excluding control characters is the point
export const RESOURCE_ID_PATTERN = /^[^/\u0000-\u001f]{1,128}$/;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * What makes a string unfit to be an identifier (a user, domain, project or resource id or
 * name), or undefined when nothing does: a control character (Unicode category Cc: U+0000–U+001F,
 * U+007F–U+009F), or the trace of an invalid UTF-8 sequence — an unpaired surrogate, or U+FFFD,
 * which a decoder puts in place of bytes that are not UTF-8. PostgreSQL text cannot even hold
 * U+0000; no identifier of the clouds holds any of them.
 */
export function identifierProblem(value: string): string | undefined {
  // Every request's ids pass through here: printable ASCII, nearly always the case, is settled
  // by one regular expression rather than a walk that makes a string of each character.
  if (PRINTABLE_ASCII.test(value)) return undefined;
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f)) {
      return `contains the control character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    }
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp === 0xfffd) {
      return 'contains an invalid UTF-8 sequence';
    }
  }
  return undefined;
}
