#!/usr/bin/env node
// Summary of a demo run against the simulation's truth: groups converted, flag fraction,
// calibration quality, image noise, recovered fluxes (images and mosaic) and where things are.
// usage: demo-summary.mjs OUTDIR [SECONDS]  (also used by the end-to-end test with --json)
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const [out, secs] = args.filter((a) => a !== '--json');
const dist = path.resolve(here, '..', 'dist', 'src');
const { readFits } = await import(path.join(dist, 'io', 'fits.js'));
const { loadPhotometryImage } = await import(path.join(dist, 'photometry', 'pipeline.js'));
const { forcedPhotometry } = await import(path.join(dist, 'photometry', 'measure.js'));

const db = new Database(path.join(out, 'state', 'db', 'pipeline.sqlite3'), { readonly: true });
const truth = JSON.parse(readFileSync(path.join(out, 'incoming', 'truth.json'), 'utf8'));
const sky = JSON.parse(readFileSync(path.join(out, 'sources.json'), 'utf8'));
const median = (a) => { const s = a.filter(Number.isFinite).sort((x, y) => x - y); return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN; };

const groups = db.prepare(`SELECT state, COUNT(*) n FROM processing_queue GROUP BY state`).all();
const ms = db.prepare(`SELECT path, flag_fraction, cal_set, status FROM ms_index ORDER BY mid_mjd`).all();
const cal = db.prepare(`SELECT set_name, type, calibrator, snr_median, flagged_fraction, phase_rms_deg, n_antennas_good, status FROM caltables ORDER BY id`).all();
const images = db.prepare(`SELECT path, noise_jy, peak_jy, bmaj_deg, bmin_deg, freq_hz FROM images ORDER BY mid_mjd`).all();
const phot = db.prepare(`SELECT s.name, p.flux_jy, p.flux_err_jy, p.norm_flux_jy, p.snr, p.pb FROM photometry p JOIN sources s ON s.id = p.source_id`).all();
const mosaic = db.prepare(`SELECT name, path, noise_jy, coverage_deg2, n_members FROM mosaics WHERE status = 'built' ORDER BY id DESC LIMIT 1`).get();
const cands = db.prepare(`SELECT COUNT(*) n FROM ese_candidates`).get().n;
const varRows = db.prepare(`SELECT COUNT(*) n FROM variability`).get().n;

const freq = images.length ? median(images.map((i) => i.freq_hz)) : 1.405e9;
const intrinsic = new Map(sky.map((s) => [s.name, s.flux_jy * Math.pow(freq / 1.4e9, s.spectral_index)]));

// Per source: median pb-corrected flux over images where pb ≥ 0.5 and SNR ≥ 10.
const bySrc = new Map();
for (const r of phot) {
  if (!(r.pb >= 0.5) || !(r.snr >= 10)) continue;
  if (!bySrc.has(r.name)) bySrc.set(r.name, []);
  bySrc.get(r.name).push(r.flux_jy);
}
const imageRows = [...bySrc.entries()].map(([name, f]) => ({ name, n: f.length, flux: median(f), truth: intrinsic.get(name) })).filter((r) => r.truth !== undefined);

// Mosaic: forced photometry (the restoring beam as a matched filter, as for the images) at each
// source where Σ wA² is at least half its peak. The mosaic is already primary-beam corrected, so
// no pb here. (The brightest pixel is no flux estimator: it misses the peak by the pixel offset
// and by the bilinear reprojection, and picks noise up.)
const mosaicRows = [];
if (mosaic && existsSync(mosaic.path)) {
  const img = await loadPhotometryImage(mosaic.path, { usePb: false });
  const wimg = await readFits(mosaic.path.replace(/\.fits$/, '-weight.fits'));
  const { nx, ny } = img;
  let wmax = 0;
  for (const v of wimg.data) if (v > wmax) wmax = v;
  const inside = [];
  for (const s of sky) {
    const [x, y] = img.sky.worldToPixel(s.ra_deg, s.dec_deg);
    const x0 = Math.round(x), y0 = Math.round(y);
    if (!(x0 >= 0 && y0 >= 0 && x0 < nx && y0 < ny)) continue;
    if (!(wimg.data[y0 * nx + x0] >= 0.5 * wmax)) continue;
    inside.push({ s, x, y });
  }
  if (inside.length) {
    const fp = forcedPhotometry(img, Float64Array.from(inside, (r) => r.x), Float64Array.from(inside, (r) => r.y), { beam: img.beam, beamAt: img.beamAt, noiseCorrelation: 'beam' });
    inside.forEach((r, i) => mosaicRows.push({ name: r.s.name, flux: fp.flux[i], snr: fp.snr[i], truth: intrinsic.get(r.s.name) }));
  }
}

const ratioStats = (rows) => {
  const r = rows.map((x) => x.flux / x.truth).filter(Number.isFinite);
  return { n: r.length, medianRatio: median(r), worst: r.length ? Math.max(...r.map((x) => Math.abs(x - 1))) : NaN };
};
const summary = {
  seconds: secs ? Number(secs) : undefined,
  groups: Object.fromEntries(groups.map((g) => [g.state, g.n])),
  measurementSets: ms.length,
  flagFraction: median(ms.map((m) => m.flag_fraction)),
  calibrated: ms.filter((m) => m.cal_set).length,
  calibration: cal,
  images: images.map((i) => ({ path: i.path, noiseMJy: i.noise_jy * 1e3, peakJy: i.peak_jy, beamArcsec: [i.bmaj_deg * 3600, i.bmin_deg * 3600] })),
  imageFluxes: ratioStats(imageRows),
  imageFluxRows: imageRows,
  mosaic: mosaic ? { ...mosaic, fluxes: ratioStats(mosaicRows) } : null,
  mosaicFluxRows: mosaicRows,
  variabilityRows: varRows,
  eseCandidates: cands,
  truthNoiseJy: truth.noise?.sigmaJy ?? truth.noiseJy ?? null,
};
if (json) { console.log(JSON.stringify(summary)); process.exit(0); }

const pct = (x) => (Number.isFinite(x) ? (100 * x).toFixed(1) + ' %' : '—');
const line = (k, v) => console.log(`${k.padEnd(26)} ${v}`);
console.log('\nDSA-110 demo summary' + (secs ? ` (${secs} s)` : ''));
console.log('─'.repeat(72));
line('groups', Object.entries(summary.groups).map(([k, v]) => `${v} ${k}`).join(', '));
line('measurement sets', `${ms.length} (${summary.calibrated} calibrated) in ${path.join(out, 'ms')}`);
line('flagged (median)', pct(summary.flagFraction));
for (const c of cal) line(`caltable ${c.type} ${c.set_name}`, `${c.calibrator ?? ''} SNR ${c.snr_median?.toFixed(1) ?? '—'}, flagged ${pct(c.flagged_fraction)}, phase rms ${c.phase_rms_deg?.toFixed(2) ?? '—'}°, ${c.n_antennas_good ?? '—'} good antennas, ${c.status}`);
for (const i of summary.images) line(`image ${path.basename(i.path).slice(0, 19)}`, `noise ${i.noiseMJy.toFixed(2)} mJy, peak ${i.peakJy.toFixed(2)} Jy, beam ${i.beamArcsec[0].toFixed(1)}″×${i.beamArcsec[1].toFixed(1)}″`);
console.log('─'.repeat(72));
console.log('source       truth (Jy)   images (Jy)  ratio    mosaic (Jy)  ratio');
for (const s of sky) {
  const im = imageRows.find((r) => r.name === s.name);
  const mo = mosaicRows.find((r) => r.name === s.name);
  if (!im && !mo) continue;
  const t = intrinsic.get(s.name);
  console.log(`${s.name.padEnd(12)} ${t.toFixed(3).padStart(9)}   ${im ? im.flux.toFixed(3).padStart(9) : '        —'}   ${im ? (im.flux / t).toFixed(3) : '  —  '}   ${mo ? mo.flux.toFixed(3).padStart(9) : '        —'}   ${mo ? (mo.flux / t).toFixed(3) : '  —'}`);
}
console.log('─'.repeat(72));
line('image fluxes / truth', `median ${summary.imageFluxes.medianRatio.toFixed(3)}, worst |ratio−1| ${pct(summary.imageFluxes.worst)} over ${summary.imageFluxes.n} sources`);
if (summary.mosaic) line('mosaic fluxes / truth', `median ${summary.mosaic.fluxes.medianRatio.toFixed(3)}, worst ${pct(summary.mosaic.fluxes.worst)} over ${summary.mosaic.fluxes.n}; noise ${(summary.mosaic.noise_jy * 1e3).toFixed(2)} mJy; ${summary.mosaic.path}`);
line('variability', `${varRows} sources, ${cands} ESE candidates`);
line('images', path.join(out, 'images'));
line('light curves', path.join(out, 'lightcurves'));
