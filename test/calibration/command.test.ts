/**
 * dsa110 calibrate / apply end to end on simulated data (src/sim): a 3C286 transit group with
 * per-antenna gains, delays and bandpasses (truth.json), then a target group 5 minutes later with
 * the same gains. Truth for the corrected data: the same groups simulated without gains or noise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { gainAt } from '../../src/sim/index.js';
import { openMs } from '../../src/io/ms.js';
import { readCaltable, type BpCalTable, type GpCalTable, type KCalTable } from '../../src/io/caltables.js';
import { Registry } from '../../src/registry/db.js';
import { getMs } from '../../src/registry/products.js';
import { tmpDir } from '../helpers/cli.js';
import { run, simulateMs, type SimTruth } from './command-synth.js';

const SIM = { antennas: 24, subbands: 4, channelsPerSubband: 12, integrations: 16, groups: 2, calibrator: '3C286', start: '2025-06-01T00:00:00', seed: 11 };
const NOISE_JY = 1;
/** Worker threads even on this small MS, so the accuracy checks cover the parallel path. */
const PARALLEL = { DSA110_CAL_PARALLEL_MIN_VIS: '0' };

let dir: string;
let db: string;
let calMs: string, tgtMs: string, tgtTruthMs: string;
let truth: SimTruth;

beforeAll(async () => {
  dir = tmpDir('dsa110-cal-cmd-');
  db = path.join(dir, 'reg.sqlite3');
  const a = await simulateMs(path.join(dir, 'obs'), { ...SIM, gains: true, noiseJy: NOISE_JY });
  const b = await simulateMs(path.join(dir, 'sky'), { ...SIM, gains: false, noiseJy: 0 });
  [calMs, tgtMs] = a.ms;
  tgtTruthMs = b.ms[1];
  truth = a.truth;
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Truth gain of antenna (by name) at ν for pol p. */
function trueGain(name: string, p: number, nu: number): [number, number] {
  const g = truth.gains.find((x) => x.name === name)!;
  return gainAt(p === 0 ? g.XX : g.YY, nu, truth.gainRefFreqHz);
}

let tables: { k: KCalTable; bp: BpCalTable; g: GpCalTable };

describe('dsa110 calibrate on a simulated 3C286 transit', () => {
  it('writes K, BP and G tables, prints their paths and registers the set', async () => {
    const r = run(['--db', db, 'calibrate', '--calibrator', 'auto', '--gain-solint', '60s', '--plot', '--output-dir', path.join(dir, 'cal'), calMs], PARALLEL);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const prefix = path.join(dir, 'cal', `${path.basename(calMs, '.ms.zarr')}_3C286`);
    expect(lines.slice(0, 3)).toEqual([`${prefix}.kcal.zarr`, `${prefix}.bpcal.zarr`, `${prefix}.gpcal.zarr`]);
    // --plot: bandpass amplitude and phase, gains — real PNG files.
    expect(lines.slice(3).map((l) => path.basename(l).slice(path.basename(prefix).length))).toEqual(['.bpamp.png', '.bpphase.png', '.gains.png']);
    for (const l of lines.slice(3)) expect(readFileSync(l).subarray(1, 4).toString()).toBe('PNG');
    tables = {
      k: (await readCaltable(lines[0], 'kcal')) as KCalTable,
      bp: (await readCaltable(lines[1], 'bpcal')) as BpCalTable,
      g: (await readCaltable(lines[2], 'gpcal')) as GpCalTable,
    };
    expect(tables.k.calibrator).toBe('3C286');
    expect(tables.k.antennaNames.length).toBe(SIM.antennas);

    const reg = Registry.open(db);
    try {
      const rows = reg.db.prepare('SELECT * FROM caltables ORDER BY apply_order').all() as Record<string, unknown>[];
      expect(rows.map((x) => x.type)).toEqual(['K', 'BP', 'G']);
      expect(rows.map((x) => x.apply_order)).toEqual([0, 1, 2]);
      expect(new Set(rows.map((x) => x.set_name))).toEqual(new Set([path.basename(prefix)]));
      expect(rows.every((x) => x.status === 'active')).toBe(true);
      // Validity: ±12 h (K, BP) and ±30 min (G) around the transit, which is mid first group.
      const transit = truth.groups[0].midJd - 2400000.5;
      for (const x of rows) {
        const half = x.type === 'G' ? 30 / 1440 : 0.5;
        expect(Math.abs((x.valid_start_mjd as number) - (transit - half))).toBeLessThan(30 / 86400);
        expect(Math.abs((x.valid_end_mjd as number) - (transit + half))).toBeLessThan(30 / 86400);
        expect(x.n_antennas_good).toBe(SIM.antennas);
        expect(x.flagged_fraction).toBe(0);
        expect(x.snr_median as number).toBeGreaterThan(10);
      }
      // 60 s solutions on a 206 s group: 4 intervals, constant true gains → small phase scatter.
      expect(rows[2].phase_rms_deg as number).toBeLessThan(1);
    } finally {
      reg.close();
    }
    // `registry caltables active --mjd` finds the set 10 min after the transit.
    const mjd = truth.groups[0].midJd - 2400000.5 + 10 / 1440;
    const act = run(['--db', db, 'registry', 'caltables', 'active', '--mjd', String(mjd)]);
    expect(act.code, act.stderr).toBe(0);
    expect(act.stdout).toContain(path.basename(prefix));
  }, 90_000);

  it('recovers delays (≤ 0.1 ns), bandpass (≤ 1 % rms) and K·BP·G (≤ 1 % amplitude, ≤ 1° phase rms) vs truth', () => {
    const { k, bp, g } = tables;
    const names = k.antennaNames;
    const ref = names.indexOf(k.refant);
    const nPol = 2;
    const nChan = bp.freq.length;
    let dMax = 0, ampSq = 0, phSq = 0, bpSq = 0, n = 0, nb = 0;
    for (let a = 0; a < names.length; a++) {
      for (let p = 0; p < nPol; p++) {
        // Simulator: phase + 2π·delay·(ν − ν0); library: K = exp(−2πi ν τ) ⇒ τ_a − τ_ref = −(delay_a − delay_ref).
        const ga = truth.gains.find((x) => x.name === names[a])!, gr = truth.gains.find((x) => x.name === names[ref])!;
        void ga; void gr;
        // On a narrow simulated band (11.7 MHz) the bandpass phase ripple has a linear part that
        // K absorbs: the delay to compare with is the least-squares slope of the true phase of
        // g_a conj(g_ref) across the band (unwrapped), not the simulator's `delay` alone.
        let sx = 0, sy = 0, sxx = 0, sxy = 0, prev = 0, unwrap = 0;
        for (let c = 0; c < nChan; c++) {
          const nu = bp.freq[c];
          const [tar, tai] = trueGain(names[a], p, nu);
          const [trr, tri] = trueGain(names[ref], p, nu);
          let ph = Math.atan2(tai * trr - tar * tri, tar * trr + tai * tri);
          if (c > 0) unwrap += Math.round((prev - ph) / (2 * Math.PI)) * 2 * Math.PI;
          prev = ph;
          ph += unwrap;
          const x = (nu - bp.freq[0]) * 1e-9;
          sx += x; sy += ph; sxx += x * x; sxy += x * ph;
        }
        const slope = (nChan * sxy - sx * sy) / (nChan * sxx - sx * sx); // rad per GHz
        const dTrue = -slope / (2 * Math.PI); // K = exp(−2πiντ): phase slope −2πτ
        dMax = Math.max(dMax, Math.abs(k.delayNs[a * nPol + p] - dTrue));
        for (let s = 0; s < g.time.length; s++) {
          const o = (s * names.length + a) * nPol + p;
          const G = [g.gains[2 * o], g.gains[2 * o + 1]];
          for (let c = 0; c < nChan; c++) {
            const nu = bp.freq[c];
            const ph = -2 * Math.PI * nu * k.delayNs[a * nPol + p] * 1e-9;
            const q = (a * nChan + c) * nPol + p;
            const br = bp.gains[2 * q], bi = bp.gains[2 * q + 1];
            const kr = Math.cos(ph) * br - Math.sin(ph) * bi, ki = Math.cos(ph) * bi + Math.sin(ph) * br;
            const sr = kr * G[0] - ki * G[1], si = kr * G[1] + ki * G[0];
            const [tar, tai] = trueGain(names[a], p, nu);
            const [trr, tri] = trueGain(names[ref], p, nu);
            const ra = Math.hypot(trr, tri);
            const er = (tar * trr + tai * tri) / ra, ei = (tai * trr - tar * tri) / ra; // g_a conj(g_ref)/|g_ref|
            const amp = Math.hypot(sr, si) / Math.hypot(er, ei);
            const dph = Math.atan2(si * er - sr * ei, sr * er + si * ei);
            ampSq += (amp - 1) ** 2; phSq += dph ** 2; n++;
          }
        }
        // Bandpass check as K·BP against the truth normalised to unit mean amplitude (BP convention).
        const kb: [number, number][] = [], tr: [number, number][] = [];
        for (let c = 0; c < nChan; c++) {
          const nu = bp.freq[c];
          const ph = -2 * Math.PI * nu * k.delayNs[a * nPol + p] * 1e-9;
          const o = (a * nChan + c) * nPol + p;
          const br = bp.gains[2 * o], bi = bp.gains[2 * o + 1];
          const kr = Math.cos(ph) * br - Math.sin(ph) * bi, ki = Math.cos(ph) * bi + Math.sin(ph) * br;
          const [tar, tai] = trueGain(names[a], p, nu);
          const [trr, tri] = trueGain(names[ref], p, nu);
          const ra = Math.hypot(trr, tri);
          const er = (tar * trr + tai * tri) / ra, ei = (tai * trr - tar * tri) / ra; // g_a conj(g_ref)/|g_ref|
          kb.push([kr, ki]); tr.push([er, ei]);
        }
        const mk = kb.reduce((s, v) => s + Math.hypot(v[0], v[1]), 0) / nChan;
        const mt = tr.reduce((s, v) => s + Math.hypot(v[0], v[1]), 0) / nChan;
        // Constant phase offset between K·BP and truth is G's job: remove the mean phase.
        let cr = 0, ci = 0;
        for (let c = 0; c < nChan; c++) { cr += kb[c][0] * tr[c][0] + kb[c][1] * tr[c][1]; ci += kb[c][1] * tr[c][0] - kb[c][0] * tr[c][1]; }
        const off = Math.atan2(ci, cr);
        for (let c = 0; c < nChan; c++) {
          const x = [kb[c][0] / mk, kb[c][1] / mk], y = [tr[c][0] / mt, tr[c][1] / mt];
          const xr = x[0] * Math.cos(-off) - x[1] * Math.sin(-off), xi = x[0] * Math.sin(-off) + x[1] * Math.cos(-off);
          bpSq += (xr - y[0]) ** 2 + (xi - y[1]) ** 2; nb++;
        }
      }
    }
    const ampRms = Math.sqrt(ampSq / n), phRmsDeg = (Math.sqrt(phSq / n) * 180) / Math.PI, bpRms = Math.sqrt(bpSq / nb);
    console.log(`calibrate accuracy: delay max err ${dMax.toFixed(4)} ns, gain amp rms ${(100 * ampRms).toFixed(3)} %, phase rms ${phRmsDeg.toFixed(3)}°, bandpass rms ${(100 * bpRms).toFixed(3)} %`);
    expect(dMax).toBeLessThan(0.1);
    expect(ampRms).toBeLessThan(0.01);
    expect(phRmsDeg).toBeLessThan(1);
    expect(bpRms).toBeLessThan(0.01);
  });
});

describe('dsa110 apply to a later target group', () => {
  it('picks the registered set and CORRECTED_DATA matches the true sky within the noise', async () => {
    const r = run(['--db', db, 'apply', tgtMs], PARALLEL);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(tgtMs);
    const ms = await openMs(tgtMs);
    const sky = await openMs(tgtTruthMs);
    const m = ms.meta;
    const corr = await ms.readTimes('CORRECTED_DATA', 0, m.nTimes);
    const flag = await ms.readTimes('FLAG', 0, m.nTimes);
    const w = await ms.readTimes('WEIGHT_SPECTRUM', 0, m.nTimes);
    const w0 = await sky.readTimes('WEIGHT_SPECTRUM', 0, m.nTimes);
    const truthVis = await sky.readTimes('DATA', 0, m.nTimes);
    // True |g| per [ant, chan, pol] for the antennas with data.
    const nA = m.antennaNames.length;
    const gAbs = new Float64Array(nA * m.nChan * m.nPol).fill(NaN);
    for (const tg of truth.gains) {
      const a = m.antennaNames.indexOf(tg.name);
      for (let c = 0; c < m.nChan; c++) for (let p = 0; p < m.nPol; p++) {
        const [re, im] = gainAt(p ? tg.YY : tg.XX, m.freq[c], truth.gainRefFreqHz);
        gAbs[(a * m.nChan + c) * m.nPol + p] = Math.hypot(re, im);
      }
    }
    // Expected noise after correction: σ/|g_i g_j| with the true gains; normalised residuals should have rms 1.
    const cp = m.nChan * m.nPol;
    let s2 = 0, n = 0, wErr = 0, wSq = 0, nFlagged = 0;
    for (let t = 0; t < m.nTimes; t++) {
      for (let b = 0; b < m.nBaselines; b++) {
        const i = m.ant1[b], j = m.ant2[b];
        if (i === j) continue;
        for (let c = 0; c < m.nChan; c++) {
          for (let p = 0; p < m.nPol; p++) {
            const k = (t * m.nBaselines + b) * cp + c * m.nPol + p;
            nFlagged += flag[k];
            const gg = gAbs[(i * m.nChan + c) * m.nPol + p] * gAbs[(j * m.nChan + c) * m.nPol + p];
            const sigma = NOISE_JY / gg;
            s2 += ((corr[2 * k] - truthVis[2 * k]) ** 2 + (corr[2 * k + 1] - truthVis[2 * k + 1]) ** 2) / (2 * sigma * sigma);
            n++;
            // calwt: weight × |g_i g_j|² (solutions equal the truth up to a phase).
            const we = w[k] / (w0[k] * gg * gg) - 1;
            wErr = Math.max(wErr, Math.abs(we));
            wSq += we * we;
          }
        }
      }
    }
    const ratio = Math.sqrt(s2 / n);
    console.log(`apply: rms of (corrected − true sky) / expected noise = ${ratio.toFixed(4)} over ${n} visibilities; weight error rms ${(100 * Math.sqrt(wSq / n)).toFixed(2)} %, max ${(100 * wErr).toFixed(2)} %`);
    expect(nFlagged).toBe(0);
    expect(ratio).toBeLessThan(1.1);
    expect(ratio).toBeGreaterThan(0.9);
    // Weights follow the solved gains: errors of ~0.4 % per gain → ~1 % in |g_i g_j|².
    expect(Math.sqrt(wSq / n)).toBeLessThan(0.02);
    expect(wErr).toBeLessThan(0.1);

    const reg = Registry.open(db);
    try {
      const row = getMs(reg, path.resolve(tgtMs));
      expect(row?.status).toBe('calibrated');
      expect(row?.cal_set).toBe(`${path.basename(calMs, '.ms.zarr')}_3C286`);
    } finally {
      reg.close();
    }
    expect(ms.history().at(-1)?.command).toBe('apply');
  }, 60_000);

  it('re-running apply does not compound the weight scaling', async () => {
    const before = await (await openMs(tgtMs)).readTimes('WEIGHT_SPECTRUM', 0, 2);
    const r = run(['--db', db, 'apply', tgtMs]);
    expect(r.code, r.stderr).toBe(0);
    const after = await (await openMs(tgtMs)).readTimes('WEIGHT_SPECTRUM', 0, 2);
    let maxRel = 0;
    for (let k = 0; k < after.length; k++) if (before[k] > 0) maxRel = Math.max(maxRel, Math.abs(after[k] / before[k] - 1));
    expect(maxRel).toBeLessThan(1e-4);
  }, 60_000);
});

describe('calibrate after apply', () => {
  it('undoes the calwt of an earlier apply: the same solutions as on the untouched MS', async () => {
    const first = (await readCaltable(path.join(dir, 'cal', `${path.basename(calMs, '.ms.zarr')}_3C286.bpcal.zarr`), 'bpcal')) as BpCalTable;
    const a = run(['--db', db, 'apply', calMs]);
    expect(a.code, a.stderr).toBe(0);
    const r = run(['--db', db, 'calibrate', '--calibrator', '3C286', '--gain-solint', '60s', '--prefix', 'again', '--output-dir', path.join(dir, 'cal2'), calMs]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/scaled by an earlier apply/);
    const again = (await readCaltable(path.join(dir, 'cal2', 'again.bpcal.zarr'), 'bpcal')) as BpCalTable;
    let maxDiff = 0;
    for (let k = 0; k < first.gains.length; k++) maxDiff = Math.max(maxDiff, Math.abs(first.gains[k] - again.gains[k]));
    expect(maxDiff).toBeLessThan(1e-4);
    expect(again.snr[0]).toBeCloseTo(first.snr[0], 1);
  }, 60_000);
});
