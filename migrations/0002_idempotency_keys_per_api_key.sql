-- Idempotency records become per API key (the next migration adds api_key_id to the key). Records made
-- before hold no key id, and are exactly those another key of the account could replay: drop them.
-- They live 24 hours; a client retrying across this migration gets a fresh create instead of a replay.
DELETE FROM "idempotency_keys";
