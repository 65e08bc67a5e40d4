/**
 * The dsa110 commander program: global options, the registered commands, and usage errors as
 * one line with exit code 2.
 */
import { Command, CommanderError, Option } from 'commander';
import { packageVersion } from './util/config.js';
import { EXIT_USAGE } from './util/errors.js';
import { register as registerRegistry } from './commands/registry.js';
import { register as registerSimulate } from './commands/simulate.js';
import { register as registerPhotometry } from './commands/photometry.js';
import { register as registerMosaic } from './commands/mosaic.js';
import { register as registerCalibrate } from './commands/calibrate.js';
import { register as registerApply } from './commands/apply.js';
import { register as registerFlag } from './commands/flag.js';
import { register as registerImage } from './commands/image.js';
import { register as registerConvert } from './commands/convert.js';
import { register as registerHousekeep } from './commands/housekeep.js';

export function buildProgram(): Command {
  const program = new Command('dsa110');
  program
    .description('DSA-110 continuum imaging pipeline: composable commands over UVH5, MS (Zarr) tables, FITS and one SQLite registry')
    .version(packageVersion(), '-V, --version')
    .option('-q, --quiet', 'only errors on stderr')
    .option('-v, --verbose', 'debug logs and stack traces on stderr')
    .addOption(new Option('--log-format <format>', 'stderr log format').choices(['text', 'json']).default('text'))
    .option('--no-color', 'never colour stderr (colour is only used on a TTY without NO_COLOR anyway)')
    .option('--db <path>', 'registry database (env PIPELINE_DB; default $PIPELINE_STATE_DIR/db/pipeline.sqlite3)')
    .option('--state-dir <dir>', 'state directory (env PIPELINE_STATE_DIR; default ./state)')
    .showSuggestionAfterError(true)
    .enablePositionalOptions(false);

  registerConvert(program);
  registerFlag(program);
  registerCalibrate(program);
  registerApply(program);
  registerImage(program);
  registerHousekeep(program);
  registerPhotometry(program);
  registerMosaic(program);
  registerRegistry(program);
  registerSimulate(program);

  // Usage errors: one line, exit 2. Help and --version: exit 0.
  const applyToAll = (c: Command): void => {
    c.exitOverride();
    c.configureOutput({
      writeErr: (s) => process.stderr.write(s.replace(/\n(?=.)/g, ' ').replace(/\s+$/, '') + '\n'),
      outputError: (s, write) => write(`${fullName(c)}: ${s.replace(/^error: /, '').trim()}`),
    });
    for (const sub of c.commands) applyToAll(sub);
  };
  applyToAll(program);
  return program;
}

function fullName(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      const ok = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help';
      process.exitCode = ok ? 0 : EXIT_USAGE;
      return;
    }
    throw e;
  }
}
