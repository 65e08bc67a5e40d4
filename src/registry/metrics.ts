/**
 * Operations domain: per-stage timings, the status summary and Prometheus exposition.
 */
import { statfsSync } from 'node:fs';
import { mjdNow, type Registry } from './db.js';
import { queueCounts, QUEUE_STATES } from './queue.js';

export function recordStage(
  reg: Registry,
  m: { command: string; product?: string | null; stage?: string | null; seconds: number; bytes?: number | null; ok?: boolean; error?: string | null },
): void {
  reg.db
    .prepare(`INSERT INTO stage_metrics (command, product, stage, seconds, bytes, ok, error, created_at) VALUES (?,?,?,?,?,?,?,?)`)
    .run(m.command, m.product ?? null, m.stage ?? null, m.seconds, m.bytes ?? null, m.ok === false ? 0 : 1, m.error ?? null, mjdNow());
}

/** Free bytes on the filesystem holding `dir` (undefined if it cannot be read). */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

export interface StatusSummary {
  db: string;
  schemaVersion: number;
  queue: Record<string, number>;
  counts: { files: number; ms: number; caltables: number; calSetsActive: number; images: number; mosaics: number; sources: number; photometry: number; eseCandidates: number };
  newest: { ms: number | null; caltable: number | null; image: number | null; mosaic: number | null };
  failures24h: number;
  freeBytes: number | null;
  stateDir: string;
}

export function statusSummary(reg: Registry, stateDir: string): StatusSummary {
  const one = (sql: string): number => (reg.db.prepare(sql).get() as { n: number | null }).n ?? 0;
  const newest = (sql: string): number | null => (reg.db.prepare(sql).get() as { n: number | null }).n;
  return {
    db: reg.path,
    schemaVersion: reg.version,
    queue: queueCounts(reg),
    counts: {
      files: one('SELECT COUNT(*) n FROM hdf5_files'),
      ms: one('SELECT COUNT(*) n FROM ms_index WHERE deleted_at IS NULL'),
      caltables: one('SELECT COUNT(*) n FROM caltables WHERE deleted_at IS NULL'),
      calSetsActive: one(`SELECT COUNT(DISTINCT set_name) n FROM caltables WHERE status='active' AND deleted_at IS NULL`),
      images: one('SELECT COUNT(*) n FROM images WHERE deleted_at IS NULL'),
      mosaics: one('SELECT COUNT(*) n FROM mosaics WHERE deleted_at IS NULL'),
      sources: one('SELECT COUNT(*) n FROM sources'),
      photometry: one('SELECT COUNT(*) n FROM photometry'),
      eseCandidates: one('SELECT COUNT(*) n FROM ese_candidates'),
    },
    newest: {
      ms: newest('SELECT MAX(created_at) n FROM ms_index WHERE deleted_at IS NULL'),
      caltable: newest('SELECT MAX(created_at) n FROM caltables WHERE deleted_at IS NULL'),
      image: newest('SELECT MAX(created_at) n FROM images WHERE deleted_at IS NULL'),
      mosaic: newest('SELECT MAX(built_at) n FROM mosaics WHERE deleted_at IS NULL'),
    },
    failures24h: (reg.db.prepare('SELECT COUNT(*) n FROM stage_metrics WHERE ok = 0 AND created_at > ?').get(mjdNow() - 1) as { n: number }).n,
    freeBytes: freeBytes(stateDir) ?? null,
    stateDir,
  };
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Prometheus text exposition format 0.0.4 (for node_exporter's textfile collector or /metrics). */
export function prometheusText(reg: Registry, stateDir: string): string {
  const s = statusSummary(reg, stateDir);
  const lines: string[] = [];
  const metric = (name: string, help: string, type: 'gauge' | 'counter', samples: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`).join(',');
      lines.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(v) ? v : 'NaN'}`);
    }
  };
  metric('dsa110_queue_groups', 'Groups in the processing queue by state.', 'gauge',
    QUEUE_STATES.map((st) => [{ state: st }, s.queue[st] ?? 0]));
  metric('dsa110_products', 'Registered products by kind.', 'gauge', [
    [{ kind: 'hdf5_file' }, s.counts.files], [{ kind: 'ms' }, s.counts.ms], [{ kind: 'caltable' }, s.counts.caltables],
    [{ kind: 'image' }, s.counts.images], [{ kind: 'mosaic' }, s.counts.mosaics], [{ kind: 'source' }, s.counts.sources],
    [{ kind: 'photometry' }, s.counts.photometry], [{ kind: 'ese_candidate' }, s.counts.eseCandidates],
  ]);
  metric('dsa110_calibration_sets_active', 'Active calibration sets.', 'gauge', [[{}, s.counts.calSetsActive]]);
  const fails = reg.db.prepare('SELECT command, COUNT(*) n FROM stage_metrics WHERE ok = 0 GROUP BY command').all() as { command: string; n: number }[];
  metric('dsa110_stage_failures_total', 'Failed command stages recorded in stage_metrics.', 'counter', fails.map((f) => [{ command: f.command }, f.n]));
  const secs = reg.db.prepare('SELECT command, SUM(seconds) s, COUNT(*) n FROM stage_metrics WHERE ok = 1 GROUP BY command').all() as { command: string; s: number; n: number }[];
  metric('dsa110_stage_seconds_total', 'Seconds spent in successful command stages.', 'counter', secs.map((r) => [{ command: r.command }, r.s]));
  metric('dsa110_stage_runs_total', 'Successful command stages.', 'counter', secs.map((r) => [{ command: r.command }, r.n]));
  const last = (t: number | null) => (t === null ? NaN : (t - 40587) * 86400);
  metric('dsa110_newest_product_timestamp_seconds', 'Unix time of the newest product of each kind.', 'gauge', [
    [{ kind: 'ms' }, last(s.newest.ms)], [{ kind: 'caltable' }, last(s.newest.caltable)],
    [{ kind: 'image' }, last(s.newest.image)], [{ kind: 'mosaic' }, last(s.newest.mosaic)],
  ]);
  metric('dsa110_state_dir_free_bytes', 'Free bytes on the filesystem of the state directory.', 'gauge', [[{ path: stateDir }, s.freeBytes ?? NaN]]);
  return lines.join('\n') + '\n';
}
