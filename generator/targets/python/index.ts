/** The Python target: `_pb2` modules written from descriptors (no protoc). */
export { defaultPythonModuleName, writePb2Module } from "./pb2-module.js";
export type { Pb2ModuleInput, PythonModuleNameOf } from "./pb2-module.js";
export { pythonCallerTarget } from "./caller.js";
