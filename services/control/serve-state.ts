// <workdir>/serve.json: which `sekisho serve` runs on this work folder and where its control
// API listens. Written by serve once the API listens, removed when it exits; read by
// `sekisho stop` (and anything else that attaches to a running serve, with control.secret).
// The port is the one actually listening (`serve --control-port` may override settings.json).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ServeState {
  pid: number;
  /** `http://127.0.0.1:8025/` */
  url: string;
  port: number;
  startedAt: string;
}

export function serveStatePath(workdir: string): string {
  return join(workdir, 'serve.json');
}

/** The state file's content, or null when absent or unreadable (serve not running, or killed). */
export function readServeState(workdir: string): ServeState | null {
  try {
    const v = JSON.parse(readFileSync(serveStatePath(workdir), 'utf8')) as Partial<ServeState>;
    if (!Number.isInteger(v.pid) || typeof v.url !== 'string' || !Number.isInteger(v.port)) return null;
    return v as ServeState;
  } catch {
    return null;
  }
}
