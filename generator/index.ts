/**
 * msec-gen library API (the package root export). Importing it has no side
 * effects; `generate` returns files, `writeOutput` writes them.
 *
 * ```ts
 * import { generate, writeOutput } from "msec-gen";
 * const files = await generate({ kind: "server", protos: ["MainLogic.proto"], name: "VOA.MainLogic" });
 * await writeOutput(files, "out", false); // out/VOA.MainLogic-server-ts.tgz
 * ```
 */
export { generate, generateFromModel, loadModel, type GenerateOptions } from "./generate.js";
export { writeOutput, type WriteResult } from "./output.js";
export { createTarball } from "./tarball.js";
export {
  MANIFEST_FILE,
  checkOutput,
  formatManifest,
  managedPackage,
  manifestFor,
  readManifest,
  syncOutput,
  type CheckReport,
  type ManagedPackage,
  type Manifest,
  type SyncReport,
} from "./managed-output.js";
export { bumpFor, compareDescriptorSets, nextVersion, type Break, type Bump, type Comparison } from "./breaking.js";
export { compileProtos, readDescriptorSet, type CompileInput } from "./front-end.js";
export { buildModel } from "./model.js";
export type { Comments, MessageRef, MethodModel, ModelInput, ProtoFileModel, ProtoModel, ServiceModel } from "./model.js";
export type { GeneratedFile, Target, TargetKind, TargetOptions } from "./target.js";
export { findTarget, targetLanguages } from "./target-registry.js";
export { defaultRoutingName, validateRoutingName } from "./routing-name.js";
export { generatorVersion } from "./package-root.js";
export { CompileError, UserError } from "./user-error.js";
