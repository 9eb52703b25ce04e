DROP INDEX "webhooks_account_id_idx";--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "previous_signing_secret_sealed" text;--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "previous_secret_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "revision" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
CREATE INDEX "webhooks_account_created_idx" ON "webhooks" USING btree ("account_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);