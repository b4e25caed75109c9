// Side effects the tests can count: each call appends one JSON line to the file named by
// EFFECTS_FILE. Appends of small lines with O_APPEND do not interleave between processes.
import { appendFileSync, readFileSync } from "node:fs";

/** One recorded side effect. */
export interface Effect {
  /** What happened, e.g. "run", "attempt", "start", "end". */
  kind: string;
  /** The test-chosen id grouping related effects. */
  id: string;
  /** Wall-clock time in ms when it was recorded. */
  t: number;
  [field: string]: unknown;
}

function file(): string {
  const path = process.env.EFFECTS_FILE;
  if (!path) throw new Error("EFFECTS_FILE is not set");
  return path;
}

/** Appends one effect line. */
export function record(kind: string, id: string, fields: Record<string, unknown> = {}): Effect {
  const effect: Effect = { ...fields, kind, id, t: Date.now() };
  appendFileSync(file(), `${JSON.stringify(effect)}\n`);
  return effect;
}

/** How many effects of `kind` with `id` were recorded so far. */
export function countRecorded(kind: string, id: string): number {
  let text = "";
  try {
    text = readFileSync(file(), "utf8");
  } catch {
    return 0;
  }
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Effect)
    .filter((e) => e.kind === kind && e.id === id).length;
}
