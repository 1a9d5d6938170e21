/**
 * `msec-gen generate --watch`: generate everything once, then regenerate the
 * outputs a change affects, until SIGINT / SIGTERM.
 *
 * An entry is affected by a change of a `.proto` file under its include
 * directories or its protos' folders (imports are found there), or of its
 * descriptor set. Changes are collected for {@link DEBOUNCE_MS} after the last
 * event, so an editor's save (often several events) is one run. A change of the
 * config file reloads it and regenerates everything. Errors (compile errors, a
 * broken config) are printed and watching goes on; the last good tree stays.
 * Events inside output directories are ignored (packages carry copies of their
 * `.proto` files).
 *
 * node:fs.watch with `recursive` (inotify on Linux, FSEvents on macOS) is
 * enough here: only the folders of the inputs are watched.
 */
import { type FSWatcher, watch } from "node:fs";
import path from "node:path";
import { type Config, type ConfigEntry, DEFAULT_CONFIG_FILE, loadConfig } from "./config-file.js";
import { type GenerateCommandOptions, type PackageCache, runConfig, shown } from "./config-run.js";
import { report } from "./report-error.js";

/** Quiet period after the last file event before regenerating. */
export const DEBOUNCE_MS = 150;

/** Folders whose `.proto` files (or descriptor set) an entry reads. */
function entryFolders(entry: ConfigEntry): string[] {
  const folders = [...((entry.options.include as string[] | undefined) ?? [])];
  if (entry.options.descriptorSetIn === undefined) folders.push(...entry.protos.map((p) => path.dirname(p)));
  else folders.push(path.dirname(entry.options.descriptorSetIn as string));
  return folders;
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

function affects(entry: ConfigEntry, file: string): boolean {
  if (entry.options.descriptorSetIn !== undefined && file === entry.options.descriptorSetIn) return true;
  return file.endsWith(".proto") && entryFolders(entry).some((dir) => isInside(file, dir));
}

/** The smallest set of folders covering `folders` (a folder inside another is watched through it). */
function topFolders(folders: readonly string[]): string[] {
  const unique = [...new Set(folders)].sort();
  return unique.filter((f) => !unique.some((other) => other !== f && isInside(f, other)));
}

export async function watchConfig(opts: GenerateCommandOptions): Promise<void> {
  const configPath = path.resolve(opts.config ?? DEFAULT_CONFIG_FILE);
  let config: Config = await loadConfig(configPath);
  const cache: PackageCache = new Map();
  let watchers: FSWatcher[] = [];
  const pending = new Set<string>();
  let configChanged = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const generateSome = async (entries: readonly ConfigEntry[], why: string): Promise<void> => {
    const started = performance.now();
    process.stderr.write(`msec-gen: ${why}: generating ${entries.length} output${entries.length === 1 ? "" : "s"}\n`);
    try {
      // Entries sharing an output folder with these and never generated yet are generated too:
      // the folder's manifest covers all of its packages.
      const outs = new Set(entries.map((e) => e.out));
      const extra = config.entries.filter((e) => outs.has(e.out) && !entries.includes(e) && !cache.has(e.index));
      await runConfig(config, [...entries, ...extra].sort((a, b) => a.index - b.index), { ...opts, watch: false }, cache);
      process.stderr.write(`msec-gen: done in ${Math.round(performance.now() - started)} ms; watching\n`);
    } catch (e) {
      report(e);
      process.stderr.write("msec-gen: watching (fix the error and save)\n");
    }
  };

  const rewatch = (): void => {
    for (const w of watchers) w.close();
    watchers = [];
    // .proto folders recursively; the config file's folder alone (not a whole project tree) unless covered
    const folders = topFolders(config.entries.flatMap(entryFolders));
    const configFolder = path.dirname(config.file);
    const watched = folders.map((folder) => ({ folder, recursive: true }));
    if (!folders.some((f) => isInside(configFolder, f))) watched.push({ folder: configFolder, recursive: false });
    for (const { folder, recursive } of watched) {
      try {
        const w = watch(folder, { recursive }, (_event, name) => {
          if (name === null) return;
          onChange(path.join(folder, name.toString()));
        });
        w.on("error", (e) => process.stderr.write(`msec-gen: warning: watching ${shown(folder)}: ${e.message}\n`));
        watchers.push(w);
      } catch (e) {
        process.stderr.write(`msec-gen: warning: cannot watch ${shown(folder)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      }
    }
    process.stderr.write(`msec-gen: watching ${folders.map(shown).join(", ")} for .proto changes and ${shown(config.file)} (Ctrl-C stops)\n`);
  };

  const onChange = (file: string): void => {
    if (file === config.file) configChanged = true;
    else if (config.entries.some((e) => isInside(file, e.out))) return;
    else if (config.entries.some((e) => affects(e, file))) pending.add(file);
    else return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(flush);
    }, DEBOUNCE_MS);
  };

  const flush = async (): Promise<void> => {
    if (configChanged) {
      configChanged = false;
      pending.clear();
      try {
        config = await loadConfig(configPath);
      } catch (e) {
        report(e);
        process.stderr.write("msec-gen: keeping the previous config; watching\n");
        return;
      }
      cache.clear();
      rewatch();
      await generateSome(config.entries, `${shown(config.file)} changed`);
      return;
    }
    const files = [...pending];
    pending.clear();
    const entries = config.entries.filter((e) => files.some((f) => affects(e, f)));
    if (entries.length > 0) await generateSome(entries, `${files.map(shown).join(", ")} changed`);
  };

  rewatch();
  await generateSome(config.entries, "start");
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
      void running.then(() => resolve());
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
