#!/usr/bin/env node
// Demo sky: sources along the drift strip after a 3C286 transit, written as the simulator's
// sources JSON and as the photometry catalogue CSV (same positions, fluxes in mJy at 1.4 GHz).
// usage: demo-sky.mjs OUTDIR NGROUPS
import { writeFileSync } from 'node:fs';
import path from 'node:path';

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
writeFileSync(path.join(out, 'sources.json'), JSON.stringify(sources, null, 1) + '\n');
const csv = ['name,ra_deg,dec_deg,flux_mjy,snr,resolved', ...sources.map((s) => `${s.name},${s.ra_deg},${s.dec_deg},${(s.flux_jy * 1000).toFixed(1)},100,0`)];
writeFileSync(path.join(out, 'catalog.csv'), csv.join('\n') + '\n');
console.log(path.join(out, 'sources.json'));
