-- CreateTable
CREATE TABLE "business_accounts" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "owner_id" UUID NOT NULL,
    "company" TEXT NOT NULL,
    "plan" TEXT NOT NULL DEFAULT 'free',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "business_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "business_accounts_owner_id_idx" ON "business_accounts"("owner_id");

GRANT SELECT, INSERT, UPDATE, DELETE ON "business_accounts" TO app_user;
