/**
 * Where a source is seen from the site: the hour-angle/declination helpers used by the
 * simulator and the calibrator-transit code. Implemented in frames.ts; re-exported here so
 * callers can import them by purpose.
 */
export { sourceHaDec, hadecToIcrs, meridianIcrs, icrsToApparent, apparentToIcrs, type Eop } from './frames.js';
