// A list's nextCursor: where the next page starts (a row's created_at and id), sealed (lib/secret-box.ts)
// and bound to the listing it was issued for: the key, and whatever scopes the list (a webhook, the
// filters). A client cannot read it, forge it, or use it elsewhere: anything that does not open is a
// 400, never a 500 (test/webhook-routes.test.ts, test/delivery-log.test.ts).
import type { SecretBox } from '../lib/secret-box.ts';
import { ApiError } from './errors.ts';

export interface Position {
  createdAt: string;
  id: string;
}

/** What a cursor is bound to: the list, the key, and every parameter that shapes the list. */
export const cursorScope = (list: string, apiKeyId: string, parameters: unknown[]) =>
  `cursor:${list}:${apiKeyId}:${JSON.stringify(parameters)}`;

export function sealCursor(secrets: SecretBox, scope: string, at: Position): Promise<string> {
  return secrets.seal(JSON.stringify([at.createdAt, at.id]), scope);
}

/** The position a cursor names; a 400 at `query.cursor` (or the body's `cursor`) when it is not one issued for this scope. */
export async function openCursor(
  secrets: SecretBox,
  scope: string,
  cursor: string,
  sentIn: 'query' | 'body' = 'query',
): Promise<Position> {
  try {
    const [createdAt, id] = JSON.parse(await secrets.open(cursor, scope)) as [unknown, unknown];
    if (typeof createdAt === 'string' && typeof id === 'string') return { createdAt, id };
  } catch {}
  throw new ApiError('VALIDATION_ERROR', `${sentIn === 'query' ? 'Query' : 'Request body'} is invalid (1 issue)`, {
    details: {
      issues: [
        {
          path: sentIn === 'query' ? 'query.cursor' : 'cursor',
          message: 'Is not a cursor this API issued for this key and these filters',
        },
      ],
    },
  });
}
