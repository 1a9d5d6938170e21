/**
 * An error caused by the user's input (bad file, bad option, compile error).
 * The CLI prints its message and exits with code 1; any other exception is a
 * bug and exits with code 2.
 */
export class UserError extends Error {
  override readonly name: string = "UserError";
}

/**
 * `.proto` compile errors: the message is one `path:line:col: message` line per
 * error, printed as is (no prefix) so editors and CI can parse it.
 */
export class CompileError extends UserError {
  override readonly name: string = "CompileError";
}
