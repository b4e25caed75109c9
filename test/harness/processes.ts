// Child processes started by tests: output captured for failure messages, every one
// tracked by PID so a test file can kill whatever it started, and nothing else.
import { spawn, type ChildProcess } from "node:child_process";

/** How much captured output is kept per process (the tail is what explains failures). */
const MAX_OUTPUT_CHARS = 200_000;

/** A spawned process with its captured stdout and stderr. */
export class ManagedProcess {
  readonly name: string;
  private child: ChildProcess;
  private output = "";
  private exited: Promise<void>;
  private exitedFlag = false;
  private exitStatus: number | NodeJS.Signals | null = null;

  constructor(name: string, command: string, args: string[], env: Record<string, string | undefined>, cwd: string) {
    this.name = name;
    this.child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const append = (chunk: Buffer): void => {
      this.output += chunk.toString();
      if (this.output.length > MAX_OUTPUT_CHARS) this.output = this.output.slice(-MAX_OUTPUT_CHARS);
    };
    this.child.stdout?.on("data", append);
    this.child.stderr?.on("data", append);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitedFlag = true;
        this.exitStatus = signal ?? code;
        this.output += `\n[${name} exited: ${signal ?? code}]\n`;
        resolve();
      });
      this.child.once("error", (err) => {
        this.exitedFlag = true;
        this.output += `\n[${name} failed to start: ${err.message}]\n`;
        resolve();
      });
    });
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  /** The process id. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** True once the process has exited. */
  get hasExited(): boolean {
    return this.exitedFlag;
  }

  /** Exit code or terminating signal; null while running. */
  get exit(): number | NodeJS.Signals | null {
    return this.exitStatus;
  }

  /** Everything the process printed so far (stdout and stderr interleaved, tail only). */
  get log(): string {
    return this.output;
  }

  /** Sends `signal` and waits until the process has exited (SIGKILL after `graceMs`). */
  async kill(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
    if (this.exitedFlag) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(this.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Resolves when the process exits. */
  waitForExit(): Promise<void> {
    return this.exited;
  }

  /** Resolves when the captured output matches `pattern`; rejects on exit or timeout. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (this.exitedFlag) throw new Error(`${this.name} exited before printing ${pattern}:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${pattern} in ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(50);
    }
  }

  /** The last lines of output, for error messages. */
  tail(chars = 6000): string {
    return this.output.slice(-chars);
  }
}

const live = new Set<ManagedProcess>();

/** Kills (SIGKILL) every process the harness started in this test file that is still running. */
export async function killAllStarted(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill("SIGKILL", 0)));
}

/** Promise-based setTimeout. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

process.once("exit", () => {
  for (const p of live) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});
