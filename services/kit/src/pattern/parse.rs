//! Validating a pattern and compiling it into branches of field conditions.

use std::net::IpAddr;
use std::ops::Bound;

use serde_json::{Map, Value};

use super::Pattern;
use super::branch::{Branch, Condition};
use super::cidr::IpRange;
use super::event::PathIndex;
use super::fast_hash::FastMap;
use super::matcher::{
    AnythingBut, FieldMatcher, Number, NumericRange, Operator, StringSet, to_lower,
};
use super::wildcard::{self, Wildcard};

/// How many branches the `$or`s of one pattern may expand to.
const MAX_BRANCHES: usize = 1024;

/// Names EventBridge refuses as field names inside `$or`: its operators, and words it keeps
/// for future ones.
const RESERVED_INSIDE_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "html",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

const ANYTHING_BUT_OPERAND: &str =
    "Value of anything-but must be an array or single string/number value.";

/// A pattern as written, before its `$or`s are expanded.
enum Clause {
    Field { path: String, matcher: FieldMatcher },
    AnyOf(Vec<Vec<Clause>>),
}

/// One entry of a field's value list.
enum Entry {
    Operator(Operator),
    /// `{"exists": false}`.
    Absent,
}

/// Validates a pattern and compiles it; the error is the reason it is not valid.
pub(super) fn compile(pattern: &Value) -> Result<Pattern, String> {
    let Value::Object(fields) = pattern else {
        return Err("Filter is not an object".into());
    };
    let clauses = parse_object(fields, None, false)?;
    check_wildcard_complexity(&clauses)?;

    let mut paths = PathIndex::default();
    let branches = expand(&clauses, vec![Vec::new()])?
        .into_iter()
        .map(|conjunction| {
            let mut conditions: Vec<Condition> = conjunction
                .into_iter()
                .map(|(path, matcher)| Condition {
                    path: paths.intern(&path),
                    matcher,
                })
                .collect();
            conditions.sort_by_key(|c| c.matcher.cost_rank());
            Branch { conditions }
        })
        .collect();
    Ok(Pattern { paths, branches })
}

fn parse_object(
    fields: &Map<String, Value>,
    parent: Option<&str>,
    inside_or: bool,
) -> Result<Vec<Clause>, String> {
    if fields.is_empty() {
        return Err("Empty objects are not allowed".into());
    }
    let mut clauses = Vec::new();
    for (name, value) in fields {
        if name == "$or" {
            clauses.push(Clause::AnyOf(parse_or(value, parent)?));
            continue;
        }
        if inside_or && RESERVED_INSIDE_OR.contains(&name.as_str()) {
            return Err(format!(
                "\"{name}\" is a reserved word and cannot be a field name inside $or"
            ));
        }
        let path = match parent {
            Some(parent) => format!("{parent}.{name}"),
            None => name.clone(),
        };
        match value {
            Value::Object(nested) => clauses.extend(parse_object(nested, Some(&path), inside_or)?),
            Value::Array(values) => clauses.push(Clause::Field {
                matcher: parse_values(values)?,
                path,
            }),
            _ => return Err(format!("\"{name}\" must be an object or an array")),
        }
    }
    Ok(clauses)
}

fn parse_or(value: &Value, parent: Option<&str>) -> Result<Vec<Vec<Clause>>, String> {
    let Value::Array(alternatives) = value else {
        return Err("Value of $or must be an array of objects".into());
    };
    let alternatives = alternatives
        .iter()
        .map(|alternative| match alternative {
            Value::Object(fields) => parse_object(fields, parent, true),
            _ => Err("Only objects are allowed in the array of $or".into()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if alternatives.len() < 2 {
        return Err("$or must have at least 2 objects".into());
    }
    Ok(alternatives)
}

/// A field's list of accepted values: any one of them may match.
fn parse_values(values: &[Value]) -> Result<FieldMatcher, String> {
    if values.is_empty() {
        return Err("Empty arrays are not allowed".into());
    }
    let mut matcher = FieldMatcher::default();
    for value in values {
        match value {
            Value::String(s) => {
                if let Ok(address) = s.parse::<IpAddr>() {
                    matcher
                        .operators
                        .push(Operator::Ip(IpRange::single(address)));
                }
                matcher.exact_strings.insert(s);
            }
            Value::Number(n) => matcher.exact_numbers.extend(Number::from_json(n)),
            Value::Bool(true) => matcher.accepts_true = true,
            Value::Bool(false) => matcher.accepts_false = true,
            Value::Null => matcher.accepts_null = true,
            Value::Object(expression) => match parse_expression(expression)? {
                Entry::Operator(operator) => matcher.operators.push(operator),
                Entry::Absent => matcher.matches_absent = true,
            },
            Value::Array(_) => {
                return Err("Match value must be String, number, true, false, or null".into());
            }
        }
    }
    Ok(matcher)
}

fn parse_expression(expression: &Map<String, Value>) -> Result<Entry, String> {
    let mut entries = expression.iter();
    let Some((name, operand)) = entries.next() else {
        return Err("Match expression name not found".into());
    };
    let entry = match (name.as_str(), operand) {
        ("exists", Value::Bool(true)) => Entry::Operator(Operator::Exists),
        ("exists", Value::Bool(false)) => Entry::Absent,
        ("exists", _) => return Err("exists match pattern must be either true or false.".into()),
        (name, operand) => Entry::Operator(parse_operator(name, operand)?),
    };
    if entries.next().is_some() {
        return Err("Only one key allowed in match expression".into());
    }
    Ok(entry)
}

fn parse_operator(name: &str, operand: &Value) -> Result<Operator, String> {
    Ok(match name {
        "prefix" => match parse_affix(name, operand)? {
            (prefix, false) => Operator::Prefix(prefix),
            (prefix, true) => Operator::PrefixIgnoreCase(prefix),
        },
        "suffix" => match parse_affix(name, operand)? {
            (suffix, false) => Operator::Suffix(suffix),
            (suffix, true) => Operator::SuffixIgnoreCase(suffix),
        },
        "equals-ignore-case" => Operator::EqualsIgnoreCase(to_lower(expect_string(name, operand)?)),
        "wildcard" => Operator::Wildcard(Wildcard::parse(expect_string(name, operand)?)?),
        "numeric" => Operator::Numeric(parse_numeric(operand)?),
        "cidr" => Operator::Ip(IpRange::parse_cidr(expect_string(name, operand)?)?),
        "anything-but" => Operator::AnythingBut(parse_anything_but(operand)?),
        _ => return Err(format!("Unrecognized match type {name}")),
    })
}

fn expect_string<'a>(operator: &str, operand: &'a Value) -> Result<&'a str, String> {
    operand
        .as_str()
        .ok_or_else(|| format!("{operator} match pattern must be a string"))
}

/// The operand of `prefix` or `suffix`: a string, or `{"equals-ignore-case": string}`.
/// Returns the text (lower-cased when case is ignored) and whether case is ignored.
fn parse_affix(operator: &str, operand: &Value) -> Result<(Box<str>, bool), String> {
    match operand {
        Value::String(text) => Ok((text.as_str().into(), false)),
        Value::Object(inner) => {
            let mut entries = inner.iter();
            match entries.next() {
                Some((name, value)) if name == "equals-ignore-case" => {
                    let text = expect_string(name, value)?;
                    if entries.next().is_some() {
                        return Err("Only one key allowed in match expression".into());
                    }
                    Ok((to_lower(text), true))
                }
                Some((name, _)) => Err(format!("Unsupported {operator} pattern: {name}")),
                None => Err(format!("{operator} expression name not found")),
            }
        }
        _ => Err(format!("{operator} match pattern must be a string")),
    }
}

/// `[op, value]`, or a range `[">" or ">=", low, "<" or "<=", high]`.
fn parse_numeric(operand: &Value) -> Result<NumericRange, String> {
    let Value::Array(terms) = operand else {
        return Err("Value of numeric must be an array.".into());
    };
    let mut terms = terms.iter();
    let operator = match terms.next() {
        Some(Value::String(operator)) => operator.as_str(),
        Some(other) => return Err(format!("Invalid member in numeric match: {other}")),
        None => return Err("Value of numeric must not be an empty array.".into()),
    };
    if !matches!(operator, "=" | "<" | "<=" | ">" | ">=") {
        return Err(format!("Unrecognized numeric range operator: {operator}"));
    }
    let value = numeric_operand(operator, terms.next())?;
    let (lower, upper) = match operator {
        "=" => (Bound::Included(value), Bound::Included(value)),
        "<" => (Bound::Unbounded, Bound::Excluded(value)),
        "<=" => (Bound::Unbounded, Bound::Included(value)),
        ">" => (Bound::Excluded(value), Bound::Unbounded),
        _ => (Bound::Included(value), Bound::Unbounded),
    };
    let Some(next) = terms.next() else {
        return Ok(NumericRange { lower, upper });
    };
    // Only a lower bound can be followed, and only by an upper bound.
    if !matches!(operator, ">" | ">=") {
        return Err("Too many elements in numeric expression".into());
    }
    let upper_operator = match next {
        Value::String(op) if op == "<" || op == "<=" => op.as_str(),
        Value::String(op) => return Err(format!("Bad numeric range operator: {op}")),
        other => return Err(format!("Bad value in numeric range: {other}")),
    };
    let top = numeric_operand(upper_operator, terms.next())?;
    if terms.next().is_some() {
        return Err("Too many terms in numeric range expression".into());
    }
    if top <= value {
        return Err("Bottom must be less than top".into());
    }
    let upper = match upper_operator {
        "<" => Bound::Excluded(top),
        _ => Bound::Included(top),
    };
    Ok(NumericRange { lower, upper })
}

fn numeric_operand(operator: &str, term: Option<&Value>) -> Result<f64, String> {
    let name = if operator == "=" { "equals" } else { operator };
    term.and_then(Value::as_f64)
        .ok_or_else(|| format!("Value of {name} must be numeric"))
}

fn parse_anything_but(operand: &Value) -> Result<AnythingBut, String> {
    match operand {
        Value::String(s) => {
            let mut strings = StringSet::default();
            strings.insert(s);
            Ok(AnythingBut::Strings(strings))
        }
        Value::Number(n) => Ok(AnythingBut::Numbers(
            Number::from_json(n).into_iter().collect(),
        )),
        Value::Array(items) => parse_anything_but_list(items),
        Value::Object(inner) => parse_anything_but_operator(inner),
        _ => Err(ANYTHING_BUT_OPERAND.into()),
    }
}

/// `{"anything-but": [...]}`: all strings or all numbers.
fn parse_anything_but_list(items: &[Value]) -> Result<AnythingBut, String> {
    if items.is_empty() {
        return Err("Empty arrays are not allowed".into());
    }
    let mut strings = StringSet::default();
    let mut numbers = Vec::new();
    for item in items {
        match item {
            Value::String(s) => strings.insert(s),
            Value::Number(n) => numbers.extend(Number::from_json(n)),
            _ => {
                return Err(
                    "Inside anything but list, start|null|boolean is not supported.".into(),
                );
            }
        }
    }
    match (strings.is_empty(), numbers.is_empty()) {
        (false, true) => Ok(AnythingBut::Strings(strings)),
        (true, false) => Ok(AnythingBut::Numbers(numbers)),
        _ => Err(
            "Inside anything but list, either all values are number or string, \
                  mixed type is not supported"
                .into(),
        ),
    }
}

/// `{"anything-but": {"prefix" | "suffix" | "equals-ignore-case" | "wildcard": string or [strings]}}`.
fn parse_anything_but_operator(inner: &Map<String, Value>) -> Result<AnythingBut, String> {
    let mut entries = inner.iter();
    let Some((name, operand)) = entries.next() else {
        return Err("Anything-But expression name not found".into());
    };
    let not_a_string = match name.as_str() {
        "equals-ignore-case" => {
            "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
        }
        "prefix" | "suffix" => "prefix/suffix match pattern must be a string",
        "wildcard" => "wildcard match pattern must be a string",
        _ => return Err(format!("Unsupported anything-but pattern: {name}")),
    };
    let texts: Vec<&str> = match operand {
        Value::String(text) => vec![text],
        Value::Array(items) if items.is_empty() => {
            return Err("Empty arrays are not allowed".into());
        }
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().ok_or(not_a_string))
            .collect::<Result<_, _>>()?,
        Value::Number(_) => return Err(not_a_string.into()),
        _ => return Err(ANYTHING_BUT_OPERAND.into()),
    };
    if entries.next().is_some() {
        return Err("Only one key allowed in match expression".into());
    }
    if matches!(name.as_str(), "prefix" | "suffix") && texts.iter().any(|t| t.is_empty()) {
        return Err("Null prefix/suffix not allowed".into());
    }
    let boxed = || texts.iter().map(|&t| Box::from(t)).collect();
    Ok(match name.as_str() {
        "equals-ignore-case" => {
            AnythingBut::EqualsIgnoreCase(texts.iter().map(|t| to_lower(t)).collect())
        }
        "prefix" => AnythingBut::Prefixes(boxed()),
        "suffix" => AnythingBut::Suffixes(boxed()),
        _ => AnythingBut::Wildcards(
            texts
                .iter()
                .map(|t| Wildcard::parse(t))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Checks, path by path, the `wildcard` operands of the whole pattern together, as EventBridge
/// compiles them into one automaton per field.
fn check_wildcard_complexity(clauses: &[Clause]) -> Result<(), String> {
    fn collect<'a>(clauses: &'a [Clause], by_path: &mut FastMap<&'a str, Vec<&'a Wildcard>>) {
        for clause in clauses {
            match clause {
                Clause::Field { path, matcher } => {
                    let wildcards = by_path.entry(path.as_str()).or_default();
                    for operator in &matcher.operators {
                        if let Operator::Wildcard(w) = operator
                            && !wildcards.contains(&w)
                        {
                            wildcards.push(w);
                        }
                    }
                }
                Clause::AnyOf(alternatives) => {
                    for alternative in alternatives {
                        collect(alternative, by_path);
                    }
                }
            }
        }
    }
    let mut by_path = FastMap::default();
    collect(clauses, &mut by_path);
    by_path
        .values()
        .try_for_each(|wildcards| wildcard::check_complexity(wildcards))
}

/// A branch being built: its conditions by path, in pattern order.
type Conjunction = Vec<(String, FieldMatcher)>;

/// Distributes the `$or`s: the result holds one conjunction per combination of alternatives.
fn expand(clauses: &[Clause], mut branches: Vec<Conjunction>) -> Result<Vec<Conjunction>, String> {
    for clause in clauses {
        match clause {
            Clause::Field { path, matcher } => {
                for branch in &mut branches {
                    // A path given twice keeps its last value list, as in EventBridge's engine.
                    match branch.iter_mut().find(|(p, _)| p == path) {
                        Some((_, existing)) => *existing = matcher.clone(),
                        None => branch.push((path.clone(), matcher.clone())),
                    }
                }
            }
            Clause::AnyOf(alternatives) => {
                let mut expanded = Vec::new();
                for alternative in alternatives {
                    expanded.extend(expand(alternative, branches.clone())?);
                    if expanded.len() > MAX_BRANCHES {
                        return Err(format!(
                            "Rule is too complex - its $or expands to more than {MAX_BRANCHES} combinations"
                        ));
                    }
                }
                branches = expanded;
            }
        }
    }
    Ok(branches)
}
