//! MCP sessions that belong to the principal who opened them, with a cap per principal.
//!
//! rmcp's [`LocalSessionManager`] knows nothing of principals: any caller holding a valid
//! token and a session id could post into that session, take over its SSE stream (`GET`)
//! or end it (`DELETE`), and one token could open sessions without limit. Here
//!
//! * [`PrincipalSessions`] wraps a session manager and records, when a session is
//!   initialized, the principal (`iss`, kind, `sub`) of the HTTP request that carried the
//!   `initialize` (rmcp hands the manager that request's parts, where the
//!   [`AuthLayer`](axum_principal::AuthLayer) put the [`Principal`]). A principal holds
//!   at most [`MAX_SESSIONS_PER_PRINCIPAL`] sessions: opening one more closes its oldest.
//!   An entry leaves the table when rmcp closes its session (`DELETE`, idle timeout,
//!   end of the worker), so the table is never larger than the live sessions;
//! * [`only_the_owner`], an axum middleware between the layer and rmcp, answers 404 to a
//!   request naming a session (`Mcp-Session-Id`) that is not its principal's, whatever
//!   the method, before rmcp sees it. An unknown id gets the same 404, so the answer does
//!   not tell whether another principal's session exists;
//! * [`PrincipalSessions::local`] is rmcp's in-memory manager with sessions closed after
//!   [`SESSION_IDLE_TIMEOUT`] without a request.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_principal::{Kind, Principal};
use futures_core::Stream;
use http::StatusCode;
use rmcp::model::{ClientJsonRpcMessage, GetExtensions, JsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::{
    ServerSseMessage, SessionId, SessionManager,
};

/// How many live sessions one principal may hold; opening one more closes its oldest.
/// With rmcp's sessions at some tens of KB each, this bounds what one token can make the
/// server hold to a few MB, and is far above what an MCP client opens.
pub const MAX_SESSIONS_PER_PRINCIPAL: usize = 100;

/// A session without a request for this long is closed (rmcp's session keep-alive).
pub const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The header naming a session.
const SESSION_HEADER: &str = "mcp-session-id";

/// The principal who opened a session: the parts of its [`Principal::id`].
#[derive(Debug, PartialEq, Eq, Hash)]
struct Owner {
    issuer: Box<str>,
    kind: Kind,
    subject: Box<str>,
}

impl Owner {
    fn of(principal: &Principal) -> Self {
        let id = principal.id();
        Self {
            issuer: id.issuer().into(),
            kind: id.kind(),
            subject: id.subject().into(),
        }
    }

    fn is(&self, principal: &Principal) -> bool {
        let id = principal.id();
        *self.issuer == *id.issuer() && self.kind == id.kind() && *self.subject == *id.subject()
    }
}

/// Who owns which session, both ways.
#[derive(Default)]
struct Table {
    owner_of: HashMap<SessionId, Arc<Owner>>,
    /// Each owner's sessions, oldest first.
    sessions_of: HashMap<Arc<Owner>, VecDeque<SessionId>>,
}

impl Table {
    /// Records `owner`'s session `id`; the sessions that leave to keep it within `max`.
    fn insert(&mut self, id: SessionId, owner: Owner, max: usize) -> Vec<SessionId> {
        // Ids are random and new; should one come again, it has one owner, the latest.
        self.remove(&id);
        let owner = match self.sessions_of.get_key_value(&owner) {
            Some((shared, _)) => Arc::clone(shared),
            None => Arc::new(owner),
        };
        self.owner_of.insert(id.clone(), Arc::clone(&owner));
        let sessions = self.sessions_of.entry(Arc::clone(&owner)).or_default();
        sessions.push_back(id);
        let excess = sessions.len().saturating_sub(max);
        let evicted: Vec<SessionId> = sessions.drain(..excess).collect();
        for id in &evicted {
            self.owner_of.remove(id);
        }
        if sessions.is_empty() {
            self.sessions_of.remove(&owner);
        }
        evicted
    }

    fn remove(&mut self, id: &str) {
        let Some(owner) = self.owner_of.remove(id) else {
            return;
        };
        if let Some(sessions) = self.sessions_of.get_mut(&owner) {
            sessions.retain(|s| &**s != id);
            if sessions.is_empty() {
                self.sessions_of.remove(&owner);
            }
        }
    }
}

/// A [`SessionManager`] whose sessions belong to the principal that initialized them, at
/// most [`MAX_SESSIONS_PER_PRINCIPAL`] each (see the [module](self) documentation). Put
/// [`only_the_owner`] in front of the service, or ownership is recorded but not enforced.
///
/// It restores no session from an external store and exposes no event store: neither
/// knows who owned a session.
pub struct PrincipalSessions<M = LocalSessionManager> {
    inner: M,
    table: Mutex<Table>,
    max_per_principal: usize,
}

impl PrincipalSessions<LocalSessionManager> {
    /// rmcp's in-memory session manager, sessions closed after [`SESSION_IDLE_TIMEOUT`]
    /// idle, at most [`MAX_SESSIONS_PER_PRINCIPAL`] per principal.
    pub fn local() -> Self {
        let mut inner = LocalSessionManager::default();
        inner.session_config.keep_alive = Some(SESSION_IDLE_TIMEOUT);
        Self::new(inner)
    }
}

impl<M> PrincipalSessions<M> {
    /// Wraps `inner`, at most [`MAX_SESSIONS_PER_PRINCIPAL`] sessions per principal.
    pub fn new(inner: M) -> Self {
        Self {
            inner,
            table: Mutex::new(Table::default()),
            max_per_principal: MAX_SESSIONS_PER_PRINCIPAL,
        }
    }

    /// At most `max` live sessions per principal (at least one).
    pub fn max_per_principal(mut self, max: usize) -> Self {
        self.max_per_principal = max.max(1);
        self
    }

    /// Whether session `id` is live and belongs to `principal`.
    pub fn is_owner(&self, id: &str, principal: &Principal) -> bool {
        self.table()
            .owner_of
            .get(id)
            .is_some_and(|owner| owner.is(principal))
    }

    /// How many sessions are live (initialized and not yet closed), for monitoring.
    pub fn live(&self) -> usize {
        self.table().owner_of.len()
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // The table is consistent after every statement that holds the lock; a panic
        // elsewhere while holding it leaves nothing half done.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<M> fmt::Debug for PrincipalSessions<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrincipalSessions")
            .field("live", &self.live())
            .field("max_per_principal", &self.max_per_principal)
            .finish_non_exhaustive()
    }
}

/// A failure of [`PrincipalSessions`]: the wrapped manager's, or an `initialize` that
/// carries no principal.
#[derive(Debug)]
pub enum SessionError<E> {
    /// The wrapped manager failed.
    Inner(E),
    /// The `initialize` request carried no [`Principal`]: the
    /// [`AuthLayer`](axum_principal::AuthLayer) is not in front of the MCP service.
    NoPrincipal,
}

impl<E: fmt::Display> fmt::Display for SessionError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inner(e) => e.fmt(f),
            Self::NoPrincipal => f.write_str(
                "no principal: axum_principal::AuthLayer is not in front of the MCP service",
            ),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for SessionError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Inner(e) => Some(e),
            Self::NoPrincipal => None,
        }
    }
}

/// The principal the layer put into the HTTP request that carried `message`.
fn principal_of(message: &ClientJsonRpcMessage) -> Option<&Principal> {
    let extensions = match message {
        JsonRpcMessage::Request(request) => request.request.extensions(),
        JsonRpcMessage::Notification(notification) => notification.notification.extensions(),
        _ => return None,
    };
    extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>())
}

impl<M: SessionManager> SessionManager for PrincipalSessions<M> {
    type Error = SessionError<M::Error>;
    type Transport = M::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.inner
            .create_session()
            .await
            .map_err(SessionError::Inner)
    }

    /// Records the owner (closing its oldest sessions beyond the cap), then initializes.
    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        let Some(owner) = principal_of(&message).map(Owner::of) else {
            // Never leave a session nobody owns.
            let _ = self.inner.close_session(id).await;
            return Err(SessionError::NoPrincipal);
        };
        let evicted = self
            .table()
            .insert(id.clone(), owner, self.max_per_principal);
        for old in &evicted {
            // Closing an already closed session is not an error; a failure to close one
            // leaves it to its idle timeout, and it is out of the table either way.
            let _ = self.inner.close_session(old).await;
        }
        let result = self.inner.initialize_session(id, message).await;
        if result.is_err() {
            self.table().remove(id);
            let _ = self.inner.close_session(id).await;
        }
        result.map_err(SessionError::Inner)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner
            .has_session(id)
            .await
            .map_err(SessionError::Inner)
    }

    /// Called by rmcp on `DELETE` and when a session's worker ends (idle timeout
    /// included), so the table follows the live sessions.
    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.table().remove(id);
        self.inner
            .close_session(id)
            .await
            .map_err(SessionError::Inner)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner
            .create_stream(id, message)
            .await
            .map_err(SessionError::Inner)
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.inner
            .accept_message(id, message)
            .await
            .map_err(SessionError::Inner)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner
            .create_standalone_stream(id)
            .await
            .map_err(SessionError::Inner)
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner
            .resume(id, last_event_id)
            .await
            .map_err(SessionError::Inner)
    }
}

/// Axum middleware, inside the [`AuthLayer`](axum_principal::AuthLayer) and in front of
/// rmcp's service: a request naming a session (`Mcp-Session-Id`, any method) goes on only
/// if every such header names a live session of the request's principal; otherwise 404,
/// as rmcp answers for an unknown session. A request naming no session (`initialize`)
/// goes on.
pub async fn only_the_owner<M: Send + Sync + 'static>(
    State(sessions): State<Arc<PrincipalSessions<M>>>,
    request: Request,
    next: Next,
) -> Response {
    let mut named = request.headers().get_all(SESSION_HEADER).iter().peekable();
    if named.peek().is_some() {
        let principal = request.extensions().get::<Principal>();
        let owned = named.all(|value| {
            matches!(
                (value.to_str(), principal),
                (Ok(id), Some(principal)) if sessions.is_owner(id, principal)
            )
        });
        if !owned {
            return session_not_found();
        }
    }
    next.run(request).await
}

fn session_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Body::from("Not Found: Session not found"),
    )
        .into_response()
}
