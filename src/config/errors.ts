/** Raised when a configuration value is invalid. The message names every bad flag or variable. */
export class ConfigError extends Error {
  readonly code = 'ENDURE_CONFIG_INVALID';
  readonly status = 400;
  /** One line per bad value, e.g. `--ingress-bind: expected host:port, got "abc"`. */
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super(issues.join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
