/** Member selection of a mosaic plan: the noise-outlier rule (plan.ts). */
import { describe, expect, it } from 'vitest';
import { selectMembers } from '../../src/mosaic/plan.js';

const cands = (noiseMjy: number[]) => noiseMjy.map((n, i) => ({ id: i + 1, noise_jy: n / 1000, mid_mjd: 60950 + i * 0.0036, ra_deg: 180 + i, dec_deg: 30 }));

describe('mosaic members: noise outliers', () => {
  it('a 6-group night of alike groups keeps a group 1.3× the median (the inverse-variance weight handles it)', () => {
    const s = selectMembers(cands([3.38, 4.37, 4.03, 5.48, 4.24, 3.95]), 'quicklook');
    expect(s.outliers).toEqual([]);
    expect(s.selected.length).toBe(6);
    expect(s.threshold! * 1000).toBeCloseTo(1.5 * 4.135, 6); // the floor: 3 MADs would be 5.07 mJy
  });
  it('rejects a group ruined by an undeconvolved source (3.7× the median)', () => {
    const s = selectMembers(cands([3.38, 4.37, 15.46, 5.48, 4.24, 3.95]), 'quicklook');
    expect(s.outliers.map((c) => c.id)).toEqual([3]);
  });
  it('with widely spread noise the MAD rule is the stricter one and applies', () => {
    const s = selectMembers(cands([2, 4, 6, 8, 30]), 'science');
    // median 6, MAD 2 → 6 + 3·1.4826·2 = 14.9 > 1.5·6
    expect(s.threshold! * 1000).toBeCloseTo(6 + 3 * 1.4826 * 2, 6);
    expect(s.outliers.map((c) => c.id)).toEqual([5]);
  });
});
