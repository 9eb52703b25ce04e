DROP INDEX "deliveries_pending_due_idx";--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "slow_until" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "deliveries_pending_due_by_idx" ON "deliveries" USING btree (greatest("created_at", "enqueued_at", "next_attempt_at", "locked_until", "rate_slot_at")) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "deliveries_test_created_idx" ON "deliveries" USING btree ("created_at") WHERE is_test;