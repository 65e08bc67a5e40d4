/**
 * Astronomy-core benchmark at DSA-110 scale: ICRS uvw for 96 antennas (4,656 baselines with
 * autos) × 24 integrations, meridian uvw, and the frame transforms the converter calls per group.
 */
import { performance } from 'node:perf_hooks';
import { loadStations } from '../src/astro/antennas.js';
import { DEG } from '../src/astro/constants.js';
import { meridianIcrs, sourceHaDec } from '../src/astro/frames.js';
import { isoToJd } from '../src/astro/time.js';
import { uvwIcrsTimes, uvwMeridian } from '../src/astro/uvw.js';

function timeIt(fn: () => void, reps: number): number {
  for (let i = 0; i < 3; i++) fn(); // warm-up (JIT)
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / reps;
}

export async function run(): Promise<Record<string, number>> {
  const st = loadStations();
  const nAnt = 96;
  const ant = st.ecef.subarray(0, 3 * nAnt);
  const a1: number[] = [];
  const a2: number[] = [];
  for (let i = 0; i < nAnt; i++) for (let j = i; j < nAnt; j++) { a1.push(i); a2.push(j); }
  const ant1 = Int32Array.from(a1);
  const ant2 = Int32Array.from(a2);
  const nbl = ant1.length;
  const nt = 24;
  const jd0 = isoToJd('2025-10-02T00:12:00');
  const jds = new Float64Array(nt);
  for (let t = 0; t < nt; t++) jds[t] = jd0 + ((t - 11.5) * 12.884901888) / 86400;
  const [ra, dec] = meridianIcrs(jd0, 54.5734 * DEG);
  const out = new Float64Array(3 * nbl * nt);
  const mer = new Float64Array(3 * nbl);
  return {
    uvw_icrs_4656bl_24t_ms: timeIt(() => uvwIcrsTimes(out, ant, ant1, ant2, jds, ra, dec), 30),
    uvw_meridian_4656bl_ms: timeIt(() => uvwMeridian(mer, ant, ant1, ant2, 54.5734 * DEG), 300),
    meridian_icrs_us: 1000 * timeIt(() => meridianIcrs(jd0 + Math.random() * 1e-3, 54.5734 * DEG), 200),
    source_hadec_us: 1000 * timeIt(() => sourceHaDec(ra, dec, jd0 + Math.random() * 1e-3), 200),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((r) => console.log(JSON.stringify(r, null, 1)));
}
