import type { TextRule } from '../services/profile.js';

/*
 * Applying the key and value rules service profiles declare (TextRule): `checkText` enforces any
 * of them, and `describeRule` turns one into the prose and JSON Schema of the OpenAPI document,
 * so the documented rule and the enforced rule cannot drift apart.
 */

export type TextProblem = 'too_short' | 'too_long' | 'invalid';

export interface TextViolation {
  readonly problem: TextProblem;
  readonly detail: string;
}

/** Length in Unicode code points; a lone surrogate counts as one. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function showChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 32 || cp === 127) return `control character U+${cp.toString(16).padStart(4, '0')}`;
  return `'${ch}'`;
}

/** The first way `s` breaks `rule`, or undefined when it complies. */
export function checkText(s: string, rule: TextRule): TextViolation | undefined {
  const len = codePointLength(s);
  if (len < rule.min) {
    return {
      problem: 'too_short',
      detail: rule.min === 1 ? 'must not be empty' : `must be at least ${rule.min} characters`,
    };
  }
  if (len > rule.max) {
    return {
      problem: 'too_long',
      detail: `must be at most ${rule.max} characters (got ${len})`,
    };
  }
  if (rule.noOuterSpace && (s.startsWith(' ') || s.endsWith(' '))) {
    return { problem: 'invalid', detail: 'must not start or end with a space' };
  }
  if (rule.forbiddenPrefixes) {
    for (const p of rule.forbiddenPrefixes) {
      if (s.startsWith(p)) return { problem: 'invalid', detail: `must not start with '${p}'` };
    }
  }
  if (rule.forbiddenSuffixes) {
    for (const p of rule.forbiddenSuffixes) {
      if (s.endsWith(p)) return { problem: 'invalid', detail: `must not end with '${p}'` };
    }
  }
  if (rule.noControl || rule.forbidden || rule.allowed) {
    for (const ch of s) {
      const cp = ch.codePointAt(0) ?? 0;
      // A JSON escape like "\ud800" without its pair is no character at all, and cannot be
      // stored as sent (it would come back as U+FFFD).
      if (cp >= 0xd800 && cp <= 0xdfff) {
        return {
          problem: 'invalid',
          detail: `must not contain an unpaired surrogate (\\u${cp.toString(16)}); it is not a Unicode character`,
        };
      }
      if (rule.noControl && cp < 32) {
        return { problem: 'invalid', detail: `must not contain ${showChar(ch)}` };
      }
      if (rule.forbidden?.includes(ch)) {
        return { problem: 'invalid', detail: `must not contain ${showChar(ch)}` };
      }
      if (rule.allowed && !rule.allowed.test(ch)) {
        return {
          problem: 'invalid',
          detail: `must not contain ${showChar(ch)}${rule.allowedText ? ` (allowed: ${rule.allowedText})` : ''}`,
        };
      }
    }
  }
  return undefined;
}

/** Prose for the OpenAPI document. */
export function describeRule(rule: TextRule): string {
  const parts = [`${rule.min}–${rule.max} Unicode characters`];
  if (rule.allowedText) parts.push(`only ${rule.allowedText}`);
  if (rule.noControl) parts.push('no ASCII control characters 0–31');
  if (rule.forbidden) parts.push(`none of ${[...rule.forbidden].join(' ')}`);
  if (rule.noOuterSpace) parts.push('no leading or trailing space');
  if (rule.forbiddenPrefixes?.length) {
    parts.push(`must not start with ${rule.forbiddenPrefixes.map((p) => `'${p}'`).join(' or ')}`);
  }
  if (rule.forbiddenSuffixes?.length) {
    parts.push(`must not end with ${rule.forbiddenSuffixes.map((p) => `'${p}'`).join(' or ')}`);
  }
  return `${parts.join('; ')}.`;
}
