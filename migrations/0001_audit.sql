CREATE TABLE "audit_chain_heads" (
	"chain_key" uuid PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"hash" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid,
	"chain_key" uuid NOT NULL,
	"chain_seq" bigint NOT NULL,
	"kind" text NOT NULL,
	"actor_user_id" uuid,
	"actor_token_id" uuid,
	"acting_as_user_id" uuid,
	"db_role" text NOT NULL,
	"action" text NOT NULL,
	"entity_type" text,
	"entity_id" text,
	"before" jsonb,
	"after" jsonb,
	"ip" text,
	"user_agent" text,
	"request_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"prev_hash" "bytea",
	"hash" "bytea" NOT NULL,
	CONSTRAINT "audit_log_chain_position_is_unique" UNIQUE("chain_key","chain_seq"),
	CONSTRAINT "audit_log_kind_is_known" CHECK ("audit_log"."kind" in ('event', 'change')),
	CONSTRAINT "audit_log_hash_is_sha256" CHECK (length("audit_log"."hash") = 32)
);
--> statement-breakpoint
CREATE INDEX "audit_log_workspace_seq_idx" ON "audit_log" USING btree ("workspace_id","chain_seq" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "audit_log_entity_idx" ON "audit_log" USING btree ("workspace_id","entity_type","entity_id","chain_seq");