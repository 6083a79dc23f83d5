/**
 * `make demo`: a walkthrough of token revocation on loopback. It starts nats-server, an echo
 * upstream, a token issuer and `revgate serve`, then shows that a revoked token is rejected within
 * a second, that privileged routes fail closed while NATS is down and recover when it returns.
 * Exits 0 only when every step passed; stops everything it started on success, on failure and on
 * Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Cleanup } from './processes.js';
import { Report } from './report.js';
import { CLI, setUp, type Demo } from './setup.js';
import { WALKTHROUGH } from './steps.js';

const EXIT_INTERRUPTED = 130;

const cleanup = new Cleanup();
let cleaningUp: Promise<void> | undefined;

/** Stops everything the demo started, once, however many times it is called. */
function stopEverything(): Promise<void> {
  cleaningUp ??= cleanup.runAll().then((failures) => {
    for (const failure of failures) console.error(`warning: clean-up of ${failure}`);
  });
  return cleaningUp;
}

function handleSignals(): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second signal skips the orderly stop, but the exit handler in processes.ts still kills every child.
    if (received) process.exit(EXIT_INTERRUPTED);
    received = true;
    console.log(`\n${signal} received: stopping everything the demo started`);
    void stopEverything().then(() => process.exit(EXIT_INTERRUPTED));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function main(): Promise<number> {
  // Paths in the output, the config and the CLI calls are relative to the repository root.
  process.chdir(fileURLToPath(new URL('../..', import.meta.url)));
  if (!existsSync(CLI)) {
    console.error(`${CLI} not found: run "make build" first, or use "make demo"`);
    return 1;
  }

  const report = new Report(WALKTHROUGH.length);
  console.log('revgate demo: revoke a token, lose NATS, get it back');
  let demo: Demo | undefined;
  try {
    demo = await setUp(report, cleanup);
    for (const step of WALKTHROUGH) {
      await report.runStep(step.title, (current) => step.run(demo as Demo, current));
    }
  } catch (error) {
    report.setupFailed(error);
  } finally {
    await stopEverything();
  }

  const passed = report.summarize();
  console.log('stopped every process and server that the demo started');
  if (demo !== undefined) console.log(`proxy log: ${demo.proxyLog}, nats log: ${demo.nats.logFile}`);
  return passed ? 0 : 1;
}

handleSignals();
process.exit(await main());
