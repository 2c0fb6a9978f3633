//! One HTTP request, start to finish: authentication gate, in-flight limit,
//! routing by path and method, and the translation of results and errors
//! into responses (the only place that happens).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Body, Frame};

use crate::authn::UserInfo;
use crate::error::{ApiError, ApiResult};
use crate::registry::{self, Ctx, Written};
use crate::request::{ApiPath, Query, ResourcePath, parse_path};
use crate::state::ApiState;
use crate::table::TableRequest;
use crate::{discovery, openapi, reviews};

pub type ResponseBody = BoxBody<Bytes, Infallible>;

/// Request bodies larger than this get 413, as upstream's 3 MiB limit.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into()).boxed()
}

fn respond(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<ResponseBody> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

fn json(status: u16, body: Vec<u8>) -> Response<ResponseBody> {
    respond(status, "application/json", body)
}

fn error_response(err: &ApiError) -> Response<ResponseBody> {
    let body = serde_json::to_vec(&err.to_status()).unwrap_or_default();
    let mut resp = json(err.code(), body);
    if matches!(err, ApiError::TooManyRequests) {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

fn written(w: Written) -> Response<ResponseBody> {
    let mut resp = json(w.status, w.body);
    for warning in w.warnings {
        let text = format!("299 - \"{}\"", warning.replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

fn header_str<B>(req: &Request<B>, name: header::HeaderName) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn read_body<B>(body: B) -> ApiResult<Bytes>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError::TooLarge(MAX_BODY_BYTES))
        }
        Err(e) => Err(ApiError::BadRequest(format!("reading request body: {e}"))),
    }
}

/// The upstream verb of a resource request, for metrics and allow-lists.
fn verb(method: &Method, path: &ResourcePath, query: &Query) -> &'static str {
    let watching = path.watch_prefix || query.flag("watch").unwrap_or(false);
    match (method.as_str(), path.name.is_some()) {
        ("GET", _) if watching => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

/// Serves one request for an (already authenticated, or anonymous) user.
pub async fn handle<B>(
    state: Arc<ApiState>,
    user: Option<UserInfo>,
    req: Request<B>,
) -> Response<ResponseBody>
where
    B: Body<Data = Bytes> + Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let started = Instant::now();
    let path = parse_path(req.uri().path());
    let public = matches!(path, ApiPath::Healthz(_) | ApiPath::Version);
    if user.is_none() && !public {
        return error_response(&ApiError::Unauthorized);
    }
    let query = Query::parse(req.uri().query());
    let (verb_name, resource_name) = match &path {
        ApiPath::Resource(rp) => (verb(req.method(), rp, &query), rp.resource.clone()),
        _ => ("get", String::new()),
    };
    let long_running = verb_name == "watch";
    let _permit = if long_running {
        None
    } else {
        match state.inflight.try_acquire() {
            Ok(p) => Some(p),
            Err(_) => return error_response(&ApiError::TooManyRequests),
        }
    };
    let result = route(&state, user.as_ref(), path, query, req).await;
    let resp = result.unwrap_or_else(|e| error_response(&e));
    if !resource_name.is_empty() {
        state.metrics.observe_request(
            verb_name,
            &resource_name,
            resp.status().as_u16(),
            started.elapsed(),
        );
    }
    resp
}

/// Serves a pod log/exec/attach/portforward request by forwarding it to the
/// pod's kubelet (the request must stay a hyper request: exec upgrades it).
pub async fn handle_kubelet(
    state: Arc<ApiState>,
    user: Option<UserInfo>,
    req: Request<hyper::body::Incoming>,
) -> Response<ResponseBody> {
    let started = Instant::now();
    if user.is_none() {
        return error_response(&ApiError::Unauthorized);
    }
    let ApiPath::Resource(rp) = parse_path(req.uri().path()) else {
        return error_response(&ApiError::PathNotFound(String::new()));
    };
    let verb = if req.method() == Method::GET {
        "get"
    } else {
        "create"
    };
    let resp = crate::kubelet::serve(state.clone(), rp, req)
        .await
        .unwrap_or_else(|e| error_response(&e));
    state
        .metrics
        .observe_request(verb, "pods", resp.status().as_u16(), started.elapsed());
    resp
}

async fn route<B>(
    state: &Arc<ApiState>,
    user: Option<&UserInfo>,
    path: ApiPath,
    query: Query,
    req: Request<B>,
) -> ApiResult<Response<ResponseBody>>
where
    B: Body<Data = Bytes> + Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let accept = header_str(&req, header::ACCEPT);
    let not_found =
        || ApiError::PathNotFound("the server could not find the requested resource".into());
    let get_only = |m: &Method| {
        if m == Method::GET {
            Ok(())
        } else {
            Err(ApiError::MethodNotAllowed(String::new()))
        }
    };
    match path {
        ApiPath::Healthz(_) => Ok(respond(200, "text/plain; charset=utf-8", "ok")),
        ApiPath::Version => Ok(json(200, serde_json::to_vec(&discovery::version())?)),
        ApiPath::Metrics => Ok(respond(
            200,
            "text/plain; version=0.0.4",
            state.metrics.render(),
        )),
        ApiPath::OpenApiV2 if accept.contains("protobuf") => {
            Ok(respond(200, openapi::V2_PROTOBUF, openapi::v2_protobuf()))
        }
        ApiPath::OpenApiV2 => Ok(json(
            200,
            serde_json::to_vec(&openapi::v2(&state.resources()))?,
        )),
        ApiPath::OpenApiV3Root => Ok(json(
            200,
            serde_json::to_vec(&openapi::v3_root(&state.resources()))?,
        )),
        ApiPath::OpenApiV3(gv) => {
            let doc =
                openapi::v3_group_version_bytes(&state.resources(), &gv).ok_or_else(not_found)?;
            Ok(json(200, doc.as_ref().clone()))
        }
        ApiPath::CoreRoot => {
            get_only(req.method())?;
            let table = state.resources();
            if discovery::wants_aggregated(&accept) {
                return Ok(respond(
                    200,
                    discovery::AGGREGATED_V2,
                    serde_json::to_vec(&discovery::aggregated(&table, true))?,
                ));
            }
            let host = header_str(&req, header::HOST);
            Ok(json(
                200,
                serde_json::to_vec(&discovery::core_versions(&host))?,
            ))
        }
        ApiPath::GroupsRoot => {
            get_only(req.method())?;
            let table = state.resources();
            if discovery::wants_aggregated(&accept) {
                return Ok(respond(
                    200,
                    discovery::AGGREGATED_V2,
                    serde_json::to_vec(&discovery::aggregated(&table, false))?,
                ));
            }
            Ok(json(
                200,
                serde_json::to_vec(&discovery::group_list(&table))?,
            ))
        }
        ApiPath::Group(g) => {
            let doc = discovery::group(&state.resources(), &g).ok_or_else(not_found)?;
            Ok(json(200, serde_json::to_vec(&doc)?))
        }
        ApiPath::GroupVersion { group, version } => {
            let doc = discovery::resource_list(&state.resources(), &group, &version)
                .ok_or_else(not_found)?;
            Ok(json(200, serde_json::to_vec(&doc)?))
        }
        ApiPath::Resource(rp) if reviews::is_review(&rp.group) => {
            review(state, user, rp, req).await
        }
        ApiPath::Resource(rp) => resource(state, rp, query, accept, req).await,
        ApiPath::Unknown => Err(not_found()),
    }
}

async fn resource<B>(
    state: &Arc<ApiState>,
    rp: ResourcePath,
    query: Query,
    accept: String,
    req: Request<B>,
) -> ApiResult<Response<ResponseBody>>
where
    B: Body<Data = Bytes> + Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let res = lookup(state, &rp)?;
    let v = verb(req.method(), &rp, &query);
    if rp.subresource.is_none() && !res.info.verbs.iter().any(|x| x == v) {
        return Err(ApiError::MethodNotAllowed(String::new()));
    }
    let content_type = header_str(&req, header::CONTENT_TYPE);
    let method = req.method().clone();
    let body = if matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        read_body(req.into_body()).await?
    } else {
        Bytes::new()
    };
    let ctx = Ctx {
        state,
        res: res.clone(),
        path: &rp,
        query: &query,
    };
    let table = TableRequest::from_accept(&accept, query.get("includeObject"));
    let result = dispatch(&ctx, &method, v, &body, &content_type, table).await;
    if result.is_ok() && v != "get" && v != "list" && v != "watch" {
        after_write(state, &res.info, &rp).await;
    }
    result
}

/// The served resource a path names, or 404.
fn lookup(state: &ApiState, rp: &ResourcePath) -> ApiResult<Arc<crate::resources::Resource>> {
    state
        .resources()
        .get(&rp.group, &rp.version, &rp.resource)
        .ok_or_else(|| {
            ApiError::PathNotFound("the server could not find the requested resource".into())
        })
}

/// POST of a review: answered from the request, nothing stored.
async fn review<B>(
    state: &Arc<ApiState>,
    user: Option<&UserInfo>,
    rp: ResourcePath,
    req: Request<B>,
) -> ApiResult<Response<ResponseBody>>
where
    B: Body<Data = Bytes> + Send,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let res = lookup(state, &rp)?;
    if req.method() != Method::POST || rp.name.is_some() {
        return Err(ApiError::MethodNotAllowed(String::new()));
    }
    let content_type = header_str(&req, header::CONTENT_TYPE);
    let body = registry::parse_body(&read_body(req.into_body()).await?, &content_type)?;
    let answered = reviews::answer(state, &res.info.kind, user, body)?;
    Ok(json(201, serde_json::to_vec(&answered)?))
}

async fn dispatch(
    ctx: &Ctx<'_>,
    method: &Method,
    verb: &str,
    body: &Bytes,
    content_type: &str,
    table: Option<TableRequest>,
) -> ApiResult<Response<ResponseBody>> {
    if ctx.path.subresource.is_some() {
        return match *method {
            Method::GET => Ok(json(200, registry::get_subresource(ctx).await?)),
            _ => Ok(written(
                registry::write_subresource(ctx, method, body, content_type).await?,
            )),
        };
    }
    let parsed_body = || registry::parse_body(body, content_type);
    let optional_body = || {
        if body.is_empty() {
            Ok(None)
        } else {
            parsed_body().map(Some)
        }
    };
    match verb {
        "watch" => Ok(watch_response(
            registry::watch(ctx, table).await?,
            table.is_some(),
        )),
        "get" => Ok(json(200, registry::get(ctx, table).await?)),
        "list" => Ok(json(200, registry::list(ctx, table).await?)),
        "create" if ctx.path.name.is_none() => {
            Ok(written(registry::create(ctx, parsed_body()?).await?))
        }
        "update" => Ok(written(
            registry::update(ctx, parsed_body()?, registry::Part::Main).await?,
        )),
        "patch" => Ok(written(
            registry::patch(ctx, body, content_type, registry::Part::Main).await?,
        )),
        "delete" => Ok(written(registry::delete(ctx, optional_body()?).await?)),
        "deletecollection" => Ok(written(
            registry::delete_collection(ctx, optional_body()?).await?,
        )),
        _ => Err(ApiError::MethodNotAllowed(String::new())),
    }
}

/// Keeps derived state in step after a successful write.
async fn after_write(state: &Arc<ApiState>, info: &berth_api::ResourceInfo, rp: &ResourcePath) {
    match (info.group.as_str(), info.kind.as_str()) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            if let Err(e) = state.refresh_crds().await {
                tracing::warn!(error = %e, "refreshing custom resources");
            }
        }
        ("", "Namespace") => {
            if let Some(name) = &rp.name {
                state.forget_namespace(name);
            }
        }
        _ => {}
    }
}

fn watch_response(rx: registry::WatchReceiver, table: bool) -> Response<ResponseBody> {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut resp = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    let ct = if table {
        "application/json;as=Table;v=v1;g=meta.k8s.io"
    } else {
        "application/json"
    };
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}
