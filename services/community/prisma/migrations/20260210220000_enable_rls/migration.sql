-- TECH-DEBT-001.1: row-level security on community posts.
-- posts: a session sees and writes only the rows of app.current_user_id; with the setting
-- unset (or empty) it sees nothing. FORCE makes the policy bind the table owner too.
ALTER TABLE "posts" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "posts" FORCE ROW LEVEL SECURITY;
CREATE POLICY "posts_tenant_isolation" ON "posts"
    USING ("author_id" = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK ("author_id" = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
