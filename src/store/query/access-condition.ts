import { type RawBuilder, sql } from 'kysely';
import type { ResourceCondition, TextMatch, ValueTest } from '../../core/resource-condition.js';
import type { StoreCapabilities } from '../store-capabilities.js';
import { q } from './conditions.js';
import { storable } from './storable.js';

/**
 * A resource condition (identity policies, core/resource-condition.ts) as SQL over a row of
 * `tags` or `resources` named `alias`: each tag test one probe of the tags' primary key, the
 * enterprise project one probe of the resource's. Text no stored tag or id can hold (U+0000,
 * unpaired surrogates) matches nothing and is never sent.
 */

const TRUE = sql`1 = 1`;
const FALSE = sql`1 = 0`;

/** A policy's `StringLike` pattern for GLOB or LIKE; both take it case-sensitively here. */
function wildcardPattern(caps: StoreCapabilities, pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (caps.wildcardMatch === 'glob') out += ch === '[' ? '[[]' : ch;
    else if (ch === '*') out += '%';
    else if (ch === '?') out += '_';
    else out += ch === '%' || ch === '_' || ch === '\\' ? `\\${ch}` : ch;
  }
  return out;
}

/** Whether the column matches; undefined when nothing listed can match. */
function textMatch(
  caps: StoreCapabilities,
  column: RawBuilder<unknown>,
  match: TextMatch,
): RawBuilder<unknown> | undefined {
  const parts: RawBuilder<unknown>[] = [];
  const equals = match.equals.filter(storable);
  if (equals.length === 1) parts.push(sql`${column} = ${equals[0]}`);
  else if (equals.length > 1) parts.push(sql`${column} in (${sql.join(equals)})`);
  for (const p of match.like.filter(storable)) {
    const pattern = wildcardPattern(caps, p);
    parts.push(
      caps.wildcardMatch === 'glob'
        ? sql`${column} glob ${pattern}`
        : sql`${column} like ${pattern} escape '\\'`,
    );
  }
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0]! : sql`(${sql.join(parts, sql` or `)})`;
}

/** The value test as SQL: `true`/`false` where it is the same for every value. */
function valueTest(
  caps: StoreCapabilities,
  column: RawBuilder<unknown>,
  test: ValueTest,
): RawBuilder<unknown> | boolean {
  const m = textMatch(caps, column, test.match);
  if (!m) return test.negated;
  return test.negated ? sql`not ${m}` : m;
}

/** The condition over the row `alias` (a `tags` or `resources` row) of project `projectId`. */
export function accessCondition(
  caps: StoreCapabilities,
  projectId: string,
  c: ResourceCondition,
  alias: string,
): RawBuilder<unknown> {
  const rid = q(`${alias}.rid`);
  const build = (c: ResourceCondition): RawBuilder<unknown> => {
    switch (c.kind) {
      case 'always':
        return TRUE;
      case 'never':
        return FALSE;
      case 'and':
        return sql`(${sql.join(c.parts.map(build), sql` and `)})`;
      case 'or':
        return sql`(${sql.join(c.parts.map(build), sql` or `)})`;
      case 'not':
        return sql`not ${build(c.part)}`;
      case 'type':
        return sql`${q(`${alias}.resource_type`)} in (${sql.join([...c.types])})`;
      case 'tag': {
        if (!storable(c.key)) return FALSE;
        const v = c.value ? valueTest(caps, q('pa.value'), c.value) : true;
        if (v === false) return FALSE;
        return sql`exists (select 1 from tags pa where pa.project_id = ${projectId} and pa.rid = ${rid} and pa.key = ${c.key}${v === true ? sql`` : sql` and ${v}`})`;
      }
      case 'enterpriseProject': {
        const v = valueTest(caps, q('pe.enterprise_project_id'), c.value);
        if (typeof v === 'boolean') return v ? TRUE : FALSE;
        const project = caps.ridKeyedByProject ? sql`pe.project_id = ${projectId} and ` : sql``;
        return sql`exists (select 1 from resources pe where ${project}pe.rid = ${rid} and ${v})`;
      }
    }
  };
  return build(c);
}
