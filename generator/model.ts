/**
 * The language-neutral view of the input that every target works from:
 * files, services, methods (with their SRPC wire names), the messages they
 * use, `.proto` comments, and the MSEC routing name.
 *
 * Descriptors (`Desc*` from @bufbuild/protobuf) are kept next to the plain
 * facts so targets that need full reflection (message code, zero values)
 * still have it; the plain fields are what most templates need.
 */
import type { DescFile, DescMessage, DescMethod, DescService, FileRegistry } from "@bufbuild/protobuf";
import type { FileDescriptorProto, FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import { createFileRegistry } from "@bufbuild/protobuf";
import { getComments } from "./protoplugin.js";
import { UserError } from "./user-error.js";
import { rememberDisplayPaths } from "./display-paths.js";

/** Comments attached to a declaration in the `.proto` source (without `//` markers). */
export interface Comments {
  readonly leading: string | undefined;
  readonly trailing: string | undefined;
  readonly leadingDetached: readonly string[];
}

/** A message used as a method input or output. */
export interface MessageRef {
  /** Simple name, e.g. `GetTitlesRequest`. */
  readonly name: string;
  /** Fully qualified name without leading dot, e.g. `MainLogic.GetTitlesRequest`. */
  readonly typeName: string;
  /** Name of the `.proto` file that declares it. */
  readonly file: string;
  readonly desc: DescMessage;
}

/** One rpc. MSEC has unary calls only; streaming rpcs are rejected by the model builder. */
export interface MethodModel {
  /** Name as declared, e.g. `GetMP3List`. */
  readonly name: string;
  /** SRPC / HTTP dispatch name `package.Service.Method` (spec §4), e.g. `crawl.CrawlService.GetMP3List`. */
  readonly wireName: string;
  readonly input: MessageRef;
  readonly output: MessageRef;
  readonly comments: Comments;
  readonly desc: DescMethod;
}

/** One service of a requested file. */
export interface ServiceModel {
  /** Name as declared, e.g. `CrawlService`. */
  readonly name: string;
  /** `package.Service`, e.g. `crawl.CrawlService`. */
  readonly typeName: string;
  /** Name of the `.proto` file that declares it. */
  readonly file: string;
  readonly methods: readonly MethodModel[];
  readonly comments: Comments;
  readonly desc: DescService;
}

/** One requested `.proto` file. */
export interface ProtoFileModel {
  /** Import path, e.g. `MainLogic.proto` or `foo/bar.proto`. */
  readonly name: string;
  /** `name` without the `.proto` suffix, e.g. `foo/bar`. */
  readonly stem: string;
  /** Proto package, `""` when none. */
  readonly packageName: string;
  readonly syntax: "proto2" | "proto3" | "editions";
  /** Import paths this file depends on, in declaration order. */
  readonly dependencies: readonly string[];
  readonly services: readonly ServiceModel[];
  readonly desc: DescFile;
  readonly proto: FileDescriptorProto;
}

/** Everything a target needs. */
export interface ProtoModel {
  /** The files the user asked for, in command-line order. */
  readonly files: readonly ProtoFileModel[];
  /** All services of `files`, in file then declaration order. */
  readonly services: readonly ServiceModel[];
  /** Registry over every file of the set (requested files and all imports). */
  readonly registry: FileRegistry;
  /** The set itself, dependencies before dependents, with source info when compiled from source. */
  readonly descriptorSet: FileDescriptorSet;
  /**
   * `.proto` source text by import path, for every non-well-known file that was
   * read from disk (empty when the input was a prebuilt descriptor set).
   * Packages copy these files so users keep the interface next to the code.
   */
  readonly sources: ReadonlyMap<string, string>;
  /**
   * The path the user knows a file by (relative to the current directory when
   * inside it), by import path, for files read from disk; messages about a
   * file's contents start with it. Other files are named by import path.
   */
  readonly displayPaths: ReadonlyMap<string, string>;
}

/** Input of {@link buildModel}: what the front end produced. */
export interface ModelInput {
  readonly descriptorSet: FileDescriptorSet;
  /** Import paths of the requested files. */
  readonly requested: readonly string[];
  readonly sources: ReadonlyMap<string, string>;
  /** See {@link ProtoModel.displayPaths}; default: none. */
  readonly displayPaths?: ReadonlyMap<string, string> | undefined;
}

/** Build the model. Throws `UserError` for inputs MSEC cannot serve (streaming rpcs). */
export function buildModel(input: ModelInput): ProtoModel {
  const registry = createFileRegistry(input.descriptorSet);
  const displayPaths = input.displayPaths ?? new Map<string, string>();
  rememberDisplayPaths(registry, displayPaths);
  const files: ProtoFileModel[] = [];
  for (const name of input.requested) {
    const desc = registry.getFile(name);
    const proto = input.descriptorSet.file.find((f) => f.name === name);
    if (desc === undefined || proto === undefined) {
      throw new UserError(`${name}: not found in the descriptor set`);
    }
    files.push(fileModel(desc, proto));
  }
  return {
    files,
    services: files.flatMap((f) => f.services),
    registry,
    descriptorSet: input.descriptorSet,
    sources: input.sources,
    displayPaths,
  };
}

function fileModel(desc: DescFile, proto: FileDescriptorProto): ProtoFileModel {
  return {
    name: desc.name + ".proto",
    stem: desc.name,
    packageName: desc.proto.package,
    syntax: syntaxOf(proto),
    dependencies: [...proto.dependency],
    services: desc.services.map((s) => serviceModel(s, desc)),
    desc,
    proto,
  };
}

function syntaxOf(proto: FileDescriptorProto): ProtoFileModel["syntax"] {
  if (proto.syntax === "proto3") return "proto3";
  if (proto.syntax === "editions") return "editions";
  return "proto2";
}

function serviceModel(desc: DescService, file: DescFile): ServiceModel {
  return {
    name: desc.name,
    typeName: desc.typeName,
    file: file.name + ".proto",
    methods: desc.methods.map((m) => methodModel(m, desc)),
    comments: commentsOf(desc),
    desc,
  };
}

function methodModel(desc: DescMethod, service: DescService): MethodModel {
  if (desc.methodKind !== "unary") {
    throw new UserError(
      `${service.file.name}.proto: rpc ${service.typeName}.${desc.name} is ${desc.methodKind.replace("_", " ")}; MSEC services support unary rpcs only`,
    );
  }
  return {
    name: desc.name,
    wireName: `${service.typeName}.${desc.name}`,
    input: messageRef(desc.input),
    output: messageRef(desc.output),
    comments: commentsOf(desc),
    desc,
  };
}

function messageRef(desc: DescMessage): MessageRef {
  return { name: desc.name, typeName: desc.typeName, file: desc.file.name + ".proto", desc };
}

function commentsOf(desc: DescService | DescMethod): Comments {
  const c = getComments(desc);
  return { leading: c.leading, trailing: c.trailing, leadingDetached: c.leadingDetached };
}
