import { useState } from 'preact/hooks';
import { when } from '../format.ts';

/** Verifying a delivery with the Standard Webhooks libraries, which take the signing secret as it is shown. */
function snippets(secret: string): { language: string; code: string }[] {
  return [
    {
      language: 'Node.js (npm install standardwebhooks)',
      code: `import { Webhook } from 'standardwebhooks';

const webhook = new Webhook(${secret});
// body: the raw request body as a string; headers: webhook-id, webhook-timestamp, webhook-signature
const event = webhook.verify(body, headers); // throws if the signature does not match`,
    },
    {
      language: 'Python (pip install standardwebhooks)',
      code: `from standardwebhooks.webhooks import Webhook

webhook = Webhook(${secret.replace('process.env.', 'os.environ["').replace(/WEBHOOK_SECRET$/, 'WEBHOOK_SECRET"]')})
event = webhook.verify(body, headers)  # raises if the signature does not match`,
    },
    {
      language: 'Go (github.com/standard-webhooks/standard-webhooks/libraries/go)',
      code: `wh, err := standardwebhooks.NewWebhook(${secret.replace('process.env.WEBHOOK_SECRET', 'os.Getenv("WEBHOOK_SECRET")')})
if err != nil { return err }
// payload: the raw body bytes; r.Header carries webhook-id, webhook-timestamp, webhook-signature
if err := wh.Verify(payload, r.Header); err != nil { http.Error(w, "bad signature", 401); return }`,
    },
  ];
}

/** A secret shown once, with a copy button and how to verify with it. */
export function SecretReveal({ secret, graceEndsAt }: { secret: string; graceEndsAt: string | null }) {
  const [copied, setCopied] = useState<string | null>(null);
  const [fillIn, setFillIn] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying was refused by the browser; select the secret and copy it by hand.');
    }
  };
  return (
    <section class="secret" aria-label="New signing secret">
      <p>
        <strong>Your signing secret, shown only this once.</strong> Store it where your receiver reads it (for example
        the environment variable WEBHOOK_SECRET).
      </p>
      <div class="secret-row">
        <code class="secret-value" data-testid="signing-secret">
          {secret}
        </code>
        <button type="button" onClick={copy}>
          Copy secret
        </button>
      </div>
      <p aria-live="polite">{copied}</p>
      {graceEndsAt && (
        <p>
          The previous secret keeps signing too (each delivery carries both signatures) until{' '}
          <strong>{when(graceEndsAt)}</strong>.
        </p>
      )}
      <h3>Verify a delivery</h3>
      <label class="check">
        <input type="checkbox" checked={fillIn} onChange={(e) => setFillIn(e.currentTarget.checked)} />
        Fill my secret into the examples
      </label>
      {snippets(fillIn ? JSON.stringify(secret) : 'process.env.WEBHOOK_SECRET').map((snippet) => (
        <figure key={snippet.language}>
          <figcaption>{snippet.language}</figcaption>
          <pre>
            <code>{snippet.code}</code>
          </pre>
        </figure>
      ))}
    </section>
  );
}
