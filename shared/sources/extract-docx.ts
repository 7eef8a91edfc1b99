/** DOCX text with mammoth (raw text: paragraphs separated by blank lines), title from the core properties. */
import type { ExtractResult } from './extract.ts';

export async function extractDocx(bytes: Uint8Array): Promise<ExtractResult> {
  try {
    // Loaded here, on first use: a large package that most commands never need.
    const mammoth = (await import('mammoth')).default;
    const { value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes) });
    const text = value.replace(/\r\n?/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
    const title = text.split('\n').map((l) => l.trim()).find((l) => l.length >= 4)?.slice(0, 200);
    return { ok: true, doc: { format: 'docx', text, ...(title ? { title } : {}) } };
  } catch (e) {
    return { ok: false, reason: `corrupt DOCX (${(e as Error).message.slice(0, 200)})` };
  }
}
