//! API views of auth rows.

use serde::Serialize;

view! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = UserInfo)]
    pub struct User from crate::store::auth::UserInfo {
        pub id: i64,
        pub username: String,
        pub role: String,
        pub locked_until: Option<String>,
        pub disabled: bool,
        pub created_at: String,
    }
}

view! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    #[schema(as = TokenInfo)]
    pub struct Token from crate::store::auth::TokenInfo {
        pub id: i64,
        pub name: String,
        pub role: String,
        pub created_by: String,
        pub created_at: String,
        pub revoked_at: Option<String>,
        /// After this the token is refused (none: a token from before tokens expired).
        pub expires_at: Option<String>,
        /// When it was last used (to the minute).
        pub last_used_at: Option<String>,
    }
}
