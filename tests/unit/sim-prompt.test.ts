/** How the simulator reads a request: fenced blocks, the schema the engine writes into the prompt, the op name. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fence } from '../../shared/ops/op.ts';
import { digestOp, writeOp } from '../../shared/ops/v2/index.ts';
import { citedKeys } from '../../shared/algo/citations.ts';
import { schemaNote, withSystemNote } from '../../shared/llm/structured.ts';
import { fencedBlocks, opNameOf, readPrompt, schemaInPrompt } from '../../shared/sim/prompt.ts';
import { KNOWN_OPS, respondJson } from '../../shared/sim/respond/index.ts';
import { createRng } from '../../shared/algo/rng.ts';
import { PAPERS, replySchema, TOPIC } from './sim-helpers.ts';

describe('sim prompt reading', () => {
  it('reads fenced blocks back with their labels, even when the text holds backticks', () => {
    const text = ['Read this.', fence('Paper P001: On ```code``` fences', 'Line one.\n```\nnot a close\n```\nLine two.'), 'Question: why?'].join('\n\n');
    const { fences, outside } = fencedBlocks(text);
    expect(fences).toEqual([{ label: 'Paper P001: On ```code``` fences', body: 'Line one.\n```\nnot a close\n```\nLine two.' }]);
    expect(outside).toContain('Question: why?');
    expect(outside).not.toContain('Line one');
  });

  it('finds the JSON Schema the engine writes into the system message for servers without structured output', () => {
    const schema = { type: 'object', title: 'v2.digest', properties: { a: { type: 'string', enum: ['S1', 'S2'] } }, required: ['a'] };
    const messages = withSystemNote([{ role: 'system', content: 'You digest papers.' }, { role: 'user', content: 'Digest it.' }], schemaNote(schema));
    expect(schemaInPrompt(messages)).toEqual(schema);
    expect(readPrompt(messages).instructions).not.toContain('"enum"'); // the schema describes the reply, it is not a task
    expect(schemaInPrompt([{ role: 'user', content: 'no schema here' }])).toBeUndefined();
  });

  it('writes a leaf section, not the root, when the schema in the prompt mentions an abstract field', async () => {
    const digests = PAPERS.slice(2, 4).map((p) => ({ paperId: p.id, paperTitle: p.title, text: `${p.text} [@${p.id}]` }));
    const input = writeOp.input.parse({ title: TOPIC, role: 'leaf', node: { id: 'S1.2', number: '1.2', title: 'Token Eviction', construction: 'evicted tokens', analysis: '' }, digests });
    const { json } = replySchema(writeOp, input);
    const sent = withSystemNote(await writeOp.prompt(input, { blobText: async () => '' }), schemaNote(json));
    const r = respondJson({ messages: sent, schema: schemaInPrompt(sent)!, maxTokens: 4000 }, createRng(1)).value as { text: string; abstract?: string };
    expect(r.abstract).toBeUndefined();
    expect(citedKeys(r.text).sort()).toEqual(['P003', 'P004']);
  });

  it('answers a digest request whose schema is only in the prompt with an op-shaped, valid reply', async () => {
    const input = digestOp.input.parse({ title: TOPIC, paperId: 'P005', paperTitle: PAPERS[4].title, textKey: 'k', sections: [
      { id: 'S1', title: 'Quantization', construction: 'bit widths', leaf: true },
      { id: 'S2', title: 'Offloading to Host Memory', construction: 'PCIe transfer and prefetching of cache blocks', leaf: true },
    ] });
    const messages = await digestOp.prompt(input, { blobText: async () => PAPERS[4].text });
    const { json, zod } = replySchema(digestOp, input);
    const sent = withSystemNote(messages, schemaNote(json));
    const schema = schemaInPrompt(sent)!;
    const r = respondJson({ messages: sent, schema, maxTokens: 3000 }, createRng(1));
    expect(r.op).toBe('v2.digest');
    expect(zod.safeParse(r.value).success).toBe(true);
    expect(Object.keys((r.value as any).sections)).toEqual(['S2']);
  });

  it('knows the op by the schema title, else by the response_format name', () => {
    expect(opNameOf({ title: 'v1.map' }, undefined, KNOWN_OPS)).toBe('v1.map');
    expect(opNameOf({}, 'v2_outline_merge', KNOWN_OPS)).toBe('v2.outline.merge');
    expect(opNameOf({}, 'review', KNOWN_OPS)).toBeUndefined();
  });

  it('keeps instructions and sources apart', () => {
    const view = readPrompt([{ role: 'system', content: 'Be careful.' }, { role: 'user', content: `${fence('Claims', '1. A.\n2. B.')}\n\nWhich repeat?` }]);
    expect(view.fences.map((f) => f.label)).toEqual(['Claims']);
    expect(view.instructions).toMatch(/Be careful\.[^]*Which repeat\?/);
    expect(z.string().parse(view.all)).toContain('1. A.');
  });
});
