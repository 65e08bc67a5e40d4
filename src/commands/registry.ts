/**
 * dsa110 registry — create, inspect and hand-manage the pipeline's SQLite registry.
 */
import { Command, Option } from 'commander';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeFile, rename, open as fsOpen } from 'node:fs/promises';
import { action, type CommandContext } from '../util/command.js';
import { DsaError, EXIT_FAILURE, EXIT_PARTIAL, UsageError } from '../util/errors.js';
import { printJson, printLine } from '../util/output.js';
import { log } from '../util/log.js';
import { parseChoice, parseInteger, parseTimeToMjd, mjdToIso } from '../util/options.js';
import { reprocessGroups } from '../registry/queue.js';
import { statusSummary, prometheusText } from '../registry/metrics.js';
import { registerCalSet, activeCalSet, setCalSetStatus, calSet, type CalType } from '../registry/calibration.js';
import type { Registry } from '../registry/db.js';

const KINDS = ['groups', 'files', 'ms', 'caltables', 'images', 'mosaics', 'sources', 'photometry'] as const;
type Kind = (typeof KINDS)[number];

interface KindSpec {
  table: string;
  /** Column shown on plain output (the product path, group id or name). */
  key: string;
  /** Column compared with --since/--until, and whether it holds an ISO group id instead of MJD. */
  time: string;
  timeIsIso?: boolean;
  state?: string;
  order: string;
  /** Columns to look up in `show` besides id. */
  lookup: string[];
}

const SPECS: Record<Kind, KindSpec> = {
  groups: { table: 'processing_queue', key: 'group_id', time: 'group_id', timeIsIso: true, state: 'state', order: 'group_id', lookup: ['group_id'] },
  files: { table: 'hdf5_files', key: 'path', time: 'timestamp_mjd', state: 'status', order: 'timestamp_mjd, subband', lookup: ['path'] },
  ms: { table: 'ms_index', key: 'path', time: 'mid_mjd', state: 'status', order: 'mid_mjd', lookup: ['path', 'group_id'] },
  caltables: { table: 'caltables', key: 'path', time: 'valid_start_mjd', state: 'status', order: 'valid_start_mjd, apply_order', lookup: ['path', 'set_name'] },
  images: { table: 'images', key: 'path', time: 'mid_mjd', state: 'status', order: 'mid_mjd', lookup: ['path'] },
  mosaics: { table: 'mosaics', key: 'name', time: 'start_mjd', state: 'status', order: 'start_mjd', lookup: ['name', 'path'] },
  sources: { table: 'sources', key: 'name', time: 'created_at', order: 'id', lookup: ['name'] },
  photometry: { table: 'photometry', key: 'image_path', time: 'mjd', order: 'mjd, source_id', lookup: ['image_path'] },
};

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function isoFromMjd(mjd: number): string {
  return mjdToIso(mjd).replace(/\.\d+Z$/, '');
}

function listRows(reg: Registry, kind: Kind, o: { state?: string; since?: number; until?: number; limit?: number }): Record<string, unknown>[] {
  const s = SPECS[kind];
  const where: string[] = [];
  const params: unknown[] = [];
  if (o.state) {
    if (!s.state) throw new UsageError(`--state does not apply to ${kind}`);
    where.push(`${s.state} = ?`);
    params.push(o.state);
  }
  const bound = (mjd: number) => (s.timeIsIso ? isoFromMjd(mjd) : mjd);
  if (o.since !== undefined) { where.push(`${s.time} >= ?`); params.push(bound(o.since)); }
  if (o.until !== undefined) { where.push(`${s.time} <= ?`); params.push(bound(o.until)); }
  const sql = `SELECT * FROM ${s.table}${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY ${s.order}${o.limit ? ' LIMIT ' + o.limit : ''}`;
  if (kind === 'photometry') {
    return reg.db.prepare(sql.replace(`FROM ${s.table}`, 'FROM photometry p JOIN sources s ON s.id = p.source_id').replace('SELECT *', 'SELECT p.*, s.name AS source')).all(...params) as Record<string, unknown>[];
  }
  return reg.db.prepare(sql).all(...params) as Record<string, unknown>[];
}

function plainLine(kind: Kind, r: Record<string, unknown>): string {
  if (kind === 'photometry') return [r.source, r.mjd, r.flux_jy, r.flux_err_jy, r.image_path].join('\t');
  return String(r[SPECS[kind].key]);
}

async function writeTextAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  await writeFile(tmp, text);
  const fh = await fsOpen(tmp, 'r+');
  await fh.sync();
  await fh.close();
  await rename(tmp, file);
}

function openExisting(ctx: CommandContext): Registry {
  return ctx.registry({ create: false });
}

export function register(program: Command): void {
  const reg = program.command('registry').description('create, inspect and manage the pipeline registry (SQLite)');

  reg
    .command('init')
    .description('create the registry database or migrate it to the current schema; prints its path')
    .option('--json', 'print a JSON object')
    .action(action('registry init', async (ctx, opts: { json?: boolean }) => {
      const r = ctx.registry({ create: true });
      if (opts.json) printJson({ path: r.path, kind: 'registry', schemaVersion: r.version });
      else printLine(r.path);
    }));

  reg
    .command('status')
    .description('queue counts by state, product counts, newest product times, free disk')
    .option('--json', 'print one JSON object')
    .action(action('registry status', async (ctx, opts: { json?: boolean }) => {
      const r = openExisting(ctx);
      const s = statusSummary(r, ctx.stateDir);
      if (opts.json) { printJson(s); return; }
      const t = (m: number | null) => (m === null ? '—' : isoFromMjd(m));
      const gb = s.freeBytes === null ? 'unknown' : `${(s.freeBytes / 1e9).toFixed(1)} GB`;
      printLine(`registry   ${s.db} (schema ${s.schemaVersion})`);
      printLine(`queue      ${Object.entries(s.queue).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      printLine(`files      ${s.counts.files}`);
      printLine(`ms         ${s.counts.ms} (newest ${t(s.newest.ms)})`);
      printLine(`caltables  ${s.counts.caltables} in ${s.counts.calSetsActive} active set(s) (newest ${t(s.newest.caltable)})`);
      printLine(`images     ${s.counts.images} (newest ${t(s.newest.image)})`);
      printLine(`mosaics    ${s.counts.mosaics} (newest ${t(s.newest.mosaic)})`);
      printLine(`sources    ${s.counts.sources}, photometry ${s.counts.photometry}, ESE candidates ${s.counts.eseCandidates}`);
      printLine(`failures   ${s.failures24h} in the last 24 h`);
      printLine(`disk       ${gb} free under ${s.stateDir}`);
    }));

  reg
    .command('list')
    .description(`list rows: ${KINDS.join(', ')}; plain output is one path (or group id / name) per line`)
    .argument('<kind>', 'what to list', parseChoice('kind', KINDS))
    .option('--state <state>', 'only rows in this state/status')
    .option('--since <time>', 'ISO time or MJD (inclusive)', parseTimeToMjd('--since'))
    .option('--until <time>', 'ISO time or MJD (inclusive)', parseTimeToMjd('--until'))
    .option('--limit <n>', 'at most N rows', parseInteger('--limit', 1))
    .option('--json', 'one JSON object per row')
    .option('--csv', 'CSV with a header line')
    .action(action('registry list', async (ctx, kind: Kind, opts: { state?: string; since?: number; until?: number; limit?: number; json?: boolean; csv?: boolean }) => {
      if (opts.json && opts.csv) throw new UsageError('--json and --csv are mutually exclusive');
      const r = openExisting(ctx);
      const rows = listRows(r, kind, opts);
      if (opts.json) for (const row of rows) printJson({ kind, ...row });
      else if (opts.csv) {
        const cols = rows.length ? Object.keys(rows[0]!) : [];
        printLine(cols.join(','));
        for (const row of rows) printLine(cols.map((c) => csvCell(row[c])).join(','));
      } else for (const row of rows) printLine(plainLine(kind, row));
    }));

  reg
    .command('show')
    .description('show one row by id, path, group id or name')
    .argument('<kind>', 'what to show', parseChoice('kind', KINDS))
    .argument('<id-or-path>', 'row id, product path, group id or name')
    .option('--json', 'print one JSON object')
    .action(action('registry show', async (ctx, kind: Kind, key: string, opts: { json?: boolean }) => {
      const r = openExisting(ctx);
      const s = SPECS[kind];
      let row: Record<string, unknown> | undefined;
      const candidates = [key, path.resolve(key)];
      for (const col of s.lookup) {
        for (const k of candidates) {
          row ??= r.db.prepare(`SELECT * FROM ${s.table} WHERE ${col} = ? LIMIT 1`).get(k) as Record<string, unknown> | undefined;
        }
      }
      if (!row && /^\d+$/.test(key) && kind !== 'groups') row = r.db.prepare(`SELECT * FROM ${s.table} WHERE id = ?`).get(Number(key)) as Record<string, unknown> | undefined;
      if (!row) throw new DsaError(`no ${kind} row matches '${key}'`, { subject: r.path });
      if (kind === 'mosaics') {
        row.members = r.db.prepare('SELECT i.path FROM mosaic_members m JOIN images i ON i.id = m.image_id WHERE m.mosaic_id = ?').all(row.id).map((x) => (x as { path: string }).path);
      }
      if (kind === 'caltables') row.set = calSet(r, String(row.set_name)).map((t) => t.path);
      if (opts.json) { printJson({ kind, ...row }); return; }
      const w = Math.max(...Object.keys(row).map((k) => k.length));
      for (const [k, v] of Object.entries(row)) {
        const shown = Array.isArray(v) ? v.join(' ') : v === null ? '' : String(v);
        const iso = typeof v === 'number' && /_mjd$|_at$|^mjd$/.test(k) && v > 40000 ? `  (${isoFromMjd(v)})` : '';
        printLine(`${k.padEnd(w)}  ${shown}${iso}`);
      }
    }));

  reg
    .command('reprocess')
    .description('put failed or completed groups back to pending')
    .argument('<group_id...>', 'group ids (the earliest subband timestamp, e.g. 2025-10-02T00:12:00)')
    .option('--json', 'print one JSON object per group')
    .action(action('registry reprocess', async (ctx, ids: string[], opts: { json?: boolean }) => {
      const r = openExisting(ctx);
      const res = reprocessGroups(r, ids);
      for (const id of res.changed) opts.json ? printJson({ group_id: id, state: 'pending' }) : printLine(id);
      for (const id of res.missing) log.error(`${id}: no such group in ${r.path}`);
      for (const s of res.skipped) log.error(`${s.id}: group is ${s.state}; only failed or completed groups can be reprocessed`);
      const bad = res.missing.length + res.skipped.length;
      return bad === 0 ? 0 : res.changed.length ? EXIT_PARTIAL : EXIT_FAILURE;
    }));

  const cal = reg.command('caltables').description('hand management of calibration sets');
  cal
    .command('register')
    .description('register caltables as one set (type from the name: .kcal.zarr K, .bpcal.zarr BP, .gpcal.zarr G)')
    .argument('<paths...>', 'caltable paths')
    .requiredOption('--set <name>', 'set name')
    .requiredOption('--valid-start <time>', 'ISO time or MJD', parseTimeToMjd('--valid-start'))
    .requiredOption('--valid-end <time>', 'ISO time or MJD', parseTimeToMjd('--valid-end'))
    .option('--refant <name>', 'reference antenna')
    .option('--calibrator <name>', 'calibrator name')
    .option('--json', 'one JSON object per table')
    .action(action('registry caltables register', async (ctx, paths: string[], opts: { set: string; validStart: number; validEnd: number; refant?: string; calibrator?: string; json?: boolean }) => {
      if (opts.validEnd <= opts.validStart) throw new UsageError('--valid-end must be after --valid-start');
      const tables = paths.map((p) => {
        const m = /\.(kcal|bpcal|gpcal)\.zarr\/?$/.exec(p);
        if (!m) throw new UsageError(`cannot tell the caltable type of '${p}' (expected *.kcal.zarr, *.bpcal.zarr or *.gpcal.zarr)`);
        const type: CalType = m[1] === 'kcal' ? 'K' : m[1] === 'bpcal' ? 'BP' : 'G';
        return { setName: opts.set, path: path.resolve(p), type, validStartMjd: opts.validStart, validEndMjd: opts.validEnd, refant: opts.refant, calibrator: opts.calibrator };
      });
      const types = tables.map((t) => t.type);
      if (new Set(types).size !== types.length) throw new UsageError('a set holds at most one table of each type');
      const r = ctx.registry();
      for (const row of registerCalSet(r, tables)) opts.json ? printJson({ kind: 'caltable', ...row }) : printLine(row.path);
    }));
  cal
    .command('active')
    .description('the calibration set that apply would use at a time')
    .requiredOption('--mjd <time>', 'MJD or ISO time', parseTimeToMjd('--mjd'))
    .option('--max-distance-hours <h>', 'accept the nearest set within this many hours', parseInteger('--max-distance-hours', 0), 12)
    .option('--json', 'one JSON object per table')
    .action(action('registry caltables active', async (ctx, opts: { mjd: number; maxDistanceHours: number; json?: boolean }) => {
      const r = openExisting(ctx);
      const set = activeCalSet(r, opts.mjd, opts.maxDistanceHours / 24);
      if (!set) throw new DsaError(`no active calibration set within ${opts.maxDistanceHours} h of ${isoFromMjd(opts.mjd)}`, { subject: r.path });
      if (set.distanceDays > 0) log.warn(`no set is valid at ${isoFromMjd(opts.mjd)}; nearest is ${set.setName}, ${(set.distanceDays * 24).toFixed(2)} h away`);
      for (const t of set.tables) opts.json ? printJson({ kind: 'caltable', distance_days: set.distanceDays, ...t }) : printLine(t.path);
    }));
  cal
    .command('retire')
    .description('retire calibration sets (apply stops choosing them)')
    .argument('<set...>', 'set names')
    .addOption(new Option('--status <status>', 'new status').choices(['retired', 'active', 'failed']).default('retired'))
    .action(action('registry caltables retire', async (ctx, sets: string[], opts: { status: 'retired' | 'active' | 'failed' }) => {
      const r = openExisting(ctx);
      let missing = 0;
      for (const s of sets) {
        const n = setCalSetStatus(r, s, opts.status);
        if (n === 0) { log.error(`${s}: no such calibration set in ${r.path}`); missing++; } else printLine(s);
      }
      return missing === 0 ? 0 : missing === sets.length ? EXIT_FAILURE : EXIT_PARTIAL;
    }));

  reg
    .command('metrics')
    .description('Prometheus text exposition of queue, products, failures and free disk')
    .option('--output <file>', 'write atomically to FILE (node_exporter textfile collector) instead of stdout')
    .option('--serve <port>', 'serve /metrics, /health and /ready on 127.0.0.1:PORT until SIGINT/SIGTERM', parseInteger('--serve', 0, 65535))
    .option('--host <addr>', 'address to listen on with --serve', '127.0.0.1')
    .action(action('registry metrics', async (ctx, opts: { output?: string; serve?: number; host: string }) => {
      const r = openExisting(ctx);
      if (opts.serve === undefined) {
        const text = prometheusText(r, ctx.stateDir);
        if (opts.output) {
          mkdirSync(path.dirname(path.resolve(opts.output)), { recursive: true });
          await writeTextAtomic(path.resolve(opts.output), text);
          printLine(path.resolve(opts.output));
        } else process.stdout.write(text);
        return;
      }
      const server = createServer((req, res) => {
        const url = (req.url ?? '/').split('?')[0];
        try {
          if (url === '/metrics') {
            res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
            res.end(prometheusText(r, ctx.stateDir));
          } else if (url === '/health') {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('ok\n');
          } else if (url === '/ready') {
            r.db.prepare('SELECT 1').get(); // the database answers
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('ready\n');
          } else {
            res.writeHead(404, { 'content-type': 'text/plain' });
            res.end('not found\n');
          }
        } catch (e) {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end(`not ready: ${(e as Error).message}\n`);
        }
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e) => reject(new DsaError(`cannot listen on ${opts.host}:${opts.serve}: ${(e as Error).message}`)));
        server.listen(opts.serve, opts.host, () => resolve());
      });
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.serve;
      log.info(`serving metrics on http://${opts.host}:${port}/metrics`);
      printLine(`http://${opts.host}:${port}/metrics`);
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    }));
}
