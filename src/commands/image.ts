/**
 * dsa110 image — Stokes I images of measurement sets: w-stacked gridding, Högbom/Cotton–Schwab
 * CLEAN, restoring beam fitted to the PSF, drift-averaged Airy primary beam; FITS products,
 * a PNG thumbnail and a registry row per MS.
 */
import { Command } from 'commander';
import path from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { action } from '../util/command.js';
import { DsaError, EXIT_FAILURE, EXIT_PARTIAL, UsageError } from '../util/errors.js';
import { log } from '../util/log.js';
import { printProduct } from '../util/output.js';
import { parseChoice, parseInteger, parseNumber } from '../util/options.js';
import { packageVersion } from '../util/config.js';
import { readInputPaths } from '../util/inputs.js';
import { progressBar } from '../util/progress.js';

import type { ImagingOptions } from '../imaging/imager.js';
import type { ImageGeometry } from '../imaging/types.js';

interface ImageOpts {
  outputDir?: string; name?: string; dataColumn?: 'DATA' | 'CORRECTED_DATA' | 'MODEL_DATA';
  size?: number; scale?: number; fov: number; quick?: boolean;
  weight: 'natural' | 'uniform' | 'briggs'; robust: number;
  niter?: number; gain: number; mgain: number; threshold?: number; autoThreshold: number; autoMask: number;
  noAutoMask?: boolean; uvrange?: [number, number]; pblimit: number; threads?: number; wstacking: boolean; slant: boolean; beamChunks: number; subtractOutliers: boolean; outlierMinFlux: number; catalog?: string;
  png: boolean; json?: boolean;
}

function parseUvRange(v: string): [number, number] {
  const m = /^\s*([\d.eE+]*)\s*~\s*([\d.eE+]*)\s*(m)?\s*$/.exec(v);
  const lo = m && m[1] ? Number(m[1]) : 0;
  const hi = m && m[2] ? Number(m[2]) : Infinity;
  if (!m || !(lo >= 0) || !(hi > lo)) throw new UsageError(`--uvrange must be MIN~MAX in metres (e.g. 50~2500), got '${v}'`);
  return [lo, hi];
}

export function register(program: Command): void {
  program
    .command('image')
    .description('make Stokes I images (FITS: image, image-pb, residual, model, psf, pb; PNG thumbnail) of measurement sets')
    .argument('[ms...]', 'measurement sets (default: paths on stdin)')
    .option('-o, --output-dir <dir>', 'where the products go (default: next to each MS)')
    .option('--name <prefix>', 'product name prefix (default: the MS name without .ms.zarr; one MS only)')
    .option('--data-column <col>', 'DATA, CORRECTED_DATA or MODEL_DATA (default: CORRECTED_DATA when present and non-zero, else DATA)', parseChoice('--data-column', ['DATA', 'CORRECTED_DATA', 'MODEL_DATA'] as const))
    .option('--size <pixels>', 'image size (square; rounded up to a fast FFT size)', parseInteger('--size', 16, 32768))
    .option('--scale <arcsec>', 'pixel size (default: 1/5 of the synthesised beam from the longest baseline)', parseNumber('--scale', { min: 1e-3 }))
    .option('--fov <deg>', 'field of view for the default size', parseNumber('--fov', { min: 0.01, max: 60 }), 3.5)
    .option('--quick', 'quick-look: ≤ 1024² pixels at coarser cells, niter ≤ 300')
    .option('--weight <scheme>', 'natural, uniform or briggs', parseChoice('--weight', ['natural', 'uniform', 'briggs'] as const), 'briggs')
    .option('--robust <R>', 'Briggs robustness', parseNumber('--robust', { min: -5, max: 5 }), 0)
    .option('--niter <n>', 'maximum CLEAN components', parseInteger('--niter', 0))
    .option('--gain <g>', 'minor-cycle loop gain', parseNumber('--gain', { min: 1e-3, max: 1 }), 0.1)
    .option('--mgain <g>', 'major-cycle gain: each minor loop stops at (1 − mgain) of its starting peak', parseNumber('--mgain', { min: 1e-3, max: 1 }), 0.8)
    .option('--threshold <Jy>', 'stop cleaning at this peak residual', parseNumber('--threshold', { min: 0 }))
    .option('--auto-threshold <sigma>', 'stop at this many robust σ of the residual', parseNumber('--auto-threshold', { min: 0 }), 0.5)
    .option('--auto-mask <sigma>', 'clean to this many σ first, then only inside the mask', parseNumber('--auto-mask', { min: 0 }), 3)
    .option('--no-auto-mask', 'no auto-masking')
    .option('--uvrange <min~max>', 'projected baseline range in metres', parseUvRange)
    .option('--pblimit <x>', 'blank the pb-corrected image where the primary beam is below this', parseNumber('--pblimit', { min: 0, max: 1 }), 0.2)
    .option('--no-wstacking', 'no w-correction (small fields only)')
    .option('--no-subtract-outliers', 'keep bright catalogue sources just outside the image in the data (default: predicted and subtracted)')
    .option('--outlier-min-flux <jy>', 'subtract catalogue sources outside the image whose apparent (primary-beam weighted) flux is at least this (Jy)', parseNumber('--outlier-min-flux', { min: 0 }), 0.5)
    .option('--catalog <path>', 'catalogue of bright sources for --subtract-outliers: VLA list text or CSV (env DSA110_CALIBRATORS; default: the packaged VLA list)')
    .option('--no-slant', 'plain SIN, never the slanted SIN plane of the array (PV2_1/PV2_2) that halves the w-planes')
    .option('--no-png', 'no PNG thumbnail')
    .option('--beam-chunks <n>', 'major cycles predict each of n parts of the drift with its own primary beam (1 = off)', parseInteger('--beam-chunks', 1, 24), 4)
    .option('--threads <n>', 'gridding threads (default: all cores)', parseInteger('--threads', 1, 64))
    .option('--json', 'one JSON object per image with its figures')
    .action(action('image', async (ctx, inputs: string[], o: ImageOpts) => {
      const paths = await readInputPaths(inputs);
      if (!paths.length) throw new UsageError('no measurement sets given (arguments or stdin)');
      if (o.name && paths.length > 1) throw new UsageError('--name applies to one MS only');
      const { openMs, appendHistory } = await import('../io/ms.js');
      const { chooseDataColumn, msStokesI } = await import('../imaging/ms-input.js');
      const { imageVisibilities } = await import('../imaging/imager.js');
      const { primaryBeamFast } = await import('../imaging/pb-fast.js');
      const { weightPerIntegration, primaryBeamAt } = await import('../imaging/primaryBeam.js');
      const { makeSinWcs } = await import('../astro/wcs.js');
      const { makeImageHeader, writeFits } = await import('../io/fits.js');
      const { imageToPngThumbnail } = await import('../util/png.js');
      const { writeFileAtomic } = await import('../util/atomic.js');
      const { upsertImage, updateMs, getMs } = await import('../registry/products.js');
      const { recordStage } = await import('../registry/metrics.js');
      const DEG = Math.PI / 180;
      let ok = 0, failed = 0;
      for (const p0 of paths) {
        const msPath = path.resolve(p0);
        const written: string[] = [];
        const t0 = performance.now();
        try {
          const ms = await openMs(msPath);
          const m = ms.meta;
          const column = await chooseDataColumn(ms, o.dataColumn);
          const { input, stats } = await msStokesI(ms, { column, uvMinM: o.uvrange?.[0], uvMaxM: o.uvrange?.[1] });
          const tRead = performance.now();
          let cellRad = o.scale !== undefined ? (o.scale / 3600) * DEG : undefined;
          let size = o.size;
          if (cellRad === undefined) {
            // The cell follows the main lobe predicted from the imaging weights (≥ 3 pixels across
            // its minor axis: see beam-estimate.ts), not only λ/B_max, which for Briggs-weighted
            // sparse arrays is ~2× the lobe and left CLEAN 10 % short on sources between pixels.
            const { maxBaselineM } = await import('../imaging/geometry.js');
            const { goodFftSize } = await import('../imaging/fft.js');
            const { imagingWeights } = await import('../imaging/weighting.js');
            const { estimateBeam } = await import('../imaging/beam-estimate.js');
            let fmax = 0;
            for (const f of m.freq) fmax = Math.max(fmax, f);
            const lambdaOverB = 299792458 / fmax / maxBaselineM(input);
            const fovCell = (o.fov * DEG) / 1024;
            // density weights need a grid: the one the old λ/B_max rule would have chosen
            const cell0 = o.quick ? Math.max(fovCell, lambdaOverB / 5) : lambdaOverB / 5;
            const n0 = Math.min(o.quick ? 1024 : 16384, goodFftSize(Math.ceil((o.fov * DEG) / cell0)));
            const est = estimateBeam(input, imagingWeights(input, { nx: n0, ny: n0, cellRad: cell0 }, o.weight, o.robust));
            const lobeCell = Number.isFinite(est.minorRad) ? est.minorRad / 3 : Infinity;
            if (o.quick) {
              // Quick look: ≤ 1024² but never coarser than 1/3 of the main lobe (the PSF fit and
              // CLEAN need it resolved), so the field shrinks rather than the beam vanishing.
              const beamCell = Math.min(lambdaOverB / 3, lobeCell);
              cellRad = Math.min(beamCell, Math.max(fovCell, beamCell / 1.67));
              size ??= Math.min(1024, goodFftSize(Math.ceil((o.fov * DEG) / cellRad)));
            } else if (lobeCell < lambdaOverB / 5) cellRad = lobeCell;
            log.debug(`${path.basename(msPath)}: predicted main lobe ${((est.majorRad / DEG) * 3600).toFixed(1)}″×${((est.minorRad / DEG) * 3600).toFixed(1)}″, λ/B_max ${((lambdaOverB / DEG) * 3600).toFixed(1)}″, cell ${cellRad !== undefined ? ((cellRad / DEG) * 3600).toFixed(2) + '″' : 'default'}`);
          }
          const [ra0, dec0] = m.phaseDir;
          let fsum = 0;
          for (const f of m.freq) fsum += f;
          const freqHz = fsum / m.nChan;
          const merRa = m.meridianRa ?? new Float64Array([ra0]);
          const merDec = m.meridianDec ?? new Float64Array([dec0]);
          // the beam averaged as the image averages the integrations (flagged ones do not count)
          const pbWeights = m.meridianRa ? weightPerIntegration(input.weight, m.nTimes, input.nRow, input.nChan) : undefined;
          // Drift scans: the major cycles predict each part of the drift with its own beam.
          const nChunks = pbWeights ? Math.min(o.beamChunks, m.nTimes) : 1;
          let beamChunks: ImagingOptions['beamChunks'];
          if (nChunks > 1 && pbWeights) {
            const perTime = input.nRow / m.nTimes;
            const chunkOfTime = (t: number): number => Math.floor((t * nChunks) / m.nTimes);
            const rowChunk = new Uint8Array(input.nRow);
            for (let r = 0; r < input.nRow; r++) rowChunk[r] = chunkOfTime(Math.floor(r / perTime));
            beamChunks = {
              rowChunk,
              beamsAt: (geom: ImageGeometry, pixels: Int32Array) => Array.from({ length: nChunks }, (_, k) => {
                const wk = pbWeights.map((w, t) => (chunkOfTime(t) === k ? w : 0));
                let weight = 0;
                for (const w of wk) weight += w;
                return { beam: weight > 0 ? primaryBeamAt(geom, pixels, ra0, dec0, merRa, merDec, freqHz, undefined, wk) : new Float32Array(pixels.length), weight };
              }),
            };
          }
          let outlierNote = '';
          // Only calibrated visibilities are in Jy with the catalogue's phases: on DATA the
          // prediction would be mis-scaled by the antenna gains.
          if (o.subtractOutliers && column !== 'CORRECTED_DATA') log.debug(`${path.basename(msPath)}: imaging ${column}: bright sources outside the image are not subtracted (calibrated data only)`);
          if (o.subtractOutliers && column === 'CORRECTED_DATA' && m.meridianRa) {
            const { loadCalibratorCatalog } = await import('../calibration/catalog.js');
            const { findOutliers, subtractOutliers } = await import('../imaging/outliers.js');
            const { resolveOptions } = await import('../imaging/imager.js');
            const geom = resolveOptions(input, { nx: size, ny: size, cellRad, fovRad: o.fov * DEG, quick: o.quick }).geometry;
            const outliers = findOutliers(loadCalibratorCatalog(o.catalog), {
              geometry: geom, ra0, dec0, pointingRa: merRa, pointingDec: merDec, weights: pbWeights, freqHz: input.freq, minApparentJy: o.outlierMinFlux,
            });
            if (outliers.length) {
              subtractOutliers(input, outliers, ra0, dec0, merRa, merDec);
              outlierNote = outliers.map((s) => `${s.name} (${s.apparentJy.toFixed(2)} Jy apparent, ${s.offsetDeg.toFixed(2)} deg off)`).join(', ');
              log.info(`${path.basename(msPath)}: subtracted ${outliers.length} bright source(s) outside the image: ${outlierNote}`);
            }
          }
          const bar = progressBar(1, path.basename(msPath));
          const res = await imageVisibilities(input, {
            beamChunks,
            nx: size, ny: size, cellRad, fovRad: o.fov * DEG, quick: o.quick,
            weighting: o.weight, robust: o.robust, niter: o.niter, gain: o.gain, mgain: o.mgain,
            threshold: o.threshold, autoThreshold: o.autoThreshold, autoMask: o.noAutoMask || (o as { autoMask?: unknown }).autoMask === false ? null : o.autoMask,
            wStacking: o.wstacking, slant: o.slant, threads: o.threads,
          }, (pr) => bar.update(0, `${pr.stage}${pr.majorCycle !== undefined ? ' major ' + pr.majorCycle : ''}`));
          bar.stop();
          const tImage = performance.now();
          // The library reports milliseconds.
          const tm = Object.fromEntries(Object.entries(res.timings).map(([k, v]) => [k, v / 1000])) as typeof res.timings;
          const g = res.geometry;
          let bw = 0;
          for (const w of m.chanWidth) bw += w;
          const pb = primaryBeamFast(g, ra0, dec0, merRa, merDec, freqHz, 16, pbWeights);
          const pbcor = new Float32Array(res.image.length);
          for (let i = 0; i < pbcor.length; i++) pbcor[i] = pb[i]! >= o.pblimit ? res.image[i]! / pb[i]! : NaN;
          const tPb = performance.now();

          const outDir = path.resolve(o.outputDir ?? path.dirname(msPath));
          mkdirSync(outDir, { recursive: true });
          const stem = path.join(outDir, o.name ?? path.basename(msPath).replace(/\.ms\.zarr\/?$|\.zarr\/?$/, ''));
          const midMjd = (m.time[0]! + m.time[m.nTimes - 1]!) / 2 / 86400;
          const wcs = makeSinWcs({ raDeg: ra0 / DEG, decDeg: dec0 / DEG, cellDeg: g.cellRad / DEG, nx: g.nx, ny: g.ny, freqHz, bandwidthHz: bw, stokes: 1, pv: g.slant });
          const beam = { bmajDeg: res.beam.bmajRad / DEG, bminDeg: res.beam.bminRad / DEG, bpaDeg: res.beam.bpaDeg };
          const keywords = {
            NOISE: res.noiseJy, EXPNOISE: res.expectedNoiseJy, PEAK: res.peakJy, NITER: res.components, NMAJOR: res.majorCycles,
            WEIGHTNG: o.weight === 'briggs' ? `briggs ${o.robust}` : o.weight, DATACOL: column, PIPEVER: packageVersion(), MSNAME: path.basename(msPath),
          };
          const history = [`dsa110 image ${process.argv.slice(3).join(' ')}`.slice(0, 70), `MS ${msPath}`];
          if (outlierNote) history.push(`outliers subtracted: ${outlierNote}`);
          const hdr = (bunit: string, withBeam = true) => makeImageHeader({ wcs, bunit, beam: withBeam ? beam : undefined, mjdObs: midMjd, telescope: 'DSA_110', origin: `dsa110 ${packageVersion()}`, object: m.groupId, history, keywords });
          const shape = [g.nx, g.ny, 1, 1];
          const products: [string, Float32Array, string, boolean][] = [
            ['-psf.fits', res.psf, 'JY/BEAM', true],
            ['-model.fits', res.model, 'JY/PIXEL', false],
            ['-residual.fits', res.residual, 'JY/BEAM', true],
            ['-pb.fits', pb, '', false],
            ['-image-pb.fits', pbcor, 'JY/BEAM', true],
            ['-image.fits', res.image, 'JY/BEAM', true], // last: its presence means the set is complete
          ];
          for (const [suffix, data, bunit, withBeam] of products) {
            const f = stem + suffix;
            await writeFits(f, hdr(bunit, withBeam), data, shape);
            written.push(f);
          }
          if (o.png) {
            const png = imageToPngThumbnail(res.image, g.nx, g.ny, { maxSize: 1024, stretch: 'zscale' });
            await writeFileAtomic(stem + '-image.png', png);
            written.push(stem + '-image.png');
          }
          const tWrite = performance.now();
          const imagePath = stem + '-image.fits';
          const seconds = (tWrite - t0) / 1000;
          await appendHistory(msPath, { command: 'image', version: packageVersion(), args: process.argv.slice(2) });
          const reg = ctx.registry();
          reg.write(() => {
            upsertImage(reg, {
              path: imagePath, ms_path: msPath, group_id: m.groupId, mid_mjd: midMjd, ra_deg: ra0 / DEG, dec_deg: dec0 / DEG,
              nx: g.nx, ny: g.ny, cell_arcsec: (g.cellRad / DEG) * 3600, freq_hz: freqHz, bandwidth_hz: bw,
              noise_jy: res.noiseJy, peak_jy: res.peakJy, dynamic_range: res.peakJy / res.noiseJy,
              bmaj_deg: beam.bmajDeg, bmin_deg: beam.bminDeg, bpa_deg: beam.bpaDeg, pb_path: stem + '-pb.fits',
            });
            if (getMs(reg, msPath)) updateMs(reg, msPath, { status: 'imaged' });
            recordStage(reg, { command: 'image', product: imagePath, stage: 'total', seconds });
            recordStage(reg, { command: 'image', product: imagePath, stage: 'read', seconds: (tRead - t0) / 1000, bytes: input.vis.byteLength });
            recordStage(reg, { command: 'image', product: imagePath, stage: 'gridding', seconds: tm.gridding });
            recordStage(reg, { command: 'image', product: imagePath, stage: 'fft', seconds: tm.fft });
            recordStage(reg, { command: 'image', product: imagePath, stage: 'deconvolution', seconds: tm.deconvolution });
            recordStage(reg, { command: 'image', product: imagePath, stage: 'pb', seconds: (tPb - tImage) / 1000 });
            recordStage(reg, { command: 'image', product: imagePath, stage: 'write', seconds: (tWrite - tPb) / 1000 });
          });
          log.info(`${path.basename(msPath)}: ${g.nx}×${g.ny} at ${((g.cellRad / DEG) * 3600).toFixed(2)}″, ${res.components} components in ${res.majorCycles} major cycles, noise ${(res.noiseJy * 1e3).toFixed(3)} mJy/beam (expected ${(res.expectedNoiseJy * 1e3).toFixed(3)}), peak ${res.peakJy.toFixed(3)} Jy, ${seconds.toFixed(1)} s`,
            { column, usable: +stats.usable.toFixed(4), gridding_s: +tm.gridding.toFixed(2), fft_s: +tm.fft.toFixed(2), deconvolution_s: +tm.deconvolution.toFixed(2) });
          printProduct({
            path: imagePath, kind: 'image', ms: msPath, nx: g.nx, ny: g.ny, cell_arcsec: (g.cellRad / DEG) * 3600,
            noise_jy: res.noiseJy, expected_noise_jy: res.expectedNoiseJy, peak_jy: res.peakJy,
            bmaj_arcsec: beam.bmajDeg * 3600, bmin_arcsec: beam.bminDeg * 3600, bpa_deg: beam.bpaDeg,
            components: res.components, major_cycles: res.majorCycles, freq_hz: freqHz, seconds,
            timings: { read: (tRead - t0) / 1000, ...tm, pb: (tPb - tImage) / 1000, write: (tWrite - tPb) / 1000 },
          }, { json: o.json });
          ok++;
        } catch (e) {
          failed++;
          for (const f of written) rmSync(f, { force: true });
          if (e instanceof UsageError) throw e;
          const msg = e instanceof DsaError ? e.oneLine() : `${msPath}: ${(e as Error).message}`;
          log.error(msg);
          if (ctx.global.verbose && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
          try {
            const reg = ctx.registry();
            recordStage(reg, { command: 'image', product: msPath, stage: 'total', seconds: (performance.now() - t0) / 1000, ok: false, error: msg });
          } catch { /* registry problems must not hide the imaging error */ }
        }
      }
      if (failed && ok) return EXIT_PARTIAL;
      if (failed) return EXIT_FAILURE;
      return 0;
    }));
}
