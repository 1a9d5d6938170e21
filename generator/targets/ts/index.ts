/** The TypeScript targets: server dev package and caller library. */
export { tsServerTarget } from "./server.js";
export { tsCallerTarget } from "./caller.js";
