/** Run the built CLI (dist/) as a user would, capturing stdout, stderr and the exit code. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(REPO, 'bin', 'dsa110');
export const SHARED = process.env.DSA110_SHARED ?? path.resolve(REPO, '..', 'shared');

export interface RunResult { code: number; stdout: string; stderr: string }

export function dsa110(args: string[], opts: { env?: Record<string, string>; input?: string; cwd?: string } = {}): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    input: opts.input ?? '',
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function tmpDir(prefix = 'dsa110-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}
