import type { IncomingMessage } from 'node:http';

/**
 * A request's body as text, decoded once it is whole: decoding chunk by chunk would break any character
 * whose bytes a chunk boundary splits (a large non-ASCII value arrives in several chunks).
 */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
