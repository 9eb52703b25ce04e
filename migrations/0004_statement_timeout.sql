-- The service's statements are short; one that runs past 5 s is stuck, and its request has already
-- given up (the Worker's own bound is 8 s per statement, src/db/client.ts). Over Neon's HTTP transport
-- there is no session to SET it on, so it is the default for this role in this database. Migrations
-- (scripts/db/migrate.ts) turn it off for their own session.
DO $$
BEGIN
  EXECUTE format('ALTER ROLE %I IN DATABASE %I SET statement_timeout = %L', current_user, current_database(), '5s');
END
$$;
