/**
 * A small campaign through the CLI: 25 daily epochs of one field, 30 sources, a per-epoch
 * calibration gain drift of ±5 % and one source with a 30 % dip over six epochs.
 * measure → normalize → variability → lightcurve, checked against the injected truth.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dsa110, tmpDir } from '../helpers/cli.js';
import { Registry } from '../../src/registry/db.js';
import { rng } from './synth.js';
import { catalogCsv, fieldWcs, writeEpoch, type SynthSource } from './command-synth.js';

const E = 25, MJD0 = 60900.3, SIGMA = 1e-3, PB_FWHM = 200;
const DIP_START = 12, DIP_END = 17, DIP_DEPTH = 0.3;
const wcs = fieldWcs(210, 30);
const u = rng(77);

const names: string[] = [], xs: number[] = [], ys: number[] = [], flux: number[] = [], resolved: number[] = [];
for (let j = 0; j < 5; j++) {
  for (let i = 0; i < 6; i++) {
    const k = names.length;
    names.push(`S${k}`);
    xs.push(19 + 18 * i + (u() - 0.5));
    ys.push(22 + 21 * j + (u() - 0.5));
    flux.push(0.1 + 0.4 * u());
    resolved.push(k === 3 || k === 20 ? 1 : 0); // two resolved sources: never references
  }
}
const DIP = 7;
names[DIP] = 'DIP';
flux[DIP] = 0.6; // the brightest: selected as a reference, then dropped as variable
const gain = Array.from({ length: E }, () => 1 + 0.05 * (2 * u() - 1));
const truth = (s: number, e: number): number => (s === DIP && e >= DIP_START && e <= DIP_END ? (1 - DIP_DEPTH) * flux[s] : flux[s]);

let dir: string, db: string, catPath: string;
const images: string[] = [];
const run = (args: string[]) => dsa110(['photometry', ...args], { env: { PIPELINE_DB: db } });

function query<T>(sql: string, ...params: unknown[]): T[] {
  const reg = Registry.open(db, { create: false });
  try { return reg.db.prepare(sql).all(...params) as T[]; } finally { reg.close(); }
}

function fracRms(v: number[]): number {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) / m;
}

beforeAll(async () => {
  dir = tmpDir('dsa110-phot-campaign-');
  db = path.join(dir, 'registry.sqlite3');
  catPath = path.join(dir, 'catalog.csv');
  writeFileSync(catPath, catalogCsv(wcs, names.map((n, k) => ({ name: n, x: xs[k], y: ys[k], mjy: flux[k] * 1e3, snr: flux[k] / SIGMA, resolved: resolved[k] }))));
  for (let e = 0; e < E; e++) {
    const src: SynthSource[] = names.map((_, s) => ({ x: xs[s], y: ys[s], fluxJy: truth(s, e) }));
    images.push(await writeEpoch(dir, `epoch${String(e).padStart(2, '0')}`, { wcs, mjd: MJD0 + e, sources: src, gain: gain[e], sigma: SIGMA, seed: 1000 + e, pbFwhmPix: PB_FWHM }));
  }
  const m = run(['measure', '--catalog', catPath, '-q', ...images]);
  if (m.code !== 0) throw new Error(`measure failed: ${m.stderr}`);
}, 60000);

interface P { name: string; source_id: number; mjd: number; flux_jy: number; flux_err_jy: number; norm_flux_jy: number | null; norm_err_jy: number | null; image_path: string; snr: number; pb: number; local_rms_jy: number; flags: number }
const points = (): P[] => query<P>('SELECT s.name, p.* FROM photometry p JOIN sources s ON s.id = p.source_id ORDER BY s.name, p.mjd');

describe('campaign: measure → normalize → variability → lightcurve', () => {
  it('measure wrote one row per source per epoch', () => {
    expect(points().length).toBe(30 * E);
  });

  it('normalize removes the gain drift: stable sources scatter ≤ 2 % rms; the dipping reference is dropped', () => {
    const r = run(['normalize']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(images.slice().sort());
    expect(r.stderr).toMatch(/20 references \(19 kept; dropped as variable: DIP\)/);
    const pts = points();
    const raw: number[] = [], norm: number[] = [];
    for (let s = 0; s < names.length; s++) {
      if (s === DIP) continue;
      const lc = pts.filter((p) => p.name === names[s]);
      expect(lc.length).toBe(E);
      expect(lc.every((p) => p.norm_flux_jy !== null && p.norm_err_jy! > 0)).toBe(true);
      raw.push(fracRms(lc.map((p) => p.flux_jy)));
      norm.push(fracRms(lc.map((p) => p.norm_flux_jy!)));
    }
    const med = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1];
    expect(med(raw)).toBeGreaterThan(0.02); // the drift is there before
    expect(Math.max(...norm)).toBeLessThanOrEqual(0.02);
    expect(med(norm)).toBeLessThan(0.005);
    // the per-image factors track the injected gains up to one overall constant
    const f = query<{ image_path: string; norm_factor: number; norm_n_refs: number; norm_flag: number }>('SELECT image_path, norm_factor, norm_n_refs, norm_flag FROM photometry_images ORDER BY mjd');
    expect(f.length).toBe(E);
    const ratio = f.map((x, e) => x.norm_factor / gain[e]);
    expect(fracRms(ratio)).toBeLessThan(0.003);
    expect(f.every((x) => x.norm_flag === 0 && x.norm_n_refs >= 3)).toBe(true);
    const refs = query<{ name: string }>('SELECT name FROM sources WHERE is_reference = 1 ORDER BY id').map((x) => x.name);
    expect(refs.length).toBe(19);
    expect(refs).not.toContain('DIP');
    expect(refs).not.toContain('S3');
    expect(refs).not.toContain('S20');
  });

  it('variability --preset moderate lists exactly the dipping source, with its dip window', () => {
    const r = run(['variability', '--preset', 'moderate']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('DIP\n');
    expect(r.stderr).toMatch(/30 light curve\(s\) recomputed/);
    const c = query<{ name: string; start_mjd: number; end_mjd: number; depth: number; preset: string; n: number; sigma_dev: number; chi2_nu: number; eta: number }>(
      'SELECT s.name, c.* FROM ese_candidates c JOIN sources s ON s.id = c.source_id');
    expect(c.length).toBe(1);
    expect(c[0].name).toBe('DIP');
    expect(c[0].preset).toBe('moderate');
    expect(c[0].n).toBe(E);
    expect(c[0].start_mjd).toBeCloseTo(MJD0 + DIP_START, 6);
    expect(c[0].end_mjd).toBeCloseTo(MJD0 + DIP_END, 6);
    expect(Math.abs(c[0].depth - DIP_DEPTH)).toBeLessThan(0.02);
    // η = χ²_ν about the weighted mean (same quantity by two routes)
    expect(c[0].eta / c[0].chi2_nu).toBeCloseTo(1, 6);
    const v = query<{ name: string; n: number; normalized: number; v: number; chi2_nu: number }>('SELECT s.name, v.* FROM variability v JOIN sources s ON s.id = v.source_id');
    expect(v.length).toBe(30);
    expect(v.every((x) => x.n === E && x.normalized === 1)).toBe(true);
    const stable = v.filter((x) => x.name !== 'DIP');
    expect(Math.max(...stable.map((x) => x.v))).toBeLessThan(0.02);
  });

  it('variability is incremental and --json prints one object per candidate', () => {
    const again = run(['variability', '--json']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/\b0 light curve\(s\) recomputed/);
    const lines = again.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatchObject({ kind: 'ese_candidate', source: 'DIP', preset: 'moderate', n: E });
    const cons = run(['variability', '--preset', 'conservative']);
    expect(cons.stdout).toBe('DIP\n'); // judged on the stored figures: no recomputation needed
    expect(cons.stderr).toMatch(/\b0 light curve\(s\) recomputed/);
  });

  it('lightcurve CSV and JSON match the registry (by name, id and position)', () => {
    const reg = points().filter((p) => p.name === 'DIP');
    const csv = run(['lightcurve', 'DIP']);
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('mjd,flux_jy,flux_err_jy,norm_flux_jy,norm_err_jy,snr,local_rms_jy,pb,flags,image_path');
    expect(lines.length).toBe(E + 1);
    lines.slice(1).forEach((l, k) => {
      const c = l.split(',');
      expect(Number(c[0])).toBe(reg[k].mjd);
      expect(Number(c[1])).toBe(reg[k].flux_jy);
      expect(Number(c[2])).toBe(reg[k].flux_err_jy);
      expect(Number(c[3])).toBe(reg[k].norm_flux_jy);
      expect(Number(c[4])).toBe(reg[k].norm_err_jy);
      expect(c[9]).toBe(reg[k].image_path);
    });
    // the dip is in the normalised curve: epochs 12–17 about 30 % low
    const normed = reg.map((p) => p.norm_flux_jy!);
    const base = normed.filter((_, e) => e < DIP_START || e > DIP_END);
    const inDip = normed.filter((_, e) => e >= DIP_START && e <= DIP_END);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(inDip) / mean(base)).toBeCloseTo(1 - DIP_DEPTH, 2);

    const id = reg[0].source_id;
    const json = run(['lightcurve', String(id), '--format', 'json']);
    expect(json.code).toBe(0);
    const j = JSON.parse(json.stdout);
    expect(j.source.name).toBe('DIP');
    expect(j.ese_candidates.length).toBe(2); // moderate and conservative
    expect(j.points.length).toBe(E);
    j.points.forEach((p: Record<string, unknown>, k: number) => {
      expect(p.mjd).toBe(reg[k].mjd);
      expect(p.flux_jy).toBe(reg[k].flux_jy);
      expect(p.norm_flux_jy).toBe(reg[k].norm_flux_jy);
      expect(p.norm_err_jy).toBe(reg[k].norm_err_jy);
    });
    const [ra, dec] = wcs.pixelToWorldDeg(xs[DIP] + 0.2, ys[DIP]); // ~2" away
    const byPos = run(['lightcurve', '--ra', String(ra), '--dec', String(dec), '--radius', '5']);
    expect(byPos.code, byPos.stderr).toBe(0);
    expect(byPos.stdout).toBe(csv.stdout);
    const missing = run(['lightcurve', 'NO_SUCH_SOURCE']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no source with id or name 'NO_SUCH_SOURCE'/);
  });

  it('lightcurve --output x.png writes a valid PNG', () => {
    const out = path.join(dir, 'dip.png');
    const r = run(['lightcurve', 'DIP', '--output', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    const b = readFileSync(out);
    expect([...b.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(b.toString('latin1', 12, 16)).toBe('IHDR');
    expect(b.readUInt32BE(16)).toBe(800);
    expect(b.readUInt32BE(20)).toBe(500);
  });

  it('only sources with new photometry are recomputed; --full recomputes all', async () => {
    const sub = path.join(dir, 'three.csv');
    writeFileSync(sub, catalogCsv(wcs, [0, 1, 2].map((k) => ({ name: names[k], x: xs[k], y: ys[k], mjy: flux[k] * 1e3, snr: flux[k] / SIGMA }))));
    const img = await writeEpoch(dir, 'epoch25', { wcs, mjd: MJD0 + E, sources: names.map((_, s) => ({ x: xs[s], y: ys[s], fluxJy: flux[s] })), sigma: SIGMA, seed: 2000, pbFwhmPix: PB_FWHM });
    expect(run(['measure', img, '--catalog', sub, '-q']).code).toBe(0);
    const inc = run(['variability']);
    expect(inc.stderr).toMatch(/\b3 light curve\(s\) recomputed/);
    expect(inc.stdout).toBe('DIP\n');
    const full = run(['variability', '--full']);
    expect(full.stderr).toMatch(/\b30 light curve\(s\) recomputed/);
  });
});
