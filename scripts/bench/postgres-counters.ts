// Statement counts measured by Postgres itself: in pg_stat_database every autocommit statement is a
// transaction, and so is each connection's startup, so statements = commits + rollbacks - sessions.
// Only valid for a database nothing else uses (the benchmark's scratch database, autovacuum off).
import pg from 'pg';

export interface DatabaseCounters {
  transactions: number;
  sessions: number;
}

export class PostgresCounters {
  private readonly client: pg.Client;
  private readonly database: string;

  constructor(serverUrl: string, database: string) {
    this.client = new pg.Client({ connectionString: serverUrl });
    this.database = database;
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  /** Reads the counters once backends have flushed their statistics (they do so on exit). */
  async read(settleMs = 1500): Promise<DatabaseCounters> {
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const { rows } = await this.client.query<{ transactions: string; sessions: string }>(
      'select xact_commit + xact_rollback as transactions, sessions from pg_stat_database where datname = $1',
      [this.database],
    );
    const [row] = rows;
    if (!row) throw new Error(`no statistics for database ${this.database}`);
    return { transactions: Number(row.transactions), sessions: Number(row.sessions) };
  }

  static statements(before: DatabaseCounters, after: DatabaseCounters): number {
    return after.transactions - before.transactions - (after.sessions - before.sessions);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
