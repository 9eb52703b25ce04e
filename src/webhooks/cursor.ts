// The list's nextCursor: where the next page starts, sealed (lib/secret-box.ts) and bound to the key and
// the filters it was issued for. A client cannot read it, forge it, or use it with another key or
// other filters: anything that does not open is a 400, never a 500 (test/webhook-routes.test.ts).
import type { SecretBox } from '../lib/secret-box.ts';
import type { ListFilters, ListPosition, Reader } from './store.ts';

const context = (reader: Reader, filters: ListFilters) =>
  `cursor:webhooks:${reader.accountId}:${reader.apiKeyId}:${JSON.stringify([
    filters.companyId ?? null,
    filters.isActive ?? null,
    filters.event ?? null,
  ])}`;

export function sealCursor(
  secrets: SecretBox,
  reader: Reader,
  filters: ListFilters,
  at: ListPosition,
): Promise<string> {
  return secrets.seal(JSON.stringify([at.createdAt, at.id]), context(reader, filters));
}

/** The position a cursor names, or undefined when it is not one this key was given for these filters. */
export async function openCursor(
  secrets: SecretBox,
  reader: Reader,
  filters: ListFilters,
  cursor: string,
): Promise<ListPosition | undefined> {
  try {
    const [createdAt, id] = JSON.parse(await secrets.open(cursor, context(reader, filters))) as [string, string];
    return typeof createdAt === 'string' && typeof id === 'string' ? { createdAt, id } : undefined;
  } catch {
    return undefined;
  }
}
