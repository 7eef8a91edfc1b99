/** The qa_zh profile: Chinese word segmentation in the offline terms, Chinese answers offline, chunking of Chinese text. */
import { describe, expect, it } from 'vitest';
import { chunkText } from '../../shared/algo/chunk.ts';
import { terms, words } from '../../shared/algo/text.ts';
import { countTokens } from '../../shared/algo/tokens.ts';
import { isRelevant, mapOp, reduceOp, type V1Record } from '../../shared/ops/v1/index.ts';
import { getProfile } from '../../shared/ops/v1/profiles.ts';

const env = { blobText: async () => '' };

// A text written for this test.
const TOWN =
  '青石镇位于两条河流的交汇处。镇上的图书馆建于一八九二年，第一任馆长是李文澜。' +
  '每年秋天，镇上都会举办灯笼节，吸引周边村庄的居民前来观赏。镇东的老桥由石匠周大川修建，至今仍在使用。' +
  '镇上的茶馆一共有十七家，其中最老的一家叫听雨轩。\n';
const FIELDS = '春天的田野里开满了油菜花，蜜蜂在花丛中忙碌。远处的山坡上，牧羊人赶着羊群慢慢走过。傍晚时分，炊烟从农舍的屋顶升起。\n';

const map = (text: string, question: string) => mapOp.extractive({ chunk: { index: 0, text }, question, profile: 'qa_zh' }, env) as V1Record;

describe('Chinese words in the offline engine', () => {
  it('segments Chinese runs into words instead of one token per clause, and leaves other text as it was', () => {
    expect(words('长江是中国最长的河流')).toEqual(['长江', '是', '中国', '最长', '的', '河流']);
    expect(words('The pass key is 71432.')).toEqual(['the', 'pass', 'key', 'is', '71432']);
  });

  it('keeps single-character Chinese content words but drops function words', () => {
    const t = terms('老桥由石匠修建的');
    expect(t).toContain('桥');
    expect(t).not.toContain('的');
  });
});

describe('offline qa_zh answers read from a Chinese text', () => {
  const cases: Array<[string, string]> = [
    ['青石镇图书馆的第一任馆长是谁？', '李文澜'],
    ['图书馆建于哪一年？', '一八九二年'],
    ['镇东的老桥是谁修建的？', '石匠周大川'],
    ['最老的茶馆叫什么名字？', '听雨轩'],
  ];
  for (const [question, answer] of cases) {
    it(`${question} → ${answer}`, () => {
      const r = map(FIELDS + TOWN + FIELDS, question);
      expect(r.answer, r.rationale).toBe(answer);
      expect(r.irrelevant).toBe(false);
      expect(r.evidence).toContain(answer);
    });
  }

  it('marks a chunk without the question words irrelevant', () => {
    expect(map(FIELDS.repeat(5), '图书馆建于哪一年？').irrelevant).toBe(true);
  });
});

describe('a long Chinese document through chunking, map and reduce', () => {
  it('counts Chinese tokens honestly, cuts at sentence ends and answers from the one chunk that holds the fact', async () => {
    const doc = FIELDS.repeat(120) + TOWN + FIELDS.repeat(80);
    const budget = 600;
    const chunks = chunkText(doc, budget);
    expect(chunks.map((c) => c.text).join('')).toBe(doc);
    for (const c of chunks) {
      expect(c.tokens).toBe(countTokens(c.text));
      expect(c.tokens).toBeLessThanOrEqual(budget);
      expect(c.text).toMatch(/[。\n]$/);
    }
    // cl100k spends more than one token per Chinese character: the chunks hold fewer characters than the budget.
    expect(countTokens(doc)).toBeGreaterThan(doc.length);
    const question = '青石镇图书馆的第一任馆长是谁？';
    const mapped = await Promise.all(chunks.map((c) => mapOp.extractive({ chunk: { index: c.index, text: c.text }, question, profile: 'qa_zh' }, env)));
    const relevant = mapped.filter((r) => isRelevant(r, question));
    expect(relevant.map((r) => r.answer)).toEqual(['李文澜']);
    const final = await reduceOp.extractive({ records: relevant, question, profile: 'qa_zh' }, env);
    expect(final.answer).toBe('李文澜');
  });
});

describe('qa_zh prompts', () => {
  it('ask in Chinese for a Chinese answer and list the reply fields in Chinese', async () => {
    const p = getProfile('qa_zh');
    expect(p.system).toMatch(/简体中文/);
    const msgs = await mapOp.prompt({ chunk: { index: 2, text: TOWN }, question: '图书馆建于哪一年？', profile: 'qa_zh' }, env);
    expect(msgs[1].content).toContain('问题：图书馆建于哪一年？');
    expect(msgs[1].content).toContain('只回复一个 JSON 对象');
    expect(msgs[1].content).toContain(TOWN);
  });
});
