import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_DATABASE_URL, parseServeConfig } from '../../src/config.js';

describe('parseServeConfig', () => {
  it('has the documented defaults', () => {
    const c = parseServeConfig({}, {});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      databaseUrl: DEFAULT_DATABASE_URL,
      auth: 'strict',
      demo: true,
      logLevel: 'info',
      logFormat: 'auto',
      pgPoolSize: 10,
      sqliteBusyTimeoutMs: 10_000,
      idleTimeoutMs: 75_000,
      requestTimeoutMs: 30_000,
      queryTimeoutMs: 10_000,
      readThreads: 2,
    });
    expect(c.seedFile).toBeUndefined();
    expect(c.adminToken).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads every TAGPLANE_* variable', () => {
    const c = parseServeConfig(
      {},
      {
        TAGPLANE_HOST: '0.0.0.0',
        TAGPLANE_PORT: '9090',
        TAGPLANE_DATABASE_URL: 'sqlite::memory:',
        TAGPLANE_SEED: '/tmp/seed.json',
        TAGPLANE_AUTH: 'open',
        TAGPLANE_ADMIN_TOKEN: 'a-long-enough-admin-token',
        TAGPLANE_DEMO: '0',
        TAGPLANE_LOG_LEVEL: 'debug',
        TAGPLANE_PG_POOL: '25',
        TAGPLANE_SQLITE_BUSY_TIMEOUT: '0',
        TAGPLANE_IDLE_TIMEOUT: '5',
        TAGPLANE_REQUEST_TIMEOUT: '2.5',
        TAGPLANE_QUERY_TIMEOUT: '0.25',
      },
    );
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 9090,
      databaseUrl: 'sqlite::memory:',
      seedFile: '/tmp/seed.json',
      auth: 'open',
      adminToken: 'a-long-enough-admin-token',
      demo: false,
      logLevel: 'debug',
      pgPoolSize: 25,
      sqliteBusyTimeoutMs: 0,
      idleTimeoutMs: 5_000,
      requestTimeoutMs: 2_500,
      queryTimeoutMs: 250,
    });
  });

  it('time limits: flags win over the environment; a bad one is refused naming its flag', () => {
    const c = parseServeConfig(
      { idleTimeout: '1', requestTimeout: '0.5', queryTimeout: '3' },
      { TAGPLANE_IDLE_TIMEOUT: '9', TAGPLANE_REQUEST_TIMEOUT: '9', TAGPLANE_QUERY_TIMEOUT: '9' },
    );
    expect(c).toMatchObject({ idleTimeoutMs: 1_000, requestTimeoutMs: 500, queryTimeoutMs: 3_000 });
    for (const [flags, name] of [
      [{ queryTimeout: '0' }, '--query-timeout'],
      [{ queryTimeout: '-1' }, '--query-timeout'],
      [{ idleTimeout: 'soon' }, '--idle-timeout'],
      [{ requestTimeout: '3601' }, '--request-timeout'],
    ] as const) {
      expect(() => parseServeConfig(flags, {}), name).toThrow(ConfigError);
      expect(() => parseServeConfig(flags, {}), name).toThrow(name);
    }
  });

  it('a log level or format it does not know: an error listing the valid ones', () => {
    expect(() => parseServeConfig({ logLevel: 'verbose' }, {})).toThrow(
      new ConfigError(
        "invalid log level 'verbose' (--log-level, TAGPLANE_LOG_LEVEL): use one of fatal, error, warn, info, debug, trace, silent",
      ),
    );
    expect(() => parseServeConfig({}, { TAGPLANE_LOG_FORMAT: 'pretty' })).toThrow(
      new ConfigError(
        "invalid log format 'pretty' (--log-format, TAGPLANE_LOG_FORMAT): use one of auto, text, json",
      ),
    );
    expect(parseServeConfig({ logFormat: 'json' }, { TAGPLANE_LOG_FORMAT: 'text' }).logFormat).toBe(
      'json',
    );
  });

  it('flags win over the environment', () => {
    const c = parseServeConfig(
      {
        host: '127.0.0.2',
        port: '0',
        database: 'sqlite:/tmp/a.db',
        seed: '/tmp/flag.json',
        auth: 'strict',
        adminToken: 'flag-admin-token-123456',
      },
      {
        TAGPLANE_HOST: '0.0.0.0',
        TAGPLANE_PORT: '9090',
        TAGPLANE_DATABASE_URL: 'sqlite::memory:',
        TAGPLANE_SEED: '/tmp/env.json',
        TAGPLANE_AUTH: 'open',
        TAGPLANE_ADMIN_TOKEN: 'env-admin-token-1234567',
      },
    );
    expect(c).toMatchObject({
      host: '127.0.0.2',
      port: 0,
      databaseUrl: 'sqlite:/tmp/a.db',
      seedFile: '/tmp/flag.json',
      auth: 'strict',
      adminToken: 'flag-admin-token-123456',
    });
  });

  it('several workers only with PostgreSQL; one by default', () => {
    expect(parseServeConfig({}, {}).workers).toBe(1);
    expect(parseServeConfig({ workers: '1' }, {}).workers).toBe(1);
    const pg = 'postgres://db/tagplane';
    expect(parseServeConfig({ workers: '4', database: pg }, {}).workers).toBe(4);
    expect(parseServeConfig({}, { TAGPLANE_WORKERS: '2', TAGPLANE_DATABASE_URL: pg }).workers).toBe(
      2,
    );
    expect(() => parseServeConfig({ workers: '2', database: 'sqlite::memory:' }, {})).toThrow(
      /needs the PostgreSQL store/,
    );
  });

  it('an empty variable counts as unset', () => {
    expect(parseServeConfig({}, { TAGPLANE_PORT: '', TAGPLANE_AUTH: '' })).toMatchObject({
      port: 8080,
      auth: 'strict',
    });
  });

  it.each([
    [{ port: 'abc' }, {}],
    [{ port: '65536' }, {}],
    [{ port: '-1' }, {}],
    [{ port: '8080x' }, {}],
    [{}, { TAGPLANE_PORT: '1e3' }],
    [{ auth: 'maybe' }, {}],
    [{}, { TAGPLANE_AUTH: 'OPEN' }],
    [{ database: 'mysql://x' }, {}],
    [{ database: 'sqlite:' }, {}],
    [{ adminToken: 'short' }, {}],
    [{}, { TAGPLANE_PG_POOL: '0' }],
    [{}, { TAGPLANE_SQLITE_BUSY_TIMEOUT: '-1' }],
    [{}, { TAGPLANE_SQLITE_BUSY_TIMEOUT: '600001' }],
    [{}, { TAGPLANE_SQLITE_BUSY_TIMEOUT: '1s' }],
    [{ workers: '0' }, {}],
    [{ workers: '1.5' }, {}],
    [{ workers: '65' }, {}],
    [{ workers: '2' }, {}],
    [{}, { TAGPLANE_WORKERS: '2', TAGPLANE_DATABASE_URL: 'sqlite:/tmp/x.db' }],
  ])('refuses %j %j with a ConfigError', (flags, env) => {
    expect(() => parseServeConfig(flags, env)).toThrow(ConfigError);
  });

  describe('lockouts', () => {
    it('default to IAM’s and the gateway’s: 5/15/15 and 5/5', () => {
      const c = parseServeConfig({}, {});
      expect(c.loginLockout).toEqual({ attempts: 5, windowMs: 900_000, lockMs: 900_000 });
      expect(c.akskLockout).toEqual({ failures: 5, lockMs: 300_000 });
    });

    it('are read from the flags, or else the environment; off switches them off', () => {
      expect(parseServeConfig({ loginLockout: '3/10/30', akskLockout: '10/1' }, {})).toMatchObject({
        loginLockout: { attempts: 3, windowMs: 600_000, lockMs: 1_800_000 },
        akskLockout: { failures: 10, lockMs: 60_000 },
      });
      const env = { TAGPLANE_LOGIN_LOCKOUT: 'off', TAGPLANE_AKSK_LOCKOUT: 'off' };
      expect(parseServeConfig({}, env)).toMatchObject({ loginLockout: null, akskLockout: null });
      expect(parseServeConfig({ loginLockout: '5/15/15' }, env).loginLockout).toEqual({
        attempts: 5,
        windowMs: 900_000,
        lockMs: 900_000,
      });
    });

    it('take fractions of minutes for short windows (0.05 is 3 seconds)', () => {
      expect(
        parseServeConfig({ loginLockout: '2/0.5/0.05', akskLockout: '1/0.02' }, {}),
      ).toMatchObject({
        loginLockout: { attempts: 2, windowMs: 30_000, lockMs: 3_000 },
        akskLockout: { failures: 1, lockMs: 1_200 },
      });
    });

    it.each([
      [
        'loginLockout',
        '5/15',
        /login lockout .*'5\/15': it needs three parts; use ATTEMPTS\/WINDOW_MIN\/LOCK_MIN/,
      ],
      ['loginLockout', '0/15/15', /ATTEMPTS '0' is not a whole number 1–1000/],
      ['loginLockout', '2.5/15/15', /ATTEMPTS '2.5' is not a whole number/],
      ['loginLockout', '5/0/15', /WINDOW_MIN '0' is not a number of minutes above 0/],
      ['loginLockout', '5/15/-1', /LOCK_MIN '-1' is not a number of minutes/],
      [
        'loginLockout',
        '5/15/1441',
        /LOCK_MIN '1441' is not a number of minutes above 0 and at most 1440/,
      ],
      ['loginLockout', '5/1e3/15', /WINDOW_MIN '1e3'/],
      ['loginLockout', 'OFF', /it needs three parts/],
      ['akskLockout', '5', /access-key lockout .*'5': it needs two parts; use FAILURES\/LOCK_MIN/],
      ['akskLockout', 'x/5', /FAILURES 'x' is not a whole number/],
      ['akskLockout', '5/5/5', /it needs two parts/],
      ['akskLockout', '5/', /LOCK_MIN '' is not a number of minutes/],
      ['akskLockout', '5/0.000001', /LOCK_MIN '0.000001'/],
    ])('refuses --%s %s, saying why', (flag, value, message) => {
      expect(() => parseServeConfig({ [flag]: value }, {})).toThrow(ConfigError);
      expect(() => parseServeConfig({ [flag]: value }, {})).toThrow(message);
    });

    it('names the variable when the bad value came from it', () => {
      expect(() => parseServeConfig({}, { TAGPLANE_AKSK_LOCKOUT: 'never' })).toThrow(
        /TAGPLANE_AKSK_LOCKOUT\).*'never'/,
      );
      expect(() => parseServeConfig({}, { TAGPLANE_LOGIN_LOCKOUT: '5/15/x' })).toThrow(
        /TAGPLANE_LOGIN_LOCKOUT\).*LOCK_MIN 'x'/,
      );
    });
  });

  it('event retention: 30 days unless the flag or TAGPLANE_EVENT_RETENTION says; 0 keeps all', () => {
    expect(parseServeConfig({}, {}).eventRetentionDays).toBe(30);
    expect(parseServeConfig({}, { TAGPLANE_EVENT_RETENTION: '0' }).eventRetentionDays).toBe(0);
    expect(
      parseServeConfig({ eventRetention: '7' }, { TAGPLANE_EVENT_RETENTION: '0' })
        .eventRetentionDays,
    ).toBe(7);
    for (const bad of ['-1', '1.5', 'week', '36501']) {
      expect(() => parseServeConfig({ eventRetention: bad }, {})).toThrow(/event retention/);
    }
  });

  it('a refused database URL is not echoed with its password', () => {
    let message = '';
    try {
      parseServeConfig({ database: 'mysql://user:s3cret-pw@db/x' }, {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain('s3cret-pw');
  });

  describe('rate limit and request log', () => {
    it('default to no limit and 1000 requests kept', () => {
      expect(parseServeConfig({}, {})).toMatchObject({ rateLimit: null, requestLog: 1000 });
    });

    it('are read from the flags, or else the environment; off or 0 switches the limit off', () => {
      expect(parseServeConfig({ rateLimit: '50', requestLog: '10' }, {})).toMatchObject({
        rateLimit: 50,
        requestLog: 10,
      });
      const env = { TAGPLANE_RATE_LIMIT: '7', TAGPLANE_REQUEST_LOG: '0' };
      expect(parseServeConfig({}, env)).toMatchObject({ rateLimit: 7, requestLog: 0 });
      expect(parseServeConfig({ rateLimit: 'off' }, env).rateLimit).toBeNull();
      expect(parseServeConfig({ rateLimit: '0' }, {}).rateLimit).toBeNull();
    });

    it.each([
      ['rateLimit', '-1', /invalid rate limit .*'-1'/],
      ['rateLimit', '1.5', /invalid rate limit .*'1.5'/],
      ['rateLimit', 'fast', /invalid rate limit .*'fast'/],
      ['requestLog', '-1', /invalid request log size .*'-1'/],
      ['requestLog', 'all', /invalid request log size .*'all'/],
    ])('--%s %s → ConfigError', (flag, value, message) => {
      expect(() => parseServeConfig({ [flag]: value }, {})).toThrow(ConfigError);
      expect(() => parseServeConfig({ [flag]: value }, {})).toThrow(message);
    });
  });
});
