/**
 * Queue recovery: groups stuck in_progress go back to pending (or fail after too many retries),
 * and groups that never collected all their subbands fail, naming what is missing.
 */
import os from 'node:os';
import { mjdNow, type Registry } from '../registry/db.js';
import type { GroupRow } from '../registry/queue.js';
import { pidAlive } from '../util/atomic.js';
import { act, type HousekeepAction } from './actions.js';

export interface QueueRecoveryOptions {
  /** Seconds without an update after which an in_progress group is considered abandoned. */
  inProgressTimeoutS: number;
  /** Seconds after creation after which a collecting group is given up. */
  collectingTimeoutS: number;
  /** Retries allowed: a group whose retry_count has reached this fails instead of requeueing. */
  maxRetries: number;
  dryRun?: boolean;
  /** MJD days; defaults to now (tests pass a fixed time). */
  nowMjd?: number;
}

/** Whether a claimant "host:pid" is a process that has died on this host. */
function deadLocalClaim(claimedBy: string | null): boolean {
  const m = /^(.*):(\d+)$/.exec(claimedBy ?? '');
  return !!m && m[1] === os.hostname() && Number(m[2]) !== process.pid && !pidAlive(Number(m[2]));
}

function missingList(json: string | null): number[] | null {
  if (!json) return null;
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : null;
  } catch {
    return null;
  }
}

/**
 * in_progress groups not updated for `inProgressTimeoutS` (or claimed by a process that died on
 * this host) → pending with retry_count + 1, or failed once retry_count has reached maxRetries;
 * collecting groups older than `collectingTimeoutS` → failed with the missing subbands named.
 */
export function recoverQueue(reg: Registry, o: QueueRecoveryOptions): HousekeepAction[] {
  const now = o.nowMjd ?? mjdNow();
  const dry = o.dryRun ?? false;
  const out: HousekeepAction[] = [];
  const staleBefore = now - o.inProgressTimeoutS / 86400;
  const collectBefore = now - o.collectingTimeoutS / 86400;

  const work = () => {
    const stuck = (reg.db.prepare(`SELECT * FROM processing_queue WHERE state = 'in_progress' ORDER BY group_id`).all() as GroupRow[])
      .filter((g) => g.updated_at < staleBefore || deadLocalClaim(g.claimed_by));
    // The WHERE repeats state and updated_at so a worker finishing meanwhile is not overwritten.
    const requeue = reg.db.prepare(
      `UPDATE processing_queue SET state='pending', retry_count=retry_count+1, claimed_by=NULL, error=@error, updated_at=@now
       WHERE group_id=@id AND state='in_progress' AND updated_at=@seen`,
    );
    const fail = reg.db.prepare(
      `UPDATE processing_queue SET state='failed', claimed_by=NULL, error=@error, updated_at=@now
       WHERE group_id=@id AND state=@state AND updated_at=@seen`,
    );
    for (const g of stuck) {
      const idleS = Math.round((now - g.updated_at) * 86400);
      const why = deadLocalClaim(g.claimed_by)
        ? `worker ${g.claimed_by} died`
        : `no progress for ${idleS} s${g.claimed_by ? ` (claimed by ${g.claimed_by})` : ''}`;
      const giveUp = g.retry_count >= o.maxRetries;
      const error = giveUp
        ? `abandoned in_progress: ${why}; retries exhausted (${g.retry_count}/${o.maxRetries})`
        : `abandoned in_progress: ${why}; requeued (retry ${g.retry_count + 1}/${o.maxRetries})`;
      let changed = 1;
      if (!dry) {
        changed = giveUp
          ? fail.run({ id: g.group_id, state: 'in_progress', seen: g.updated_at, error, now }).changes
          : requeue.run({ id: g.group_id, seen: g.updated_at, error, now }).changes;
      }
      if (changed) {
        out.push(act(giveUp ? 'fail-stale' : 'requeue', g.group_id, dry, {
          detail: error, retry_count: giveUp ? g.retry_count : g.retry_count + 1, idle_s: idleS, claimed_by: g.claimed_by,
        }));
      }
    }

    const old = reg.db
      .prepare(`SELECT * FROM processing_queue WHERE state = 'collecting' AND created_at < ? ORDER BY group_id`)
      .all(collectBefore) as GroupRow[];
    for (const g of old) {
      const missing = missingList(g.missing_subbands);
      const ageH = ((now - g.created_at) * 24).toFixed(1);
      const names = missing && missing.length
        ? missing.map((s) => `sb${String(s).padStart(2, '0')}`).join(', ')
        : 'unknown subbands';
      const error = `incomplete after ${ageH} h: ${g.received_subbands} of ${g.expected_subbands} subbands; missing ${names}`;
      const changed = dry ? 1 : fail.run({ id: g.group_id, state: 'collecting', seen: g.updated_at, error, now }).changes;
      if (changed) out.push(act('fail-collecting', g.group_id, dry, { detail: error, missing_subbands: missing ?? [] }));
    }
  };
  if (dry) work();
  else reg.write(work);
  return out;
}
