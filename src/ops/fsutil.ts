/**
 * Small filesystem helpers for housekeeping: bounded tree walks for sizes and newest mtimes.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export interface TreeStats {
  bytes: number;
  /** Newest mtime (ms) of the entry or anything beneath it. */
  newestMtimeMs: number;
  entries: number;
  /** True when the walk stopped at the entry limit (figures are then lower bounds). */
  truncated: boolean;
}

/**
 * Size and newest mtime of a file or directory tree (symlinks are not followed). A writer
 * filling files inside a directory does not change the directory's own mtime, so liveness is
 * judged from the newest mtime anywhere beneath it.
 */
export async function treeStats(p: string, maxEntries = 200_000): Promise<TreeStats> {
  const s: TreeStats = { bytes: 0, newestMtimeMs: 0, entries: 0, truncated: false };
  const stack = [p];
  while (stack.length) {
    const cur = stack.pop()!;
    let st;
    try {
      st = await fsp.lstat(cur);
    } catch {
      continue; // vanished meanwhile
    }
    s.entries++;
    if (st.mtimeMs > s.newestMtimeMs) s.newestMtimeMs = st.mtimeMs;
    if (st.isDirectory()) {
      if (s.entries >= maxEntries) { s.truncated = true; break; }
      let names: string[];
      try {
        names = await fsp.readdir(cur);
      } catch {
        continue;
      }
      for (const n of names) stack.push(path.join(cur, n));
    } else {
      s.bytes += st.size;
    }
  }
  return s;
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Remove a file or tree; returns the error message instead of throwing. */
export async function removeTree(p: string): Promise<string | undefined> {
  try {
    await fsp.rm(p, { recursive: true, force: true });
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return err.code ? `${err.code}: ${err.message}` : String(err.message);
  }
}
