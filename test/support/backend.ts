/**
 * Tests run on the backend named by MENTIONFLOW_BACKEND (default: auto,
 * which is native when libtensorflow is installed). The chosen backend is
 * printed once per test file so CI logs show which one ran.
 */
import { useBackend, type BackendChoice, type BackendName } from '../../models/backend.js';

let chosen: Promise<BackendName> | undefined;

export function testBackend(): Promise<BackendName> {
  chosen ??= useBackend((process.env.MENTIONFLOW_BACKEND ?? 'auto') as BackendChoice).then((name) => {
    process.stdout.write(`tfjs backend: ${name}\n`);
    return name;
  });
  return chosen;
}
