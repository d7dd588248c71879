//! The bare bootstrap: what any Rust Lambda function on API Gateway with
//! DynamoDB and SES pays before its own code runs. It loads the SDK's
//! configuration, builds the two clients, and answers every request with a
//! constant, so `frontdesk-bench` can state each function's cold start as a
//! ratio of this one's, built with the same profile in the same run.

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    lambda_http::run(service_fn(move |_request: Request| {
        // Held by the handler, as a function's state holds its clients.
        let _clients = (&dynamodb, &ses);
        async move {
            Response::builder()
                .status(200)
                .header("content-type", "text/plain")
                .body(Body::from("ok"))
                .map_err(Error::from)
        }
    }))
    .await
}
