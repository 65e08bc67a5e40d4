/**
 * Products domain: measurement sets, images, mosaics and their members.
 */
import { mjdNow, type Registry } from './db.js';

export interface MsRow {
  id: number; path: string; group_id: string | null; start_mjd: number | null; end_mjd: number | null; mid_mjd: number | null;
  ra_deg: number | null; dec_deg: number | null; n_times: number | null; n_baselines: number | null; n_chan: number | null;
  n_pol: number | null; size_bytes: number | null; status: string; flag_fraction: number | null; cal_set: string | null;
  created_at: number; updated_at: number; deleted_at: number | null;
}

export function upsertMs(
  reg: Registry,
  m: {
    path: string; groupId: string | null; startMjd: number; endMjd: number; raDeg: number; decDeg: number;
    nTimes: number; nBaselines: number; nChan: number; nPol: number; sizeBytes: number; status?: string;
  },
): MsRow {
  const now = mjdNow();
  reg.db
    .prepare(
      `INSERT INTO ms_index (path, group_id, start_mjd, end_mjd, mid_mjd, ra_deg, dec_deg, n_times, n_baselines, n_chan, n_pol, size_bytes, status, created_at, updated_at)
       VALUES (@path, @groupId, @startMjd, @endMjd, @midMjd, @raDeg, @decDeg, @nTimes, @nBaselines, @nChan, @nPol, @sizeBytes, @status, @now, @now)
       ON CONFLICT(path) DO UPDATE SET group_id=excluded.group_id, start_mjd=excluded.start_mjd, end_mjd=excluded.end_mjd,
         mid_mjd=excluded.mid_mjd, ra_deg=excluded.ra_deg, dec_deg=excluded.dec_deg, n_times=excluded.n_times,
         n_baselines=excluded.n_baselines, n_chan=excluded.n_chan, n_pol=excluded.n_pol, size_bytes=excluded.size_bytes,
         status=excluded.status, flag_fraction=NULL, cal_set=NULL, deleted_at=NULL, updated_at=excluded.updated_at`,
    )
    .run({ ...m, midMjd: (m.startMjd + m.endMjd) / 2, status: m.status ?? 'converted', now });
  return getMs(reg, m.path)!;
}

export function getMs(reg: Registry, p: string): MsRow | undefined {
  return reg.db.prepare('SELECT * FROM ms_index WHERE path = ?').get(p) as MsRow | undefined;
}

export function updateMs(reg: Registry, p: string, fields: Partial<Pick<MsRow, 'status' | 'flag_fraction' | 'cal_set'>>): void {
  const keys = Object.keys(fields) as (keyof typeof fields)[];
  if (!keys.length) return;
  const sets = keys.map((k) => `${k} = @${k}`).join(', ');
  reg.db.prepare(`UPDATE ms_index SET ${sets}, updated_at = @now WHERE path = @path`).run({ ...fields, now: mjdNow(), path: p });
}

export interface ImageRow {
  id: number; path: string; ms_path: string | null; group_id: string | null; mid_mjd: number | null;
  ra_deg: number | null; dec_deg: number | null; nx: number | null; ny: number | null; cell_arcsec: number | null;
  freq_hz: number | null; bandwidth_hz: number | null; noise_jy: number | null; peak_jy: number | null;
  dynamic_range: number | null; bmaj_deg: number | null; bmin_deg: number | null; bpa_deg: number | null;
  pb_path: string | null; status: string; created_at: number; deleted_at: number | null;
}

export type ImageInput = Omit<ImageRow, 'id' | 'created_at' | 'deleted_at' | 'status'> & { status?: string };

export function upsertImage(reg: Registry, img: ImageInput): ImageRow {
  const cols = ['path', 'ms_path', 'group_id', 'mid_mjd', 'ra_deg', 'dec_deg', 'nx', 'ny', 'cell_arcsec', 'freq_hz', 'bandwidth_hz',
    'noise_jy', 'peak_jy', 'dynamic_range', 'bmaj_deg', 'bmin_deg', 'bpa_deg', 'pb_path', 'status'] as const;
  const row: Record<string, unknown> = { status: 'ok', ...img, now: mjdNow() };
  reg.db
    .prepare(
      `INSERT INTO images (${cols.join(', ')}, created_at) VALUES (${cols.map((c) => '@' + c).join(', ')}, @now)
       ON CONFLICT(path) DO UPDATE SET ${cols.filter((c) => c !== 'path').map((c) => `${c}=excluded.${c}`).join(', ')}, deleted_at=NULL, created_at=excluded.created_at`,
    )
    .run(row);
  return reg.db.prepare('SELECT * FROM images WHERE path = ?').get(img.path) as ImageRow;
}

export interface MosaicRow {
  id: number; name: string; path: string | null; tier: string; start_mjd: number | null; end_mjd: number | null;
  dec_min_deg: number | null; dec_max_deg: number | null; ra_deg: number | null; dec_deg: number | null;
  noise_jy: number | null; coverage_deg2: number | null; n_members: number; status: string; error: string | null;
  created_at: number; built_at: number | null; deleted_at: number | null;
}

export function getMosaic(reg: Registry, name: string): MosaicRow | undefined {
  return reg.db.prepare('SELECT * FROM mosaics WHERE name = ?').get(name) as MosaicRow | undefined;
}

export function mosaicMembers(reg: Registry, mosaicId: number): ImageRow[] {
  return reg.db
    .prepare('SELECT i.* FROM mosaic_members m JOIN images i ON i.id = m.image_id WHERE m.mosaic_id = ? ORDER BY i.mid_mjd')
    .all(mosaicId) as ImageRow[];
}
