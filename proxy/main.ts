#!/usr/bin/env node
/** Entry point of the `revgate` command. */
import { runCli } from './cli/index.js';

const code = await runCli(process.argv.slice(2));
if (code !== 0) process.exitCode = code;
