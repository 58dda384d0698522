"""Turn S3 and credential errors into one-line messages: what failed, and what to do next.

docs/publish.md lists each message with a longer explanation; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from gtdocs.errors import GtdocsError
from gtdocs.publishing.target import Target

THROTTLING_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable",
                    "503"}
EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired"}
REGION_CODES = {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "301"}
PRIVATE_MODE = ('publish with --access private (or [publish] access = "private"), where the template reaches '
                "each image through grant_read_access")
RESUMES = "objects already uploaded are skipped when you run it again"


class PublishError(GtdocsError):
    """A failed publish, whose message names what failed and how to go on."""


@dataclass(frozen=True)
class Operation:
    """The request that S3 rejected, described for the error message."""

    name: str               # "list", "upload", "download", "delete"
    key: str = ""
    acl: str | None = None  # the ACL sent with an upload


class BucketInOtherRegion(Exception):
    """S3 redirected a request because the bucket is in `region`, not in the client's region."""

    def __init__(self, region: str):
        super().__init__(region)
        self.region = region


def wrong_region(target: Target, client_region: str, bucket_region: str) -> PublishError:
    return PublishError(
        f"bucket {target.bucket!r} is in region {bucket_region}, not {client_region} "
        f'(set [publish] region = "{bucket_region}" in gtdocs.toml, or pass --region {bucket_region})')


def explain(error: Exception, target: Target, operation: Operation, client_region: str = "") -> PublishError:
    """Return the PublishError that explains `error`, raised by botocore during `operation`."""
    from botocore import exceptions

    if isinstance(error, exceptions.ClientError):
        return _explain_client_error(error, target, operation, client_region)
    if isinstance(error, exceptions.NoCredentialsError):
        return PublishError("no AWS credentials found (set AWS_PROFILE or pass --profile, run `aws configure` or "
                            "`aws sso login`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    if isinstance(error, exceptions.PartialCredentialsError):
        return PublishError(f"the AWS credentials are incomplete: {error.kwargs.get('cred_var', 'a value')} is "
                            "missing (set both the access key id and the secret access key, or use a profile)")
    if isinstance(error, exceptions.ProfileNotFound):
        return PublishError(f"AWS profile {target.profile!r} was not found in ~/.aws/config or "
                            "~/.aws/credentials (create it with `aws configure --profile NAME`, or pass another "
                            "--profile)")
    if isinstance(error, (exceptions.SSOTokenLoadError, exceptions.UnauthorizedSSOTokenError,
                          exceptions.TokenRetrievalError)):
        return PublishError(f"the AWS SSO session has expired or was never started (run `aws sso login"
                            f"{_profile_option(target)}`, then publish again; {RESUMES})")
    if isinstance(error, exceptions.CredentialRetrievalError):
        return PublishError(f"the AWS credentials could not be loaded: {error} (check the credential_process "
                            "or the role of your profile)")
    if isinstance(error, (exceptions.EndpointConnectionError, exceptions.ConnectTimeoutError,
                          exceptions.ReadTimeoutError, exceptions.ConnectionClosedError)):
        where = target.endpoint_url or "S3"
        return PublishError(f"cannot connect to {where}: {error} (check your network, and --endpoint-url or "
                            f"[publish] endpoint_url if you set one; {RESUMES})")
    return PublishError(f"{operation.name} failed: {type(error).__name__}: {error} (run again with -v for details)")


def _explain_client_error(error, target: Target, operation: Operation, client_region: str) -> PublishError:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    subject = f"{operation.name} of {operation.key}" if operation.key else operation.name
    bucket = target.bucket

    if code == "AccessControlListNotSupported":
        return PublishError(
            f"bucket {bucket!r} has ACLs disabled (Object Ownership is \"Bucket owner enforced\"), so S3 rejected "
            f"the public-read ACL of {operation.key} ({PRIVATE_MODE}; or ask the bucket's owner to set Object "
            "Ownership to \"Bucket owner preferred\")")
    if code == "AccessDenied" and operation.acl:
        return PublishError(
            f"S3 denied the {subject} with a public-read ACL: the bucket's Block Public Access setting "
            f"BlockPublicAcls rejects public ACLs, or your credentials lack s3:PutObjectAcl ({PRIVATE_MODE}; or ask "
            "the bucket's owner to turn off BlockPublicAcls for this bucket and grant s3:PutObjectAcl)")
    if code == "AccessDenied":
        return PublishError(f"S3 denied the {subject} in bucket {bucket!r} "
                            f"(your credentials need {_permission(operation)} on {_arn(target, operation)})")
    if code == "NoSuchBucket":
        return PublishError(f"bucket {bucket!r} does not exist{_at_endpoint(target)} (check [publish] bucket in "
                            "gtdocs.toml or --bucket; gtdocs does not create buckets)")
    if code in REGION_CODES or status == 301:
        region = headers.get("x-amz-bucket-region") or details.get("Region")
        if region:
            return wrong_region(target, client_region or target.region or "the client's region", region)
        return PublishError(f"bucket {bucket!r} is not in region {client_region or target.region} (set [publish] "
                            "region to the bucket's region, shown in the S3 console, or pass --region)")
    if code in EXPIRED_CODES:
        return PublishError(f"the AWS credentials have expired (refresh them, for example with `aws sso login"
                            f"{_profile_option(target)}`, and run again; {RESUMES})")
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return PublishError(f"S3 rejected the AWS credentials ({code}) (check the access key id and secret "
                            "access key of your profile or environment)")
    if code == "RequestTimeTooSkewed":
        return PublishError("S3 rejected the request because this computer's clock is wrong by more than 15 "
                            "minutes (set the clock, for example by enabling NTP, and run again)")
    if code in THROTTLING_CODES or status == 503:
        return PublishError(f"S3 kept throttling requests ({code or status}) after retrying with backoff "
                            f"(wait a few minutes and run again; {RESUMES})")
    message = details.get("Message") or "no message"
    return PublishError(f"S3 returned {code or status} for the {subject}: {message} (run again with -v for details)")


def _permission(operation: Operation) -> str:
    return {"list": "s3:ListBucket", "upload": "s3:PutObject", "download": "s3:GetObject",
            "delete": "s3:DeleteObject"}.get(operation.name, "access")


def _arn(target: Target, operation: Operation) -> str:
    if operation.name == "list":
        return f"arn:aws:s3:::{target.bucket}"
    return f"arn:aws:s3:::{target.bucket}/{target.prefix + '/' if target.prefix else ''}*"


def _at_endpoint(target: Target) -> str:
    return f" at {target.endpoint_url}" if target.endpoint_url else ""


def _profile_option(target: Target) -> str:
    return f" --profile {target.profile}" if target.profile else ""
