/**
 * The default transactional id of an exactly-once worker:
 * `<groupId>-<hostname>-<slot>`, where the slot is the lowest number no other
 * live worker of the same group on this host holds.
 *
 * Why a slot: the id must be unique per live worker (two workers with one id
 * fence each other) and stable across a worker's restarts (the restarted
 * worker's InitProducerId must fence its dead predecessor and abort the
 * transaction it left open). `<groupId>-<hostname>` alone was stable but not
 * unique when two workers share a host. A slot is held by listening on an
 * abstract Unix socket named after the group and the slot number: the kernel
 * releases it the moment its holder dies (even by SIGKILL), so a restarted
 * worker takes the lowest free slot, which is its predecessor's when it ran
 * alone, and concurrent workers always hold different slots.
 *
 * Abstract sockets are Linux-only and scoped to the network namespace (one
 * per container or pod, where the hostname differs anyway).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { ConfigError } from '../../common/errors.js';

/** A claimed slot; release() frees it (also freed when the process dies). */
export interface TransactionalIdClaim {
  readonly transactionalId: string;
  readonly slot: number;
  release(): Promise<void>;
}

export interface ClaimOptions {
  groupId: string;
  /** Default os.hostname(). */
  host?: string;
  /** Most slots tried before giving up (default 64). */
  maxSlots?: number;
}

function socketName(groupId: string, slot: number): string {
  const group = createHash('sha256').update(groupId).digest('hex').slice(0, 24);
  return `\0mentionflow/txn/${group}/${slot}`;
}

function listen(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen(name, () => {
      server.unref(); // holding a slot never keeps the process alive
      resolve(server);
    });
  });
}

/** Claims the lowest free slot of `groupId` on this host. */
export async function claimTransactionalId(opts: ClaimOptions): Promise<TransactionalIdClaim> {
  const { groupId, host = hostname(), maxSlots = 64 } = opts;
  if (process.platform !== 'linux') {
    throw new ConfigError(
      `exactly-once needs --transactional-id on ${process.platform} (the per-host default uses Linux abstract sockets); give each worker its own id, stable across its restarts`,
    );
  }
  for (let slot = 0; slot < maxSlots; slot++) {
    const server = await listen(socketName(groupId, slot));
    if (server === undefined) continue;
    return {
      transactionalId: `${groupId}-${host}-${slot}`,
      slot,
      release: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
  throw new ConfigError(`all ${maxSlots} transactional id slots of group ${groupId} on ${host} are held by live workers; set --transactional-id explicitly`);
}
