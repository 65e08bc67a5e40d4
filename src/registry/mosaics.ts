/**
 * Mosaics domain: choosing candidate images, recording plans and their members, and the outcome
 * of a build (built with figures, or failed with the error text).
 *
 * Functions that write expect to run inside `reg.write(...)` unless they say otherwise, so that a
 * plan (row + members) or a build outcome (row + metrics) lands in one transaction.
 */
import { DsaError } from '../util/errors.js';
import { mjdNow, type Registry } from './db.js';
import { getMosaic, type ImageRow, type MosaicRow } from './products.js';

export type MosaicTier = 'quicklook' | 'science' | 'deep';
export const MOSAIC_TIERS: readonly MosaicTier[] = ['quicklook', 'science', 'deep'];

export interface ImageWindow {
  startMjd: number;
  endMjd: number;
  decMinDeg?: number;
  decMaxDeg?: number;
}

/**
 * Usable images whose mid-time lies in [start, end] (MJD days) and, when given, whose pointing
 * declination lies in [decMin, decMax]; ordered by time.
 */
export function imagesInWindow(reg: Registry, w: ImageWindow): ImageRow[] {
  return reg.db
    .prepare(
      `SELECT * FROM images
       WHERE status = 'ok' AND deleted_at IS NULL
         AND mid_mjd >= @start AND mid_mjd <= @end
         AND (@decMin IS NULL OR dec_deg >= @decMin)
         AND (@decMax IS NULL OR dec_deg <= @decMax)
       ORDER BY mid_mjd, id`,
    )
    .all({ start: w.startMjd, end: w.endMjd, decMin: w.decMinDeg ?? null, decMax: w.decMaxDeg ?? null }) as ImageRow[];
}

export function imageByPath(reg: Registry, p: string): ImageRow | undefined {
  return reg.db.prepare('SELECT * FROM images WHERE path = ? AND deleted_at IS NULL').get(p) as ImageRow | undefined;
}

export interface PlanRecord {
  name: string;
  startMjd: number | null;
  endMjd: number | null;
  decMinDeg?: number | null;
  decMaxDeg?: number | null;
  tier: MosaicTier;
  /** Member image ids with their weights 1/σ² (null when the noise is not known yet). */
  members: ReadonlyArray<{ imageId: number; weight: number | null }>;
  /** Centre of the members (degrees), if known. */
  raDeg?: number | null;
  decDeg?: number | null;
}

/**
 * Record a plan (status planned) with its members, replacing a previous plan of the same name
 * unless that one was built (a built mosaic is a product: refuse rather than orphan its files).
 * Runs its own transaction. Returns the row.
 */
export function savePlan(reg: Registry, p: PlanRecord, opts: { replaceBuilt?: boolean } = {}): MosaicRow {
  return reg.write(() => {
    const old = getMosaic(reg, p.name);
    if (old && old.status === 'built' && old.deleted_at === null && !opts.replaceBuilt) {
      throw new DsaError(`mosaic '${p.name}' is already built (${old.path ?? 'no path'}); choose another name`, { subject: p.name });
    }
    const now = mjdNow();
    const num = (v: number | null | undefined): number | null => (v !== null && v !== undefined && Number.isFinite(v) ? v : null);
    const row = {
      name: p.name, tier: p.tier, start: num(p.startMjd), end: num(p.endMjd), decMin: num(p.decMinDeg), decMax: num(p.decMaxDeg),
      ra: num(p.raDeg), dec: num(p.decDeg), n: p.members.length, now,
    };
    let id: number;
    if (old) {
      id = old.id;
      reg.db
        .prepare(
          `UPDATE mosaics SET path = NULL, tier = @tier, start_mjd = @start, end_mjd = @end, dec_min_deg = @decMin, dec_max_deg = @decMax,
             ra_deg = @ra, dec_deg = @dec, noise_jy = NULL, coverage_deg2 = NULL, n_members = @n, status = 'planned', error = NULL,
             created_at = @now, built_at = NULL, deleted_at = NULL
           WHERE id = @id`,
        )
        .run({ ...row, id });
      reg.db.prepare('DELETE FROM mosaic_members WHERE mosaic_id = ?').run(id);
    } else {
      id = Number(
        reg.db
          .prepare(
            `INSERT INTO mosaics (name, tier, start_mjd, end_mjd, dec_min_deg, dec_max_deg, ra_deg, dec_deg, n_members, status, created_at)
             VALUES (@name, @tier, @start, @end, @decMin, @decMax, @ra, @dec, @n, 'planned', @now)`,
          )
          .run(row).lastInsertRowid,
      );
    }
    const ins = reg.db.prepare('INSERT INTO mosaic_members (mosaic_id, image_id, weight) VALUES (?, ?, ?)');
    for (const m of p.members) ins.run(id, m.imageId, m.weight);
    return reg.db.prepare('SELECT * FROM mosaics WHERE id = ?').get(id) as MosaicRow;
  });
}

/** Member weights as recorded in the plan (image id → 1/σ², or null). */
export function memberWeights(reg: Registry, mosaicId: number): Map<number, number | null> {
  const rows = reg.db.prepare('SELECT image_id, weight FROM mosaic_members WHERE mosaic_id = ?').all(mosaicId) as Array<{ image_id: number; weight: number | null }>;
  return new Map(rows.map((r) => [r.image_id, r.weight]));
}

export interface BuiltRecord {
  path: string;
  noiseJy: number | null;
  coverageDeg2: number;
  raDeg: number;
  decDeg: number;
  /** Members actually used, with the weights 1/σ² applied. */
  members: ReadonlyArray<{ imageId: number; weight: number }>;
  nMembers: number;
}

/** Mark a mosaic built (call inside reg.write, after the files are renamed into place). */
export function markMosaicBuilt(reg: Registry, mosaicId: number, b: BuiltRecord): void {
  const now = mjdNow();
  reg.db
    .prepare(
      `UPDATE mosaics SET path = @path, noise_jy = @noise, coverage_deg2 = @cov, ra_deg = @ra, dec_deg = @dec, n_members = @n,
         status = 'built', error = NULL, built_at = @now, deleted_at = NULL WHERE id = @id`,
    )
    .run({ path: b.path, noise: b.noiseJy, cov: b.coverageDeg2, ra: b.raDeg, dec: b.decDeg, n: b.nMembers, now, id: mosaicId });
  reg.db.prepare('DELETE FROM mosaic_members WHERE mosaic_id = ?').run(mosaicId);
  const ins = reg.db.prepare('INSERT INTO mosaic_members (mosaic_id, image_id, weight) VALUES (?, ?, ?)');
  for (const m of b.members) ins.run(mosaicId, m.imageId, m.weight);
}

/** Mark a mosaic failed with its error text (runs its own transaction). */
export function markMosaicFailed(reg: Registry, mosaicId: number, error: string): void {
  reg.write(() => {
    reg.db.prepare(`UPDATE mosaics SET status = 'failed', error = ? WHERE id = ?`).run(error, mosaicId);
  });
}

/**
 * The row for a mosaic built from explicit files (no plan): created (or replaced, unless built
 * under the same name and `replaceBuilt` is false) with the given tier and no members yet.
 */
export function adHocMosaic(reg: Registry, name: string, o: { startMjd: number | null; endMjd: number | null; replaceBuilt?: boolean }): MosaicRow {
  return savePlan(
    reg,
    { name, tier: 'science', startMjd: o.startMjd, endMjd: o.endMjd, members: [] },
    { replaceBuilt: o.replaceBuilt },
  );
}
