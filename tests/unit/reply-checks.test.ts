import { describe, expect, it } from 'vitest';
import { guessLanguage, languageCode, languageProblems, outlineProblems, repetitionProblems } from '../../shared/algo/reply-checks.ts';
import { jsonSchemaOf, replySchemaOf } from '../../shared/llm/structured.ts';
import { digestOp, type DigestInput } from '../../shared/ops/v2/digest.ts';
import { groupOp } from '../../shared/ops/v2/group.ts';
import { outlineMergeOp } from '../../shared/ops/v2/outline-merge.ts';
import { outlinePartialOp } from '../../shared/ops/v2/outline-partial.ts';
import { writeOp, WriteInputSchema } from '../../shared/ops/v2/write.ts';

const EN = 'Key-value caches grow with the length of the context, and the memory they take limits the batch size that a server can run at once on one accelerator.';
const FR = "Les caches clé-valeur grandissent avec la longueur du contexte, et la mémoire qu'ils prennent limite la taille des lots que le serveur peut traiter dans une seule fois sur un accélérateur.";
const ZH = '键值缓存随着上下文长度的增加而增长，它们占用的显存限制了服务器一次能够处理的批量大小，因此许多方法尝试压缩或丢弃不重要的缓存条目以节省内存。';

describe('reply checks', () => {
  it('flags a sentence repeated three times, not one said twice', () => {
    expect(repetitionProblems(`${EN} ${EN}`)).toEqual([]);
    expect(repetitionProblems(`${EN} ${EN} ${EN}`, 'The digest')[0]).toMatch(/^The digest repeats the sentence .* 3 times/);
  });

  it('tells English, French and Chinese apart, and leaves short texts alone', () => {
    expect(guessLanguage(EN)).toBe('en');
    expect(guessLanguage(FR)).toBe('fr');
    expect(guessLanguage(ZH)).toBe('zh');
    expect(guessLanguage('Too short to judge.')).toBeUndefined();
    // English full of single letters and "e.g." is still English (these once read as Portuguese).
    const eg = 'A model with a cache, e.g. a paged one, keeps a copy of each key and a copy of each value; a server with a GPU (e.g. an A100) can hold a batch of a few hundred requests at a time.';
    expect(guessLanguage(eg)).toBe('en');
    expect(languageCode('French')).toBe('fr');
    expect(languageCode('zh-CN')).toBe('zh');
  });

  it('asks for the requested language, English by default', () => {
    expect(languageProblems(FR)[0]).toBe('the text is written in French; write it in English.');
    expect(languageProblems(FR, 'fr')).toEqual([]);
    expect(languageProblems(EN, 'French')[0]).toMatch(/in English; write it in French/);
  });

  it('refuses outlines with fewer than two top-level sections, empty or repeated titles', () => {
    expect(outlineProblems([{ title: 'Eviction' }])[0]).toMatch(/1 top-level section/);
    expect(outlineProblems([{ title: 'Eviction' }, { title: 'Quantisation' }])).toEqual([]);
    expect(outlineProblems([{ title: 'A', children: [{ title: 'x' }, { title: 'X ' }] }, { title: 'B' }]).join(' ')).toMatch(/"x" are used for more than one section under the same parent/);
    expect(outlineProblems([{ title: 'A', children: [{ title: 'Evaluation' }] }, { title: 'B', children: [{ title: 'Evaluation' }] }])).toEqual([]);
    expect(outlineProblems([{ title: '' }, { title: 'B' }]).join(' ')).toMatch(/empty title/);
    expect(outlineProblems([{ title: 'KV cache' }, { title: 'kv cache' }], 'KV cache').join(' ')).toMatch(/only repeat the survey title/);
  });
});

const digestInput: DigestInput = {
  title: 'KV cache',
  paperId: 'P007',
  paperTitle: 'Eviction by attention',
  textKey: 'k',
  part: { index: 0, count: 1 },
  sections: [
    { id: 'S1', title: 'Eviction', construction: '', leaf: true, papers: [] },
    { id: 'S2', title: 'Quantisation', construction: '', leaf: true, papers: [] },
  ],
};

describe('V2 reply schemas and checks', () => {
  it('lets a digest name only the section ids of the outline it was shown', () => {
    const schema = replySchemaOf(digestOp, digestInput);
    expect(schema.safeParse({ paperId: 'P007', sections: { S1: 'Evicts tokens [@P007].' } }).success).toBe(true);
    expect(schema.safeParse({ paperId: 'P007', sections: { S9: 'Invented section.' } }).success).toBe(false);
    const sent = jsonSchemaOf(digestOp, schema) as any;
    expect(sent.title).toBe('v2.digest');
    expect(Object.keys(sent.properties.sections.properties)).toEqual(['S1', 'S2']);
    expect(sent.properties.sections.additionalProperties).toBe(false);
  });

  it('asks for a digest that files the paper somewhere when it files it nowhere', () => {
    expect(digestOp.check!({ paperId: 'P007', sections: {}, suggestion: '' }, digestInput)[0]).toMatch(/No section received a digest.*S1, S2/);
    expect(digestOp.check!({ paperId: 'P007', sections: { S2: EN }, suggestion: '' }, digestInput)).toEqual([]);
  });

  it('lets a grouping reply use only the paper ids it was given', () => {
    const input = { title: 't', groupSize: 2, papers: ['P1', 'P2', 'P3'].map((id) => ({ id, title: id })) };
    const schema = replySchemaOf(groupOp, input);
    expect(schema.safeParse({ groups: [{ ids: ['P1', 'P2'] }, { ids: ['P3'] }] }).success).toBe(true);
    expect(schema.safeParse({ groups: [{ ids: ['P1', 'P99'] }] }).success).toBe(false);
    expect((jsonSchemaOf(groupOp, schema) as any).properties.groups.items.properties.ids.items.enum).toEqual(['P1', 'P2', 'P3']);
  });

  it('titles each op\'s schema with its own name, even when two ops share one output schema', () => {
    expect(outlinePartialOp.output).toBe(outlineMergeOp.output);
    expect(jsonSchemaOf(outlinePartialOp)!.title).toBe('v2.outline.partial');
    expect(jsonSchemaOf(outlineMergeOp)!.title).toBe('v2.outline.merge');
  });

  it('sends a merged outline with one top-level section back for repair', () => {
    const input = { title: 'KV cache', partials: [] };
    expect(outlineMergeOp.check!({ sections: [{ id: '', title: 'Everything', construction: '', analysis: '', children: [] }] }, input)[0]).toMatch(/1 top-level section/);
  });

  it('asks a merge to keep three chapters when the partials offer three distinct ones', () => {
    const node = (title: string) => ({ id: '', title, construction: '', analysis: '', children: [] });
    const input = { title: 'KV cache', partials: [{ sections: [node('Eviction'), node('Quantisation')] }, { sections: [node('Offloading'), node('eviction')] }] };
    expect(outlineMergeOp.check!({ sections: [node('Eviction'), node('Compression')] }, input)[0]).toMatch(/has 2 top-level section\(s\); give at least 3/);
    expect(outlineMergeOp.check!({ sections: [node('Eviction'), node('Quantisation'), node('Offloading')] }, input)).toEqual([]);
    // The offline merge, the last resort, keeps three chapters too.
    expect(outlineMergeOp.extractive(input as never, { blobText: async () => '' }) as { sections: unknown[] }).toSatisfy((o: { sections: unknown[] }) => o.sections.length >= 3);
  });

  it('asks a leaf section to cite the papers it was given', () => {
    const input = WriteInputSchema.parse({
      title: 'KV cache',
      role: 'leaf',
      node: { id: 'S1', number: '1', title: 'Eviction', construction: '', analysis: '' },
      digests: ['P1', 'P2', 'P3'].map((paperId) => ({ paperId, paperTitle: paperId, text: `${EN} [@${paperId}]` })),
    });
    expect(writeOp.check!({ text: `${EN} [@P1]` }, input).join(' ')).toMatch(/cites 1 of the 3 papers.*P2, P3/);
    expect(writeOp.check!({ text: `${EN} [@P1] [@P2]` }, input)).toEqual([]);
    expect(writeOp.check!({ text: '  ' }, input)[0]).toMatch(/empty/);
  });
});
