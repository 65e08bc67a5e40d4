/**
 * Database upkeep: integrity check, WAL checkpoint, and an online backup written atomically.
 */
import Database from 'better-sqlite3';
import { promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import type { Registry } from '../registry/db.js';
import { fsyncDir, tempSiblingName } from '../util/atomic.js';
import { act, errMessage, type HousekeepAction } from './actions.js';

/** PRAGMA integrity_check (or quick_check): ok, or the first problems SQLite reports. */
export function integrityCheck(reg: Registry, quick = false): HousekeepAction {
  const pragma = quick ? 'quick_check' : 'integrity_check';
  const a = act('integrity-check', reg.path, false, { check: pragma });
  try {
    const rows = reg.db.pragma(`${pragma}(20)`) as Record<string, string>[];
    const msgs = rows.map((r) => Object.values(r)[0] ?? '');
    if (msgs.length === 1 && msgs[0] === 'ok') a.detail = 'ok';
    else {
      a.ok = false;
      a.error = `${pragma} failed: ${msgs.slice(0, 5).join('; ')}${msgs.length > 5 ? ` (+${msgs.length - 5} more)` : ''}`;
    }
  } catch (e) {
    a.ok = false;
    a.error = `${pragma} failed: ${errMessage(e)}`;
  }
  return a;
}

/**
 * PRAGMA wal_checkpoint(TRUNCATE): copy the WAL into the database and truncate it. `busy` means
 * readers kept it from finishing; that is a warning for next time, not a failure.
 */
export function walCheckpoint(reg: Registry, dryRun = false): HousekeepAction {
  const a = act('wal-checkpoint', reg.path, dryRun);
  if (dryRun) return a;
  try {
    const [r] = reg.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
    a.busy = r?.busy ?? 0;
    a.wal_frames = r?.log ?? 0;
    a.checkpointed = r?.checkpointed ?? 0;
    a.detail = r?.busy ? 'incomplete: database busy (readers), retried next run' : `checkpointed ${r?.checkpointed ?? 0} frames, WAL truncated`;
  } catch (e) {
    a.ok = false;
    a.error = errMessage(e);
  }
  return a;
}

/** Where a backup goes: PATH itself, or a timestamped file inside PATH if it is a directory. */
export function backupTarget(p: string, now = new Date()): string {
  const abs = path.resolve(p);
  let isDir = p.endsWith('/');
  try {
    isDir ||= statSync(abs).isDirectory();
  } catch {
    /* not there yet: a file path */
  }
  if (!isDir) return abs;
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return path.join(abs, `pipeline-${stamp}.sqlite3`);
}

/**
 * Online backup with SQLite's backup API (consistent while other processes write), written to
 * a temp sibling, switched to rollback-journal mode, checked with quick_check, fsynced and
 * renamed into place.
 */
export async function backupDatabase(reg: Registry, target: string, dryRun = false): Promise<HousekeepAction> {
  const final = backupTarget(target);
  const a = act('backup', final, dryRun);
  if (dryRun) return a;
  await fsp.mkdir(path.dirname(final), { recursive: true });
  const tmp = tempSiblingName(final);
  try {
    await reg.db.backup(tmp);
    // Rollback-journal mode: the backup is one self-contained file (no -wal/-shm beside it).
    const check = new Database(tmp, { fileMustExist: true });
    try {
      check.pragma('journal_mode = DELETE');
      const res = check.pragma('quick_check', { simple: true }) as string;
      if (res !== 'ok') throw new Error(`backup failed its quick_check: ${res}`);
      a.schema_version = check.pragma('user_version', { simple: true }) as number;
    } finally {
      check.close();
    }
    const fh = await fsp.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, final);
    await fsyncDir(path.dirname(final)).catch(() => undefined);
    a.bytes = statSync(final).size;
    a.detail = `online backup of ${reg.path}`;
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    a.ok = false;
    a.error = errMessage(e);
  }
  return a;
}
