import { createMiddleware } from 'hono/factory';
import { createDatabase, type Database } from '../../db/client.ts';
import type { AppEnv } from '../env.ts';

/**
 * Gives the request its database, built on first use. Over HTTP there is nothing to open or close: a
 * request refused early costs nothing, and one that queries pays one round trip per statement.
 */
export const database = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    let db: Database | undefined;
    c.set('db', () => {
      db ??= createDatabase(c.env, `webhooks ${c.get('requestId')}`);
      return db;
    });
    await next();
  });
