//! The EC2 API's errors and the one place they become responses.
//!
//! Error policy: everything a request can run into is an [`Ec2Error`];
//! domain errors from `compute` are mapped into it at the action that knows
//! which EC2 code fits. [`Ec2Error::to_response`] is the only code that
//! renders an error body (`<Response><Errors><Error>…`); an unexpected
//! failure is logged with its details and answered as a bare 500
//! `InternalError`.

use axum::body::Body;
use http::{header, StatusCode};

use crate::xml::Xml;

/// Everything that can go wrong with an EC2 request, as AWS names it.
#[derive(Debug, thiserror::Error)]
pub enum Ec2Error {
    /// The `Action` names nothing we implement.
    #[error("The action {0} is not valid for this web service.")]
    InvalidAction(String),
    /// A required parameter is absent or empty.
    #[error("The request must contain the parameter {0}")]
    MissingParameter(String),
    /// A parameter's value is not acceptable.
    #[error("{0}")]
    InvalidParameterValue(String),
    /// Parameters that cannot be used together.
    #[error("{0}")]
    InvalidParameterCombination(String),
    /// The request as a whole is not acceptable.
    #[error("{0}")]
    InvalidRequest(String),
    /// An instance id that is well-formed but names no instance of the caller.
    #[error("The instance ID '{0}' does not exist")]
    InstanceNotFound(String),
    /// An instance id that is not `i-` and hex.
    #[error("Invalid id: \"{0}\"")]
    InstanceMalformed(String),
    /// An image id that names no image.
    #[error("The image id '[{0}]' does not exist")]
    ImageNotFound(String),
    /// An image id that is not `ami-`/`aki-`/`ari-` and hex.
    #[error("Invalid id: \"{0}\" (expecting \"ami-...\")")]
    ImageMalformed(String),
    /// A key pair name already in use.
    #[error("The keypair '{0}' already exists.")]
    KeyPairDuplicate(String),
    /// A key pair name that names no key pair.
    #[error("The key pair '{0}' does not exist")]
    KeyPairNotFound(String),
    /// Key material that is not a public key we can read.
    #[error("Key is not in valid OpenSSH public key format")]
    KeyFormat,
    /// A security group that does not exist.
    #[error("The security group '{0}' does not exist")]
    GroupNotFound(String),
    /// A security group id that is not `sg-` and hex.
    #[error("Invalid id: \"{0}\" (expecting \"sg-...\")")]
    GroupIdMalformed(String),
    /// A security group name the project already uses.
    #[error("The security group '{0}' already exists")]
    GroupDuplicate(String),
    /// The name `default`: reserved for the group each project has, which
    /// cannot be deleted either (EC2-Classic).
    #[error("{0}")]
    GroupReserved(String),
    /// A security group that an instance, a port or another group's rule uses.
    #[error("{0}")]
    GroupInUse(String),
    /// A rule the group already has.
    #[error("{0}")]
    PermissionDuplicate(String),
    /// A rule to revoke that the group does not have.
    #[error("The specified rule does not exist in this security group.")]
    PermissionNotFound,
    /// The quota on security groups is exhausted.
    #[error("{0}")]
    SecurityGroupLimitExceeded(String),
    /// The quota on security group rules is exhausted.
    #[error("{0}")]
    RulesPerSecurityGroupLimitExceeded(String),
    /// The quota on instances (or cores, RAM) is exhausted.
    #[error("{0}")]
    InstanceLimitExceeded(String),
    /// Another quota is exhausted.
    #[error("{0}")]
    ResourceLimitExceeded(String),
    /// No usable credentials (unknown access key, none given).
    #[error("{0}")]
    AuthFailure(String),
    /// A signature that does not match the one we compute.
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    SignatureDoesNotMatch,
    /// A signature whose credential scope or signed headers are not ones we
    /// accept (another service or region, `host` not signed): AWS answers
    /// these with `SignatureDoesNotMatch` and a message saying what is wrong.
    #[error("{0}")]
    SignatureScope(String),
    /// A signature that leaves out what AWS requires it to cover.
    #[error("{0}")]
    IncompleteSignature(String),
    /// An `X-Amz-Content-SHA256` header that is not the hash of the body received.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,
    /// A request time outside the accepted window.
    #[error("{0}")]
    RequestExpired(String),
    /// An access key locked out after too many failures.
    #[error("Too many failed authentications.")]
    LockedOut,
    /// An instance in a state that does not allow the action.
    #[error("{0}")]
    IncorrectInstanceState(String),
    /// A resource (not an instance) in a state that does not allow the action.
    #[error("{0}")]
    IncorrectState(String),
    /// The instance is protected against this action (`disableApiTermination`).
    #[error("{0}")]
    OperationNotPermitted(String),
    /// A resource the caller may see but not read or change the
    /// attributes of (another project's image): `AuthFailure` with 400,
    /// as nova's EC2 API answered it.
    #[error("{0}")]
    NotAuthorizedFor(String),
    /// A parameter this API knows but does not support in this request.
    #[error("{0}")]
    InvalidParameter(String),
    /// An Elastic IP the caller does not hold.
    #[error("Address '{0}' not found.")]
    AddressNotFound(String),
    /// An allocation id (VPC's) that names no address.
    #[error("The allocation ID '{0}' does not exist")]
    AllocationIdNotFound(String),
    /// An association id (VPC's) that names no association.
    #[error("The association ID '{0}' does not exist")]
    AssociationIdNotFound(String),
    /// No more addresses: the quota or the pool is exhausted.
    #[error("{0}")]
    AddressLimitExceeded(String),
    /// An image name the caller's project already uses.
    #[error("AMI name '{0}' is already in use by AMI {1}")]
    AmiNameDuplicate(String, String),
    /// A resource id of no kind this API knows (CreateTags on a volume, say).
    #[error("The ID '{0}' is not valid")]
    InvalidId(String),
    /// The caller may not perform this action.
    #[error("You are not authorized to perform this operation.")]
    UnauthorizedOperation,
    /// `DryRun=true` on a request that would have succeeded.
    #[error("Request would have succeeded, but DryRun flag is set.")]
    DryRunOperation,
    /// Something the API deliberately does not do.
    #[error("{0}")]
    UnsupportedOperation(String),
    /// A form body over `max_request_body_size`.
    #[error("Request body too large")]
    RequestEntityTooLarge,
    /// A service the request depends on (Keystone) cannot be reached; the
    /// cause is logged where it happened.
    #[error("The service is unavailable. Please try again shortly.")]
    Unavailable,
    /// Anything unexpected: the text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The message every 500 answer carries instead of internal details.
pub const INTERNAL_MESSAGE: &str = "An internal error has occurred";

impl Ec2Error {
    /// The AWS error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidAction(_) => "InvalidAction",
            Self::MissingParameter(_) => "MissingParameter",
            Self::InvalidParameterValue(_) => "InvalidParameterValue",
            Self::InvalidParameterCombination(_) => "InvalidParameterCombination",
            Self::InvalidRequest(_) => "InvalidRequest",
            Self::InstanceNotFound(_) => "InvalidInstanceID.NotFound",
            Self::InstanceMalformed(_) => "InvalidInstanceID.Malformed",
            Self::ImageNotFound(_) => "InvalidAMIID.NotFound",
            Self::ImageMalformed(_) => "InvalidAMIID.Malformed",
            Self::KeyPairDuplicate(_) => "InvalidKeyPair.Duplicate",
            Self::KeyPairNotFound(_) => "InvalidKeyPair.NotFound",
            Self::KeyFormat => "InvalidKey.Format",
            Self::GroupNotFound(_) => "InvalidGroup.NotFound",
            Self::GroupIdMalformed(_) => "InvalidGroupId.Malformed",
            Self::GroupDuplicate(_) => "InvalidGroup.Duplicate",
            Self::GroupReserved(_) => "InvalidGroup.Reserved",
            Self::GroupInUse(_) => "InvalidGroup.InUse",
            Self::PermissionDuplicate(_) => "InvalidPermission.Duplicate",
            Self::PermissionNotFound => "InvalidPermission.NotFound",
            Self::SecurityGroupLimitExceeded(_) => "SecurityGroupLimitExceeded",
            Self::RulesPerSecurityGroupLimitExceeded(_) => "RulesPerSecurityGroupLimitExceeded",
            Self::InstanceLimitExceeded(_) => "InstanceLimitExceeded",
            Self::ResourceLimitExceeded(_) => "ResourceLimitExceeded",
            Self::AuthFailure(_) | Self::LockedOut | Self::NotAuthorizedFor(_) => "AuthFailure",
            Self::InvalidParameter(_) => "InvalidParameter",
            Self::SignatureDoesNotMatch | Self::SignatureScope(_) => "SignatureDoesNotMatch",
            Self::IncompleteSignature(_) => "IncompleteSignature",
            Self::ContentSha256Mismatch => "XAmzContentSHA256Mismatch",
            Self::RequestExpired(_) => "RequestExpired",
            Self::IncorrectInstanceState(_) => "IncorrectInstanceState",
            Self::IncorrectState(_) => "IncorrectState",
            Self::UnauthorizedOperation => "UnauthorizedOperation",
            Self::OperationNotPermitted(_) => "OperationNotPermitted",
            Self::InvalidId(_) => "InvalidID",
            Self::AddressNotFound(_) => "InvalidAddress.NotFound",
            Self::AllocationIdNotFound(_) => "InvalidAllocationID.NotFound",
            Self::AssociationIdNotFound(_) => "InvalidAssociationID.NotFound",
            Self::AddressLimitExceeded(_) => "AddressLimitExceeded",
            Self::AmiNameDuplicate(..) => "InvalidAMIName.Duplicate",
            Self::DryRunOperation => "DryRunOperation",
            Self::UnsupportedOperation(_) => "UnsupportedOperation",
            Self::RequestEntityTooLarge => "RequestEntityTooLarge",
            Self::Unavailable => "Unavailable",
            Self::Internal(_) => "InternalError",
        }
    }

    /// The HTTP status AWS answers this error with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::AuthFailure(_) => StatusCode::UNAUTHORIZED,
            Self::SignatureDoesNotMatch
            | Self::SignatureScope(_)
            | Self::UnauthorizedOperation
            | Self::LockedOut => StatusCode::FORBIDDEN,
            Self::DryRunOperation => StatusCode::PRECONDITION_FAILED,
            Self::RequestEntityTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The message sent to the client (never internal details).
    pub fn message(&self) -> String {
        match self {
            Self::Internal(_) => INTERNAL_MESSAGE.to_string(),
            other => other.to_string(),
        }
    }

    /// Renders the error as EC2's XML error document: the one place an error
    /// becomes a response.
    pub fn to_response(&self, request_id: &str) -> http::Response<Body> {
        if let Self::Internal(detail) = self {
            tracing::error!(request_id, detail = %detail, "EC2 request failed unexpectedly");
        } else {
            tracing::debug!(request_id, code = self.code(), message = %self, "EC2 request refused");
        }
        let mut x = Xml::new();
        x.elem("Response", |x| {
            x.elem("Errors", |x| {
                x.elem("Error", |x| {
                    x.text("Code", self.code());
                    x.text("Message", &self.message());
                });
            });
            x.text("RequestID", request_id);
        });
        http::Response::builder()
            .status(self.status())
            .header(header::CONTENT_TYPE, "text/xml")
            .body(Body::from(x.finish()))
            .unwrap_or_else(|_| http::Response::new(Body::empty()))
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn body_of(e: Ec2Error) -> (StatusCode, String) {
        let r = e.to_response("req-42");
        let status = r.status();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn codes_and_statuses_match_aws() {
        let cases: Vec<(Ec2Error, &str, u16)> = vec![
            (Ec2Error::InvalidAction("Foo".into()), "InvalidAction", 400),
            (
                Ec2Error::MissingParameter("ImageId".into()),
                "MissingParameter",
                400,
            ),
            (
                Ec2Error::InvalidParameterValue("x".into()),
                "InvalidParameterValue",
                400,
            ),
            (
                Ec2Error::InstanceNotFound("i-1".into()),
                "InvalidInstanceID.NotFound",
                400,
            ),
            (
                Ec2Error::InstanceMalformed("x".into()),
                "InvalidInstanceID.Malformed",
                400,
            ),
            (
                Ec2Error::ImageNotFound("ami-1".into()),
                "InvalidAMIID.NotFound",
                400,
            ),
            (
                Ec2Error::KeyPairDuplicate("k".into()),
                "InvalidKeyPair.Duplicate",
                400,
            ),
            (
                Ec2Error::KeyPairNotFound("k".into()),
                "InvalidKeyPair.NotFound",
                400,
            ),
            (
                Ec2Error::InstanceLimitExceeded("q".into()),
                "InstanceLimitExceeded",
                400,
            ),
            (
                Ec2Error::GroupDuplicate("web".into()),
                "InvalidGroup.Duplicate",
                400,
            ),
            (Ec2Error::GroupInUse("u".into()), "InvalidGroup.InUse", 400),
            (
                Ec2Error::GroupReserved("r".into()),
                "InvalidGroup.Reserved",
                400,
            ),
            (
                Ec2Error::PermissionDuplicate("d".into()),
                "InvalidPermission.Duplicate",
                400,
            ),
            (
                Ec2Error::PermissionNotFound,
                "InvalidPermission.NotFound",
                400,
            ),
            (Ec2Error::AuthFailure("a".into()), "AuthFailure", 401),
            (
                Ec2Error::SignatureDoesNotMatch,
                "SignatureDoesNotMatch",
                403,
            ),
            (Ec2Error::RequestExpired("t".into()), "RequestExpired", 400),
            (
                Ec2Error::IncorrectInstanceState("s".into()),
                "IncorrectInstanceState",
                400,
            ),
            (Ec2Error::IncorrectState("s".into()), "IncorrectState", 400),
            (
                Ec2Error::UnauthorizedOperation,
                "UnauthorizedOperation",
                403,
            ),
            (
                Ec2Error::AddressNotFound("192.0.2.1".into()),
                "InvalidAddress.NotFound",
                400,
            ),
            (
                Ec2Error::AllocationIdNotFound("eipalloc-1".into()),
                "InvalidAllocationID.NotFound",
                400,
            ),
            (
                Ec2Error::AssociationIdNotFound("eipassoc-1".into()),
                "InvalidAssociationID.NotFound",
                400,
            ),
            (
                Ec2Error::AddressLimitExceeded("q".into()),
                "AddressLimitExceeded",
                400,
            ),
            (
                Ec2Error::AmiNameDuplicate("web".into(), "ami-00000001".into()),
                "InvalidAMIName.Duplicate",
                400,
            ),
            (
                Ec2Error::NotAuthorizedFor("Not authorized for image:ami-1".into()),
                "AuthFailure",
                400,
            ),
            (
                Ec2Error::InvalidParameter("p".into()),
                "InvalidParameter",
                400,
            ),
            (Ec2Error::Internal("db down".into()), "InternalError", 500),
            (Ec2Error::Unavailable, "Unavailable", 503),
        ];
        for (e, code, status) in cases {
            let (s, body) = body_of(e).await;
            assert_eq!(s.as_u16(), status, "{code}");
            assert!(body.contains(&format!("<Code>{code}</Code>")), "{body}");
        }
    }

    #[tokio::test]
    async fn internal_error_hides_its_detail() {
        let (_, body) = body_of(Ec2Error::Internal("secret sql text".into())).await;
        assert!(!body.contains("secret"));
        assert!(body.contains(INTERNAL_MESSAGE));
    }

    #[tokio::test]
    async fn error_document_is_escaped_and_well_formed() {
        let (_, body) = body_of(Ec2Error::InstanceNotFound("i-<x>&".into())).await;
        assert_eq!(
            body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID &apos;i-&lt;x&gt;&amp;&apos; does not exist</Message></Error></Errors><RequestID>req-42</RequestID></Response>"
        );
    }
}
