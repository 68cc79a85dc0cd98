import { createHmac } from 'node:crypto';
import querystring from 'node:querystring';
import { parse as legacyParse } from 'node:url';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { HKDF } from '@huaweicloud/huaweicloud-sdk-core/auth/HKDF.js';
import { describe, expect, it } from 'vitest';
import {
  derivedSigningKey,
  parseAuthorization,
  parseSdkDate,
} from '../../src/auth/aksk-signature.js';
import {
  candidateCanonicalRequests,
  canonicalQueries,
  canonicalUris,
  rfc3986,
} from '../../src/auth/canonical-request.js';

/** The Node SDK signer's own canonicalisation functions (protected in its typings). */
const sdk = AKSKSigner as unknown as {
  CanonicalURI(path: string): string;
  CanonicalQueryString(r: { queryParams: Record<string, unknown> }): string;
};

const VALUES = [
  'plain-id_1.2~x',
  'with space',
  '环境',
  '环境 x',
  'ключ',
  'Zürich',
  '😀 emoji',
  "quote'caret^pipe|",
  'back`tick{brace}',
  'a+b=c&d;e:f@g$h,i!j*k(l)m',
  '100%',
  encodeURIComponent('环境'),
  encodeURIComponent('with space'),
];

describe('canonical URIs', () => {
  it('include the form the Node SDK signs, for raw and pre-encoded path parameters', () => {
    for (const v of VALUES) {
      // HcClient puts the parameter into the path as given; the signer reads the legacy parser's
      // pathname and axios sends the WHATWG one.
      const full = `http://h.test/v1/p/tags/${v}`;
      const signed = sdk.CanonicalURI(legacyParse(full).pathname!);
      const wire = new URL(full).pathname;
      expect(canonicalUris(wire), `${v} sent as ${wire}`).toContain(signed);
    }
  });

  it('include the form of the Go, Python and Java SDKs: the decoded text, each segment encoded', () => {
    for (const v of VALUES) {
      const wire = `/v1/p/tags/${encodeURIComponent(v)}`;
      expect(canonicalUris(wire)).toContain(`/v1/p/tags/${rfc3986(v)}/`);
    }
  });

  it('always end in a slash and offer nothing but those forms', () => {
    expect(canonicalUris('/v1/p/tags')).toEqual(['/v1/p/tags/']);
    expect(canonicalUris('/v1/p/a%20b')).toEqual(['/v1/p/a%20b/', '/v1/p/a%2520b/']);
    expect(canonicalUris('/v1/p/%E7%8E%AF')).toEqual([
      '/v1/p/%E7%8E%AF/',
      '/v1/p/%25E7%258E%25AF/',
    ]);
    // Invalid UTF-8 cannot have come from raw text: only the two encoded forms.
    expect(canonicalUris('/v1/p/%FF')).toEqual(['/v1/p/%FF/', '/v1/p/%25FF/']);
  });
});

describe('canonical query strings', () => {
  it('include the form the Node SDK signs for what its HTTP client sends', () => {
    const cases: Record<string, unknown>[] = [
      { limit: 10, offset: 0 },
      { name: 'a b', z: 'ä/ö', a: '+' },
      { tag: ['b', 'a', 'c'], Key: 'Upper' },
      { empty: '' },
      { 'odd key': '~*()!' },
    ];
    for (const queryParams of cases) {
      const signed = sdk.CanonicalQueryString({ queryParams });
      const wire = querystring.stringify(queryParams as querystring.ParsedUrlQueryInput);
      expect(canonicalQueries(wire), wire).toContain(signed);
    }
  });

  it('also offer the Go SDK form, with lower-cased names, when a name has capitals', () => {
    expect(canonicalQueries('Limit=1&b=2')).toEqual(['Limit=1&b=2', 'b=2&limit=1']);
    expect(canonicalQueries('limit=1')).toEqual(['limit=1']);
  });

  it('read + as a space and give names without a value an empty one', () => {
    expect(canonicalQueries('q=a+b&flag')).toEqual(['flag=&q=a%20b']);
  });
});

describe('V11 derived signing key', () => {
  it('is the key the SDK derives with HKDF (salt: the access key; info: the scope)', () => {
    const info = '20240301/eu-de/bms';
    expect(derivedSigningKey('AKEXAMPLE', 'SKexample/secret', info)).toBe(
      HKDF.getDerKeySHA256('AKEXAMPLE', 'SKexample/secret', info),
    );
  });

  it('is HKDF-SHA256 extract-then-expand, as RFC 5869 defines it', () => {
    const prk = createHmac('sha256', 'AK').update('SK').digest();
    const okm = createHmac('sha256', prk)
      .update(Buffer.concat([Buffer.from('20240301/r/s'), Buffer.from([1])]))
      .digest('hex');
    expect(derivedSigningKey('AK', 'SK', '20240301/r/s')).toBe(okm);
  });
});

describe('Authorization header parsing', () => {
  const sig = 'a'.repeat(64);
  it('reads both algorithms', () => {
    expect(
      parseAuthorization(
        `SDK-HMAC-SHA256 Access=AK1, SignedHeaders=Host;X-Sdk-Date, Signature=${sig}`,
      ),
    ).toEqual({
      ok: true,
      auth: {
        algorithm: 'SDK-HMAC-SHA256',
        accessKey: 'AK1',
        signedHeaders: ['host', 'x-sdk-date'],
        signature: sig,
      },
    });
    const v11 = parseAuthorization(
      `V11-HMAC-SHA256 Credential=AK1/20240301/eu-de/bms, SignedHeaders=host;x-sdk-date, Signature=${sig}`,
    );
    expect(v11).toMatchObject({
      ok: true,
      auth: { accessKey: 'AK1', scope: { info: '20240301/eu-de/bms', region: 'eu-de' } },
    });
  });

  it('says what is wrong', () => {
    expect(parseAuthorization('Basic abc')).toMatchObject({ ok: false, reason: /unsupported/ });
    expect(parseAuthorization('SDK-HMAC-SHA256 Access=AK')).toMatchObject({
      ok: false,
      reason: 'the SignedHeaders, Signature field is missing or empty',
    });
  });
});

describe('X-Sdk-Date', () => {
  it('parses YYYYMMDDTHHMMSSZ and refuses anything else, including impossible dates', () => {
    expect(parseSdkDate('20240301T084422Z')).toBe(Date.UTC(2024, 2, 1, 8, 44, 22));
    expect(parseSdkDate('20240229T235959Z')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59));
    for (const bad of [
      '20240230T000000Z',
      '20230229T000000Z',
      '20240301T250000Z',
      '20240301T086000Z',
      '20240301T084460Z',
      '20241301T000000Z',
      '20240001T000000Z',
      '00990301T000000Z',
      '2024-03-01T08:44:22Z',
      '',
    ]) {
      expect(parseSdkDate(bad), bad).toBeUndefined();
    }
  });
});

describe('known answer', () => {
  it('reproduces the canonical request a real API Gateway logged for an SDK GET', () => {
    // A published APIGW "verify aksk signature fail" log, newlines shown as `|`: an SDK GET
    // whose payload hash is that of the `{}` body the SDK sends.
    const logged =
      'GET|/v1/086cc9ecba00267b2f36c00e44e5db7b/vpcs/||content-type:application/json|host:vpc.cn-east-3.myhuaweicloud.com|x-project-id:086cc9ecba00267b2f36c00e44e5db7b|x-sdk-date:20230301T084422Z||content-type;host;x-project-id;x-sdk-date|44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
    const req = {
      method: 'GET',
      rawPath: '/v1/086cc9ecba00267b2f36c00e44e5db7b/vpcs',
      rawQuery: '',
      headers: {
        'content-type': 'application/json',
        host: 'vpc.cn-east-3.myhuaweicloud.com',
        'x-project-id': '086cc9ecba00267b2f36c00e44e5db7b',
        'x-sdk-date': '20230301T084422Z',
        'user-agent': 'huaweicloud-usdk-nodejs/3.0',
      },
      body: Buffer.from('{}'),
    };
    const signed = ['content-type', 'host', 'x-project-id', 'x-sdk-date'];
    expect(
      [...candidateCanonicalRequests(req, signed)].map((c) => c.replace(/\n/g, '|')),
    ).toContain(logged);
  });
});
