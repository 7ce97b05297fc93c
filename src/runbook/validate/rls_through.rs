//! `through:` of an `rls` table: the service URL, the tenant header, the owner field and the
//! JSON pointer of the item array.

use super::context::Validator;
use crate::runbook::diagnostic::Pos;
use crate::runbook::interpolate::Scope;
use crate::runbook::model::RlsThrough;
use crate::runbook::raw::RawRlsThrough;

impl Validator<'_> {
    pub(super) fn rls_through(&mut self, raw: &RawRlsThrough, pos: Pos) -> Option<RlsThrough> {
        let url = self.url(&raw.url, pos, Scope::Steps, "through url");
        let header = self.plain(&raw.tenant_header, pos, "tenant header");
        let owner = self.plain(&raw.owner_field, pos, "owner field");
        let items = match &raw.items {
            Some(p) => self.plain(p, pos, "items pointer"),
            None => Some(String::new()),
        };
        if let Some(p) = &items
            && !p.is_empty()
            && !p.starts_with('/')
        {
            self.error_hint(
                pos,
                format!("`items: {p}` is not a JSON pointer"),
                "a JSON pointer starts with `/`, e.g. `items: /data`",
            );
            return None;
        }
        if let Some(h) = &header
            && reqwest::header::HeaderName::from_bytes(h.as_bytes()).is_err()
        {
            self.error(pos, format!("`tenant_header: {h}` is not a valid HTTP header name"));
            return None;
        }
        Some(RlsThrough {
            url: url?,
            tenant_header: header?,
            owner_field: owner?,
            items: items?,
        })
    }
}
