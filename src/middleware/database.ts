import type { Pool } from '@neondatabase/serverless';
import { createMiddleware } from 'hono/factory';
import { createDatabase, createPool, type Database } from '../db/client.ts';
import type { AppEnv } from '../env.ts';

/** Gives the request a lazily opened database, so requests refused early never open a connection. */
export const database = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    let pool: Pool | undefined;
    let db: Database | undefined;
    c.set('db', () => {
      pool ??= createPool(c.env, `webhooks ${c.var.requestId}`);
      db ??= createDatabase(pool);
      return db;
    });
    try {
      await next();
    } finally {
      if (pool) c.executionCtx.waitUntil(pool.end());
    }
  });
