/**
 * The embedded mode's edges (no Kafka): posts from a file in, mentions and
 * dead letters out as NDJSON on two streams.
 */
import type { Edges } from '../core/ports.js';
import { FileSink } from './fileSink.js';
import { FileSource } from './fileSource.js';

export interface FileEdgesConfig {
  /** The posts file (Avro object container or NDJSON). */
  input: string;
  /** Most records read and not yet acknowledged. */
  maxInFlight: number;
}

/** Where the embedded mode writes: mentions (default stdout) and dead letters (default stderr). */
export interface FileEdgesOutputs {
  mentions: NodeJS.WritableStream;
  deadLetters: NodeJS.WritableStream;
}

/** The file source and the NDJSON sink; nothing to connect, nothing to close. */
export function openFileEdges(config: FileEdgesConfig, out: FileEdgesOutputs): Edges {
  const source = new FileSource({ path: config.input, maxInFlight: config.maxInFlight });
  const sink = new FileSink({ mentions: out.mentions as never, deadLetters: out.deadLetters as never });
  return { source, sink, ready: () => true, close: async () => undefined };
}
