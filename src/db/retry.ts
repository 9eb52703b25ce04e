import { isTransientConflict } from './errors.ts';

/** Runs of a statement, at most, when Postgres keeps aborting it in deadlocks or serialization conflicts. */
const CONFLICT_ATTEMPTS = 3;

/**
 * Runs one statement again when Postgres aborted it in a deadlock or a serialization conflict. A
 * single statement is all or nothing, so an aborted one left nothing behind and can simply run again;
 * the transaction it clashed with has usually finished by then. Anything else is thrown at once.
 */
export async function retryingConflicts<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= CONFLICT_ATTEMPTS || !isTransientConflict(error)) throw error;
    }
  }
}
