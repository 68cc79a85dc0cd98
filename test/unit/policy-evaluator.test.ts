import { describe, expect, it } from 'vitest';
import {
  compilePolicies,
  compilePolicy,
  evaluate,
  possibility,
  type RequestContext,
} from '../../src/auth/policy-evaluator.js';

const ACTION = 'bms:servers:batchCreateBaremetalServerTags';

type Cond = Record<string, Record<string, unknown>>;

const statement = (effect: 'Allow' | 'Deny', action: string | string[], condition?: Cond) => ({
  Effect: effect,
  Action: action,
  Resource: ['*'],
  ...(condition ? { Condition: condition } : {}),
});
const doc = (...statements: object[]) => ({ Version: '5.0', Statement: statements });

const decide = (docs: unknown[], ctx: RequestContext = {}, action = ACTION) =>
  evaluate(compilePolicies(docs), action, ctx);
const allowed = (docs: unknown[], ctx: RequestContext = {}, action = ACTION) =>
  decide(docs, ctx, action).allowed;

interface Ctx {
  resource?: Record<string, string>;
  request?: Record<string, string>;
  keys?: string[];
  ep?: string;
}
const ctx = (c: Ctx): RequestContext => ({
  resourceTags: new Map(Object.entries(c.resource ?? {})),
  requestTags: new Map(Object.entries(c.request ?? {})),
  tagKeys: c.keys ?? Object.keys(c.request ?? {}),
  ...(c.ep !== undefined ? { enterpriseProjectId: c.ep } : {}),
});

/** Operator × condition key: one context the condition allows, one it does not. */
const MATRIX: [string, string, unknown, Ctx, Ctx][] = [
  [
    'StringEquals',
    'g:ResourceTag/env',
    'dev',
    { resource: { env: 'dev' } },
    { resource: { env: 'prod' } },
  ],
  [
    'StringEquals',
    'g:RequestTag/env',
    ['dev', 'test'],
    { request: { env: 'test' } },
    { request: { env: 'prod' } },
  ],
  ['StringEquals', 'g:TagKeys', 'env', { keys: ['env', 'x'] }, { keys: ['x'] }],
  ['StringEquals', 'g:EnterpriseProjectId', 'ep-1', { ep: 'ep-1' }, { ep: '0' }],
  [
    'StringNotEquals',
    'g:ResourceTag/env',
    'prod',
    { resource: { env: 'dev' } },
    { resource: { env: 'prod' } },
  ],
  [
    'StringNotEquals',
    'g:RequestTag/env',
    'prod',
    { request: { env: 'dev' } },
    { request: { env: 'prod' } },
  ],
  ['StringNotEquals', 'g:TagKeys', 'secret', { keys: ['a', 'b'] }, { keys: ['a', 'secret'] }],
  ['StringNotEquals', 'g:EnterpriseProjectId', '0', { ep: 'ep-1' }, { ep: '0' }],
  [
    'StringLike',
    'g:ResourceTag/env',
    'de*',
    { resource: { env: 'devel' } },
    { resource: { env: 'prod' } },
  ],
  [
    'StringLike',
    'g:RequestTag/env',
    'd?v',
    { request: { env: 'dav' } },
    { request: { env: 'daav' } },
  ],
  ['StringLike', 'g:TagKeys', 'app-*', { keys: ['x', 'app-1'] }, { keys: ['x', 'ap-1'] }],
  ['StringLike', 'g:EnterpriseProjectId', 'ep-*', { ep: 'ep-9' }, { ep: '0' }],
  [
    'StringNotLike',
    'g:ResourceTag/env',
    'pr*',
    { resource: { env: 'dev' } },
    { resource: { env: 'prod' } },
  ],
  [
    'StringNotLike',
    'g:RequestTag/env',
    '*rod',
    { request: { env: 'dev' } },
    { request: { env: 'prod' } },
  ],
  ['StringNotLike', 'g:TagKeys', 'sys*', { keys: ['a', 'b'] }, { keys: ['a', 'system'] }],
  ['StringNotLike', 'g:EnterpriseProjectId', 'ep-*', { ep: '0' }, { ep: 'ep-1' }],
  ['Null', 'g:ResourceTag/env', 'true', { resource: {} }, { resource: { env: 'x' } }],
  ['Null', 'g:RequestTag/env', 'false', { request: { env: '' } }, { request: { other: 'x' } }],
  ['Null', 'g:TagKeys', 'true', { keys: [] }, { keys: ['a'] }],
  ['Null', 'g:EnterpriseProjectId', false, { ep: '0' }, {}],
  [
    'ForAllValues:StringEquals',
    'g:TagKeys',
    ['env', 'team'],
    { keys: ['env', 'team'] },
    { keys: ['env', 'owner'] },
  ],
  [
    'ForAllValues:StringLike',
    'g:TagKeys',
    'app-*',
    { keys: ['app-a', 'app-b'] },
    { keys: ['app-a', 'x'] },
  ],
  [
    'ForAllValues:StringNotEquals',
    'g:TagKeys',
    ['a', 'b'],
    { keys: ['c', 'd'] },
    { keys: ['c', 'a'] },
  ],
  ['ForAllValues:StringNotLike', 'g:TagKeys', '_sys*', { keys: ['x'] }, { keys: ['x', '_sys_y'] }],
  ['ForAnyValue:StringEquals', 'g:TagKeys', 'env', { keys: ['owner', 'env'] }, { keys: ['owner'] }],
  ['ForAnyValue:StringLike', 'g:TagKeys', 'cost*', { keys: ['a', 'costcenter'] }, { keys: ['a'] }],
  ['ForAnyValue:StringNotEquals', 'g:TagKeys', 'a', { keys: ['a', 'b'] }, { keys: ['a'] }],
  ['ForAnyValue:StringNotLike', 'g:TagKeys', 'sys*', { keys: ['sysx', 'app'] }, { keys: ['sysx'] }],
  [
    'ForAllValues:StringEquals',
    'g:ResourceTag/env',
    'dev',
    { resource: { env: 'dev' } },
    { resource: { env: 'qa' } },
  ],
  [
    'ForAnyValue:StringEquals',
    'g:RequestTag/env',
    'dev',
    { request: { env: 'dev' } },
    { request: { x: 'dev' } },
  ],
  ['ForAnyValue:StringLike', 'g:EnterpriseProjectId', 'ep-*', { ep: 'ep-2' }, { ep: '0' }],
];

describe('conditions: each operator on each condition key', () => {
  for (const [op, key, value, yes, no] of MATRIX) {
    it(`${op} ${key} ${JSON.stringify(value)}`, () => {
      const policy = doc(statement('Allow', ACTION, { [op]: { [key]: value } }));
      expect(allowed([policy], ctx(yes))).toBe(true);
      expect(allowed([policy], ctx(no))).toBe(false);
    });
  }
});

describe('conditions: keys without values and sets', () => {
  const single = (op: string, key: string, value: unknown) =>
    doc(statement('Allow', ACTION, { [op]: { [key]: value } }));

  it('a key without a value fails positive operators and passes negated ones', () => {
    const none = ctx({});
    expect(allowed([single('StringEquals', 'g:ResourceTag/env', 'x')], none)).toBe(false);
    expect(allowed([single('StringLike', 'g:ResourceTag/env', '*')], none)).toBe(false);
    expect(allowed([single('StringNotEquals', 'g:ResourceTag/env', 'x')], none)).toBe(true);
    expect(allowed([single('StringNotLike', 'g:ResourceTag/env', '*')], none)).toBe(true);
  });

  it('ForAllValues holds for an empty set, ForAnyValue does not', () => {
    const empty = ctx({ keys: [] });
    expect(allowed([single('ForAllValues:StringEquals', 'g:TagKeys', 'a')], empty)).toBe(true);
    expect(allowed([single('ForAnyValue:StringEquals', 'g:TagKeys', 'a')], empty)).toBe(false);
  });

  it('every operator and every key of a statement must hold; listed values are alternatives', () => {
    const policy = doc(
      statement('Allow', ACTION, {
        StringEquals: { 'g:ResourceTag/env': ['dev', 'qa'], 'g:EnterpriseProjectId': '0' },
        'ForAllValues:StringLike': { 'g:TagKeys': 'app-*' },
      }),
    );
    expect(allowed([policy], ctx({ resource: { env: 'qa' }, ep: '0', keys: ['app-1'] }))).toBe(
      true,
    );
    expect(allowed([policy], ctx({ resource: { env: 'qa' }, ep: '1', keys: ['app-1'] }))).toBe(
      false,
    );
    expect(allowed([policy], ctx({ resource: { env: 'qa' }, ep: '0', keys: ['x'] }))).toBe(false);
    expect(allowed([policy], ctx({ resource: { env: 'pr' }, ep: '0', keys: ['app-1'] }))).toBe(
      false,
    );
  });

  it('compares case-sensitively; tag keys in condition keys are case-sensitive, prefixes are not', () => {
    expect(
      allowed(
        [single('StringEquals', 'g:ResourceTag/env', 'Dev')],
        ctx({ resource: { env: 'dev' } }),
      ),
    ).toBe(false);
    expect(
      allowed(
        [single('StringEquals', 'g:ResourceTag/Env', 'dev')],
        ctx({ resource: { env: 'dev' } }),
      ),
    ).toBe(false);
    expect(
      allowed(
        [single('StringEquals', 'G:resourcetag/env', 'dev')],
        ctx({ resource: { env: 'dev' } }),
      ),
    ).toBe(true);
  });

  it('StringLike matches whole values, `?` one character, other characters literally', () => {
    const p = single('StringLike', 'g:RequestTag/k', 'a.b?c*');
    expect(allowed([p], ctx({ request: { k: 'a.bXcYYY' } }))).toBe(true);
    expect(allowed([p], ctx({ request: { k: 'a.b环c' } }))).toBe(true);
    expect(allowed([p], ctx({ request: { k: 'aXbXc' } }))).toBe(false);
    expect(allowed([p], ctx({ request: { k: 'za.bXc' } }))).toBe(false);
  });
});

describe('statements', () => {
  it('deny by default', () => {
    expect(decide([])).toEqual({ allowed: false, explicit: false });
    expect(allowed([doc(statement('Allow', 'ddm:instance:createTags'))])).toBe(false);
  });

  it('an explicit Deny wins over any Allow, in any order and any document', () => {
    const allowAll = doc(statement('Allow', '*'));
    const denyCreate = doc(statement('Deny', ACTION));
    expect(decide([allowAll, denyCreate])).toEqual({
      allowed: false,
      explicit: true,
      by: 'policies[1].Statement[0]',
    });
    expect(allowed([denyCreate, allowAll])).toBe(false);
    expect(allowed([allowAll, denyCreate], {}, 'bms:servers:put')).toBe(true);
  });

  it('a Deny with a condition denies only where the condition holds', () => {
    const policy = doc(
      statement('Allow', 'bms:*:*'),
      statement('Deny', 'bms:*:*', { StringEquals: { 'g:ResourceTag/protected': 'true' } }),
    );
    expect(allowed([policy], ctx({ resource: { protected: 'true' } }))).toBe(false);
    expect(allowed([policy], ctx({ resource: { protected: 'no' } }))).toBe(true);
  });

  it('actions match with * wildcards, case-insensitively, and nothing else', () => {
    const yes = [
      '*',
      '*:*:*',
      'bms:*:*',
      'bms:*',
      'bms:servers:*',
      'bms:servers:batch*Tags',
      'BMS:Servers:BatchCreateBaremetalServerTags',
      ACTION,
    ];
    for (const a of yes) expect(allowed([doc(statement('Allow', a))]), a).toBe(true);
    const no = [
      'bms:servers:batchDelete*',
      'ddm:*:*',
      'bms:servers:batchCreateBaremetalServerTag',
      'bms:server:*',
      '*:*:list*',
    ];
    for (const a of no) expect(allowed([doc(statement('Allow', a))]), a).toBe(false);
  });

  it('one statement may list several actions', () => {
    const p = doc(statement('Allow', ['ddm:instance:createTags', 'bms:servers:batchCreate*']));
    expect(allowed([p])).toBe(true);
    expect(allowed([p], {}, 'ddm:instance:createTags')).toBe(true);
    expect(allowed([p], {}, 'ddm:instance:deleteTags')).toBe(false);
  });
});

describe('possibility before the context is known', () => {
  it('is never without a matching Allow, denied with an unconditional Deny, else possible', () => {
    const c = (docs: unknown[]) => possibility(compilePolicies(docs), ACTION);
    expect(c([])).toEqual({ outcome: 'never' });
    expect(c([doc(statement('Allow', 'ddm:*:*'))])).toEqual({ outcome: 'never' });
    expect(
      c([doc(statement('Allow', 'bms:*:*', { StringEquals: { 'g:ResourceTag/a': 'b' } }))]),
    ).toEqual({ outcome: 'possible' });
    expect(c([doc(statement('Allow', '*'), statement('Deny', 'bms:servers:*'))])).toEqual({
      outcome: 'denied',
      by: 'policies[0].Statement[1]',
    });
    expect(
      c([
        doc(
          statement('Allow', '*'),
          statement('Deny', '*', { StringEquals: { 'g:ResourceTag/a': 'b' } }),
        ),
      ]),
    ).toEqual({ outcome: 'possible' });
  });
});

describe('validation when a policy is written', () => {
  const bad: [unknown, RegExp][] = [
    [[], /policy: must be a policy document object/],
    [{ Statement: [] }, /'Statement' must be a non-empty array/],
    [{ Version: '2012-10-17', Statement: [statement('Allow', '*')] }, /'Version' must be "5.0"/],
    [{ Statement: [statement('Allow', '*')], Extra: 1 }, /unknown field 'Extra'/],
    [doc({ Effect: 'allow', Action: '*' }), /Statement\[0\]: 'Effect' must be "Allow" or "Deny"/],
    [doc({ Effect: 'Allow' }), /'Action' is required/],
    [doc({ Effect: 'Allow', Action: [] }), /'Action' must be a string or a non-empty array/],
    [doc({ Effect: 'Allow', Action: [1] }), /'Action'\[0\] must be a string/],
    [doc({ Effect: 'Allow', Action: 'bms servers' }), /action 'bms servers' is not of the form/],
    [doc({ Effect: 'Allow', Action: 'a:b:c:d' }), /not of the form/],
    [
      doc({ Effect: 'Allow', Action: '*', Resource: 'bms:*:*:instance:*' }),
      /resource 'bms:\*:\*:instance:\*' is not supported/,
    ],
    [doc({ Effect: 'Allow', Action: '*', NotAction: 'x' }), /unknown field 'NotAction'/],
    [
      doc(statement('Allow', '*', { StringEqualsIgnoreCase: { 'g:TagKeys': 'a' } })),
      /unknown condition operator 'StringEqualsIgnoreCase'; supported: StringEquals/,
    ],
    [
      doc(statement('Allow', '*', { 'ForEach:StringEquals': { 'g:TagKeys': 'a' } })),
      /unknown qualifier 'ForEach'/,
    ],
    [
      doc(statement('Allow', '*', { 'ForAllValues:Null': { 'g:TagKeys': 'true' } })),
      /'Null' takes no ForAllValues/,
    ],
    [
      doc(statement('Allow', '*', { StringEquals: { 'g:Region': 'eu' } })),
      /unknown condition key 'g:Region'; supported: g:ResourceTag\/<tag-key>/,
    ],
    [
      doc(statement('Allow', '*', { StringEquals: { 'g:ResourceTag/': 'x' } })),
      /unknown condition key 'g:ResourceTag\/'/,
    ],
    [
      doc(statement('Allow', '*', { StringEquals: { 'g:TagKeys': [] } })),
      /non-empty array of strings/,
    ],
    [
      doc(statement('Allow', '*', { StringEquals: { 'g:TagKeys': 3 } })),
      /must be a string or a non-empty array/,
    ],
    [
      doc(statement('Allow', '*', { StringEquals: {} })),
      /Condition.StringEquals: must be a non-empty object/,
    ],
    [
      doc(statement('Allow', '*', { Null: { 'g:TagKeys': 'yes' } })),
      /'Null' takes "true" or "false"/,
    ],
  ];
  for (const [d, message] of bad) {
    it(`refuses ${JSON.stringify(d).slice(0, 90)}`, () => {
      expect(() => compilePolicy(d)).toThrow(message);
    });
  }

  it('accepts the documented shapes', () => {
    expect(() =>
      compilePolicy({
        Version: '5.0',
        Statement: [
          { Sid: 'tags', Effect: 'Allow', Action: ['bms:servers:*'], Resource: ['*'] },
          {
            Effect: 'Deny',
            Action: 'bms:servers:batchDeleteBaremetalServerTags',
            Condition: {
              'ForAnyValue:StringLike': { 'g:TagKeys': ['prod*', 'sec*'] },
              Null: { 'g:ResourceTag/owner': 'false' },
            },
          },
        ],
      }),
    ).not.toThrow();
  });
});
