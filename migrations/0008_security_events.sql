CREATE TABLE "security_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"code" text NOT NULL,
	"method" text NOT NULL,
	"route" text NOT NULL,
	"user_id" uuid,
	"target_user_id" uuid,
	"workspace_id" uuid,
	"ip" text,
	"user_agent" text,
	"request_id" text,
	CONSTRAINT "security_events_code_is_short" CHECK (length("security_events"."code") <= 40)
);
--> statement-breakpoint
CREATE INDEX "security_events_created_idx" ON "security_events" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "security_events_workspace_idx" ON "security_events" USING btree ("workspace_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "security_events_ip_idx" ON "security_events" USING btree ("ip","created_at");