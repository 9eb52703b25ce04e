ALTER TABLE "deliveries" ADD COLUMN "rate_slot_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "rate_limit_per_second" integer;--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "rate_next_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "lanes" jsonb DEFAULT '{}'::jsonb NOT NULL;