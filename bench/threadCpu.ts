/**
 * CPU time of this process's main thread alone (the JS thread), from
 * /proc/self/task/<pid>/schedstat (nanoseconds on the CPU; Linux only), in
 * microseconds. process.cpuUsage() counts every thread (libuv's pool, V8's
 * GC helpers); this separates what runs on the consumer's own thread.
 * Undefined where /proc is not there.
 */
import { readFileSync } from 'node:fs';

const path = `/proc/self/task/${process.pid}/schedstat`;

export function mainThreadCpuUs(): number | undefined {
  try {
    return Number(readFileSync(path, 'latin1').split(' ')[0]) / 1000;
  } catch {
    return undefined;
  }
}
