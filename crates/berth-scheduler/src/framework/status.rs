//! `Status`: the outcome of running a plugin at one extension point.

use std::borrow::Cow;
use std::fmt;

/// A status code, as upstream's `framework.Code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The plugin ran and the pod may proceed.
    Success,
    /// An internal error: the cycle is aborted and the pod retried with backoff.
    Error,
    /// The node cannot host the pod now; preemption might help.
    Unschedulable,
    /// The node cannot host the pod and preemption would not help.
    UnschedulableAndUnresolvable,
    /// A Permit plugin asks to wait before binding.
    Wait,
    /// The plugin has nothing to do for this pod (PreFilter, PreScore, Bind).
    Skip,
    /// The pod waits for something outside the scheduler.
    Pending,
}

/// The result of a plugin call. `Status::success()` does not allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    code: Code,
    reasons: Vec<Cow<'static, str>>,
    plugin: &'static str,
}

impl Status {
    /// Success, no reasons.
    pub const fn success() -> Self {
        Self {
            code: Code::Success,
            reasons: Vec::new(),
            plugin: "",
        }
    }

    /// A status with a code and no reasons.
    pub const fn of(code: Code) -> Self {
        Self {
            code,
            reasons: Vec::new(),
            plugin: "",
        }
    }

    /// A status with a code and one reason.
    pub fn new(code: Code, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            reasons: vec![reason.into()],
            plugin: "",
        }
    }

    /// A status with a code and several reasons.
    pub fn with_reasons(code: Code, reasons: Vec<Cow<'static, str>>) -> Self {
        Self {
            code,
            reasons,
            plugin: "",
        }
    }

    /// Skip: the plugin has nothing to do for this pod.
    pub const fn skip() -> Self {
        Self::of(Code::Skip)
    }

    /// An internal error.
    pub fn error(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::Error, message)
    }

    /// Records which plugin produced the status.
    pub fn with_plugin(mut self, plugin: &'static str) -> Self {
        self.plugin = plugin;
        self
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The reasons, each a short phrase counted in `FitError` messages.
    pub fn reasons(&self) -> &[Cow<'static, str>] {
        &self.reasons
    }

    /// The plugin that produced the status, empty when unknown.
    pub fn plugin(&self) -> &'static str {
        self.plugin
    }

    /// The reasons joined with `, `.
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }

    /// True for `Success`.
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// True for `Skip`.
    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// True for `Unschedulable` and `UnschedulableAndUnresolvable`.
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable | Code::Pending
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.code)?;
        if !self.plugin.is_empty() {
            write!(f, " from {}", self.plugin)?;
        }
        if !self.reasons.is_empty() {
            write!(f, ": {}", self.message())?;
        }
        Ok(())
    }
}
