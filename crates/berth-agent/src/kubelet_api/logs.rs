//! `GET /containerLogs/{ns}/{pod}/{container}`: a container's output from
//! its CRI log file (the path the runtime reports in `ContainerStatus`),
//! with upstream's options. The newest instance of the container is shown,
//! or with `previous=true` the one before it.

mod follow;
mod format;
mod options;

use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::mpsc;

use super::response::Body;
use super::{ContainerRef, KubeletApiError, KubeletRuntime, lookup};
use follow::LogFollower;
use options::LogOptions;

/// Starts streaming a container's log; the answer's body ends with it.
pub async fn serve(
    runtime: Arc<dyn KubeletRuntime>,
    c: &ContainerRef,
    query: Option<&str>,
) -> Result<Response<Body>, KubeletApiError> {
    let options = LogOptions::from_query(query, jiff::Timestamp::now())
        .map_err(KubeletApiError::BadRequest)?;
    let instances = lookup::containers(runtime.as_ref(), c).await?;
    let chosen = if options.previous {
        instances.get(1).ok_or_else(|| {
            KubeletApiError::BadRequest(format!(
                "previous terminated container {:?} in pod {:?} not found",
                c.container, c.pod
            ))
        })?
    } else {
        instances.first().ok_or_else(|| {
            KubeletApiError::NotFound(format!(
                "container {:?} in pod {:?} not found: it has not been created on this node",
                c.container, c.pod
            ))
        })?
    };
    let status = runtime.container_status(&chosen.id).await?;
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let follower = LogFollower {
        runtime: runtime.clone(),
        container_id: chosen.id.clone(),
        path: status.log_path.into(),
        options,
        tx,
    };
    tokio::spawn(follower.run());
    let frames = futures::stream::unfold(rx, |mut rx| async move {
        let chunk = rx.recv().await?;
        Some((Ok::<_, hyper::Error>(Frame::data(chunk)), rx))
    });
    let mut resp = Response::new(BodyExt::boxed(StreamBody::new(frames)));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    Ok(resp)
}
