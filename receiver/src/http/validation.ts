/**
 * How request parts are checked against the route schemas (the same schemas that feed the OpenAPI
 * document). Query strings, paths and small bodies use Ajv the way Fastify's own compiler does
 * (types coerced from text, defaults filled in); an alert body uses the strict common-alert
 * validator instead, which neither coerces nor strips: what is stored must be what Azure sent.
 */
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";
import { CommonAlert } from "../alerts/schema.ts";
import { commonAlertValidator } from "../alerts/validate.ts";

// ajv-formats is CommonJS: under ESM its plugin is the `default` member of module.exports.
const addFormats = addFormatsModule.default;

// @fastify/ajv-compiler's defaults, so routes behave as Fastify documents; strict off because
// TypeBox schemas carry annotations Ajv does not know.
const ajv = new Ajv({ coerceTypes: "array", useDefaults: true, removeAdditional: true, allErrors: false, strict: false });
addFormats(ajv);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema }) => (schema === CommonAlert ? commonAlertValidator : ajv.compile(schema as object));
