/**
 * The housekeeping run: queue recovery → cleanup → retention → disk check → database upkeep,
 * each part isolated (a failure in one is reported and the others still run).
 */
import path from 'node:path';
import type { Registry } from '../registry/db.js';
import { recordStage } from '../registry/metrics.js';
import { act, errMessage, type HousekeepAction } from './actions.js';
import { recoverQueue } from './queue-recovery.js';
import { cleanupFiles, type ProductKind } from './cleanup.js';
import { checkDisk } from './disk.js';
import { applyRetention, planRetention, type RetentionPolicy } from './retention.js';
import { backupDatabase, integrityCheck, walCheckpoint } from './database.js';

export interface HousekeepOptions {
  stateDir: string;
  /** Data directories by role (input, ms, images, caltables, mosaics). */
  dirs: { role: string; path: string }[];
  scratchDirs?: string[];
  inProgressTimeoutS: number;
  collectingTimeoutS: number;
  maxRetries: number;
  tempAgeS: number;
  deadPidGraceS?: number;
  maxDepth?: number;
  warnGb: number;
  criticalGb: number;
  retention: RetentionPolicy;
  /** Retention deletes only with apply; otherwise it lists candidates. */
  apply?: boolean;
  backup?: string;
  quickCheck?: boolean;
  /** Change nothing at all (queue, files, flag, database); report what would be done. */
  dryRun?: boolean;
  parts?: Partial<Record<'queue' | 'cleanup' | 'retention' | 'disk' | 'database', boolean>>;
  env?: NodeJS.ProcessEnv;
  /** Called for each action as soon as it is known (streaming output). */
  onAction?: (a: HousekeepAction) => void;
}

export interface HousekeepReport {
  actions: HousekeepAction[];
  exitCode: 0 | 1;
  diskCritical: boolean;
  integrityOk: boolean | null;
  failures: number;
  bytesFreed: number;
  backupPath?: string;
  seconds: number;
}

export function registeredLookup(reg: Registry): (abs: string, kind: ProductKind) => boolean {
  const ms = reg.db.prepare('SELECT 1 FROM ms_index WHERE path = ?');
  const cal = reg.db.prepare('SELECT 1 FROM caltables WHERE path = ?');
  const img = reg.db.prepare('SELECT 1 FROM images WHERE path = ? OR pb_path = ? UNION ALL SELECT 1 FROM mosaics WHERE path = ?');
  return (abs, kind) => {
    if (kind === 'ms') return ms.get(abs) !== undefined;
    if (kind === 'caltable') return cal.get(abs) !== undefined;
    return img.get(abs, abs, abs) !== undefined;
  };
}

export async function runHousekeep(reg: Registry, o: HousekeepOptions): Promise<HousekeepReport> {
  const t0 = performance.now();
  const dry = o.dryRun ?? false;
  const on = (k: keyof NonNullable<HousekeepOptions['parts']>) => o.parts?.[k] ?? true;
  const actions: HousekeepAction[] = [];
  const push = (list: HousekeepAction[]) => {
    for (const a of list) {
      actions.push(a);
      o.onAction?.(a);
    }
  };
  const guard = async (part: string, fn: () => Promise<HousekeepAction[]>) => {
    try {
      push(await fn());
    } catch (e) {
      push([{ ...act(`${part}-error`, reg.path, dry), ok: false, error: errMessage(e) }]);
    }
  };
  const stateDir = path.resolve(o.stateDir);
  let diskCritical = false;
  let integrityOk: boolean | null = null;
  let backupPath: string | undefined;

  if (on('queue')) {
    await guard('queue', async () => recoverQueue(reg, {
      inProgressTimeoutS: o.inProgressTimeoutS, collectingTimeoutS: o.collectingTimeoutS, maxRetries: o.maxRetries, dryRun: dry,
    }));
  }
  if (on('cleanup')) {
    await guard('cleanup', () => cleanupFiles({
      dirs: [...o.dirs.map((d) => d.path), stateDir],
      scratchDirs: o.scratchDirs ?? [path.join(stateDir, 'scratch')],
      tempAgeS: o.tempAgeS, deadPidGraceS: o.deadPidGraceS, maxDepth: o.maxDepth, dryRun: dry,
      isRegistered: registeredLookup(reg),
    }));
  }
  if (on('retention') && Object.keys(o.retention).length) {
    await guard('retention', async () => applyRetention(reg, planRetention(reg, o.retention), (o.apply ?? false) && !dry));
  }
  if (on('disk')) {
    await guard('disk', async () => {
      const r = await checkDisk({ dirs: [...o.dirs, { role: 'state', path: stateDir }], warnGb: o.warnGb, criticalGb: o.criticalGb, stateDir, dryRun: dry, env: o.env });
      diskCritical = r.critical;
      return r.actions;
    });
  }
  if (on('database')) {
    await guard('database', async () => {
      const out: HousekeepAction[] = [];
      const ic = integrityCheck(reg, o.quickCheck);
      integrityOk = ic.ok;
      out.push(ic);
      if (ic.ok) {
        out.push(walCheckpoint(reg, dry));
        if (o.backup) {
          const b = await backupDatabase(reg, o.backup, dry);
          if (b.ok && !dry) backupPath = b.subject;
          out.push(b);
        }
      } else if (o.backup) {
        out.push({ ...act('backup', o.backup, dry), ok: false, error: 'skipped: the database failed its integrity check' });
      }
      return out;
    });
  }

  const failures = actions.filter((a) => !a.ok).length;
  const bytesFreed = actions.filter((a) => a.ok && !a.dry_run && /^(remove-|retention-delete)/.test(a.action)).reduce((s, a) => s + (a.bytes ?? 0), 0);
  const exitCode: 0 | 1 = diskCritical || failures > 0 ? 1 : 0;
  const seconds = (performance.now() - t0) / 1000;
  if (!dry) {
    try {
      const problems = [
        ...(diskCritical ? ['disk space critical'] : []),
        ...actions.filter((a) => !a.ok).map((a) => `${a.action} ${a.subject}: ${a.error ?? 'failed'}`),
      ];
      recordStage(reg, {
        command: 'housekeep', product: reg.path, stage: 'housekeep', seconds, bytes: bytesFreed,
        ok: exitCode === 0, error: problems.length ? problems.join('; ').slice(0, 2000) : null,
      });
    } catch {
      /* metrics are best effort: a locked or corrupt db was already reported above */
    }
  }
  return { actions, exitCode, diskCritical, integrityOk, failures, bytesFreed, backupPath, seconds };
}
