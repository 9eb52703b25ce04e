import { inject } from 'vitest';

/** SQL statements the endpoint saw for one request, identified by its X-Request-Id. */
export async function statementsOf(response: Response): Promise<string[]> {
  const requestId = response.headers.get('X-Request-Id');
  const url = `${inject('sqlEndpoint').controlUrl}/statements?application_name=${encodeURIComponent(`webhooks ${requestId}`)}`;
  const body = (await (await fetch(url)).json()) as { statements: string[] };
  return body.statements;
}

/** The statements that looked an API key up in Postgres. */
export function keyLookups(statements: string[]): string[] {
  return statements.filter((sql) => sql.includes('"api_keys"'));
}
