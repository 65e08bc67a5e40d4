/**
 * Forward-only schema migrations. PRAGMA user_version records how many have been applied.
 * Never edit a released migration: add a new one. Times are MJD days (UTC) throughout.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'core schema: ingest, products, calibration, photometry, operations',
    sql: `
CREATE TABLE hdf5_files (
  id            INTEGER PRIMARY KEY,
  path          TEXT NOT NULL UNIQUE,
  group_id      TEXT,
  subband       INTEGER,
  timestamp_mjd REAL,
  size          INTEGER,
  mtime         REAL,
  status        TEXT NOT NULL DEFAULT 'indexed'
                CHECK (status IN ('indexed','grouped','converted','failed','missing','deleted')),
  error         TEXT,
  indexed_at    REAL NOT NULL
);
CREATE TABLE processing_queue (
  group_id           TEXT PRIMARY KEY,
  state              TEXT NOT NULL CHECK (state IN ('collecting','pending','in_progress','completed','failed')),
  expected_subbands  INTEGER NOT NULL DEFAULT 16,
  received_subbands  INTEGER NOT NULL DEFAULT 0,
  missing_subbands   TEXT,
  retry_count        INTEGER NOT NULL DEFAULT 0,
  error              TEXT,
  claimed_by         TEXT,
  ms_path            TEXT,
  created_at         REAL NOT NULL,
  updated_at         REAL NOT NULL,
  started_at         REAL,
  completed_at       REAL
);
CREATE TABLE ms_index (
  id            INTEGER PRIMARY KEY,
  path          TEXT NOT NULL UNIQUE,
  group_id      TEXT,
  start_mjd     REAL,
  end_mjd       REAL,
  mid_mjd       REAL,
  ra_deg        REAL,
  dec_deg       REAL,
  n_times       INTEGER,
  n_baselines   INTEGER,
  n_chan        INTEGER,
  n_pol         INTEGER,
  size_bytes    INTEGER,
  status        TEXT NOT NULL DEFAULT 'converted'
                CHECK (status IN ('converted','flagged','calibrated','imaged','failed','deleted')),
  flag_fraction REAL,
  cal_set       TEXT,
  created_at    REAL NOT NULL,
  updated_at    REAL NOT NULL
);
CREATE TABLE caltables (
  id                INTEGER PRIMARY KEY,
  set_name          TEXT NOT NULL,
  path              TEXT NOT NULL UNIQUE,
  type              TEXT NOT NULL CHECK (type IN ('K','BP','G')),
  apply_order       INTEGER NOT NULL,
  valid_start_mjd   REAL NOT NULL,
  valid_end_mjd     REAL NOT NULL,
  refant            TEXT,
  status            TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','retired','failed')),
  source_ms         TEXT,
  calibrator        TEXT,
  snr_median        REAL,
  flagged_fraction  REAL,
  phase_rms_deg     REAL,
  n_antennas_good   INTEGER,
  qa                TEXT,
  created_at        REAL NOT NULL
);
CREATE TABLE images (
  id            INTEGER PRIMARY KEY,
  path          TEXT NOT NULL UNIQUE,
  ms_path       TEXT,
  group_id      TEXT,
  mid_mjd       REAL,
  ra_deg        REAL,
  dec_deg       REAL,
  nx            INTEGER,
  ny            INTEGER,
  cell_arcsec   REAL,
  freq_hz       REAL,
  bandwidth_hz  REAL,
  noise_jy      REAL,
  peak_jy       REAL,
  dynamic_range REAL,
  bmaj_deg      REAL,
  bmin_deg      REAL,
  bpa_deg       REAL,
  pb_path       TEXT,
  status        TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok','failed','deleted')),
  created_at    REAL NOT NULL
);
CREATE TABLE mosaics (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  path          TEXT,
  tier          TEXT NOT NULL DEFAULT 'science' CHECK (tier IN ('quicklook','science','deep')),
  start_mjd     REAL,
  end_mjd       REAL,
  dec_min_deg   REAL,
  dec_max_deg   REAL,
  ra_deg        REAL,
  dec_deg       REAL,
  noise_jy      REAL,
  coverage_deg2 REAL,
  n_members     INTEGER NOT NULL DEFAULT 0,
  status        TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned','built','failed','deleted')),
  error         TEXT,
  created_at    REAL NOT NULL,
  built_at      REAL
);
CREATE TABLE mosaic_members (
  mosaic_id  INTEGER NOT NULL REFERENCES mosaics(id) ON DELETE CASCADE,
  image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  weight     REAL,
  PRIMARY KEY (mosaic_id, image_id)
);
CREATE TABLE sources (
  id               INTEGER PRIMARY KEY,
  name             TEXT NOT NULL UNIQUE,
  ra_deg           REAL NOT NULL,
  dec_deg          REAL NOT NULL,
  catalog_flux_mjy REAL,
  catalog_snr      REAL,
  resolved         INTEGER NOT NULL DEFAULT 0,
  is_reference     INTEGER NOT NULL DEFAULT 0,
  created_at       REAL NOT NULL
);
CREATE TABLE photometry (
  id            INTEGER PRIMARY KEY,
  source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  image_path    TEXT NOT NULL,
  mjd           REAL NOT NULL,
  flux_jy       REAL,
  flux_err_jy   REAL,
  norm_flux_jy  REAL,
  norm_err_jy   REAL,
  local_rms_jy  REAL,
  snr           REAL,
  chi2          REAL,
  pb            REAL,
  created_at    REAL NOT NULL,
  UNIQUE (source_id, image_path)
);
CREATE TABLE variability (
  source_id   INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
  n           INTEGER NOT NULL,
  mean_jy     REAL,
  std_jy      REAL,
  v           REAL,
  eta         REAL,
  chi2_nu     REAL,
  sigma_dev   REAL,
  vs_max      REAL,
  m_max       REAL,
  updated_at  REAL NOT NULL
);
CREATE TABLE ese_candidates (
  id          INTEGER PRIMARY KEY,
  source_id   INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  preset      TEXT NOT NULL,
  sigma_dev   REAL,
  chi2_nu     REAL,
  eta         REAL,
  start_mjd   REAL,
  end_mjd     REAL,
  depth       REAL,
  status      TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new','reviewed','rejected')),
  detected_at REAL NOT NULL,
  UNIQUE (source_id, preset)
);
CREATE TABLE stage_metrics (
  id          INTEGER PRIMARY KEY,
  command     TEXT NOT NULL,
  product     TEXT,
  stage       TEXT,
  seconds     REAL NOT NULL,
  bytes       INTEGER,
  ok          INTEGER NOT NULL DEFAULT 1,
  error       TEXT,
  created_at  REAL NOT NULL
);
`,
  },
  {
    version: 2,
    description: 'indexes for the time/state look-ups every command does; retention bookkeeping',
    sql: `
CREATE INDEX idx_hdf5_group ON hdf5_files(group_id);
CREATE INDEX idx_queue_state ON processing_queue(state, group_id);
CREATE INDEX idx_ms_mid ON ms_index(mid_mjd);
CREATE INDEX idx_cal_valid ON caltables(status, valid_start_mjd, valid_end_mjd);
CREATE INDEX idx_cal_set ON caltables(set_name);
CREATE INDEX idx_images_mid ON images(mid_mjd);
CREATE INDEX idx_phot_source ON photometry(source_id, mjd);
CREATE INDEX idx_metrics_cmd ON stage_metrics(command, created_at);
ALTER TABLE ms_index ADD COLUMN deleted_at REAL;
ALTER TABLE images ADD COLUMN deleted_at REAL;
ALTER TABLE mosaics ADD COLUMN deleted_at REAL;
ALTER TABLE caltables ADD COLUMN deleted_at REAL;
`,
  },
  {
    version: 3,
    description: 'photometry: per-image record (time, pointing, beam, normalisation), row change times, more variability figures',
    sql: `
ALTER TABLE photometry ADD COLUMN updated_at REAL;
ALTER TABLE photometry ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
UPDATE photometry SET updated_at = created_at;
CREATE INDEX idx_phot_image ON photometry(image_path);
CREATE TABLE photometry_images (
  image_path      TEXT PRIMARY KEY,
  mjd             REAL NOT NULL,
  ra_deg          REAL,
  dec_deg         REAL,
  noise_jy        REAL,
  bmaj_deg        REAL,
  bmin_deg        REAL,
  bpa_deg         REAL,
  pb_path         TEXT,
  n_measured      INTEGER NOT NULL DEFAULT 0,
  n_skipped       INTEGER NOT NULL DEFAULT 0,
  median_snr      REAL,
  field_ra_deg    REAL,
  field_dec_deg   REAL,
  norm_factor     REAL,
  norm_factor_err REAL,
  norm_n_refs     INTEGER,
  norm_flag       INTEGER,
  measured_at     REAL NOT NULL,
  normalized_at   REAL
);
CREATE INDEX idx_photimg_mjd ON photometry_images(mjd);
ALTER TABLE variability ADD COLUMN median_jy REAL;
ALTER TABLE variability ADD COLUMN weighted_mean_jy REAL;
ALTER TABLE variability ADD COLUMN sigma_dev_std REAL;
ALTER TABLE variability ADD COLUMN vs_start_mjd REAL;
ALTER TABLE variability ADD COLUMN vs_end_mjd REAL;
ALTER TABLE variability ADD COLUMN normalized INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ese_candidates ADD COLUMN n INTEGER;
ALTER TABLE ese_candidates ADD COLUMN significance REAL;
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
