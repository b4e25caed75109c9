// Reads the side-effect file written by the test services (one JSON line per effect).
import { readFile } from "node:fs/promises";

/** One recorded side effect (see test/services/effects.ts). */
export interface Effect {
  kind: string;
  id: string;
  t: number;
  [field: string]: unknown;
}

/** All effects recorded so far, optionally only those with `id`. */
export async function readEffects(file: string, id?: string): Promise<Effect[]> {
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch {
    return [];
  }
  const all = text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Effect);
  return id === undefined ? all : all.filter((e) => e.id === id);
}

/** Number of effects of `kind` recorded for `id`. */
export async function countEffects(file: string, kind: string, id: string): Promise<number> {
  return (await readEffects(file, id)).filter((e) => e.kind === kind).length;
}
