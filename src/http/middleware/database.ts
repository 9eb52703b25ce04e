import type { Pool } from '@neondatabase/serverless';
import { createMiddleware } from 'hono/factory';
import { createDatabase, createPool, type Database } from '../../db/client.ts';
import type { AppEnv } from '../env.ts';

/** Gives the request a lazily opened database, so requests refused early never open a connection. */
export const database = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    let pool: Pool | undefined;
    let db: Database | undefined;
    const openPool = () => {
      pool ??= createPool(c.env, `webhooks ${c.var.requestId}`);
      return pool;
    };
    c.set('db', () => {
      db ??= createDatabase(openPool());
      return db;
    });
    c.set('preconnect', () => {
      // Errors surface on the first query, which retries the connection and maps the failure.
      openPool()
        .connect()
        .then(
          (client) => client.release(),
          () => {},
        );
    });
    try {
      await next();
    } finally {
      if (pool) c.executionCtx.waitUntil(pool.end());
    }
  });

/**
 * Opens the request's database connection now, in the background, so its round trips overlap the
 * work before the first statement. Only for requests already authenticated and within their limits.
 */
export const preconnect = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    c.var.preconnect();
    await next();
  });
