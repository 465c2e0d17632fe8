/**
 * mentionflow's Avro schemas: the one module the rest of the code imports
 * them through. Each concern lives in its own module under registry/, and
 * they depend on each other one way (load <- decode, validate <- encode):
 *
 * - registry/load.ts      the .avsc files on disk: names, versions, parsed types
 *                         (and how decoded values are represented)
 * - registry/decode.ts    strict decoding of one record, raw or Confluent-framed,
 *                         and decoders from one schema version into another
 * - registry/validate.ts  every reason a value does not match a schema, with its
 *                         field path, including what avsc would write wrongly
 * - registry/encode.ts    validated encoding, optionally Confluent-framed
 * - wire.ts               the wire format itself: the well-formedness scan and
 *                         the Confluent header
 */
export { SCHEMA_NAMES, latestVersion, listVersions, loadSchema, loadSchemaJson, schemaPath, schemasDir } from './registry/load.js';
export type { RecordSchemaJson, SchemaName } from './registry/load.js';
export { decodeStrict, resolvingDecoder } from './registry/decode.js';
export type { DecodeStrictOptions, ResolvingDecoder, WireFormat, WireOptions } from './registry/decode.js';
export { SchemaValidationError, validate } from './registry/validate.js';
export type { ValidationIssue } from './registry/validate.js';
export { encodeStrict } from './registry/encode.js';
export { trustedReader, type ReadPosition, type TrustedReader } from './registry/reader.js';
export type { EncodeStrictOptions } from './registry/encode.js';
export { CONFLUENT_HEADER_LENGTH, MAX_EXACT_LONG, MIN_EXACT_LONG, frameConfluent, parseConfluentHeader, scanAvro } from './wire.js';
export type { ConfluentFrame } from './wire.js';
export type { Type } from 'avsc';
