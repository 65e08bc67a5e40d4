#!/usr/bin/env node
// Demo sky: sources along the drift strip after a 3C286 transit, written as the simulator's
// sources JSON and as the photometry catalogue CSV (same positions, fluxes in mJy at 1.4 GHz).
// Also writes OUTDIR/stations.csv: the core T of the array (DSA-001…103, baselines ≤ 0.5 km, no
// outriggers), each station moved by a seeded random offset of up to ±3 m east and north.
//  - Core only: a demo on 2 cores images at quick-look size (≤ 1024²). With the outriggers the
//    main lobe is ~12″ across, and a 1024² image that samples it (≥ 3 pixels) covers 1.2° of the
//    2.5° primary beam; with the core it is ~50″ × 95″ and 1024 × 12″ covers 3.5°.
//  - Jitter: the real arms are periodic (5.75 m E–W, 8.6 m N–S), so every source has grating
//    responses 2.0° and 1.3° away, inside the image. In a drift scan a source's amplitude changes
//    by up to 4× during a group while the uv tracks turn, so those far responses differ from the
//    PSF by ~10 % of the source: CLEAN models the difference as ghosts and takes 5–15 % off the
//    source (the 96-antenna array with outriggers at full resolution dilutes this).
// usage: demo-sky.mjs OUTDIR NGROUPS
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [out, nGroupsArg] = process.argv.slice(2);
const nGroups = Number(nGroupsArg ?? 5);
// 3C286 (J2000): the calibrator group is centred on its transit; later groups move east in RA.
const ra0 = 202.784533, dec0 = 30.509155;
const stepDeg = (309 * 15.041) / 3600; // sidereal drift of one group, degrees of RA
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const sources = [];
// A source every ~0.4° in RA across the target groups, within ±1° in dec, 0.2–1.5 Jy.
for (let i = 0; i < Math.round(nGroups * 3); i++) {
  const ra = ra0 + stepDeg * (0.6 + (i / 3)) + (rand() - 0.5) * 0.3;
  const dec = dec0 + (rand() - 0.5) * 2.0;
  const flux = 0.2 + 1.3 * rand();
  sources.push({ name: `DEMO${String(i).padStart(3, '0')}`, ra_deg: +ra.toFixed(6), dec_deg: +dec.toFixed(6), flux_jy: +flux.toFixed(4), spectral_index: -0.7 });
}
// The real sky also holds the other VLA-list calibrators along the strip, and the pipeline's
// `calibrate --calibrator auto --if-transit` will solve on any that transits: 3C293 (1352+314,
// 3.5 Jy at 20 cm, no 6 cm flux so α = 0 in calibrate's model) transits ~4 groups after 3C286.
// Leaving it out made a ≥ 5-group demo calibrate on noise. Not in the photometry catalogue.
const sky = [...sources, { name: '3C293', ra_deg: 208.074336, dec_deg: 31.4463, flux_jy: 3.5, spectral_index: 0 }];
writeFileSync(path.join(out, 'sources.json'), JSON.stringify(sky, null, 1) + '\n');
const csv = ['name,ra_deg,dec_deg,flux_mjy,snr,resolved', ...sources.map((s) => `${s.name},${s.ra_deg},${s.dec_deg},${(s.flux_jy * 1000).toFixed(1)},100,0`)];
writeFileSync(path.join(out, 'catalog.csv'), csv.join('\n') + '\n');
const JITTER_M = Number(process.env.DEMO_STATION_JITTER_M ?? 3);
let jseed = 777;
const jrand = () => ((jseed = (jseed * 1103515245 + 12345) % 2147483648) / 2147483648);
const M_PER_DEG_LAT = 110950, M_PER_DEG_LON = 88700; // at 37.23° N
const stations = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'data', 'DSA110_Station_Coordinates.csv'), 'utf8')
  .split(/\r?\n/).flatMap((l) => {
    const m = /^,DSA-(\d+),([-\d.]+),([-\d.]+),(.*)$/.exec(l);
    if (!m) return [l];
    if (Number(m[1]) > 103) return [];
    const lat = Number(m[2]) + ((jrand() - 0.5) * 2 * JITTER_M) / M_PER_DEG_LAT;
    const lon = Number(m[3]) + ((jrand() - 0.5) * 2 * JITTER_M) / M_PER_DEG_LON;
    return [`,DSA-${m[1]},${lat.toFixed(8)},${lon.toFixed(8)},${m[4]}`];
  });
writeFileSync(path.join(out, 'stations.csv'), stations.join('\n'));
console.log(path.join(out, 'sources.json'));
