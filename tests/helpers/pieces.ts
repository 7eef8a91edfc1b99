/** Feeding a text to a streaming reader in pieces of given sizes (cycled), for tests of streamed parsing. */
export function feedInPieces<T>(text: string, sizes: number[], reader: { push(piece: string): T[]; end(): T[] }): T[] {
  const out: T[] = [];
  for (let pos = 0, k = 0; pos < text.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]);
    out.push(...reader.push(text.slice(pos, pos + n)));
    pos += n;
  }
  out.push(...reader.end());
  return out;
}
