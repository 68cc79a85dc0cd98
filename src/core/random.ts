import { randomBytes } from 'node:crypto';

/** The alphabet of access key ids: upper-case letters and digits. */
export const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** Letters of both cases and digits. */
export const LETTERS_DIGITS = `${UPPER_DIGITS}abcdefghijklmnopqrstuvwxyz`;

/** `n` characters drawn from `alphabet` with a cryptographic random source. */
export function randomString(n: number, alphabet = UPPER_DIGITS): string {
  // Rejection sampling keeps every character equally likely.
  const limit = 256 - (256 % alphabet.length);
  let s = '';
  while (s.length < n) {
    for (const b of randomBytes(n)) {
      if (b < limit && s.length < n) s += alphabet[b % alphabet.length];
    }
  }
  return s;
}
