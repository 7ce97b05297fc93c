-- The application role the services act as. Created here when absent so a fresh
-- database can be migrated; roles are cluster-wide, so a concurrent creation by another
-- database's migration is tolerated.
DO $$
BEGIN
    CREATE ROLE app_user NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO app_user;

-- CreateTable
CREATE TABLE "listings" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "seller_id" UUID NOT NULL,
    "title" TEXT NOT NULL,
    "price_cents" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "listings_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "listings_seller_id_idx" ON "listings"("seller_id");

GRANT SELECT, INSERT, UPDATE, DELETE ON "listings" TO app_user;
