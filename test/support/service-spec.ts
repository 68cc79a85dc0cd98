import type { ResourceType } from '../../src/services/registry.js';
import {
  asciiLetters,
  astral,
  astralLetters,
  chars,
  cjkCharacters,
  EMPTY,
  type Sample,
} from './text-samples.js';

/**
 * What SPEC §3 says about each service, written out by hand from SPEC rather than read from
 * src/services: the tests then check the profiles against the contract instead of repeating them.
 */

export type ServiceId = 'modelarts' | 'bms' | 'ddm' | 'as' | 'mrs';

export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** The error code (and status, 400 unless said) a failure of each kind is answered with. */
export interface ErrorCodes {
  /** Body not JSON, not an object. */
  readonly malformed: string;
  /** Body empty or absent. */
  readonly bodyEmpty: string;
  readonly tagsMissing: string;
  /** A `tags` item that is not an object. */
  readonly tagMalformed: string;
  readonly keyMissing: string;
  /** A key that is not a string. */
  readonly keyType: string;
  readonly keyEmpty: string;
  readonly keyTooLong: string;
  readonly keyInvalid: string;
  /** An absent `value` on create, where the service requires one. */
  readonly valueMissing: string;
  readonly valueNull: string;
  /** A value that is not a string (nor null). */
  readonly valueType: string;
  readonly valueTooLong: string;
  readonly valueInvalid: string;
  readonly duplicate: string;
  readonly tooMany: string;
  /** A delete naming a tag the resource lacks, where that is an error. */
  readonly tagAbsent?: string;
  readonly notFound: {
    readonly status: number;
    readonly code: string;
    /** The message, where SPEC gives it. */
    readonly message?: (id: string) => string;
  };
  /** A body whose Content-Type the service does not take. */
  readonly mediaType: { readonly status: number; readonly code: string };
}

/** The name of one of a service's codes, as the rule cases refer to them. */
export type CodeName = {
  [K in keyof ErrorCodes]-?: ErrorCodes[K] extends string ? K : never;
}[keyof ErrorCodes];

/** A refusal's status and code. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
}

/** How a service refuses a caller (SPEC §3 tables, §6 scope). */
export interface Refusals {
  /** Credentials scoped to another project (a token of another project, a domain token). */
  readonly project: Refusal;
  /** A project outside the caller's domain. */
  readonly domain: Refusal;
  /** An IAM user whose identity policies refuse the action. */
  readonly policy: Refusal;
}

export interface ServiceSpec {
  readonly id: ServiceId;
  readonly type: ResourceType;
  /** `flat`: `{"error_code","error_msg"}`; `nested`: `{"error":{"code","message"}}`. */
  readonly envelope: 'flat' | 'nested';
  readonly maxTags: number;
  readonly codes: ErrorCodes;
  readonly refusals: Refusals;
  /** Create: an existing key takes the new value (else: the request is refused). */
  readonly overwrites: boolean;
  /** Delete: naming a tag the resource lacks succeeds (else: the request is refused). */
  readonly absentDeleteSucceeds: boolean;
  /** Create: an absent `value` means "" (else: 400). */
  readonly valueOptional: boolean;
  /** Create limits in code points. */
  readonly keyMax: number;
  readonly valueMax: number;
  /** Delete limits in code points. */
  readonly deleteKeyMax: number;
  readonly deleteValueMax: number;
  /** Success of create/delete: status, and whether the body is `{"tags":[…]}` or empty. */
  readonly writeStatus: number;
  readonly writeBody: 'tags' | 'empty';
  /** A key every create rule accepts, used to build valid tags. */
  readonly sampleKey: string;
  readonly listUrl: (project: string, id: string) => string;
  readonly createRequest: (project: string, id: string, tags: unknown) => WriteRequest;
  readonly deleteRequest: (project: string, id: string, tags: unknown) => WriteRequest;
  /** The service's other routes on one resource (one tag set or deleted), with a valid body. */
  readonly singleTagRequests: (project: string, id: string) => WriteRequest[];
  /** Extra fields of the single-resource listing. */
  readonly listExtras: Readonly<Record<string, unknown>>;
  /** The cases its create and delete rules are tested with (test/http/services/rules.test.ts). */
  readonly rules: ServiceRules;
}

export interface WriteRequest {
  readonly method: 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  /** Absent: the request has no body. */
  readonly body?: Record<string, unknown>;
}

/**
 * The create rules of a key or of a value (SPEC §3), as the texts they are tried with: a key
 * goes in `{"key": text, "value": "v"}`, a value in `{"key": "k", "value": text}`.
 */
export interface TextRule {
  /**
   * Texts at the length limit (in code points) in each script the character set allows, and the
   * shortest; then texts one past the limit, refused as too long.
   */
  readonly lengths: { readonly accepted: readonly Sample[]; readonly refused: readonly Sample[] };
  /** Characters refused inside a text (`a…b`), besides ASCII 0–31, which every service refuses. */
  readonly refusedChars: readonly Sample[];
  /** Whole texts the character rules accept, or refuse: scripts, symbols, spaces, prefixes. */
  readonly accepted: readonly Sample[];
  readonly refused: readonly Sample[];
}

/** A create decided by the rules alone: refused with a code, or accepted storing `stored`. */
export type CreateCase = { readonly label: string; readonly tags: readonly unknown[] } & (
  | { readonly refused: CodeName }
  | { readonly stored: readonly Tag[] }
);

/** A create on a resource holding `holding` tags (`tagsN`), against the tag limit. */
export interface Merge {
  readonly label: string;
  readonly holding: number;
  readonly tags: readonly Tag[];
  /** Refused as too many tags (else: accepted, the resource then holding old and new tags). */
  readonly refused: boolean;
}

/**
 * A delete selector checked on its own: accepted (on a resource without it), or refused with a
 * code when it follows a valid selector, nothing deleted.
 */
export interface DeleteCase {
  readonly label: string;
  readonly tag: Readonly<Record<string, unknown>>;
  readonly refused?: CodeName;
}

/** What the per-service rule tests try, beyond what the codes and limits above say. */
export interface ServiceRules {
  /** A tag a successful create is shown with (the API reference's example, where it has one). */
  readonly example: Tag;
  readonly key: TextRule;
  readonly value: TextRule;
  /** Keys and values of many other characters, accepted together in one create. */
  readonly acceptedTogether?: readonly Tag[];
  /** Creates with a key or value missing, empty, null or not a string. */
  readonly incomplete: readonly CreateCase[];
  /** A create naming one key twice. */
  readonly duplicate: readonly Tag[];
  readonly merges: readonly Merge[];
  readonly deletes: readonly DeleteCase[];
}

/** A valid tag put before the one a case is about, so that the whole request must be refused. */
const OK = { key: 'ok', value: 'v' };

/** `{"action":…,"tags":…}` on one URL, as BMS, AS and MRS take it. */
function actionRequests(url: (project: string, id: string) => string) {
  return {
    createRequest: (project: string, id: string, tags: unknown): WriteRequest => ({
      method: 'POST',
      url: url(project, id),
      body: { action: 'create', tags },
    }),
    deleteRequest: (project: string, id: string, tags: unknown): WriteRequest => ({
      method: 'POST',
      url: url(project, id),
      body: { action: 'delete', tags },
    }),
  };
}

const ma = (p: string, id: string) => `/v1/${p}/dev-servers/hyperinstance/${id}/tags`;
const bmsUrl = (p: string, id: string) => `/v1/${p}/baremetalservers/${id}/tags`;
const ddmUrl = (p: string, id: string) => `/v3/${p}/instances/${id}/tags`;
const asUrl = (p: string, id: string) => `/autoscaling-api/v1/${p}/scaling_group_tag/${id}/tags`;
const mrsUrl = (p: string, id: string) => `/v1.1/${p}/clusters/${id}/tags`;

const allCodes = (code: string, notFound: ErrorCodes['notFound']): ErrorCodes => ({
  malformed: code,
  bodyEmpty: code,
  tagsMissing: code,
  tagMalformed: code,
  keyMissing: code,
  keyType: code,
  keyEmpty: code,
  keyTooLong: code,
  keyInvalid: code,
  valueMissing: code,
  valueNull: code,
  valueType: code,
  valueTooLong: code,
  valueInvalid: code,
  duplicate: code,
  tooMany: code,
  notFound,
  mediaType: { status: 400, code },
});

export const MODELARTS: ServiceSpec = {
  id: 'modelarts',
  type: 'modelarts_hyperinstance',
  envelope: 'flat',
  maxTags: 20,
  // Every tag error is ModelArts.0101 "Invalid Argument"; an unknown supernode ModelArts.6404.
  codes: {
    ...allCodes('ModelArts.0101', {
      status: 400,
      code: 'ModelArts.6404',
      message: (id) => `LiteServer instance '${id}' not found.`,
    }),
    tagAbsent: 'ModelArts.0101',
  },
  refusals: {
    project: { status: 403, code: 'ModelArts.0210' },
    domain: { status: 403, code: 'ModelArts.0108' },
    // No permission is needed (the seed): a policy never refuses; the code would be 0108.
    policy: { status: 403, code: 'ModelArts.0108' },
  },
  overwrites: false,
  absentDeleteSucceeds: false,
  valueOptional: false,
  keyMax: 128,
  valueMax: 255,
  deleteKeyMax: 128,
  deleteValueMax: 255,
  writeStatus: 200,
  writeBody: 'tags',
  sampleKey: 'k',
  listUrl: ma,
  createRequest: (p, id, tags) => ({ method: 'POST', url: `${ma(p, id)}/create`, body: { tags } }),
  deleteRequest: (p, id, tags) => ({ method: 'POST', url: `${ma(p, id)}/delete`, body: { tags } }),
  listExtras: {},
  singleTagRequests: () => [],
  rules: {
    example: { key: 'zeta', value: 'z' },
    key: {
      lengths: {
        accepted: [
          asciiLetters(128),
          astralLetters(128),
          cjkCharacters(128),
          ['127 letters and one astral letter', `${'a'.repeat(127)}${astral(1)}`],
          ['one letter', 'k'],
        ],
        refused: [asciiLetters(129), astralLetters(129)],
      },
      // Letters of any script, digits, space and _ . : = + - @ only.
      refusedChars: [
        ...chars('/*<>\\,|#!?&%$()[]{}\'";~`^'),
        ['an emoji', '😀'],
        ['a currency sign', '€'],
        ['DEL', '\x7f'],
      ],
      accepted: [
        ['Latin with diacritics', 'Straße-Größe'],
        ['Greek', 'Ωμέγα'],
        ['Cyrillic', 'Данные'],
        ['CJK', '数据中心'],
        ['Japanese kana', 'データ'],
        ['Arabic', 'بيانات'],
        ['astral letters', astral(3)],
        ['digits', '0123456789'],
        ['an inner space', 'cost center'],
        ['every allowed symbol', 'a_b.c:d=e+f-g@h'],
        ['symbols at both ends', '@team.'],
      ],
      // The 'sys' prefix, with the message naming it, is tested in modelarts.test.ts.
      refused: [
        ['a leading space', ' key'],
        ['a trailing space', 'key '],
        ['only a space', ' '],
      ],
    },
    value: {
      lengths: {
        accepted: [asciiLetters(255, 'v'), astralLetters(255), EMPTY],
        refused: [asciiLetters(256, 'v'), astralLetters(256)],
      },
      // The key's set plus /.
      refusedChars: chars('*<>\\,|#!?&%$()[]{}\'";~`^'),
      accepted: [
        ['a slash', 'a/b/c'],
        ['every allowed symbol', 'a_b.c:d/e=f+g-h@i'],
        ['outer spaces', ' padded '],
        ['letters of other scripts', `Ωμέγα数据${astral(2)}`],
      ],
      refused: [],
    },
    incomplete: [
      { label: 'an empty key', tags: [{ key: '', value: 'v' }], refused: 'keyEmpty' },
      // The value is mandatory.
      { label: 'an absent value', tags: [OK, { key: 'k' }], refused: 'valueMissing' },
      { label: 'a null value', tags: [OK, { key: 'k', value: null }], refused: 'valueNull' },
      { label: 'a number as value', tags: [OK, { key: 'k', value: 1 }], refused: 'valueType' },
    ],
    duplicate: [
      { key: 'a', value: '1' },
      { key: 'a', value: '2' },
    ],
    // Keys are never overwritten: the merges of new keys are tested with the limit's message in
    // modelarts.test.ts.
    merges: [{ label: 'one new', holding: 20, tags: [{ key: 'n', value: '' }], refused: true }],
    deletes: [
      { label: 'an empty key', tag: { key: '' }, refused: 'keyEmpty' },
      { label: 'a key too long', tag: { key: 'k'.repeat(129) }, refused: 'keyTooLong' },
      {
        label: 'a value too long',
        tag: { key: 'k0', value: 'v'.repeat(256) },
        refused: 'valueTooLong',
      },
      { label: 'a null value', tag: { key: 'k0', value: null }, refused: 'valueNull' },
    ],
  },
};

export const BMS: ServiceSpec = {
  id: 'bms',
  type: 'bms_server',
  envelope: 'nested',
  maxTags: 20,
  codes: {
    ...allCodes('BMS.0022', { status: 400, code: 'BMS.0040' }),
    // The first 400 row is the generic code of everything not given its own.
    malformed: 'BMS.0001',
    bodyEmpty: 'BMS.0001',
    tagsMissing: 'BMS.0001',
    mediaType: { status: 400, code: 'BMS.0001' },
  },
  refusals: {
    project: { status: 403, code: 'BMS.0033' },
    domain: { status: 403, code: 'BMS.0033' },
    policy: { status: 403, code: 'BMS.0033' },
  },
  overwrites: true,
  absentDeleteSucceeds: true,
  valueOptional: true,
  keyMax: 36,
  valueMax: 43,
  deleteKeyMax: 36,
  deleteValueMax: 43,
  writeStatus: 204,
  writeBody: 'empty',
  sampleKey: 'k',
  listUrl: bmsUrl,
  ...actionRequests((p, id) => `${bmsUrl(p, id)}/action`),
  listExtras: {},
  singleTagRequests: () => [],
  rules: {
    example: { key: 'env', value: 'dev' },
    key: {
      lengths: {
        accepted: [
          asciiLetters(36),
          astralLetters(36),
          cjkCharacters(36),
          ['35 letters and one astral letter', `${'a'.repeat(35)}${astral(1)}`],
        ],
        refused: [asciiLetters(37), astralLetters(37)],
      },
      refusedChars: chars('=*<>\\,|/'),
      accepted: [],
      refused: [],
    },
    value: {
      lengths: {
        accepted: [asciiLetters(43, 'v'), astralLetters(43), EMPTY],
        refused: [asciiLetters(44, 'v'), astralLetters(44)],
      },
      refusedChars: chars('=*<>\\,|/'),
      accepted: [],
      refused: [],
    },
    acceptedTogether: [
      { key: 'a b.c:d@e#f$g%h^i&j(k)l[m]n{o}p', value: '~`!?;\'"+_-.:@# $%^&()[]{}' },
      { key: `Größe 数据 ${astral(2)} 😀`, value: `Ωμέγα ${astral(3)}` },
      { key: 'sys', value: 'sys' },
      { key: '_sys_k', value: '' },
    ],
    incomplete: [
      { label: 'an empty key', tags: [{ key: '', value: 'v' }], refused: 'keyEmpty' },
      { label: 'an absent value', tags: [{ key: 'k' }], stored: [{ key: 'k', value: '' }] },
      { label: 'a null value', tags: [{ key: 'k', value: null }], refused: 'valueNull' },
      { label: 'a number as value', tags: [{ key: 'k', value: 7 }], refused: 'valueType' },
    ],
    // Even with the same value.
    duplicate: [
      { key: 'a', value: '1' },
      { key: 'a', value: '1' },
    ],
    merges: [
      { label: 'overwriting one', holding: 20, tags: [{ key: 'k5', value: 'x' }], refused: false },
      {
        label: 'one overwrite and one new',
        holding: 19,
        tags: [
          { key: 'k0', value: 'x' },
          { key: 'n', value: '' },
        ],
        refused: false,
      },
      { label: 'two new', holding: 19, tags: tagsN(2, 'n'), refused: true },
    ],
    deletes: [
      { label: 'a 36-character key', tag: { key: astral(36) } },
      { label: 'a 43-character value', tag: { key: 'k', value: astral(43) } },
      { label: 'a 37-character key', tag: { key: astral(37) }, refused: 'keyTooLong' },
      {
        label: 'a 44-character value',
        tag: { key: 'k0', value: astral(44) },
        refused: 'valueTooLong',
      },
      { label: 'an empty key', tag: { key: '' }, refused: 'keyEmpty' },
      { label: 'a missing key', tag: { value: 'v0' }, refused: 'keyMissing' },
      { label: 'a null value', tag: { key: 'k0', value: null }, refused: 'valueNull' },
    ],
  },
};

export const DDM: ServiceSpec = {
  id: 'ddm',
  type: 'ddm_instance',
  envelope: 'flat',
  maxTags: 20,
  codes: {
    ...allCodes('DBS.280001', { status: 400, code: 'DBS.200002' }),
    mediaType: { status: 415, code: 'DBS.280415' },
  },
  refusals: {
    project: { status: 403, code: 'DBS.200003' },
    domain: { status: 403, code: 'DBS.200003' },
    policy: { status: 403, code: 'DBS.200003' },
  },
  overwrites: true,
  absentDeleteSucceeds: true,
  valueOptional: true,
  keyMax: 36,
  valueMax: 43,
  deleteKeyMax: 36,
  deleteValueMax: 43,
  writeStatus: 200,
  writeBody: 'empty',
  sampleKey: 'k',
  listUrl: ddmUrl,
  createRequest: (p, id, tags) => ({
    method: 'POST',
    url: `${ddmUrl(p, id)}/create`,
    body: { tags },
  }),
  deleteRequest: (p, id, tags) => ({
    method: 'POST',
    url: `${ddmUrl(p, id)}/delete`,
    body: { tags },
  }),
  listExtras: {},
  singleTagRequests: (p, id) => [
    { method: 'PUT', url: `${ddmUrl(p, id)}/k`, body: { value: 'v' } },
  ],
  rules: {
    example: { key: 'k', value: 'v' },
    key: {
      lengths: {
        accepted: [asciiLetters(36), astralLetters(36), cjkCharacters(36)],
        refused: [asciiLetters(37), astralLetters(37)],
      },
      refusedChars: chars('*<>\\,|/'),
      accepted: [
        ['=', 'a=b'],
        ['an inner space', 'a b'],
        ['other symbols', 'a.b:c@d#e$f%g^h&i(j)+k-l_m~'],
        ['sys', 'sys'],
        ['_sys without the second underscore', '_sysx'],
        ['_sys_ not at the start', 'a_sys_'],
      ],
      refused: [
        ['_sys_', '_sys_'],
        ['starting with _sys_', '_sys_tag'],
        ['a leading space', ' key'],
        ['a trailing space', 'key '],
        ['only a space', ' '],
      ],
    },
    value: {
      lengths: {
        accepted: [asciiLetters(43, 'v'), astralLetters(43), EMPTY],
        refused: [asciiLetters(44, 'v'), astralLetters(44)],
      },
      refusedChars: chars('*<>\\,|'),
      accepted: [
        ['/', 'a/b'],
        ['=', 'a=b'],
        ['_sys_', '_sys_v'],
      ],
      refused: [],
    },
    incomplete: [
      { label: 'an empty key', tags: [{ key: '', value: 'v' }], refused: 'keyEmpty' },
      // A mandatory field with "" as its default.
      { label: 'an absent value', tags: [{ key: 'k' }], stored: [{ key: 'k', value: '' }] },
      { label: 'a null value', tags: [{ key: 'k', value: null }], refused: 'valueNull' },
      { label: 'a number as value', tags: [{ key: 'k', value: 0 }], refused: 'valueType' },
    ],
    duplicate: [
      { key: 'a', value: '1' },
      { key: 'a', value: '2' },
    ],
    merges: [
      {
        label: 'overwriting two',
        holding: 20,
        tags: [
          { key: 'k1', value: 'a' },
          { key: 'k2', value: 'b' },
        ],
        refused: false,
      },
      {
        label: 'one overwrite and one new',
        holding: 20,
        tags: [
          { key: 'k1', value: 'changed' },
          { key: 'n', value: '' },
        ],
        refused: true,
      },
    ],
    // Keys and values are checked with the create rules.
    deletes: [
      { label: 'a forbidden key character', tag: { key: 'a*b' }, refused: 'keyInvalid' },
      { label: 'a key starting with _sys_', tag: { key: '_sys_a' }, refused: 'keyInvalid' },
      { label: 'a key with an outer space', tag: { key: ' x ' }, refused: 'keyInvalid' },
      { label: 'a control character in a key', tag: { key: 'a\u0001b' }, refused: 'keyInvalid' },
      { label: 'a 37-character key', tag: { key: astral(37) }, refused: 'keyTooLong' },
      {
        label: 'a forbidden value character',
        tag: { key: 'k0', value: 'a|b' },
        refused: 'valueInvalid',
      },
      {
        label: 'a control character in a value',
        tag: { key: 'k0', value: 'a\tb' },
        refused: 'valueInvalid',
      },
      {
        label: 'a 44-character value',
        tag: { key: 'k0', value: astral(44) },
        refused: 'valueTooLong',
      },
      { label: 'an empty key', tag: { key: '' }, refused: 'keyEmpty' },
      { label: 'a missing key', tag: { value: 'v0' }, refused: 'keyMissing' },
    ],
  },
};

export const AS: ServiceSpec = {
  id: 'as',
  type: 'as_group',
  envelope: 'nested',
  maxTags: 10,
  codes: {
    malformed: 'AS.0022',
    bodyEmpty: 'AS.0002',
    tagsMissing: 'AS.7044',
    tagMalformed: 'AS.0022',
    keyMissing: 'AS.7062',
    keyType: 'AS.0022',
    keyEmpty: 'AS.7062',
    keyTooLong: 'AS.7063',
    keyInvalid: 'AS.7046',
    valueMissing: 'AS.0022',
    valueNull: 'AS.0022',
    valueType: 'AS.0022',
    valueTooLong: 'AS.7047',
    valueInvalid: 'AS.7047',
    duplicate: 'AS.7050',
    tooMany: 'AS.7045',
    notFound: { status: 400, code: 'AS.2007' },
    mediaType: { status: 400, code: 'AS.0022' },
  },
  refusals: {
    project: { status: 400, code: 'AS.0008' },
    domain: { status: 400, code: 'AS.0008' },
    policy: { status: 403, code: 'AS.0011' },
  },
  overwrites: true,
  absentDeleteSucceeds: true,
  valueOptional: true,
  keyMax: 36,
  valueMax: 43,
  deleteKeyMax: 127,
  deleteValueMax: 255,
  writeStatus: 204,
  writeBody: 'empty',
  sampleKey: 'k',
  listUrl: asUrl,
  ...actionRequests((p, id) => `${asUrl(p, id)}/action`),
  listExtras: { sys_tags: [] },
  singleTagRequests: () => [],
  rules: {
    example: { key: 'ENV15', value: 'ENV15' },
    // A-Z a-z 0-9 - _ and U+4E00–U+9FFF: astral letters are refused for their set.
    key: {
      lengths: {
        accepted: [cjkCharacters(36), asciiLetters(36), ['one character', '-']],
        refused: [cjkCharacters(37), asciiLetters(37)],
      },
      refusedChars: [
        ...chars('. =*<>\\,|/@:+#'),
        ['U+4DFF (below the CJK range)', '\u4DFF'],
        ['U+A000 (above the CJK range)', '\uA000'],
        ['an astral letter', astral(1)],
        ['a Latin letter with a diacritic', 'é'],
      ],
      accepted: [
        ['the whole ASCII set', 'AZaz09-_'],
        ['U+4E00 and U+9FFF', '\u4E00\u9FFF'],
      ],
      refused: [],
    },
    // The key's set plus ".".
    value: {
      lengths: {
        accepted: [
          cjkCharacters(43),
          ['43 ASCII characters with dots', `${'v.'.repeat(21)}v`],
          EMPTY,
        ],
        refused: [cjkCharacters(44)],
      },
      refusedChars: [
        ...chars(' =*<>\\,|/@:+#'),
        ['U+4DFF', '\u4DFF'],
        ['U+A000', '\uA000'],
        ['an astral letter', astral(1)],
      ],
      accepted: [['the whole set', 'AZaz09-_.\u4E00\u9FFF']],
      refused: [],
    },
    incomplete: [
      { label: 'an empty key', tags: [OK, { key: '', value: 'v' }], refused: 'keyEmpty' },
      { label: 'a missing key', tags: [OK, { value: 'v' }], refused: 'keyMissing' },
      { label: 'a null key', tags: [OK, { key: null, value: 'v' }], refused: 'keyMissing' },
      { label: 'an absent value', tags: [{ key: 'k' }], stored: [{ key: 'k', value: '' }] },
    ],
    duplicate: [
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
      { key: 'a', value: '1' },
    ],
    merges: [
      { label: 'overwriting one', holding: 10, tags: [{ key: 'k9', value: 'x' }], refused: false },
      {
        label: 'one overwrite and one new',
        holding: 9,
        tags: [
          { key: 'k0', value: 'x' },
          { key: 'n', value: '' },
        ],
        refused: false,
      },
      { label: 'two new', holding: 9, tags: tagsN(2, 'n'), refused: true },
    ],
    // Characters are not checked on delete (as.test.ts); lengths up to 127 and 255.
    deletes: [
      { label: 'a 127-character key', tag: { key: astral(127) } },
      { label: 'a 255-character value', tag: { key: 'k', value: astral(255) } },
      { label: 'a 128-character key', tag: { key: astral(128) }, refused: 'keyTooLong' },
      {
        label: 'a 256-character value',
        tag: { key: 'k0', value: astral(256) },
        refused: 'valueTooLong',
      },
      { label: 'an empty key', tag: { key: '' }, refused: 'keyEmpty' },
      { label: 'a missing key', tag: { value: 'v0' }, refused: 'keyMissing' },
    ],
  },
};

export const MRS: ServiceSpec = {
  id: 'mrs',
  type: 'mrs_cluster',
  envelope: 'flat',
  maxTags: 10,
  codes: {
    ...allCodes('12000002', { status: 400, code: '12000003' }),
    keyEmpty: '12005002',
    keyTooLong: '12005002',
    keyInvalid: '12005002',
    valueTooLong: '12005002',
    valueInvalid: '12005002',
    duplicate: '12005002',
    tooMany: '12005001',
  },
  refusals: {
    project: { status: 400, code: '12000052' },
    domain: { status: 400, code: '12000052' },
    policy: { status: 401, code: '12000136' },
  },
  overwrites: true,
  absentDeleteSucceeds: true,
  valueOptional: true,
  keyMax: 36,
  valueMax: 43,
  deleteKeyMax: 36,
  deleteValueMax: 43,
  writeStatus: 204,
  writeBody: 'empty',
  sampleKey: 'k',
  listUrl: mrsUrl,
  ...actionRequests((p, id) => `${mrsUrl(p, id)}/action`),
  listExtras: {},
  singleTagRequests: (p, id) => [
    { method: 'POST', url: mrsUrl(p, id), body: { tag: { key: 'k', value: 'v' } } },
    { method: 'DELETE', url: `${mrsUrl(p, id)}/k0` },
  ],
  rules: {
    example: { key: 'key1', value: 'value1' },
    // No ASCII 0–31, none of = * < > \ , | /, no outer spaces.
    key: {
      lengths: {
        accepted: [asciiLetters(36), astralLetters(36), cjkCharacters(36)],
        refused: [asciiLetters(37), astralLetters(37)],
      },
      refusedChars: chars('=*<>\\,|/'),
      accepted: [],
      refused: [
        ['a leading space', ' k'],
        ['a trailing space', 'k '],
      ],
    },
    value: {
      lengths: {
        accepted: [asciiLetters(43, 'v'), astralLetters(43), EMPTY],
        refused: [asciiLetters(44, 'v'), astralLetters(44)],
      },
      refusedChars: chars('=*<>\\,|/'),
      accepted: [],
      refused: [
        ['a leading space', ' v'],
        ['a trailing space', 'v '],
        ['one space', ' '],
      ],
    },
    acceptedTogether: [
      { key: 'a b.c:d@e#f$g%h^i&j(k)+l-m_n', value: 'x y.z:@#$%^&()[]{}~!?;' },
      { key: `Größe 数据 ${astral(2)}`, value: `Ωμέγα ${astral(3)}` },
    ],
    incomplete: [
      { label: 'an empty key', tags: [{ key: '', value: 'v' }], refused: 'keyEmpty' },
      { label: 'a missing key', tags: [{ value: 'v' }], refused: 'keyMissing' },
      // The Terraform providers send {"key":"k"} for an empty value.
      {
        label: 'an absent value',
        tags: [{ key: 'k' }, { key: 'k2', value: 'v' }],
        stored: [
          { key: 'k', value: '' },
          { key: 'k2', value: 'v' },
        ],
      },
      { label: 'a null value', tags: [OK, { key: 'k', value: null }], refused: 'valueNull' },
      { label: 'a number as value', tags: [OK, { key: 'k', value: 1 }], refused: 'valueType' },
    ],
    duplicate: [
      { key: 'a', value: '1' },
      { key: 'a', value: '2' },
    ],
    merges: [
      { label: 'overwriting one', holding: 10, tags: [{ key: 'k3', value: 'x' }], refused: false },
      { label: 'two new', holding: 9, tags: tagsN(2, 'n'), refused: true },
    ],
    // Characters and outer spaces are not checked on delete (mrs.test.ts).
    deletes: [
      { label: 'a 36-character key', tag: { key: astral(36) } },
      { label: 'a 43-character value', tag: { key: 'k', value: astral(43) } },
      { label: 'a 37-character key', tag: { key: astral(37) }, refused: 'keyTooLong' },
      {
        label: 'a 44-character value',
        tag: { key: 'k0', value: astral(44) },
        refused: 'valueTooLong',
      },
      { label: 'an empty key', tag: { key: '' }, refused: 'keyEmpty' },
      { label: 'a missing key', tag: { value: 'v0' }, refused: 'keyMissing' },
    ],
  },
};

export const SERVICE_SPECS: Readonly<Record<ServiceId, ServiceSpec>> = {
  modelarts: MODELARTS,
  bms: BMS,
  ddm: DDM,
  as: AS,
  mrs: MRS,
};

/** `n` distinct tags `${prefix}0…` with values `v0…`, valid for every service. */
export function tagsN(n: number, prefix = 'k'): Tag[] {
  return Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: `v${i}` }));
}

/** A fixed order to compare tag lists in (the single-resource listing's order is not part of SPEC). */
export function sortTags(tags: readonly Tag[]): Tag[] {
  return [...tags].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
