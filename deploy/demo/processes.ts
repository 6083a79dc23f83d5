/**
 * Child processes, ports and clean-up for the demo. `Cleanup.runAll()` stops every process that
 * the demo registered. A child still alive when the demo exits gets SIGKILL from the `exit`
 * handler below, which covers early exits such as a second Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

const liveChildren = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Clean-up tasks, run in reverse order of registration. */
export class Cleanup {
  private readonly tasks: { label: string; run: () => Promise<void> }[] = [];

  add(label: string, run: () => Promise<void>): void {
    this.tasks.push({ label, run });
  }

  /** Runs every task once, even when some fail, and returns one message per failed task. */
  async runAll(): Promise<string[]> {
    const failures: string[] = [];
    for (let task = this.tasks.pop(); task !== undefined; task = this.tasks.pop()) {
      try {
        await task.run();
      } catch (error) {
        failures.push(`${task.label}: ${describe(error)}`);
      }
    }
    return failures;
  }
}

/** A long-running child process whose standard output and error go to a log file. */
export class LoggedProcess {
  readonly name: string;
  readonly logFile: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private stopping = false;

  private constructor(name: string, logFile: string, child: ChildProcess) {
    this.name = name;
    this.logFile = logFile;
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      if (!this.stopping) {
        console.error(`      warning: ${name} exited unexpectedly (${signal ?? `exit code ${code}`}); see ${logFile}`);
      }
    });
  }

  /** Spawns `command` with its output appended to `logFile`. Rejects when the command cannot be spawned. */
  static async start(name: string, command: string, args: readonly string[], logFile: string): Promise<LoggedProcess> {
    const logDescriptor = openSync(logFile, 'a');
    try {
      const child = spawn(command, args, { stdio: ['ignore', logDescriptor, logDescriptor] });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (error: NodeJS.ErrnoException) => {
          const reason = error.code === 'ENOENT' ? `command "${command}" not found on PATH` : describe(error);
          reject(new Error(`cannot start ${name}: ${reason}`));
        });
      });
      liveChildren.add(child);
      return new LoggedProcess(name, logFile, child);
    } finally {
      // The child has its own copy of the descriptor.
      closeSync(logDescriptor);
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal`, waits up to `graceMs` for the exit, then sends SIGKILL. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (!this.running) return;
    this.child.kill(signal);
    const exitedInTime = await Promise.race([this.exited.then(() => true), delay(graceMs, false)]);
    if (!exitedInTime) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs a short command to completion with `input` on its standard input. Kills it after `timeoutMs`. */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  liveChildren.add(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);

  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? '');

  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    });
    return { exitCode, stdout, stderr, durationMs: performance.now() - started };
  } finally {
    clearTimeout(timer);
    liveChildren.delete(child);
  }
}

/**
 * Returns a loopback port that was free a moment ago, for programs that need the port number
 * before they start. Another process could take it in between, which on a quiet machine is rare.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connection to 127.0.0.1:`port` succeeds, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`nothing accepted connections on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await delay(50);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Returns an error's message followed by its cause's code or message, because fetch reports only
 * "fetch failed" and puts the reason, such as ECONNREFUSED, in the cause.
 */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof cause?.code === 'string') return `${error.message} (${cause.code})`;
  if (typeof cause?.message === 'string') return `${error.message} (${cause.message})`;
  return error.message;
}
