// Small reporting helpers shared by bench/flow.mjs and bench/embedded.mjs.
import { spawnSync } from "node:child_process";
import os from "node:os";
import { REPO_ROOT } from "./servers.mjs";

/** Formats a table (first column left-aligned, the others right-aligned) as Markdown. */
export function markdownTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** Formats a number (or boolean) for a table cell. */
export function fmt(v, digits) {
  if (v === undefined || v === null) return "–";
  if (typeof v === "boolean") return v ? "yes" : "NO";
  if (Number.isNaN(v)) return "n/a";
  return v.toFixed(digits);
}

/** Where and on what the run happened: date, commit (and whether src/ had changes), machine, load. */
export function runMeta(extra = {}) {
  const git = (...a) => spawnSync("git", ["-C", REPO_ROOT, ...a], { encoding: "utf8" }).stdout?.trim();
  return {
    date: new Date().toISOString(),
    endureCommit: git("rev-parse", "--short", "HEAD"),
    endureSrcDirty: git("status", "--porcelain", "src") !== "",
    node: process.version,
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    loadAvg: os.loadavg(),
    ...extra,
  };
}
