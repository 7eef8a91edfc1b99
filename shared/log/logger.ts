/**
 * JSON logs (pino) with secrets redacted; children carry job, task and op ids. Two layers:
 * fields that hold a secret (keys, passwords, tokens) are censored by name, and credentials
 * inside any URL are masked in every line written (`http://user:***@host`, see redact.ts),
 * wherever the URL appears: a field, a child's bindings, an error's message or stack, the
 * message text.
 */
import { pino, type Logger } from 'pino';
import { redactUrlCredentials } from './redact.ts';

export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'OPENAI_API_KEY',
  '*.OPENAI_API_KEY',
  'NATS_PASS',
  '*.NATS_PASS',
  'NATS_TOKEN',
  '*.NATS_TOKEN',
  'password',
  '*.password',
  'token',
  '*.token',
  'headers.authorization',
  '*.headers.authorization',
];

/** A destination that masks URL credentials in each serialized line before passing it on. */
export function redactingDestination(dest: pino.DestinationStream): pino.DestinationStream {
  const inner = dest as pino.DestinationStream & { flushSync?: () => void; end?: () => void };
  return {
    write: (line: string) => inner.write(redactUrlCredentials(line)),
    // pino flushes on exit when the destination can
    ...(inner.flushSync ? { flushSync: () => inner.flushSync!() } : {}),
    ...(inner.end ? { end: () => inner.end!() } : {}),
  } as pino.DestinationStream;
}

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info', dest?: pino.DestinationStream): Logger {
  return pino(
    { name: service, level, base: { service }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    redactingDestination(dest ?? pino.destination(2)),
  );
}
