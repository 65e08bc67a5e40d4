/**
 * dsa110 photometry — forced photometry of catalogue sources on images, per-field flux
 * normalisation, variability figures and ESE candidates, light curves. Everything goes through
 * the registry (sources, photometry, photometry_images, variability, ese_candidates).
 */
import { Command, Option } from 'commander';
import path from 'node:path';
import { action } from '../util/command.js';
import { DsaError, EXIT_FAILURE, EXIT_PARTIAL, UsageError } from '../util/errors.js';
import { log } from '../util/log.js';
import { printJson, printLine, printProduct } from '../util/output.js';
import { parseInteger, parseNumber } from '../util/options.js';
import { writeFileAtomic } from '../util/atomic.js';
import { progressBar } from '../util/progress.js';
import { mjdNow, type Registry } from '../registry/db.js';
import * as q from '../registry/photometry.js';
import { FLAG_DEGENERATE, FLAG_NO_DATA, measureForced } from '../photometry/measure.js';
import type { Catalog } from '../photometry/catalog.js';
import { applyCorrections, computeCorrections, selectReferences, separationDeg, CORR_FLAG_TOO_FEW_REFS } from '../photometry/normalize.js';
import { computeVariability, findEseCandidates, ESE_PRESETS, type EsePreset, type LightCurves } from '../photometry/variability.js';
import { medianInPlace } from '../photometry/stats.js';
import { groupFields, loadPhotometryImage, readCatalogFile } from '../photometry/pipeline.js';

// ------------------------------------------------------------------------------------ helpers

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' && !Number.isFinite(v)) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(cells: readonly unknown[]): string {
  return cells.map(csvCell).join(',') + '\n';
}

const num = (v: number | null | undefined): number => (v === null || v === undefined ? NaN : v);
const jsonNum = (v: number): number | null => (Number.isFinite(v) ? v : null);

function median(values: ArrayLike<number>): number {
  const a = new Float64Array(values.length);
  let m = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) a[m++] = values[i];
  return m ? medianInPlace(a, m) : NaN;
}

// ------------------------------------------------------------------------------------ measure

interface MeasureOpts {
  catalog: string;
  minMjy: number;
  pblimit: number;
  pb: boolean;
  noiseCorrelation: 'beam' | 'independent';
  output?: string;
  json?: boolean;
}

const MEASURE_CSV_HEADER = ['image_path', 'mjd', 'source', 'source_id', 'ra_deg', 'dec_deg', 'flux_jy', 'flux_err_jy', 'flux_raw_jy', 'local_rms_jy', 'snr', 'pb', 'chi2', 'flags'];

function skipKind(reason: string): 'outside' | 'low_pb' | 'blank' {
  if (reason.startsWith('primary beam')) return 'low_pb';
  if (reason.startsWith('blank')) return 'blank';
  return 'outside';
}

async function measure(reg: Registry, inputs: string[], o: MeasureOpts): Promise<number> {
  const { catalog: cat, badRows, format } = readCatalogFile(o.catalog);
  const shown = badRows.slice(0, 20);
  for (const b of shown) log.warn(`${o.catalog}: ${format === 'csv' ? 'line' : 'rowid'} ${b.line}: ${b.reason}; skipped`);
  if (badRows.length > shown.length) log.warn(`${o.catalog}: ${badRows.length - shown.length} more bad rows skipped`);
  if (cat.name.length === 0) throw new DsaError('catalogue has no usable rows', { subject: o.catalog });
  log.info(`${o.catalog}: ${cat.name.length} sources${badRows.length ? ` (${badRows.length} bad rows skipped)` : ''}`);

  const csv: string[] = [];
  let failed = 0, done = 0;
  const bar = progressBar(inputs.length, 'photometry');
  for (const input of inputs) {
    const file = path.resolve(input);
    try {
      const img = await loadPhotometryImage(file, { usePb: o.pb });
      const res = measureForced({ data: img.data, nx: img.nx, ny: img.ny }, cat, {
        wcs: img.sky, pb: img.pb, pbLimit: o.pblimit, minMjy: o.minMjy, beam: img.beam, beamAt: img.beamAt, noiseCorrelation: o.noiseCorrelation,
      });
      const skipped = { outside: 0, low_pb: 0, blank: 0, faint: res.nFaint, no_data: 0 };
      for (const s of res.skipped) {
        skipped[skipKind(s.reason)]++;
        log.debug(`${file}: ${s.name}: ${s.reason}`);
      }
      const keep: number[] = [];
      for (let k = 0; k < res.n; k++) {
        if (Number.isFinite(res.flux[k]) && Number.isFinite(res.fluxErr[k])) keep.push(k);
        else {
          skipped.no_data++;
          const why = res.flags[k] & FLAG_DEGENERATE ? 'not separable from a neighbour' : res.flags[k] & FLAG_NO_DATA ? 'no valid pixels' : 'no flux';
          log.debug(`${file}: ${cat.name[res.index[k]]}: ${why}`);
        }
      }
      const medSnr = median(keep.map((k) => res.snr[k]));
      const nSkipped = skipped.outside + skipped.low_pb + skipped.blank + skipped.no_data;
      reg.write(() => {
        const ids = q.upsertSources(reg, keep.map((k) => {
          const i = res.index[k];
          return {
            name: cat.name[i], raDeg: cat.raDeg[i], decDeg: cat.decDeg[i], catalogFluxMjy: cat.fluxMjy[i],
            catalogSnr: Number.isFinite(cat.snr[i]) ? cat.snr[i] : null,
            resolved: cat.resolved[i] === 1 ? 1 : 0,
          };
        }));
        q.replaceImagePhotometry(reg, file, img.mjd, keep.map((k, j) => ({
          sourceId: ids[j], fluxJy: res.flux[k], fluxErrJy: res.fluxErr[k], localRmsJy: res.rms[k], snr: res.snr[k],
          chi2: res.chi2[k], pb: res.pb[k], flags: res.flags[k],
        })));
        q.upsertPhotometryImage(reg, {
          image_path: file, mjd: img.mjd, ra_deg: img.raDeg, dec_deg: img.decDeg, noise_jy: Number.isFinite(img.noiseJy) ? img.noiseJy : null,
          bmaj_deg: img.bmajDeg, bmin_deg: img.bminDeg, bpa_deg: img.bpaDeg, pb_path: img.pbPath ?? null,
          n_measured: keep.length, n_skipped: nSkipped, median_snr: medSnr,
        });
        if (o.output) {
          keep.forEach((k, j) => {
            const i = res.index[k];
            csv.push(csvLine([file, img.mjd, cat.name[i], ids[j], cat.raDeg[i], cat.decDeg[i], res.flux[k], res.fluxErr[k], res.fluxRaw[k], res.rms[k], res.snr[k], res.pb[k], res.chi2[k], res.flags[k]]));
          });
        }
      });
      log.info(`${path.basename(file)}: ${keep.length} measured (median SNR ${Number.isFinite(medSnr) ? medSnr.toFixed(1) : '—'}); skipped ${skipped.outside} outside the image, ${skipped.low_pb} below pb ${o.pblimit}, ${skipped.blank} on blank pixels, ${skipped.no_data} without data, ${skipped.faint} fainter than ${o.minMjy} mJy`);
      if (keep.length === 0) log.warn(`${file}: no catalogue source measured on this image`);
      if (o.json) {
        printProduct({
          path: file, kind: 'photometry', mjd: img.mjd, measured: keep.length, skipped, median_snr: jsonNum(medSnr),
          noise_jy: jsonNum(img.noiseJy), pb_path: img.pbPath ?? null, ...(o.output ? { output: path.resolve(o.output) } : {}),
        }, { json: true });
      } else if (!o.output) {
        printLine(file);
      }
      done++;
    } catch (e) {
      if (!(e instanceof DsaError)) throw e;
      log.error(e.oneLine());
      failed++;
    }
    bar.increment();
  }
  bar.stop();
  if (o.output && done > 0) {
    const out = path.resolve(o.output);
    await writeFileAtomic(out, csvLine(MEASURE_CSV_HEADER) + csv.join(''));
    if (!o.json) printLine(out);
  }
  if (failed && done) return EXIT_PARTIAL;
  if (failed) return EXIT_FAILURE;
  return 0;
}

// ------------------------------------------------------------------------------------ normalize

interface NormalizeOpts {
  fieldRa?: number;
  fieldDec?: number;
  fieldRadius: number;
  singleField?: boolean;
  imageCentre?: boolean;
  refRadius: number;
  minSnr: number;
  maxRefs: number;
  baselineEpochs: number;
  clip: number;
  minRefs: number;
  maxRefChi2: number;
  json?: boolean;
}

interface FieldPlan { ra: number; dec: number; images: q.PhotImageRow[] }

function planFields(images: q.PhotImageRow[], o: NormalizeOpts): FieldPlan[] {
  const explicit = o.fieldRa !== undefined;
  if (o.singleField) {
    let ra = o.fieldRa, dec = o.fieldDec;
    if (!explicit) {
      const withC = images.filter((i) => i.ra_deg !== null && i.dec_deg !== null);
      if (withC.length) {
        const g = groupFields(withC.map((i) => i.ra_deg!), withC.map((i) => i.dec_deg!), 360);
        ra = g.centreRa[0]; dec = g.centreDec[0];
      }
    }
    return [{ ra: ra ?? NaN, dec: dec ?? NaN, images }];
  }
  const noCentre = images.filter((i) => i.ra_deg === null || i.dec_deg === null);
  for (const i of noCentre) log.warn(`${i.image_path}: pointing centre unknown (not measured by 'photometry measure'); not normalised (use --single-field)`);
  const withC = images.filter((i) => i.ra_deg !== null && i.dec_deg !== null);
  if (explicit) {
    const sel = withC.filter((i) => separationDeg(o.fieldRa!, o.fieldDec!, i.ra_deg!, i.dec_deg!) <= o.fieldRadius);
    return sel.length ? [{ ra: o.fieldRa!, dec: o.fieldDec!, images: sel }] : [];
  }
  const g = groupFields(withC.map((i) => i.ra_deg!), withC.map((i) => i.dec_deg!), o.fieldRadius);
  return g.centreRa.map((ra, f) => ({ ra, dec: g.centreDec[f], images: withC.filter((_, k) => g.field[k] === f) }));
}

async function normalize(reg: Registry, o: NormalizeOpts): Promise<number> {
  if ((o.fieldRa === undefined) !== (o.fieldDec === undefined)) throw new UsageError('--field-ra and --field-dec go together');
  if (o.imageCentre && o.fieldRa !== undefined) throw new UsageError('--image-centre and --field-ra/--field-dec are alternatives');
  const images = q.listPhotometryImages(reg);
  if (!images.length) throw new DsaError(`no photometry in the registry (${reg.path}); run 'dsa110 photometry measure' first`);
  const fields = planFields(images, o);
  if (!fields.length) throw new DsaError(`no measured image has its centre within ${o.fieldRadius}° of (${o.fieldRa}, ${o.fieldDec})`);

  const allIds: number[] = [], allNorm: number[] = [], allErr: number[] = [];
  const scope = new Set<number>(), refsKept = new Set<number>();
  const imageNorms: { path: string; mjd: number; ra: number; dec: number; factor: number; err: number; nRefs: number; flag: number }[] = [];
  const reports: Record<string, unknown>[] = [];
  for (const f of fields) {
    const imgs = f.images.slice().sort((a, b) => a.mjd - b.mjd || a.image_path.localeCompare(b.image_path));
    const E = imgs.length;
    const epochOf = new Map(imgs.map((im, e) => [im.image_path, e]));
    const pts = q.photometryOfImages(reg, imgs.map((i) => i.image_path));
    const srcIds = [...new Set(pts.map((p) => p.source_id))].sort((a, b) => a - b);
    const row = new Map(srcIds.map((id, s) => [id, s]));
    const S = srcIds.length;
    const flux = new Float64Array(S * E).fill(NaN), err = new Float64Array(S * E).fill(NaN);
    const snrs: number[][] = srcIds.map(() => []);
    for (const p of pts) {
      const s = row.get(p.source_id)!, e = epochOf.get(p.image_path)!;
      flux[s * E + e] = num(p.flux_jy);
      err[s * E + e] = num(p.flux_err_jy);
      if (p.snr !== null) snrs[s].push(p.snr);
    }
    const src = q.sourcesByIds(reg, srcIds);
    // references need a catalogue SNR; where the catalogue had none, the median measured SNR stands in
    const cat: Catalog = {
      name: src.map((r) => r.name),
      raDeg: Float64Array.from(src, (r) => r.ra_deg),
      decDeg: Float64Array.from(src, (r) => r.dec_deg),
      fluxMjy: Float64Array.from(src, (r) => num(r.catalog_flux_mjy)),
      snr: Float64Array.from(src, (r, s) => (r.catalog_snr !== null ? r.catalog_snr : median(snrs[s]))),
      resolved: Uint8Array.from(src, (r) => (r.resolved ? 1 : 0)),
    };
    const centreRa = Number.isFinite(f.ra) ? f.ra : median(cat.raDeg);
    const centreDec = Number.isFinite(f.dec) ? f.dec : median(cat.decDeg);
    const refs = selectReferences(cat, centreRa, centreDec, { minSnr: o.minSnr, maxRadiusDeg: o.refRadius, maxRefs: o.maxRefs });
    const corr = computeCorrections(flux, err, S, E, refs, {
      baselineEpochs: o.baselineEpochs, clipSigma: o.clip, minRefs: o.minRefs, maxChi2nu: o.maxRefChi2,
    });
    const out = applyCorrections(flux, err, S, E, corr);
    // an epoch without enough references cannot be normalised: no value rather than a raw one
    for (let e = 0; e < E; e++) {
      if (corr.flag[e] & CORR_FLAG_TOO_FEW_REFS) for (let s = 0; s < S; s++) { out.flux[s * E + e] = NaN; out.err[s * E + e] = NaN; }
    }
    for (const p of pts) {
      const s = row.get(p.source_id)!, e = epochOf.get(p.image_path)!;
      allIds.push(p.id); allNorm.push(out.flux[s * E + e]); allErr.push(out.err[s * E + e]);
    }
    for (const id of srcIds) scope.add(id);
    const dropped: string[] = [];
    refs.forEach((r, k) => { if (corr.refKept[k]) refsKept.add(srcIds[r]); else dropped.push(cat.name[r]); });
    let nFlag = 0;
    imgs.forEach((im, e) => {
      if (corr.flag[e]) nFlag++;
      imageNorms.push({ path: im.image_path, mjd: im.mjd, ra: centreRa, dec: centreDec, factor: corr.flag[e] ? NaN : corr.factor[e], err: corr.flag[e] ? NaN : corr.factorErr[e], nRefs: corr.nUsed[e], flag: corr.flag[e] });
    });
    const kept = refs.length - dropped.length;
    const fac = imgs.map((_, e) => corr.factor[e]).filter((_, e) => !corr.flag[e]);
    log.info(`field (${centreRa.toFixed(3)}, ${centreDec.toFixed(3)}): ${E} images, ${S} sources, ${refs.length} references (${kept} kept${dropped.length ? `; dropped as variable: ${dropped.join(', ')}` : ''}), factors ${fac.length ? `${Math.min(...fac).toFixed(4)}–${Math.max(...fac).toFixed(4)}` : '—'}`);
    if (nFlag) log.warn(`field (${centreRa.toFixed(3)}, ${centreDec.toFixed(3)}): ${nFlag} of ${E} images have fewer than ${o.minRefs} usable references; their fluxes are not normalised`);
    reports.push({
      kind: 'field', ra_deg: centreRa, dec_deg: centreDec, images: E, sources: S, references: refs.length, references_kept: kept,
      references_dropped: dropped, unnormalised_images: nFlag,
      factor_min: fac.length ? Math.min(...fac) : null, factor_max: fac.length ? Math.max(...fac) : null,
    });
  }
  let changed = 0;
  reg.write(() => {
    changed = q.writeNormalized(reg, allIds, allNorm, allErr);
    q.setReferences(reg, [...scope], [...refsKept]);
    for (const n of imageNorms) q.setImageNormalization(reg, n.path, n.mjd, { fieldRaDeg: n.ra, fieldDecDeg: n.dec, factor: n.factor, factorErr: n.err, nRefs: n.nRefs, flag: n.flag });
  });
  log.info(`${fields.length} field(s), ${imageNorms.length} images, ${allIds.length} measurements (${changed} changed)`);
  if (o.json) for (const r of reports) printJson(r);
  else for (const n of imageNorms) printLine(n.path);
  return 0;
}

// ------------------------------------------------------------------------------------ variability

interface VariabilityOpts { preset: EsePreset; minEpochs: number; full?: boolean; json?: boolean; batch: number }

interface LcBatch {
  lc: LightCurves;
  ids: number[];
  /** MJD of each point, same layout as the flux matrix. */
  mjd: Float64Array;
  normalized: boolean[];
}

/**
 * Light curves of the given sources as a padded matrix (each source's points in time order,
 * NaN after its last). A source uses its normalised fluxes if it has any (then points that
 * could not be normalised are left out), else its raw fluxes.
 */
function loadLightCurves(reg: Registry, ids: number[]): LcBatch {
  const pts = q.lightCurvePoints(reg, ids);
  const count = new Map<number, number>(), hasNorm = new Set<number>();
  for (const p of pts) {
    count.set(p.source_id, (count.get(p.source_id) ?? 0) + 1);
    if (p.norm_flux_jy !== null) hasNorm.add(p.source_id);
  }
  let E = 1;
  for (const c of count.values()) E = Math.max(E, c);
  const S = ids.length;
  const row = new Map(ids.map((id, s) => [id, s]));
  const flux = new Float64Array(S * E).fill(NaN), err = new Float64Array(S * E).fill(NaN), mjd = new Float64Array(S * E).fill(NaN);
  const fill = new Int32Array(S);
  for (const p of pts) {
    const s = row.get(p.source_id);
    if (s === undefined) continue;
    const k = s * E + fill[s]++;
    mjd[k] = p.mjd;
    if (hasNorm.has(p.source_id)) { flux[k] = num(p.norm_flux_jy); err[k] = num(p.norm_err_jy); }
    else { flux[k] = num(p.flux_jy); err[k] = num(p.flux_err_jy); }
  }
  return { lc: { nSrc: S, nEpoch: E, flux, err }, ids, mjd, normalized: ids.map((id) => hasNorm.has(id)) };
}

async function variability(reg: Registry, o: VariabilityOpts): Promise<number> {
  const th = ESE_PRESETS[o.preset];
  const t0 = mjdNow(); // before reading: photometry written while we compute stays "new"
  const stale = q.staleVariabilitySources(reg, !!o.full);
  let nWritten = 0;
  for (let b = 0; b < stale.length; b += o.batch) {
    const ids = stale.slice(b, b + o.batch);
    const { lc, mjd, normalized } = loadLightCurves(reg, ids);
    const m = computeVariability(lc);
    const E = lc.nEpoch;
    const rows: q.VariabilityInput[] = ids.map((id, s) => ({
      sourceId: id, n: m.n[s], meanJy: m.mean[s], stdJy: m.std[s], v: m.v[s], eta: m.eta[s], chi2nu: m.chi2nu[s],
      sigmaDev: m.sigmaDevRobust[s], sigmaDevStd: m.sigmaDev[s], vsMax: m.vs[s], mMax: m.m[s],
      vsStartMjd: m.pairA[s] >= 0 ? mjd[s * E + m.pairA[s]] : NaN, vsEndMjd: m.pairB[s] >= 0 ? mjd[s * E + m.pairB[s]] : NaN,
      medianJy: m.median[s], weightedMeanJy: m.weightedMean[s], normalized: normalized[s],
    }));
    reg.write(() => q.upsertVariability(reg, rows, t0));
    nWritten += rows.length;
  }
  // Candidates are judged on the stored figures of every source (so a new preset sees all of them);
  // light curves are re-read only for those that pass, to locate the dip.
  const passing = q.sourcesPassing(reg, th, o.minEpochs);
  const cands: q.EseInput[] = [];
  for (let b = 0; b < passing.length; b += o.batch) {
    const ids = passing.slice(b, b + o.batch);
    const { lc, mjd } = loadLightCurves(reg, ids);
    const m = computeVariability(lc);
    const c = findEseCandidates(m, lc, { thresholds: th, minEpochs: o.minEpochs, sigmaDev: 'robust' });
    const E = lc.nEpoch;
    for (let k = 0; k < c.source.length; k++) {
      const s = c.source[k];
      cands.push({
        sourceId: ids[s], sigmaDev: m.sigmaDevRobust[s], chi2nu: m.chi2nu[s], eta: m.eta[s], n: m.n[s],
        startMjd: c.windowStart[k] >= 0 ? mjd[s * E + c.windowStart[k]] : NaN,
        endMjd: c.windowEnd[k] >= 0 ? mjd[s * E + c.windowEnd[k]] : NaN,
        depth: c.depth[k], significance: c.significance[k],
      });
    }
  }
  let removed = 0;
  reg.write(() => { removed = q.replaceEseCandidates(reg, o.preset, cands); });
  const names = q.sourceNames(reg, cands.map((c) => c.sourceId));
  log.info(`${nWritten} light curve(s) recomputed${o.full ? ' (--full)' : ''}; ${cands.length} ESE candidate(s) with preset ${o.preset}${removed ? `; ${removed} former candidate(s) no longer pass` : ''}`);
  for (const c of cands) {
    const name = names.get(c.sourceId) ?? String(c.sourceId);
    if (o.json) {
      printJson({
        kind: 'ese_candidate', source: name, source_id: c.sourceId, preset: o.preset, n: c.n, sigma_dev: jsonNum(c.sigmaDev),
        chi2_nu: jsonNum(c.chi2nu), eta: jsonNum(c.eta), start_mjd: jsonNum(c.startMjd), end_mjd: jsonNum(c.endMjd),
        depth: jsonNum(c.depth), significance: jsonNum(c.significance),
      });
    } else printLine(name);
  }
  return 0;
}

// ------------------------------------------------------------------------------------ lightcurve

interface LightcurveOpts { format?: 'csv' | 'json' | 'png'; output?: string; ra?: number; dec?: number; radius: number }

function findSource(reg: Registry, key: string | undefined, o: LightcurveOpts): q.SourceRow {
  if (o.ra !== undefined || o.dec !== undefined) {
    if (key) throw new UsageError('give a source id/name or --ra/--dec, not both');
    if (o.ra === undefined || o.dec === undefined) throw new UsageError('--ra and --dec go together');
    const near = q.sourcesNear(reg, o.ra, o.dec, o.radius / 3600);
    if (!near.length) throw new DsaError(`no source within ${o.radius}" of (${o.ra}, ${o.dec})`);
    if (near.length > 1) log.info(`${near.length} sources within ${o.radius}"; using the nearest, ${near[0].name} (${(near[0].sep_deg * 3600).toFixed(1)}")`);
    return near[0];
  }
  if (!key) throw new UsageError('give a source (id or name) or --ra and --dec');
  if (/^\d+$/.test(key)) {
    const byId = q.sourceById(reg, Number(key));
    if (byId) return byId;
  }
  const byName = q.sourceByName(reg, key);
  if (!byName) throw new DsaError(`no source with id or name '${key}' in the registry`);
  return byName;
}

const LC_COLUMNS = ['mjd', 'flux_jy', 'flux_err_jy', 'norm_flux_jy', 'norm_err_jy', 'snr', 'local_rms_jy', 'pb', 'flags', 'image_path'] as const;

async function lightcurve(reg: Registry, key: string | undefined, o: LightcurveOpts): Promise<number> {
  let format = o.format;
  if (!format) {
    const ext = o.output ? path.extname(o.output).toLowerCase() : '';
    format = ext === '.png' ? 'png' : ext === '.json' ? 'json' : 'csv';
  }
  const src = findSource(reg, key, o);
  const pts = q.lightCurvePoints(reg, [src.id]);
  if (!pts.length) log.warn(`${src.name}: no photometry`);
  const cands = q.eseCandidatesOfSource(reg, src.id);
  let body: string | Buffer;
  if (format === 'csv') {
    body = csvLine(LC_COLUMNS) + pts.map((p) => csvLine(LC_COLUMNS.map((c) => p[c]))).join('');
  } else if (format === 'json') {
    body = JSON.stringify({
      source: src, variability: q.variabilityOfSource(reg, src.id) ?? null, ese_candidates: cands,
      points: pts.map((p) => Object.fromEntries(LC_COLUMNS.map((c) => [c, p[c]]))),
    }) + '\n';
  } else {
    const { renderPlot } = await import('../util/plot.js');
    const mJy = (v: number | null): number => (v === null ? NaN : v * 1e3);
    const x = pts.map((p) => p.mjd);
    const series = [{ x, y: pts.map((p) => mJy(p.flux_jy)), yerr: pts.map((p) => mJy(p.flux_err_jy)), style: 'points' as const, color: '#999999', label: 'raw' }];
    if (pts.some((p) => p.norm_flux_jy !== null)) {
      series.push({ x, y: pts.map((p) => mJy(p.norm_flux_jy)), yerr: pts.map((p) => mJy(p.norm_err_jy)), style: 'points' as const, color: '#0072B2', label: 'normalised' });
    }
    const win = cands.find((c) => c.start_mjd !== null && c.end_mjd !== null);
    body = renderPlot({
      title: `${src.name}${win ? ` — ESE candidate (${win.preset}, depth ${((win.depth ?? 0) * 100).toFixed(0)} %)` : ''}`,
      xlabel: 'MJD', ylabel: 'flux density (mJy)', series,
      shade: win ? [win.start_mjd!, win.end_mjd!] : undefined,
    });
  }
  if (o.output || format === 'png') {
    const out = path.resolve(o.output ?? `${src.name.replace(/[^A-Za-z0-9+._-]+/g, '_')}-lightcurve.png`);
    await writeFileAtomic(out, body);
    printLine(out);
  } else {
    process.stdout.write(body);
  }
  return 0;
}

// ------------------------------------------------------------------------------------ register

export function register(program: Command): void {
  const cmd = program.command('photometry').description('forced photometry of catalogue sources, flux normalisation, variability and ESE candidates, light curves');

  cmd
    .command('measure')
    .description('forced photometry of catalogue sources on images (<name>-image.fits, corrected by <name>-pb.fits); one registry row per source and image')
    .argument('[images...]', 'FITS images (default: paths on stdin)')
    .requiredOption('--catalog <file>', 'catalogue: CSV (name, ra_deg, dec_deg, flux_mjy[, snr, resolved]) or SQLite (table sources or catalog)')
    .option('--min-mjy <mJy>', 'only catalogue sources at least this bright', parseNumber('--min-mjy', { min: 0 }), 10)
    .option('--pblimit <x>', 'only sources where the primary beam is at least this', parseNumber('--pblimit', { min: 0, max: 1 }), 0.2)
    .option('--no-pb', 'no primary-beam image: fluxes are not pb-corrected (pb = 1)')
    .addOption(new Option('--noise-correlation <model>', 'noise model for errors: beam (synthesis images) or independent pixels').choices(['beam', 'independent']).default('beam'))
    .option('-o, --output <csv>', 'also write all measurements to this CSV (atomically); printed instead of the image paths')
    .option('--json', 'one JSON object per image with counts')
    .action(action('photometry measure', async (ctx, images: string[], o: MeasureOpts) => {
      const { readInputPaths } = await import('../util/inputs.js');
      const paths = await readInputPaths(images);
      if (!paths.length) throw new UsageError('no images: give FITS images (or paths on stdin)');
      return measure(ctx.registry(), paths, o);
    }));

  cmd
    .command('normalize')
    .alias('normalise')
    .description('per-field flux normalisation against stable reference sources; writes normalised fluxes and marks references')
    .option('--field-ra <deg>', 'normalise one field centred here (with --field-dec): the images whose centre is within --field-radius', parseNumber('--field-ra', { min: 0, max: 360 }))
    .option('--field-dec <deg>', 'see --field-ra', parseNumber('--field-dec', { min: -90, max: 90 }))
    .option('--image-centre', 'group images into fields by their centres in the registry (the default)')
    .option('--single-field', 'treat all photometry as one field (centre: --field-ra/--field-dec or the mean image centre)')
    .option('--field-radius <deg>', 'images whose centres agree within this (in dec and in RA·cos dec) form one field', parseNumber('--field-radius', { min: 0 }), 1.5)
    .option('--ref-radius <deg>', 'references within this of the field centre', parseNumber('--ref-radius', { min: 0 }), 1.5)
    .option('--min-snr <x>', 'references: catalogue SNR at least this (median measured SNR when the catalogue has none)', parseNumber('--min-snr', { min: 0 }), 50)
    .option('--max-refs <n>', 'at most this many references per field (highest SNR first)', parseInteger('--max-refs', 1), 20)
    .option('--baseline-epochs <n>', 'reference baseline: median of its first N epochs', parseInteger('--baseline-epochs', 1), 10)
    .option('--clip <sigma>', 'clip reference ratios beyond this many σ (MAD) per image', parseNumber('--clip', { min: 0.5 }), 3)
    .option('--min-refs <n>', 'an image needs at least this many references after clipping', parseInteger('--min-refs', 1), 3)
    .option('--max-ref-chi2 <x>', 'drop references whose normalised χ²_ν exceeds this (variable)', parseNumber('--max-ref-chi2', { min: 0 }), 2)
    .option('--json', 'one JSON object per field')
    .action(action('photometry normalize', async (ctx, o: NormalizeOpts) => normalize(ctx.registry(), o)));

  cmd
    .command('variability')
    .description('variability figures per source (incremental) and ESE candidates; prints candidate names')
    .addOption(new Option('--preset <name>', 'ESE thresholds (σ-deviation / χ²_ν / η)').choices(Object.keys(ESE_PRESETS)).default('moderate'))
    .option('--min-epochs <n>', 'candidates need at least this many valid epochs', parseInteger('--min-epochs', 2), 5)
    .option('--full', 'recompute every source, not only those with new photometry')
    .option('--batch <n>', 'sources per batch (memory bound)', parseInteger('--batch', 1), 5000)
    .option('--json', 'one JSON object per candidate')
    .action(action('photometry variability', async (ctx, o: VariabilityOpts) => variability(ctx.registry(), o)));

  cmd
    .command('lightcurve')
    .description("a source's raw and normalised light curve as CSV, JSON or a PNG plot")
    .argument('[source]', 'source id or name (or use --ra/--dec)')
    .addOption(new Option('--format <fmt>', 'output format (default from --output extension, else csv)').choices(['csv', 'json', 'png']))
    .option('-o, --output <file>', 'write here (atomically) and print the path; PNG defaults to <name>-lightcurve.png')
    .option('--ra <deg>', 'find the source nearest this position', parseNumber('--ra', { min: 0, max: 360 }))
    .option('--dec <deg>', 'see --ra', parseNumber('--dec', { min: -90, max: 90 }))
    .option('--radius <arcsec>', 'search radius for --ra/--dec', parseNumber('--radius', { min: 0 }), 10)
    .action(action('photometry lightcurve', async (ctx, source: string | undefined, o: LightcurveOpts) =>
      lightcurve(ctx.registry({ create: false }), source, o)));
}
