//! `${...}` references: parsing, checking and resolving them.
//!
//! References resolve once, at load, against the runbook's vars, the environment snapshot
//! and the services, so a missing variable is a validation error before anything runs. Only
//! `${run.id}` stays symbolic: the run id exists when the run does. Values that come from
//! secret-looking environment variables are registered with the [`Redactor`] as they resolve.

use std::collections::BTreeMap;

use crate::redact::{Redactor, is_secret_name};

/// A reference inside a string, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `${vars.NAME}`
    Var(String),
    /// `${env.NAME}` or `${env.NAME:-default}`
    Env { name: String, default: Option<String> },
    /// `${services.NAME.health}`
    ServiceHealth(String),
    /// `${run.id}`
    RunId,
}

/// How an `${env.X}` reference resolved: what binds a run to the environment it began in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvUse {
    /// The variable was set to this.
    Set(String),
    /// It was unset, and the reference's default was used.
    Defaulted(String),
}

impl EnvUse {
    /// The value the reference resolved to.
    pub fn value(&self) -> &str {
        match self {
            EnvUse::Set(v) | EnvUse::Defaulted(v) => v,
        }
    }
}

/// A piece of a parsed string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(String),
    Ref {
        reference: Reference,
        source: String,
        offset: usize,
    },
}

/// A problem with one reference, located by its byte offset inside the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError {
    /// Byte offset of the `${` inside the string as written.
    pub offset: usize,
    /// The reference text (`${vars.x}`), for locating it in the file.
    pub source: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

/// A resolved string; `${run.id}` is the only part still to be filled in.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
enum Part {
    Lit(String),
    RunId,
}

impl Template {
    /// A template with no references.
    pub fn literal(text: impl Into<String>) -> Self {
        Template {
            parts: vec![Part::Lit(text.into())],
        }
    }

    /// The text with the run id filled in.
    pub fn render(&self, run_id: &str) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Lit(s) => s.as_str(),
                Part::RunId => run_id,
            })
            .collect()
    }

    /// The text with `${run.id}` left as written (for plans).
    pub fn display(&self) -> String {
        self.render("${run.id}")
    }

    /// The resolved text around the run id (all of it when there is none): what is known
    /// at load, e.g. to register a secret before the run prints anything.
    pub fn literal_parts(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Lit(s) => Some(s.as_str()),
            Part::RunId => None,
        })
    }

    /// Whether the text is empty once resolved (run id aside).
    pub fn is_blank(&self) -> bool {
        self.parts
            .iter()
            .all(|p| matches!(p, Part::Lit(s) if s.trim().is_empty()))
    }
}

/// Which references a field may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `vars:` values: env and run id only (vars do not reference each other).
    Vars,
    /// `databases:` and `services:`: vars, env, run id.
    Targets,
    /// Steps and everything else: all references.
    Steps,
}

/// What references resolve against.
pub struct Resolver<'a> {
    /// Resolved `vars` (after `--var` overrides).
    pub vars: &'a BTreeMap<String, String>,
    /// The environment snapshot taken at start.
    pub env: &'a BTreeMap<String, String>,
    /// Resolved service health URLs by service name (`None`: the service itself is broken
    /// and already reported, so references to it fail without a second message).
    pub services: &'a BTreeMap<String, Option<String>>,
    /// Where secret values are registered.
    pub redactor: &'a mut Redactor,
    /// Every environment variable referenced so far, and how it resolved.
    pub env_used: &'a mut BTreeMap<String, EnvUse>,
}

impl Resolver<'_> {
    /// Resolves every reference in `text`, returning all problems found.
    pub fn resolve(&mut self, text: &str, scope: Scope) -> Result<Template, Vec<RefError>> {
        let tokens = parse(text).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        let mut parts: Vec<Part> = Vec::new();
        for token in tokens {
            match token {
                Token::Lit(s) => push_lit(&mut parts, &s),
                Token::Ref {
                    reference,
                    source,
                    offset,
                } => match self.lookup(&reference, scope) {
                    Ok(Some(value)) => push_lit(&mut parts, &value),
                    Ok(None) => parts.push(Part::RunId),
                    Err((message, hint)) => errors.push(RefError {
                        offset,
                        source,
                        message,
                        hint,
                    }),
                },
            }
        }
        if errors.is_empty() {
            Ok(Template { parts })
        } else {
            Err(errors)
        }
    }

    /// `Ok(None)` means "the run id, filled in later".
    fn lookup(&mut self, reference: &Reference, scope: Scope) -> Result<Option<String>, (String, Option<String>)> {
        match reference {
            Reference::RunId => Ok(None),
            Reference::Env { name, default } => match (self.env.get(name), default) {
                (Some(value), _) => {
                    if is_secret_name(name) {
                        self.redactor.register(value);
                    }
                    self.env_used.insert(name.clone(), EnvUse::Set(value.clone()));
                    Ok(Some(value.clone()))
                }
                (None, Some(default)) => {
                    self.env_used.insert(name.clone(), EnvUse::Defaulted(default.clone()));
                    Ok(Some(default.clone()))
                }
                (None, None) => Err((
                    format!("environment variable `{name}` is not set"),
                    Some(format!("export {name}=..., or give a default: ${{env.{name}:-value}}")),
                )),
            },
            Reference::Var(name) if scope == Scope::Vars => Err((
                format!("`${{vars.{name}}}` cannot be used inside `vars`"),
                Some("vars may reference ${env.X} and ${run.id}, not other vars".into()),
            )),
            Reference::Var(name) => match self.vars.get(name) {
                Some(value) => Ok(Some(value.clone())),
                None => Err((
                    format!("unknown variable `{name}`"),
                    Some(known("vars", self.vars.keys())),
                )),
            },
            Reference::ServiceHealth(name) if scope != Scope::Steps => {
                Err((format!("`${{services.{name}.health}}` can only be used in steps"), None))
            }
            Reference::ServiceHealth(name) => match self.services.get(name) {
                Some(Some(value)) => Ok(Some(value.clone())),
                Some(None) => Err((String::new(), None)),
                None => Err((
                    format!("unknown service `{name}`"),
                    Some(known("services", self.services.keys())),
                )),
            },
        }
    }
}

fn known<'k>(what: &str, keys: impl Iterator<Item = &'k String>) -> String {
    let names: Vec<&str> = keys.map(String::as_str).collect();
    if names.is_empty() {
        format!("this runbook declares no {what}")
    } else {
        format!("declared {what}: {}", names.join(", "))
    }
}

fn push_lit(parts: &mut Vec<Part>, text: &str) {
    if let Some(Part::Lit(last)) = parts.last_mut() {
        last.push_str(text);
    } else {
        parts.push(Part::Lit(text.to_owned()));
    }
}

/// Lists the references in `text` without resolving them (for dependency checks).
pub fn references(text: &str) -> Result<Vec<Reference>, RefError> {
    Ok(parse(text)?
        .into_iter()
        .filter_map(|t| match t {
            Token::Ref { reference, .. } => Some(reference),
            Token::Lit(_) => None,
        })
        .collect())
}

const FORMS: &str = "references are ${vars.NAME}, ${env.NAME}, ${env.NAME:-default}, \
                     ${services.NAME.health}, ${run.id}; write $${ for a literal ${";

fn parse(text: &str) -> Result<Vec<Token>, RefError> {
    let mut tokens = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(i) = rest.find('$') {
        lit.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(tail) = after.strip_prefix("$${") {
            lit.push_str("${");
            rest = tail;
            offset += i + 3;
        } else if after.starts_with("${") {
            let Some(end) = after.find('}') else {
                return Err(RefError {
                    offset: offset + i,
                    source: "${".into(),
                    message: "unterminated reference: `${` without a closing `}`".into(),
                    hint: Some(FORMS.into()),
                });
            };
            let source = &after[..=end];
            let reference = parse_reference(&after[2..end]).map_err(|message| RefError {
                offset: offset + i,
                source: source.to_owned(),
                message,
                hint: Some(FORMS.into()),
            })?;
            if !lit.is_empty() {
                tokens.push(Token::Lit(std::mem::take(&mut lit)));
            }
            tokens.push(Token::Ref {
                reference,
                source: source.to_owned(),
                offset: offset + i,
            });
            rest = &after[end + 1..];
            offset += i + end + 1;
        } else {
            lit.push('$');
            rest = &after[1..];
            offset += i + 1;
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        tokens.push(Token::Lit(lit));
    }
    Ok(tokens)
}

fn parse_reference(inner: &str) -> Result<Reference, String> {
    let valid_name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if inner == "run.id" {
        return Ok(Reference::RunId);
    }
    if let Some(name) = inner.strip_prefix("vars.") {
        return if valid_name(name) {
            Ok(Reference::Var(name.into()))
        } else {
            Err(format!("invalid variable name in `${{{inner}}}`"))
        };
    }
    if let Some(spec) = inner.strip_prefix("env.") {
        let (name, default) = match spec.split_once(":-") {
            Some((n, d)) => (n, Some(d.to_owned())),
            None => (spec, None),
        };
        let env_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        return if env_name {
            Ok(Reference::Env {
                name: name.into(),
                default,
            })
        } else {
            Err(format!("invalid environment variable name in `${{{inner}}}`"))
        };
    }
    if let Some(spec) = inner.strip_prefix("services.") {
        return match spec.rsplit_once('.') {
            Some((name, "health")) if valid_name(name) => Ok(Reference::ServiceHealth(name.into())),
            Some((name, field)) => Err(format!(
                "`${{{inner}}}`: services expose only `health`, not `{field}` (service `{name}`)"
            )),
            None => Err(format!(
                "`${{{inner}}}` names no field: write `${{services.{spec}.health}}`"
            )),
        };
    }
    Err(format!("unknown reference `${{{inner}}}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` resolved in a step with `vars.api`, `services.web` and `env`, rendered for run R1.
    fn resolve(text: &str, env: &[(&str, &str)]) -> Result<String, Vec<RefError>> {
        resolve_with(text, env, &mut Redactor::default()).map(|t| t.render("R1"))
    }

    fn resolve_with(text: &str, env: &[(&str, &str)], redactor: &mut Redactor) -> Result<Template, Vec<RefError>> {
        let vars = BTreeMap::from([("api".to_string(), "http://h:1".to_string())]);
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let services = BTreeMap::from([("web".to_string(), Some("http://h:1/health".to_string()))]);
        let mut env_used = BTreeMap::new();
        let mut r = Resolver {
            vars: &vars,
            env: &env,
            services: &services,
            redactor,
            env_used: &mut env_used,
        };
        r.resolve(text, Scope::Steps)
    }

    #[test]
    fn resolves_every_form() {
        assert_eq!(resolve("${vars.api}/x", &[]).unwrap(), "http://h:1/x");
        assert_eq!(
            resolve("a ${env.A} ${env.B:-dflt} ${env.C:-}.", &[("A", "1")]).unwrap(),
            "a 1 dflt ."
        );
        assert_eq!(resolve("${services.web.health}", &[]).unwrap(), "http://h:1/health");
        assert_eq!(resolve("run-${run.id}", &[]).unwrap(), "run-R1");
        assert_eq!(
            resolve("cost $5 and $${HOME} and $", &[]).unwrap(),
            "cost $5 and ${HOME} and $"
        );
    }

    #[test]
    fn unknown_references_are_errors_with_offsets() {
        let errors = resolve("x ${vars.nope} ${env.UNSET_X}", &[]).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].offset, 2);
        assert!(errors[0].message.contains("unknown variable `nope`"));
        assert!(errors[1].message.contains("`UNSET_X` is not set"));
        assert!(
            resolve("${foo.bar}", &[]).unwrap_err()[0]
                .message
                .contains("unknown reference")
        );
        assert!(
            resolve("${vars.api", &[]).unwrap_err()[0]
                .message
                .contains("unterminated")
        );
        assert!(
            resolve("${services.web.restart}", &[]).unwrap_err()[0]
                .message
                .contains("only `health`")
        );
    }

    #[test]
    fn secret_env_values_are_registered() {
        let mut redactor = Redactor::default();
        let t = resolve_with("Bearer ${env.API_TOKEN}", &[("API_TOKEN", "tok-123456")], &mut redactor).unwrap();
        assert_eq!(redactor.mask(&t.render("")), "Bearer ***");
    }
}
