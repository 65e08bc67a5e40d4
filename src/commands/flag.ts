/**
 * dsa110 flag — update the FLAG column of measurement sets in place (atomically), with modes
 * applied in the order given on the command line, and a flag summary.
 */
import { Command, InvalidArgumentError } from 'commander';
import path from 'node:path';
import { action, forEachInput } from '../util/command.js';
import { InputError, UsageError } from '../util/errors.js';
import { log } from '../util/log.js';
import { printJson, printProduct } from '../util/output.js';
import { parseNumber } from '../util/options.js';
import { packageVersion } from '../util/config.js';
import { readInputPaths } from '../util/inputs.js';
import type { FlagStep } from '../flagging/strategy.js';
import type { Cube, FlagSummary, RfiOptions } from '../flagging/types.js';
import type { MsTable } from '../io/ms.js';

type IndexRange = readonly [number, number];

/** Test hook: sleep this long before writing each timestep of FLAG (lets a test kill mid-write). */
const SLOW_WRITE_MS = Number(process.env.DSA110_TEST_SLOW_WRITE_MS ?? 0);

/** "A~B,C~D" (inclusive, CASA style) or single indices → [start, end) ranges. */
function parseIndexRanges(name: string) {
  return (v: string): IndexRange[] => v.split(',').map((part) => {
    const m = /^\s*(\d+)\s*(?:~\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`${name} must look like A~B,C (channel indices), got '${v}'`);
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new InvalidArgumentError(`${name}: range ${a}~${b} is reversed`);
    return [a, b + 1] as const;
  });
}

/** "ISO~ISO,..." → [startMjdSec, endMjdSec] pairs. */
function parseTimeRanges(v: string): [number, number][] {
  return v.split(',').map((part) => {
    const [a, b] = part.split('~');
    const t = (s: string | undefined) => {
      const x = s ? Date.parse(/[zZ]$/.test(s.trim()) ? s.trim() : s.trim() + 'Z') : NaN;
      if (!Number.isFinite(x)) throw new InvalidArgumentError(`--times must look like ISO~ISO[,ISO~ISO], got '${v}'`);
      return x / 1000 + 40587 * 86400 - 0; // Unix s → MJD s (MJD 40587 = 1970-01-01)
    };
    const s = t(a), e = t(b);
    if (e < s) throw new InvalidArgumentError(`--times: range '${part}' ends before it starts`);
    return [s, e];
  });
}

function parseClip(v: string): [number, number] {
  const m = /^\s*([-+\d.eE]*)\s*,\s*([-+\d.eE]*)\s*$/.exec(v);
  const lo = m && m[1] !== '' ? Number(m[1]) : 0;
  const hi = m && m[2] !== '' ? Number(m[2]) : Infinity;
  if (!m || !Number.isFinite(lo) || Number.isNaN(hi) || hi <= lo) throw new InvalidArgumentError(`--clip must be MIN,MAX amplitudes with MIN < MAX, got '${v}'`);
  return [lo, hi];
}

interface FlagOpts {
  strategy?: string;
  reset?: boolean; zeros?: boolean; autocorr?: boolean; clip?: [number, number];
  antennas?: string; channels?: IndexRange[]; times?: [number, number][];
  quack?: number; deadAntennas?: number; rfi?: boolean; madClip?: number; extend?: boolean;
  grow: number; rfiSensitivity: number; rfiIterations: number; sirEta: number;
  summary?: boolean; json?: boolean; threads?: number;
}

const MODE_OPTIONS = ['strategy', 'reset', 'zeros', 'autocorr', 'clip', 'antennas', 'channels', 'times', 'quack', 'deadAntennas', 'rfi', 'madClip', 'extend'] as const;
type ModeOption = (typeof MODE_OPTIONS)[number];

function rfiOptions(o: FlagOpts): RfiOptions {
  const sens: number[] = [];
  for (let i = o.rfiIterations - 1; i >= 0; i--) sens.push(2 ** i);
  return { sensitivities: sens, firstThreshold: 6 * o.rfiSensitivity, sirEta: o.sirEta };
}

/** Build the steps in command-line order. Manual selectors given together form one step. */
function buildSteps(order: ModeOption[], o: FlagOpts, ms: MsTable): FlagStep[] {
  const steps: FlagStep[] = [];
  let manualAdded = false;
  for (const k of order) {
    switch (k) {
      case 'strategy':
        if (o.strategy !== 'default') throw new UsageError(`--strategy must be 'default', got '${o.strategy}'`);
        steps.push({ mode: 'zeros' }, { mode: 'rfi', ...rfiOptions(o) }, { mode: 'extend', grow: o.grow });
        break;
      case 'reset': steps.push({ mode: 'reset' }); break;
      case 'zeros': steps.push({ mode: 'zeros' }); break;
      case 'autocorr': steps.push({ mode: 'autocorr' }); break;
      case 'clip': steps.push({ mode: 'clip', min: o.clip![0], max: o.clip![1] }); break;
      case 'quack': steps.push({ mode: 'quack', seconds: o.quack! }); break;
      case 'deadAntennas': steps.push({ mode: 'deadAntennas', fraction: o.deadAntennas! }); break;
      case 'rfi': steps.push({ mode: 'rfi', ...rfiOptions(o) }); break;
      case 'madClip': steps.push({ mode: 'madClip', nSigma: o.madClip! }); break;
      case 'extend': steps.push({ mode: 'extend', grow: o.grow }); break;
      case 'antennas': case 'channels': case 'times': {
        if (manualAdded) break;
        manualAdded = true;
        const m = ms.meta;
        const sel: { antennas?: number[]; channels?: IndexRange[]; times?: IndexRange[] } = {};
        if (o.antennas !== undefined) {
          sel.antennas = o.antennas.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
            const byName = m.antennaNames.indexOf(s);
            if (byName >= 0) return byName;
            if (/^\d+$/.test(s) && Number(s) < m.antennaNames.length) return Number(s);
            throw new UsageError(`--antennas: no antenna '${s}' in ${ms.path}`);
          });
        }
        if (o.channels) {
          for (const [a, b] of o.channels) if (b > m.nChan) throw new UsageError(`--channels: ${a}~${b - 1} is outside 0~${m.nChan - 1} of ${ms.path}`);
          sel.channels = o.channels;
        }
        if (o.times) {
          const half = (m.interval[0] ?? 0) / 2;
          sel.times = o.times.map(([s, e]) => {
            let a = m.nTimes, b = 0;
            for (let t = 0; t < m.nTimes; t++) if (m.time[t]! + half >= s && m.time[t]! - half <= e) { a = Math.min(a, t); b = Math.max(b, t + 1); }
            return (a < b ? [a, b] : [0, 0]) as IndexRange;
          });
        }
        steps.push({ mode: 'manual', ...sel });
        break;
      }
    }
  }
  return steps;
}

async function loadCube(ms: MsTable): Promise<Cube> {
  const m = ms.meta;
  if (!ms.has('DATA')) throw new InputError(ms.path, 'no DATA column');
  if (!ms.has('FLAG')) throw new InputError(ms.path, 'no FLAG column');
  // in shared memory, so that the RFI workers flag it in place (no per-job copies on this thread)
  const n = m.nTimes * m.nBaselines * m.nChan * m.nPol;
  const data = await ms.readTimes('DATA', 0, m.nTimes, new Float32Array(new SharedArrayBuffer(8 * n)));
  const flags = await ms.readTimes('FLAG', 0, m.nTimes, new Uint8Array(new SharedArrayBuffer(n)));
  return { nTime: m.nTimes, nBl: m.nBaselines, nChan: m.nChan, nPol: m.nPol, data, flags, ant1: m.ant1, ant2: m.ant2, times: m.time };
}

function summaryRecord(ms: MsTable, s: FlagSummary): Record<string, unknown> {
  const names = ms.meta.antennaNames;
  const byAntenna: Record<string, number> = {};
  s.byAntenna.forEach((v, i) => { if (Number.isFinite(v)) byAntenna[names[i] ?? String(i)] = +v.toFixed(6); });
  return {
    total: s.total,
    byAntenna,
    byChannel: Array.from(s.byChannel, (v) => +v.toFixed(6)),
    byTime: Array.from(s.byTime, (v) => +v.toFixed(6)),
    byPol: Array.from(s.byPol, (v) => +v.toFixed(6)),
  };
}

function printSummaryText(ms: MsTable, s: FlagSummary): void {
  const m = ms.meta;
  const pct = (v: number) => (100 * v).toFixed(2).padStart(6) + ' %';
  process.stderr.write(`${ms.path}: ${pct(s.total)} flagged\n`);
  const worstAnt = Array.from(s.byAntenna.entries()).filter(([, v]) => Number.isFinite(v)).sort((a, b) => b[1] - a[1]).slice(0, 5);
  process.stderr.write(`  antennas (worst): ${worstAnt.map(([i, v]) => `${m.antennaNames[i] ?? i} ${pct(v).trim()}`).join(', ')}\n`);
  const worstChan = Array.from(s.byChannel.entries()).sort((a, b) => b[1] - a[1]).slice(0, 5);
  process.stderr.write(`  channels (worst): ${worstChan.map(([c, v]) => `${c} (${(m.freq[c]! / 1e6).toFixed(3)} MHz) ${pct(v).trim()}`).join(', ')}\n`);
  process.stderr.write(`  times: ${Array.from(s.byTime, (v) => (100 * v).toFixed(0)).join(' ')} %\n`);
}

export function register(program: Command): void {
  const order: ModeOption[] = [];
  const cmd = program
    .command('flag')
    .description('flag measurement sets in place (atomically): modes run in the order given; --strategy default = zeros, rfi, extend')
    .argument('[ms...]', 'measurement sets (default: paths on stdin)')
    .option('--strategy <name>', "a named strategy: 'default' (zeros → rfi → extend, the DSA-110 order)")
    .option('--reset', 'unflag everything')
    .option('--zeros', 'flag exact zeros and NaN/Inf')
    .option('--autocorr', 'flag autocorrelations')
    .option('--clip <min,max>', 'flag amplitudes outside [MIN, MAX] (Jy)', parseClip)
    .option('--antennas <list>', 'manual: flag baselines with these antennas (names or indices, comma-separated)')
    .option('--channels <A~B,...>', 'manual: flag these channel index ranges (inclusive)', parseIndexRanges('--channels'))
    .option('--times <ISO~ISO,...>', 'manual: flag integrations overlapping these UTC ranges', parseTimeRanges)
    .option('--quack <seconds>', 'flag the first SECONDS of the scan', parseNumber('--quack', { min: 0 }))
    .option('--dead-antennas <fraction>', 'flag antennas already flagged above FRACTION entirely', parseNumber('--dead-antennas', { min: 0, max: 1 }))
    .option('--rfi', 'SumThreshold + SIR RFI detection (AOFlagger-style) on every cross-correlation')
    .option('--rfi-sensitivity <x>', 'scale of the first SumThreshold threshold χ₁ = 6·x·σ', parseNumber('--rfi-sensitivity', { min: 0.05 }), 1)
    .option('--rfi-iterations <n>', 'SumThreshold passes at sensitivities 2^(n−1) … 1', parseNumber('--rfi-iterations', { min: 1, max: 8, integer: true }), 3)
    .option('--sir-eta <eta>', 'scale-invariant rank dilation η (0 disables)', parseNumber('--sir-eta', { min: 0, max: 1 }), 0.2)
    .option('--mad-clip <n>', 'per baseline and polarisation, flag amplitudes above median + N·1.4826·MAD', parseNumber('--mad-clip', { min: 0 }))
    .option('--extend', 'grow flags: across polarisations; channels/times flagged over more than --grow of the baselines')
    .option('--grow <fraction>', 'threshold fraction for --extend', parseNumber('--grow', { min: 0, max: 1 }), 0.5)
    .option('--summary', 'print flagged fractions by antenna, channel and time (alone: change nothing)')
    .option('--threads <n>', 'worker threads for --rfi (default: all cores)', parseNumber('--threads', { min: 1, max: 64, integer: true }))
    .option('--json', 'one JSON object per MS (with the summary)');
  for (const k of MODE_OPTIONS) {
    const flagName = k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    cmd.on(`option:${flagName}`, () => order.push(k));
  }
  cmd.action(action('flag', async (ctx, inputs: string[], o: FlagOpts) => {
    const paths = await readInputPaths(inputs);
    if (!paths.length) throw new UsageError('no measurement sets given (arguments or stdin)');
    if (order.length === 0 && !o.summary) throw new UsageError('nothing to do: give --strategy default, a mode (--rfi, --zeros, …) or --summary');
    const { openMs, replaceColumn } = await import('../io/ms.js');
    const { applyStrategyAsync } = await import('../flagging/strategy.js');
    const { flagRfiParallelCount, parallelAvailable } = await import('../flagging/parallel.js');
    const { countFlags, flagRfiRange, resolveRfiOptions } = await import('../flagging/rfi.js');
    const { flagSummary } = await import('../flagging/summary.js');
    const { updateMs } = await import('../registry/products.js');
    const { recordStage } = await import('../registry/metrics.js');
    return forEachInput(ctx, paths.map((p0) => path.resolve(p0)), async (p) => {
      const t0 = performance.now();
      const ms = await openMs(p);
      const cube = await loadCube(ms);
      // fractions only (the full summary by antenna, channel and time cost ~1 s a group)
      const before = countFlags(cube.flags) / cube.flags.length;
      let report: { steps: { mode: string; newlyFlagged: number; seconds: number }[]; seconds: number } | undefined;
      if (order.length) {
        const steps = buildSteps(order, o, ms);
        const parallel = parallelAvailable() && (o.threads ?? 2) > 1;
        const runner = (c: Cube, r: RfiOptions, z?: { count: number }) => (parallel
          ? flagRfiParallelCount(c, r, { workers: o.threads }, z)
          : flagRfiRange(c, resolveRfiOptions(r)));
        // with workers, a zeros step right before rfi runs inside the same parallel pass
        report = await applyStrategyAsync(cube, steps, runner, parallel);
        const per = ms.meta.nBaselines * ms.meta.nChan * ms.meta.nPol;
        await replaceColumn(ms, 'FLAG', async (t: number) => {
          if (SLOW_WRITE_MS > 0) await new Promise((r) => setTimeout(r, SLOW_WRITE_MS));
          return cube.flags.subarray(t * per, (t + 1) * per);
        }, {
          history: { command: 'flag', version: packageVersion(), args: process.argv.slice(2) },
        });
      }
      const s = o.summary ? flagSummary(cube) : undefined;
      const total = s ? s.total : countFlags(cube.flags) / cube.flags.length;
      const seconds = (performance.now() - t0) / 1000;
      if (order.length) {
        try {
          const reg = ctx.registry();
          reg.write(() => {
            updateMs(reg, p, { flag_fraction: total, status: 'flagged' });
            recordStage(reg, { command: 'flag', product: p, stage: 'total', seconds, bytes: cube.flags.length });
          });
        } catch (e) {
          log.warn(`${p}: flags written but the registry was not updated: ${(e as Error).message}`);
        }
        log.info(`${p}: ${(100 * before).toFixed(2)} % → ${(100 * total).toFixed(2)} % flagged in ${seconds.toFixed(1)} s`,
          Object.fromEntries(report!.steps.map((st) => [st.mode, +(st.newlyFlagged / cube.flags.length).toFixed(5)])));
      }
      if (s && !o.json) printSummaryText(ms, s);
      if (o.json) printJson({ path: p, kind: 'ms', flagged_before: before, flagged: total, seconds, steps: report?.steps, summary: s ? summaryRecord(ms, s) : undefined });
      else printProduct({ path: p, kind: 'ms' }, {});
    }, { rethrowUsage: true });
  }));
}
