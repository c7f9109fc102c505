// The command line of the real-film check scripts (film-kinds.mjs, growth-plates.mjs):
//   <folder of films> <list.csv: file,shows> [models folder] [--films]
// and the list, counted by eye (docs/eval/real-films/): one row per film, what it shows.
import { readFileSync } from 'node:fs';

/** The folder, the list's rows, the models folder and --films; exits 2 with the usage when the first two are missing. */
export function filmListArgs(script) {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const [dir, list, modelsDir = 'models'] = args;
  if (!dir || !list) {
    console.error(`usage: node scripts/${script} <folder of films> <list.csv: file,shows> [models] [--films]`);
    process.exit(2);
  }
  const rows = readFileSync(list, 'utf8').trim().split(/\r?\n/).slice(1).map((l) => {
    const i = l.indexOf(',');
    return { file: l.slice(0, i), shows: l.slice(i + 1).replace(/^"|"$/g, '') };
  });
  return { dir, rows, modelsDir, perFilm: process.argv.includes('--films') };
}

/** The list names a PA hand on the film (alone, or beside another view). */
export const showsPaHand = (shows) => /hand, PA|one a PA hand/.test(shows);
/** The list names a PA wrist or finger film (alone, or beside another view): a partial PA view. */
export const showsPaPartial = (shows) => /(wrist|finger)/.test(shows) && /\bPA\b/.test(shows);
