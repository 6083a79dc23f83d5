/**
 * `revgate serve` as a real child process, from source through tsx, for tests of signals: it
 * writes the config file, collects every JSON log line from standard output, and reads the bound
 * listener addresses from the "revgate started" line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { stringify } from 'yaml';

const MAIN = fileURLToPath(new URL('../../proxy/main.ts', import.meta.url));

export interface LogLine {
  level: string;
  msg: string;
  component?: string;
  [field: string]: unknown;
}

export class ServeProcess {
  readonly lines: LogLine[] = [];
  /** Standard output and error as received, for failure messages. */
  output = '';
  proxyUrl = '';
  adminUrl = '';
  private readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly configFile: string,
    private readonly child: ChildProcess,
  ) {
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const line of complete) if (line.trim() !== '') this.lines.push(JSON.parse(line) as LogLine);
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /** Writes `config` to `configFile`, starts the process and waits for its "revgate started" line. */
  static async start(configFile: string, config: Record<string, unknown>): Promise<ServeProcess> {
    await writeFile(configFile, stringify(config));
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const serve = new ServeProcess(configFile, child);
    const started = await serve.waitForLine((line) => line.msg === 'revgate started', 30_000);
    serve.proxyUrl = String(started['listen']);
    serve.adminUrl = String(started['admin']);
    return serve;
  }

  /** Resolves with the first log line that matches, waiting up to `timeoutMs`. */
  async waitForLine(matches: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find(matches);
      if (line) return line;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`revgate serve: expected log line not seen within ${timeoutMs}ms (exit code ${this.child.exitCode}):\n${this.output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  /** Resolves with the exit code once the process has exited, or rejects after `timeoutMs`. */
  async exited(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`revgate serve did not exit within ${timeoutMs}ms:\n${this.output}`)), timeoutMs);
    });
    try {
      return (await Promise.race([this.exit, timeout])).code;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process if it still runs; for test cleanup. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exit;
    }
  }
}
