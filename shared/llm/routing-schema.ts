/**
 * The routing file's schema (zod, strict: unknown settings are errors), its parsing (YAML
 * unless the name ends in .json) and schema problems in plain words. See routing.ts.
 */
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { z } from 'zod';

export const DEFAULT_MAX_IN_FLIGHT = 64;

const StageSchema = z
  .object({
    model: z.string().min(1).optional(),
    temperature: z.number().min(0).max(2).optional(),
    topP: z.number().gt(0).max(1).optional(),
    maxTokens: z.number().int().min(1).max(1_000_000).optional(),
    timeoutMs: z.number().int().min(1000).max(3_600_000).optional(),
    maxRetries: z.number().int().min(0).max(20).optional(),
  })
  .strict();
export type StageSettings = z.infer<typeof StageSchema>;

const EndpointSchema = z
  .object({
    url: z.string().url(),
    /** dns: resolve the host to every address behind it (a headless Service: one endpoint per pod). */
    discovery: z.enum(['none', 'dns']).default('none'),
    /** Ceiling of the adaptive in-flight cap for this endpoint (or for each discovered address). */
    maxInFlight: z.number().int().min(1).max(100_000).default(64),
    /** Where the cap starts (default: 32, or maxInFlight when smaller); it adapts from there. */
    initialInFlight: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();

const PriceSchema = z
  .object({
    inputPerMillion: z.number().nonnegative().optional(),
    outputPerMillion: z.number().nonnegative().optional(),
    promptPer1k: z.number().nonnegative().optional(),
    completionPer1k: z.number().nonnegative().optional(),
  })
  .strict();

export const ModelSchema = z
  .object({
    endpoints: z.array(z.union([z.string().url(), EndpointSchema])).default([]),
    /** Environment variable holding this model's API key (default OPENAI_API_KEY). */
    apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
    /** Tokens of prompt plus reply; the reply length is cut to fit when the prompt is long. */
    contextWindow: z.number().int().min(256).max(10_000_000).optional(),
    /** json_schema: send the op's output schema as response_format; none: schema in the prompt. */
    structuredOutput: z.enum(['json_schema', 'none']).default('json_schema'),
    price: PriceSchema.optional(),
    /** Read vLLM's /metrics (vllm:num_requests_waiting) to steer load. */
    metrics: z.boolean().default(false),
  })
  .strict();

export const RoutingFileSchema = z
  .object({
    version: z.literal(1).default(1),
    defaults: StageSchema.default({}),
    models: z.record(z.string().min(1), ModelSchema).default({}),
    stages: z.record(z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'stage keys are dotted names like "map" or "v2.judge"'), StageSchema).default({}),
  })
  .strict();
export type RoutingFile = z.infer<typeof RoutingFileSchema>;

/** Parse a routing file's text (YAML unless the name ends in .json). */
export function parseRoutingText(text: string, file: string): unknown {
  if (extname(file).toLowerCase() === '.json') return JSON.parse(text);
  let yaml: { parse(s: string): unknown };
  try {
    yaml = createRequire(import.meta.url)('yaml');
  } catch {
    throw new Error('the "yaml" package is not installed here: write the routing file as JSON (a .json file) instead');
  }
  return yaml.parse(text);
}

export const where = (path: PropertyKey[]) => (path.length ? path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') : 'the file');

/** A schema issue in plain words. */
export function plainIssue(i: z.core.$ZodIssue): string {
  const got = (v: unknown) => (v === null ? 'nothing' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : JSON.stringify(v));
  switch (i.code) {
    case 'unrecognized_keys':
      return `unknown setting${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')} (check the spelling)`;
    case 'too_big':
      return `must be at most ${String(i.maximum)}${i.inclusive === false ? ' (exclusive)' : ''}`;
    case 'too_small':
      return i.origin === 'string' ? 'must not be empty' : `must be at least ${String(i.minimum)}`;
    case 'invalid_type':
      return `must be ${i.expected === 'object' ? 'a mapping' : i.expected === 'array' ? 'a list' : `a ${i.expected}`}${'input' in i && i.input !== undefined ? `, not ${got(i.input)}` : ''}`;
    case 'invalid_format':
      return i.format === 'url' ? 'is not a valid URL (e.g. http://vllm:8000/v1)' : `is not in the expected format (${i.format})`;
    case 'invalid_value':
      return `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union': {
      const inner = i.errors.flat().filter((x) => x.code !== 'invalid_type');
      return inner.length ? plainIssue(inner[0]) : 'is neither a URL nor an endpoint mapping';
    }
    default:
      return i.message;
  }
}

