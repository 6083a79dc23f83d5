/** A real nats-server with JetStream on a fixed loopback port, which the demo stops and restarts. */
import { LoggedProcess, describe, waitForPort } from './processes.js';

const START_TIMEOUT_MS = 10_000;

export class NatsServer {
  readonly port: number;
  readonly storeDir: string;
  readonly logFile: string;
  private process: LoggedProcess | undefined;

  constructor(port: number, storeDir: string, logFile: string) {
    this.port = port;
    this.storeDir = storeDir;
    this.logFile = logFile;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts the server, or restarts it on the same port and store, and resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.process?.running) throw new Error(`nats-server is already running on port ${this.port}`);
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir];
    this.process = await LoggedProcess.start('nats-server', 'nats-server', args, this.logFile).catch((error: unknown) => {
      throw new Error(`${describe(error)}; "make demo" installs it, or run "apt-get install nats-server"`);
    });
    await waitForPort(this.port, START_TIMEOUT_MS);
  }

  /** Stops the server with `signal` and waits for it to exit. SIGKILL simulates a crash. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.process?.stop(signal);
  }
}
