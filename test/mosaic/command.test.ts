/**
 * dsa110 mosaic plan / build / nightly through the CLI (run `npx tsc -p .` first), on synthetic
 * group images along a dec-55° drift strip with known sources, beams and noise.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dsa110, tmpDir } from '../helpers/cli.js';
import { Registry } from '../../src/registry/db.js';
import { upsertImage, getMosaic, mosaicMembers, type ImageRow } from '../../src/registry/products.js';
import { readFits, readFitsHeader } from '../../src/io/fits.js';
import { Wcs } from '../../src/astro/wcs.js';
import { planMosaicGrid } from '../../src/mosaic/grid.js';
import {
  writeGroup, SOURCES, N, CELL_DEG, DEC0, RA0, BEAM_DEG, FREQ_HZ, GROUP_RA_STEP_DEG, GROUP_DAYS, sep, D2R, type GroupFiles,
} from './command-synth.js';

// 2025-10-02T10:00:00 UTC = MJD 60950.41666…
const DAY = '2025-10-02';
const T0 = 60950 + 10 / 24;
/** Noise (Jy/beam) of the 7 strip groups and of the outlier (index 7). */
const SIGMAS = [2.0e-3, 2.2e-3, 1.8e-3, 2.1e-3, 1.9e-3, 2.0e-3, 2.3e-3, 20e-3];

const dir = tmpDir('dsa110-mosaic-cmd-');
const db = path.join(dir, 'reg.sqlite3');
const out = path.join(dir, 'mosaics');
const groups: GroupFiles[] = [];
const ids: number[] = [];
let decoyIds: number[] = [];
let quickIds: number[] = [];

function run(args: string[]) {
  return dsa110(['--db', db, ...args]);
}

function register(reg: Registry, g: { path: string; pb: string | null; mjd: number; ra: number; dec: number; noise: number | null; beam?: number }): ImageRow {
  return upsertImage(reg, {
    path: g.path, ms_path: null, group_id: null, mid_mjd: g.mjd, ra_deg: g.ra, dec_deg: g.dec, nx: N, ny: N, cell_arcsec: CELL_DEG * 3600,
    freq_hz: FREQ_HZ, bandwidth_hz: 187.5e6, noise_jy: g.noise, peak_jy: null, dynamic_range: null,
    bmaj_deg: g.beam ?? BEAM_DEG, bmin_deg: g.beam ?? BEAM_DEG, bpa_deg: 0, pb_path: g.pb,
  });
}

beforeAll(async () => {
  const reg = Registry.open(db);
  try {
    // 8 consecutive groups: centres step 309 s of sidereal drift in RA; #7 is a noise outlier.
    for (let k = 0; k < 8; k++) {
      const ra = RA0 + k * GROUP_RA_STEP_DEG, mjd = T0 + k * GROUP_DAYS;
      const f = await writeGroup(dir, { name: `g${k}`, raDeg: ra, decDeg: DEC0, mjd, sigma: SIGMAS[k], seed: 100 + k });
      groups.push(f);
      ids.push(register(reg, { path: f.image, pb: f.pb, mjd, ra, dec: DEC0, noise: SIGMAS[k] }).id);
    }
    // Decoys (registry rows only): the day before, and another declination at the same times.
    decoyIds = [
      register(reg, { path: path.join(dir, 'early-image.fits'), pb: null, mjd: T0 - 1, ra: RA0, dec: DEC0, noise: 2e-3 }).id,
      register(reg, { path: path.join(dir, 'dec30-image.fits'), pb: null, mjd: T0 + 2 * GROUP_DAYS, ra: RA0 + 2, dec: 30, noise: 2e-3 }).id,
    ];
    // 12 images at dec 70 three days later (rows only) for the tier limit.
    for (let k = 0; k < 12; k++) {
      quickIds.push(register(reg, { path: path.join(dir, `q${k}-image.fits`), pb: null, mjd: T0 + 3 + k * GROUP_DAYS, ra: 200 + k, dec: 70, noise: 2e-3 + 1e-5 * k }).id);
    }
  } finally {
    reg.close();
  }
}, 30_000);

/** Integrated flux (aperture of radius 2.5 beams / beam area) and peak position (log-parabola) of a source. */
function measure(data: Float32Array, nx: number, ny: number, wcs: Wcs, s: { ra: number; dec: number }): { flux: number; ra: number; dec: number } {
  const [px, py] = wcs.worldToPixelDeg(s.ra, s.dec);
  const cx = Math.round(px), cy = Math.round(py);
  const bpx = BEAM_DEG / CELL_DEG;
  const r = 2.5 * bpx;
  let sum = 0;
  for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
    if ((x - px) ** 2 + (y - py) ** 2 > r * r) continue;
    const v = data[y * nx + x];
    if (!Number.isFinite(v)) return { flux: NaN, ra: NaN, dec: NaN };
    sum += v;
  }
  const beamArea = (Math.PI / (4 * Math.LN2)) * bpx * bpx;
  // Brightest pixel near the source, then a parabola through the logs of its neighbours.
  let bx = cx, by = cy;
  for (let y = cy - 2; y <= cy + 2; y++) for (let x = cx - 2; x <= cx + 2; x++) if (data[y * nx + x] > data[by * nx + bx]) { bx = x; by = y; }
  const L = (x: number, y: number): number => Math.log(data[y * nx + x]);
  const off = (a: number, c: number, b: number): number => (a - b) / (2 * (a - 2 * c + b));
  const fx = bx + off(L(bx - 1, by), L(bx, by), L(bx + 1, by));
  const fy = by + off(L(bx, by - 1), L(bx, by), L(bx, by + 1));
  const [ra, dec] = wcs.pixelToWorldDeg(fx, fy);
  return { flux: sum / beamArea, ra, dec };
}

describe('mosaic plan', () => {
  it('picks exactly the images in the time/dec window and drops the noise outlier', () => {
    const r = run(['mosaic', 'plan', '--name', 'strip', '--start', String(T0 - 60 / 86400), '--end', String(T0 + 7 * GROUP_DAYS + 60 / 86400), '--dec-min', '50', '--dec-max', '60']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('strip');
    expect(r.stderr).toMatch(/rejected 1 noise outlier/);
    expect(r.stderr).toContain('g7-image.fits');
    const reg = Registry.open(db);
    try {
      const row = getMosaic(reg, 'strip')!;
      expect(row.status).toBe('planned');
      expect(row.n_members).toBe(7);
      expect(mosaicMembers(reg, row.id).map((m) => m.id)).toEqual(ids.slice(0, 7));
    } finally {
      reg.close();
    }
  });

  it('without a dec range takes the other declination too; re-planning replaces a planned mosaic', () => {
    const r = run(['mosaic', 'plan', '--name', 'strip2', '--start', String(T0 - 0.01), '--end', String(T0 + 0.03), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.n_candidates).toBe(9);
    expect(j.n_outliers).toBe(1);
    const r2 = run(['mosaic', 'plan', '--name', 'strip2', '--start', String(T0 - 0.01), '--end', String(T0 + 0.03), '--dec-max', '40']);
    expect(r2.code, r2.stderr).toBe(0);
    const reg = Registry.open(db);
    try {
      const row = getMosaic(reg, 'strip2')!;
      expect(mosaicMembers(reg, row.id).map((m) => m.id)).toEqual([decoyIds[1]]);
      expect((reg.db.prepare('SELECT COUNT(*) n FROM mosaics WHERE name = ?').get('strip2') as { n: number }).n).toBe(1);
    } finally {
      reg.close();
    }
  });

  it('respects the tier limits: quicklook ≤ 10 images (the first 10 in time), science takes all 12', () => {
    const w = ['--start', String(T0 + 2.99), '--end', String(T0 + 3.1)];
    const q = run(['mosaic', 'plan', '--name', 'quick', '--tier', 'quicklook', ...w]);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stderr).toMatch(/at most 10 images; 2 later images/);
    const s = run(['mosaic', 'plan', '--name', 'sci', '--tier', 'science', ...w]);
    expect(s.code, s.stderr).toBe(0);
    const reg = Registry.open(db);
    try {
      expect(mosaicMembers(reg, getMosaic(reg, 'quick')!.id).map((m) => m.id)).toEqual(quickIds.slice(0, 10));
      expect(getMosaic(reg, 'sci')!.n_members).toBe(12);
    } finally {
      reg.close();
    }
  });

  it('bad options are usage errors (exit 2)', () => {
    expect(run(['mosaic', 'plan', '--name', 'x', '--start', '60950', '--end', '60949']).code).toBe(2);
    expect(run(['mosaic', 'plan', '--name', 'x', '--start', '60950', '--end', '60951', '--tier', 'huge']).code).toBe(2);
    expect(run(['mosaic', 'plan', '--name', 'a/b', '--start', '60950', '--end', '60951']).code).toBe(2);
  });
});

describe('mosaic build of the plan', () => {
  let img: Awaited<ReturnType<typeof readFits>>, noise: Awaited<ReturnType<typeof readFits>>, weight: Awaited<ReturnType<typeof readFits>>;
  let wcs: Wcs, nx: number, ny: number;

  beforeAll(async () => {
    const r = run(['mosaic', 'build', 'strip', '--output-dir', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(path.join(out, 'strip.fits'));
    img = await readFits(path.join(out, 'strip.fits'));
    noise = await readFits(path.join(out, 'strip-noise.fits'));
    weight = await readFits(path.join(out, 'strip-weight.fits'));
    wcs = Wcs.fromHeader(img.header);
    [nx, ny] = img.shape;
  }, 30_000);

  it('writes the grid as planned: SIN about the members, finest input cell, header as specified', () => {
    const h = img.header;
    const plan = planMosaicGrid(groups.slice(0, 7).map((g) => ({ wcs: g.wcs, nx: N, ny: N })));
    expect(plan.projection).toBe('SIN');
    expect(h.getString('CTYPE1')).toBe('RA---SIN');
    expect(h.getString('CTYPE2')).toBe('DEC--SIN');
    expect(h.getNumber('CDELT1')).toBeCloseTo(-CELL_DEG, 12);
    expect(h.getNumber('CDELT2')).toBeCloseTo(CELL_DEG, 12);
    expect([nx, ny]).toEqual([plan.nx, plan.ny]);
    expect(h.getNumber('CRPIX1')).toBeCloseTo(plan.wcs.params.crpix[0], 9);
    expect(h.getNumber('CRPIX2')).toBeCloseTo(plan.wcs.params.crpix[1], 9);
    // Independent: the reference is the mean direction (unit-vector mean) of the 7 footprint
    // centres, i.e. pixel (127.5, 127.5) of each 256² input — half a pixel from its pointing.
    let x = 0, y = 0, z = 0;
    for (let k = 0; k < 7; k++) {
      const [ra, dec] = groups[k].wcs.pixelToWorldDeg((N - 1) / 2, (N - 1) / 2);
      const a = ra * D2R, d = dec * D2R;
      x += Math.cos(d) * Math.cos(a); y += Math.cos(d) * Math.sin(a); z += Math.sin(d);
    }
    expect(h.getNumber('CRVAL1')).toBeCloseTo(Math.atan2(y, x) / D2R, 8);
    expect(h.getNumber('CRVAL2')).toBeCloseTo(Math.atan2(z, Math.hypot(x, y)) / D2R, 8);
    expect(h.getString('BUNIT')).toBe('JY/BEAM');
    expect(h.getNumber('BMAJ')).toBeCloseTo(BEAM_DEG, 12);
    expect(h.getNumber('MJD-OBS')).toBeCloseTo(T0 + 3 * GROUP_DAYS, 8);
    expect(h.getNumber('NMEMBER')).toBe(7);
    expect(h.getNumber('CRVAL3')).toBeCloseTo(FREQ_HZ, 0);
    const hist = h.history().join('\n');
    for (let k = 0; k < 7; k++) expect(hist).toContain(`g${k}-image.fits`);
    expect(hist).not.toContain('g7-image.fits');
  });

  it('recovers the sources within 3 % (where Σ wA² ≥ half its peak) and their positions within 0.1 beam', () => {
    const wpeak = img.header.getNumber('WPEAK')!;
    let tested = 0;
    for (const s of SOURCES) {
      const [px, py] = wcs.worldToPixelDeg(s.ra, s.dec);
      const w = weight.data[Math.round(py) * nx + Math.round(px)];
      if (!(w >= 0.5 * wpeak)) continue;
      tested++;
      const m = measure(img.data as Float32Array, nx, ny, wcs, s);
      if (process.env.MOSAIC_TEST_VERBOSE) console.log('source', s, 'w/peak', w / wpeak, 'flux ratio', m.flux / s.flux, 'offset″', (sep(m.ra, m.dec, s.ra, s.dec) / D2R) * 3600);
      expect(Math.abs(m.flux / s.flux - 1), `flux of ${s.ra},${s.dec}: ${m.flux}`).toBeLessThan(0.03);
      expect(sep(m.ra, m.dec, s.ra, s.dec) / D2R, `position of ${s.ra},${s.dec}`).toBeLessThan(0.1 * BEAM_DEG);
    }
    expect(tested).toBeGreaterThanOrEqual(4);
    // The source far off the strip (dec 56.4) is not in the half-weight region: the check above is selective.
    const [px, py] = wcs.worldToPixelDeg(150.3, 56.4);
    expect(weight.data[Math.round(py) * nx + Math.round(px)]).toBeLessThan(0.5 * wpeak);
  });

  it('the noise map matches the measured noise within 15 % in source-free regions', () => {
    const src = SOURCES.map((s) => wcs.worldToPixelDeg(s.ra, s.dec));
    const excl = (5 * BEAM_DEG) / CELL_DEG;
    const wpeak = img.header.getNumber('WPEAK')!;
    // Zones by summed weight: high (≥ 0.6 peak) and low (< 0.4 peak) — noise differs by > 20 % between them.
    const zones = [{ sumI2: 0, sumS2: 0, n: 0, z2: 0 }, { sumI2: 0, sumS2: 0, n: 0, z2: 0 }];
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
      const i = y * nx + x;
      const v = img.data[i], s = noise.data[i];
      if (!Number.isFinite(v)) continue;
      expect(Number.isFinite(s)).toBe(true);
      if (src.some(([sx, sy]) => (x - sx) ** 2 + (y - sy) ** 2 < excl * excl)) continue;
      const w = weight.data[i] / wpeak;
      const zn = w >= 0.6 ? zones[0] : w < 0.4 ? zones[1] : null;
      if (!zn) continue;
      zn.sumI2 += v * v; zn.sumS2 += s * s; zn.n++; zn.z2 += (v / s) ** 2;
    }
    for (const zn of zones) {
      if (process.env.MOSAIC_TEST_VERBOSE) console.log('zone', zn.n, Math.sqrt(zn.sumI2 / zn.sumS2), Math.sqrt(zn.z2 / zn.n), Math.sqrt(zn.sumS2 / zn.n));
      expect(zn.n).toBeGreaterThan(2000);
      const ratio = Math.sqrt(zn.sumI2 / zn.sumS2);
      expect(ratio).toBeGreaterThan(0.85);
      expect(ratio).toBeLessThan(1.15);
      expect(Math.sqrt(zn.z2 / zn.n)).toBeGreaterThan(0.85);
      expect(Math.sqrt(zn.z2 / zn.n)).toBeLessThan(1.15);
    }
    expect(Math.sqrt(zones[1].sumS2 / zones[1].n) / Math.sqrt(zones[0].sumS2 / zones[0].n)).toBeGreaterThan(1.2);
    // These inputs have flat noise, so the noise map from their local noise maps is (Σ wA²)^−½
    // to within the scatter of the local σ estimates (median a few %, more at image edges where the boxes are clamped); blanking at 0.2 × peak.
    let blankedAbove = 0, validBelow = 0;
    const dev: number[] = [];
    for (let i = 0; i < nx * ny; i++) {
      const w = weight.data[i];
      if (Number.isFinite(img.data[i])) {
        dev.push(Math.abs(noise.data[i] * Math.sqrt(w) - 1));
        if (w < 0.2 * wpeak * (1 - 1e-6)) validBelow++;
      } else if (w > 0.2 * wpeak * (1 + 1e-6)) blankedAbove++;
    }
    expect(blankedAbove).toBe(0);
    expect(validBelow).toBe(0);
    dev.sort((a, b) => a - b);
    expect(dev[Math.floor(0.5 * dev.length)]).toBeLessThan(0.05);
    expect(dev[Math.floor(0.99 * dev.length)]).toBeLessThan(0.2);
  });

  it('writes the PNG preview and the registry row (built, members, noise, coverage, centre) with stage metrics', () => {
    const png = readFileSync(path.join(out, 'strip.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(nx);
    expect(png.readUInt32BE(20)).toBe(ny);
    const reg = Registry.open(db);
    try {
      const row = getMosaic(reg, 'strip')!;
      expect(row.status).toBe('built');
      expect(row.path).toBe(path.join(out, 'strip.fits'));
      expect(row.built_at).not.toBeNull();
      expect(mosaicMembers(reg, row.id).map((m) => m.id)).toEqual(ids.slice(0, 7));
      // Noise: median of the valid noise map.
      const v = Array.from(noise.data).filter(Number.isFinite).sort((a, b) => a - b);
      const med = v.length % 2 ? v[(v.length - 1) / 2] : 0.5 * (v[v.length / 2 - 1] + v[v.length / 2]);
      expect(row.noise_jy!).toBeCloseTo(med, 7);
      // Coverage ≈ valid pixels × cell² (SIN pixels are within 0.3 % of cell² over this field).
      expect(row.coverage_deg2! / (v.length * CELL_DEG * CELL_DEG)).toBeGreaterThan(1);
      expect(row.coverage_deg2! / (v.length * CELL_DEG * CELL_DEG)).toBeLessThan(1.003);
      expect(Math.abs(row.dec_deg! - 55)).toBeLessThan(0.3);
      expect(row.ra_deg!).toBeGreaterThan(RA0 + 2.5 * GROUP_RA_STEP_DEG);
      expect(row.ra_deg!).toBeLessThan(RA0 + 3.5 * GROUP_RA_STEP_DEG);
      const w = reg.db.prepare(`SELECT weight FROM mosaic_members WHERE mosaic_id = ? AND image_id = ?`).get(row.id, ids[2]) as { weight: number };
      // w = 1/σ² with σ measured in the image's main lobe (pb ≥ 0.5): the registry's σ to a few %.
      expect(Math.abs(w.weight * SIGMAS[2] ** 2 - 1)).toBeLessThan(0.1);
      const st = reg.db.prepare(`SELECT COUNT(*) n FROM stage_metrics WHERE command = 'mosaic' AND product = ? AND ok = 1`).get(row.path) as { n: number };
      expect(st.n).toBeGreaterThanOrEqual(1);
    } finally {
      reg.close();
    }
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
    // A built mosaic is a product: re-planning its name is refused.
    const again = run(['mosaic', 'plan', '--name', 'strip', '--start', String(T0), '--end', String(T0 + 0.01)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already built/);
  });
});

describe('mosaic nightly and bad input', () => {
  it('nightly --date plans and builds nightly-YYYY-MM-DD; a day without images exits 0 quietly on stdout', async () => {
    const r = run(['mosaic', 'nightly', '--date', DAY, '--dec-min', '50', '--output-dir', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(path.join(out, `nightly-${DAY}.fits`));
    const reg = Registry.open(db);
    try {
      const row = getMosaic(reg, `nightly-${DAY}`)!;
      expect(row.status).toBe('built');
      expect(mosaicMembers(reg, row.id).map((m) => m.id)).toEqual(ids.slice(0, 7));
    } finally {
      reg.close();
    }
    const h = readFitsHeader(path.join(out, `nightly-${DAY}.fits`));
    expect(h.getNumber('NMEMBER')).toBe(7);
    const e = run(['mosaic', 'nightly', '--date', '2025-09-01', '--output-dir', out]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toBe('');
    expect(e.stderr).toMatch(/no images for 2025-09-01/);
    expect(run(['mosaic', 'nightly', '--date', '2025-13-01']).code).toBe(2);
  });

  it('building an empty plan exits 1 with a clear message and marks it failed', () => {
    expect(run(['mosaic', 'plan', '--name', 'empty', '--start', '50000', '--end', '50001']).code).toBe(0);
    const r = run(['mosaic', 'build', 'empty', '--output-dir', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/empty plan/);
    expect(r.stderr).not.toMatch(/at .*\.js/); // no stack trace
    expect(existsSync(path.join(out, 'empty.fits'))).toBe(false);
    const reg = Registry.open(db);
    try {
      const row = getMosaic(reg, 'empty')!;
      expect(row.status).toBe('failed');
      expect(row.error).toMatch(/empty plan/);
    } finally {
      reg.close();
    }
  });

  it('a missing pb file exits 1 naming it and writes nothing; --no-pb uses the Airy model', async () => {
    const d2 = tmpDir('dsa110-mosaic-nopb-');
    const copies = [0, 1, 2, 3].map((k) => {
      const p = path.join(d2, `c${k}-image.fits`);
      copyFileSync(groups[k].image, p);
      return p;
    });
    const o = path.join(d2, 'out', 'm.fits');
    const r = run(['mosaic', 'build', ...copies, '-o', o]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(path.join(d2, 'c0-pb.fits'));
    expect(r.stderr).toMatch(/primary-beam file not found/);
    expect(existsSync(path.join(d2, 'out')) ? readdirSync(path.join(d2, 'out')) : []).toEqual([]);

    const r2 = run(['mosaic', 'build', ...copies, '-o', o, '--no-pb']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout.trim()).toBe(o);
    const m = await readFits(o);
    const w = Wcs.fromHeader(m.header);
    expect(m.header.getString('PBMODEL')).toBe('AIRY');
    // Unregistered copies: σ from the images themselves (robust MAD), recorded in HISTORY.
    expect(m.header.history().join(' ')).toMatch(/estimated/);
    const s = SOURCES[1]; // (152.6, 54.6) lies well inside groups 0–3
    const got = measure(m.data as Float32Array, m.shape[0], m.shape[1], w, s);
    if (process.env.MOSAIC_TEST_VERBOSE) console.log('no-pb flux ratio', got.flux / s.flux);
    expect(Math.abs(got.flux / s.flux - 1)).toBeLessThan(0.03);
    const reg = Registry.open(db);
    try {
      const row = getMosaic(reg, 'm')!;
      expect(row.status).toBe('built');
      expect(row.n_members).toBe(4);
    } finally {
      reg.close();
    }
  });

  it('a build failing midway (truncated pb data) leaves no products and marks the mosaic failed with the error', () => {
    const d4 = tmpDir('dsa110-mosaic-fail-');
    const image = path.join(d4, 'bad-image.fits'), pb = path.join(d4, 'bad-pb.fits');
    copyFileSync(groups[0].image, image);
    writeFileSync(pb, readFileSync(groups[0].pb).subarray(0, 2880 * 4)); // header intact, data cut short
    const reg = Registry.open(db);
    try {
      const okImage = path.join(d4, 'ok-image.fits'), okPb = path.join(d4, 'ok-pb.fits');
      copyFileSync(groups[1].image, okImage);
      copyFileSync(groups[1].pb, okPb);
      register(reg, { path: okImage, pb: okPb, mjd: T0 + 5, ra: RA0, dec: DEC0, noise: 2e-3 });
      register(reg, { path: image, pb, mjd: T0 + 5 + GROUP_DAYS, ra: RA0, dec: DEC0, noise: 2e-3 });
    } finally {
      reg.close();
    }
    expect(run(['mosaic', 'plan', '--name', 'broken', '--start', String(T0 + 4.99), '--end', String(T0 + 5.01)]).code).toBe(0);
    const od = path.join(d4, 'out');
    const r = run(['mosaic', 'build', 'broken', '--output-dir', od]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(pb);
    if (process.env.MOSAIC_TEST_VERBOSE) console.log(r.stderr);
    expect(existsSync(od) ? readdirSync(od) : []).toEqual([]);
    const reg2 = Registry.open(db);
    try {
      const row = getMosaic(reg2, 'broken')!;
      expect(row.status).toBe('failed');
      expect(row.error).toContain(pb);
    } finally {
      reg2.close();
    }
  });

  it('differing beams: a warning and the largest beam in the header', async () => {
    const d3 = tmpDir('dsa110-mosaic-beam-');
    const wide = await writeGroup(d3, { name: 'wide', raDeg: RA0 + 3 * GROUP_RA_STEP_DEG, decDeg: DEC0, mjd: T0 + 3 * GROUP_DAYS, sigma: 2e-3, seed: 7, beamDeg: 360 / 3600 });
    const o = path.join(d3, 'beams.fits');
    const r = run(['mosaic', 'build', groups[2].image, wide.image, '-o', o]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/restoring beams differ/);
    const h = readFitsHeader(o);
    expect(h.getNumber('BMAJ')).toBeCloseTo(360 / 3600, 12);
    expect(h.getNumber('BMIN')).toBeCloseTo(360 / 3600, 12);
  });
});
