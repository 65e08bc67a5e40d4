/**
 * Locating the package's run-time data directory (`data/` next to package.json), both from
 * `src/` (vitest, tsx) and from `dist/src/` (after tsc): walk up from this module's file until a
 * directory holding package.json is found. The installed toolkit never reads ../shared.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DsaError } from '../util/errors.js';

let root: string | null = null;

/** Absolute path of the package root (the directory containing package.json). */
export function packageRoot(): string {
  if (root !== null) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) {
      root = dir;
      return dir;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new DsaError(`cannot find the package root (package.json) above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Absolute path of a file in the package's data/ directory. */
export function packageDataPath(name: string): string {
  return path.join(packageRoot(), 'data', name);
}
