import { describe, expect, it } from 'vitest';
import { compileMatch, matchKey } from '../../src/admin/event-match.js';
import type { ChangeEvent } from '../../src/core/change-event.js';

/** The live feed's filters (SPEC §8: the same as GET /admin/v1/events), each and combined. */

const event = (over: Partial<ChangeEvent> = {}): ChangeEvent => ({
  id: '7',
  time: '2026-03-01T10:00:00.000Z',
  domain_id: 'd1',
  project_id: 'p1',
  resource_type: 'bms_server',
  resource_id: 'srv-1',
  service: 'bms',
  operation: 'BatchCreateServerTags',
  principal: { type: 'iam_user', user_id: 'u1', user_name: 'alice' },
  source_ip: '127.0.0.1',
  request_id: 'r1',
  changes: [
    { key: 'env', old: null, new: 'prod' },
    { key: 'owner', old: 'bob', new: null },
  ],
  ...over,
});

describe('compileMatch', () => {
  it('passes everything without a filter', () => {
    expect(compileMatch({})(event())).toBe(true);
  });

  it.each([
    ['projectId', { projectId: 'p1' }, { projectId: 'p2' }],
    ['resourceType', { resourceType: 'bms_server' }, { resourceType: 'as_group' }],
    ['resourceId', { resourceId: 'srv-1' }, { resourceId: 'srv-2' }],
    ['userId', { userId: 'u1' }, { userId: 'u2' }],
    [
      'from (inclusive)',
      { from: '2026-03-01T10:00:00.000Z' },
      { from: '2026-03-01T10:00:00.001Z' },
    ],
    ['to (inclusive)', { to: '2026-03-01T10:00:00.000Z' }, { to: '2026-03-01T09:59:59.999Z' }],
    ['key, of a removed tag too', { key: 'owner' }, { key: 'Owner' }],
  ])('%s', (_name, passing, failing) => {
    expect(compileMatch(passing)(event())).toBe(true);
    expect(compileMatch(failing)(event())).toBe(false);
  });

  it('combines every field given: all must hold', () => {
    const match = compileMatch({ projectId: 'p1', key: 'env', userId: 'u1' });
    expect(match(event())).toBe(true);
    expect(match(event({ project_id: 'p2' }))).toBe(false);
    expect(match(event({ changes: [{ key: 'team', old: null, new: 'x' }] }))).toBe(false);
    expect(match(event({ principal: { type: 'admin' } }))).toBe(false);
  });
});

describe('matchKey', () => {
  it('is the same for the same filter, whatever the field order, and differs otherwise', () => {
    expect(matchKey({ projectId: 'p1', key: 'env' })).toBe(
      matchKey({ key: 'env', projectId: 'p1' }),
    );
    expect(matchKey({ projectId: 'p1' })).not.toBe(matchKey({ resourceId: 'p1' }));
    expect(matchKey({})).not.toBe(matchKey({ key: '' }));
  });
});
