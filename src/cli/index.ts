/**
 * The `endure` command line: `endure server` to run a node, and operator commands that talk to
 * a running node's admin API over HTTP. It owns argument parsing and presentation only.
 */
export { createProgram } from './program.ts';
export { AdminClient, AdminClientError } from './admin-client.ts';
export { CliError } from './errors.ts';
