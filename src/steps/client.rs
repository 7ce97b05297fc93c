//! The HTTP client of a run: every client deployctl builds for its steps, its dry-run
//! probes and its notifications comes from [`http_client`], so what is set here holds for
//! all of them.
//!
//! - No `Referer` on redirects. reqwest sets it by default to the URL it was redirected
//!   from, query string included, so a token in an http step's URL
//!   (`?token=${env.API_TOKEN}`) would reach whatever host a redirect points to. (reqwest
//!   itself drops `Authorization` and cookies when a redirect leaves the origin.)
//! - A 5 s connect timeout: an unanswering host fails fast, inside the step's own timeout.
//! - `deployctl/<version>` as the user agent, so a service's logs say who called.

use std::time::Duration;

/// The client every HTTP request of a run goes through (build it once per run: it pools
/// connections).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("deployctl/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(5))
        .referer(false)
        .build()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::http_client;
    use crate::runbook::model::{HttpCheck, HttpMethod, Template};
    use crate::steps::StepOutcome;
    use crate::steps::test_server::{Fixture, TestServer};

    const TOKEN: &str = "tok-canary-91f3";

    /// An http step calling `url`.
    fn get(url: &str) -> HttpCheck {
        HttpCheck {
            url: Template::literal(url),
            method: HttpMethod::Get,
            headers: BTreeMap::new(),
            body: None,
            expect_status: None,
            body_contains: None,
            json: BTreeMap::new(),
            max_ms: None,
        }
    }

    #[tokio::test]
    async fn a_redirect_to_another_origin_gets_no_referer_carrying_the_token() {
        let (first, second) = (TestServer::start().await, TestServer::start().await);
        first.redirect(&second.url("/landed"));
        let step = get(&first.url(&format!("/start?token={TOKEN}")));
        let mut fixture = Fixture::new();
        fixture.http = http_client().expect("the client builds");
        assert!(matches!(fixture.run(&step).await, StepOutcome::Done { .. }));
        let landed = second.requests();
        assert_eq!(landed.len(), 1, "the redirect was followed");
        assert_eq!(landed[0].header("referer"), None, "{landed:?}");
        assert_eq!(
            landed[0].header("user-agent"),
            Some(concat!("deployctl/", env!("CARGO_PKG_VERSION")))
        );

        // Why: reqwest's default client sends the URL it left, token and all.
        assert!(matches!(Fixture::new().run(&step).await, StepOutcome::Done { .. }));
        let leaked = second.requests();
        assert!(
            leaked[1].header("referer").is_some_and(|r| r.contains(TOKEN)),
            "reqwest's default would leak it: {leaked:?}"
        );
    }
}
