/**
 * A real Prometheus server and promtool, from the Debian package `prometheus`. The server listens
 * on a free loopback port with a temporary storage folder and scrapes only the targets a test
 * gives it. Both fail with an install hint when the binaries are missing, so CI cannot skip them
 * silently.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { stringify } from 'yaml';

import { freePort } from './ports.js';

const INSTALL_HINT = 'install the Debian package "prometheus" (apt-get install prometheus), which ships prometheus and promtool';

/** Throws a clear error when a binary is not on PATH. */
export async function requireBinary(name: 'prometheus' | 'promtool'): Promise<void> {
  try {
    await promisify(execFile)(name, ['--version']);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`${name} is required by this test but could not be run (${code ?? String(error)}): ${INSTALL_HINT}`);
  }
}

export interface PromtoolResult {
  code: number;
  output: string;
}

/** Runs promtool with `input` on standard input and returns its exit code and combined output. */
export async function runPromtool(args: string[], input = ''): Promise<PromtoolResult> {
  await requireBinary('promtool');
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(input);
  });
}

export interface ScrapeTarget {
  /** host:port of the admin listener. */
  address: string;
  labels?: Record<string, string>;
}

export interface PrometheusOptions {
  targets: ScrapeTarget[];
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval, such as '1s'. */
  interval?: string;
}

/** One sample of an instant query: its labels and value. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export class PrometheusServer {
  private constructor(
    readonly url: string,
    private readonly folder: string,
    private readonly child: ChildProcess,
    private readonly output: () => string,
  ) {}

  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    await requireBinary('prometheus');
    const folder = await mkdtemp(path.join(tmpdir(), 'revgate-prometheus-'));
    const interval = options.interval ?? '1s';
    const config = {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      rule_files: options.ruleFiles ?? [],
      scrape_configs: [
        {
          job_name: 'revgate',
          static_configs: options.targets.map((target) => ({ targets: [target.address], labels: target.labels ?? {} })),
        },
      ],
    };
    const configFile = path.join(folder, 'prometheus.yml');
    await writeFile(configFile, stringify(config));

    const port = await freePort();
    const child = spawn(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(folder, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, folder, child, () => output);
    await server.waitUntilReady();
    return server;
  }

  /** Runs an instant PromQL query and returns its vector; throws with Prometheus's error otherwise. */
  async query(expression: string): Promise<Sample[]> {
    const response = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expression })}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success' || body.data?.resultType !== 'vector') {
      throw new Error(`query ${expression} failed: ${body.error ?? JSON.stringify(body)}`);
    }
    return body.data.result.map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }));
  }

  /** Returns the health of every scrape target, such as ['up']. */
  async targetHealth(): Promise<string[]> {
    const body = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string }[] } };
    return body.data.activeTargets.map((target) => target.health);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    await rm(this.folder, { recursive: true, force: true });
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`prometheus exited with ${this.child.exitCode}:\n${this.output()}`);
      const ready = await fetch(`${this.url}/-/ready`).then((response) => response.ok, () => false);
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.stop();
    throw new Error(`prometheus did not become ready within 20s:\n${this.output()}`);
  }
}
