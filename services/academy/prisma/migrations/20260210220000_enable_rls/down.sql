-- Down migration of 20260210220000_enable_rls: back to the pre-RLS state of "enrollments".
DROP POLICY IF EXISTS "enrollments_tenant_isolation" ON "enrollments";
ALTER TABLE "enrollments" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "enrollments" DISABLE ROW LEVEL SECURITY;
