/**
 * Child processes of the benchmark: long-running servers whose output goes to a log file, and
 * commands run to completion with a time limit. Every child is registered, so that the `exit`
 * handler below kills exactly the processes this benchmark started and left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

const liveChildren = new Set<ChildProcess>();

// A benchmark that exits early (an exception, Ctrl-C) must not leave servers behind.
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** A server process whose standard output and error are written to `logFile`. */
export class ServerProcess {
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => liveChildren.delete(child));
  }

  static async start(name: string, command: string, args: readonly string[], logFile: string): Promise<ServerProcess> {
    const descriptor = openSync(logFile, 'a');
    try {
      const child = spawn(command, args, { stdio: ['ignore', descriptor, descriptor] });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (error: NodeJS.ErrnoException) => {
          reject(new Error(`cannot start ${name}: ${error.code === 'ENOENT' ? `"${command}" not found on PATH` : error.message}`));
        });
      });
      liveChildren.add(child);
      return new ServerProcess(name, logFile, child);
    } finally {
      // The child has its own copy of the descriptor.
      closeSync(descriptor);
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Polls the log file until a line matches, and returns that line. Throws when the process exits
   * first or `timeoutMs` passes, with the end of the log in the message.
   */
  async waitForLogLine(matches: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await readFile(this.logFile, 'utf8');
      const line = text.split('\n').find(matches);
      if (line !== undefined) return line;
      if (!this.running) throw new Error(`${this.name} exited before it was ready:\n${tail(text)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} was not ready within ${timeoutMs} ms:\n${tail(text)}`);
      await delay(50);
    }
  }

  /** Sends SIGTERM, then SIGKILL when the process has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; kills it and throws when it takes longer than `timeoutMs`. */
export async function runCommand(command: string, args: readonly string[], timeoutMs: number): Promise<CommandResult> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => {
        reject(new Error(`cannot run ${command}: ${error.code === 'ENOENT' ? 'not found on PATH' : error.message}`));
      });
      child.once('close', (exitCode) => resolve(exitCode));
    });
    if (timedOut) throw new Error(`${command} ${args.join(' ')} timed out after ${timeoutMs} ms:\n${tail(stderr)}`);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    liveChildren.delete(child);
  }
}

/**
 * Runs a compiled worker script in its own Node process with `global.gc` exposed, and parses the
 * JSON object on the last line of its standard output.
 */
export async function runWorker<T>(script: string, args: readonly string[], timeoutMs: number): Promise<T> {
  const result = await runCommand(process.execPath, ['--expose-gc', script, ...args], timeoutMs);
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  if (result.code !== 0 || !last.startsWith('{')) {
    throw new Error(`worker ${script} failed with exit code ${result.code}:\n${tail(result.stderr || result.stdout)}`);
  }
  return JSON.parse(last) as T;
}

/** Returns the last lines of a log, for error messages. */
export function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
