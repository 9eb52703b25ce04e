import type { ApiKey } from '../auth/api-key.ts';

/** A key limited to some companies reaches only those; an unrestricted key reaches every one of its account. */
export function canReachCompany(apiKey: ApiKey, companyId: string): boolean {
  return apiKey.companyIds === null || apiKey.companyIds.includes(companyId);
}
