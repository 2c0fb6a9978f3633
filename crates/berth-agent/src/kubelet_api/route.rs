//! The kubelet API's paths, as upstream's kubelet names them.

use http::Method;

use super::KubeletApiError;

/// A container of a pod, as the path names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    pub namespace: String,
    pub pod: String,
    pub container: String,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Healthz,
    StatsSummary,
    ContainerLogs(ContainerRef),
    Exec(ContainerRef),
    Attach(ContainerRef),
    PortForward { namespace: String, pod: String },
}

fn container(segments: &[&str]) -> Option<ContainerRef> {
    match segments {
        [ns, pod, c] if ![ns, pod, c].iter().any(|s| s.is_empty()) => Some(ContainerRef {
            namespace: (*ns).into(),
            pod: (*pod).into(),
            container: (*c).into(),
        }),
        _ => None,
    }
}

/// The route of `method` on `path`: 404 for an unknown path, 405 for a
/// method the route does not take (logs are GET only; streams GET or POST).
pub fn parse(method: &Method, path: &str) -> Result<Route, KubeletApiError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let not_found = || KubeletApiError::NotFound("404 page not found".into());
    let (first, rest) = segments.split_first().ok_or_else(not_found)?;
    let (route, streaming) = match (*first, rest) {
        ("healthz", []) => (Route::Healthz, false),
        ("stats", ["summary"]) => (Route::StatsSummary, false),
        ("containerLogs", r) => (
            Route::ContainerLogs(container(r).ok_or_else(not_found)?),
            false,
        ),
        ("exec", r) => (Route::Exec(container(r).ok_or_else(not_found)?), true),
        ("attach", r) => (Route::Attach(container(r).ok_or_else(not_found)?), true),
        ("portForward", [ns, pod]) if !ns.is_empty() && !pod.is_empty() => {
            let (namespace, pod) = ((*ns).into(), (*pod).into());
            (Route::PortForward { namespace, pod }, true)
        }
        _ => return Err(not_found()),
    };
    let allowed = method == Method::GET || (streaming && method == Method::POST);
    if !allowed {
        return Err(KubeletApiError::MethodNotAllowed(method.to_string()));
    }
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(ns: &str, pod: &str, container: &str) -> ContainerRef {
        ContainerRef {
            namespace: ns.into(),
            pod: pod.into(),
            container: container.into(),
        }
    }

    #[test]
    fn upstream_kubelet_paths_parse_into_routes() {
        let get = |p: &str| parse(&Method::GET, p).ok();
        assert_eq!(get("/healthz"), Some(Route::Healthz));
        assert_eq!(get("/stats/summary"), Some(Route::StatsSummary));
        assert_eq!(
            get("/containerLogs/default/web/httpd"),
            Some(Route::ContainerLogs(c("default", "web", "httpd")))
        );
        assert_eq!(get("/exec/ns/p/c"), Some(Route::Exec(c("ns", "p", "c"))));
        assert_eq!(
            get("/attach/ns/p/c"),
            Some(Route::Attach(c("ns", "p", "c")))
        );
        assert_eq!(
            parse(&Method::POST, "/portForward/ns/p").ok(),
            Some(Route::PortForward {
                namespace: "ns".into(),
                pod: "p".into()
            })
        );
    }

    #[test]
    fn unknown_or_incomplete_paths_are_not_found() {
        for p in [
            "/",
            "/containerLogs/ns/p",
            "/exec/ns//c",
            "/portForward/ns",
            "/pods",
            "/exec/a/b/c/d",
        ] {
            let r = parse(&Method::GET, p);
            assert!(matches!(r, Err(KubeletApiError::NotFound(_))), "{p}: {r:?}");
        }
    }

    #[test]
    fn logs_take_only_get_and_streams_take_get_or_post() {
        let logs = parse(&Method::POST, "/containerLogs/ns/p/c");
        assert!(matches!(logs, Err(KubeletApiError::MethodNotAllowed(_))));
        assert!(parse(&Method::POST, "/exec/ns/p/c").is_ok());
        let delete = parse(&Method::DELETE, "/exec/ns/p/c");
        assert!(matches!(delete, Err(KubeletApiError::MethodNotAllowed(_))));
    }
}
