/** UVH5 (AIPS) polarisation codes → Measurement Set Stokes enums. */
const AIPS_TO_STOKES: Record<number, number> = {
  1: 1, 2: 2, 3: 3, 4: 4, // I Q U V
  [-1]: 5, [-2]: 8, [-3]: 6, [-4]: 7, // RR LL RL LR → RR(5) RL(6) LR(7) LL(8)
  [-5]: 9, [-6]: 12, [-7]: 10, [-8]: 11, // XX YY XY YX → XX(9) XY(10) YX(11) YY(12)
};

export function aipsToStokes(codes: Int32Array, subject: string): Int32Array {
  const out = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const s = AIPS_TO_STOKES[codes[i]!];
    if (s === undefined) throw new Error(`${subject}: unknown polarization code ${codes[i]}`);
    out[i] = s;
  }
  return out;
}
