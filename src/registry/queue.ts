/**
 * Ingest domain: subband files and the group processing queue
 * (collecting → pending → in_progress → completed | failed).
 */
import { mjdNow, type Registry } from './db.js';

export type QueueState = 'collecting' | 'pending' | 'in_progress' | 'completed' | 'failed';
export const QUEUE_STATES: readonly QueueState[] = ['collecting', 'pending', 'in_progress', 'completed', 'failed'];

export interface GroupRow {
  group_id: string;
  state: QueueState;
  expected_subbands: number;
  received_subbands: number;
  missing_subbands: string | null;
  retry_count: number;
  error: string | null;
  claimed_by: string | null;
  ms_path: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  completed_at: number | null;
}

export interface FileRow {
  id: number;
  path: string;
  group_id: string | null;
  subband: number | null;
  timestamp_mjd: number | null;
  size: number | null;
  mtime: number | null;
  status: string;
  error: string | null;
  indexed_at: number;
}

export function upsertFile(
  reg: Registry,
  f: { path: string; groupId: string | null; subband: number | null; timestampMjd: number | null; size: number; mtime: number; status?: string },
): void {
  reg.db
    .prepare(
      `INSERT INTO hdf5_files (path, group_id, subband, timestamp_mjd, size, mtime, status, indexed_at)
       VALUES (@path, @groupId, @subband, @timestampMjd, @size, @mtime, @status, @now)
       ON CONFLICT(path) DO UPDATE SET group_id=excluded.group_id, subband=excluded.subband,
         timestamp_mjd=excluded.timestamp_mjd, size=excluded.size, mtime=excluded.mtime,
         status=CASE WHEN hdf5_files.status IN ('converted') AND hdf5_files.size = excluded.size THEN hdf5_files.status ELSE excluded.status END`,
    )
    .run({ ...f, status: f.status ?? 'indexed', now: mjdNow() });
}

export function getFile(reg: Registry, p: string): FileRow | undefined {
  return reg.db.prepare('SELECT * FROM hdf5_files WHERE path = ?').get(p) as FileRow | undefined;
}

export function setFilesStatus(reg: Registry, groupId: string, status: string, error: string | null = null): void {
  reg.db.prepare('UPDATE hdf5_files SET status = ?, error = ? WHERE group_id = ?').run(status, error, groupId);
}

export function filesOfGroup(reg: Registry, groupId: string): FileRow[] {
  return reg.db.prepare('SELECT * FROM hdf5_files WHERE group_id = ? ORDER BY subband').all(groupId) as FileRow[];
}

/** Create or update a group's row; a group becomes pending when it has all its subbands. */
export function upsertGroup(
  reg: Registry,
  g: { groupId: string; expected: number; received: number; missing: number[] },
): GroupRow {
  const now = mjdNow();
  const complete = g.received >= g.expected;
  reg.db
    .prepare(
      `INSERT INTO processing_queue (group_id, state, expected_subbands, received_subbands, missing_subbands, created_at, updated_at)
       VALUES (@groupId, @state, @expected, @received, @missing, @now, @now)
       ON CONFLICT(group_id) DO UPDATE SET
         expected_subbands = excluded.expected_subbands,
         received_subbands = excluded.received_subbands,
         missing_subbands = excluded.missing_subbands,
         state = CASE WHEN processing_queue.state = 'collecting' AND @complete THEN 'pending' ELSE processing_queue.state END,
         updated_at = CASE WHEN processing_queue.received_subbands <> excluded.received_subbands THEN @now ELSE processing_queue.updated_at END`,
    )
    .run({
      groupId: g.groupId,
      state: complete ? 'pending' : 'collecting',
      expected: g.expected,
      received: g.received,
      missing: JSON.stringify(g.missing),
      now,
      complete: complete ? 1 : 0,
    });
  return getGroup(reg, g.groupId)!;
}

export function getGroup(reg: Registry, groupId: string): GroupRow | undefined {
  return reg.db.prepare('SELECT * FROM processing_queue WHERE group_id = ?').get(groupId) as GroupRow | undefined;
}

/**
 * Atomically take the oldest pending group for `worker` (among `only`, when given). One UPDATE …
 * RETURNING inside an IMMEDIATE transaction: two workers can never take the same group.
 */
export function claimNextGroup(reg: Registry, worker: string, only?: readonly string[]): GroupRow | undefined {
  const now = mjdNow();
  // An explicit list restricts the claim even when it is empty: `convert --watch` passes the
  // groups whose files it has seen settle, and on a restart that is none at first — claiming
  // "any pending group" then took one it had no files for and crashed, leaving it in_progress.
  if (only && only.length === 0) return undefined;
  return reg.write(() => {
    if (only) {
      const stmt = reg.db.prepare(
        `UPDATE processing_queue SET state='in_progress', claimed_by=?, started_at=?, updated_at=?
         WHERE group_id = ? AND state = 'pending' RETURNING *`,
      );
      for (const g of only) {
        const row = stmt.get(worker, now, now, g) as GroupRow | undefined;
        if (row) return row;
      }
      return undefined;
    }
    return reg.db
      .prepare(
        `UPDATE processing_queue SET state='in_progress', claimed_by=@worker, started_at=@now, updated_at=@now
         WHERE group_id = (SELECT group_id FROM processing_queue WHERE state='pending' ORDER BY group_id LIMIT 1)
           AND state = 'pending'
         RETURNING *`,
      )
      .get({ worker, now }) as GroupRow | undefined;
  });
}

export function completeGroup(reg: Registry, groupId: string, msPath: string): void {
  const now = mjdNow();
  reg.db
    .prepare(`UPDATE processing_queue SET state='completed', ms_path=?, error=NULL, completed_at=?, updated_at=? WHERE group_id=?`)
    .run(msPath, now, now, groupId);
}

/** Mark a group failed, or back to pending for another try while retries remain. */
export function failGroup(reg: Registry, groupId: string, error: string, maxRetries = 0): GroupRow | undefined {
  const now = mjdNow();
  reg.db
    .prepare(
      `UPDATE processing_queue SET
         state = CASE WHEN retry_count < @maxRetries THEN 'pending' ELSE 'failed' END,
         retry_count = retry_count + CASE WHEN retry_count < @maxRetries THEN 1 ELSE 0 END,
         error=@error, claimed_by=NULL, updated_at=@now
       WHERE group_id=@groupId`,
    )
    .run({ groupId, error, now, maxRetries });
  return getGroup(reg, groupId);
}

/** Failed or completed groups back to pending (operator action). Returns the ids changed. */
export function reprocessGroups(reg: Registry, ids: readonly string[]): { changed: string[]; missing: string[]; skipped: { id: string; state: string }[] } {
  const changed: string[] = [];
  const missing: string[] = [];
  const skipped: { id: string; state: string }[] = [];
  reg.write(() => {
    const now = mjdNow();
    for (const id of ids) {
      const g = getGroup(reg, id);
      if (!g) { missing.push(id); continue; }
      if (g.state !== 'failed' && g.state !== 'completed') { skipped.push({ id, state: g.state }); continue; }
      reg.db
        .prepare(`UPDATE processing_queue SET state='pending', retry_count=0, error=NULL, claimed_by=NULL, updated_at=? WHERE group_id=?`)
        .run(now, id);
      changed.push(id);
    }
  });
  return { changed, missing, skipped };
}

export function queueCounts(reg: Registry): Record<QueueState, number> {
  const out = Object.fromEntries(QUEUE_STATES.map((s) => [s, 0])) as Record<QueueState, number>;
  for (const r of reg.db.prepare('SELECT state, COUNT(*) AS n FROM processing_queue GROUP BY state').all() as { state: QueueState; n: number }[]) {
    out[r.state] = r.n;
  }
  return out;
}
