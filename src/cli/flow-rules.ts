import type { Command } from 'commander';
import { CliError } from './errors.ts';
import { client, withAdminOptions } from './operator.ts';
import { printJson, printTable } from './output.ts';

// `endure flow-rules …`: thin wrappers over the admin API's /flow-rules.

interface RuleView {
  id: string;
  concurrency: number | null;
  rate: { count: number; interval_ms: number; burst: number } | null;
  debounce_ms: number | null;
  limiters?: { limit_key: string; running: string[]; waiting: unknown[]; debounced: string | null }[];
}

interface SetOpts {
  concurrency?: string;
  rate?: string;
  interval?: string;
  burst?: string;
  debounce?: string;
}

const path = (id: string) => `/flow-rules/${encodeURIComponent(id)}`;

function integer(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} must be a positive integer, got '${raw}'`);
  return n;
}

function printRules(rules: RuleView[]): void {
  printTable(
    ['ID', 'CONCURRENCY', 'RATE', 'BURST', 'DEBOUNCE'],
    rules.map((r) => [
      r.id,
      r.concurrency === null ? '-' : String(r.concurrency),
      r.rate === null ? '-' : `${r.rate.count} per ${r.rate.interval_ms} ms`,
      r.rate === null ? '-' : String(r.rate.burst),
      r.debounce_ms === null ? '-' : `${r.debounce_ms} ms`,
    ]),
  );
}

/** Adds the `flow-rules` command group. */
export function addFlowRuleCommands(program: Command): void {
  const rules = program.command('flow-rules').alias('flow').description('manage flow control: concurrency, rate limits, debounce');

  withAdminOptions(
    rules
      .command('set <id>')
      .description('create or replace the rule of a service (Service) or a handler (Service/handler)')
      .option('--concurrency <n>', 'at most n invocations run at once')
      .option('--rate <n>', 'at most n starts per --interval')
      .option('--interval <duration>', 'interval of --rate (default 1s)')
      .option('--burst <n>', 'starts allowed at once under --rate (default --rate)')
      .option('--debounce <duration>', 'of the invocations of one limit key within this window, only the last runs'),
  ).action(async (id: string, o: SetOpts, cmd: Command) => {
    const { admin, opts } = client(cmd);
    const count = integer('--rate', o.rate);
    const burst = integer('--burst', o.burst);
    if (count === undefined && (o.interval !== undefined || burst !== undefined)) throw new CliError('--interval and --burst need --rate');
    const res = (await admin.request('PUT', path(id), {
      ...(o.concurrency !== undefined ? { concurrency: integer('--concurrency', o.concurrency) } : {}),
      ...(count !== undefined
        ? { rate: { count, ...(o.interval !== undefined ? { interval: o.interval } : {}), ...(burst !== undefined ? { burst } : {}) } }
        : {}),
      ...(o.debounce !== undefined ? { debounce: o.debounce } : {}),
    })) as RuleView;
    if (opts.json) return printJson(res);
    printRules([res]);
  });

  withAdminOptions(rules.command('list').alias('ls').description('list flow rules')).action(async (_o: unknown, cmd: Command) => {
    const { admin, opts } = client(cmd);
    const res = (await admin.request('GET', '/flow-rules')) as { rules: RuleView[] };
    if (opts.json) return printJson(res);
    printRules(res.rules);
  });

  withAdminOptions(rules.command('describe <id>').alias('get').description('show a rule and its live limiters')).action(
    async (id: string, _o: unknown, cmd: Command) => {
      const { admin } = client(cmd);
      printJson(await admin.request('GET', path(id)));
    },
  );

  withAdminOptions(rules.command('delete <id>').alias('rm').description('delete a rule (waiting invocations start)')).action(
    async (id: string, _o: unknown, cmd: Command) => {
      const { admin } = client(cmd);
      await admin.request('DELETE', path(id));
      process.stdout.write(`Deleted flow rule ${id}\n`);
    },
  );
}
