// Summarises a V8 .cpuprofile (node --cpu-prof): top functions by self time. Endure runs
// TypeScript through tsx, whose compiled code is minified onto few lines; given tsx's cache
// directory of that run, positions are mapped back to the .ts source line.
// Usage: node bench/profile-summary.mjs <file.cpuprofile> [top=25] [tsx-cache-dir]
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Source maps of the files tsx compiled, by source path, read from its cache directory. */
function loadTsxMaps(cacheDir) {
  const maps = new Map();
  if (!cacheDir || !existsSync(cacheDir)) return maps;
  for (const f of readdirSync(cacheDir)) {
    try {
      const entry = JSON.parse(readFileSync(path.join(cacheDir, f), "utf8"));
      const source = entry.map?.sources?.[0];
      if (source) maps.set(source, new SourceMap(entry.map));
    } catch {
      // not a compiled module
    }
  }
  return maps;
}

const sourceLines = new Map();
/** The trimmed text of line `n` (1-based) of `file`, shortened. */
function lineText(file, n) {
  if (!sourceLines.has(file)) sourceLines.set(file, existsSync(file) ? readFileSync(file, "utf8").split("\n") : []);
  const text = (sourceLines.get(file)[n - 1] ?? "").trim();
  return text.length > 70 ? `${text.slice(0, 67)}...` : text;
}

/**
 * Top `top` functions by self time: [{ name, where, code, selfMs, pct }] and the total in ms.
 * Time spent in native code (SQLite, fsync) is charged to the JavaScript function that called it.
 */
export function summariseProfile(file, top = 25, tsxCacheDir) {
  const maps = loadTsxMaps(tsxCacheDir);
  const prof = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const agg = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: cf } = byId.get(id);
    const abs = cf.url.replace(/^file:\/\//, "");
    let line = cf.lineNumber + 1;
    let code = "";
    const map = maps.get(abs);
    if (map) {
      const e = map.findEntry(cf.lineNumber, cf.columnNumber);
      if (e && typeof e.originalLine === "number") {
        line = e.originalLine + 1;
        code = lineText(abs, line);
      }
    }
    let url = abs;
    if (url.startsWith(REPO_ROOT)) url = path.relative(REPO_ROOT, url);
    url = url.replace(/^.*node_modules\//, "node_modules/");
    const name = cf.functionName || "(anonymous)";
    const where = url ? `${url}:${line}` : "";
    const key = `${name} ${where}`;
    const entry = agg.get(key) ?? { name, where, code, selfMs: 0 };
    entry.selfMs += us / 1000;
    agg.set(key, entry);
    total += us / 1000;
  }
  const rows = [...agg.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const r of rows) r.pct = (100 * r.selfMs) / total;
  return { totalMs: total, rows };
}

/** The same, as a Markdown table. */
export function profileTable(file, top = 25, tsxCacheDir) {
  const { totalMs, rows } = summariseProfile(file, top, tsxCacheDir);
  const lines = [`Total sampled: ${(totalMs / 1000).toFixed(1)} s`, "", "| self ms | self % | function | location | source line |", "|---:|---:|---|---|---|"];
  for (const r of rows) {
    const code = r.code ? `\`${r.code.replaceAll("|", "\\|").replaceAll("`", "'")}\`` : "";
    lines.push(`| ${r.selfMs.toFixed(0)} | ${r.pct.toFixed(1)} | \`${r.name}\` | ${r.where} | ${code} |`);
  }
  return lines.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node bench/profile-summary.mjs <file.cpuprofile> [top] [tsx-cache-dir]");
    process.exit(2);
  }
  console.log(profileTable(file, Number(process.argv[3] ?? 25), process.argv[4]));
}
