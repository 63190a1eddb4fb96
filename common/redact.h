/*
 * redact.h -- keeping secrets out of logs and error messages.
 *
 * Every log line or error text that prints a connection URL or a
 * configuration value goes through one of these, so a Redis password, a
 * Kafka SASL password or a TLS key password never reaches a log, a
 * terminal or a test's output (docs/security.md, "Secrets").  Pure string
 * work: no state, any thread.
 */
#ifndef BATON_REDACT_H
#define BATON_REDACT_H

#include <stddef.h>

/* What a hidden secret is replaced with. */
#define BATON_REDACT_MASK "***"

/* Copies url into buf (len bytes, always NUL-terminated, truncated when
 * short) with the password of its userinfo replaced by the mask:
 * "redis://app:s3cr@t@h:6379/2" -> "redis://app:***@h:6379/2",
 * "redis://:pw@h" -> "redis://:***@h"; a URL without a password is copied
 * unchanged.  Returns buf.  NULL url gives "". */
const char *baton_redact_url(const char *url, char *buf, size_t len);

/* 1 when a configuration key names a secret (a password, a secret, a
 * private key or a JAAS/SASL credential: "redis.password",
 * "kafka.sasl.password", "kafka.ssl.key.password",
 * "kafka.sasl.oauthbearer.client.secret", "kafka.ssl.key.pem", ...), so
 * its value must never be printed. */
int baton_redact_is_secret_key(const char *key);

/* The printable form of a configuration value: the mask for a secret key,
 * the redacted URL for a URL-valued key, else the value itself (copied
 * into buf, len bytes).  Returns buf. */
const char *baton_redact_value(const char *key, const char *value, char *buf,
                               size_t len);

/* Overwrites, in place, every occurrence of secret in text with '*' (same
 * length), for error texts from a library that may echo a value.  A NULL or
 * empty secret changes nothing. */
void baton_redact_in(char *text, const char *secret);

#endif /* BATON_REDACT_H */
