/** The human summary that `revgate status` prints from a proxy's `/status` document. */
import type { StatusDocument, StreamStatus } from '../server/status.js';

/** Width of the label column. */
const LABEL_WIDTH = 13;

/** Formats a status document as labelled lines; `now` (milliseconds) dates the relative times. */
export function formatStatus(status: StatusDocument, adminUrl: string, now: number): string {
  const lines: [string, string][] = [
    ['proxy', `revgate ${status.version} at ${adminUrl}, up ${formatDuration(status.uptimeSeconds)}`],
    ['ready', status.ready ? 'yes' : `NO (${status.notReadyReason ?? 'unknown reason'})`],
    ['replica', describeReplica(status)],
    ...status.streams.map((stream): [string, string] => ['stream', describeStream(stream, status.maxStalenessSeconds)]),
    ['entries', describeEntries(status.entries)],
    ['last event', status.lastEventAt === null ? 'none since start' : `${status.lastEventAt} (${describeAge(status.lastEventAt, now)})`],
    ['nats', status.natsConnected ? `connected to ${status.natsServer ?? 'an unknown server'}` : 'DISCONNECTED'],
    ['requests', `${status.requestsInFlight} in flight${status.shuttingDown ? ', SHUTTING DOWN' : ''}`],
    ['config', `${status.config.file}, sha256 ${status.configDigest.slice(0, 12)}, loaded ${status.config.loadedAt}`],
  ];
  if (status.config.restartRequired.length > 0) {
    lines.push(['', `changed but not applied until a restart: ${status.config.restartRequired.join(', ')}`]);
  }
  const reload = status.config.lastReload;
  if (reload) {
    lines.push(['last reload', `${reload.at} by ${reload.trigger}: ${reload.result === 'success' ? 'applied' : 'FAILED, the previous config runs'}`]);
    for (const problem of reload.problems) lines.push(['', `- ${problem}`]);
  }
  return lines.map(([label, value]) => `${label.padEnd(LABEL_WIDTH)}${value}`).join('\n') + '\n';
}

function describeReplica(status: StatusDocument): string {
  const limit = `limit ${formatSeconds(status.maxStalenessSeconds)}`;
  if (status.stalenessSeconds === null) return `NOT CONFIRMED current since start (${limit})`;
  const staleness = formatSeconds(status.stalenessSeconds);
  if (status.stalenessSeconds > status.maxStalenessSeconds) return `STALE for ${staleness} (${limit}); privileged routes answer 503`;
  return `${status.synced ? 'in sync' : 'not yet synced'}, staleness ${staleness} (${limit})`;
}

function describeStream(stream: StreamStatus, maxStalenessSeconds: number): string {
  const position = `applied sequence ${stream.appliedSequence} of ${stream.lastKnownSequence} known`;
  if (stream.stalenessSeconds === null) return `${stream.stream}: ${position}, never confirmed current`;
  const stale = stream.stalenessSeconds > maxStalenessSeconds ? ' (STALE)' : '';
  return `${stream.stream}: ${position}, staleness ${formatSeconds(stream.stalenessSeconds)}${stale}`;
}

function describeEntries(entries: Record<string, number>): string {
  const parts = Object.entries(entries)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${kind} ${count}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

function describeAge(isoTime: string, now: number): string {
  const seconds = Math.max(0, (now - Date.parse(isoTime)) / 1000);
  return `${formatDuration(seconds)} ago`;
}

function formatSeconds(seconds: number): string {
  return `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(0)} s`;
}

/** Formats a duration in seconds as `45s`, `12m 5s`, `3h 4m` or `2d 1h`. */
export function formatDuration(seconds: number): string {
  const whole = Math.floor(seconds);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${whole % 60}s`;
  if (whole < 86_400) return `${Math.floor(whole / 3600)}h ${Math.floor((whole % 3600) / 60)}m`;
  return `${Math.floor(whole / 86_400)}d ${Math.floor((whole % 86_400) / 3600)}h`;
}
