/**
 * Worker identity and recovery of groups claimed by workers that died on this host.
 */
import os from 'node:os';
import { mjdNow, type Registry } from './db.js';
import type { GroupRow } from './queue.js';
import { pidAlive } from '../util/atomic.js';

export function workerId(): string {
  return `${os.hostname()}:${process.pid}`;
}


/**
 * Groups in_progress whose claiming process (same host) no longer exists go back to pending,
 * counting a retry. Returns their ids. Other hosts' claims are left to housekeep's timeout.
 */
export function recoverDeadClaims(reg: Registry): string[] {
  const host = os.hostname();
  const rows = reg.db.prepare(`SELECT * FROM processing_queue WHERE state = 'in_progress'`).all() as GroupRow[];
  const dead = rows.filter((r) => {
    const m = /^(.*):(\d+)$/.exec(r.claimed_by ?? '');
    return m && m[1] === host && Number(m[2]) !== process.pid && !pidAlive(Number(m[2]));
  });
  if (!dead.length) return [];
  const now = mjdNow();
  reg.write(() => {
    const stmt = reg.db.prepare(
      `UPDATE processing_queue SET state='pending', retry_count=retry_count+1, claimed_by=NULL,
         error='worker ' || ? || ' died while converting', updated_at=? WHERE group_id=? AND state='in_progress' AND claimed_by=?`,
    );
    for (const r of dead) stmt.run(r.claimed_by, now, r.group_id, r.claimed_by);
  });
  return dead.map((r) => r.group_id);
}

/** Put a group we claimed back to pending without counting a retry (clean shutdown). */
export function releaseGroup(reg: Registry, groupId: string): void {
  reg.db.prepare(`UPDATE processing_queue SET state='pending', claimed_by=NULL, updated_at=? WHERE group_id=? AND state='in_progress'`).run(mjdNow(), groupId);
}
