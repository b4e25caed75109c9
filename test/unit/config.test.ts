import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { ConfigError, DEFAULT_CONFIG, compileConfig, parseBytes, parseDurationMs } from '../../src/config/index.ts';
import { isLoopbackHost } from '../../src/common/loopback.ts';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('compileConfig', () => {
  it('uses the defaults when nothing is given', () => {
    const c = compileConfig({});
    expect(c).toEqual(DEFAULT_CONFIG);
    expect(c.ingress).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.admin).toEqual({ host: '127.0.0.1', port: 9070 });
    expect(c.partitions).toBe(24);
    expect(c.inactivityTimeoutMs).toBe(60_000);
    expect(c.abortTimeoutMs).toBe(600_000);
    expect(c.ingressMaxBodyBytes).toBe(10 * 1024 * 1024);
    expect(c.eagerStateMaxBytes).toBe(1024 * 1024);
  });

  it('does not share mutable objects with the defaults', () => {
    const c = compileConfig({});
    c.ingress.port = 1;
    c.retry.factor = 9;
    expect(DEFAULT_CONFIG.ingress.port).toBe(8080);
    expect(compileConfig({}).retry.factor).toBe(2);
  });

  it('reads ENDURE_* variables', () => {
    const c = compileConfig({
      env: {
        ENDURE_DATA_DIR: '/tmp/x',
        ENDURE_INGRESS_BIND: '127.0.0.1:18080',
        ENDURE_ADMIN_BIND: '[::1]:19070',
        ENDURE_PARTITIONS: '4',
        ENDURE_LOG_LEVEL: 'DEBUG',
        ENDURE_INACTIVITY_TIMEOUT: '1m',
        ENDURE_ABORT_TIMEOUT: '0',
        ENDURE_INGRESS_MAX_BODY_BYTES: '512KiB',
        ENDURE_EAGER_STATE_MAX_BYTES: '2048',
        ENDURE_RETRY_MAX_ATTEMPTS: 'unlimited',
      },
    });
    expect(c.dataDir).toBe('/tmp/x');
    expect(c.ingress).toEqual({ host: '127.0.0.1', port: 18080 });
    expect(c.admin).toEqual({ host: '::1', port: 19070 });
    expect(c.partitions).toBe(4);
    expect(c.logLevel).toBe('debug');
    expect(c.inactivityTimeoutMs).toBe(60_000);
    expect(c.abortTimeoutMs).toBe(0);
    expect(c.ingressMaxBodyBytes).toBe(512 * 1024);
    expect(c.eagerStateMaxBytes).toBe(2048);
    expect(c.retry.maxAttempts).toBeNull();
  });

  it('lets flags win over the environment', () => {
    const c = compileConfig({
      flags: { ingressBind: '127.0.0.1:1234', partitions: 8, 'log-level': 'warn', dataDir: undefined },
      env: { ENDURE_INGRESS_BIND: '127.0.0.1:9999', ENDURE_PARTITIONS: '2', ENDURE_DATA_DIR: '/env/dir' },
    });
    expect(c.ingress.port).toBe(1234);
    expect(c.partitions).toBe(8);
    expect(c.logLevel).toBe('warn');
    expect(c.dataDir).toBe('/env/dir');
  });

  it('names the flag and the bad value in the error', () => {
    const e = configError(() => compileConfig({ flags: { ingressBind: 'abc' } }));
    expect(e.message).toBe('--ingress-bind: expected host:port, got "abc"');
    expect(e.code).toBe('ENDURE_CONFIG_INVALID');
  });

  it('names the environment variable when the bad value came from it', () => {
    const e = configError(() => compileConfig({ env: { ENDURE_ADMIN_BIND: 'localhost:99999' } }));
    expect(e.message).toBe('ENDURE_ADMIN_BIND: expected host:port, got "localhost:99999"');
  });

  it('reports every bad value at once', () => {
    const e = configError(() =>
      compileConfig({
        flags: { partitions: '0', logLevel: 'loud' },
        env: { ENDURE_INACTIVITY_TIMEOUT: '5 parsecs', ENDURE_INGRESS_MAX_BODY_BYTES: '-1' },
      }),
    );
    expect(e.issues).toHaveLength(4);
    expect(e.message).toContain('--partitions: expected an integer between 1 and 1024, got "0"');
    expect(e.message).toContain('--log-level: expected one of trace|debug|info|warn|error|fatal|silent, got "loud"');
    expect(e.message).toContain('ENDURE_INACTIVITY_TIMEOUT:');
    expect(e.message).toContain('ENDURE_INGRESS_MAX_BODY_BYTES:');
  });

  it('rejects more than 1024 partitions', () => {
    expect(() => compileConfig({ flags: { partitions: 1025 } })).toThrow(/--partitions/);
    expect(compileConfig({ flags: { partitions: 1024 } }).partitions).toBe(1024);
  });

  it('accepts port 0 for an ephemeral port', () => {
    expect(compileConfig({ flags: { adminBind: '127.0.0.1:0' } }).admin.port).toBe(0);
  });
});

describe('value parsers', () => {
  it('parses durations', () => {
    expect(parseDurationMs('500')).toBe(500);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('60s')).toBe(60_000);
    expect(parseDurationMs('1m')).toBe(60_000);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('0')).toBe(0);
    expect(parseDurationMs('1x')).toBeUndefined();
    expect(parseDurationMs('s')).toBeUndefined();
    expect(parseDurationMs('')).toBeUndefined();
  });

  it('parses byte sizes', () => {
    expect(parseBytes('10MiB')).toBe(10 * 1024 * 1024);
    expect(parseBytes('1MB')).toBe(1_000_000);
    expect(parseBytes('42')).toBe(42);
    expect(parseBytes('12 parsecs')).toBeUndefined();
  });
});

describe('bearer token settings', () => {
  it('reads token lists separated by commas or whitespace', () => {
    const c = compileConfig({
      env: { ENDURE_ADMIN_TOKENS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb\ncccccccccccccccc', ENDURE_INGRESS_TOKEN_FILE: '/etc/endure/ingress-tokens' },
    });
    expect(c.auth.admin.tokens).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc']);
    expect(c.auth.admin.tokenFile).toBeUndefined();
    expect(c.auth.ingress).toEqual({ tokenFile: '/etc/endure/ingress-tokens', tokens: [] });
  });

  it('refuses a short token without repeating it in the error', () => {
    const e = configError(() => compileConfig({ env: { ENDURE_INGRESS_TOKENS: 'letmein' } }));
    expect(e.message).toContain('ENDURE_INGRESS_TOKENS: expected bearer tokens of at least 16 visible characters');
    expect(e.message).not.toContain('letmein');
  });
});

describe('isLoopbackHost', () => {
  it('tells loopback addresses from wildcards and other addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('the integrity check setting', () => {
  it('checks by default, and --skip-integrity-check or ENDURE_SKIP_INTEGRITY_CHECK turns it off', () => {
    expect(compileConfig({}).skipIntegrityCheck).toBe(false);
    expect(compileConfig({ flags: { 'skip-integrity-check': true } }).skipIntegrityCheck).toBe(true);
    expect(compileConfig({ env: { ENDURE_SKIP_INTEGRITY_CHECK: 'true' } }).skipIntegrityCheck).toBe(true);
    expect(compileConfig({ env: { ENDURE_SKIP_INTEGRITY_CHECK: '0' } }).skipIntegrityCheck).toBe(false);
  });

  it('rejects a value that is not a boolean, naming the variable', () => {
    const err = configError(() => compileConfig({ env: { ENDURE_SKIP_INTEGRITY_CHECK: 'maybe' } }));
    expect(err.issues).toEqual(['ENDURE_SKIP_INTEGRITY_CHECK: expected true or false, got "maybe"']);
  });
});

describe('--workers', () => {
  it('is one process unless asked for more', () => {
    expect(compileConfig({}).workers).toBe(1);
    expect(compileConfig({ env: { ENDURE_WORKERS: '3' } }).workers).toBe(3);
    expect(compileConfig({ flags: { workers: '2' }, env: { ENDURE_WORKERS: '3' } }).workers).toBe(2);
  });

  it('auto means one worker per core this process may run on', () => {
    expect(compileConfig({ flags: { workers: 'auto' } }).workers).toBe(availableParallelism());
    expect(compileConfig({ env: { ENDURE_WORKERS: 'AUTO' } }).workers).toBe(availableParallelism());
  });

  it('refuses zero, negative, fractional and absurd counts, naming the flag', () => {
    for (const bad of ['0', '-1', '1.5', 'many', '257']) {
      expect(configError(() => compileConfig({ flags: { workers: bad } })).message).toMatch(/--workers: expected an integer between 1 and 256, or "auto"/);
    }
  });
});
