-- TECH-DEBT-001.1: row-level security on academy enrollments.
-- enrollments: a session sees and writes only the rows of app.current_user_id; with the setting
-- unset (or empty) it sees nothing. FORCE makes the policy bind the table owner too.
ALTER TABLE "enrollments" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "enrollments" FORCE ROW LEVEL SECURITY;
CREATE POLICY "enrollments_tenant_isolation" ON "enrollments"
    USING ("student_id" = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK ("student_id" = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
