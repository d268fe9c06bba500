//! The OpenAPI 3.1 document: info and security schemes here; paths and schemas come from the handlers.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Document skeleton the router fills with every route it registers.
#[derive(OpenApi)]
#[openapi(
    info(title = "TriggerX API", description = "Jobs, tasks, keepers and API keys of the TriggerX keeper network."),
    modifiers(&Security),
    tags((name = "jobs"), (name = "tasks"), (name = "users"), (name = "keepers"), (name = "leaderboard"),
        (name = "fees"), (name = "admin"), (name = "system"))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))));
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
