/** The fleet simulator over real HTTP: op-shaped replies for both server kinds, and the sloppy mode's counts. */
import { afterEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startFleetSim, CORRUPTION_KINDS, type FleetSim, type FleetSimOptions } from '../../shared/sim/fleet.ts';
import { schemaNote, withSystemNote } from '../../shared/llm/structured.ts';
import { mapMessages, mapOp } from '../../shared/ops/v1/index.ts';
import { statsLine } from '../../cli/commands/sim.ts';
import { replySchema } from './sim-helpers.ts';

const sims: FleetSim[] = [];
async function sim(o: FleetSimOptions): Promise<FleetSim> {
  const s = await startFleetSim({ port: 0, host: '127.0.0.1', baseLatencyMs: 1, prefillTokensPerSec: 0, decodeTokensPerSec: 0, ...o });
  sims.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

const CHUNK = 'The mill by the river closed in 1890. The pass key is 5521. The town later grew around its station.';
const input = mapOp.input.parse({ chunk: { index: 2, text: CHUNK }, question: 'What is the pass key?', profile: 'retrieval' });

describe('fleet simulator replies', () => {
  it('answers a v1.map request from the chunk, with structured output and with the schema in the prompt', async () => {
    const messages = mapOp.prompt(input, { blobText: async () => '' }) as OpenAI.ChatCompletionMessageParam[];
    const { json, zod } = replySchema(mapOp, input);
    const structured = await sim({});
    const c1 = new OpenAI({ baseURL: structured.url, apiKey: 'x', maxRetries: 0 });
    const a = await c1.chat.completions.create({ model: 'sim-model', messages, max_tokens: 300, response_format: { type: 'json_schema', json_schema: { name: 'v1_map', schema: json } } });
    const va = zod.parse(JSON.parse(a.choices[0].message.content!));
    expect(va).toMatchObject({ answer: '5521' });

    const plain = await sim({ structuredOutput: false });
    const c2 = new OpenAI({ baseURL: plain.url, apiKey: 'x', maxRetries: 0 });
    const refused = await c2.chat.completions.create({ model: 'sim-model', messages, response_format: { type: 'json_schema', json_schema: { name: 'v1_map', schema: json } } }).catch((e) => e);
    expect(refused.status).toBe(400);
    const noted = withSystemNote(messages as any, schemaNote(json)) as OpenAI.ChatCompletionMessageParam[];
    const b = await c2.chat.completions.create({ model: 'sim-model', messages: noted, max_tokens: 300 });
    expect(zod.parse(JSON.parse(b.choices[0].message.content!))).toEqual(va);
    expect(plain.stats().replies).toEqual({ 'v1.map': 1 });
  });

  it('sloppy mode corrupts a share of replies and counts each kind in the stats', async () => {
    const s = await sim({ quality: 'sloppy', sloppyRate: 0.5, structuredOutput: false, seed: 4 });
    const c = new OpenAI({ baseURL: s.url, apiKey: 'x', maxRetries: 0 });
    const { json } = replySchema(mapOp, input);
    const N = 80;
    const replies = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        c.chat.completions.create({ model: 'sim-model', messages: withSystemNote([{ role: 'system', content: 'Answer.' }, { role: 'user', content: mapMessages({ ...input, chunk: { ...input.chunk, index: i } })[1].content }], schemaNote(json)) as any, max_tokens: 300 }),
      ),
    );
    const st = s.stats();
    const total = CORRUPTION_KINDS.reduce((n, k) => n + st.sloppy[k], 0);
    expect(total).toBeGreaterThan(N * 0.3);
    expect(total).toBeLessThan(N * 0.7);
    const unparsable = replies.filter((r) => {
      try {
        JSON.parse(r.choices[0].message.content ?? '');
        return false;
      } catch {
        return true;
      }
    }).length;
    expect(unparsable).toBeGreaterThan(0);
    // Cut-off replies end at the length limit (so may a reply that repeats itself past max_tokens).
    expect(replies.filter((r) => r.choices[0].finish_reason === 'length').length).toBeGreaterThanOrEqual(st.sloppy.truncated);
    expect(statsLine(st)).toMatch(/sloppy \d+ \(/);
    const metrics = await (await fetch(s.url.replace(/\/v1$/, '/metrics'))).text();
    expect(metrics).toContain('llmxmr_sim_corrupted_replies_total');
  });
});
