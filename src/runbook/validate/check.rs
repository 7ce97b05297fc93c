//! Validation of the read-only checks: `http` and `sql`, as steps and inside `check:`,
//! `until:` and monitor probes.

use std::collections::BTreeMap;

use super::context::{Validator, at};
use crate::runbook::diagnostic::Pos;
use crate::runbook::interpolate::Scope;
use crate::runbook::model::*;
use crate::runbook::raw::*;
use crate::runbook::spanned::Spanned;

impl Validator<'_> {
    pub(super) fn http(&mut self, raw: &RawHttp, pos: Pos) -> Option<HttpCheck> {
        let url = self.url(&raw.url, pos, Scope::Steps, "URL");
        let mut headers = BTreeMap::new();
        for (name, value) in &raw.headers {
            if let Some(t) = self.template(value, pos, Scope::Steps) {
                headers.insert(name.clone(), t);
            }
        }
        let body = match &raw.body {
            Some(b) => Some(self.template(b, pos, Scope::Steps)?),
            None => None,
        };
        let (mut status, mut body_contains, mut json, mut max_ms) = (None, None, BTreeMap::new(), None);
        if let Some(e) = &raw.expect {
            if let Some(s) = &e.status {
                status = Some(self.int(s, 100, 599, "expected status")? as u16);
            }
            if let Some(b) = &e.body_contains {
                body_contains = Some(self.template(b, pos, Scope::Steps)?);
            }
            for (pointer, value) in &e.json {
                if !(pointer.is_empty() || pointer.starts_with('/')) {
                    self.error_hint(
                        pos,
                        format!("`{pointer}` is not a JSON pointer"),
                        format!("pointers start with `/`: write `/{pointer}`"),
                    );
                }
                json.insert(pointer.clone(), value.clone());
            }
            if let Some(m) = &e.max_ms {
                max_ms = Some(u64::from(self.int(m, 1, 3_600_000, "max_ms")?));
            }
        }
        Some(HttpCheck {
            url: url?,
            method: self.choice_or(raw.method.as_ref(), pos, HttpMethod::Get)?,
            headers,
            body,
            expect_status: status,
            body_contains,
            json,
            max_ms,
        })
    }

    pub(super) fn sql(&mut self, raw: &RawSql, pos: Pos) -> Option<SqlCheck> {
        let database = self.database(&raw.database, pos);
        if self.has_references(&raw.query.value) {
            self.error_hint(
                at(&raw.query, pos),
                "references are not spliced into SQL text",
                "write `$1` in the query and put the value in `params: [\"${vars.x}\"]`",
            );
        }
        if raw.query.value.trim().is_empty() {
            self.error(at(&raw.query, pos), "query is empty");
        }
        let mut params = Vec::new();
        for p in &raw.params {
            match &p.value {
                serde_json::Value::String(s) => {
                    let text = Spanned {
                        value: s.clone(),
                        pos: p.pos,
                        offset: p.offset,
                    };
                    params.push(SqlParam::Text(self.template(&text, pos, Scope::Steps)?));
                }
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    self.error(p.pos, "a query parameter must be a string, number, bool or null");
                }
                scalar => params.push(SqlParam::Value(scalar.clone())),
            }
        }
        let mut expect = SqlExpect::default();
        if let Some(e) = &raw.expect {
            if let Some(r) = &e.rows {
                expect.rows = Some(u64::from(self.int(r, 0, i64::from(u32::MAX), "expected rows")?));
            }
            if let Some(v) = &e.value {
                if v.value.is_array() || v.value.is_object() {
                    self.error(v.pos, "an expected value must be a string, number, bool or null");
                }
                expect.value = Some(v.value.clone());
            }
            expect.empty = e.empty;
        }
        Some(SqlCheck {
            database: database?,
            query: raw.query.value.clone(),
            params,
            expect,
        })
    }

    pub(super) fn check(&mut self, raw: &Spanned<RawCheck>, what: &str) -> Option<Check> {
        match (&raw.value.http, &raw.value.sql) {
            (Some(h), None) => self.http(&h.value.0, h.pos).map(Check::Http),
            (None, Some(s)) => self.sql(&s.value, s.pos).map(Check::Sql),
            _ => {
                self.error_hint(
                    raw.pos,
                    format!("`{what}` needs exactly one of `http` or `sql`"),
                    "a check is read-only: `{ http: URL }` or `{ sql: { database, query, expect } }`",
                );
                None
            }
        }
    }
}
