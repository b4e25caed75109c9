// Per-process resource readings from /proc: CPU seconds (utime + stime over all threads)
// and resident memory, plus a sampler that tracks the peak RSS while a workload runs.
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

const CLK_TCK = (() => {
  const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(out.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** CPU seconds (user + system, all threads) the process has used so far; NaN if gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** The pids of `pid` and of all its descendants (a node's worker processes), read from /proc. */
export function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const children = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, "utf8").trim();
      if (children !== "") out.push(...children.split(/\s+/).map(Number));
    } catch {
      // Gone meanwhile: it has no children to count.
    }
  }
  return out;
}

/** CPU seconds of `pid` and its descendants; a descendant that exited meanwhile is not counted. */
export function treeCpuSeconds(pid) {
  return processTree(pid).reduce((sum, p) => {
    const s = cpuSeconds(p);
    return Number.isNaN(s) ? sum : sum + s;
  }, 0);
}

/** A `VmXXX` value from /proc/<pid>/status, in MiB; NaN if gone. */
export function memMiB(pid, field) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Samples VmRSS of `pid()` every `everyMs` until stopped; returns {peak, mean} in MiB. */
export function sampleRss(pid, everyMs = 100) {
  let peak = 0;
  let sum = 0;
  let n = 0;
  const take = () => {
    const v = memMiB(pid(), "VmRSS");
    if (!Number.isNaN(v)) {
      peak = Math.max(peak, v);
      sum += v;
      n++;
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peakMiB: peak, meanMiB: n ? sum / n : Number.NaN };
    },
  };
}
