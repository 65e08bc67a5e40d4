/**
 * Photometry domain: catalogue sources, forced-photometry rows, the per-image record
 * (time, pointing, beam, normalisation factor), variability figures and ESE candidates.
 *
 * Write functions expect to run inside `reg.write(...)` (one transaction per product).
 * Large id lists are passed as one JSON array parameter (json_each) instead of building SQL.
 */
import { mjdNow, type Registry } from './db.js';

export interface SourceRow {
  id: number; name: string; ra_deg: number; dec_deg: number; catalog_flux_mjy: number | null;
  catalog_snr: number | null; resolved: number; is_reference: number; created_at: number;
}

export interface SourceInput {
  name: string;
  raDeg: number;
  decDeg: number;
  catalogFluxMjy: number;
  /** null when the catalogue has no SNR. */
  catalogSnr: number | null;
  /** 1 resolved, 0 unresolved or unknown (the schema has no "unknown"). */
  resolved: number;
}

/** Insert or update sources by name (position and catalogue figures follow the newest catalogue). Returns their ids. */
export function upsertSources(reg: Registry, rows: readonly SourceInput[]): Int32Array {
  const now = mjdNow();
  const st = reg.db.prepare(
    `INSERT INTO sources (name, ra_deg, dec_deg, catalog_flux_mjy, catalog_snr, resolved, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET ra_deg=excluded.ra_deg, dec_deg=excluded.dec_deg,
       catalog_flux_mjy=excluded.catalog_flux_mjy, catalog_snr=excluded.catalog_snr, resolved=excluded.resolved
     RETURNING id`,
  );
  const ids = new Int32Array(rows.length);
  rows.forEach((r, k) => {
    const row = st.get(r.name, r.raDeg, r.decDeg, r.catalogFluxMjy, r.catalogSnr, r.resolved, now) as { id: number };
    ids[k] = row.id;
  });
  return ids;
}

export interface PhotometryInput {
  sourceId: number;
  fluxJy: number;
  fluxErrJy: number;
  localRmsJy: number;
  snr: number;
  chi2: number;
  pb: number;
  flags: number;
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/**
 * Replace the photometry of one image: rows for the given sources are inserted or updated
 * (normalised values cleared: the raw flux changed), rows of sources no longer measured on
 * this image are deleted. Returns the number of rows deleted.
 */
export function replaceImagePhotometry(reg: Registry, imagePath: string, mjd: number, rows: readonly PhotometryInput[]): number {
  const now = mjdNow();
  const ids = JSON.stringify(rows.map((r) => r.sourceId));
  // a source losing a point must have its variability recomputed: no row = stale
  reg.db
    .prepare(`DELETE FROM variability WHERE source_id IN (SELECT source_id FROM photometry WHERE image_path = ? AND source_id NOT IN (SELECT value FROM json_each(?)))`)
    .run(imagePath, ids);
  const del = reg.db
    .prepare(`DELETE FROM photometry WHERE image_path = ? AND source_id NOT IN (SELECT value FROM json_each(?))`)
    .run(imagePath, ids).changes;
  const st = reg.db.prepare(
    `INSERT INTO photometry (source_id, image_path, mjd, flux_jy, flux_err_jy, norm_flux_jy, norm_err_jy, local_rms_jy, snr, chi2, pb, flags, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(source_id, image_path) DO UPDATE SET mjd=excluded.mjd, flux_jy=excluded.flux_jy, flux_err_jy=excluded.flux_err_jy,
       norm_flux_jy=NULL, norm_err_jy=NULL, local_rms_jy=excluded.local_rms_jy, snr=excluded.snr, chi2=excluded.chi2,
       pb=excluded.pb, flags=excluded.flags, updated_at=excluded.updated_at`,
  );
  for (const r of rows) {
    st.run(r.sourceId, imagePath, mjd, r.fluxJy, r.fluxErrJy, finiteOrNull(r.localRmsJy), finiteOrNull(r.snr), finiteOrNull(r.chi2), r.pb, r.flags, now, now);
  }
  return del;
}

export interface PhotImageRow {
  image_path: string; mjd: number; ra_deg: number | null; dec_deg: number | null; noise_jy: number | null;
  bmaj_deg: number | null; bmin_deg: number | null; bpa_deg: number | null; pb_path: string | null;
  n_measured: number; n_skipped: number; median_snr: number | null;
  field_ra_deg: number | null; field_dec_deg: number | null;
  norm_factor: number | null; norm_factor_err: number | null; norm_n_refs: number | null; norm_flag: number | null;
  measured_at: number; normalized_at: number | null;
}

export type PhotImageInput = Pick<PhotImageRow, 'image_path' | 'mjd' | 'ra_deg' | 'dec_deg' | 'noise_jy' | 'bmaj_deg' | 'bmin_deg' | 'bpa_deg' | 'pb_path' | 'n_measured' | 'n_skipped' | 'median_snr'>;

/** Record (or re-record) a measured image; its normalisation is cleared until `normalize` runs again. */
export function upsertPhotometryImage(reg: Registry, r: PhotImageInput): void {
  reg.db
    .prepare(
      `INSERT INTO photometry_images (image_path, mjd, ra_deg, dec_deg, noise_jy, bmaj_deg, bmin_deg, bpa_deg, pb_path, n_measured, n_skipped, median_snr, measured_at)
       VALUES (@image_path, @mjd, @ra_deg, @dec_deg, @noise_jy, @bmaj_deg, @bmin_deg, @bpa_deg, @pb_path, @n_measured, @n_skipped, @median_snr, @now)
       ON CONFLICT(image_path) DO UPDATE SET mjd=excluded.mjd, ra_deg=excluded.ra_deg, dec_deg=excluded.dec_deg, noise_jy=excluded.noise_jy,
         bmaj_deg=excluded.bmaj_deg, bmin_deg=excluded.bmin_deg, bpa_deg=excluded.bpa_deg, pb_path=excluded.pb_path,
         n_measured=excluded.n_measured, n_skipped=excluded.n_skipped, median_snr=excluded.median_snr, measured_at=excluded.measured_at,
         field_ra_deg=NULL, field_dec_deg=NULL, norm_factor=NULL, norm_factor_err=NULL, norm_n_refs=NULL, norm_flag=NULL, normalized_at=NULL`,
    )
    .run({ ...r, median_snr: r.median_snr !== null && Number.isFinite(r.median_snr) ? r.median_snr : null, now: mjdNow() });
}

/**
 * Every image that has photometry, oldest first, with its pointing centre. Images measured by
 * something other than `photometry measure` fall back to the `images` table (or, lacking that,
 * the mean photometry time and no centre).
 */
export function listPhotometryImages(reg: Registry): PhotImageRow[] {
  const rows = reg.db.prepare(
    `WITH imgs AS (SELECT image_path, MIN(mjd) AS mjd, COUNT(*) AS n FROM photometry GROUP BY image_path)
     SELECT m.image_path, COALESCE(pi.mjd, i.mid_mjd, m.mjd) AS mjd,
            COALESCE(pi.ra_deg, i.ra_deg) AS ra_deg, COALESCE(pi.dec_deg, i.dec_deg) AS dec_deg,
            COALESCE(pi.noise_jy, i.noise_jy) AS noise_jy, COALESCE(pi.bmaj_deg, i.bmaj_deg) AS bmaj_deg,
            COALESCE(pi.bmin_deg, i.bmin_deg) AS bmin_deg, COALESCE(pi.bpa_deg, i.bpa_deg) AS bpa_deg,
            COALESCE(pi.pb_path, i.pb_path) AS pb_path, COALESCE(pi.n_measured, m.n) AS n_measured,
            COALESCE(pi.n_skipped, 0) AS n_skipped, pi.median_snr, pi.field_ra_deg, pi.field_dec_deg,
            pi.norm_factor, pi.norm_factor_err, pi.norm_n_refs, pi.norm_flag, COALESCE(pi.measured_at, 0) AS measured_at, pi.normalized_at
     FROM imgs m LEFT JOIN photometry_images pi ON pi.image_path = m.image_path LEFT JOIN images i ON i.path = m.image_path
     ORDER BY mjd, m.image_path`,
  ).all() as PhotImageRow[];
  return rows;
}

export interface RawPoint { id: number; source_id: number; image_path: string; flux_jy: number | null; flux_err_jy: number | null; snr: number | null }

/** Photometry rows of the given images (raw fluxes), ordered by source. */
export function photometryOfImages(reg: Registry, imagePaths: readonly string[]): RawPoint[] {
  return reg.db
    .prepare(
      `SELECT id, source_id, image_path, flux_jy, flux_err_jy, snr FROM photometry
       WHERE image_path IN (SELECT value FROM json_each(?)) ORDER BY source_id`,
    )
    .all(JSON.stringify(imagePaths)) as RawPoint[];
}

export function sourcesByIds(reg: Registry, ids: ArrayLike<number>): SourceRow[] {
  return reg.db
    .prepare(`SELECT * FROM sources WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`)
    .all(JSON.stringify(Array.from(ids))) as SourceRow[];
}

/**
 * Write normalised fluxes (null where the epoch could not be normalised). Only rows whose
 * values change get a new updated_at, so that `variability` recomputes only what moved.
 * Returns the number of rows changed.
 */
export function writeNormalized(reg: Registry, ids: ArrayLike<number>, flux: ArrayLike<number>, err: ArrayLike<number>): number {
  const now = mjdNow();
  const st = reg.db.prepare(
    `UPDATE photometry SET norm_flux_jy = ?, norm_err_jy = ?, updated_at = ?
     WHERE id = ? AND (norm_flux_jy IS NOT ? OR norm_err_jy IS NOT ?)`,
  );
  let changed = 0;
  for (let k = 0; k < ids.length; k++) {
    const f = finiteOrNull(flux[k]), e = finiteOrNull(err[k]);
    changed += st.run(f, f === null ? null : e, now, ids[k], f, f === null ? null : e).changes;
  }
  return changed;
}

/** Set is_reference = 1 exactly for `refIds` among `scopeIds` (sources of the fields processed). */
export function setReferences(reg: Registry, scopeIds: ArrayLike<number>, refIds: ArrayLike<number>): void {
  reg.db.prepare(`UPDATE sources SET is_reference = 0 WHERE id IN (SELECT value FROM json_each(?))`).run(JSON.stringify(Array.from(scopeIds)));
  reg.db.prepare(`UPDATE sources SET is_reference = 1 WHERE id IN (SELECT value FROM json_each(?))`).run(JSON.stringify(Array.from(refIds)));
}

/** Store the normalisation of one image (creating its record if it came from elsewhere). */
export function setImageNormalization(
  reg: Registry, imagePath: string, mjd: number,
  n: { fieldRaDeg: number; fieldDecDeg: number; factor: number; factorErr: number; nRefs: number; flag: number },
): void {
  const now = mjdNow();
  reg.db
    .prepare(`INSERT INTO photometry_images (image_path, mjd, measured_at) VALUES (?, ?, ?) ON CONFLICT(image_path) DO NOTHING`)
    .run(imagePath, mjd, now);
  reg.db
    .prepare(
      `UPDATE photometry_images SET field_ra_deg = ?, field_dec_deg = ?, norm_factor = ?, norm_factor_err = ?, norm_n_refs = ?,
         norm_flag = ?, normalized_at = ? WHERE image_path = ?`,
    )
    .run(n.fieldRaDeg, n.fieldDecDeg, finiteOrNull(n.factor), finiteOrNull(n.factorErr), n.nRefs, n.flag, now, imagePath);
}

/**
 * Sources whose light curve changed since their variability was computed (or never computed);
 * all sources with photometry when `full`.
 */
export function staleVariabilitySources(reg: Registry, full: boolean): number[] {
  const sql = full
    ? `SELECT DISTINCT source_id AS id FROM photometry ORDER BY source_id`
    : `SELECT p.source_id AS id FROM photometry p LEFT JOIN variability v ON v.source_id = p.source_id
       GROUP BY p.source_id
       HAVING MAX(v.updated_at) IS NULL OR MAX(COALESCE(p.updated_at, p.created_at)) >= MAX(v.updated_at)
       ORDER BY p.source_id`;
  return (reg.db.prepare(sql).all() as { id: number }[]).map((r) => r.id);
}

export interface LightCurvePoint {
  id: number; source_id: number; image_path: string; mjd: number;
  flux_jy: number | null; flux_err_jy: number | null; norm_flux_jy: number | null; norm_err_jy: number | null;
  local_rms_jy: number | null; snr: number | null; pb: number | null; flags: number;
}

/** Light-curve points of many sources, ordered by source then time. */
export function lightCurvePoints(reg: Registry, sourceIds: ArrayLike<number>): LightCurvePoint[] {
  return reg.db
    .prepare(
      `SELECT id, source_id, image_path, mjd, flux_jy, flux_err_jy, norm_flux_jy, norm_err_jy, local_rms_jy, snr, pb, flags
       FROM photometry WHERE source_id IN (SELECT value FROM json_each(?)) ORDER BY source_id, mjd, image_path`,
    )
    .all(JSON.stringify(Array.from(sourceIds))) as LightCurvePoint[];
}

export interface VariabilityInput {
  sourceId: number; n: number; meanJy: number; stdJy: number; v: number; eta: number; chi2nu: number;
  /** The σ-deviation used for candidate selection (robust: median/MAD). */
  sigmaDev: number; sigmaDevStd: number; vsMax: number; mMax: number; vsStartMjd: number; vsEndMjd: number;
  medianJy: number; weightedMeanJy: number; normalized: boolean;
}

/** Write variability figures; `updatedAt` should be the time the light curves were read. */
export function upsertVariability(reg: Registry, rows: readonly VariabilityInput[], updatedAt: number): void {
  const st = reg.db.prepare(
    `INSERT INTO variability (source_id, n, mean_jy, std_jy, v, eta, chi2_nu, sigma_dev, vs_max, m_max, updated_at,
       median_jy, weighted_mean_jy, sigma_dev_std, vs_start_mjd, vs_end_mjd, normalized)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(source_id) DO UPDATE SET n=excluded.n, mean_jy=excluded.mean_jy, std_jy=excluded.std_jy, v=excluded.v,
       eta=excluded.eta, chi2_nu=excluded.chi2_nu, sigma_dev=excluded.sigma_dev, vs_max=excluded.vs_max, m_max=excluded.m_max,
       updated_at=excluded.updated_at, median_jy=excluded.median_jy, weighted_mean_jy=excluded.weighted_mean_jy,
       sigma_dev_std=excluded.sigma_dev_std, vs_start_mjd=excluded.vs_start_mjd, vs_end_mjd=excluded.vs_end_mjd,
       normalized=excluded.normalized`,
  );
  const f = finiteOrNull;
  for (const r of rows) {
    st.run(r.sourceId, r.n, f(r.meanJy), f(r.stdJy), f(r.v), f(r.eta), f(r.chi2nu), f(r.sigmaDev), f(r.vsMax), f(r.mMax), updatedAt,
      f(r.medianJy), f(r.weightedMeanJy), f(r.sigmaDevStd), f(r.vsStartMjd), f(r.vsEndMjd), r.normalized ? 1 : 0);
  }
}

export interface Thresholds { minSigmaDev: number; minChi2nu: number; minEta: number }

/** Sources whose stored figures pass the thresholds (σ-deviation as stored: robust). */
export function sourcesPassing(reg: Registry, th: Thresholds, minEpochs: number): number[] {
  return (reg.db
    .prepare(`SELECT source_id AS id FROM variability WHERE n >= ? AND sigma_dev >= ? AND chi2_nu >= ? AND eta >= ? ORDER BY source_id`)
    .all(minEpochs, th.minSigmaDev, th.minChi2nu, th.minEta) as { id: number }[]).map((r) => r.id);
}

export interface EseInput {
  sourceId: number; sigmaDev: number; chi2nu: number; eta: number; n: number;
  startMjd: number; endMjd: number; depth: number; significance: number;
}

/**
 * Record the candidates of a preset. A candidate keeps its review status; its figures and
 * window are refreshed. Candidates of this preset with status 'new' that no longer pass are
 * removed (reviewed and rejected ones are kept as a record).
 */
export function replaceEseCandidates(reg: Registry, preset: string, rows: readonly EseInput[]): number {
  const now = mjdNow();
  const removed = reg.db
    .prepare(`DELETE FROM ese_candidates WHERE preset = ? AND status = 'new' AND source_id NOT IN (SELECT value FROM json_each(?))`)
    .run(preset, JSON.stringify(rows.map((r) => r.sourceId))).changes;
  const st = reg.db.prepare(
    `INSERT INTO ese_candidates (source_id, preset, sigma_dev, chi2_nu, eta, start_mjd, end_mjd, depth, n, significance, detected_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(source_id, preset) DO UPDATE SET sigma_dev=excluded.sigma_dev, chi2_nu=excluded.chi2_nu, eta=excluded.eta,
       start_mjd=excluded.start_mjd, end_mjd=excluded.end_mjd, depth=excluded.depth, n=excluded.n, significance=excluded.significance`,
  );
  const f = finiteOrNull;
  for (const r of rows) {
    st.run(r.sourceId, preset, f(r.sigmaDev), f(r.chi2nu), f(r.eta), f(r.startMjd), f(r.endMjd), f(r.depth), r.n, f(r.significance), now);
  }
  return removed;
}

export interface EseRow {
  id: number; source_id: number; preset: string; sigma_dev: number | null; chi2_nu: number | null; eta: number | null;
  start_mjd: number | null; end_mjd: number | null; depth: number | null; status: string; detected_at: number;
  n: number | null; significance: number | null;
}

export function eseCandidatesOfSource(reg: Registry, sourceId: number): EseRow[] {
  return reg.db.prepare(`SELECT * FROM ese_candidates WHERE source_id = ? ORDER BY detected_at DESC, id DESC`).all(sourceId) as EseRow[];
}

export interface VariabilityRow {
  source_id: number; n: number; mean_jy: number | null; std_jy: number | null; v: number | null; eta: number | null;
  chi2_nu: number | null; sigma_dev: number | null; vs_max: number | null; m_max: number | null; updated_at: number;
  median_jy: number | null; weighted_mean_jy: number | null; sigma_dev_std: number | null;
  vs_start_mjd: number | null; vs_end_mjd: number | null; normalized: number;
}

export function variabilityOfSource(reg: Registry, sourceId: number): VariabilityRow | undefined {
  return reg.db.prepare(`SELECT * FROM variability WHERE source_id = ?`).get(sourceId) as VariabilityRow | undefined;
}

export function sourceById(reg: Registry, id: number): SourceRow | undefined {
  return reg.db.prepare(`SELECT * FROM sources WHERE id = ?`).get(id) as SourceRow | undefined;
}

export function sourceByName(reg: Registry, name: string): SourceRow | undefined {
  return reg.db.prepare(`SELECT * FROM sources WHERE name = ?`).get(name) as SourceRow | undefined;
}

/**
 * Sources within `radiusDeg` of a position, nearest first. The box pre-filter uses the index-free
 * table scan bounded in dec and RA (RA window widened by 1/cos dec; all RA near the poles).
 */
export function sourcesNear(reg: Registry, raDeg: number, decDeg: number, radiusDeg: number): (SourceRow & { sep_deg: number })[] {
  const cosd = Math.cos((Math.min(89.9, Math.abs(decDeg) + radiusDeg) * Math.PI) / 180);
  const dra = Math.min(180, radiusDeg / Math.max(cosd, 1e-6));
  const rows = reg.db
    .prepare(`SELECT * FROM sources WHERE dec_deg BETWEEN ? AND ?`)
    .all(decDeg - radiusDeg, decDeg + radiusDeg) as SourceRow[];
  const d2r = Math.PI / 180;
  const out: (SourceRow & { sep_deg: number })[] = [];
  for (const r of rows) {
    let d = Math.abs(r.ra_deg - raDeg) % 360;
    if (d > 180) d = 360 - d;
    if (d > dra) continue;
    const s1 = Math.sin(((r.dec_deg - decDeg) * d2r) / 2), s2 = Math.sin(((r.ra_deg - raDeg) * d2r) / 2);
    const h = s1 * s1 + Math.cos(decDeg * d2r) * Math.cos(r.dec_deg * d2r) * s2 * s2;
    const sep = (2 * Math.asin(Math.min(1, Math.sqrt(h)))) / d2r;
    if (sep <= radiusDeg) out.push({ ...r, sep_deg: sep });
  }
  out.sort((a, b) => a.sep_deg - b.sep_deg);
  return out;
}

/** Names of sources by id (for printing candidates). */
export function sourceNames(reg: Registry, ids: ArrayLike<number>): Map<number, string> {
  const m = new Map<number, string>();
  for (const r of sourcesByIds(reg, ids)) m.set(r.id, r.name);
  return m;
}
