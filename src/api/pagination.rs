//! Pages of 100 with absolute `next`/`previous` links (spec §1.10).

use serde_json::{json, Value};

use super::error::{not_found, ApiResult};
use super::{Ctx, Reply};

pub const PAGE_SIZE: usize = 100;

/// One page of `items`, chosen by `?page=N` or `?page=last`.
pub fn page(ctx: &Ctx, items: Vec<Value>) -> ApiResult<Reply> {
    let count = items.len();
    let pages = count.div_ceil(PAGE_SIZE).max(1);
    let number = match ctx.query_param("page").as_deref() {
        None => 1,
        Some("last") => pages,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=pages).contains(&n) => n,
            _ => return Err(not_found()),
        },
    };
    let results: Vec<Value> = items
        .into_iter()
        .skip((number - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let link = |n: usize| Value::String(page_url(ctx, n));
    Ok(Reply::ok(json!({
        "count": count,
        "next": if number < pages { link(number + 1) } else { Value::Null },
        "previous": if number > 1 { link(number - 1) } else { Value::Null },
        "results": results,
    })))
}

/// The request URL with `page` set to `n`, other query parameters kept.
fn page_url(ctx: &Ctx, n: usize) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(q) = ctx.query.as_deref() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            if k != "page" {
                query.append_pair(&k, &v);
            }
        }
    }
    query.append_pair("page", &n.to_string());
    let path = percent_encoding::utf8_percent_encode(&ctx.path, PATH).to_string();
    format!("{}{}?{}", ctx.origin, path, query.finish())
}

const PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');
