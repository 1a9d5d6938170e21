/** The PHP target: a Composer caller package (protoc's PHP messages, typed clients on msec-gen/runtime). */
export { phpCallerTarget } from "./caller.js";
