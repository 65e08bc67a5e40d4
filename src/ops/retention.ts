/**
 * Retention: products older than a per-kind age are listed (dry run, the default) or deleted
 * from disk and marked deleted in the registry (--apply).
 *
 * Age is product age (created_at / indexed_at / built_at), not observation time, so reprocessing
 * old observations does not make its fresh products instantly expire. Protected, whatever their
 * age: the newest active calibration set, any set named by a retained MS (ms_index.cal_set),
 * images that are members of a mosaic still planned, and raw files not yet converted.
 */
import { mjdNow, type Registry } from '../registry/db.js';
import { act, type HousekeepAction } from './actions.js';
import { exists, removeTree, treeStats } from './fsutil.js';

export const RETENTION_KINDS = ['ms', 'images', 'mosaics', 'caltables', 'hdf5'] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];
export type RetentionPolicy = Partial<Record<RetentionKind, number>>;

/** Parse `KIND=DAYS` (repeatable option) into a policy; throws Error with a usage message. */
export function parseRetention(spec: string, prev: RetentionPolicy = {}): RetentionPolicy {
  const m = /^([a-z0-9]+)=(\d+(?:\.\d+)?)$/.exec(spec.trim());
  if (!m) throw new Error(`--retention-days expects KIND=DAYS (kinds: ${RETENTION_KINDS.join(', ')}), got '${spec}'`);
  const kind = m[1] as RetentionKind;
  if (!(RETENTION_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`--retention-days: unknown kind '${m[1]}' (kinds: ${RETENTION_KINDS.join(', ')})`);
  }
  return { ...prev, [kind]: Number(m[2]) };
}

export interface RetentionItem {
  kind: RetentionKind;
  table: string;
  id: number;
  /** Registry key shown to the operator (path, or mosaic name / caltable set). */
  subject: string;
  /** Files and directories to remove. */
  paths: string[];
  ageDays: number;
  set?: string;
}

export interface RetentionPlan { items: RetentionItem[]; protectedSets: string[] }

const IMAGE_SIBLINGS = ['image', 'pbcor', 'residual', 'model', 'psf', 'pb'];

/** The family of files written with an image: <stem>-{image,pbcor,residual,model,psf,pb}.{fits,png}. */
function imageFiles(p: string, pb: string | null): string[] {
  const out = new Set<string>([p]);
  if (pb) out.add(pb);
  const m = /^(.*)-image\.fits$/.exec(p);
  if (m) for (const s of IMAGE_SIBLINGS) for (const ext of ['fits', 'png']) out.add(`${m[1]}-${s}.${ext}`);
  else out.add(p.replace(/\.fits$/, '.png'));
  return [...out];
}

/** A mosaic's image and its noise map, weight map and preview (names as `mosaic build` writes them). */
function mosaicFiles(p: string): string[] {
  const stem = p.replace(/\.fits$/, '');
  return [p, `${stem}-noise.fits`, `${stem}-weight.fits`, `${stem}.png`];
}

export function planRetention(reg: Registry, policy: RetentionPolicy, nowMjd = mjdNow()): RetentionPlan {
  const items: RetentionItem[] = [];
  const cutoff = (k: RetentionKind) => nowMjd - (policy[k] as number);
  type Row = Record<string, unknown> & { id: number };

  if (policy.ms !== undefined) {
    for (const r of reg.db.prepare(`SELECT id, path, created_at FROM ms_index WHERE deleted_at IS NULL AND status <> 'deleted' AND created_at < ? ORDER BY created_at`).all(cutoff('ms')) as Row[]) {
      items.push({ kind: 'ms', table: 'ms_index', id: r.id, subject: String(r.path), paths: [String(r.path)], ageDays: nowMjd - Number(r.created_at) });
    }
  }
  if (policy.images !== undefined) {
    const rows = reg.db.prepare(
      `SELECT id, path, pb_path, created_at FROM images i WHERE deleted_at IS NULL AND status <> 'deleted' AND created_at < ?
         AND NOT EXISTS (SELECT 1 FROM mosaic_members mm JOIN mosaics m ON m.id = mm.mosaic_id
                         WHERE mm.image_id = i.id AND m.status = 'planned' AND m.deleted_at IS NULL)
       ORDER BY created_at`,
    ).all(cutoff('images')) as Row[];
    for (const r of rows) {
      items.push({ kind: 'images', table: 'images', id: r.id, subject: String(r.path), paths: imageFiles(String(r.path), (r.pb_path as string | null) ?? null), ageDays: nowMjd - Number(r.created_at) });
    }
  }
  if (policy.mosaics !== undefined) {
    const rows = reg.db.prepare(
      `SELECT id, name, path, COALESCE(built_at, created_at) AS t FROM mosaics
       WHERE deleted_at IS NULL AND status IN ('built','failed') AND COALESCE(built_at, created_at) < ? ORDER BY t`,
    ).all(cutoff('mosaics')) as Row[];
    for (const r of rows) {
      items.push({ kind: 'mosaics', table: 'mosaics', id: r.id, subject: r.path ? String(r.path) : String(r.name), paths: r.path ? mosaicFiles(String(r.path)) : [], ageDays: nowMjd - Number(r.t) });
    }
  }

  // Calibration sets are kept or deleted whole. Protect the newest active set and every set
  // named by an MS that stays (not deleted already, not about to be).
  const goingMs = new Set(items.filter((i) => i.kind === 'ms').map((i) => i.id));
  const protectedSets = new Set<string>();
  const newest = reg.db.prepare(
    `SELECT set_name FROM caltables WHERE status='active' AND deleted_at IS NULL
     GROUP BY set_name ORDER BY MAX(valid_start_mjd) DESC, MAX(created_at) DESC LIMIT 1`,
  ).get() as { set_name: string } | undefined;
  if (newest) protectedSets.add(newest.set_name);
  for (const r of reg.db.prepare(`SELECT id, cal_set FROM ms_index WHERE cal_set IS NOT NULL AND deleted_at IS NULL AND status <> 'deleted'`).all() as { id: number; cal_set: string }[]) {
    if (!goingMs.has(r.id)) protectedSets.add(r.cal_set);
  }
  if (policy.caltables !== undefined) {
    const sets = reg.db.prepare(
      `SELECT set_name, MAX(created_at) AS t FROM caltables WHERE deleted_at IS NULL GROUP BY set_name HAVING MAX(created_at) < ? ORDER BY t`,
    ).all(cutoff('caltables')) as { set_name: string; t: number }[];
    for (const s of sets) {
      if (protectedSets.has(s.set_name)) continue;
      for (const r of reg.db.prepare(`SELECT id, path FROM caltables WHERE set_name = ? AND deleted_at IS NULL ORDER BY apply_order`).all(s.set_name) as Row[]) {
        items.push({ kind: 'caltables', table: 'caltables', id: r.id, subject: String(r.path), paths: [String(r.path)], ageDays: nowMjd - s.t, set: s.set_name });
      }
    }
  }
  if (policy.hdf5 !== undefined) {
    // Only raw files already converted: anything else may still be needed.
    for (const r of reg.db.prepare(`SELECT id, path, indexed_at FROM hdf5_files WHERE status = 'converted' AND indexed_at < ? ORDER BY indexed_at`).all(cutoff('hdf5')) as Row[]) {
      items.push({ kind: 'hdf5', table: 'hdf5_files', id: r.id, subject: String(r.path), paths: [String(r.path)], ageDays: nowMjd - Number(r.indexed_at) });
    }
  }
  return { items, protectedSets: [...protectedSets].sort() };
}

/**
 * Report (dry run) or carry out a plan. A row is marked deleted only after all its files are
 * gone; a file that fails to delete leaves its row as it was (and the action not ok).
 */
export async function applyRetention(reg: Registry, plan: RetentionPlan, apply: boolean, nowMjd = mjdNow()): Promise<HousekeepAction[]> {
  const out: HousekeepAction[] = [];
  for (const it of plan.items) {
    let bytes = 0;
    const present: string[] = [];
    for (const p of it.paths) {
      if (!(await exists(p))) continue;
      present.push(p);
      bytes += (await treeStats(p)).bytes;
    }
    const a = act(apply ? 'retention-delete' : 'retention-candidate', it.subject, !apply, {
      kind: it.kind, age_days: Number(it.ageDays.toFixed(3)), bytes, files: present,
      detail: `${it.kind} ${it.ageDays.toFixed(1)} d old${it.set ? ` (set ${it.set})` : ''}${present.length ? '' : '; files already gone'}`,
      ...(it.set ? { set: it.set } : {}),
    });
    if (apply) {
      const errs: string[] = [];
      for (const p of present) {
        const e = await removeTree(p);
        if (e) errs.push(`${p}: ${e}`);
      }
      if (errs.length) {
        a.ok = false;
        a.error = errs.join('; ');
      } else {
        reg.write(() => {
          if (it.table === 'hdf5_files') reg.db.prepare(`UPDATE hdf5_files SET status='deleted' WHERE id=?`).run(it.id);
          else if (it.table === 'ms_index') reg.db.prepare(`UPDATE ms_index SET status='deleted', deleted_at=?, updated_at=? WHERE id=?`).run(nowMjd, nowMjd, it.id);
          else if (it.table === 'images') reg.db.prepare(`UPDATE images SET status='deleted', deleted_at=? WHERE id=?`).run(nowMjd, it.id);
          else if (it.table === 'mosaics') reg.db.prepare(`UPDATE mosaics SET status='deleted', deleted_at=? WHERE id=?`).run(nowMjd, it.id);
          else reg.db.prepare(`UPDATE caltables SET deleted_at=? WHERE id=?`).run(nowMjd, it.id);
        });
      }
    }
    out.push(a);
  }
  return out;
}
