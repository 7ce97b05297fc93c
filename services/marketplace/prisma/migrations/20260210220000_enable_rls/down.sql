-- Down migration of 20260210220000_enable_rls: back to the pre-RLS state of "listings"
-- and "business_accounts".
DROP POLICY IF EXISTS "business_accounts_tenant_isolation" ON "business_accounts";
ALTER TABLE "business_accounts" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "business_accounts" DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS "listings_tenant_isolation" ON "listings";
ALTER TABLE "listings" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "listings" DISABLE ROW LEVEL SECURITY;
