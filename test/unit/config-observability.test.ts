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
