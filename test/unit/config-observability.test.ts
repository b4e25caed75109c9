// The observability settings of the configuration: log format (and, below, tracing).
import { describe, expect, it } from 'vitest';
import { ConfigError, compileConfig } from '../../src/config/index.ts';

describe('log format setting', () => {
  it('defaults to JSON lines', () => {
    expect(compileConfig({}).logFormat).toBe('json');
  });

  it('takes pretty from --log-format or ENDURE_LOG_FORMAT, the flag winning', () => {
    expect(compileConfig({ env: { ENDURE_LOG_FORMAT: 'pretty' } }).logFormat).toBe('pretty');
    expect(compileConfig({ flags: { logFormat: 'PRETTY' } }).logFormat).toBe('pretty');
    expect(compileConfig({ flags: { logFormat: 'json' }, env: { ENDURE_LOG_FORMAT: 'pretty' } }).logFormat).toBe('json');
  });

  it('refuses an unknown format naming the variable and the choices', () => {
    expect(() => compileConfig({ env: { ENDURE_LOG_FORMAT: 'xml' } })).toThrow(ConfigError);
    expect(() => compileConfig({ env: { ENDURE_LOG_FORMAT: 'xml' } })).toThrow('ENDURE_LOG_FORMAT: expected one of json|pretty, got "xml"');
  });
});

describe('tracing endpoint setting', () => {
  it('is off unless --tracing-endpoint or ENDURE_TRACING_ENDPOINT names a collector', () => {
    expect(compileConfig({}).tracingEndpoint).toBeUndefined();
    expect(compileConfig({ env: { ENDURE_TRACING_ENDPOINT: 'http://127.0.0.1:4318' } }).tracingEndpoint).toBe('http://127.0.0.1:4318/');
    expect(compileConfig({ flags: { tracingEndpoint: 'https://otel.example:4318/v1/traces' } }).tracingEndpoint).toBe(
      'https://otel.example:4318/v1/traces',
    );
  });

  it('refuses anything but an http(s) URL without credentials', () => {
    for (const bad of ['127.0.0.1:4318', 'grpc://127.0.0.1:4317', 'http://user:secret@127.0.0.1:4318', 'not a url']) {
      expect(() => compileConfig({ env: { ENDURE_TRACING_ENDPOINT: bad } }), bad).toThrow(
        'ENDURE_TRACING_ENDPOINT: expected an http:// or https:// URL without credentials',
      );
    }
  });
});
