/** Runs wrk (Debian package `wrk`, 4.1) with the benchmark's Lua script and reads its JSON summary. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { runCommand, tail } from './processes.js';

/**
 * The wrk script. Arguments after `--`: a file of bearer tokens (one a line), the request path, and
 * the index of the first token to send. Each request takes the next token in turn, so a file of
 * one token sends the same token every time. With a file longer than the proxy's verification
 * cache, and each run starting where the last one stopped, every request misses the cache. Every
 * row of the benchmark uses this script, so the client does the same work in each. When the run
 * ends, the summary is printed as one JSON line with times in microseconds.
 */
const WRK_SCRIPT = `
local requests = {}
local next_request = 1

function init(args)
  local token_file = args[1]
  local path = args[2] or "/"
  if token_file == nil then error("usage: wrk ... --script report.lua URL -- TOKEN_FILE [PATH [FIRST_INDEX]]") end
  for line in io.lines(token_file) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. line })
    end
  end
  if #requests == 0 then error("no token found in " .. token_file) end
  next_request = (tonumber(args[3]) or 0) % #requests + 1
end

function request()
  local prepared = requests[next_request]
  next_request = next_request % #requests + 1
  return prepared
end

function done(summary, latency, _)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,' ..
    '"statusErrors":%d,"timeouts":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
`;

/** Writes the wrk script into `folder` and returns its path. */
export async function writeWrkScript(folder: string): Promise<string> {
  const file = path.join(folder, 'report.lua');
  await writeFile(file, WRK_SCRIPT);
  return file;
}

export interface LoadSettings {
  connections: number;
  seconds: number;
  /** Index of the first token of the file to send; later requests take the following ones in turn. */
  firstToken: number;
  /** The file that writeWrkScript() returned. */
  script: string;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
}

interface WrkSummary {
  requests: number;
  durationUs: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  statusErrors: number;
  timeouts: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
}

/**
 * Sends GET requests to `baseUrl + path` with one wrk thread for `seconds`, each request carrying
 * the next token of `tokenFile`. Throws when any request failed or got a status of 400 or more
 * (wrk counts those as status errors), so that a run never measures fast rejections.
 */
export async function runWrk(baseUrl: string, path: string, tokenFile: string, settings: LoadSettings): Promise<LoadResult> {
  const args = [
    '--threads', '1',
    '--connections', String(settings.connections),
    '--duration', `${settings.seconds}s`,
    '--timeout', '5s',
    '--script', settings.script,
    baseUrl,
    '--', tokenFile, path, String(settings.firstToken),
  ];
  const result = await runCommand('wrk', args, (settings.seconds + 30) * 1000);
  const line = result.stdout.split('\n').find((text) => text.startsWith('{"requests"'));
  if (result.code !== 0 || line === undefined) {
    throw new Error(`wrk ${args.join(' ')} failed with exit code ${result.code}:\n${tail(result.stdout)}\n${tail(result.stderr)}`);
  }
  const summary = JSON.parse(line) as WrkSummary;
  const failures = summary.connectErrors + summary.readErrors + summary.writeErrors + summary.statusErrors + summary.timeouts;
  if (failures > 0 || summary.requests === 0) {
    throw new Error(`wrk against ${baseUrl}${path}: ${failures} of ${summary.requests} requests failed: ${line}`);
  }
  return {
    requestsPerSecond: summary.requests / (summary.durationUs / 1e6),
    p50Ms: summary.p50Us / 1000,
    p99Ms: summary.p99Us / 1000,
    requests: summary.requests,
  };
}
