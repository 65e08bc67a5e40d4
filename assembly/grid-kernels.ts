/**
 * AssemblyScript (compiled to WebAssembly with 128-bit SIMD by `npm run build`): the two innermost
 * loops of the imager, spreading a visibility onto a w-plane's grid band and interpolating one
 * from it, for the default kernel support W = 5 with per-row taps precomputed in float32
 * (src/imaging/gridder.ts precomputeTaps). They are the same arithmetic as spreadTaps/interpTaps
 * in gridder.ts, which stay as the reference and fallback; V8 runs those scalar loops ~5× slower.
 *
 * Memory is imported and shared: the pool (src/imaging/parallel.ts) places the taps, the
 * visibilities and the grid band in it, and every gridding thread instantiates this module on it.
 * All pointers are byte offsets into that memory; row r's data sits at base + r·stride, as in the
 * typed arrays of gridder.ts. Grid cells are complex float32 [re, im].
 */

/**
 * grid[(k0v + a − rowLo)·Nu + k0u + b] += vis[r]·kv[a]·kw[iw]·ku[b] for the rows [visLo, visHi)
 * whose v taps reach grid rows [rowLo, rowHi) (the caller's band), a, b < 5.
 */
export function spread5(pK0: usize, pKu: usize, pKv: usize, pKw: usize, pVis: usize, pGrid: usize,
  Nu: i32, rowLo: i32, rowHi: i32, visLo: i32, visHi: i32, iw: i32): void {
  const rowStride = <usize>(8 * Nu);
  for (let r = visLo; r < visHi; r++) {
    const vp = pVis + (<usize>r << 3);
    const vr = load<f32>(vp), vi = load<f32>(vp, 4);
    if (vr == 0 && vi == 0) continue;
    const kp = pK0 + (<usize>r << 3);
    const k0u = load<i32>(kp), k0v = load<i32>(kp, 4);
    if (k0v + 5 <= rowLo || k0v >= rowHi) continue;
    const o = <usize>(20 * r);
    const wt = load<f32>(pKw + o + (<usize>iw << 2));
    const aLo = k0v < rowLo ? rowLo - k0v : 0, aHi = k0v + 5 > rowHi ? rowHi - k0v : 5;
    const pu = pKu + o;
    const u0 = load<f32>(pu), u1 = load<f32>(pu, 4), u2 = load<f32>(pu, 8), u3 = load<f32>(pu, 12), u4 = load<f32>(pu, 16);
    // [re, im] of cells b, b+1 in one vector: the taps as (u_b, u_b, u_b+1, u_b+1)
    const U01 = f32x4(u0, u0, u1, u1), U23 = f32x4(u2, u2, u3, u3), U4 = f32x4(u4, u4, 0, 0);
    const V = f32x4(vr * wt, vi * wt, vr * wt, vi * wt);
    let g = pGrid + <usize>(8 * ((k0v + aLo - rowLo) * Nu + k0u));
    const pv = pKv + o;
    for (let a = aLo; a < aHi; a++, g += rowStride) {
      const T = f32x4.mul(V, f32x4.splat(load<f32>(pv + (<usize>a << 2))));
      v128.store(g, f32x4.add(v128.load(g), f32x4.mul(T, U01)));
      v128.store(g, f32x4.add(v128.load(g, 16), f32x4.mul(T, U23)), 16);
      // the fifth cell alone (8 bytes): never touch the cell after it, another row may own it
      v128.store64_lane(g, f32x4.add(v128.load64_zero(g, 32), f32x4.mul(T, U4)), 0, 32);
    }
  }
}

/** Adjoint of spread5: vis[r] += Σ_ab grid[…]·ku[b]·kv[a]·kw[iw] over the taps inside [rowLo, rowHi). */
export function interp5(pK0: usize, pKu: usize, pKv: usize, pKw: usize, pVis: usize, pGrid: usize,
  Nu: i32, rowLo: i32, rowHi: i32, visLo: i32, visHi: i32, iw: i32): void {
  const rowStride = <usize>(8 * Nu);
  for (let r = visLo; r < visHi; r++) {
    const kp = pK0 + (<usize>r << 3);
    const k0u = load<i32>(kp), k0v = load<i32>(kp, 4);
    if (k0v + 5 <= rowLo || k0v >= rowHi) continue;
    const o = <usize>(20 * r);
    const aLo = k0v < rowLo ? rowLo - k0v : 0, aHi = k0v + 5 > rowHi ? rowHi - k0v : 5;
    const pu = pKu + o;
    const u0 = load<f32>(pu), u1 = load<f32>(pu, 4), u2 = load<f32>(pu, 8), u3 = load<f32>(pu, 12), u4 = load<f32>(pu, 16);
    const U01 = f32x4(u0, u0, u1, u1), U23 = f32x4(u2, u2, u3, u3), U4 = f32x4(u4, u4, 0, 0);
    let g = pGrid + <usize>(8 * ((k0v + aLo - rowLo) * Nu + k0u));
    const pv = pKv + o;
    let S = f32x4.splat(0);
    for (let a = aLo; a < aHi; a++, g += rowStride) {
      let R = f32x4.mul(v128.load(g), U01);
      R = f32x4.add(R, f32x4.mul(v128.load(g, 16), U23));
      R = f32x4.add(R, f32x4.mul(v128.load64_zero(g, 32), U4));
      S = f32x4.add(S, f32x4.mul(R, f32x4.splat(load<f32>(pv + (<usize>a << 2)))));
    }
    const wt = load<f32>(pKw + o + (<usize>iw << 2));
    const vp = pVis + (<usize>r << 3);
    store<f32>(vp, load<f32>(vp) + (f32x4.extract_lane(S, 0) + f32x4.extract_lane(S, 2)) * wt);
    store<f32>(vp, load<f32>(vp, 4) + (f32x4.extract_lane(S, 1) + f32x4.extract_lane(S, 3)) * wt, 4);
  }
}
