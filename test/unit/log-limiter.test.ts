import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LogLimiter } from '../../src/common/log-limiter.ts';

function capture(level = 'debug') {
  const lines: { level: number; msg: string; suppressed?: number }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

describe('LogLimiter', () => {
  it('writes a repeated error once per window and then one line with the count of the rest', async () => {
    const { logger, lines } = capture();
    const limiter = new LogLimiter(logger, 100);
    for (let i = 0; i < 500; i++) limiter.log('error', 'boom', { i }, 'unexpected error');
    limiter.log('error', 'other', {}, 'another error');
    await new Promise((r) => setTimeout(r, 250));
    expect(lines.map((l) => l.msg)).toEqual([
      'unexpected error',
      'another error',
      'unexpected error (repeated 499 more times in 100ms)',
    ]);
    expect(lines[2]?.suppressed).toBe(499);
    limiter.log('error', 'boom', {}, 'unexpected error');
    expect(lines).toHaveLength(4);
  });

  it('writes nothing for a level the logger does not show', () => {
    const { logger, lines } = capture('info');
    const limiter = new LogLimiter(logger, 100);
    limiter.log('debug', 'gone', {}, 'client went away');
    limiter.flush();
    expect(lines).toHaveLength(0);
  });
});
