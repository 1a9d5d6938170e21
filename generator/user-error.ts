/**
 * An error caused by the user's input (bad file, bad option, compile error).
 * The CLI prints its message as is and exits with code 1; any other exception
 * is a bug and exits with code 2.
 */
export class UserError extends Error {
  override readonly name = "UserError";
}
