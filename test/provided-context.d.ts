// What test/global-setup.ts hands to vitest.config.ts and the tests through provide()/inject().
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseKind: 'postgres' | 'pglite';
    relay: { wsProxy: string; controlUrl: string };
    faultyRelay: { wsProxy: string; controlUrl: string };
  }
}
