import type { Command } from 'commander';
import { CliError } from './errors.ts';
import { client, withAdminOptions } from './operator.ts';
import { printJson, printTable } from './output.ts';

// `endure schedules …`: thin wrappers over the admin API's /schedules.

interface ScheduleView {
  id: string;
  target: { service: string; handler: string; key?: string };
  cron?: string;
  timezone?: string;
  every_ms?: number;
  overlap: string;
  catch_up: string;
  paused: boolean;
  next_tick: string | null;
  last_tick: string | null;
  running: string[];
  started: number;
  skipped: number;
  missed: number;
  last_error: string | null;
}

interface CreateOpts {
  cron?: string;
  every?: string;
  timezone?: string;
  overlap?: string;
  catchUp?: string;
  catchUpLimit?: string;
  input?: string;
}

const path = (id: string, suffix = '') => `/schedules/${encodeURIComponent(id)}${suffix}`;

/**
 * `Service/handler`, `Object/key/handler`, or `Workflow/id-template/handler` as the admin API's
 * target object; a key may itself contain slashes.
 */
export function parseTarget(text: string): { service: string; handler: string; key?: string } {
  const parts = text.split('/');
  if (parts.length < 2 || parts[0] === '' || parts[parts.length - 1] === '') {
    throw new CliError(`bad target '${text}': expected Service/handler or Object/key/handler`);
  }
  const service = parts[0] as string;
  const handler = parts[parts.length - 1] as string;
  return parts.length === 2 ? { service, handler } : { service, handler, key: parts.slice(1, -1).join('/') };
}

function cadence(s: ScheduleView): string {
  if (s.cron !== undefined) return s.timezone && s.timezone !== 'UTC' ? `${s.cron} (${s.timezone})` : s.cron;
  return `every ${Math.round((s.every_ms ?? 0) / 1000)}s`;
}

function targetText(t: ScheduleView['target']): string {
  return t.key !== undefined ? `${t.service}/${t.key}/${t.handler}` : `${t.service}/${t.handler}`;
}

function printSchedule(s: ScheduleView): void {
  printTable(
    ['ID', 'TARGET', 'CADENCE', 'NEXT TICK', 'PAUSED', 'STARTED', 'RUNNING', 'SKIPPED', 'MISSED'],
    [[s.id, targetText(s.target), cadence(s), s.next_tick ?? '-', s.paused ? 'yes' : 'no', String(s.started), String(s.running.length), String(s.skipped), String(s.missed)]],
  );
  if (s.last_error) process.stdout.write(`last error: ${s.last_error}\n`);
}

/** Adds the `schedules` command group. */
export function addScheduleCommands(program: Command): void {
  const schedules = program.command('schedules').alias('sch').description('manage cron schedules');

  withAdminOptions(
    schedules
      .command('create <id> <target>')
      .alias('set')
      .description('create or replace a schedule invoking <target> (Service/handler, Object/key/handler, Workflow/id-{tick}/run)')
      .option('--cron <expression>', 'cron expression, 5 fields or 6 with seconds')
      .option('--every <duration>', 'fixed interval instead of cron, e.g. 30s, 5m')
      .option('--timezone <zone>', 'IANA time zone of the cron expression (default UTC)')
      .option('--overlap <policy>', 'skip | buffer-one | allow-all (default skip)')
      .option('--catch-up <policy>', 'none | last | all (default last)')
      .option('--catch-up-limit <n>', 'with --catch-up all: at most this many missed ticks run (default 10)')
      .option('--input <json>', 'JSON body of every invocation'),
  ).action(async (id: string, target: string, o: CreateOpts, cmd: Command) => {
    const { admin, opts } = client(cmd);
    let input: unknown;
    if (o.input !== undefined) {
      try {
        input = JSON.parse(o.input);
      } catch (err) {
        throw new CliError(`--input is not JSON: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const limit = o.catchUpLimit === undefined ? undefined : Number(o.catchUpLimit);
    const res = (await admin.request('PUT', path(id), {
      target: parseTarget(target),
      ...(o.cron !== undefined ? { cron: o.cron } : {}),
      ...(o.every !== undefined ? { every: o.every } : {}),
      ...(o.timezone !== undefined ? { timezone: o.timezone } : {}),
      ...(o.overlap !== undefined ? { overlap: o.overlap } : {}),
      ...(o.catchUp !== undefined ? { catch_up: o.catchUp } : {}),
      ...(limit !== undefined ? { catch_up_limit: limit } : {}),
      ...(input !== undefined ? { input } : {}),
    })) as ScheduleView;
    if (opts.json) return printJson(res);
    printSchedule(res);
  });

  withAdminOptions(schedules.command('list').alias('ls').description('list schedules')).action(async (_o: unknown, cmd: Command) => {
    const { admin, opts } = client(cmd);
    const res = (await admin.request('GET', '/schedules')) as { schedules: ScheduleView[] };
    if (opts.json) return printJson(res);
    printTable(
      ['ID', 'TARGET', 'CADENCE', 'NEXT TICK', 'PAUSED', 'STARTED', 'RUNNING'],
      res.schedules.map((s) => [s.id, targetText(s.target), cadence(s), s.next_tick ?? '-', s.paused ? 'yes' : 'no', String(s.started), String(s.running.length)]),
    );
  });

  withAdminOptions(schedules.command('describe <id>').alias('get').description('show a schedule')).action(
    async (id: string, _o: unknown, cmd: Command) => {
      const { admin } = client(cmd);
      printJson(await admin.request('GET', path(id)));
    },
  );

  withAdminOptions(schedules.command('delete <id>').alias('rm').description('delete a schedule (running ticks finish)')).action(
    async (id: string, _o: unknown, cmd: Command) => {
      const { admin } = client(cmd);
      await admin.request('DELETE', path(id));
      process.stdout.write(`Deleted schedule ${id}\n`);
    },
  );

  for (const [op, what] of [
    ['pause', 'stop ticking until resumed'],
    ['resume', 'tick again from the next tick after now'],
    ['trigger', 'run one tick now'],
  ] as const) {
    withAdminOptions(schedules.command(`${op} <id>`).description(what)).action(async (id: string, _o: unknown, cmd: Command) => {
      const { admin, opts } = client(cmd);
      const res = (await admin.request('PATCH', path(id, `/${op}`))) as ScheduleView;
      if (opts.json) return printJson(res);
      printSchedule(res);
    });
  }

  withAdminOptions(
    schedules
      .command('backfill <id>')
      .description('run every tick of a past time range, each once')
      .requiredOption('--from <time>', 'start of the range (ISO-8601), included')
      .requiredOption('--to <time>', 'end of the range (ISO-8601), included'),
  ).action(async (id: string, o: { from: string; to: string }, cmd: Command) => {
    const { admin, opts } = client(cmd);
    const res = (await admin.request('PATCH', path(id, '/backfill'), { from: o.from, to: o.to })) as { ticks: string[] };
    if (opts.json) return printJson(res);
    process.stdout.write(`Backfilled ${res.ticks.length} tick(s) of ${id}\n`);
  });
}
