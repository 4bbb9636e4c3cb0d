CREATE UNLOGGED TABLE "rate_limit_refunds" (
	"ticket_hash" "bytea" PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"bucket" bigint NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "database_secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"secret" "bytea" NOT NULL,
	CONSTRAINT "database_secrets_secret_is_long" CHECK (length("database_secrets"."secret") >= 32)
);
--> statement-breakpoint
CREATE UNLOGGED TABLE "request_contexts" (
	"pid" integer PRIMARY KEY NOT NULL,
	"xact" "xid8" NOT NULL,
	"kind" text NOT NULL,
	"user_id" uuid,
	"session_id" uuid,
	"workspace_id" uuid,
	"token_id" uuid,
	"acting_as_user_id" uuid,
	"ip" text,
	"user_agent" text,
	"request_id" text,
	CONSTRAINT "request_contexts_kind_is_known" CHECK (kind in ('request', 'worker'))
) WITH (fillfactor = 50);
--> statement-breakpoint
CREATE TABLE "platform_admins" (
	"email" text PRIMARY KEY NOT NULL,
	"user_id" uuid,
	"listed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"granted_at" timestamp with time zone,
	CONSTRAINT "platform_admins_user_is_unique" UNIQUE("user_id"),
	CONSTRAINT "platform_admins_email_is_normalised" CHECK ("platform_admins"."email" = lower(btrim("platform_admins"."email")) and position('@' in "platform_admins"."email") > 1),
	CONSTRAINT "platform_admins_grant_is_complete" CHECK (("platform_admins"."user_id" is null) = ("platform_admins"."granted_at" is null))
);
--> statement-breakpoint
CREATE TABLE "role_permissions" (
	"role" text NOT NULL,
	"permission" text NOT NULL,
	CONSTRAINT "role_permissions_pkey" PRIMARY KEY("role","permission")
);
--> statement-breakpoint
ALTER TABLE "platform_admins" ADD CONSTRAINT "platform_admins_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "rate_limit_refunds_expires_idx" ON "rate_limit_refunds" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "sessions_replaced_by_idx" ON "sessions" USING btree ("replaced_by");--> statement-breakpoint
CREATE INDEX "contacts_owner_idx" ON "contacts" USING btree ("workspace_id","owner_id");--> statement-breakpoint
CREATE INDEX "workspace_invites_invited_by_idx" ON "workspace_invites" USING btree ("invited_by");--> statement-breakpoint
CREATE INDEX "workspace_invites_accepted_by_idx" ON "workspace_invites" USING btree ("accepted_by");