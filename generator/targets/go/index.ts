/** The Go target: caller library (Go module). */
export { goCallerTarget } from "./caller.js";
