//! The HTTP surface of both APIs as facts the routers and the OpenAPI
//! document read from one place: routes, the body limit, header names and
//! cache rules.

/// The booking API's one route.
pub const BOOKINGS: &str = "/v1/bookings";

/// Every route of the booking API.
pub const BOOKING_ROUTES: [&str; 1] = [BOOKINGS];

/// Every route of the content API, in the order the document lists them.
pub const CONTENT_ROUTES: [&str; 10] = [
    "/v1/conditions",
    "/v1/conditions/{slug}",
    "/v1/consultants",
    "/v1/consultants/{slug}",
    "/v1/support-services",
    "/v1/prices",
    "/v1/site",
    "/v1/consent",
    "/v1/privacy",
    OPENAPI,
];

/// The API's routes of the staff desk: its API (every path under it needs
/// the desk's JWT authorizer) and its pages (none may have it: a browser
/// opening a page sends no token).
pub const DESK_ROUTES: [&str; 3] = [DESK_API_ROUTE, "/desk", "/desk/{proxy+}"];

/// The desk's API as the HTTP API routes it, behind the JWT authorizer.
pub const DESK_API_ROUTE: &str = "/v1/desk/{proxy+}";

/// The desk's routes of a person's data rights (an admin's search, export
/// and erasure), which the HTTP API routes, behind the same authorizer, to
/// the desk's binary under a role of their own.
pub const DESK_RIGHTS_ROUTE: &str = "/v1/desk/subjects/{proxy+}";

/// Where the OpenAPI document is served.
pub const OPENAPI: &str = "/v1/openapi.json";

/// The largest booking request body accepted, in bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

/// The header a script sends so that retries of one request make one booking.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The header that marks an answer repeated for an earlier identical request.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// How long browsers and a CDN may keep a content answer before asking
/// again with its ETag, and how long a CDN may serve it stale while it
/// revalidates or when the API is down.
pub const CACHE_CONTROL_PUBLIC: &str =
    "public, max-age=60, s-maxage=300, stale-while-revalidate=60, stale-if-error=86400";

/// What every answer about one request (a booking, an error) carries: it
/// must not be cached.
pub const CACHE_CONTROL_NO_STORE: &str = "no-store";

/// The methods a content route takes (`Allow` of its 405).
pub const CONTENT_METHODS: &str = "GET, HEAD";

/// The methods the booking route takes (`Allow` of its 405).
pub const BOOKING_METHODS: &str = "POST";
