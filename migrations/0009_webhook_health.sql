CREATE TYPE "public"."webhook_disabled_reason" AS ENUM('FAILING', 'GONE', 'MANUAL');--> statement-breakpoint
ALTER TYPE "public"."webhook_event" ADD VALUE 'WEBHOOK_CIRCUIT_OPENED';--> statement-breakpoint
ALTER TYPE "public"."webhook_event" ADD VALUE 'WEBHOOK_RECOVERED';--> statement-breakpoint
ALTER TYPE "public"."webhook_event" ADD VALUE 'WEBHOOK_DISABLED';--> statement-breakpoint
ALTER TYPE "public"."webhook_event" ADD VALUE 'DELIVERY_EXHAUSTED';--> statement-breakpoint
CREATE TABLE "webhook_attempt_stats" (
	"webhook_id" uuid NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"succeeded" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"latency_0" integer DEFAULT 0 NOT NULL,
	"latency_1" integer DEFAULT 0 NOT NULL,
	"latency_2" integer DEFAULT 0 NOT NULL,
	"latency_3" integer DEFAULT 0 NOT NULL,
	"latency_4" integer DEFAULT 0 NOT NULL,
	"latency_5" integer DEFAULT 0 NOT NULL,
	"latency_6" integer DEFAULT 0 NOT NULL,
	"latency_7" integer DEFAULT 0 NOT NULL,
	"latency_8" integer DEFAULT 0 NOT NULL,
	"latency_9" integer DEFAULT 0 NOT NULL,
	"latency_10" integer DEFAULT 0 NOT NULL,
	"latency_11" integer DEFAULT 0 NOT NULL,
	"latency_12" integer DEFAULT 0 NOT NULL,
	"latency_13" integer DEFAULT 0 NOT NULL,
	"latency_14" integer DEFAULT 0 NOT NULL,
	"latency_15" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "webhook_attempt_stats_pkey" PRIMARY KEY("webhook_id","bucket_start")
);
--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "subject_webhook_id" uuid;--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "last_success_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "last_failure_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "failing_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "disabled_reason" "webhook_disabled_reason";--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "disabled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "exhausted_pending" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "webhooks" ADD COLUMN "exhausted_notified_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_attempt_stats" ADD CONSTRAINT "webhook_attempt_stats_webhook_id_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."webhooks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deliveries_webhook_stats_idx" ON "deliveries" USING btree ("webhook_id","created_at","status") WHERE not is_test;