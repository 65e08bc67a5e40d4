/**
 * Atomic file and directory writes.
 *
 * Every product is built under a temporary sibling whose name matches TEMP_PATTERN
 * (`.<name>.tmp-<pid>-<hex>`), fsynced, then renamed into place. When a directory replaces an
 * existing one, the old one is first renamed aside (`.<name>.old-<pid>-<hex>`), so that a crash
 * at any moment leaves either the old or the new complete tree on disk; `recoverAtomicDir`
 * (run by readers that own the product, and by housekeep) puts things back.
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DsaError } from './errors.js';

/** Matches temporary siblings: group 1 = final base name, 2 = 'tmp'|'old', 3 = pid, 4 = random hex. */
export const TEMP_PATTERN = /^\.(.+)\.(tmp|old)-(\d+)-([0-9a-f]{8,})$/;

export interface TempNameParts {
  name: string;
  kind: 'tmp' | 'old';
  pid: number;
}

export function parseTempName(base: string): TempNameParts | null {
  const m = TEMP_PATTERN.exec(base);
  if (!m) return null;
  return { name: m[1], kind: m[2] as 'tmp' | 'old', pid: Number(m[3]) };
}

/** A fresh temporary sibling path for `p` (same directory, so rename is atomic). */
export function tempSiblingName(p: string, kind: 'tmp' | 'old' = 'tmp'): string {
  const dir = path.dirname(p);
  const base = path.basename(p);
  return path.join(dir, `.${base}.${kind}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** True if a process with this pid exists on this host (EPERM means it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a temp entry is abandoned: its writer process is gone, or it is older than maxAgeMs
 * (guards against pid reuse). Returns false for names that are not temps.
 */
export async function isStaleTemp(fullPath: string, maxAgeMs = 24 * 3600 * 1000): Promise<boolean> {
  const parts = parseTempName(path.basename(fullPath));
  if (!parts) return false;
  if (!pidAlive(parts.pid)) return true;
  try {
    const st = await fsp.lstat(fullPath);
    return Date.now() - st.mtimeMs > maxAgeMs;
  } catch {
    return false;
  }
}

/** Turn ENOSPC/EACCES/EROFS/EDQUOT into a one-line DsaError naming the path; pass others through. */
export function ioError(e: unknown, what: string, subject: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new DsaError(`disk full while writing ${subject}`, { subject, cause: e });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new DsaError(`permission denied while ${what} ${subject}`, { subject, cause: e });
  }
  return e;
}

async function fsyncPath(p: string, isDir: boolean): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(p, isDir ? fsc.O_RDONLY | fsc.O_DIRECTORY : fsc.O_RDONLY);
    await fh.sync();
  } catch (e) {
    // Some filesystems refuse fsync on directories (EINVAL); that is not a data-loss risk we can fix.
    const code = (e as NodeJS.ErrnoException).code;
    if (!(isDir && (code === 'EINVAL' || code === 'EISDIR'))) throw e;
  } finally {
    await fh?.close();
  }
}

/** fsync a directory (so a rename/creation inside it is durable). */
export async function fsyncDir(dir: string): Promise<void> {
  await fsyncPath(dir, true);
}

/** fsync every file and directory under `root` (files first, then their directory). */
export async function fsyncTree(root: string): Promise<void> {
  const entries = await fsp.readdir(root, { withFileTypes: true });
  // A few files at a time: fsync of large files is I/O bound, parallelism lets the disk queue fill.
  const files = entries.filter((e) => e.isFile()).map((e) => path.join(root, e.name));
  for (let i = 0; i < files.length; i += 8) {
    await Promise.all(files.slice(i, i + 8).map((f) => fsyncPath(f, false)));
  }
  for (const e of entries) if (e.isDirectory()) await fsyncTree(path.join(root, e.name));
  await fsyncDir(root);
}

async function rmQuiet(p: string): Promise<void> {
  try {
    await fsp.rm(p, { recursive: true, force: true });
  } catch {
    /* best effort: housekeep removes leftovers matching TEMP_PATTERN */
  }
}

/**
 * Write a file atomically: temp sibling, fsync, rename, fsync directory.
 * On failure the temp is removed and the previous file (if any) is untouched.
 */
export async function writeFileAtomic(
  p: string,
  data: string | Uint8Array,
  opts: { fsync?: boolean } = {},
): Promise<void> {
  const doSync = opts.fsync ?? true;
  const tmp = tempSiblingName(p);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx');
    await fh.writeFile(data);
    if (doSync) await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, p);
    if (doSync) await fsyncDir(path.dirname(p));
  } catch (e) {
    if (fh) await fh.close().catch(() => undefined);
    await rmQuiet(tmp);
    throw ioError(e, 'writing', p);
  }
}

/** Hook for tests: called between the steps of a directory swap; throwing simulates a crash there. */
export type FailPoint = (step: 'built' | 'old-aside' | 'new-in' | 'old-removed') => void;

/**
 * Move a complete, already-built directory `tmpDir` to `finalPath`.
 * If `finalPath` exists: rename it aside, rename the new one in, then delete the old one.
 * Crash windows: before the first rename → old intact (tmp is garbage); between renames →
 * final missing, `.old` present → `recoverAtomicDir` renames it back; after → old is garbage.
 */
export async function commitDir(
  tmpDir: string,
  finalPath: string,
  opts: { fsync?: boolean; failpoint?: FailPoint } = {},
): Promise<void> {
  const doSync = opts.fsync ?? true;
  const parent = path.dirname(finalPath);
  try {
    if (doSync) await fsyncTree(tmpDir);
  } catch (e) {
    throw ioError(e, 'writing', finalPath);
  }
  opts.failpoint?.('built');
  let aside: string | undefined;
  try {
    await fsp.rename(tmpDir, finalPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR' && code !== 'EISDIR') {
      throw ioError(e, 'renaming', finalPath);
    }
    aside = tempSiblingName(finalPath, 'old');
    await fsp.rename(finalPath, aside);
    if (doSync) await fsyncDir(parent);
    opts.failpoint?.('old-aside');
    await fsp.rename(tmpDir, finalPath);
  }
  if (doSync) await fsyncDir(parent);
  opts.failpoint?.('new-in');
  if (aside) await rmQuiet(aside);
  opts.failpoint?.('old-removed');
}

/**
 * Build a directory atomically: `build(tmpDir)` fills a fresh temp sibling, which is then
 * fsynced and renamed into place (replacing any previous directory safely). If `build` throws,
 * the temp is removed and the previous directory is untouched.
 */
export async function writeDirAtomic(
  finalPath: string,
  build: (tmpDir: string) => Promise<void>,
  opts: { fsync?: boolean; failpoint?: FailPoint } = {},
): Promise<void> {
  const tmp = tempSiblingName(finalPath);
  try {
    await fsp.mkdir(tmp);
    await build(tmp);
  } catch (e) {
    await rmQuiet(tmp);
    throw ioError(e, 'writing', finalPath);
  }
  try {
    await commitDir(tmp, finalPath, opts);
  } catch (e) {
    // Only clean up for real errors; a failpoint "crash" must leave the disk as a crash would.
    if (!(e instanceof SimulatedCrash)) {
      await rmQuiet(tmp);
      await recoverAtomicDir(finalPath, { includeOwnPid: true });
    }
    throw ioError(e, 'writing', finalPath);
  }
}

/** Thrown by test failpoints; atomic helpers never clean up after it. */
export class SimulatedCrash extends Error {
  constructor(step: string) {
    super(`simulated crash at ${step}`);
    this.name = 'SimulatedCrash';
  }
}

/**
 * Repair the state a crashed `commitDir` can leave for `finalPath`:
 * - final missing and a stale `.old` sibling exists → rename the newest such back (roll back);
 * - stale `.tmp`/`.old` siblings alongside a present final → remove them.
 * Entries whose writer process is still alive are left alone (unless includeOwnPid and the pid
 * is ours, used right after our own failed commit). Returns the actions taken (for logs).
 */
export async function recoverAtomicDir(
  finalPath: string,
  opts: { includeOwnPid?: boolean; maxAgeMs?: number } = {},
): Promise<string[]> {
  const parent = path.dirname(finalPath);
  const base = path.basename(finalPath);
  const actions: string[] = [];
  let names: string[];
  try {
    names = await fsp.readdir(parent);
  } catch {
    return actions;
  }
  const stale: { full: string; kind: 'tmp' | 'old'; mtime: number }[] = [];
  for (const n of names) {
    const parts = parseTempName(n);
    if (!parts || parts.name !== base) continue;
    const full = path.join(parent, n);
    const ours = opts.includeOwnPid && parts.pid === process.pid;
    if (!ours && !(await isStaleTemp(full, opts.maxAgeMs))) continue;
    let mtime = 0;
    try {
      mtime = (await fsp.lstat(full)).mtimeMs;
    } catch {
      continue;
    }
    stale.push({ full, kind: parts.kind, mtime });
  }
  if (stale.length === 0) return actions;
  let finalExists = true;
  try {
    await fsp.lstat(finalPath);
  } catch {
    finalExists = false;
  }
  if (!finalExists) {
    const olds = stale.filter((s) => s.kind === 'old').sort((a, b) => b.mtime - a.mtime);
    if (olds.length > 0) {
      await fsp.rename(olds[0].full, finalPath);
      actions.push(`restored ${finalPath} from ${path.basename(olds[0].full)}`);
      stale.splice(stale.indexOf(olds[0]), 1);
    }
  }
  for (const s of stale) {
    await rmQuiet(s.full);
    actions.push(`removed ${path.basename(s.full)}`);
  }
  await fsyncDir(parent).catch(() => undefined);
  return actions;
}
