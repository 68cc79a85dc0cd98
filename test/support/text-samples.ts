/**
 * Strings for testing length and character rules. Lengths in SPEC count Unicode code points:
 * ASTRAL is one code point but two UTF-16 units, so `astral(36)` is 36 characters to a correct
 * server and 72 to one that counts `String.length`.
 */
export const ASTRAL = '𝔘'; // U+1D518 MATHEMATICAL FRAKTUR CAPITAL U, a letter (Lu)
export const CJK = '中'; // U+4E2D

export const astral = (n: number): string => ASTRAL.repeat(n);
export const cjk = (n: number): string => CJK.repeat(n);

/** ASCII 0–31 as `[label, character]` rows for `it.each`. */
export const CONTROL_CHARS: [string, string][] = Array.from({ length: 32 }, (_, i) => [
  `U+${i.toString(16).toUpperCase().padStart(4, '0')}`,
  String.fromCharCode(i),
]);

/** `[label, character]` rows for `it.each`. */
export const chars = (s: string): [string, string][] => [...s].map((ch) => [`'${ch}'`, ch]);

/** `[label, text]`: a key or value a rule is tried with. */
export type Sample = readonly [label: string, text: string];

/** `n` ASCII letters (`letter` repeated): as many UTF-16 units as code points. */
export const asciiLetters = (n: number, letter = 'k'): Sample => [
  `${n} ASCII letters`,
  letter.repeat(n),
];
/** `n` astral letters: twice as many UTF-16 units as code points. */
export const astralLetters = (n: number): Sample => [
  `${n} astral letters (${2 * n} UTF-16 units)`,
  astral(n),
];
export const cjkCharacters = (n: number): Sample => [`${n} CJK characters`, cjk(n)];
export const EMPTY: Sample = ['empty', ''];
