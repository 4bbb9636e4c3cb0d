CREATE TABLE "api_tokens" (
	"workspace_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"token_hash" "bytea" NOT NULL,
	"hint" text NOT NULL,
	"scopes" text[] NOT NULL,
	"created_by" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_tokens_pkey" PRIMARY KEY("workspace_id","id"),
	CONSTRAINT "api_tokens_token_hash_is_unique" UNIQUE("token_hash"),
	CONSTRAINT "api_tokens_token_hash_is_sha256" CHECK (length("api_tokens"."token_hash") = 32),
	CONSTRAINT "api_tokens_name_is_not_blank" CHECK (length(btrim("api_tokens"."name")) between 1 and 100)
);
--> statement-breakpoint
CREATE TABLE "billing_events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"workspace_id" uuid,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "channel_credentials" (
	"workspace_id" uuid NOT NULL,
	"type" text NOT NULL,
	"secrets_encrypted" jsonb NOT NULL,
	"masked" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "channel_credentials_pkey" PRIMARY KEY("workspace_id","type"),
	CONSTRAINT "channel_credentials_type_is_known" CHECK ("channel_credentials"."type" in ('telegram', 'whatsapp', 'resend'))
);
--> statement-breakpoint
CREATE TABLE "key_rotations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"target_kid" text NOT NULL,
	"reencrypt" boolean NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "workspace_keys" (
	"workspace_id" uuid PRIMARY KEY NOT NULL,
	"kid" text,
	"data_key_encrypted" text,
	"generation" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"rotated_at" timestamp with time zone,
	"destroyed_at" timestamp with time zone,
	CONSTRAINT "workspace_keys_live_or_destroyed" CHECK (("workspace_keys"."data_key_encrypted" is null and "workspace_keys"."kid" is null) = ("workspace_keys"."destroyed_at" is not null))
);
--> statement-breakpoint
ALTER TABLE "workspaces" DROP CONSTRAINT "workspaces_one_per_owner";--> statement-breakpoint
ALTER TABLE "workspaces" DROP CONSTRAINT "workspaces_billing_status_is_known";--> statement-breakpoint
ALTER TABLE "request_contexts" DROP CONSTRAINT "request_contexts_kind_is_known";--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "billing_period_ends_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "billing_grace_ends_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "email_outbox" ADD COLUMN "from_workspace_id" uuid;--> statement-breakpoint
ALTER TABLE "email_outbox" ADD COLUMN "sent_via" text;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billing_events" ADD CONSTRAINT "billing_events_workspace_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "channel_credentials" ADD CONSTRAINT "channel_credentials_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workspace_keys" ADD CONSTRAINT "workspace_keys_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_tokens_created_by_idx" ON "api_tokens" USING btree ("created_by");--> statement-breakpoint
CREATE INDEX "billing_events_workspace_id_idx" ON "billing_events" USING btree ("workspace_id");--> statement-breakpoint
ALTER TABLE "email_outbox" ADD CONSTRAINT "email_outbox_from_workspace_id_workspaces_id_fk" FOREIGN KEY ("from_workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "workspaces_one_per_owner" ON "workspaces" USING btree ("owner_id") WHERE "workspaces"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "workspaces_owner_id_idx" ON "workspaces" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "email_outbox_from_workspace_id_idx" ON "email_outbox" USING btree ("from_workspace_id");--> statement-breakpoint
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_billing_status_is_known" CHECK ("workspaces"."billing_status" in ('none', 'trialing', 'active', 'past_due', 'canceled', 'unpaid'));--> statement-breakpoint
ALTER TABLE "email_outbox" ADD CONSTRAINT "email_outbox_sent_via_is_known" CHECK ("email_outbox"."sent_via" in ('platform', 'workspace'));--> statement-breakpoint
ALTER TABLE "request_contexts" ADD CONSTRAINT "request_contexts_kind_is_known" CHECK (kind in ('request', 'worker', 'maintenance'));