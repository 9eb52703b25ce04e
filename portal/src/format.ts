/** A date as the person's locale writes it, with the time; "—" for none. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function webhookTitle(webhook: { name: string | null; url: string }): string {
  return webhook.name?.trim() || webhook.url;
}

const HEALTH_LABEL: Record<string, string> = {
  healthy: 'Healthy',
  failing: 'Failing',
  circuit_open: 'Paused (circuit open)',
  disabled: 'Disabled',
};

export function healthLabel(status: string): string {
  return HEALTH_LABEL[status] ?? status;
}
