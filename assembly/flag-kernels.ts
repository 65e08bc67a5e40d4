/**
 * AssemblyScript (compiled to WebAssembly with 128-bit SIMD by `npm run build`): the hot loops of
 * RFI detection on one [nTime][nChan] plane — the masked background fit with its residual
 * (src/flagging/background.ts maskedResidual), SumThreshold (sumthreshold.ts sumThreshold2D), the
 * timestep / channel RMS sums (rms.ts), the subsampled noise σ (stats.ts robustSigmaSampled), SIR
 * (sir.ts) and the strong-outlier mask (rfi.ts). Those TypeScript versions stay the reference and
 * the fallback (src/flagging/wasm.ts is the loader).
 *
 * Same arithmetic as the reference: every sum is a float64 sum of the float32 samples, in the
 * same order per element, and no fused multiply-add (wasm SIMD has none), so the background, the
 * residual, the RMS and SIR sums and every window sum are bit for bit those of the TypeScript
 * (medians: the same order statistics) — except that the reference SumThreshold restarts some
 * frequency-window sums at the start of a candidate range (its skipping), which can change a sum
 * in its last bit (see src/flagging/wasm.ts).
 *
 * Memory is this module's own (one instance per plane scratch, see src/flagging/wasm.ts): the
 * loader lays the arrays out and hands their byte offsets to setup(); nothing is allocated here.
 */

// ---- layout (byte offsets), set once per instance by setup() ----
let nTime: i32 = 0;
let nChan: i32 = 0;
/** Padded line widths of the two SumThreshold layouts (multiples of 8 lanes). */
let SA: i32 = 0; // layout A [t][c]: a time window runs down a column, 8 columns per step
let SB: i32 = 0; // layout B [c][t]: a frequency window runs along a row, 8 rows per step
let pAmp: usize = 0, pMask: usize = 0, pResid: usize = 0, pFlags: usize = 0;
let pVmA: usize = 0, pWA: usize = 0, pVmB: usize = 0, pWB: usize = 0;
let pTrip: usize = 0, pList: usize = 0, pColMax: usize = 0, pRowMax: usize = 0;
let pColDirty: usize = 0, pRowDirty: usize = 0, pThrT: usize = 0, pThrF: usize = 0;
// background
let dec: i32 = 1, nTd: i32 = 0, nBoxes: i32 = 0;
let pBoxes: usize = 0, pP: usize = 0, pPre: usize = 0, pBg: usize = 0, pSlope: usize = 0, pValid: usize = 0;
let pTapStart: usize = 0, pTapSrc: usize = 0, pG0: usize = 0, pG1: usize = 0, pG2: usize = 0;
let pCA: usize = 0, pCB: usize = 0, pRefW: usize = 0, pInvK: usize = 0, pDx: usize = 0;

export function setupPlane(nT: i32, nC: i32, sa: i32, sb: i32, amp: usize, mask: usize, resid: usize, flags: usize,
  vmA: usize, wA: usize, vmB: usize, wB: usize, trip: usize, list: usize, colMax: usize, rowMax: usize,
  colDirty: usize, rowDirty: usize, thrT: usize, thrF: usize): void {
  nTime = nT; nChan = nC; SA = sa; SB = sb;
  pAmp = amp; pMask = mask; pResid = resid; pFlags = flags;
  pVmA = vmA; pWA = wA; pVmB = vmB; pWB = wB; pTrip = trip; pList = list;
  pColMax = colMax; pRowMax = rowMax; pColDirty = colDirty; pRowDirty = rowDirty; pThrT = thrT; pThrF = thrF;
}

export function setupBackground(d: i32, ntd: i32, nbox: i32, boxes: usize, P: usize, pre: usize, bg: usize,
  slope: usize, valid: usize, tapStart: usize, tapSrc: usize, g0: usize, g1: usize, g2: usize,
  ca: usize, cb: usize, refW: usize, invK: usize, dx: usize): void {
  dec = d; nTd = ntd; nBoxes = nbox; pBoxes = boxes; pP = P; pPre = pre; pBg = bg; pSlope = slope; pValid = valid;
  pTapStart = tapStart; pTapSrc = tapSrc; pG0 = g0; pG1 = g1; pG2 = g2; pCA = ca; pCB = cb; pRefW = refW;
  pInvK = invK; pDx = dx;
}

// ---------------------------------------------------------------------------------------------
// Background: the block sums are kept as (Σv, Σw) pairs in one f64x2 (array P, [td][c]), so the
// box filter and the time fit treat values and weights in one vector operation.

/** 1. + 2. masked time-block sums, then the box cascade along frequency (background.ts). */
function blockSums(): void {
  const nC = nChan;
  const nP = nTd * nC;
  memory.fill(pP, 0, <usize>nP << 4);
  const one = f64x2.splat(1);
  for (let t = 0; t < nTime; t++) {
    const row = <usize>(t * nC);
    const drow = pP + (<usize>((t / dec) * nC) << 4);
    let c = 0;
    for (; c + 2 <= nC; c += 2) {
      // two channels: (v, 1) where unflagged, (0, 0) where flagged — adding +0 leaves a sum as
      // it is, so this is the reference's conditional sum
      const f = i64x2.extend_low_i32x4_s(i32x4.eq(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(
        v128.load16_splat(pMask + row + c))), i32x4.splat(0)));
      const V = v128.and(f64x2.promote_low_f32x4(v128.load64_zero(pAmp + ((row + c) << 2))), f);
      const W = v128.and(one, f);
      const q = drow + (<usize>c << 4);
      v128.store(q, f64x2.add(v128.load(q), i64x2.shuffle(V, W, 0, 2)));
      v128.store(q, f64x2.add(v128.load(q, 16), i64x2.shuffle(V, W, 1, 3)), 16);
    }
    for (; c < nC; c++) {
      if (load<u8>(pMask + row + c) != 0) continue;
      const q = drow + (<usize>c << 4);
      const v = f64x2.replace_lane(f64x2(0, 1), 0, <f64>load<f32>(pAmp + ((row + c) << 2)));
      v128.store(q, f64x2.add(v128.load(q), v));
    }
  }
  for (let td = 0; td < nTd; td++) {
    const row = pP + (<usize>(td * nC) << 4);
    for (let b = 0; b < nBoxes; b++) boxRow(row, nC, load<i32>(pBoxes + (<usize>b << 2)));
  }
}

/** In place: x[c] ← Σ_{|k|≤h} x[c + k] (zero outside the row), by prefix sums (boxRow). */
function boxRow(row: usize, n: i32, h: i32): void {
  let a = f64x2.splat(0);
  v128.store(pPre, a);
  for (let c = 0; c < n; c++) {
    a = f64x2.add(a, v128.load(row + (<usize>c << 4)));
    v128.store(pPre + (<usize>(c + 1) << 4), a);
  }
  for (let c = 0; c < n; c++) {
    const lo = c - h > 0 ? c - h : 0;
    const hi = c + h + 1 < n ? c + h + 1 : n;
    v128.store(row + (<usize>c << 4), f64x2.sub(v128.load(pPre + (<usize>hi << 4)), v128.load(pPre + (<usize>lo << 4))));
  }
}

/** 3. the local linear fit along time (fitTime); returns the number of invalid blocks. */
function isClean(c: i32): bool {
  for (let i = 0; i < nTd; i++) {
    const k = <usize>(i * nChan + c);
    if (f64x2.extract_lane(v128.load(pP + (k << 4)), 1) != load<f64>(pRefW + (k << 3))) return false;
  }
  return true;
}

/** The clean-channel fit (a fixed linear map of the values) of channels c, c + 1 at once. */
function fitCleanPair(c: i32): void {
  const nC = nChan;
  const ik = v128.load(pInvK + (<usize>c << 3));
  for (let td = 0; td < nTd; td++) {
    const o = <usize>(td * nC + c);
    const q0 = load<i32>(pTapStart + (<usize>td << 2));
    const e = load<i32>(pTapStart + (<usize>(td + 1) << 2));
    let a = f64x2.splat(0), b = f64x2.splat(0);
    for (let q = q0, i = load<i32>(pTapSrc + (<usize>q0 << 2)); q < e; q++, i++) {
      const pp = pP + (<usize>(i * nC + c) << 4);
      const v = i64x2.shuffle(v128.load(pp), v128.load(pp, 16), 0, 2); // (v_c, v_c+1)
      const qo = <usize>q << 3;
      a = f64x2.add(a, f64x2.mul(v128.load64_splat(pCA + qo), v));
      b = f64x2.add(b, f64x2.mul(v128.load64_splat(pCB + qo), v));
    }
    store<u16>(pValid + o, 0x0101);
    v128.store(pBg + (o << 3), f64x2.mul(a, ik));
    v128.store(pSlope + (o << 3), f64x2.mul(b, ik));
  }
}

/** 3. the local linear fit along time (fitTime); returns the number of invalid blocks. */
function fitTime(): i32 {
  const nC = nChan;
  let nInvalid = 0;
  let c = 0;
  while (c < nC) {
    const clean = isClean(c);
    if (clean && c + 1 < nC && isClean(c + 1)) { fitCleanPair(c); c += 2; continue; }
    nInvalid += fitChannel(c, clean);
    c++;
  }
  return nInvalid;
}

/** The fit of channel c alone: the clean map when clean, else the full weighted fit. */
function fitChannel(c: i32, clean: bool): i32 {
  const nC = nChan;
  let nInvalid = 0;
  if (clean) {
    const ik = load<f64>(pInvK + (<usize>c << 3));
    for (let td = 0; td < nTd; td++) {
      const o = <usize>(td * nC + c);
      const q0 = load<i32>(pTapStart + (<usize>td << 2));
      const e = load<i32>(pTapStart + (<usize>(td + 1) << 2));
      let a: f64 = 0, b: f64 = 0;
      for (let q = q0, i = load<i32>(pTapSrc + (<usize>q0 << 2)); q < e; q++, i++) {
        const v = f64x2.extract_lane(v128.load(pP + (<usize>(i * nC + c) << 4)), 0);
        a += load<f64>(pCA + (<usize>q << 3)) * v;
        b += load<f64>(pCB + (<usize>q << 3)) * v;
      }
      store<u8>(pValid + o, 1);
      store<f64>(pBg + (o << 3), a * ik);
      store<f64>(pSlope + (o << 3), b * ik);
    }
    return 0;
  }
  for (let td = 0; td < nTd; td++) {
    const o = <usize>(td * nC + c);
    const q0 = load<i32>(pTapStart + (<usize>td << 2));
    const e = load<i32>(pTapStart + (<usize>(td + 1) << 2));
    // (t0, s0), (t1, s1), (·, s2): the reference's five sums in three vectors
    let A0 = f64x2.splat(0), A1 = f64x2.splat(0), A2 = f64x2.splat(0);
    for (let q = q0, i = load<i32>(pTapSrc + (<usize>q0 << 2)); q < e; q++, i++) {
      const P = v128.load(pP + (<usize>(i * nC + c) << 4));
      const qo = <usize>q << 3;
      A0 = f64x2.add(A0, f64x2.mul(v128.load64_splat(pG0 + qo), P));
      A1 = f64x2.add(A1, f64x2.mul(v128.load64_splat(pG1 + qo), P));
      A2 = f64x2.add(A2, f64x2.mul(v128.load64_splat(pG2 + qo), P));
    }
    const t0 = f64x2.extract_lane(A0, 0), s0 = f64x2.extract_lane(A0, 1);
    const t1 = f64x2.extract_lane(A1, 0), s1 = f64x2.extract_lane(A1, 1);
    const s2 = f64x2.extract_lane(A2, 1);
    if (s0 <= 1e-12) {
      store<u8>(pValid + o, 0); store<f64>(pBg + (o << 3), 0); store<f64>(pSlope + (o << 3), 0);
      nInvalid++;
      continue;
    }
    store<u8>(pValid + o, 1);
    const det = s0 * s2 - s1 * s1;
    const mu = s1 / s0;
    if (det > 1e-6 * s0 * s2 && s2 > 0 && mu * mu <= 2.25 * (s2 / s0 - mu * mu)) {
      store<f64>(pBg + (o << 3), (s2 * t0 - s1 * t1) / det);
      store<f64>(pSlope + (o << 3), (s0 * t1 - s1 * t0) / det);
    } else {
      store<f64>(pBg + (o << 3), t0 / s0);
      store<f64>(pSlope + (o << 3), 0);
    }
  }
  return nInvalid;
}

/** Steps 1–3 on amp / mask; returns the number of invalid blocks (the caller fills them). */
export function backgroundFit(): i32 {
  blockSums();
  return fitTime();
}

/** 4'. resid = amp − (bg + dx·slope) of each sample's block, two channels per vector. */
export function backgroundResidual(): void {
  const nC = nChan;
  for (let t = 0; t < nTime; t++) {
    const td = t / dec;
    const dx = f64x2.splat(load<f64>(pDx + (<usize>t << 3)));
    const orow = <usize>(t * nC);
    const brow = <usize>(td * nC);
    let c = 0;
    for (; c + 2 <= nC; c += 2) {
      const bo = (brow + c) << 3;
      const fit = f64x2.add(v128.load(pBg + bo), f64x2.mul(dx, v128.load(pSlope + bo)));
      const ao = (orow + c) << 2;
      const v = f64x2.promote_low_f32x4(v128.load64_zero(pAmp + ao));
      v128.store64_lane(pResid + ao, f32x4.demote_f64x2_zero(f64x2.sub(v, fit)), 0);
    }
    for (; c < nC; c++) {
      const bo = (brow + c) << 3;
      const ao = (orow + c) << 2;
      const fit = load<f64>(pBg + bo) + f64x2.extract_lane(dx, 0) * load<f64>(pSlope + bo);
      store<f32>(pResid + ao, <f32>(<f64>load<f32>(pAmp + ao) - fit));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SumThreshold. Both layouts hold vm (the value as float64, 0 where flagged) and w (1 − flag, i32);
// a pass runs the windows of 4 lines at once (two f64x2 sums, one i32x4 count); a group of lines
// whose max |vm| is at most the threshold is skipped (no window mean can exceed it, as in the
// reference). Trips are collected (byte map + list, by plane index) and applied after the pass:
// all windows of a pass see the mask as it was before it, as in the reference. Line maxima only
// fall as flags are added, so a stale maximum is still a valid bound; touched lines are refreshed
// lazily, before the next pass along their axis.

let nList: i32 = 0;
let anyRowDirty = false;
let anyColDirty = false;

/** max |x| over n float64 (n even: lines are padded with zeros). pmax is one instruction. */
function maxAbsLine(p: usize, n: i32): f64 {
  let m0 = f64x2.splat(0), m1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const q = p + (<usize>i << 3);
    m0 = f64x2.pmax(m0, f64x2.abs(v128.load(q)));
    m1 = f64x2.pmax(m1, f64x2.abs(v128.load(q, 16)));
  }
  for (; i < n; i += 2) m0 = f64x2.pmax(m0, f64x2.abs(v128.load(p + (<usize>i << 3))));
  m0 = f64x2.pmax(m0, m1);
  return max(f64x2.extract_lane(m0, 0), f64x2.extract_lane(m0, 1));
}

/**
 * The two layouts and the line maxima of a new plane (values = resid, mask = flags). Both are
 * padded with zeros (never written) to whole 8 × 8 tiles, so the transpose needs no edge cases.
 */
function stInit(): void {
  const nC = nChan, nT = nTime;
  const one = i32x4.splat(1);
  for (let t = 0; t < nT; t++) {
    const row = <usize>(t * nC);
    const ra = <usize>(t * SA);
    let c = 0;
    for (; c + 4 <= nC; c += 4) {
      // 4 flags → 4 lanes of all-ones where unflagged
      const f = i32x4.eq(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(pFlags + row + c))), i32x4.splat(0));
      const v = v128.and(v128.load(pResid + ((row + c) << 2)), f);
      v128.store(pVmA + ((ra + c) << 3), f64x2.promote_low_f32x4(v));
      v128.store(pVmA + ((ra + c) << 3), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), 16);
      v128.store(pWA + ((ra + c) << 2), v128.and(f, one));
    }
    for (; c < nC; c++) {
      const f = load<u8>(pFlags + row + c) == 0;
      store<f64>(pVmA + ((ra + c) << 3), f ? <f64>load<f32>(pResid + ((row + c) << 2)) : 0);
      store<i32>(pWA + ((ra + c) << 2), f ? 1 : 0);
    }
  }
  // layout B = layout A transposed, by 4 × 4 tiles (2 × 2 blocks of f64x2, one i32x4 transpose)
  const sa8 = <usize>SA << 3, sb8 = <usize>SB << 3, sa4 = <usize>SA << 2, sb4 = <usize>SB << 2;
  for (let t0 = 0; t0 < nT; t0 += 4) {
    for (let c0 = 0; c0 < nC; c0 += 4) {
      const a = pVmA + <usize>(t0 * SA + c0) * 8;
      const b = pVmB + <usize>(c0 * SB + t0) * 8;
      for (let h = 0; h < 4; h += 2) {
        for (let g = 0; g < 4; g += 2) {
          // A rows t0+h, t0+h+1 at channels c0+g, c0+g+1 → B lines c0+g, c0+g+1 at t0+h, t0+h+1
          const x0 = v128.load(a + <usize>h * sa8 + (<usize>g << 3));
          const x1 = v128.load(a + <usize>(h + 1) * sa8 + (<usize>g << 3));
          v128.store(b + <usize>g * sb8 + (<usize>h << 3), i64x2.shuffle(x0, x1, 0, 2));
          v128.store(b + <usize>(g + 1) * sb8 + (<usize>h << 3), i64x2.shuffle(x0, x1, 1, 3));
        }
      }
      const wa = pWA + <usize>(t0 * SA + c0) * 4;
      const r0 = v128.load(wa), r1 = v128.load(wa + sa4), r2 = v128.load(wa + 2 * sa4), r3 = v128.load(wa + 3 * sa4);
      const u0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), u1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
      const u2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7), u3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
      const wb = pWB + <usize>(c0 * SB + t0) * 4;
      v128.store(wb, i64x2.shuffle(u0, u1, 0, 2));
      v128.store(wb + sb4, i64x2.shuffle(u0, u1, 1, 3));
      v128.store(wb + 2 * sb4, i64x2.shuffle(u2, u3, 0, 2));
      v128.store(wb + 3 * sb4, i64x2.shuffle(u2, u3, 1, 3));
    }
  }
  for (let t = 0; t < nT; t++) {
    store<f64>(pRowMax + (<usize>t << 3), maxAbsLine(pVmA + (<usize>(t * SA) << 3), SA));
    store<u8>(pRowDirty + t, 0);
  }
  for (let c = 0; c < nC; c++) {
    store<f64>(pColMax + (<usize>c << 3), maxAbsLine(pVmB + (<usize>(c * SB) << 3), SB));
    store<u8>(pColDirty + c, 0);
  }
  anyRowDirty = false;
  anyColDirty = false;
}

@inline function markTrip(idx: usize): void {
  if (load<u8>(pTrip + idx) == 0) {
    store<u8>(pTrip + idx, 1);
    store<i32>(pList + (<usize>nList << 2), <i32>idx);
    nList++;
  }
}

/**
 * Windows of length m over lines of layout (pVm, pW): nLines lines of L samples, line j's sample r
 * at [r·S + j] (S a multiple of 8, pads zero); pMax the line maxima; timeAxis: lines are channels
 * (layout A), else timesteps (layout B). Eight lines per step: four independent float64 chains
 * hide the add latency.
 */
function pass(pVm: usize, pW: usize, pMax: usize, S: i32, nLines: i32, L: i32, m: i32, thr: f64, timeAxis: bool): void {
  const strideV = <usize>S << 3;
  const strideW = <usize>S << 2;
  const thrV = f64x2.splat(thr);
  const zero = f64x2.splat(0);
  for (let j = 0; j < nLines; j += 8) {
    // skip 8 lines when none has an unflagged |v| > thr (float64 compare, as the reference)
    const mx = pMax + (<usize>j << 3);
    if (!v128.any_true(v128.or(
      v128.or(f64x2.gt(v128.load(mx), thrV), f64x2.gt(v128.load(mx, 16), thrV)),
      v128.or(f64x2.gt(v128.load(mx, 32), thrV), f64x2.gt(v128.load(mx, 48), thrV))))) continue;
    let s0 = zero, s1 = zero, s2 = zero, s3 = zero, c0 = i32x4.splat(0), c1 = i32x4.splat(0);
    let pv = pVm + (<usize>j << 3), pw = pW + (<usize>j << 2);
    for (let r = 0; r < m - 1; r++, pv += strideV, pw += strideW) {
      s0 = f64x2.add(s0, v128.load(pv));
      s1 = f64x2.add(s1, v128.load(pv, 16));
      s2 = f64x2.add(s2, v128.load(pv, 32));
      s3 = f64x2.add(s3, v128.load(pv, 48));
      c0 = i32x4.add(c0, v128.load(pw));
      c1 = i32x4.add(c1, v128.load(pw, 16));
    }
    let lv = pVm + (<usize>j << 3), lw = pW + (<usize>j << 2);
    for (let r = m - 1; r < L; r++, pv += strideV, pw += strideW, lv += strideV, lw += strideW) {
      s0 = f64x2.add(s0, v128.load(pv));
      s1 = f64x2.add(s1, v128.load(pv, 16));
      s2 = f64x2.add(s2, v128.load(pv, 32));
      s3 = f64x2.add(s3, v128.load(pv, 48));
      c0 = i32x4.add(c0, v128.load(pw));
      c1 = i32x4.add(c1, v128.load(pw, 16));
      // |Σ| > χ·count, the count exact in float64 as in the reference
      const t0 = f64x2.gt(f64x2.abs(s0), f64x2.mul(thrV, f64x2.convert_low_i32x4_s(c0)));
      const t1 = f64x2.gt(f64x2.abs(s1), f64x2.mul(thrV, f64x2.convert_low_i32x4_s(i32x4.shuffle(c0, c0, 2, 3, 0, 1))));
      const t2 = f64x2.gt(f64x2.abs(s2), f64x2.mul(thrV, f64x2.convert_low_i32x4_s(c1)));
      const t3 = f64x2.gt(f64x2.abs(s3), f64x2.mul(thrV, f64x2.convert_low_i32x4_s(i32x4.shuffle(c1, c1, 2, 3, 0, 1))));
      if (v128.any_true(v128.or(v128.or(t0, t1), v128.or(t2, t3)))) {
        // count > 0 too: a window of flagged samples never trips (round-off may leave Σ ≠ 0)
        const l = r - m + 1;
        const cnt = i32x4.gt_s(c0, i32x4.splat(0)), cnt1 = i32x4.gt_s(c1, i32x4.splat(0));
        const hit0 = v128.and(i32x4.shuffle(t0, t1, 0, 2, 4, 6), cnt);
        const hit1 = v128.and(i32x4.shuffle(t2, t3, 0, 2, 4, 6), cnt1);
        const bits = i32x4.bitmask(hit0) | (i32x4.bitmask(hit1) << 4);
        for (let q = 0; q < 8; q++) if ((bits >> q) & 1) markWindow(j + q, l, r, timeAxis);
      }
      s0 = f64x2.sub(s0, v128.load(lv));
      s1 = f64x2.sub(s1, v128.load(lv, 16));
      s2 = f64x2.sub(s2, v128.load(lv, 32));
      s3 = f64x2.sub(s3, v128.load(lv, 48));
      c0 = i32x4.sub(c0, v128.load(lw));
      c1 = i32x4.sub(c1, v128.load(lw, 16));
    }
  }
}

function markWindow(line: i32, l: i32, r: i32, timeAxis: bool): void {
  if (timeAxis) {
    if (line >= nChan) return;
    for (let t = l; t <= r; t++) markTrip(<usize>(t * nChan + line));
  } else {
    if (line >= nTime) return;
    const row = <usize>(line * nChan);
    for (let c = l; c <= r; c++) markTrip(row + c);
  }
}

/** The collected trips into flags and both layouts; the touched lines marked for a refresh. */
function applyTrips(): void {
  const nC = nChan;
  for (let q = 0; q < nList; q++) {
    const idx = <usize>load<i32>(pList + (<usize>q << 2));
    store<u8>(pTrip + idx, 0);
    if (load<u8>(pFlags + idx) != 0) continue;
    store<u8>(pFlags + idx, 1);
    const t = <i32>(idx / <usize>nC);
    const c = <i32>idx - t * nC;
    const a = <usize>(t * SA + c);
    const b = <usize>(c * SB + t);
    store<f64>(pVmA + (a << 3), 0); store<i32>(pWA + (a << 2), 0);
    store<f64>(pVmB + (b << 3), 0); store<i32>(pWB + (b << 2), 0);
    store<u8>(pRowDirty + t, 1);
    store<u8>(pColDirty + c, 1);
    anyRowDirty = true;
    anyColDirty = true;
  }
  nList = 0;
}

/** Recompute the max |value| of the dirty lines of one layout (rows of A, or columns = rows of B). */
function refreshLines(n: i32, pDirty: usize, pMax: usize, pVm: usize, stride: i32): void {
  for (let i = 0; i < n; i++) {
    if (load<u8>(pDirty + i) == 0) continue;
    store<u8>(pDirty + i, 0);
    store<f64>(pMax + (<usize>i << 3), maxAbsLine(pVm + (<usize>(i * stride) << 3), stride));
  }
}

function refreshRows(): void { refreshLines(nTime, pRowDirty, pRowMax, pVmA, SA); anyRowDirty = false; }

function refreshColumns(): void { refreshLines(nChan, pColDirty, pColMax, pVmB, SB); anyColDirty = false; }

/**
 * sumThreshold2D on resid (values) and flags (mask in, result out), thresholds per window length
 * index k in thrT / thrF (float64, computed by the caller exactly as the reference does).
 * skipFreq1: the length-1 frequency pass repeats the time one (same χ₁) and is left out.
 */
export function sumThreshold(doTime: bool, doFreq: bool, maxWindow: i32, skipFreq1: bool): void {
  stInit();
  nList = 0;
  const longest = max(doTime ? nTime : 0, doFreq ? nChan : 0);
  for (let m = 1, k = 0; m <= maxWindow && m <= longest; m *= 2, k++) {
    if (doTime && m <= nTime) {
      if (anyColDirty) refreshColumns();
      pass(pVmA, pWA, pColMax, SA, nChan, nTime, m, load<f64>(pThrT + (<usize>k << 3)), true);
      applyTrips();
    }
    if (doFreq && m <= nChan && !(m == 1 && skipFreq1)) {
      if (anyRowDirty) refreshRows();
      pass(pVmB, pWB, pRowMax, SB, nTime, nChan, m, load<f64>(pThrF + (<usize>k << 3)), false);
      applyTrips();
    }
  }
}

/** First free byte after this module's static data: the loader lays its arrays out from here. */
export function heapBase(): usize { return __heap_base; }

// ---------------------------------------------------------------------------------------------
// Statistics of the residual (rms.ts flagTimestepChannelRms's sums, stats.ts robustSigmaSampled).

let pTSum: usize = 0, pTCnt: usize = 0, pCSum: usize = 0, pCCnt: usize = 0, pSel: usize = 0;
let pKeys: usize = 0, pKeysB: usize = 0, pKeysC: usize = 0, pHist: usize = 0;

export function setupStats(tSum: usize, tCnt: usize, cSum: usize, cCnt: usize, sel: usize,
  keys: usize, keysB: usize, keysC: usize, hist: usize): void {
  pTSum = tSum; pTCnt = tCnt; pCSum = cSum; pCCnt = cCnt; pSel = sel;
  pKeys = keys; pKeysB = keysB; pKeysC = keysC; pHist = hist;
}

/**
 * The k-th smallest of keys[0..n) (unsigned), by radix selection on 11-bit digits from the top:
 * count the digits of the candidates, keep the bin holding rank k. Branch-free counting, unlike
 * quickselect's unpredictable comparisons. The k-th order statistic is unique, so this is the
 * value any exact selection returns.
 */
function radixSelect(n: i32, k: i32): u64 {
  let src = pKeys, dst = pKeysB;
  let cnt = n, kk = k;
  for (let shift: i32 = 53; cnt > 1; shift -= 11) {
    const sh = <u64>(shift > 0 ? shift : 0);
    const mask: u64 = shift > 0 ? 0x7ff : (<u64>1 << <u64>(11 + shift)) - 1;
    memory.fill(pHist, 0, 2048 << 2);
    for (let i = 0; i < cnt; i++) {
      const q = pHist + (<usize>((load<u64>(src + (<usize>i << 3)) >> sh) & mask) << 2);
      store<u32>(q, load<u32>(q) + 1);
    }
    let b: u64 = 0, cum = 0;
    for (;; b++) {
      const h = <i32>load<u32>(pHist + (<usize>b << 2));
      if (kk < cum + h) break;
      cum += h;
    }
    kk -= cum;
    let m = 0;
    for (let i = 0; i < cnt; i++) {
      const x = load<u64>(src + (<usize>i << 3));
      if (((x >> sh) & mask) == b) { store<u64>(dst + (<usize>m << 3), x); m++; }
    }
    cnt = m;
    src = dst;
    dst = dst == pKeysB ? pKeysC : pKeysB;
    if (shift <= 0) break;
  }
  return load<u64>(src);
}

/** Order-preserving float64 → u64 (finite values; −0 sorts just below +0). */
@inline function f64Key(x: f64): u64 {
  const b = reinterpret<u64>(x);
  return (b >> 63) != 0 ? ~b : b | 0x8000000000000000;
}

@inline function keyF64(k: u64): f64 {
  return reinterpret<f64>((k >> 63) != 0 ? k & 0x7fffffffffffffff : ~k);
}

/**
 * util/select.ts medianInPlace of the finite values sel[0..n): the middle order statistic, or the
 * mean of the two middle ones for even n (what medianInPlace returns: after its selection the
 * lower half holds the h smallest values, whose maximum is the (h − 1)-th).
 */
function medianRadix(n: i32): f64 {
  if (n <= 0) return NaN;
  for (let i = 0; i < n; i++) store<u64>(pKeys + (<usize>i << 3), f64Key(load<f64>(pSel + (<usize>i << 3))));
  const h = n >>> 1;
  const upper = keyF64(radixSelect(n, h));
  if (n & 1) return upper;
  return 0.5 * (keyF64(radixSelect(n, h - 1)) + upper);
}

/**
 * Per timestep and per channel: Σ resid² and the count over the samples unmasked in `flags`
 * (useMask = false) or `mask` (true), in the reference's order (rows along c, columns along t).
 * Four rows at a time, so that their four sequential row sums overlap.
 */
export function rmsSums(useMask: bool): void {
  const nC = nChan, nT = nTime;
  const pm = useMask ? pMask : pFlags;
  memory.fill(pCSum, 0, <usize>nC << 3);
  memory.fill(pCCnt, 0, <usize>nC << 2);
  for (let t0 = 0; t0 < nT; t0 += 4) {
    const g = min(4, nT - t0);
    let s0: f64 = 0, s1: f64 = 0, s2: f64 = 0, s3: f64 = 0;
    let n0 = 0, n1 = 0, n2 = 0, n3 = 0;
    for (let c = 0; c < nC; c++) {
      let cs = load<f64>(pCSum + (<usize>c << 3));
      let cn = load<i32>(pCCnt + (<usize>c << 2));
      let k = <usize>(t0 * nC + c);
      if (load<u8>(pm + k) == 0) { const v = <f64>load<f32>(pResid + (k << 2)); const q = v * v; s0 += q; n0++; cs += q; cn++; }
      if (g > 1) {
        k += <usize>nC;
        if (load<u8>(pm + k) == 0) { const v = <f64>load<f32>(pResid + (k << 2)); const q = v * v; s1 += q; n1++; cs += q; cn++; }
        if (g > 2) {
          k += <usize>nC;
          if (load<u8>(pm + k) == 0) { const v = <f64>load<f32>(pResid + (k << 2)); const q = v * v; s2 += q; n2++; cs += q; cn++; }
          if (g > 3) {
            k += <usize>nC;
            if (load<u8>(pm + k) == 0) { const v = <f64>load<f32>(pResid + (k << 2)); const q = v * v; s3 += q; n3++; cs += q; cn++; }
          }
        }
      }
      store<f64>(pCSum + (<usize>c << 3), cs);
      store<i32>(pCCnt + (<usize>c << 2), cn);
    }
    store<f64>(pTSum + (<usize>t0 << 3), s0); store<i32>(pTCnt + (<usize>t0 << 2), n0);
    if (g > 1) { store<f64>(pTSum + (<usize>(t0 + 1) << 3), s1); store<i32>(pTCnt + (<usize>(t0 + 1) << 2), n1); }
    if (g > 2) { store<f64>(pTSum + (<usize>(t0 + 2) << 3), s2); store<i32>(pTCnt + (<usize>(t0 + 2) << 2), n2); }
    if (g > 3) { store<f64>(pTSum + (<usize>(t0 + 3) << 3), s3); store<i32>(pTCnt + (<usize>(t0 + 3) << 2), n3); }
  }
}

/** k-th smallest of sel[0..n): util/select.ts selectKth, the same steps (so the same order). */
function selectKth(n: i32, k: i32): f64 {
  const a = pSel;
  let lo = 0, hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    let x = load<f64>(a + (<usize>lo << 3)), y = load<f64>(a + (<usize>mid << 3)), z = load<f64>(a + (<usize>hi << 3));
    if (x > y) { const t = x; x = y; y = t; }
    if (y > z) { y = z; if (x > y) y = x; }
    const pivot = y;
    let i = lo, j = hi;
    while (i <= j) {
      while (load<f64>(a + (<usize>i << 3)) < pivot) i++;
      while (load<f64>(a + (<usize>j << 3)) > pivot) j--;
      if (i <= j) {
        const t = load<f64>(a + (<usize>i << 3));
        store<f64>(a + (<usize>i << 3), load<f64>(a + (<usize>j << 3)));
        store<f64>(a + (<usize>j << 3), t);
        i++; j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return load<f64>(a + (<usize>k << 3));
  }
  return load<f64>(a + (<usize>k << 3));
}

/** util/select.ts medianInPlace on sel[0..n). */
function medianSel(n: i32): f64 {
  if (n <= 0) return NaN;
  const h = n >>> 1;
  const upper = selectKth(n, h);
  if (n & 1) return upper;
  let lower = -Infinity;
  for (let i = 0; i < h; i++) { const v = load<f64>(pSel + (<usize>i << 3)); if (v > lower) lower = v; }
  return 0.5 * (lower + upper);
}

/**
 * stats.ts robustSigmaSampled(resid, mask, ·) for a subsampling step > 1: 1.4826·MAD of every
 * step-th finite unmasked residual. −1 when fewer than 64 (the caller then uses the full set).
 */
export function robustSigmaSampled(step: i32): f64 {
  const len = nTime * nChan;
  let n = 0;
  for (let i = 0; i < len; i += step) {
    const v = <f64>load<f32>(pResid + (<usize>i << 2));
    if (load<u8>(pMask + i) == 0 && isFinite(v)) { store<f64>(pSel + (<usize>n << 3), v); n++; }
  }
  if (n < 64) return -1;
  const med = medianRadix(n);
  for (let i = 0; i < n; i++) { const q = pSel + (<usize>i << 3); store<f64>(q, abs(load<f64>(q) - med)); }
  return 1.482602218505602 * medianRadix(n);
}

// ---------------------------------------------------------------------------------------------
// SIR dilation (sir.ts sirOperator2D with its missing samples): the same float64 prefix sums and
// comparisons, so the same flags.

let pInput: usize = 0, pSW: usize = 0, pSMin: usize = 0, pSPos: usize = 0;
let pSCnt: usize = 0, pSColMiss: usize = 0, pSRowMiss: usize = 0;
const SIR_EPS: f64 = 1e-9;

export function setupSir(input: usize, w: usize, minW: usize, pos: usize, cnt: usize, colMiss: usize, rowMiss: usize): void {
  pInput = input; pSW = w; pSMin = minW; pSPos = pos; pSCnt = cnt; pSColMiss = colMiss; pSRowMiss = rowMiss;
}

/** sirDense: the sequence flags[off + k·stride] (byte offsets), no missing sample. */
function sirDense(off: usize, stride: usize, n: i32, eta: f64, need: i32): void {
  const etaM1 = eta - 1;
  store<f64>(pSW, 0);
  let w: f64 = 0, curMin: f64 = 0;
  let nFlagged = 0;
  let i = pFlags + off;
  for (let k = 0; k < n; k++, i += stride) {
    const f = load<u8>(i) != 0;
    nFlagged += <i32>f;
    w = w + (f ? eta : etaM1);
    store<f64>(pSW + (<usize>(k + 1) << 3), w);
    store<f64>(pSMin + (<usize>k << 3), curMin);
    if (w < curMin) curMin = w;
  }
  if (nFlagged < need || nFlagged == n) return;
  let curMax = -Infinity;
  i = pFlags + off + <usize>(n - 1) * stride;
  for (let k = n - 1; k >= 0; k--, i -= stride) {
    const wk = load<f64>(pSW + (<usize>(k + 1) << 3));
    if (wk > curMax) curMax = wk;
    if (curMax - load<f64>(pSMin + (<usize>k << 3)) >= -SIR_EPS) store<u8>(i, 1);
  }
}

/** sirStrided with the missing samples (input flags) left out of the sequence. */
function sirMissing(off: usize, stride: usize, n: i32, eta: f64, need: i32): void {
  let m = 0;
  let nFlagged = 0;
  let i = off;
  for (let k = 0; k < n; k++, i += stride) {
    if (load<u8>(pInput + i) == 0) {
      store<i32>(pSPos + (<usize>m << 2), <i32>i);
      m++;
      nFlagged += <i32>(load<u8>(pFlags + i) != 0);
    }
  }
  if (nFlagged < need || nFlagged == m) return;
  const etaM1 = eta - 1;
  let w: f64 = 0, curMin: f64 = 0;
  for (let k = 0; k < m; k++) {
    w = w + (load<u8>(pFlags + <usize>load<i32>(pSPos + (<usize>k << 2))) != 0 ? eta : etaM1);
    store<f64>(pSW + (<usize>(k + 1) << 3), w);
    store<f64>(pSMin + (<usize>k << 3), curMin);
    if (w < curMin) curMin = w;
  }
  let curMax = -Infinity;
  for (let k = m - 1; k >= 0; k--) {
    const wk = load<f64>(pSW + (<usize>(k + 1) << 3));
    if (wk > curMax) curMax = wk;
    if (curMax - load<f64>(pSMin + (<usize>k << 3)) >= -SIR_EPS) store<u8>(pFlags + <usize>load<i32>(pSPos + (<usize>k << 2)), 1);
  }
}

/**
 * sirOperator2D(flags, nTime, nChan, etaTime, etaFreq, useMissing ? input : undefined): along
 * time (each channel with at least needT flags), then along frequency. needT / needF are
 * minFlagsToGrow(η), from the caller.
 */
export function sir(etaTime: f64, etaFreq: f64, needT: i32, needF: i32, useMissing: bool): void {
  const nC = nChan, nT = nTime;
  memory.fill(pSCnt, 0, <usize>nC << 2);
  memory.fill(pSColMiss, 0, <usize>nC);
  memory.fill(pSRowMiss, 0, <usize>nT);
  for (let t = 0; t < nT; t++) {
    const row = <usize>(t * nC);
    let rm: u8 = 0;
    for (let c = 0; c < nC; c++) {
      const ms: u8 = useMissing && load<u8>(pInput + row + c) != 0 ? 1 : 0;
      const q = pSCnt + (<usize>c << 2);
      store<i32>(q, load<i32>(q) + (load<u8>(pFlags + row + c) != 0 && ms == 0 ? 1 : 0));
      store<u8>(pSColMiss + c, load<u8>(pSColMiss + c) | ms);
      rm |= ms;
    }
    store<u8>(pSRowMiss + t, rm);
  }
  if (etaTime > 0) {
    for (let c = 0; c < nC; c++) {
      if (load<i32>(pSCnt + (<usize>c << 2)) < needT) continue;
      if (load<u8>(pSColMiss + c) == 0) sirDense(<usize>c, <usize>nC, nT, etaTime, needT);
      else sirMissing(<usize>c, <usize>nC, nT, etaTime, needT);
    }
  }
  if (etaFreq > 0) {
    for (let t = 0; t < nT; t++) {
      if (load<u8>(pSRowMiss + t) == 0) sirDense(<usize>(t * nC), 1, nC, etaFreq, needF);
      else sirMissing(<usize>(t * nC), 1, nC, etaFreq, needF);
    }
  }
}

/**
 * rfi.ts maskStrongOutliers(amp, mask, n, k, ·): mask |= amp > median + k·1.4826·MAD of every
 * step-th unmasked amplitude (nothing when fewer than 16 or MAD = 0).
 */
export function maskStrongOutliers(step: i32, k: f64): void {
  const len = nTime * nChan;
  let m = 0;
  for (let i = 0; i < len; i += step) {
    if (load<u8>(pMask + i) == 0) { store<f64>(pSel + (<usize>m << 3), <f64>load<f32>(pAmp + (<usize>i << 2))); m++; }
  }
  if (m < 16) return;
  const med = medianSel(m);
  for (let i = 0; i < m; i++) { const q = pSel + (<usize>i << 3); store<f64>(q, abs(load<f64>(q) - med)); }
  const mad = medianSel(m);
  if (!(mad > 0)) return;
  const lim = med + k * 1.482602218505602 * mad;
  for (let i = 0; i < len; i++) if (<f64>load<f32>(pAmp + (<usize>i << 2)) > lim) store<u8>(pMask + i, 1);
}
