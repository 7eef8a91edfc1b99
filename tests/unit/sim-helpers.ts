/**
 * Helpers of the simulator tests: ask a responder with a real op's own prompt and reply schema
 * (as the openai engine sends them: JSON Schema titled with the op name), and check the reply
 * with the op's zod schema.
 */
import { z } from 'zod';
import fc from 'fast-check';
import type { OpDef } from '../../shared/ops/op.ts';
import { createRng } from '../../shared/algo/rng.ts';
import { respondJson } from '../../shared/sim/respond/index.ts';

/** An op's reply schema for one input, as JSON Schema titled with the op's name. */
export function replySchema(op: OpDef, input: unknown, tighten?: z.ZodType): { json: Record<string, any>; zod: z.ZodType } {
  const zod = tighten ?? op.replySchema?.(input) ?? op.output;
  const { $schema: _drop, ...json } = z.toJSONSchema(zod, { io: 'output', unrepresentable: 'any' }) as Record<string, any>;
  return { json: { ...json, title: op.name }, zod };
}

export interface Asked<O> {
  /** The reply as the simulator sent it. */
  reply: unknown;
  /** The reply as the engine would keep it: validated, then completed by the op's `finalize`. */
  value: O;
  /** The responder that answered (undefined: the generic generator). */
  op: string | undefined;
  valid: boolean;
  error?: string;
  messages: { role: string; content: string }[];
}

/** The simulator's reply to a real op's prompt for `input` (blobs stand in for the Object Store). */
export async function askSim<O>(op: OpDef<any, O>, input: unknown, opts: { blobs?: Record<string, string>; tighten?: z.ZodType; seed?: number } = {}): Promise<Asked<O>> {
  const env = {
    blobText: async (key: string) => {
      const t = opts.blobs?.[key];
      if (t === undefined) throw new Error(`no blob "${key}"`);
      return t;
    },
  };
  const parsedInput = op.input.parse(input);
  const messages = await op.prompt(parsedInput, env);
  const { json, zod } = replySchema(op, parsedInput, opts.tighten);
  const reply = respondJson({ messages, schema: json, formatName: op.name.replace(/[^A-Za-z0-9_-]/g, '_'), maxTokens: op.maxOutputTokens ?? 1000 }, createRng(opts.seed ?? 1));
  const r = zod.safeParse(reply.value);
  const value = r.success && op.finalize ? op.finalize(r.data as O, parsedInput) : (reply.value as O);
  return { reply: reply.value, value, op: reply.op, valid: r.success, error: r.success ? undefined : r.error.message, messages };
}

/** Sentences of a text with citation marks removed, whitespace folded. */
export const plain = (s: string) => s.replace(/\s*\[\s*@[^\]]*\]/g, '').replace(/\s+/g, ' ').trim();

/** A small corpus: six papers on key-value cache compression, two per approach. */
export const TOPIC = 'Key Value Cache Compression for Language Model Inference';
export const PAPERS = [
  { id: 'P001', title: 'Four-Bit Quantization of the Key Value Cache', text: 'Quantization of the key value cache to four bits cuts cache memory by three quarters. Per-channel scales handle outlier channels in the keys. Perplexity rises by less than one percent on long documents.' },
  { id: 'P002', title: 'Per-Channel Key Quantization for Long Contexts', text: 'Key quantization per channel and value quantization per token keep accuracy at two bits. Outlier channels in keys dominate the quantization error. Group-wise scales reduce the error further.' },
  { id: 'P003', title: 'Heavy Hitter Token Eviction', text: 'Token eviction drops cache entries with low accumulated attention scores. Heavy hitter tokens receive most of the attention and are kept. Eviction bounds cache memory during generation.' },
  { id: 'P004', title: 'Attention Sinks for Streaming Generation', text: 'Attention sinks at the start of a sequence must never be evicted. Keeping sink tokens plus a recent window enables streaming generation. Evicting middle tokens loses little accuracy.' },
  { id: 'P005', title: 'Offloading the Cache to Host Memory', text: 'Offloading the key value cache to host memory over PCIe lets long sequences fit on one GPU. Prefetching cache blocks hides the transfer latency. Throughput depends on PCIe bandwidth.' },
  { id: 'P006', title: 'Paged Memory for Serving Systems', text: 'Paged memory management stores cache blocks in fixed pages. Paging removes fragmentation in serving systems. Block tables map logical blocks to physical pages.' },
];

/** Random zod schemas with the constraints ops use (lengths, ranges, enums, formats, unions, tuples, records). */
export const word = fc.constantFrom('alpha', 'beta', 'gamma', 'delta', 'kernel', 'survey', 'outline');

// Leaf schemas with the constraints ops use (lengths, ranges, enums, formats).
const leaf: fc.Arbitrary<z.ZodType> = fc.oneof(
  fc.record({ min: fc.integer({ min: 0, max: 6 }), span: fc.integer({ min: 0, max: 30 }) }).map(({ min, span }) => z.string().min(min).max(min + span)),
  fc.constant(z.string()),
  fc.record({ lo: fc.integer({ min: -50, max: 50 }), span: fc.integer({ min: 0, max: 100 }) }).map(({ lo, span }) => z.number().int().min(lo).max(lo + span)),
  fc.record({ lo: fc.double({ min: -5, max: 5, noNaN: true }), span: fc.double({ min: 0.01, max: 10, noNaN: true }) }).map(({ lo, span }) => z.number().gt(lo).lt(lo + span)),
  fc.constant(z.number().int().nonnegative().multipleOf(5)),
  fc.constant(z.boolean()),
  fc.uniqueArray(word, { minLength: 1, maxLength: 4 }).map((ws) => z.enum(ws as [string, ...string[]])),
  word.map((w) => z.literal(w)),
  fc.constantFrom(z.email(), z.uuid(), z.iso.datetime(), z.url()),
);

export const schemaArb = fc.letrec<{ node: z.ZodType }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc
      .uniqueArray(fc.tuple(word, tie('node'), fc.constantFrom('plain', 'optional', 'nullable')), { minLength: 1, maxLength: 4, selector: (t) => t[0] })
      .map((fields) => z.object(Object.fromEntries(fields.map(([k, s, mode]) => [k, mode === 'optional' ? s.optional() : mode === 'nullable' ? s.nullable() : s])))),
    fc.record({ item: tie('node'), min: fc.integer({ min: 0, max: 3 }), span: fc.integer({ min: 0, max: 4 }) }).map(({ item, min, span }) => z.array(item).min(min).max(min + span)),
    fc.tuple(tie('node'), tie('node')).map(([a, b]) => z.union([a, b])),
    fc.tuple(tie('node'), tie('node')).map(([a, b]) => z.tuple([a, b])),
    tie('node').map((v) => z.record(z.string(), v)),
  ),
}));

