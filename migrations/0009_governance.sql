CREATE TABLE "departments" (
	"workspace_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"parent_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "departments_pkey" PRIMARY KEY("workspace_id","id"),
	CONSTRAINT "departments_name_is_not_blank" CHECK (length(btrim("departments"."name")) between 1 and 100),
	CONSTRAINT "departments_not_own_parent" CHECK ("departments"."parent_id" is distinct from "departments"."id")
);
--> statement-breakpoint
CREATE TABLE "permissions" (
	"name" text PRIMARY KEY NOT NULL,
	"description" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workspace_roles" (
	"workspace_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"permissions" text[] DEFAULT '{}' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspace_roles_pkey" PRIMARY KEY("workspace_id","id"),
	CONSTRAINT "workspace_roles_name_is_not_blank" CHECK (length(btrim("workspace_roles"."name")) between 1 and 60)
);
--> statement-breakpoint
DROP INDEX "contacts_owner_idx";--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "role_id" uuid;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "department_id" uuid;--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "contacts_scope" text;--> statement-breakpoint
ALTER TABLE "workspace_invites" ADD COLUMN "role_id" uuid;--> statement-breakpoint
ALTER TABLE "workspace_invites" ADD COLUMN "contacts_scope" text;--> statement-breakpoint
ALTER TABLE "departments" ADD CONSTRAINT "departments_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "departments" ADD CONSTRAINT "departments_parent_in_same_workspace" FOREIGN KEY ("workspace_id","parent_id") REFERENCES "public"."departments"("workspace_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workspace_roles" ADD CONSTRAINT "workspace_roles_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "departments_parent_idx" ON "departments" USING btree ("workspace_id","parent_id");--> statement-breakpoint
CREATE UNIQUE INDEX "workspace_roles_name_is_unique" ON "workspace_roles" USING btree ("workspace_id",lower("name"));--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_role_in_same_workspace" FOREIGN KEY ("workspace_id","role_id") REFERENCES "public"."workspace_roles"("workspace_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_department_in_same_workspace" FOREIGN KEY ("workspace_id","department_id") REFERENCES "public"."departments"("workspace_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_department_in_same_workspace" FOREIGN KEY ("workspace_id","department_id") REFERENCES "public"."departments"("workspace_id","id") ON DELETE no action ON UPDATE no action NOT VALID;--> statement-breakpoint
ALTER TABLE "workspace_invites" ADD CONSTRAINT "workspace_invites_role_in_same_workspace" FOREIGN KEY ("workspace_id","role_id") REFERENCES "public"."workspace_roles"("workspace_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "memberships_role_idx" ON "memberships" USING btree ("workspace_id","role_id");--> statement-breakpoint
CREATE INDEX "memberships_department_idx" ON "memberships" USING btree ("workspace_id","department_id");--> statement-breakpoint
CREATE INDEX "contacts_owner_created_idx" ON "contacts" USING btree ("workspace_id","owner_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "contacts_department_created_idx" ON "contacts" USING btree ("workspace_id","department_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "workspace_invites_role_idx" ON "workspace_invites" USING btree ("workspace_id","role_id");--> statement-breakpoint
-- Until now contacts.department_id named no table: rows written before may name no department,
-- so the key holds for every row written from here on (NOT VALID) and old values stay as they were.
-- Roles: "member" becomes the built-in "agent" and "viewer" a custom role named "Viewer" in each
-- workspace that uses it, with exactly the viewer's permissions; both keep seeing every contact
-- (contacts_scope 'all'), so nobody loses or gains access. A one-off rename of what existing rows
-- already granted, made by the schema owner outside any request: the change capture and the
-- role-change trigger of sql/130 (which would re-issue sessions) stay off while it runs.
ALTER TABLE "memberships" DISABLE TRIGGER USER;--> statement-breakpoint
ALTER TABLE "workspace_invites" DISABLE TRIGGER USER;--> statement-breakpoint
ALTER TABLE "memberships" NO FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "workspace_invites" NO FORCE ROW LEVEL SECURITY;--> statement-breakpoint
INSERT INTO "permissions" ("name", "description") VALUES
  ('workspace:read', 'See the workspace, its state and trial'),
  ('members:read', 'List the workspace''s members'),
  ('contacts:read', 'List and read contacts and their history')
  ON CONFLICT DO NOTHING;--> statement-breakpoint
INSERT INTO "workspace_roles" ("workspace_id", "name", "permissions")
  SELECT "workspace_id", 'Viewer', '{workspace:read,members:read,contacts:read}'::text[]
    FROM (SELECT "workspace_id" FROM "memberships" WHERE "role" = 'viewer'
          UNION SELECT "workspace_id" FROM "workspace_invites" WHERE "role" = 'viewer') AS "uses";--> statement-breakpoint
UPDATE "memberships" m SET "role" = 'custom', "role_id" = r."id", "contacts_scope" = 'all'
  FROM "workspace_roles" r WHERE m."role" = 'viewer' AND r."workspace_id" = m."workspace_id" AND r."name" = 'Viewer';--> statement-breakpoint
UPDATE "workspace_invites" i SET "role" = 'custom', "role_id" = r."id", "contacts_scope" = 'all'
  FROM "workspace_roles" r WHERE i."role" = 'viewer' AND r."workspace_id" = i."workspace_id" AND r."name" = 'Viewer';--> statement-breakpoint
UPDATE "memberships" SET "role" = 'agent', "contacts_scope" = 'all' WHERE "role" = 'member';--> statement-breakpoint
UPDATE "workspace_invites" SET "role" = 'agent', "contacts_scope" = 'all' WHERE "role" = 'member';--> statement-breakpoint
ALTER TABLE "memberships" ENABLE TRIGGER USER;--> statement-breakpoint
ALTER TABLE "workspace_invites" ENABLE TRIGGER USER;--> statement-breakpoint
ALTER TABLE "memberships" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "workspace_invites" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_role_is_known" CHECK ("memberships"."role" in ('owner', 'admin', 'manager', 'agent', 'custom') and ("memberships"."role" = 'custom') = ("memberships"."role_id" is not null));--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_contacts_scope_is_known" CHECK ("memberships"."contacts_scope" in ('all', 'department', 'own'));--> statement-breakpoint
ALTER TABLE "workspace_invites" ADD CONSTRAINT "workspace_invites_role_is_known" CHECK ("workspace_invites"."role" in ('owner', 'admin', 'manager', 'agent', 'custom') and ("workspace_invites"."role" = 'custom') = ("workspace_invites"."role_id" is not null));--> statement-breakpoint
ALTER TABLE "workspace_invites" ADD CONSTRAINT "workspace_invites_contacts_scope_is_known" CHECK ("workspace_invites"."contacts_scope" in ('all', 'department', 'own'));