-- Down migration of 20260210220000_enable_rls: back to the pre-RLS state of "posts".
DROP POLICY IF EXISTS "posts_tenant_isolation" ON "posts";
ALTER TABLE "posts" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "posts" DISABLE ROW LEVEL SECURITY;
