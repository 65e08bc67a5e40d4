/**
 * dsa110 convert — complete groups of UVH5 subband files → <output-dir>/<group_id>.ms.zarr,
 * in batch or as a streaming worker (--watch).
 */
import { Command } from 'commander';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { action, type CommandContext } from '../util/command.js';
import { DsaError, EXIT_FAILURE, EXIT_PARTIAL, UsageError } from '../util/errors.js';
import { log } from '../util/log.js';
import { printJson, printLine, printProduct } from '../util/output.js';
import { parseInteger, parseNumber } from '../util/options.js';
import { progressBar } from '../util/progress.js';
import { packageVersion } from '../util/config.js';
import { recoverAtomicDir } from '../util/atomic.js';
import { diskPauseFlagPath } from '../ops/disk.js';
import { groupSubbands, isIncompleteName, parseSubbandName, type Group, type SubbandFile } from '../convert/grouping.js';
import type { Registry } from '../registry/db.js';
import { upsertFile, upsertGroup, claimNextGroup, completeGroup, failGroup, setFilesStatus, getGroup } from '../registry/queue.js';
import { upsertMs } from '../registry/products.js';
import { recordStage } from '../registry/metrics.js';
import { recoverDeadClaims, releaseGroup, workerId } from '../registry/workers.js';

interface ConvertOpts {
  outputDir?: string;
  tolerance: number;
  expectedSubbands: number;
  allowIncomplete?: boolean;
  dryRun?: boolean;
  watch?: string;
  once?: boolean;
  pollInterval: number;
  settle: number;
  maxRetries: number;
  force?: boolean;
  json?: boolean;
  fsync: boolean;
}

/** Disk-critical flag written by `housekeep`; a watching converter pauses while it exists. */
export const diskPauseFlag = diskPauseFlagPath;

function ensureDir(d: string): string {
  const p = path.resolve(d);
  try {
    mkdirSync(p, { recursive: true });
  } catch (e) {
    throw new DsaError(`cannot create output directory: ${(e as Error).message}`, { subject: p });
  }
  return p;
}

function listHdf5(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new DsaError(`cannot read directory: ${(e as Error).message}`, { subject: dir });
  }
  return names.filter((n) => /\.(hdf5|uvh5|h5)$/.test(n) && !n.startsWith('.')).map((n) => path.join(dir, n));
}

/** Expand inputs (files and directories) into subband files and single-file groups. */
function collectInputs(inputs: string[], expected: number): { files: SubbandFile[]; singles: SubbandFile[] } {
  const files: SubbandFile[] = [];
  const singles: SubbandFile[] = [];
  for (const inp of inputs) {
    const p = path.resolve(inp);
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new DsaError('no such file or directory', { subject: p });
    }
    const list = st.isDirectory() ? listHdf5(p) : [p];
    for (const f of list) {
      if (isIncompleteName(f)) continue;
      const parsed = parseSubbandName(f);
      if (parsed) files.push(parsed);
      else if (expected === 1) {
        const mt = statSync(f).mtimeMs / 1000;
        singles.push({ path: f, timestamp: path.basename(f).replace(/\.(hdf5|uvh5|h5)$/, ''), time: mt, subband: -1 });
      } else if (!st.isDirectory()) {
        throw new UsageError(`${f}: name is not YYYY-MM-DDTHH:MM:SS_sbNN.hdf5; convert other UVH5 files with --expected-subbands 1`);
      }
    }
  }
  return { files, singles };
}

function singleGroup(f: SubbandFile): Group {
  return { groupId: f.timestamp, time: f.time, files: new Map([[0, { ...f }]]), duplicates: [], missing: [], complete: true };
}

function indexGroups(reg: Registry, groups: Group[], expected: number): void {
  reg.write(() => {
    for (const g of groups) {
      for (const f of g.files.values()) {
        let st;
        try { st = statSync(f.path); } catch { continue; }
        upsertFile(reg, { path: f.path, groupId: g.groupId, subband: f.subband < 0 ? null : f.subband, timestampMjd: f.time / 86400 + 40587, size: st.size, mtime: st.mtimeMs / 1000 });
      }
      upsertGroup(reg, { groupId: g.groupId, expected: g.files.size === 1 && expected === 1 ? 1 : expected, received: g.files.size, missing: g.missing });
    }
  });
}

interface Outcome { ok: boolean; path?: string; error?: string }

async function convertOne(ctx: CommandContext, reg: Registry, g: Group, o: ConvertOpts, outDir: string, signal: AbortSignal | undefined, argv: string[]): Promise<Outcome> {
  const { convertGroup, ConvertAborted } = await import('../convert/convert-group.js');
  const out = path.join(outDir, `${g.groupId}.ms.zarr`);
  await recoverAtomicDir(out); // leftovers of a killed run
  const files = [...g.files.values()].sort((a, b) => a.subband - b.subband).map((f) => ({ path: f.path, subband: f.subband }));
  const bar = progressBar(1, g.groupId);
  const t0 = performance.now();
  try {
    const r = await convertGroup(g.groupId, files, out, {
      expectedSubbands: g.files.size === 1 && o.expectedSubbands === 1 ? 1 : o.expectedSubbands,
      allowIncomplete: o.allowIncomplete,
      history: { command: 'convert', version: packageVersion(), args: argv },
      fsync: o.fsync,
      signal,
      onProgress: (d, n) => bar.update(d / n),
    });
    bar.stop();
    const seconds = (performance.now() - t0) / 1000;
    reg.write(() => {
      completeGroup(reg, g.groupId, r.path);
      setFilesStatus(reg, g.groupId, 'converted');
      upsertMs(reg, { path: r.path, groupId: g.groupId, startMjd: r.startMjd, endMjd: r.endMjd, raDeg: r.raDeg, decDeg: r.decDeg, nTimes: r.nTimes, nBaselines: r.nBaselines, nChan: r.nChan, nPol: r.nPol, sizeBytes: r.visBytes });
      recordStage(reg, { command: 'convert', product: r.path, stage: 'total', seconds, bytes: r.visBytes });
      recordStage(reg, { command: 'convert', product: r.path, stage: 'write', seconds: r.timings.write, bytes: r.visBytes });
    });
    log.info(`${g.groupId}: ${r.nTimes} × ${r.nBaselines} baselines × ${r.nChan} channels → ${r.path} in ${seconds.toFixed(1)} s`, { phase_mode: r.phaseMode, ra_deg: +r.raDeg.toFixed(6), dec_deg: +r.decDeg.toFixed(6) });
    printProduct({ path: r.path, kind: 'ms', group_id: g.groupId, n_times: r.nTimes, n_baselines: r.nBaselines, n_chan: r.nChan, n_pol: r.nPol, ra_deg: r.raDeg, dec_deg: r.decDeg, start_mjd: r.startMjd, end_mjd: r.endMjd, missing_subbands: r.missingSubbands, seconds }, { json: o.json });
    return { ok: true, path: r.path };
  } catch (e) {
    bar.stop();
    if (e instanceof ConvertAborted) {
      releaseGroup(reg, g.groupId);
      log.warn(`${g.groupId}: abandoned on signal; no partial output left, group back to pending`);
      return { ok: false, error: 'aborted' };
    }
    const msg = e instanceof DsaError ? e.oneLine() : `${(e as Error).message}`;
    if (!(e instanceof DsaError)) log.debug((e as Error).stack ?? '');
    const seconds = (performance.now() - t0) / 1000;
    reg.write(() => {
      const row = failGroup(reg, g.groupId, msg, o.watch ? o.maxRetries : 0);
      if (row?.state === 'failed') setFilesStatus(reg, g.groupId, 'failed', msg);
      recordStage(reg, { command: 'convert', product: out, stage: 'total', seconds, ok: false, error: msg });
    });
    log.error(`${g.groupId}: ${msg}`);
    return { ok: false, error: msg };
  }
}

async function batch(ctx: CommandContext, inputs: string[], o: ConvertOpts, argv: string[]): Promise<number> {
  const { files, singles } = collectInputs(inputs, o.expectedSubbands);
  const groups = [...groupSubbands(files, o.expectedSubbands, o.tolerance), ...singles.map(singleGroup)];
  if (groups.length === 0) throw new DsaError('no UVH5 subband files found in the inputs');
  for (const g of groups) for (const d of g.duplicates) log.warn(`${d.path}: duplicate sb${String(d.subband).padStart(2, '0')} in group ${g.groupId}; using ${g.files.get(d.subband)!.path}`);
  if (o.dryRun) {
    for (const g of groups) {
      const miss = g.missing.map((m) => 'sb' + String(m).padStart(2, '0'));
      if (o.json) printJson({ group_id: g.groupId, complete: g.complete, files: g.files.size, missing_subbands: g.missing, would_convert: g.complete || !!o.allowIncomplete });
      else printLine(`${g.groupId}\t${g.complete ? 'complete' : 'incomplete'}\t${g.files.size} files${miss.length ? '\tmissing ' + miss.join(',') : ''}`);
    }
    return 0;
  }
  if (!o.outputDir) throw new UsageError('--output-dir is required');
  const outDir = ensureDir(o.outputDir);
  const reg = ctx.registry();
  indexGroups(reg, groups, o.expectedSubbands);
  recoverDeadClaims(reg);
  const me = workerId();
  let failed = 0, done = 0;
  for (const g of groups) {
    if (!g.complete && !o.allowIncomplete) {
      log.warn(`${g.groupId}: incomplete (${g.files.size}/${o.expectedSubbands} subbands, missing ${g.missing.map((m) => 'sb' + String(m).padStart(2, '0')).join(', ')}); left collecting (use --allow-incomplete to convert)`);
      continue;
    }
    const row = getGroup(reg, g.groupId)!;
    const out = path.join(outDir, `${g.groupId}.ms.zarr`);
    if (row.state === 'completed' && !o.force && row.ms_path === out && existsSync(out)) {
      log.info(`${g.groupId}: already converted (${out}); --force to redo`);
      printProduct({ path: out, kind: 'ms', group_id: g.groupId, skipped: true }, { json: o.json });
      done++;
      continue;
    }
    if (row.state === 'in_progress') { log.warn(`${g.groupId}: being converted by ${row.claimed_by}; skipped`); continue; }
    if (row.state !== 'pending') {
      reg.db.prepare(`UPDATE processing_queue SET state='pending', error=NULL WHERE group_id=?`).run(g.groupId);
    }
    if (!claimNextGroup(reg, me, [g.groupId])) { log.warn(`${g.groupId}: claimed by another worker; skipped`); continue; }
    const r = await convertOne(ctx, reg, g, o, outDir, undefined, argv);
    if (r.ok) done++; else failed++;
  }
  if (failed && done) return EXIT_PARTIAL;
  if (failed) return EXIT_FAILURE;
  return 0;
}

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

async function watch(ctx: CommandContext, o: ConvertOpts, argv: string[]): Promise<number> {
  if (!o.outputDir) throw new UsageError('--output-dir is required');
  const dir = path.resolve(o.watch!);
  const outDir = ensureDir(o.outputDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DsaError('watch directory does not exist', { subject: dir });
  const reg = ctx.registry();
  const me = workerId();
  const ac = new AbortController();
  const stop = (sig: string) => { if (!ac.signal.aborted) { log.info(`${sig}: stopping after the current step`); ac.abort(); } };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  const seen = new Map<string, { size: number; mtime: number; since: number }>();
  let failed = 0, done = 0, paused = false;
  log.info(`watching ${dir} → ${outDir} as ${me}`);
  while (!ac.signal.aborted) {
    if (existsSync(diskPauseFlag(ctx.stateDir))) {
      if (!paused) log.warn(`disk space critical (${diskPauseFlag(ctx.stateDir)}); pausing conversions`);
      paused = true;
      if (o.once) break;
      await sleep(o.pollInterval * 1000, ac.signal);
      continue;
    }
    if (paused) { log.info('disk space recovered; resuming'); paused = false; }
    // Index files whose size has been stable for --settle seconds (the correlator may still be writing).
    const now = Date.now();
    const stable: SubbandFile[] = [];
    for (const f of listHdf5(dir)) {
      if (isIncompleteName(f)) continue;
      const parsed = parseSubbandName(f);
      if (!parsed) continue;
      let st;
      try { st = statSync(f); } catch { continue; }
      const prev = seen.get(f);
      if (!prev || prev.size !== st.size || prev.mtime !== st.mtimeMs) { seen.set(f, { size: st.size, mtime: st.mtimeMs, since: now }); if (!o.once || now - st.mtimeMs < o.settle * 1000) continue; }
      else if (now - prev.since < o.settle * 1000 && now - st.mtimeMs < o.settle * 1000) continue;
      stable.push(parsed);
    }
    const groups = groupSubbands(stable, o.expectedSubbands, o.tolerance);
    indexGroups(reg, groups, o.expectedSubbands);
    recoverDeadClaims(reg);
    const byId = new Map(groups.map((g) => [g.groupId, g]));
    for (;;) {
      if (ac.signal.aborted) break;
      const row = claimNextGroup(reg, me, [...byId.keys()]);
      if (!row) break;
      const g = byId.get(row.group_id)!;
      const r = await convertOne(ctx, reg, g, { ...o }, outDir, ac.signal, argv);
      if (r.ok) done++; else if (r.error !== 'aborted') failed++;
    }
    if (o.once) break;
    await sleep(o.pollInterval * 1000, ac.signal);
  }
  log.info(`stopped: ${done} converted, ${failed} failed`);
  return o.once && failed ? (done ? EXIT_PARTIAL : EXIT_FAILURE) : 0;
}

export function register(program: Command): void {
  program
    .command('convert')
    .description('convert complete groups of UVH5 subband files into <output-dir>/<group_id>.ms.zarr tables')
    .argument('[inputs...]', 'subband files or directories (default: paths on stdin)')
    .option('-o, --output-dir <dir>', 'where to write the measurement sets')
    .option('--tolerance <s>', 'cluster file-name times within this many seconds', parseNumber('--tolerance', { min: 0 }), 60)
    .option('--expected-subbands <n>', 'subbands in a complete group (1 for plain pyuvdata files)', parseInteger('--expected-subbands', 1, 64), 16)
    .option('--allow-incomplete', 'convert incomplete groups, filling missing subbands with flagged zeros')
    .option('--dry-run', 'print the groups that would be converted (complete or not) and exit')
    .option('--watch <dir>', 'keep running: convert each group in DIR as soon as it is complete')
    .option('--once', 'with --watch: process what is there now, then exit')
    .option('--poll-interval <s>', 'with --watch: seconds between directory scans', parseNumber('--poll-interval', { min: 0.05 }), 5)
    .option('--settle <s>', 'with --watch: a file is complete once its size is unchanged this long', parseNumber('--settle', { min: 0 }), 10)
    .option('--max-retries <n>', 'with --watch: retries of a failed group before it is marked failed', parseInteger('--max-retries', 0), 3)
    .option('--force', 'reconvert groups that are already completed')
    .option('--no-fsync', 'skip fsync (scratch data and benchmarks only)')
    .option('--json', 'one JSON object per product on stdout')
    .action(action('convert', async (ctx, inputs: string[], o: ConvertOpts) => {
      const argv = process.argv.slice(2);
      if (o.once && !o.watch) throw new UsageError('--once only applies with --watch');
      if (o.watch) {
        if (inputs.length) throw new UsageError('give either input files or --watch DIR, not both');
        return watch(ctx, o, argv);
      }
      const { readInputPaths } = await import('../util/inputs.js');
      const paths = await readInputPaths(inputs);
      if (!paths.length) throw new UsageError('no inputs: give subband files or directories (or paths on stdin), or --watch DIR');
      return batch(ctx, paths, o, argv);
    }));
}
