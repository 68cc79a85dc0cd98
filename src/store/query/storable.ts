/**
 * Whether text can be stored, and so compared, on both databases: no U+0000 (PostgreSQL text
 * cannot hold it) and no unpaired surrogate. Text that cannot be stored matches no stored text.
 */
export function storable(s: string): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0 || (cp >= 0xd800 && cp <= 0xdfff)) return false;
  }
  return true;
}
