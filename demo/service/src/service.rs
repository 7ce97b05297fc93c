//! The four services of the seed deployment and what each one's data endpoint reads.

use clap::ValueEnum;

/// One of the services the TECH-DEBT-001.1 rollout restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Service {
    /// Community: posts, by author (community database).
    Community,
    /// Marketplace: listings, by seller (marketplace database).
    Marketplace,
    /// Academy: enrollments, by student (academy database).
    Academy,
    /// Business: business accounts, by owner (read from the marketplace database).
    Business,
}

impl Service {
    /// The name used in URLs, logs and `scripts/demo-services`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Community => "community",
            Service::Marketplace => "marketplace",
            Service::Academy => "academy",
            Service::Business => "business",
        }
    }

    /// The path of the data endpoint.
    pub fn data_path(self) -> &'static str {
        match self {
            Service::Community => "/posts",
            Service::Marketplace => "/listings",
            Service::Academy => "/enrollments",
            Service::Business => "/accounts",
        }
    }

    /// The column that names a row's user.
    pub fn owner_column(self) -> &'static str {
        match self {
            Service::Community => "author_id",
            Service::Marketplace => "seller_id",
            Service::Academy => "student_id",
            Service::Business => "owner_id",
        }
    }

    /// The pre-RLS release's query: the data query filtered by the caller (`$1`) in SQL,
    /// as the application did before row-level security.
    pub fn pre_rls_query(self) -> String {
        self.data_query()
            .replacen(") t", &format!(" where {} = $1::uuid) t", self.owner_column()), 1)
    }

    /// The query behind the data endpoint: every row the session may see, as one JSON
    /// array. No tenant filter on purpose: row-level security is what keeps users apart.
    pub fn data_query(self) -> &'static str {
        match self {
            Service::Community => {
                "select coalesce(json_agg(t order by t.title), '[]'::json) from \
                 (select id, author_id, title from posts) t"
            }
            Service::Marketplace => {
                "select coalesce(json_agg(t order by t.title), '[]'::json) from \
                 (select id, seller_id, title, price_cents from listings) t"
            }
            Service::Academy => {
                "select coalesce(json_agg(t order by t.course), '[]'::json) from \
                 (select id, student_id, course, progress from enrollments) t"
            }
            Service::Business => {
                "select coalesce(json_agg(t order by t.company), '[]'::json) from \
                 (select id, owner_id, company, plan from business_accounts) t"
            }
        }
    }
}
