/** Why a task is too big for one NATS message: its size, the limit, and the fields that take the room. */
import { encode } from '../../shared/protocol/codec.ts';

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(2)} MiB`;

export function oversizedTask(op: string, bytes: number, limit: number, input: unknown): string {
  const fields =
    input && typeof input === 'object' && !Array.isArray(input)
      ? Object.entries(input as Record<string, unknown>)
          .map(([k, v]) => [k, encode(v).byteLength] as const)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([k, n]) => `${k} ${mib(n)}`)
          .join(', ')
      : '';
  return `a ${op} task is ${mib(bytes)} encoded, over the ${mib(limit)} NATS message limit${fields ? ` (largest fields: ${fields})` : ''}: use a smaller window or chunk size for this job`;
}
