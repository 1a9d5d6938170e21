/**
 * Checks an OpenAPI document two ways: against the OpenAPI 3.1 schema
 * (@seriousme/openapi-schema-validator, which validates 3.1 with the official
 * schema and dialect), and by compiling every component schema with Ajv's
 * JSON Schema 2020-12 validator (the OpenAPI schema does not look inside
 * schema objects; Ajv does, and resolves every `$ref`).
 */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";

/** Formats the generator writes; Ajv checks none of them (they are annotations here). */
const FORMATS = ["int32", "int64", "uint64", "float", "double", "date-time"];

export type OpenApiDoc = { components: { schemas: Record<string, unknown> }; paths: Record<string, any>; [key: string]: any };

/** Asserts the document is valid OpenAPI 3.1 and every schema compiles; returns a schema compiler. */
export async function assertValidOpenApi(doc: unknown): Promise<(schema: unknown) => ValidateFunction> {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc) as Parameters<Validator["validate"]>[0]);
  assert.deepEqual(result.errors ?? [], [], "OpenAPI 3.1 schema errors");
  assert.equal(result.valid, true);
  assert.equal(validator.version, "3.1");
  const compile = schemaCompiler(doc as OpenApiDoc);
  for (const name of Object.keys((doc as OpenApiDoc).components.schemas)) {
    compile({ $ref: `#/components/schemas/${name}` });
  }
  return compile;
}

/** Compiles a schema that may `$ref` the document's components. */
export function schemaCompiler(doc: OpenApiDoc): (schema: unknown) => ValidateFunction {
  const ajv = new Ajv2020({ strict: true, allErrors: true, strictTypes: false, strictRequired: false });
  for (const f of FORMATS) ajv.addFormat(f, true);
  ajv.addKeyword("example"); // OpenAPI's own annotation
  // The document's components as `$defs` of one schema; `#/components/schemas/X` refs point there.
  const defs = JSON.parse(JSON.stringify(doc.components.schemas).replaceAll('"#/components/schemas/', '"#/$defs/'));
  ajv.addSchema({ $id: "urn:msec:openapi", $defs: defs });
  return (schema) => {
    const text = JSON.stringify(schema).replaceAll('"#/components/schemas/', '"urn:msec:openapi#/$defs/');
    return ajv.compile(JSON.parse(text));
  };
}
