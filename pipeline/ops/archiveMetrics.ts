/**
 * Metrics of the archive sink (`mentionflow archive --follow`), on the same
 * ops endpoint as the worker's (/metrics, /healthz, /readyz):
 *
 *   mentionflow_archive_records_total{result}   archived | skipped (already in a file) | deadletter
 *   mentionflow_archive_files_total             files renamed into place
 *   mentionflow_archive_bytes_total             bytes of those files
 *   mentionflow_archive_open_files              files being written (temporary names)
 *   mentionflow_archive_committed_offset{partition}  last committed offset
 *   mentionflow_archive_pending_bytes           record bytes fetched and queued, not yet in files (at most about 4 MiB: then the consumer waits)
 *   mentionflow_archive_fences_total            partitions fenced: another sink (newer group generation) took over their staging folder
 *   mentionflow_archive_fenced_files_total      open files those fences dropped unrenamed (their offsets not committed)
 *   mentionflow_archive_info{codec,deflate_engine,post_check}  1: how this sink compresses (deflate_engine isal | libdeflate | zlib | none)
 *                                               and checks Posts (post_check native | typescript | full-decode): a node
 *                                               without mentionflow's addon spends about 1.3 us more CPU a record
 *
 * plus the process defaults (CPU, memory, event loop lag) under their
 * standard names (process_*, nodejs_*).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface ArchiveMetrics {
  readonly registry: Registry;
  record(result: 'archived' | 'skipped' | 'deadletter', n?: number): void;
  file(bytes: number): void;
  openFiles(n: number): void;
  committed(partition: number, offset: number): void;
  pending(bytes: number): void;
  /** A partition fenced, with the open files it dropped. */
  fenced(files: number): void;
  /** How this sink compresses and checks (mentionflow_archive_info). */
  info(labels: { codec: string; deflate_engine: string; post_check: string }): void;
}

export function createArchiveMetrics(opts: { registry?: Registry; collectDefault?: boolean } = {}): ArchiveMetrics {
  const registry = opts.registry ?? new Registry();
  if (opts.collectDefault !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const records = new Counter({ name: 'mentionflow_archive_records_total', help: 'Records consumed by the archive sink, by result', labelNames: ['result'], registers });
  for (const r of ['archived', 'skipped', 'deadletter']) records.inc({ result: r }, 0);
  const files = new Counter({ name: 'mentionflow_archive_files_total', help: 'Archive files completed (fsynced and renamed)', registers });
  const bytes = new Counter({ name: 'mentionflow_archive_bytes_total', help: 'Bytes of completed archive files', registers });
  const open = new Gauge({ name: 'mentionflow_archive_open_files', help: 'Archive files being written', registers });
  const pending = new Gauge({ name: 'mentionflow_archive_pending_bytes', help: 'Bytes of fetched records queued for the archive files, not yet written', registers });
  const fences = new Counter({ name: 'mentionflow_archive_fences_total', help: 'Partitions fenced: a sink of a newer group generation took over their staging folder', registers });
  const fencedFiles = new Counter({ name: 'mentionflow_archive_fenced_files_total', help: 'Open archive files dropped unrenamed because their partition was fenced', registers });
  const info = new Gauge({ name: 'mentionflow_archive_info', help: 'How the archive sink compresses (deflate_engine) and checks Posts (post_check): 1', labelNames: ['codec', 'deflate_engine', 'post_check'], registers });
  const committed = new Gauge({ name: 'mentionflow_archive_committed_offset', help: 'Last offset committed by the archive sink', labelNames: ['partition'], registers });
  return {
    registry,
    record: (result, n = 1) => records.inc({ result }, n),
    file: (b) => {
      files.inc();
      bytes.inc(b);
    },
    openFiles: (n) => open.set(n),
    committed: (partition, offset) => committed.set({ partition: String(partition) }, offset),
    pending: (b) => pending.set(b),
    fenced: (n) => {
      fences.inc();
      fencedFiles.inc(n);
    },
    info: (labels) => {
      info.reset();
      info.set(labels, 1);
    },
  };
}
