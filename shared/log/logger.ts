/** JSON logs (pino) with secrets redacted; children carry job, task and op ids. */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'OPENAI_API_KEY',
  '*.OPENAI_API_KEY',
  'NATS_PASS',
  '*.NATS_PASS',
  'NATS_TOKEN',
  '*.NATS_TOKEN',
  'LLMXMR_HTTP_TOKEN',
  '*.LLMXMR_HTTP_TOKEN',
  'password',
  '*.password',
  'token',
  '*.token',
  'headers.authorization',
  '*.headers.authorization',
];

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info', dest?: pino.DestinationStream): Logger {
  return pino(
    { name: service, level, base: { service }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    dest ?? pino.destination(2),
  );
}
