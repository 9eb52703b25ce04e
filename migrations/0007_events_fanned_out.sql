ALTER TABLE "events" ADD COLUMN "fanned_out_at" timestamp with time zone DEFAULT now();--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "requeued_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "deliveries_pending_due_idx" ON "deliveries" USING btree (greatest("created_at", "enqueued_at", "next_attempt_at", "locked_until")) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "events_not_fanned_out_idx" ON "events" USING btree ("created_at") WHERE fanned_out_at is null;