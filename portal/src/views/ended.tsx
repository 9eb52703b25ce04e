/** What a person sees when the link is expired, malformed or revoked: why, and what to do. No data. */
export function SessionEnded({ message }: { message: string }) {
  return (
    <main id="main" class="ended">
      <h1>This portal link no longer works</h1>
      <p role="alert">{message}</p>
      <p>
        Portal links are short-lived on purpose. Open the webhook portal again from your InstaView dashboard, or ask
        whoever sent you this link for a new one. With an API key you can open one yourself:{' '}
        <code>POST /portal/sessions</code>.
      </p>
    </main>
  );
}
