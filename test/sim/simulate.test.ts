/**
 * Simulator: file layout as the DSA-110 correlator writes it, and visibilities checked against
 * an independent plain float64 evaluation of V = S(ν)·A(θ,ν)·exp(+2πi ν/c · b·(s − s0)).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { simulateGroups, gainAt, builtinCalibratorLookup, pbFlux } from '../../src/sim/index.js';
import { readUvh5Data, readUvh5Meta } from '../../src/io/uvh5.js';
import { loadStations } from '../../src/astro/antennas.js';
import { DSA110_SITE } from '../../src/astro/constants.js';
import { icrsToApparent } from '../../src/astro/frames.js';
import { lastRad } from '../../src/astro/time.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const DEG = Math.PI / 180;
const C = 299792458;

/** (2 J1(x)/x)² by direct numerical integration of J1 (independent of src/astro/beam.ts). */
function airyIndependent(thetaRad: number, freqHz: number, D = 4.65): number {
  const x = (Math.PI * D * Math.sin(thetaRad) * freqHz) / C;
  if (x < 1e-8) return 1;
  // J1(x) = (1/π) ∫0^π cos(τ − x sin τ) dτ, Simpson with 2000 intervals
  const n = 2000;
  let s = 0;
  for (let k = 0; k <= n; k++) {
    const t = (Math.PI * k) / n;
    const w = k === 0 || k === n ? 1 : k % 2 ? 4 : 2;
    s += w * Math.cos(t - x * Math.sin(t));
  }
  const j1 = (s * (Math.PI / n)) / 3 / Math.PI;
  return ((2 * j1) / x) ** 2;
}

describe('simulateGroups', () => {
  it('one source, no gains, no noise: every visibility equals the plain formula to 1e-5', async () => {
    const out = path.join(tmp, 'one');
    const src = { name: 'A', raRad: 0, decRad: 0, fluxJy: 1.7, spectralIndex: -0.8, refFreqHz: 1.4e9 };
    // place the source 0.6° from the meridian point at the first mid-time
    const start = '2025-03-10T06:00:00';
    const decPoint = 45;
    const res0 = await simulateGroups({ outDir: path.join(tmp, 'probe'), antennas: 2, subbands: 1, channelsPerSubband: 1, integrations: 1, start, dec: decPoint, nsrc: 1, gains: false, noiseJy: 0, seed: 1 });
    const truth0 = JSON.parse(fs.readFileSync(res0.truthPath, 'utf8'));
    src.raRad = (truth0.groups[0].phaseCenterIcrsDeg.ra + 0.4) * DEG;
    src.decRad = (truth0.groups[0].phaseCenterIcrsDeg.dec - 0.3) * DEG;

    const res = await simulateGroups({ outDir: out, antennas: 6, subbands: 2, channelsPerSubband: 8, integrations: 3, start, dec: decPoint, sources: [src], gains: false, noiseJy: 0, seed: 2 });
    expect(res.files.length).toBe(2);
    const st = loadStations();
    const site = DSA110_SITE;
    let maxRel = 0;
    let checked = 0;
    for (const f of res.files) {
      const d = await readUvh5Data(f);
      const m = d.meta;
      const decP = m.phaseCenterDecApp as number;
      expect(decP).toBeCloseTo(decPoint * DEG, 12);
      for (let k = 0; k < m.nBlts; k++) {
        const jd = m.times[k];
        const [ra, dec] = icrsToApparent(src.raRad, src.decRad, jd, site);
        const H = lastRad(jd, site.lonRad) - site.lonRad - ra; // Greenwich hour angle
        const s = [Math.cos(dec) * Math.cos(H), -Math.cos(dec) * Math.sin(H), Math.sin(dec)];
        const H0 = -site.lonRad;
        const s0 = [Math.cos(decP) * Math.cos(H0), -Math.cos(decP) * Math.sin(H0), Math.sin(decP)];
        const a1 = m.ant1[k];
        const a2 = m.ant2[k];
        const b = [0, 1, 2].map((i) => st.ecef[3 * a2 + i] - st.ecef[3 * a1 + i]);
        const delay = (b[0] * (s[0] - s0[0]) + b[1] * (s[1] - s0[1]) + b[2] * (s[2] - s0[2])) / C;
        const theta = Math.acos(s[0] * s0[0] + s[1] * s0[1] + s[2] * s0[2]);
        for (let c = 0; c < m.nFreqs; c++) {
          const nu = m.freqs[c];
          const amp = 1.7 * (nu / 1.4e9) ** -0.8 * airyIndependent(theta, nu);
          const ph = 2 * Math.PI * nu * delay;
          for (let p = 0; p < 2; p++) {
            const o = (k * m.nFreqs + c) * 2 + p;
            const vr = d.vis[2 * o];
            const vi = d.vis[2 * o + 1];
            const er = amp * Math.cos(ph);
            const ei = a1 === a2 ? 0 : amp * Math.sin(ph);
            maxRel = Math.max(maxRel, Math.hypot(vr - er, vi - ei) / amp);
            checked++;
          }
        }
      }
      // stored uvw = meridian projection of x(ant2) − x(ant1): w = b·s0
      const k = 7;
      const b = [0, 1, 2].map((i) => st.ecef[3 * m.ant2[k] + i] - st.ecef[3 * m.ant1[k] + i]);
      const H0 = -site.lonRad;
      const s0 = [Math.cos(decP) * Math.cos(H0), -Math.cos(decP) * Math.sin(H0), Math.sin(decP)];
      expect(m.uvw[3 * k + 2]).toBeCloseTo(b[0] * s0[0] + b[1] * s0[1] + b[2] * s0[2], 6);
    }
    expect(checked).toBe(2 * 21 * 3 * 8 * 2);
    expect(maxRel).toBeLessThan(1e-5);
  });

  it('writes groups like the correlator: names, sb00 highest, descending channels, time-major baselines, 309 s groups', async () => {
    const out = path.join(tmp, 'layout');
    const res = await simulateGroups({ outDir: out, antennas: 4, subbands: 3, channelsPerSubband: 4, integrations: 24, groups: 2, start: '2025-10-02T00:12:00', nsrc: 2, noiseJy: 0.05, rfi: true, jitter: 20, seed: 9 });
    expect(res.files.length).toBe(6);
    expect(res.groups.map((g) => g.groupId)).toEqual(['2025-10-02T00:12:00', '2025-10-02T00:17:09']);
    for (const f of res.files) expect(path.basename(f)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d_sb0[0-2]\.hdf5$/);
    const metas = await Promise.all(res.groups[0].files.map((f) => readUvh5Meta(f)));
    // sb00 holds the highest frequencies; channels descend inside each file and across files
    const all = metas.flatMap((m) => Array.from(m.freqs));
    for (let i = 1; i < all.length; i++) expect(all[i - 1] - all[i]).toBeCloseTo(244140.625, 3);
    expect(all[0]).toBe(1498.75e6);
    const m = metas[0];
    expect([m.nBls, m.nTimes, m.nBlts, m.nAnts, m.nAntsData]).toEqual([10, 24, 240, 117, 4]);
    expect((m.uniqueTimes[1] - m.uniqueTimes[0]) * 86400).toBeCloseTo(12.884901888, 4); // JD float64 resolution ~ 4 µs
    for (let k = 0; k < m.nBlts; k++) {
      expect(m.times[k]).toBe(m.uniqueTimes[Math.floor(k / 10)]);
      expect(m.ant1[k]).toBeLessThanOrEqual(m.ant2[k]);
    }
    expect(Array.from(m.ant1.subarray(0, 10))).toEqual([0, 0, 0, 0, 1, 1, 1, 2, 2, 3]);
    expect(Array.from(m.ant2.subarray(0, 10))).toEqual([0, 1, 2, 3, 1, 2, 3, 2, 3, 3]);
    expect(m.uvw.subarray(0, 30)).toEqual(m.uvw.subarray(30, 60)); // constant in time
    // filename timestamps jitter by at most ±20 s around the group start
    const t0 = Date.parse('2025-10-02T00:12:00Z');
    for (const f of res.groups[0].files) {
      const t = Date.parse(path.basename(f).slice(0, 19) + 'Z');
      expect(Math.abs(t - t0)).toBeLessThanOrEqual(20_000);
    }
    const truth = JSON.parse(fs.readFileSync(res.truthPath, 'utf8'));
    expect(truth.groups.length).toBe(2);
    expect(truth.groups[0].rfi.length).toBeGreaterThan(0);
    expect(truth.sources.length).toBe(2);
    expect(truth.channelFreqsHz.length).toBe(12);
  });

  it('calibrator transits mid-group; gains follow the published formula; same seed → same bytes', async () => {
    const opts = { antennas: 3, subbands: 1, channelsPerSubband: 2, integrations: 4, calibrator: '3C286', noiseJy: 0, seed: 4 };
    const r1 = await simulateGroups({ ...opts, outDir: path.join(tmp, 'cal1') });
    const r2 = await simulateGroups({ ...opts, outDir: path.join(tmp, 'cal2') });
    expect(fs.readFileSync(r1.files[0]).equals(fs.readFileSync(r2.files[0]))).toBe(true);
    const truth = JSON.parse(fs.readFileSync(r1.truthPath, 'utf8'));
    // phase centre of the group (meridian at mid-time) is within 0.05° of 3C286
    const pc = truth.groups[0].phaseCenterIcrsDeg;
    const cal = builtinCalibratorLookup('3C286');
    expect(cal).toBeDefined();
    expect(Math.abs(pc.dec - (cal!.decRad / DEG))).toBeLessThan(0.05);
    expect(Math.abs(pc.ra - (cal!.raRad / DEG)) * Math.cos(cal!.decRad)).toBeLessThan(0.05);
    // PB2017 3C286 at 1.4 GHz ≈ 15.0 Jy (log10 S = 1.2481 − 0.4507x − 0.1798x² + 0.0357x³)
    expect(pbFlux(cal!.pbCoeffs!, 1.4e9)).toBeCloseTo(15.06, 1);
    // autocorrelation of antenna 0, XX: |g0|² · S(ν)·A(θ,ν), with θ ≈ 0 near transit → ≈ |g0|² S(ν)
    const d = await readUvh5Data(r1.files[0]);
    const g = truth.gains[0].XX;
    const nu = d.meta.freqs[0];
    const [gr, gi] = gainAt(g, nu);
    const auto = d.vis[0]; // blt 0 = (0,0), channel 0, XX
    const expected = (gr * gr + gi * gi) * pbFlux(cal!.pbCoeffs!, nu);
    expect(auto / expected).toBeGreaterThan(0.97);
    expect(auto / expected).toBeLessThanOrEqual(1.0000001);
  });
});

describe('Rng', () => {
  it('ziggurat normals have the moments and tails of N(0,1)', async () => {
    const { Rng } = await import('../../src/sim/random.js');
    const r = new Rng(123, 'moments');
    const n = 2_000_000;
    const x = new Float64Array(n);
    r.fillNormal(x, 1);
    let m = 0;
    let v = 0;
    let k4 = 0;
    let over3 = 0;
    let over4 = 0;
    for (const a of x) {
      m += a;
      v += a * a;
      k4 += a ** 4;
      if (Math.abs(a) > 3) over3++;
      if (Math.abs(a) > 4) over4++;
    }
    m /= n;
    v /= n;
    k4 /= n;
    expect(Math.abs(m)).toBeLessThan(0.003);
    expect(Math.abs(v - 1)).toBeLessThan(0.005);
    expect(Math.abs(k4 - 3)).toBeLessThan(0.05);
    // P(|x|>3) = 2.6998e-3, P(|x|>4) = 6.334e-5 (standard normal tables)
    expect(over3 / n).toBeGreaterThan(2.55e-3);
    expect(over3 / n).toBeLessThan(2.85e-3);
    expect(over4 / n).toBeGreaterThan(4.5e-5);
    expect(over4 / n).toBeLessThan(8.5e-5);
  });
});
