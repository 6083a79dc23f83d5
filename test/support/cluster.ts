/**
 * A three-node JetStream cluster on loopback, started from copies of deploy/nats/ with free ports
 * and temporary store folders, so that the tests run the same accounts and permissions that
 * operators deploy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort } from './ports.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/nats/', import.meta.url));

export const PASSWORDS = {
  REVGATE_ADMIN_PASSWORD: 'test-admin-password',
  REVGATE_PROXY_PASSWORD: 'test-proxy-password',
  REVGATE_RESPONDER_PASSWORD: 'test-responder-password',
};

interface Node {
  name: string;
  clientPort: number;
  config: string;
  process?: ChildProcess;
}

export class NatsCluster {
  private constructor(
    readonly folder: string,
    private readonly nodes: Node[],
  ) {}

  static async start(): Promise<NatsCluster> {
    const folder = await mkdtemp(path.join(tmpdir(), 'revgate-cluster-'));
    await writeFile(path.join(folder, 'accounts.conf'), await readFile(path.join(DEPLOY, 'accounts.conf')));

    const ports = await Promise.all([1, 2, 3].map(async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })));
    const nodes: Node[] = [];
    for (const [index, port] of ports.entries()) {
      let text = await readFile(path.join(DEPLOY, `node-${index + 1}.conf`), 'utf8');
      // deploy/nats uses 4222-4224 for clients, 6222-6224 for routes and 8222-8224 for monitoring.
      for (const [other, otherPort] of ports.entries()) {
        text = text
          .replaceAll(`127.0.0.1:${4222 + other}`, `127.0.0.1:${otherPort.client}`)
          .replaceAll(`127.0.0.1:${6222 + other}`, `127.0.0.1:${otherPort.route}`)
          .replaceAll(`127.0.0.1:${8222 + other}`, `127.0.0.1:${otherPort.monitor}`);
      }
      text = text.replace(/store_dir: "[^"]+"/, `store_dir: "${path.join(folder, `data-${index + 1}`)}"`);
      const config = path.join(folder, `node-${index + 1}.conf`);
      await writeFile(config, text);
      nodes.push({ name: `revgate-nats-${index + 1}`, clientPort: port.client, config });
    }

    const cluster = new NatsCluster(folder, nodes);
    await Promise.all(nodes.map((_, index) => cluster.startNode(index)));
    return cluster;
  }

  get urls(): string[] {
    return this.nodes.map((node) => `nats://127.0.0.1:${node.clientPort}`);
  }

  /** Writes a password file for a role and returns its path. */
  async passwordFile(role: 'admin' | 'proxy' | 'responder'): Promise<string> {
    const file = path.join(this.folder, `${role}.password`);
    const key = `REVGATE_${role.toUpperCase()}_PASSWORD` as keyof typeof PASSWORDS;
    await writeFile(file, PASSWORDS[key], { mode: 0o600 });
    return file;
  }

  indexOf(serverName: string): number {
    return this.nodes.findIndex((node) => node.name === serverName);
  }

  async startNode(index: number): Promise<void> {
    const node = this.nodes[index]!;
    const child = spawn('nats-server', ['-c', node.config], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...PASSWORDS } });
    node.process = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`${node.name} did not start:\n${output}`)), 15_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${node.name} exited with ${code}:\n${output}`));
      });
    });
    child.stderr?.resume();
  }

  async killNode(index: number): Promise<void> {
    const child = this.nodes[index]?.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((_, index) => this.killNode(index)));
    await rm(this.folder, { recursive: true, force: true });
  }
}
