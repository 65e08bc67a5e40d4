/**
 * Calibration domain: caltable sets with validity windows and apply order.
 */
import { mjdNow, type Registry } from './db.js';

export type CalType = 'K' | 'BP' | 'G';
export const APPLY_ORDER: Record<CalType, number> = { K: 0, BP: 1, G: 2 };

export interface CaltableRow {
  id: number; set_name: string; path: string; type: CalType; apply_order: number;
  valid_start_mjd: number; valid_end_mjd: number; refant: string | null; status: 'active' | 'retired' | 'failed';
  source_ms: string | null; calibrator: string | null; snr_median: number | null; flagged_fraction: number | null;
  phase_rms_deg: number | null; n_antennas_good: number | null; qa: string | null; created_at: number; deleted_at: number | null;
}

export interface CaltableInput {
  setName: string; path: string; type: CalType; validStartMjd: number; validEndMjd: number;
  refant?: string | null; status?: 'active' | 'retired' | 'failed'; sourceMs?: string | null; calibrator?: string | null;
  snrMedian?: number | null; flaggedFraction?: number | null; phaseRmsDeg?: number | null; nAntennasGood?: number | null;
  qa?: unknown; applyOrder?: number;
}

/** Register the tables of one set in one transaction (all or nothing). */
export function registerCalSet(reg: Registry, tables: readonly CaltableInput[]): CaltableRow[] {
  const now = mjdNow();
  const stmt = reg.db.prepare(
    `INSERT INTO caltables (set_name, path, type, apply_order, valid_start_mjd, valid_end_mjd, refant, status, source_ms,
       calibrator, snr_median, flagged_fraction, phase_rms_deg, n_antennas_good, qa, created_at)
     VALUES (@setName, @path, @type, @applyOrder, @validStartMjd, @validEndMjd, @refant, @status, @sourceMs, @calibrator,
       @snrMedian, @flaggedFraction, @phaseRmsDeg, @nAntennasGood, @qa, @now)
     ON CONFLICT(path) DO UPDATE SET set_name=excluded.set_name, type=excluded.type, apply_order=excluded.apply_order,
       valid_start_mjd=excluded.valid_start_mjd, valid_end_mjd=excluded.valid_end_mjd, refant=excluded.refant,
       status=excluded.status, source_ms=excluded.source_ms, calibrator=excluded.calibrator, snr_median=excluded.snr_median,
       flagged_fraction=excluded.flagged_fraction, phase_rms_deg=excluded.phase_rms_deg,
       n_antennas_good=excluded.n_antennas_good, qa=excluded.qa, created_at=excluded.created_at, deleted_at=NULL`,
  );
  return reg.write(() => {
    for (const t of tables) {
      stmt.run({
        setName: t.setName, path: t.path, type: t.type, applyOrder: t.applyOrder ?? APPLY_ORDER[t.type],
        validStartMjd: t.validStartMjd, validEndMjd: t.validEndMjd, refant: t.refant ?? null, status: t.status ?? 'active',
        sourceMs: t.sourceMs ?? null, calibrator: t.calibrator ?? null, snrMedian: t.snrMedian ?? null,
        flaggedFraction: t.flaggedFraction ?? null, phaseRmsDeg: t.phaseRmsDeg ?? null, nAntennasGood: t.nAntennasGood ?? null,
        qa: t.qa === undefined ? null : JSON.stringify(t.qa), now,
      });
    }
    return calSet(reg, tables[0]!.setName);
  });
}

export function calSet(reg: Registry, setName: string): CaltableRow[] {
  return reg.db.prepare('SELECT * FROM caltables WHERE set_name = ? AND deleted_at IS NULL ORDER BY apply_order').all(setName) as CaltableRow[];
}

export interface ActiveSet { setName: string; tables: CaltableRow[]; distanceDays: number }

/**
 * The set to apply at `mjd`: the newest active set whose validity contains it; else the nearest
 * active set within `maxDistanceDays` (distance to its validity window).
 */
export function activeCalSet(reg: Registry, mjd: number, maxDistanceDays = 0.5): ActiveSet | undefined {
  const rows = reg.db
    .prepare(
      `SELECT set_name, MIN(valid_start_mjd) AS s, MAX(valid_end_mjd) AS e, MAX(created_at) AS c
       FROM caltables WHERE status = 'active' AND deleted_at IS NULL GROUP BY set_name`,
    )
    .all() as { set_name: string; s: number; e: number; c: number }[];
  let best: { name: string; dist: number; c: number; s: number } | undefined;
  for (const r of rows) {
    // A set is valid where every one of its tables is valid; the window used is its intersection.
    const w = reg.db
      .prepare(`SELECT MAX(valid_start_mjd) AS s, MIN(valid_end_mjd) AS e FROM caltables WHERE set_name=? AND status='active' AND deleted_at IS NULL`)
      .get(r.set_name) as { s: number; e: number };
    const dist = mjd < w.s ? w.s - mjd : mjd > w.e ? mjd - w.e : 0;
    if (dist > maxDistanceDays) continue;
    if (!best || dist < best.dist || (dist === best.dist && (w.s > best.s || (w.s === best.s && r.c > best.c)))) {
      best = { name: r.set_name, dist, c: r.c, s: w.s };
    }
  }
  if (!best) return undefined;
  return { setName: best.name, tables: calSet(reg, best.name).filter((t) => t.status === 'active'), distanceDays: best.dist };
}

export function setCalSetStatus(reg: Registry, setName: string, status: 'active' | 'retired' | 'failed'): number {
  return reg.write(() => reg.db.prepare('UPDATE caltables SET status = ? WHERE set_name = ?').run(status, setName).changes);
}
