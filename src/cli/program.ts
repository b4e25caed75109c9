import { Command } from 'commander';
import { addInvocationCommands, addStateCommands } from './invocations.ts';
import { addDeploymentCommands, addServiceCommands, addSubscriptionCommands } from './operator.ts';
import { addSqlCommand } from './query.ts';
import { addFlowRuleCommands } from './flow-rules.ts';
import { addScheduleCommands } from './schedules.ts';
import { addServerCommand } from './server.ts';
import { addClusterCommand } from './cluster.ts';

/** Builds the `endure` command-line program. */
export function createProgram(version: string): Command {
  const program = new Command('endure')
    .description('Endure: a durable-execution server for services written with the Restate SDKs')
    .version(version)
    .showHelpAfterError()
    .enablePositionalOptions();
  addServerCommand(program);
  addDeploymentCommands(program);
  addServiceCommands(program);
  addInvocationCommands(program);
  addStateCommands(program);
  addSqlCommand(program);
  addSubscriptionCommands(program);
  addScheduleCommands(program);
  addFlowRuleCommands(program);
  addClusterCommand(program);
  return program;
}
