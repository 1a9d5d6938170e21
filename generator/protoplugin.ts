/**
 * `@bufbuild/protoplugin`, loaded as CommonJS, with its generated-name and
 * comment lookups answered from per-file maps (protoplugin-names.ts,
 * protoplugin-comments.ts): generation time linear instead of quadratic in
 * the number of types in a file.
 *
 * Its ESM build imports the 9 MB CommonJS `typescript` package, and Node scans
 * the whole of it for named exports on every ESM import (≈0.3 s of CPU on each
 * `msec-gen` run, measured). `require` skips that scan. protoc-gen-es, which the
 * TypeScript target runs in-process, is CommonJS already, so this also keeps
 * one copy of protoplugin in the process, and the name cache serves both.
 * Types come from the package as usual.
 */
import { createRequire } from "node:module";
import type * as Protoplugin from "@bufbuild/protoplugin";
import { type CommentIndexInstall, installCommentIndex } from "./protoplugin-comments.js";
import { installNameCache, type NameCacheInstall } from "./protoplugin-names.js";

const require = createRequire(import.meta.url);
const protoplugin = require("@bufbuild/protoplugin") as typeof Protoplugin;

/** Whether the name cache is in place, and protoplugin's own lookups (for tests). */
export const nameCache: NameCacheInstall = installNameCache(require);
/** Whether the comment index is in place, and protoplugin's own `getComments` (for tests). */
export const commentIndex: CommentIndexInstall = installCommentIndex(require);

// Read after the installs, so msec-gen's own calls use the index too.

export const { createEcmaScriptPlugin, getComments, safeIdentifier } = protoplugin;
