/**
 * Message schemas by full method name, so `callMethod` can encode a request
 * and decode the reply from nothing but the method's wire name. Generated
 * caller code registers its file descriptors with `registerTypes`.
 */
import type { DescFile, DescMethod } from "@bufbuild/protobuf";

const methods = new Map<string, DescMethod>();

/** Registers every method of every service in `files` under `package.Service.Method`. */
export function registerTypes(...files: DescFile[]): void {
  for (const file of files) {
    for (const service of file.services) {
      for (const method of service.methods) methods.set(`${service.typeName}.${method.name}`, method);
    }
  }
}

/** The registered method called `name` (`package.Service.Method`), if any. */
export function findMethod(name: string): DescMethod | undefined {
  return methods.get(name);
}
