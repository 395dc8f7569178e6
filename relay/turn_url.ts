/** "turn:HOST:PORT" (as coturn is usually addressed) → host and port. */
export function parseTurnUrl(url: string): { host: string; port: number } {
  const m = /^turns?:(\[[0-9a-fA-F:.]+\]|[^:?\s]+)(?::(\d{1,5}))?(\?.*)?$/.exec(url);
  const port = m ? Number(m[2] ?? 3478) : NaN;
  if (!m || !(port > 0 && port < 65536)) {
    throw new Error(`TURN URL must look like turn:HOST:PORT, got "${url}"`);
  }
  return { host: m[1], port };
}
