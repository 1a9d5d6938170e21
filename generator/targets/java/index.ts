/** The Java target: caller library (Maven project). */
export { javaCallerTarget } from "./caller.js";
