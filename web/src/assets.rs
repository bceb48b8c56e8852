//! The one stylesheet (with its print section) and the few lines of script that keep the SLA
//! clocks counting down, served from the binary. The pages work without the script: each clock
//! shows the time left when the page was rendered.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// Where the stylesheet is served.
pub const STYLE_PATH: &str = "/web/assets/style.css";
/// Where the countdown script is served.
pub const SCRIPT_PATH: &str = "/web/assets/clock.js";

const STYLE: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/clock.js");

/// `GET /web/assets/style.css`.
pub async fn style() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

/// `GET /web/assets/clock.js`.
pub async fn script() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT)
}
