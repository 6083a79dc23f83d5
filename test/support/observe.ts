/** Reading what a running proxy recorded about a request: its access-log line and its request count. */

export interface AccessLogLine {
  msg: string;
  method?: string;
  path?: string | null;
  status?: number;
  route?: string;
  decision?: string;
  reason?: string;
  [field: string]: unknown;
}

/** Returns the access-log lines (`msg: "request"`) among captured log lines, oldest first. */
export function accessLines(logs: readonly string[]): AccessLogLine[] {
  return logs.map((line) => JSON.parse(line) as AccessLogLine).filter((line) => line.msg === 'request');
}

/** Returns the newest access-log line; throws when there is none. */
export function lastAccessLine(logs: readonly string[]): AccessLogLine {
  const line = accessLines(logs).at(-1);
  if (!line) throw new Error('no access-log line was written');
  return line;
}

export interface RequestLabels {
  route: string;
  decision: string;
  reason: string;
}

/** Reads `revgate_requests_total` for one label set from the admin listener; 0 when absent. */
export async function requestCount(adminUrl: string, labels: RequestLabels): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const series = `revgate_requests_total{route="${labels.route}",decision="${labels.decision}",reason="${labels.reason}"}`;
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
