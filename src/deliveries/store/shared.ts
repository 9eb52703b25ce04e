// What the delivery statements share: the status a delivery can have, and timestamps formatted by Postgres.
import { type SQL, sql } from 'drizzle-orm';

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** ISO 8601 with milliseconds and Z, as JavaScript writes it, straight from Postgres. */
export const iso = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
