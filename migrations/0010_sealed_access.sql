ALTER TABLE "request_contexts" ADD COLUMN "permissions" text[];--> statement-breakpoint
ALTER TABLE "request_contexts" ADD COLUMN "contacts_scope" text;--> statement-breakpoint
ALTER TABLE "request_contexts" ADD COLUMN "department_ids" uuid[];