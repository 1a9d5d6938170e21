/**
 * `@bufbuild/protoplugin`, loaded as CommonJS.
 *
 * Its ESM build imports the 9 MB CommonJS `typescript` package, and Node scans
 * the whole of it for named exports on every ESM import (≈0.3 s of CPU on each
 * `msec-gen` run, measured). `require` skips that scan. protoc-gen-es, which the
 * TypeScript target runs in-process, is CommonJS already, so this also keeps
 * one copy of protoplugin in the process. Types come from the package as usual.
 */
import { createRequire } from "node:module";
import type * as Protoplugin from "@bufbuild/protoplugin";

const protoplugin = createRequire(import.meta.url)("@bufbuild/protoplugin") as typeof Protoplugin;

export const { createEcmaScriptPlugin, getComments, safeIdentifier } = protoplugin;
