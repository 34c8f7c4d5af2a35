//! The whole start-up: settings, development issuer, configuration, listening, and a
//! graceful stop on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use axum_principal::rate_limit::RateLimitLayer;
use axum_principal::AuthLayer;
use axum_principal_testkit::MockIssuer;

use crate::config::auth_config_at;
use crate::dev::{dev_tokens, print_dev_banner, start_dev_issuer, DevTokens};
use crate::routes::app_with_rate_limit;
use crate::settings::{is_loopback_bind, settings_from, ConfigProblem, Settings};
use crate::shared::{rate_limit_layer, redis_connection};

/// Exit status for a configuration mistake.
pub const EXIT_CONFIG: u8 = 2;
/// Exit status for a failure at run time (cannot listen, dev issuer would not start, …).
pub const EXIT_RUNTIME: u8 = 1;

/// Runs the service with the variables `vars` looks up (`std::env::var(..).ok()` in
/// `main`) until Ctrl-C or SIGTERM, and returns the process's exit status: success after a
/// graceful stop, [`EXIT_CONFIG`] for a configuration mistake (after one line on stderr,
/// `configuration error: VARIABLE: what is wrong`), [`EXIT_RUNTIME`] for a failure at run
/// time. Logs go through `tracing`; installing a subscriber is the caller's choice.
pub async fn run(vars: impl Fn(&str) -> Option<String>) -> ExitCode {
    match settings_from(vars) {
        Ok(settings) => run_with(settings, app_with_rate_limit, print_dev_banner).await,
        Err(problem) => config_error(&problem),
    }
}

/// The start-up of [`run`] for checked `settings` and the router `app` builds around the
/// layer and the per-principal quotas, if any (the MCP example serves its own this way). In development mode `banner` prints
/// the development issuer's tokens once the listening address is known.
pub async fn run_with(
    settings: Settings,
    app: impl FnOnce(AuthLayer, Option<RateLimitLayer>) -> Router,
    banner: impl FnOnce(&MockIssuer, &DevTokens, SocketAddr),
) -> ExitCode {
    if settings.dev_mode() && !is_loopback_bind(settings.bind) {
        tracing::warn!(
            bind = %settings.bind,
            "AUTHZ_DEV=1: the development issuer's tokens admit anyone who can reach this \
             address; set AUTHZ_ISSUER for anything but a local test"
        );
    }

    // Kept alive until the server has stopped.
    let dev_issuer = if settings.dev_mode() {
        match start_dev_issuer(&settings).await {
            Ok(issuer) => Some(issuer),
            Err(e) => {
                eprintln!("error: cannot start the development issuer: {e}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        }
    } else {
        None
    };

    // Listening first: the DPoP origin defaults to the address actually bound.
    let listener = match tokio::net::TcpListener::bind(settings.bind).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: BIND: cannot listen on {}: {e}", settings.bind);
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let addr = listener.local_addr().unwrap_or(settings.bind);

    let config = match auth_config_at(&settings, dev_issuer.as_ref(), addr) {
        Ok(config) => config,
        Err(problem) => return config_error(&problem),
    };

    let dev_tokens = match &dev_issuer {
        Some(issuer) => match dev_tokens(issuer, &settings) {
            Ok(tokens) => Some(tokens),
            Err(e) => {
                eprintln!("error: cannot mint development tokens: {e}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        },
        None => None,
    };

    let layer = AuthLayer::new(config);

    let redis = match redis_connection(&settings) {
        Ok(redis) => redis,
        Err(problem) => return config_error(&problem),
    };
    let limits = rate_limit_layer(&settings, redis.as_ref());

    // Fetch the keys now so the first requests need not wait; if the issuer is down the
    // service still starts and answers 503 until keys can be had.
    let authenticator = layer.authenticator().clone();
    tokio::spawn(async move {
        match authenticator.key_store().warm().await {
            Ok(()) => tracing::info!("issuer keys fetched"),
            Err(e) => {
                tracing::warn!(error = %e, "issuer keys not available yet; will retry on demand")
            }
        }
    });

    if let (Some(issuer), Some(tokens)) = (&dev_issuer, &dev_tokens) {
        banner(issuer, tokens, addr);
    }
    tracing::info!(
        %addr,
        issuers = ?layer.authenticator().config().issuers().collect::<Vec<_>>(),
        audiences = ?layer.authenticator().config().audiences(),
        providers = ?settings.issuers.iter().map(|i| i.provider).collect::<Vec<_>>(),
        rate_limit = ?settings.rate_limit,
        redis = redis.is_some(),
        "listening"
    );

    let served = axum::serve(listener, app(layer, limits))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    drop(dev_issuer);
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: server failed: {e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

/// Prints [`config_error_line`] on stderr and gives [`EXIT_CONFIG`].
pub fn config_error(problem: &ConfigProblem) -> ExitCode {
    eprintln!("{}", config_error_line(problem));
    ExitCode::from(EXIT_CONFIG)
}

/// The line start-up prints for a configuration mistake: `configuration error: VARIABLE:
/// what is wrong`, with any URL's credentials redacted.
pub fn config_error_line(problem: &ConfigProblem) -> String {
    let line = format!("configuration error: {problem}");
    axum_principal::redact_credentials(&line).into_owned()
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
