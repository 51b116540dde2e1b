"""Keep the Cloudflare token (and AWS request details) out of the logs at every log level.

Lambda's Python runtime sets the *root* logger to the function's ``ApplicationLogLevel`` and gives it a
handler that writes to CloudWatch. The HTTP and AWS SDK libraries log through loggers of their own that
have no level, so they inherit the root's: at DEBUG, botocore logs every response body (Secrets Manager's
``GetSecretValue`` included, ``SecretString`` and so the token with it) and every signed request, urllib3
and httpcore their connections, httpx every request line at INFO.

The guard is the loggers' **levels**, not a filter on a handler: the loggers below are pinned to WARNING, so
their DEBUG and INFO records are never created, whatever the root level and whichever handlers exist now or
are added later (Lambda's, Powertools', a test's). A handler filter only guards the handlers it was put on.
Their warnings and errors still reach the logs; none of them carries a response body or a header. What the
pipeline needs to say about its Cloudflare calls it logs itself (``dnsbatch.cloudflare``), through the
redacting client.

:func:`quiet_third_party_loggers` runs when a function's runtime is built (``dnsbatch.runtime``), before
any AWS or Cloudflare call of the container.
"""

from __future__ import annotations

import logging

#: Loggers that may log request or response contents below WARNING; children (``botocore.parsers``,
#: ``httpcore.http11``, ...) inherit the level.
NOISY_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "httpx", "httpcore", "hpack", "h2")

#: The most these loggers may let through.
SAFE_LEVEL = logging.WARNING


def quiet_third_party_loggers() -> None:
    """Pin every logger of :data:`NOISY_LOGGERS` to WARNING (a stricter level already set is kept)."""
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < SAFE_LEVEL:  # NOTSET (0) included: it would inherit the root's level
            logger.setLevel(SAFE_LEVEL)
