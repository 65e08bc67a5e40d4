/**
 * Configuration precedence: command options > environment > defaults.
 *   PIPELINE_DB          registry database path
 *   PIPELINE_STATE_DIR   state directory (default ./state); the db defaults to <state>/db/pipeline.sqlite3
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';

export function stateDir(opt?: string): string {
  return path.resolve(opt || process.env.PIPELINE_STATE_DIR || 'state');
}

export function dbPath(opts: { db?: string; stateDir?: string } = {}): string {
  if (opts.db) return path.resolve(opts.db);
  if (process.env.PIPELINE_DB) return path.resolve(process.env.PIPELINE_DB);
  return path.join(stateDir(opts.stateDir), 'db', 'pipeline.sqlite3');
}

/** Root of the installed package (the directory holding package.json), from src/ or dist/src/. */
export { packageRoot } from '../astro/data-path.js';
import { packageRoot } from '../astro/data-path.js';

let cachedVersion: string | undefined;
export function packageVersion(): string {
  if (cachedVersion) return cachedVersion;
  // Read lazily and synchronously: it is tiny and needed by --version and HISTORY entries.
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  cachedVersion = pkg.version;
  return cachedVersion;
}


/** Parse a number option, throwing a UsageError-compatible message on bad values. */
export function envNumber(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}
