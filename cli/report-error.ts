/** How the CLI turns an exception into what the user sees and an exit code (documented in docs/cli.md). */
import { CommanderError } from "commander";
import { CompileError, UserError } from "../generator/user-error.js";

/** Exit codes, documented in docs/cli.md. */
export const EXIT_OK = 0;
export const EXIT_USER_ERROR = 1;
export const EXIT_INTERNAL_ERROR = 2;

/** Ends a command with a non-zero exit code after it has printed its own result (e.g. a failed `generate --check`). */
export class ExitWith extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Print an error the way users should see it and return the exit code. */
export function report(e: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  if (e instanceof ExitWith) return e.exitCode;
  if (e instanceof CommanderError) {
    // commander already printed the message (or the help / version text)
    return e.exitCode === 0 ? EXIT_OK : EXIT_USER_ERROR;
  }
  if (e instanceof CompileError) {
    write(`${e.message}\n`);
    return EXIT_USER_ERROR;
  }
  if (e instanceof UserError) {
    write(`msec-gen: error: ${e.message}\n`);
    return EXIT_USER_ERROR;
  }
  const stack = e instanceof Error ? (e.stack ?? e.message) : String(e);
  write(`msec-gen: internal error (a bug in msec-gen; please report it with the command line):\n${stack}\n`);
  return EXIT_INTERNAL_ERROR;
}
