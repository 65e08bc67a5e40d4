/**
 * `dsa110 flag` through the CLI: RFI recall / false-positive rate against the simulator's truth on
 * simulated + converted groups, exact counts for every manual mode on a small MS, `--summary`
 * alone, bad input, bad options, and a crash during the FLAG write.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import path from 'node:path';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { simulateGroups } from '../../src/sim/index.js';
import { openMs, replaceColumn } from '../../src/io/ms.js';
import { SimulatedCrash, recoverAtomicDir } from '../../src/util/atomic.js';
import { BIN, dsa110, tmpDir } from '../helpers/cli.js';

interface RfiTruth { kind: string; times: number[]; channels: number[] | 'all'; amplitudeJy: number }
interface Truth { noiseSigmaJy: number; channelFreqsHz: number[]; groups: { rfi: RfiTruth[] }[] }

let rfiDir: string; // simulated + converted RFI groups
let rfiMs: string[];
let rfiDb: string;
let truth: Truth;
let smallMs: string; // pristine small MS (copied per test)

function convert(simDir: string, out: string, nSb: number, db: string): string[] {
  const r = dsa110(['--db', db, 'convert', '--expected-subbands', String(nSb), '-o', out, simDir]);
  if (r.code !== 0) throw new Error(`convert failed: ${r.stderr}`);
  return r.stdout.trim().split('\n');
}

beforeAll(async () => {
  // RFI groups: 16 antennas, 8 × 32 channels, 24 integrations, default SEFD noise, gains on.
  rfiDir = tmpDir('dsa110-flag-rfi-');
  const sim = path.join(rfiDir, 'sim');
  await simulateGroups({ outDir: sim, antennas: 16, subbands: 8, channelsPerSubband: 32, integrations: 24, groups: 2, rfi: true, seed: 11, start: '2025-10-21T14:20:00' });
  truth = JSON.parse(readFileSync(path.join(sim, 'truth.json'), 'utf8')) as Truth;
  rfiDb = path.join(rfiDir, 'db.sqlite3');
  rfiMs = convert(sim, path.join(rfiDir, 'ms'), 8, rfiDb);
  // small MS for the manual modes: 6 antennas (21 baselines with autos), 16 channels, 4 times
  const sdir = tmpDir('dsa110-flag-small-');
  await simulateGroups({ outDir: path.join(sdir, 'sim'), antennas: 6, subbands: 2, channelsPerSubband: 8, integrations: 4, groups: 1, noiseJy: 1, seed: 5, start: '2025-10-21T14:20:00' });
  [smallMs] = convert(path.join(sdir, 'sim'), path.join(sdir, 'ms'), 2, path.join(sdir, 'db.sqlite3')) as [string];
}, 120_000);

/** A fresh copy of the small MS (each mode starts from no flags). */
function freshSmall(): string {
  const d = tmpDir('dsa110-flag-case-');
  const p = path.join(d, path.basename(smallMs));
  cpSync(smallMs, p, { recursive: true });
  return p;
}

async function readFlags(p: string): Promise<{ flags: Uint8Array; data: Float32Array; meta: Awaited<ReturnType<typeof openMs>>['meta'] }> {
  const ms = await openMs(p);
  const m = ms.meta;
  return { flags: await ms.readTimes('FLAG', 0, m.nTimes), data: await ms.readTimes('DATA', 0, m.nTimes), meta: m };
}

const count = (f: Uint8Array): number => f.reduce((s, x) => s + x, 0);

/** As dsa110() but asynchronous, so that independent CLI runs overlap (each costs a node start). */
function dsa110Async(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Samples per time of the small MS: 21 baselines × 16 channels × 2 pols. */
const PER_T = 21 * 16 * 2;

describe('dsa110 flag --strategy default on simulated groups with RFI', () => {
  it('flags ≥ 95 % of RFI samples ≥ 5σ and ≤ 1 % of clean cross-correlation samples; updates the registry', async () => {
    const r = dsa110(['--db', rfiDb, 'flag', '--strategy', 'default', ...rfiMs]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(rfiMs);
    const sigma = truth.noiseSigmaJy;
    const edges = [3, 5, 10, 30, 100, Infinity];
    const hit = new Float64Array(edges.length), tot = new Float64Array(edges.length);
    let clean = 0, cleanFlagged = 0, ge5 = 0, ge5Flagged = 0;
    for (let g = 0; g < rfiMs.length; g++) {
      const { flags, meta: m } = await readFlags(rfiMs[g]!);
      // stored channel k (descending frequency) → MS channel (ascending) by frequency
      const nK = truth.channelFreqsHz.length;
      expect(m.nChan).toBe(nK);
      const kToC = truth.channelFreqsHz.map((f) => {
        let best = 0;
        for (let c = 1; c < m.nChan; c++) if (Math.abs(m.freq[c]! - f) < Math.abs(m.freq[best]! - f)) best = c;
        expect(Math.abs(m.freq[best]! - f)).toBeLessThan(1000);
        return best;
      });
      const amp = new Float64Array(m.nTimes * m.nChan);
      for (const ev of truth.groups[g]!.rfi) for (const t of ev.times) {
        for (const k of ev.channels === 'all' ? kToC.keys() : ev.channels) amp[t * m.nChan + kToC[k]!]! += ev.amplitudeJy;
      }
      for (let t = 0; t < m.nTimes; t++) for (let b = 0; b < m.nBaselines; b++) {
        if (m.ant1[b] === m.ant2[b]) continue;
        for (let c = 0; c < m.nChan; c++) {
          const a = amp[t * m.nChan + c]! / sigma;
          for (let p = 0; p < m.nPol; p++) {
            const f = flags[((t * m.nBaselines + b) * m.nChan + c) * m.nPol + p]!;
            if (a === 0) { clean++; cleanFlagged += f; continue; }
            const i = edges.findIndex((e) => a < e);
            tot[i]++; hit[i] += f;
            if (a >= 5) { ge5++; ge5Flagged += f; }
          }
        }
      }
    }
    const recall = ge5Flagged / ge5, fpr = cleanFlagged / clean;
    console.log('flag --strategy default, recall by strength (σ per real/imag part): ' +
      edges.map((e, i) => `[${i ? edges[i - 1] : 0},${e}) ${tot[i] ? (100 * hit[i]! / tot[i]!).toFixed(1) + '% of ' + tot[i] : '-'}`).join(', ') +
      ` | ≥5σ ${(100 * recall).toFixed(2)}% | FPR ${(100 * fpr).toFixed(3)}% of ${clean} clean samples`);
    expect(ge5).toBeGreaterThan(10_000);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    expect(fpr).toBeLessThanOrEqual(0.01);
    // ms_index.flag_fraction = the flagged fraction of FLAG (all samples)
    const db = new Database(rfiDb, { readonly: true });
    for (const p of rfiMs) {
      const row = db.prepare('SELECT flag_fraction, status FROM ms_index WHERE path = ?').get(p) as { flag_fraction: number; status: string };
      const { flags } = await readFlags(p);
      expect(row.flag_fraction).toBeCloseTo(count(flags) / flags.length, 9);
      expect(row.status).toBe('flagged');
    }
    db.close();
    // re-running is safe: the flags only grow by what is found again (nothing new on the same data)
    const again = dsa110(['--db', rfiDb, 'flag', '--strategy', 'default', '--json', rfiMs[0]!]);
    expect(again.code, again.stderr).toBe(0);
    const j = JSON.parse(again.stdout) as { flagged_before: number; flagged: number };
    expect(j.flagged).toBeGreaterThanOrEqual(j.flagged_before);
    expect(j.flagged - j.flagged_before).toBeLessThan(0.002);
  }, 90_000);
});

describe.concurrent('dsa110 flag manual modes (exact counts on 4 × 21 × 16 × 2)', () => {
  async function run(args: string[]): Promise<{ flags: Uint8Array; data: Float32Array; meta: Awaited<ReturnType<typeof readFlags>>['meta']; p: string }> {
    const p = freshSmall();
    const r = await dsa110Async(['--db', path.join(path.dirname(p), 'db.sqlite3'), 'flag', ...args, p]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(p);
    return { ...(await readFlags(p)), p };
  }

  it('--antennas by name flags the 6 baselines of that antenna (its auto included)', async () => {
    const ms = await openMs(smallMs);
    const name = ms.meta.antennaNames[2]!;
    const { flags, meta: m } = await run(['--antennas', name]);
    expect(count(flags)).toBe(6 * 16 * 2 * 4);
    for (let t = 0; t < 4; t++) for (let b = 0; b < 21; b++) {
      const want = m.ant1[b] === 2 || m.ant2[b] === 2 ? 1 : 0;
      expect(flags[(t * 21 + b) * 32]).toBe(want);
    }
  });

  it('--channels A~B,C flags those channels on every baseline; with --antennas the intersection', async () => {
    let { flags } = await run(['--channels', '2~4,10']);
    expect(count(flags)).toBe(21 * 4 * 2 * 4);
    for (const c of [2, 3, 4, 10]) expect(flags[(3 * 21 + 7) * 32 + c * 2 + 1]).toBe(1);
    expect(flags[(3 * 21 + 7) * 32 + 5 * 2]).toBe(0);
    ({ flags } = await run(['--antennas', '0', '--channels', '2~4']));
    expect(count(flags)).toBe(6 * 3 * 2 * 4);
  });

  it('--times flags the integrations overlapping the UTC range; --quack the first seconds', async () => {
    const ms = await openMs(smallMs);
    const iso = (mjdSec: number): string => new Date((mjdSec - 40587 * 86400) * 1000).toISOString();
    const tm = ms.meta.time;
    let { flags } = await run(['--times', `${iso(tm[1]!)}~${iso(tm[2]!)}`]);
    expect(count(flags)).toBe(2 * PER_T);
    expect(count(flags.subarray(PER_T, 3 * PER_T))).toBe(2 * PER_T);
    ({ flags } = await run(['--quack', '10']));
    expect(count(flags)).toBe(PER_T);
    expect(count(flags.subarray(0, PER_T))).toBe(PER_T);
    // 13 s > one 12.885 s integration: the first two
    ({ flags } = await run(['--quack', '13']));
    expect(count(flags)).toBe(2 * PER_T);
  });

  it('--clip flags amplitudes outside [MIN, MAX], counted independently from DATA', async () => {
    const { flags, data } = await run(['--clip', '0.5,2']);
    let want = 0;
    for (let i = 0; i < flags.length; i++) {
      const a = Math.hypot(data[2 * i]!, data[2 * i + 1]!);
      const out = a < 0.5 || a > 2 ? 1 : 0;
      want += out;
      expect(flags[i], `sample ${i} amplitude ${a}`).toBe(out);
    }
    expect(want).toBeGreaterThan(100);
  });

  it('--autocorr flags the 6 autocorrelations; --reset unflags everything', async () => {
    const { flags, meta: m, p } = await run(['--autocorr']);
    expect(count(flags)).toBe(6 * 16 * 2 * 4);
    for (let b = 0; b < 21; b++) expect(flags[b * 32]).toBe(m.ant1[b] === m.ant2[b] ? 1 : 0);
    const r = await dsa110Async(['--db', path.join(path.dirname(p), 'db.sqlite3'), 'flag', '--reset', p]);
    expect(r.code, r.stderr).toBe(0);
    expect(count((await readFlags(p)).flags)).toBe(0);
    // order matters: autocorr after reset leaves the autos
    expect(count((await run(['--reset', '--autocorr'])).flags)).toBe(6 * 16 * 2 * 4);
  });

  it('--dead-antennas flags every baseline of antennas already flagged above the fraction', async () => {
    // antenna 3, channels 0~9 → its cross fraction 10/16 = 0.625; the others' 0.625/5 = 0.125
    const { flags } = await run(['--antennas', '3', '--channels', '0~9', '--dead-antennas', '0.5']);
    expect(count(flags)).toBe(6 * 16 * 2 * 4);
    expect(count((await run(['--antennas', '3', '--channels', '0~9', '--dead-antennas', '0.7'])).flags)).toBe(6 * 10 * 2 * 4);
  });

  it('--mad-clip flags cross amplitudes above median + N·1.4826·MAD per baseline and pol', async () => {
    const { flags, data, meta: m } = await run(['--mad-clip', '2']);
    const median = (v: number[]): number => { const s = [...v].sort((a, b) => a - b); const h = s.length >> 1; return s.length & 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2; };
    let want = 0;
    for (let b = 0; b < 21; b++) for (let p = 0; p < 2; p++) {
      const idx: number[] = [];
      for (let t = 0; t < 4; t++) for (let c = 0; c < 16; c++) idx.push(((t * 21 + b) * 16 + c) * 2 + p);
      if (m.ant1[b] === m.ant2[b]) { for (const i of idx) expect(flags[i]).toBe(0); continue; }
      const a = idx.map((i) => Math.hypot(data[2 * i]!, data[2 * i + 1]!));
      const med = median(a);
      const lim = med + 2 * 1.482602218505602 * median(a.map((x) => Math.abs(x - med)));
      idx.forEach((i, k) => { const f = a[k]! > lim ? 1 : 0; want += f; expect(flags[i]).toBe(f); });
    }
    expect(want).toBeGreaterThan(50);
  });

  it('--extend copies flags across polarisations and grows (time, channel)s flagged on > --grow of the baselines', async () => {
    // clip flags the two polarisations independently; extend makes them agree
    const { flags, data } = await run(['--clip', '0,1.8', '--extend', '--grow', '1']);
    let want = 0;
    for (let i = 0; i < flags.length; i += 2) {
      const out = Math.hypot(data[2 * i]!, data[2 * i + 1]!) > 1.8 || Math.hypot(data[2 * i + 2]!, data[2 * i + 3]!) > 1.8 ? 1 : 0;
      want += 2 * out;
      expect(flags[i]).toBe(out);
      expect(flags[i + 1]).toBe(out);
    }
    expect(count(flags)).toBe(want);
    // channels 0~5 on antennas 0, 1, 2: 12 of 15 cross baselines (> 0.5) → all 21 baselines
    const g = await run(['--antennas', '0,1,2', '--channels', '0~5', '--extend']);
    expect(count(g.flags)).toBe(21 * 6 * 2 * 4);
    // antenna 0 only: 5 of 15 cross baselines → not grown
    expect(count((await run(['--antennas', '0', '--channels', '0~5', '--extend'])).flags)).toBe(6 * 6 * 2 * 4);
  });

  it('--summary alone changes nothing and reports the fractions', async () => {
    const p = freshSmall();
    const before = statSync(path.join(p, 'FLAG')).mtimeMs;
    const listing = readdirSync(p).sort();
    const r = await dsa110Async(['--db', path.join(path.dirname(p), 'db.sqlite3'), 'flag', '--summary', '--json', p]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { path: string; flagged: number; summary: { total: number; byChannel: number[] } };
    expect(j.path).toBe(p);
    expect(j.flagged).toBe(0);
    expect(j.summary.byChannel).toHaveLength(16);
    expect(readdirSync(p).sort()).toEqual(listing);
    expect(statSync(path.join(p, 'FLAG')).mtimeMs).toBe(before);
    // after --autocorr the summary reports 6/21 of the samples
    await dsa110Async(['--db', path.join(path.dirname(p), 'db.sqlite3'), 'flag', '--autocorr', p]);
    const s = JSON.parse((await dsa110Async(['flag', '--summary', '--json', p])).stdout) as { summary: { total: number } };
    expect(s.summary.total).toBeCloseTo(6 / 21, 12);
  });
});

describe('dsa110 flag: bad input and bad options', () => {
  it('not a dsa110 MS, or an MS without FLAG → exit 1, nothing changed; the other inputs are done (exit 3)', async () => {
    const d = tmpDir('dsa110-flag-bad-');
    const notMs = path.join(d, 'junk.ms.zarr');
    mkdirSync(notMs);
    writeFileSync(path.join(notMs, 'hello.txt'), 'not an MS');
    let r = dsa110(['flag', '--strategy', 'default', notMs]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(notMs);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(readdirSync(notMs)).toEqual(['hello.txt']);

    const p = freshSmall();
    rmSync(path.join(p, 'FLAG'), { recursive: true });
    const listing = readdirSync(p).sort();
    r = dsa110(['--db', path.join(d, 'db.sqlite3'), 'flag', '--autocorr', p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FLAG/);
    expect(readdirSync(p).sort()).toEqual(listing);

    const good = freshSmall();
    r = dsa110(['--db', path.join(d, 'db.sqlite3'), 'flag', '--autocorr', p, good]);
    expect(r.code).toBe(3);
    expect(r.stdout.trim()).toBe(good);
    expect(count((await readFlags(good)).flags)).toBe(6 * 16 * 2 * 4);
  });

  it('bad options → exit 2 with a message, nothing changed', async () => {
    const cases = [
      ['--strategy', 'aggressive'], ['--clip', '5,1'], ['--channels', '0~99'], ['--antennas', 'nosuch'],
      ['--rfi-iterations', '0'], ['--bogus'], [],
    ];
    await Promise.all(cases.map(async (args) => {
      const p = freshSmall();
      const before = statSync(path.join(p, 'FLAG')).mtimeMs;
      const r = await dsa110Async(['flag', ...args, p]);
      expect(r.code, `${JSON.stringify(args)}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().length).toBeGreaterThan(0);
      expect(statSync(path.join(p, 'FLAG')).mtimeMs).toBe(before);
    }));
  }, 60_000);
});

describe('dsa110 flag: a crash while FLAG is written leaves the previous FLAG intact', () => {
  it('SIGKILL mid-write (CLI): the previous FLAG reads back unchanged, the next run succeeds', async () => {
    const p = freshSmall();
    const db = path.join(path.dirname(p), 'db.sqlite3');
    expect(dsa110(['--db', db, 'flag', '--autocorr', p]).code).toBe(0);
    const before = (await readFlags(p)).flags;
    const child = spawn(process.execPath, [BIN, '--db', db, 'flag', '--reset', '--channels', '0~3', p], {
      env: { ...process.env, NO_COLOR: '1', DSA110_TEST_SLOW_WRITE_MS: '400' }, stdio: 'ignore',
    });
    // kill once the temporary sibling of FLAG exists (the write has started)
    const t0 = Date.now();
    while (!readdirSync(p).some((n) => n.startsWith('.FLAG.tmp-')) && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(p).some((n) => n.startsWith('.FLAG.tmp-'))).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(Array.from((await readFlags(p)).flags)).toEqual(Array.from(before));
    const r = dsa110(['--db', db, 'flag', '--reset', '--channels', '0~3', p]);
    expect(r.code, r.stderr).toBe(0);
    expect(count((await readFlags(p)).flags)).toBe(21 * 4 * 2 * 4);
  }, 60_000);

  it.each(['built', 'old-aside'] as const)('simulated crash at %s (library): reopening recovers the previous FLAG', async (step) => {
    const p = freshSmall();
    const ms = await openMs(p);
    const before = await ms.readTimes('FLAG', 0, ms.meta.nTimes);
    const ones = new Uint8Array(before.length / ms.meta.nTimes).fill(1);
    await expect(replaceColumn(ms, 'FLAG', () => ones, {
      failpoint: (s) => { if (s === step) throw new SimulatedCrash(s); },
    })).rejects.toBeInstanceOf(SimulatedCrash);
    expect(existsSync(path.join(p, 'FLAG'))).toBe(step === 'built');
    // what the next process does on open (this process is alive, so its own temporaries are
    // only recovered when asked to)
    await recoverAtomicDir(path.join(p, 'FLAG'), { includeOwnPid: true });
    const again = await openMs(p);
    expect(Array.from(await again.readTimes('FLAG', 0, again.meta.nTimes))).toEqual(Array.from(before));
  });
});
