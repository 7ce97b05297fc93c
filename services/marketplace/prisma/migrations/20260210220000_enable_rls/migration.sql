-- TECH-DEBT-001.1: row-level security on marketplace listings and business accounts.
-- listings: a session sees and writes only the rows of app.current_user_id; with the setting
-- unset (or empty) it sees nothing. FORCE makes the policy bind the table owner too.
ALTER TABLE "listings" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "listings" FORCE ROW LEVEL SECURITY;
CREATE POLICY "listings_tenant_isolation" ON "listings"
    USING ("seller_id" = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK ("seller_id" = NULLIF(current_setting('app.current_user_id', true), '')::uuid);

-- business_accounts: a session sees and writes only the rows of app.current_user_id; with the setting
-- unset (or empty) it sees nothing. FORCE makes the policy bind the table owner too.
ALTER TABLE "business_accounts" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "business_accounts" FORCE ROW LEVEL SECURITY;
CREATE POLICY "business_accounts_tenant_isolation" ON "business_accounts"
    USING ("owner_id" = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK ("owner_id" = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
