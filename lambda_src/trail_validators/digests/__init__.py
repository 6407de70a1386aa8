"""The digest-chain validator. Pure core (bytes in, findings out): ``layout`` (CloudTrail's
object names), ``digest`` (parsing and RSA signatures), ``log_files`` (hashing while
streaming), ``chain`` (the coverage timeline and its verdicts), ``run`` (walking a trail
through any ``ObjectReader``). Adapters: ``aws`` (S3 reads, CloudTrail's public keys, the
checkpoint store)."""
