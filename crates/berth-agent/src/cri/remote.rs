//! The CRI client: tonic over the runtime's Unix socket.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{CriError, ImageService, RuntimeService, api};

mod stats;
mod streaming;

/// A connection to a CRI runtime (containerd) on a Unix socket.
#[derive(Clone)]
pub struct RemoteRuntime {
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
}

/// The socket path of a `unix:///path` endpoint (a bare path is accepted).
pub fn socket_path(endpoint: &str) -> Result<PathBuf, CriError> {
    let path = endpoint.strip_prefix("unix://").unwrap_or(endpoint);
    if !path.starts_with('/') {
        return Err(CriError::Endpoint(endpoint.to_string()));
    }
    Ok(PathBuf::from(path))
}

impl RemoteRuntime {
    /// Connects lazily: the first call dials the socket, and a broken
    /// connection is re-dialled by the channel (the runtime may restart).
    pub fn connect_lazy(endpoint: &str) -> Result<Self, CriError> {
        let path = socket_path(endpoint)?;
        let connector = tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        });
        let channel = Endpoint::from_static("http://cri.local")
            .connect_timeout(Duration::from_secs(5))
            .connect_with_connector_lazy(connector);
        let max = 16 * 1024 * 1024;
        Ok(Self {
            runtime: RuntimeServiceClient::new(channel.clone())
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
            images: ImageServiceClient::new(channel).max_decoding_message_size(max),
        })
    }

    /// Connects and checks the runtime answers `Version`.
    pub async fn connect(endpoint: &str) -> Result<Self, CriError> {
        let rt = Self::connect_lazy(endpoint)?;
        rt.version().await.map_err(|e| CriError::Connect {
            endpoint: endpoint.to_string(),
            message: e.to_string(),
        })?;
        Ok(rt)
    }
}

fn err<'a>(op: &'static str, id: &'a str) -> impl FnOnce(tonic::Status) -> CriError + 'a {
    move |s| CriError::from_status(op, id, &s)
}

#[async_trait]
impl RuntimeService for RemoteRuntime {
    async fn version(&self) -> Result<api::VersionResponse, CriError> {
        let req = api::VersionRequest {
            version: "v1".into(),
        };
        let resp = self.runtime.clone().version(req).await;
        Ok(resp.map_err(err("Version", ""))?.into_inner())
    }

    async fn network_ready(&self) -> Result<bool, CriError> {
        let req = api::StatusRequest { verbose: false };
        let resp = self.runtime.clone().status(req).await;
        let status = resp.map_err(err("Status", ""))?.into_inner().status;
        let conditions = status.map(|s| s.conditions).unwrap_or_default();
        Ok(conditions
            .iter()
            .any(|c| c.r#type == "NetworkReady" && c.status))
    }

    async fn run_pod_sandbox(&self, config: &api::PodSandboxConfig) -> Result<String, CriError> {
        let name = config.metadata.as_ref().map_or("", |m| m.name.as_str());
        let req = api::RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: String::new(),
        };
        let resp = self.runtime.clone().run_pod_sandbox(req).await;
        Ok(resp
            .map_err(err("RunPodSandbox", name))?
            .into_inner()
            .pod_sandbox_id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        let req = api::StopPodSandboxRequest {
            pod_sandbox_id: id.into(),
        };
        let resp = self.runtime.clone().stop_pod_sandbox(req).await;
        resp.map_err(err("StopPodSandbox", id)).map(drop)
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        let req = api::RemovePodSandboxRequest {
            pod_sandbox_id: id.into(),
        };
        let resp = self.runtime.clone().remove_pod_sandbox(req).await;
        resp.map_err(err("RemovePodSandbox", id)).map(drop)
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<api::PodSandboxStatus, CriError> {
        let req = api::PodSandboxStatusRequest {
            pod_sandbox_id: id.into(),
            verbose: false,
        };
        let resp = self.runtime.clone().pod_sandbox_status(req).await;
        let status = resp
            .map_err(err("PodSandboxStatus", id))?
            .into_inner()
            .status;
        status.ok_or_else(|| CriError::NotFound {
            op: "PodSandboxStatus",
            id: id.into(),
        })
    }

    async fn list_pod_sandboxes(&self) -> Result<Vec<api::PodSandbox>, CriError> {
        let req = api::ListPodSandboxRequest { filter: None };
        let resp = self.runtime.clone().list_pod_sandbox(req).await;
        Ok(resp.map_err(err("ListPodSandbox", ""))?.into_inner().items)
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: &api::ContainerConfig,
        sandbox_config: &api::PodSandboxConfig,
    ) -> Result<String, CriError> {
        let req = api::CreateContainerRequest {
            pod_sandbox_id: sandbox_id.into(),
            config: Some(config.clone()),
            sandbox_config: Some(sandbox_config.clone()),
        };
        let name = config.metadata.as_ref().map_or("", |m| m.name.as_str());
        let resp = self.runtime.clone().create_container(req).await;
        Ok(resp
            .map_err(err("CreateContainer", name))?
            .into_inner()
            .container_id)
    }

    async fn start_container(&self, id: &str) -> Result<(), CriError> {
        let req = api::StartContainerRequest {
            container_id: id.into(),
        };
        let resp = self.runtime.clone().start_container(req).await;
        resp.map_err(err("StartContainer", id)).map(drop)
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), CriError> {
        let secs = i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX);
        let req = api::StopContainerRequest {
            container_id: id.into(),
            timeout: secs,
        };
        let mut request = tonic::Request::new(req);
        request.set_timeout(timeout + Duration::from_secs(30));
        let resp = self.runtime.clone().stop_container(request).await;
        resp.map_err(err("StopContainer", id)).map(drop)
    }

    async fn remove_container(&self, id: &str) -> Result<(), CriError> {
        let req = api::RemoveContainerRequest {
            container_id: id.into(),
        };
        let resp = self.runtime.clone().remove_container(req).await;
        resp.map_err(err("RemoveContainer", id)).map(drop)
    }

    async fn list_containers(&self) -> Result<Vec<api::Container>, CriError> {
        let req = api::ListContainersRequest { filter: None };
        let resp = self.runtime.clone().list_containers(req).await;
        Ok(resp
            .map_err(err("ListContainers", ""))?
            .into_inner()
            .containers)
    }

    async fn container_status(&self, id: &str) -> Result<api::ContainerStatus, CriError> {
        let req = api::ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        };
        let resp = self.runtime.clone().container_status(req).await;
        let status = resp
            .map_err(err("ContainerStatus", id))?
            .into_inner()
            .status;
        status.ok_or_else(|| CriError::NotFound {
            op: "ContainerStatus",
            id: id.into(),
        })
    }

    async fn exec_sync(
        &self,
        id: &str,
        cmd: &[String],
        timeout: Duration,
    ) -> Result<api::ExecSyncResponse, CriError> {
        let secs = i64::try_from(timeout.as_secs().max(1)).unwrap_or(i64::MAX);
        let req = api::ExecSyncRequest {
            container_id: id.into(),
            cmd: cmd.to_vec(),
            timeout: secs,
        };
        let resp = self.runtime.clone().exec_sync(req).await;
        Ok(resp.map_err(err("ExecSync", id))?.into_inner())
    }
}

#[async_trait]
impl ImageService for RemoteRuntime {
    async fn pull_image(
        &self,
        image: &str,
        auth: Option<api::AuthConfig>,
    ) -> Result<String, CriError> {
        let req = api::PullImageRequest {
            image: Some(image_spec(image)),
            auth,
            sandbox_config: None,
        };
        let resp = self.images.clone().pull_image(req).await;
        Ok(resp
            .map_err(err("PullImage", image))?
            .into_inner()
            .image_ref)
    }

    async fn image_status(&self, image: &str) -> Result<Option<api::Image>, CriError> {
        let req = api::ImageStatusRequest {
            image: Some(image_spec(image)),
            verbose: false,
        };
        let resp = self.images.clone().image_status(req).await;
        Ok(resp.map_err(err("ImageStatus", image))?.into_inner().image)
    }

    async fn list_images(&self) -> Result<Vec<api::Image>, CriError> {
        let req = api::ListImagesRequest { filter: None };
        let resp = self.images.clone().list_images(req).await;
        Ok(resp.map_err(err("ListImages", ""))?.into_inner().images)
    }
}

fn image_spec(image: &str) -> api::ImageSpec {
    api::ImageSpec {
        image: image.into(),
        ..Default::default()
    }
}
