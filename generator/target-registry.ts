/**
 * Every target, keyed by kind and language. Adding a language means adding a
 * folder under `generator/targets/<lang>/` and one line here.
 */
import type { Target, TargetKind } from "./target.js";
import { cppCallerTarget } from "./targets/cpp/index.js";
import { javaCallerTarget } from "./targets/java/index.js";
import { phpCallerTarget } from "./targets/php/index.js";
import { goCallerTarget } from "./targets/go/index.js";
import { pythonServerTarget } from "./targets/python/server.js";
import { pythonCallerTarget } from "./targets/python/index.js";
import { tsCallerTarget, tsServerTarget } from "./targets/ts/index.js";
import { UserError } from "./user-error.js";

const TARGETS: readonly Target[] = [tsServerTarget, tsCallerTarget, cppCallerTarget, javaCallerTarget, goCallerTarget, pythonCallerTarget, pythonServerTarget, phpCallerTarget];

/** Languages available for `kind`, in registry order. */
export function targetLanguages(kind: TargetKind): string[] {
  return TARGETS.filter((t) => t.kind === kind).map((t) => t.lang);
}

/** The target for `kind` and `lang`; `UserError` naming the available languages otherwise. */
export function findTarget(kind: TargetKind, lang: string): Target {
  const target = TARGETS.find((t) => t.kind === kind && t.lang === lang);
  if (target === undefined) {
    throw new UserError(`unknown --lang ${JSON.stringify(lang)} for ${kind}; available: ${targetLanguages(kind).join(", ")}`);
  }
  return target;
}
